"""The read model on SQLite and on PostgreSQL: idempotent projections where newer state always wins,
sequential case numbers that refuse a second open case, an outbox that queues once, and a whole
case run with the worker writing to the database and then rebuilt from workflow state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import delete, func
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from activities.notifications import NotificationActivities
from activities.read_model import ReadModelActivities, project
from schemas.calendar import CalendarYear
from schemas.case import CaseState, Phase
from schemas.notifications import NotificationKind, NotificationRequest
from schemas.people import Actor, Role
from service import views
from service.cases import CaseService
from service.rebuild import rebuild
from store.calendars import load_calendar_year, loaded_years
from store.case_numbers import DuplicateOpenCase, allocate, record_case
from store.db import session_scope
from store.directory import load_directory, read_directory_file
from store.models import (
    CaseRecord,
    DocumentRecord,
    NotificationRecord,
    OrganizationRecord,
    TaskRecord,
    TimelineRecord,
)
from tests import factories
from tests.conftest import SAMPLE_DIRECTORY, Skipping, make_settings, migrated_engine
from tests.helpers import case_state, until_state
from worker import build_worker

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module")
async def approved_case(skipping: Skipping) -> list[CaseState]:
    """Snapshots of one green-channel filing: just accepted, in public notice, approved."""
    service, client = skipping.service, skipping.env.client
    application = factories.filing()
    applicant = service.actor(factories.applicant_id(), application.applicant_name)
    case_no = (await service.submit(applicant, application)).case_no
    states = [await case_state(client, case_no)]
    for step, user in (("preliminary_review", "cg-zhao"), ("authority_review", "jg-zhou")):
        await service.decide(service.actor(user), case_no, views.DecisionInput(step=step, outcome="approve"))
    states.append(await case_state(client, case_no))
    await skipping.sleep(timedelta(days=9))
    await until_state(client, case_no, lambda s: s.phase is Phase.decision)
    await service.decide(service.actor("jg-zhou"), case_no, views.DecisionInput(step="decision", outcome="approve"))
    states.append(await case_state(client, case_no))
    return states


def counts(session: Session, case_no: str) -> dict[str, int]:
    return {
        table.__name__: session.exec(select(func.count()).select_from(table).where(table.case_no == case_no)).one()
        for table in (TaskRecord, TimelineRecord, DocumentRecord, OrganizationRecord)
    }


def test_projection_is_idempotent_and_never_goes_back_in_time(database_url: str, approved_case: list[CaseState]) -> None:
    engine = migrated_engine(database_url)
    accepted, notice, approved = approved_case
    case_no = approved.case_no
    for state in (accepted, approved, notice, approved, accepted):
        with session_scope(engine) as session:
            project(session, state)
    with Session(engine) as session:
        record = session.get(CaseRecord, case_no)
        assert record is not None and record.phase == Phase.approved.value and record.revision == approved.revision
        assert record.closed and record.holders == ""
        assert counts(session, case_no) == {
            "TaskRecord": len(approved.tasks),
            "TimelineRecord": len(approved.timeline),
            "DocumentRecord": 3,
            "OrganizationRecord": 1,
        }
        organization = session.get(OrganizationRecord, case_no)
        assert organization.name == approved.application.organization_name
        assert organization.valid_until.tzinfo is not None and organization.valid_until > organization.approved_at
        assert CaseState.model_validate(record.state) == approved


def test_concurrent_projections_leave_the_newest_state_whole(database_url: str, approved_case: list[CaseState]) -> None:
    """Two projections of one case racing (a payment and the step after it settle at once): the newest wins,
    its columns and its stored state together, never a mix of the two."""
    engine = migrated_engine(database_url)
    accepted, notice, approved = approved_case
    activities = ReadModelActivities(engine)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(25):
            with Session(engine) as session:
                session.exec(delete(CaseRecord).where(CaseRecord.case_no == notice.case_no))  # type: ignore[arg-type]
                session.commit()
            activities.project_case(accepted)
            list(pool.map(activities.project_case, [notice, approved, accepted, notice]))
            with Session(engine) as session:
                record = session.get(CaseRecord, approved.case_no)
                assert record is not None and record.revision == approved.revision and record.phase == Phase.approved.value
                assert CaseState.model_validate(record.state) == approved


def test_case_numbers_are_sequential_and_refuse_a_second_open_case(database_url: str) -> None:
    engine = migrated_engine(database_url)
    series = "YJ-JG-BA-2026"
    assert allocate(engine, series, "YJ:舞蹈队", NOW) == f"{series}-00001"
    assert allocate(engine, series, "YJ:合唱团", NOW) == f"{series}-00002"
    with pytest.raises(DuplicateOpenCase) as duplicate:
        allocate(engine, series, "YJ:舞蹈队", NOW)
    assert duplicate.value.case_no == f"{series}-00001"
    with session_scope(engine) as session:
        record_case(session, f"{series}-00001", None, NOW)
    assert allocate(engine, series, "YJ:舞蹈队", NOW) == f"{series}-00003"

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(lambda n: allocate(engine, "YJ-DJ-2026", f"YJ:协会{n}", NOW), range(12)))
    assert sorted(numbers) == [f"YJ-DJ-2026-{n:05d}" for n in range(1, 13)]


async def test_outbox_queues_each_message_once(database_url: str, tmp_path: Path) -> None:
    engine = migrated_engine(database_url)
    outbox = NotificationActivities(make_settings(tmp_path, database_url), engine, None)  # no e-mail or SMS: nothing to start
    staff = [
        Actor(user_id=user_id, name=name, role=Role.community_committee, jurisdiction="YJ-JG-CG")
        for user_id, name in (("cg-zhao", "赵丽"), ("cg-qian", "钱伟"))
    ]
    request = NotificationRequest(
        key="YJ-JG-BA-2026-00001:7:task_escalated", kind=NotificationKind.task_escalated, case_no="YJ-JG-BA-2026-00001",
        recipients=staff, context={"case_no": "YJ-JG-BA-2026-00001", "subject": "舞蹈队", "task_title": "居委会初审",
                                   "due_date": "2026-11-27", "phase": "居委会初审"},
    )
    assert await outbox.queue_notification(request) == 2
    assert await outbox.queue_notification(request) == 0
    with Session(engine) as session:
        rows = session.exec(select(NotificationRecord)).all()
    assert sorted(r.recipient_name for r in rows) == ["赵丽", "钱伟"]
    assert all("2026年11月27日（含当日）" in r.body and r.subject.startswith("【AB岗转办】") for r in rows)


def test_calendar_years_load_and_replace(database_url: str) -> None:
    engine = migrated_engine(database_url)
    first = CalendarYear(year=2027, title="国务院办公厅2027年部分节假日安排", holidays={date(2027, 1, 1): "元旦"})
    load_calendar_year(engine, first, "admin")
    second = first.model_copy(update={"makeup_workdays": [date(2027, 2, 6)]})
    load_calendar_year(engine, second, "admin")
    years = loaded_years(engine)
    assert [y.year for y in years] == [2027] and years[0].loaded_at.tzinfo is not None


async def test_a_whole_case_runs_on_postgresql_and_the_read_model_rebuilds(
    temporal: WorkflowEnvironment, postgres_url: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, database_url=postgres_url)
    engine = migrated_engine(postgres_url)
    load_directory(engine, read_directory_file(SAMPLE_DIRECTORY))
    service = CaseService(settings, engine, temporal.client)
    async with build_worker(temporal.client, settings, engine):
        application = factories.association()
        applicant = service.actor(factories.applicant_id(), application.applicant_name)
        case_no = (await service.submit(applicant, application)).case_no
        await service.decide(service.actor("ma-sun"), case_no, views.DecisionInput(step="preliminary_review", outcome="approve"))
        await service.decide(
            service.actor("mz-chen"), case_no,
            views.DecisionInput(step="authority_review", outcome="refuse", reasons=["章程草案缺少会员权利义务条款"]),
        )
        view = service.case(applicant, case_no)
        assert view.phase is Phase.refused and view.result_reasons == ["章程草案缺少会员权利义务条款"]
        with Session(engine) as session:
            before = counts(session, case_no)
        with session_scope(engine) as session:
            for table in (TaskRecord, TimelineRecord, DocumentRecord, CaseRecord):
                session.exec(delete(table).where(table.case_no == case_no))  # type: ignore[call-overload]
        assert (await rebuild(service)).rebuilt["FilingWorkflow"] == 1
        with Session(engine) as session:
            assert counts(session, case_no) == before
        assert service.case(applicant, case_no) == view, "the rebuilt read model says exactly what it said"
