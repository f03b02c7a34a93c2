"""A broken case is visible and contained: a filing whose workflow task fails on every attempt is
listed by ``shezu doctor`` with its error, and the tools that walk every case (read-model rebuild,
the replay gate) report it and still do their work on the others."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, delete, select
from temporalio.testing import WorkflowEnvironment

from service import views
from service.cases import CaseService
from service.health import FAILING_ATTEMPTS, health
from service.rebuild import rebuild
from settings import PROJECT_ROOT
from store.db import session_scope
from store.models import CaseRecord
from tests import factories
from tests.conftest import make_settings, prepared_engine
from worker import build_worker


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def shezu(env: dict[str, str], *args: str) -> Ran:
    """The shezu command, awaited, so the worker in this test's event loop goes on answering it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", *args, cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return Ran(process.returncode or 0, out.decode(), err.decode())


async def test_a_broken_case_is_listed_and_the_tools_that_walk_all_cases_carry_on(
    temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    engine = prepared_engine(settings)
    client = temporal.client
    service = CaseService(settings, engine, client)
    async with build_worker(client, settings, engine):
        application = factories.filing()
        applicant = service.actor(factories.applicant_id(), application.applicant_name)
        good = (await service.submit(applicant, application)).case_no
        await service.decide(service.actor("cg-zhao"), good, views.DecisionInput(step="preliminary_review", outcome="approve"))
        # A filing started with a request the workflow cannot read: its first workflow task fails, and every retry.
        broken = f"YJ-BROKEN-{uuid.uuid4().hex[:6]}"
        await client.start_workflow("FilingWorkflow", {"case_no": broken}, id=broken, task_queue=settings.task_queue)

        give_up = time.monotonic() + 60
        while not (report := await health(settings, engine, client)).broken:
            assert time.monotonic() < give_up, "the broken filing never showed as failing"
            await asyncio.sleep(0.5)
        [listed] = report.broken
        assert listed.case_no == broken and listed.workflow_type == "FilingWorkflow"
        assert listed.attempts >= FAILING_ATTEMPTS and "FilingRequest" in listed.error, listed.error
        assert report.pollers and report.schema_problem is None and not report.healthy

        env = {**os.environ, "SHEZU_TEMPORAL_ADDRESS": client.service_client.config.target_host,
               "SHEZU_DATABASE_URL": settings.effective_database_url, "SHEZU_DATA_DIR": str(settings.data_dir),
               "SHEZU_TASK_QUEUE": settings.task_queue}
        doctor = await shezu(env, "doctor")
        assert doctor.returncode == 1 and broken in doctor.stdout and "FilingRequest" in doctor.stdout, doctor.stdout
        assert good not in doctor.stdout

        with session_scope(engine) as session:
            session.exec(delete(CaseRecord).where(CaseRecord.case_no == good))  # type: ignore[call-overload]
        rebuilt = await shezu(env, "readmodel", "rebuild")
        assert rebuilt.returncode == 1, rebuilt.stdout + rebuilt.stderr
        assert broken in rebuilt.stderr and "1 个案件失败" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
        with Session(engine) as session:
            assert session.exec(select(CaseRecord.phase).where(CaseRecord.case_no == good)).one() == "authority_review"
        result = await rebuild(service)
        assert result.rebuilt["FilingWorkflow"] == 1 and [f[0] for f in result.failures] == [broken]

        replayed = await shezu(env, "audit", "replay-all", "--query", f"TaskQueue = '{settings.task_queue}'")
        assert replayed.returncode == 1, replayed.stdout + replayed.stderr
        assert f"✗ {broken}" in replayed.stdout and f"✗ {good}" not in replayed.stdout, replayed.stdout
        assert "1 次一致" in replayed.stdout, replayed.stdout
