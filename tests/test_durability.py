"""Durability: a worker killed mid-case is replaced and the case finishes with nothing written
twice; the dev server restarted on its database file has lost nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from schemas.case import Phase
from service import views
from service.cases import CaseService
from settings import PROJECT_ROOT, Settings
from store.models import DocumentRecord, TimelineRecord
from tests import factories
from tests.conftest import binary, free_port, make_settings, prepared_engine
from tests.helpers import case_state
from worker import build_worker


async def start_worker(settings: Settings, address: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "SHEZU_TEMPORAL_ADDRESS": address,
        "SHEZU_DATABASE_URL": settings.effective_database_url,
        "SHEZU_DATA_DIR": str(settings.data_dir),
        "SHEZU_TASK_QUEUE": settings.task_queue,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "worker", cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )


async def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()


def stored_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.documents_dir.rglob("*") if p.is_file())


async def test_killed_worker_is_replaced_and_the_case_finishes_without_duplicates(
    temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    engine = prepared_engine(settings)
    address = temporal.client.service_client.config.target_host
    service = CaseService(settings, engine, temporal.client)
    first = await start_worker(settings, address)
    try:
        application = factories.association()
        applicant = service.actor(factories.applicant_id(), application.applicant_name)
        case_no = (await service.submit(applicant, application)).case_no
        await service.decide(service.actor("ma-sun"), case_no, views.DecisionInput(step="preliminary_review", outcome="approve"))
    finally:
        await kill(first)

    reasons = ["业务范围与已登记组织重复"]
    pending = asyncio.create_task(
        service.decide(
            service.actor("mz-chen"), case_no, views.DecisionInput(step="authority_review", outcome="refuse", reasons=reasons)
        )
    )
    await asyncio.sleep(0.5)
    assert not pending.done(), "no worker is running, so the decision waits for one"
    second = await start_worker(settings, address)
    try:
        receipt = await asyncio.wait_for(pending, timeout=60)
    finally:
        await kill(second)

    assert receipt.phase == Phase.refused
    state = await case_state_via_new_worker(temporal.client, settings, engine, case_no)
    assert [d.kind.value for d in state.documents] == ["acceptance_notice", "refusal_decision"]
    with Session(engine) as session:
        documents = session.exec(select(DocumentRecord).where(DocumentRecord.case_no == case_no)).all()
        events = session.exec(select(TimelineRecord).where(TimelineRecord.case_no == case_no)).all()
    assert len(documents) == 2
    assert [e.seq for e in sorted(events, key=lambda e: e.seq)] == list(range(1, len(state.timeline) + 1))
    assert len(stored_files(settings)) == 4, "two documents, each once as HTML and once as PDF"


async def case_state_via_new_worker(client: Client, settings: Settings, engine, case_no: str):  # type: ignore[no-untyped-def]
    async with build_worker(client, settings, engine):
        return await case_state(client, case_no)


@asynccontextmanager
async def dev_server(database: Path, port: int) -> AsyncIterator[Client]:
    process = await asyncio.create_subprocess_exec(
        binary("temporal"), "server", "start-dev", "--db-filename", str(database), "--ip", "127.0.0.1",
        "--port", str(port), "--headless", "--log-level", "error",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        client = None
        for _ in range(200):
            try:
                client = await Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter)
                await client.count_workflows()
                break
            except RuntimeError:
                await asyncio.sleep(0.1)
        assert client is not None, "dev server did not start"
        yield client
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)


async def test_dev_server_restarted_on_its_file_loses_nothing(tmp_path: Path) -> None:
    database, port = tmp_path / "temporal.db", free_port()
    settings = make_settings(tmp_path)
    engine = prepared_engine(settings)
    async with dev_server(database, port) as client:
        service = CaseService(settings, engine, client)
        async with build_worker(client, settings, engine):
            application = factories.association()
            applicant = service.actor(factories.applicant_id(), application.applicant_name)
            case_no = (await service.submit(applicant, application)).case_no
            await service.decide(service.actor("ma-sun"), case_no, views.DecisionInput(step="preliminary_review", outcome="approve"))
            before = await case_state(client, case_no)
            events_before = len((await client.get_workflow_handle(case_no).fetch_history()).events)

    async with dev_server(database, port) as client:
        service = CaseService(settings, engine, client)
        async with build_worker(client, settings, engine):
            after = await case_state(client, case_no)
            assert after.timeline == before.timeline and after.tasks == before.tasks
            assert len((await client.get_workflow_handle(case_no).fetch_history()).events) >= events_before
            receipt = await service.decide(
                service.actor("mz-chen"), case_no,
                views.DecisionInput(step="authority_review", outcome="refuse", reasons=["名称不规范"]),
            )
            assert receipt.phase == Phase.refused
