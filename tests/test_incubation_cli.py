"""孵化 from the command line, as a group's representative and the public type it."""

from __future__ import annotations

import json
import uuid

from settings import PROJECT_ROOT
from tests.helpers import shezu

EXAMPLE = str(PROJECT_ROOT / "examples" / "incubation-application.json")


async def test_a_group_applies_and_follows_its_incubation_and_the_public_sees_the_bases(cli_env: dict[str, str]) -> None:
    code, out, err = await shezu(cli_env, "incubation", "bases", "--jurisdiction", "YJ-JG")
    assert code == 0, err
    assert "YJ-JG-FH  建工街道社会组织孵化分基地（街道分基地）" in out and "运营：延吉市春晖社会工作服务中心" in out
    assert "YJ-FH" not in out.replace("YJ-JG-FH", ""), "only the bases of the jurisdiction asked for"

    rep = f"rep-cli-{uuid.uuid4().hex[:6]}"
    code, out, err = await shezu(cli_env, "incubation", "apply", EXAMPLE, "--as", rep, "--json")
    assert code == 0, err
    case_no = json.loads(out)["case_no"]
    code, _, err = await shezu(cli_env, "incubation", "apply", EXAMPLE, "--as", rep)
    assert code == 1 and f"已有办理中的入孵申请或孵化（案号 {case_no}）" in err

    code, out, err = await shezu(cli_env, "incubation", "show", case_no, "--as", rep)
    assert code == 0, err
    assert f"{case_no}  春光社区银发读书会  建工街道社会组织孵化分基地  入孵审核中" in out
    assert "您现在可以办理：leave" in out and "申请入孵" in out
    code, _, err = await shezu(cli_env, "incubation", "show", case_no, "--as", "xq-mz-feng")
    assert code == 1 and f"孵化案件 {case_no} 不存在" in err
    code, out, _ = await shezu(cli_env, "incubation", "list", "--as", "fh-piao")
    assert code == 0 and case_no in out, "the base's A岗 sees it among the base's cases"
    code, _, err = await shezu(cli_env, "incubation", "admit", case_no, "--as", rep)
    assert code == 1 and "入孵审核由建工街道社会组织孵化分基地的A岗朴美玲或B岗金永浩办理" in err
