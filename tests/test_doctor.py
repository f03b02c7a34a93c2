"""A broken case is visible and contained: a filing whose workflow task fails on every attempt is
listed by ``shezu doctor`` with its error, and the tools that walk every case (read-model rebuild,
the replay gate, export) report it and still do their work on the others."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, delete, select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import TimeSkipper, WorkflowEnvironment

from schemas.procurement import DemandInput
from service import views
from service.cases import CaseService
from service.fairs import FairService
from service.health import FAILING_ATTEMPTS, health
from service.rebuild import rebuild
from store.db import session_scope
from store.models import CaseRecord
from tests import factories
from tests.conftest import dev_server, make_settings, prepared_engine
from tests.fair_helpers import DEMAND, ORGANIZER, create_fair
from tests.helpers import shezu, until_fair
from worker import build_worker


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
        assert (await health(settings, engine, client)).healthy
        # A filing started with a request the workflow cannot read: its first workflow task fails, and every retry.
        broken = f"YJ-BROKEN-{uuid.uuid4().hex[:6]}"
        await client.start_workflow("FilingWorkflow", {"case_no": broken}, id=broken, task_queue=settings.task_queue)
        # And a workflow of a type this worker does not know, sent to its task queue by mistake.
        foreign = f"FOREIGN-{uuid.uuid4().hex[:6]}"
        await client.start_workflow("ForeignWorkflow", id=foreign, task_queue=settings.task_queue)

        give_up = time.monotonic() + 60
        while len((report := await health(settings, engine, client)).broken) < 2:
            assert time.monotonic() < give_up, "the broken cases never showed as failing"
            await asyncio.sleep(0.5)
        listed = {case.case_no: case for case in report.broken}
        assert listed.keys() == {broken, foreign} and listed[broken].workflow_type == "FilingWorkflow"
        assert listed[broken].attempts >= FAILING_ATTEMPTS and "FilingRequest" in listed[broken].error, listed[broken].error
        assert "ForeignWorkflow" in listed[foreign].error, listed[foreign].error
        assert report.pollers and report.schema_problem is None
        assert report.model_dump()["healthy"] is False and len(report.model_dump()["problems"]) == 2

        env = {**os.environ, "SHEZU_TEMPORAL_ADDRESS": client.service_client.config.target_host,
               "SHEZU_DATABASE_URL": settings.effective_database_url, "SHEZU_DATA_DIR": str(settings.data_dir),
               "SHEZU_TASK_QUEUE": settings.task_queue}
        code, out, _ = await shezu(env, "doctor")
        assert code == 1 and broken in out and "FilingRequest" in out and foreign in out and good not in out, out

        with session_scope(engine) as session:
            session.exec(delete(CaseRecord).where(CaseRecord.case_no == good))  # type: ignore[call-overload]
        code, out, err = await shezu(env, "readmodel", "rebuild")
        assert code == 1 and broken in err and "备案登记 1 个" in out and "1 个案件失败" in out, out + err
        with Session(engine) as session:
            assert session.exec(select(CaseRecord.phase).where(CaseRecord.case_no == good)).one() == "authority_review"
        result = await rebuild(service)
        assert result.rebuilt["FilingWorkflow"] == 1 and [f[0] for f in result.failures] == [broken]

        code, out, _ = await shezu(env, "audit", "replay-all", "--query", f"TaskQueue = '{settings.task_queue}'")
        assert code == 1 and f"✗ {broken}" in out and "流程任务反复失败" in out and f"✗ {good}" not in out, out
        assert f"✗ {foreign}" in out and "未知的流程类型 ForeignWorkflow" in out, out
        assert "1 次一致" in out, out


async def test_export_names_a_child_case_it_cannot_read_and_exports_the_rest(tmp_path: Path) -> None:
    """A fair with two lots, one of whose histories is gone: the export says which and carries the rest.
    (Release 0.1's finished fair cannot serve: a server deletes closed runs a day after they close.)"""
    settings = make_settings(tmp_path)
    engine = prepared_engine(settings)
    with dev_server(tmp_path / "temporal.db") as address:
        client = await Client.connect(address, data_converter=pydantic_data_converter)
        async with build_worker(client, settings, engine):
            fairs = FairService(settings, engine, client)
            summary = await create_fair(fairs, datetime.now(UTC))
            fair = summary.fair_no
            for department in ("dept-wj", "dept-jy"):
                demand = DemandInput.model_validate({**DEMAND, "title": f"{DEMAND['title']}（{department}）"})
                await fairs.submit_demand(fairs.actor(department), fair, demand)
            await TimeSkipper(client).fast_forward(client.get_workflow_handle(fair), timedelta(days=2, minutes=1))
            await until_fair(client, fair, lambda s: s.phase.value == "reviewing")
            for demand in fairs.fair(fairs.actor(ORGANIZER), fair).demands:
                await fairs.review_demand(fairs.actor(ORGANIZER), fair, demand.demand_id, views.DemandReviewInput(approve=True))
            await fairs.publish_catalogue(fairs.actor(ORGANIZER), fair)
            lots = sorted(lot.lot_no for lot in (await until_fair(client, fair, lambda s: len(s.lots) == 2)).lots)

        gone, kept = lots
        await client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=gone))
        )
        give_up = time.monotonic() + 90  # the dev server deletes a run some seconds later
        while await _exists(client, gone):
            assert time.monotonic() < give_up, "the dev server did not delete the lot"
            await asyncio.sleep(0.3)

        env = {
            **os.environ, "SHEZU_TEMPORAL_ADDRESS": address, "SHEZU_DATA_DIR": str(settings.data_dir),
            "SHEZU_DATABASE_URL": settings.effective_database_url, "SHEZU_TASK_QUEUE": settings.task_queue,
        }
        bundle = tmp_path / "bundle"
        code, out, err = await shezu(env, "audit", "export", fair, "--output", str(bundle))
        assert code == 1 and f"无法读取，未导出：{gone}" in err, out + err
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
        assert set(manifest["cases"]) == {fair, kept}
        assert [entry.split("：")[0] for entry in manifest["unreadable"]] == [gone]
        code, out, _ = await shezu(env, "audit", "verify", str(bundle))
        assert code == 1 and gone in out and "导出时无法读取此案件" in out, out


async def _exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
