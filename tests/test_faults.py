"""Faults a running system meets: a worker killed in the middle of rendering a document, a read model
locked for a while, no worker at all when a case is submitted, a documents folder that cannot be written. Each case still reaches the right end,
soon after the fault is gone, with nothing written twice. (A killed worker between steps and a
restarted Temporal server are in tests/test_durability.py.)"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.api.enums.v1 import PendingActivityState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from schemas.case import CaseState, Phase
from schemas.contracts import ContractPhase, ContractState, TrancheStatus
from schemas.localtime import local_date
from service import views
from service.cases import CaseService
from service.common import ServiceError
from service.contracts import ContractService
from settings import PROJECT_ROOT, Settings
from store.models import DocumentRecord, LedgerRecord, NotificationRecord, TimelineRecord
from tests import factories
from tests.conftest import free_port, make_settings, prepared_engine
from tests.contract_helpers import BUYER, FINANCE, ORGANIZER, SUPPLIER, SUPPLIER_ORG, plan
from tests.helpers import case_state, until_contract, until_state
from tests.test_durability import dev_server, kill, start_worker, stored_files
from worker import STICKY_QUEUE_TIMEOUT, build_worker
from workflows.base import HEARTBEAT

HANGING_RENDER_WORKER = """
import asyncio, os, time
from activities.documents import DocumentActivities
store = DocumentActivities._render_and_store
def hanging(self, request):
    if request.kind.value == os.environ["HANG_ON"]:
        print("rendering", request.document_id, flush=True)
        time.sleep(600)
    return store(self, request)
DocumentActivities._render_and_store = hanging
import worker
asyncio.run(worker.main())
"""
"""A worker whose render of one kind of document hangs, so the test can kill it while that render is
surely in progress."""


def assert_written_once(engine: Engine, settings: Settings, key: str, state: CaseState | ContractState) -> None:
    """Every document, timeline row and notification of the case is in the read model exactly once."""
    with Session(engine) as session:
        documents = session.exec(select(DocumentRecord).where(DocumentRecord.case_no == key)).all()
        timeline = session.exec(select(TimelineRecord).where(TimelineRecord.case_no == key)).all()
        notices = session.exec(select(NotificationRecord).where(NotificationRecord.case_no == key)).all()
    assert sorted(d.document_id for d in documents) == sorted(d.document_id for d in state.documents)
    assert sorted((e.seq, e.action) for e in timeline) == [(e.seq, e.action) for e in state.timeline]
    assert notices and max(Counter((n.kind, n.recipient_id, n.subject, n.body) for n in notices).values()) == 1
    hashes = {h for d in documents for h in (d.html_sha256, d.pdf_sha256)}
    assert {p.stem for p in stored_files(settings)} == hashes, "each document stored once as HTML and once as PDF"


async def polling(client: Client, settings: Settings, pid: int, seconds: float = 60) -> None:
    """Wait (bounded) until worker process ``pid`` polls the task queue for activities."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=settings.task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    )
    loop = asyncio.get_running_loop()
    give_up = loop.time() + seconds
    while not any(p.identity.startswith(f"{pid}@") for p in (await client.workflow_service.describe_task_queue(request)).pollers):
        assert loop.time() < give_up, f"worker {pid} never polled"
        await asyncio.sleep(0.1)


@asynccontextmanager
async def workers_killed_mid_render(
    client: Client, settings: Settings, kind: str
) -> AsyncIterator[Callable[[], Awaitable[float]]]:
    """A worker that hangs rendering ``kind``; the body starts what renders it, then awaits the yielded
    function, which starts a healthy worker, kills the hanging one mid-render and returns the moment
    (event-loop time) it did."""
    address = client.service_client.config.target_host
    env = {
        **os.environ, "SHEZU_TEMPORAL_ADDRESS": address, "SHEZU_DATABASE_URL": settings.effective_database_url,
        "SHEZU_DATA_DIR": str(settings.data_dir), "SHEZU_TASK_QUEUE": settings.task_queue, "HANG_ON": kind,
    }
    hanging = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HANGING_RENDER_WORKER, cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    healthy: list[asyncio.subprocess.Process] = []

    async def replace() -> float:
        assert hanging.stdout is not None
        line = await asyncio.wait_for(hanging.stdout.readline(), timeout=60)
        assert line.startswith(b"rendering"), line
        healthy.append(await start_worker(settings, address))
        await polling(client, settings, healthy[0].pid)
        await kill(hanging)
        return asyncio.get_running_loop().time()

    try:
        yield replace
    finally:
        for process in [hanging, *healthy]:
            if process.returncode is None:
                await kill(process)


# At most: the heartbeat timeout to notice the dead worker, the first retry interval (1 s), and the next
# workflow task leaving the dead worker's sticky queue: 8 s (4.6 s measured here). Without heartbeats
# a user waited out the render's start-to-close timeout (60 s, formerly 180 s); with Temporal's default
# 10 s sticky timeout it took 16 s. The margin is for a loaded machine (2 cores).
RECOVERY_BOUND = HEARTBEAT.total_seconds() + 1 + STICKY_QUEUE_TIMEOUT.total_seconds() + 7


async def test_a_worker_killed_during_a_render_is_replaced_within_seconds(temporal: WorkflowEnvironment, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = prepared_engine(settings)
    client = temporal.client
    service = CaseService(settings, engine, client)
    async with workers_killed_mid_render(client, settings, "acceptance_notice") as replace:
        application = factories.filing()
        applicant = service.actor(factories.applicant_id(), application.applicant_name)
        submission = asyncio.create_task(service.submit(applicant, application))
        killed_at = await replace()
        assert not submission.done(), "the submission waits for its acceptance notice"
        receipt = await asyncio.wait_for(submission, timeout=120)
        recovered_in = asyncio.get_running_loop().time() - killed_at
        state = await case_state(client, receipt.case_no)

    assert recovered_in < RECOVERY_BOUND, f"recovered after {recovered_in:.1f} s"
    assert receipt.phase is Phase.preliminary_review
    assert [d.kind.value for d in state.documents] == ["acceptance_notice"]
    assert_written_once(engine, settings, receipt.case_no, state)


async def test_a_worker_killed_while_instructing_a_payment_pays_it_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = prepared_engine(settings)
    # Its own server: this fresh read model numbers contracts from 00001 again, and unlike a filing, a
    # single-source start does not yet skip a number the shared server has already run.
    async with dev_server(tmp_path / "temporal.db", free_port()) as client, workers_killed_mid_render(
        client, settings, "payment_instruction"
    ) as replace:
        contracts = ContractService(settings, engine, client)
        contract_no = await signing_contract(contracts, client)
        signing = asyncio.create_task(
            contracts.sign(contracts.actor(SUPPLIER), contract_no, views.SigningInput(party="supplier"))
        )
        killed_at = await replace()
        await until_contract(client, contract_no, lambda s: s.tranche("T1").status is TrancheStatus.instructed, seconds=120)
        recovered_in = asyncio.get_running_loop().time() - killed_at
        await asyncio.wait_for(signing, timeout=60)
        payment = views.DisbursementInput(tranche_id="T1", voucher="GK-0001")
        await contracts.record_disbursement(contracts.actor(FINANCE), contract_no, payment)
        state = await until_contract(client, contract_no, lambda s: s.tranche("T1").status is TrancheStatus.paid)

    assert recovered_in < RECOVERY_BOUND, f"recovered after {recovered_in:.1f} s"
    assert [d.kind.value for d in state.documents] == ["contract", "contract", "payment_instruction"]
    with Session(engine) as session:
        ledger = session.exec(select(LedgerRecord).where(LedgerRecord.contract_no == contract_no)).all()
    assert [(e.entry, e.status, e.amount_fen) for e in ledger] == [("T1", "paid", state.tranche("T1").amount_fen)]
    assert_written_once(engine, settings, contract_no, state)


async def signing_contract(contracts: ContractService, client: Client) -> str:
    """A single-source contract approved, planned and signed by the buyer: the supplier's signature is next."""
    request = views.SingleSourceInput.model_validate(
        {**json.loads((PROJECT_ROOT / "examples" / "single-source.json").read_text(encoding="utf-8")), "supplier": SUPPLIER_ORG}
    )
    contract_no = (await contracts.single_source(contracts.actor(BUYER), request)).contract_no
    await until_contract(client, contract_no, lambda s: s.phase is ContractPhase.approval and bool(s.open_tasks))
    await contracts.approve_single_source(contracts.actor(ORGANIZER), contract_no, views.ApprovalInput(approve=True))
    await until_contract(client, contract_no, lambda s: s.phase is ContractPhase.drafting)
    await contracts.propose_plan(contracts.actor(BUYER), contract_no, plan(local_date(datetime.now(UTC)), request.amount_fen))
    await until_contract(client, contract_no, lambda s: s.phase is ContractPhase.signing)
    await contracts.sign(contracts.actor(BUYER), contract_no, views.SigningInput(party="buyer"))
    return contract_no


def hold_lock(url: str) -> object:
    """Another program holding the read model locked: SQLite's exclusive lock on the whole file, or on
    PostgreSQL a lock on the cases table that lets readers in but no writer."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        return connection
    engine = create_engine(url)
    connection = engine.connect()
    connection.exec_driver_sql("LOCK TABLE cases IN EXCLUSIVE MODE")
    return connection


async def test_a_locked_read_model_delays_a_case_but_does_not_break_it(
    temporal: WorkflowEnvironment, tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url)
    engine = prepared_engine(settings)
    client = temporal.client
    service = CaseService(settings, engine, client)
    async with build_worker(client, settings, engine):
        application = factories.association()
        applicant = service.actor(factories.applicant_id(), application.applicant_name)
        case_no = (await service.submit(applicant, application)).case_no
        await service.decide(service.actor("ma-sun"), case_no, views.DecisionInput(step="preliminary_review", outcome="approve"))

        lock = hold_lock(database_url)
        try:
            decision = views.DecisionInput(step="authority_review", outcome="refuse", reasons=["名称不规范"])
            pending = asyncio.create_task(service.decide(service.actor("mz-chen"), case_no, decision))
            seen = await asyncio.wait_for(asyncio.to_thread(service.case, applicant, case_no), timeout=10)
            assert seen.phase is Phase.authority_review, "readers are not blocked by the lock"
            await asyncio.sleep(HEARTBEAT.total_seconds() + 2)  # the lock is held longer than a heartbeat timeout
            assert not pending.done(), "the decision is answered only once the read model shows it"
            waiting = (await client.get_workflow_handle(case_no).describe()).raw_description.pending_activities
            # SQLite locks the whole file, so the refusal's render waits first (its 发文字号 is allocated in the read
            # model); PostgreSQL only the cases table, so the projection waits, heartbeating: still its first
            # attempt past the heartbeat timeout.
            first = "render_document" if database_url.startswith("sqlite") else "project_case"
            assert [(a.activity_type.name, a.attempt) for a in waiting] == [(first, 1)], "waiting, not timed out"
        finally:
            lock.close()  # type: ignore[attr-defined]
        receipt = await asyncio.wait_for(pending, timeout=60)
        assert receipt.phase == Phase.refused
        assert service.case(applicant, case_no).phase is Phase.refused
        state = await case_state(client, case_no)
    assert [d.kind.value for d in state.documents] == ["acceptance_notice", "refusal_decision"]
    assert_written_once(engine, settings, case_no, state)


async def test_a_submission_while_the_read_model_stays_locked_is_refused_not_crashed(
    temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    prepared_engine(settings)
    # the same database, waiting half a second for a lock instead of the 30 s of store/db.py
    impatient = create_engine(settings.effective_database_url, connect_args={"timeout": 0.5})
    service = CaseService(settings, impatient, temporal.client)
    application = factories.filing()
    applicant = service.actor(factories.applicant_id(), application.applicant_name)
    lock = hold_lock(settings.effective_database_url)
    try:
        with pytest.raises(ServiceError) as busy:
            await service.submit(applicant, application)
    finally:
        lock.close()  # type: ignore[attr-defined]
    assert busy.value.status_code == 503 and "未提交" in busy.value.message
    assert service.my_cases(applicant).items == []


async def test_a_submission_no_worker_takes_up_is_not_answered_201(temporal: WorkflowEnvironment, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = prepared_engine(settings)
    client = temporal.client
    service = CaseService(settings, engine, client)
    service.settle_seconds = 2
    application = factories.filing()
    applicant = service.actor(factories.applicant_id(), application.applicant_name)
    with pytest.raises(ServiceError) as pending:
        await service.submit(applicant, application)
    assert pending.value.status_code == 503, "no receipt for a case nobody could read yet"
    case_no = pending.value.message.split("编号 ")[1].split("，")[0]
    assert "不要重复提交" in pending.value.message
    async with build_worker(client, settings, engine):
        await until_state(client, case_no, lambda s: s.phase is Phase.preliminary_review)
    assert service.case(applicant, case_no).phase is Phase.preliminary_review, "the number it named is the case"


async def test_an_unwritable_documents_folder_holds_the_render_until_it_is_writable(
    temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    engine = prepared_engine(settings)
    client = temporal.client
    service = CaseService(settings, engine, client)
    shutil.rmtree(settings.documents_dir, ignore_errors=True)
    settings.documents_dir.write_text("not a folder")  # tests run as root, where chmod would not stop a write
    async with build_worker(client, settings, engine):
        application = factories.filing()
        applicant = service.actor(factories.applicant_id(), application.applicant_name)
        submission = asyncio.create_task(service.submit(applicant, application))
        failure = await failing_render(client, settings, submission, seconds=60)
        assert "documents" in failure, "the pending activity says what fails (Temporal UI, shezu doctor)"
        assert not submission.done()

        settings.documents_dir.unlink()
        receipt = await asyncio.wait_for(submission, timeout=60)
        state = await case_state(client, receipt.case_no)
    assert receipt.phase is Phase.preliminary_review
    assert [d.kind.value for d in state.documents] == ["acceptance_notice"]
    assert_written_once(engine, settings, receipt.case_no, state)


async def failing_render(client: Client, settings: Settings, submission: asyncio.Task, seconds: float) -> str:  # type: ignore[type-arg]
    """Wait (bounded) until the case's render has failed at least once and is waiting to retry; its error."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + seconds
    while True:
        assert not submission.done(), submission
        for workflow in [w async for w in client.list_workflows(f"TaskQueue = '{settings.task_queue}'")]:
            description = (await client.get_workflow_handle(workflow.id).describe()).raw_description
            for activity in description.pending_activities:
                if activity.activity_type.name == "render_document" and activity.attempt >= 2 and (
                    activity.state is not PendingActivityState.PENDING_ACTIVITY_STATE_STARTED or activity.last_failure.message
                ):
                    return activity.last_failure.message
        assert loop.time() < give_up, "the render never failed"
        await asyncio.sleep(0.2)
