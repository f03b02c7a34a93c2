"""The whole system as the README starts it: ``shezu demo`` on a fresh data folder starts the
Temporal dev server (persisted to disk), the worker and the HTTP API, drives every case and stops;
``shezu up`` brings back a part that dies."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from audit.ocds import validate_release_package
from cli import system
from cli.system import System
from settings import PROJECT_ROOT
from tests.conftest import GATEWAY, TEST_GATEWAY_SECRET, free_port


async def test_demo_runs_the_whole_system_on_a_fresh_data_folder(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHEZU_DATA_DIR": str(tmp_path / "data"),
        "SHEZU_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "SHEZU_TEMPORAL_UI_PORT": str(free_port()),
        "SHEZU_HTTP_PORT": str(free_port()),
    }
    env.pop("SHEZU_DATABASE_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "demo", cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out = (await asyncio.wait_for(process.communicate(), timeout=420))[0].decode()
    assert process.returncode == 0, out
    assert "演示完成" in out and "证书编号" in out and "不予登记决定书" in out
    assert "流标公告" in out and "质疑不成立" in out and "确认成交" in out
    assert "合同履行完毕" in out and "以奖代补奖励决定书" in out and "与合同金额一致" in out
    assert "整改通知书" in out and "复评仍不合格，合同终止" in out and "不能承接单一来源采购" in out
    assert (tmp_path / "data" / "temporal.db").exists(), "the dev server keeps its data on disk"
    saved = {p.stem for p in (tmp_path / "data" / "demo").glob("*.pdf")}
    # filing 4, refusal 1, catalogue, failed-lot notice, award notice; the rewarded contract: contract, two
    # evaluation reports, reward decision; the terminated one: contract, two reports, rectification and termination
    # notices; the incubation: 入孵协议, the filing's public notice and certificate, 出壳证书
    assert len(saved) == 21, saved
    for title in ("入孵协议", "出壳证书"):
        [pdf] = re.findall(rf"{title}（[^）]+）已生成：(\S+\.pdf)", out)
        assert Path(pdf).read_bytes().startswith(b"%PDF"), f"the demo saved the {title} it names"
    assert "孵化期内申请备案" in out and "已记入社会组织名录" in out and "无逾期" in out
    assert "收到通知：【列入候补】" in out and "候补名单第1位" in out and "按顺序递补入孵" in out
    assert "离线核验通过" in out and "OCDS 1.1 发布包" in out
    [bundle] = (tmp_path / "data" / "demo").glob("audit-*")
    cases = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["cases"]
    assert len(cases) == 4, "the fair, its two lots and the awarded lot's contract"
    [package] = (tmp_path / "data" / "demo").glob("ocds-*.json")
    assert validate_release_package(json.loads(package.read_text(encoding="utf-8"))) == []


def children(pid: int) -> dict[int, str]:
    """The child processes of ``pid`` and their command lines."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


async def test_up_restarts_a_killed_worker_and_cases_go_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    http_port = free_port()
    env = {
        **os.environ,
        "SHEZU_DATA_DIR": str(data),
        "SHEZU_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "SHEZU_TEMPORAL_UI_PORT": str(free_port()),
        "SHEZU_HTTP_PORT": str(http_port),
        "SHEZU_GATEWAY_SECRET": TEST_GATEWAY_SECRET,
    }
    env.pop("SHEZU_DATABASE_URL", None)
    with (tmp_path / "up.err").open("wb") as errors, (tmp_path / "up.out").open("wb") as printed:
        up = subprocess.Popen([sys.executable, "-m", "cli.main", "up"], cwd=PROJECT_ROOT, env=env,
                              stdout=printed, stderr=errors)
    api = f"http://127.0.0.1:{http_port}"
    try:
        async with httpx.AsyncClient(base_url=api, timeout=60, headers=GATEWAY) as http:
            give_up = time.monotonic() + 120
            while True:
                try:
                    if (await http.get("/api/communities")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert up.poll() is None and time.monotonic() < give_up, (tmp_path / "up.err").read_text()
                await asyncio.sleep(0.3)
            give_up = time.monotonic() + 30
            while "wangfang" not in (banner := (tmp_path / "up.out").read_text(encoding="utf-8")):
                assert time.monotonic() < give_up, banner
                await asyncio.sleep(0.2)
            assert f"网上办事（网页）：{api}/ ，登录：{api}/sign-in" in banner, "the pages' address is printed"
            assert f"网页登录 {api}/sign-in" in banner and "王芳（申请人）" in banner, "with the demo accounts"
            [worker] = [pid for pid, command in children(up.pid).items() if "cli.main worker" in command]
            os.kill(worker, signal.SIGKILL)

            give_up = time.monotonic() + 30
            while not (again := [pid for pid, c in children(up.pid).items() if "cli.main worker" in c and pid != worker]):
                assert time.monotonic() < give_up, (tmp_path / "up.err").read_text()
                await asyncio.sleep(0.2)
            journal = (data / "logs" / "supervisor.log").read_text(encoding="utf-8")
            assert "worker 意外退出（退出码 -9）" in journal and f"worker 已重启（第 1 次，进程号 {again[0]}）" in journal
            assert "worker 已重启" in (tmp_path / "up.err").read_text()

            application = json.loads((PROJECT_ROOT / "examples" / "filing.json").read_text(encoding="utf-8"))
            submitted = await http.post("/api/cases", json=application, headers={"X-User-Id": "after-restart"})
            assert submitted.status_code == 201, submitted.text
            case_no = submitted.json()["case_no"]
            decided = await http.post(f"/api/cases/{case_no}/decisions", headers={"X-User-Id": "cg-zhao"},
                                      json={"step": "preliminary_review", "outcome": "approve"})
            assert decided.status_code == 200 and decided.json()["phase"] == "authority_review", decided.text
        parts = children(up.pid)
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0
        assert not [pid for pid in parts if _running(pid)], "Ctrl-C stops every part"
    finally:
        if up.poll() is None:
            up.kill()


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (OSError, IndexError):
        return False


def test_a_part_that_keeps_dying_is_restarted_later_each_time_and_sooner_again_once_it_stayed_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = {"now": 1000.0}
    monkeypatch.setattr(system.time, "monotonic", lambda: clock["now"])
    dying = ["false"]
    supervisor = System(env=dict(os.environ), journal=tmp_path / "supervisor.log")
    supervisor.parts.append(system.Part("worker", dying, tmp_path / "worker.log", subprocess.Popen(dying)))

    def dies_and_comes_back(after: float) -> None:
        supervisor.parts[0].process.wait(timeout=10)
        supervisor.supervise()  # sees it dead: restart scheduled
        last = (tmp_path / "supervisor.log").read_text(encoding="utf-8").splitlines()[-1]
        assert f"worker 意外退出（退出码 1），{after:.0f} 秒后重启" in last, last
        clock["now"] += after - 0.1
        supervisor.supervise()
        assert supervisor.parts[0].process.poll() is not None, "not restarted before its back-off"
        clock["now"] += 0.1
        before = supervisor.parts[0].process
        supervisor.supervise()
        assert supervisor.parts[0].process is not before

    for after in (1, 2, 4, 8, 16, 30, 30):
        dies_and_comes_back(after)
    clock["now"] += system.STAYED_UP
    dies_and_comes_back(1)
    assert supervisor.parts[0].restarts == 8
