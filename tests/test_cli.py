"""The shezu command as an operator types it, in a separate process against the test system."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

from settings import PROJECT_ROOT
from tests import factories
from tests.helpers import shezu


async def test_operator_drives_a_case_from_the_command_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    application = tmp_path / "filing.json"
    application.write_text(factories.filing().model_dump_json(), encoding="utf-8")
    code, out, err = await shezu(cli_env, "submit", str(application), "--as", "wang-cli", "--json")
    assert code == 0, err
    case_no = json.loads(out)["case_no"]

    code, out, _ = await shezu(cli_env, "tasks", "--as", "cg-zhao", "--limit", "200")
    assert code == 0 and case_no in out and "赵丽（A岗）" in out and "条，共" in out, "a page says where it stands in the list"

    code, _, err = await shezu(cli_env, "decide", case_no, "preliminary_review", "approve", "--as", "jg-zhou")
    assert code == 1 and "错误：" in err and "社区居委会" in err

    code, out, _ = await shezu(cli_env, "decide", case_no, "preliminary_review", "approve", "--as", "cg-zhao")
    assert code == 0 and "街道办事处审核中" in out

    code, out, _ = await shezu(cli_env, "status", case_no, "--as", "wang-cli")
    assert code == 0
    assert "当前阶段：街道办事处审核中" in out and "周静（A岗" in out and "受理通知书" in out

    code, out, _ = await shezu(cli_env, "documents", case_no, "--as", "wang-cli")
    assert re.search(r"受理通知书  延建受〔\d{4}〕\d+号  ", out), "documents are listed by their 发文字号"
    document_id = out.split()[0]
    target = tmp_path / "notice.pdf"
    code, out, _ = await shezu(cli_env, "download", document_id, "--as", "wang-cli", "--out", str(target))
    assert code == 0 and target.read_bytes().startswith(b"%PDF")

    code, out, _ = await shezu(cli_env, "withdraw", case_no, "--as", "wang-cli", "--reason", "改为明年申请")
    assert code == 0 and "已撤回" in out

    for _ in range(20):  # the acceptance is notified just after the case moves on: wait for it, bounded
        code, out, _ = await shezu(cli_env, "notifications", "--as", "wang-cli")
        if "【已受理】" in out:
            break
        await asyncio.sleep(0.25)
    assert code == 0 and re.search(r"^未读 [1-9]\d* 条$", out, re.MULTILINE) and "【未读】【已受理】" in out, out


async def test_bad_files_are_explained(cli_env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("track: filing\nmembers: 很多\n", encoding="utf-8")
    code, _, err = await shezu(cli_env, "checklist", str(broken))
    assert code == 1 and "个人会员人数" in err and "所在社区代码" in err and "必填" in err

    code, _, err = await shezu(cli_env, "submit", str(tmp_path / "missing.json"), "--as", "someone")
    assert code == 1 and "不存在" in err

    calendar = tmp_path / "2031.yaml"
    calendar.write_text("year: 2031\ntitle: 国务院办公厅2031年部分节假日安排\nholidays: {2031-02-30: 春节}\n", encoding="utf-8")
    code, _, err = await shezu(cli_env, "calendar", "load", str(calendar))
    assert code == 1 and "2031-02-30" in err


async def test_checklist_shows_waivers_and_thresholds(cli_env: dict[str, str], tmp_path: Path) -> None:
    code, out, _ = await shezu(cli_env, "checklist", str(PROJECT_ROOT / "examples" / "association.json"))
    assert code == 0
    assert "适用社区社会组织" in out and "免交：验资报告" in out and "由不少于50人放宽" in out
    assert "应缴合计：0.00元" in out and "材料齐全、条件符合" in out


async def test_fair_commands(cli_env: dict[str, str]) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    code, out, err = await shezu(
        cli_env, "fair", "create", "--title", "测试社洽会", "--demands-due", (now + timedelta(days=2)).isoformat(),
        "--fair-day", (now + timedelta(days=3)).date().isoformat(), "--bids-close", (now + timedelta(days=6)).isoformat(),
        "--as", "mz-chen", "--json",
    )
    assert code == 0, err
    fair_no = json.loads(out)["fair_no"]
    code, out, err = await shezu(cli_env, "fair", "demand", fair_no, str(PROJECT_ROOT / "examples" / "demand-elderly-care.json"), "--as", "dept-wj")
    assert code == 0 and "D01" in out, err
    code, _, err = await shezu(cli_env, "fair", "demand", fair_no, str(PROJECT_ROOT / "examples" / "demand-youth.json"), "--as", "org-chunhui")
    assert code == 1 and "政府部门" in err
    code, out, _ = await shezu(cli_env, "fair", "show", fair_no, "--as", "mz-chen")
    assert code == 0 and "社区居家养老上门服务" in out and "待审核" in out
    code, _, err = await shezu(cli_env, "fair", "publish", fair_no, "--as", "mz-chen")
    assert code == 1 and "尚未截止" in err


def years_ahead(plan: dict[str, Any]) -> dict[str, Any]:
    """The README's example plan as typed, or moved on by whole years once its start has passed (a plan may
    not begin in the past), so that its term still ends the day before an anniversary."""
    start, years = date.fromisoformat(plan["start_date"]), 0
    while start.replace(year=start.year + years) <= date.today():
        years += 1
    text = json.dumps(plan, ensure_ascii=False)
    for day in set(re.findall(r"\d{4}-\d{2}-\d{2}", text)):
        moved = date.fromisoformat(day)
        text = text.replace(day, moved.replace(year=moved.year + years).isoformat())
    return json.loads(text)


async def test_a_single_source_contract_from_the_command_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    """The README's contract examples, typed as the department, the organizer, both parties and finance would."""
    code, out, err = await shezu(cli_env, "contract", "single-source", "examples/single-source.json", "--as", "dept-wj", "--json")
    assert code == 0, err
    contract_no = json.loads(out)["contract_no"]

    code, _, err = await shezu(cli_env, "contract", "approve", contract_no, "maybe", "--as", "mz-chen")
    assert code == 1 and "approve（同意）" in err
    code, _, err = await shezu(cli_env, "contract", "approve", contract_no, "approve", "--as", "dept-wj")
    assert code == 1 and "错误：" in err
    code, out, err = await shezu(cli_env, "contract", "approve", contract_no, "approve", "--as", "mz-chen")
    assert code == 0, err

    plan_file = tmp_path / "contract-plan.json"
    plan_file.write_text(json.dumps(years_ahead(json.loads((PROJECT_ROOT / "examples" / "contract-plan.json").read_text(encoding="utf-8")))))
    code, out, err = await shezu(cli_env, "contract", "plan", contract_no, str(plan_file), "--as", "dept-wj")
    assert code == 0, err
    for party, user in (("buyer", "dept-wj"), ("supplier", "org-xiyanghong")):
        code, out, err = await shezu(cli_env, "contract", "sign", contract_no, party, "--as", user)
        assert code == 0, err

    code, out, _ = await shezu(cli_env, "contract", "show", contract_no, "--as", "fin-01")
    assert code == 0 and "合同履行中" in out and "T1  54,000.00元  签约预付" in out
    code, _, err = await shezu(cli_env, "contract", "disburse", contract_no, "T2", "--voucher", "GK-CLI-2", "--as", "fin-01")
    assert code == 1 and "尚未下达支付指令" in err
    code, out, err = await shezu(cli_env, "contract", "disburse", contract_no, "T1", "--voucher", "GK-CLI-1", "--as", "fin-01")
    assert code == 0, err
    code, _, err = await shezu(cli_env, "contract", "disburse", contract_no, "T1", "--voucher", "GK-CLI-1", "--as", "fin-01")
    assert code == 1 and "不能重复拨付" in err

    code, out, _ = await shezu(cli_env, "contract", "disclosure")
    assert code == 0 and contract_no in out and "已拨付 54,000.00元" in out
    code, _, err = await shezu(cli_env, "contract", "show", contract_no, "--as", "org-yangguang")
    assert code == 1 and "定期公开" in err


async def test_the_installed_shezu_command_has_every_package_outside_the_project_folder(tmp_path: Path) -> None:
    """The README's ``.venv/bin/shezu`` runs from anywhere: the install must carry every package (``audit``
    included), which ``python -m cli.main`` from the project folder would not show."""
    command = Path(sys.executable).parent / "shezu"
    process = await asyncio.create_subprocess_exec(
        str(command), "audit", "--help", cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out = (await asyncio.wait_for(process.communicate(), timeout=60))[0].decode()
    assert process.returncode == 0, out
    assert "verify" in out and "replay-all" in out and "ocds" in out
