"""The whole system as the README starts it: ``shezu demo`` on a fresh data folder starts the
Temporal dev server (persisted to disk), the worker and the HTTP API, drives every case and stops."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from audit.ocds import validate_release_package
from settings import PROJECT_ROOT
from tests.conftest import free_port


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
    # evaluation reports, reward decision; the terminated one: contract, two reports, rectification and termination notices
    assert len(saved) == 17, saved
    assert "离线核验通过" in out and "OCDS 1.1 发布包" in out
    [bundle] = (tmp_path / "data" / "demo").glob("audit-*")
    cases = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["cases"]
    assert len(cases) == 4, "the fair, its two lots and the awarded lot's contract"
    [package] = (tmp_path / "data" / "demo").glob("ocds-*.json")
    assert validate_release_package(json.loads(package.read_text(encoding="utf-8"))) == []
