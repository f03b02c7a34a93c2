"""No caller can grow a case's history without bound: the policy limits public actions, and a long
case continues as new (here after a few dozen events, set by configuration) and still decides right."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import EventType, ParentClosePolicy
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from audit.bundle import build_bundle, verify_bundle, write_bundle
from audit.diagram import process_diagram
from audit.source import fetch_case_tree
from audit.timeline import reconstruct
from schemas.case import ObjectionStatus, Phase
from schemas.people import Role
from schemas.procurement import BidInput, ChallengeStatus, DemandInput, FairPhase, LotPhase, ShowcaseInput
from service import views
from service.cases import CaseService
from service.common import ServiceError
from service.fairs import FairService
from settings import Settings
from tests import factories
from tests.conftest import Skipping, binary, make_settings, prepared_engine
from tests.fair_helpers import BIDDERS, DEMAND, ORGANIZER, Fair, create_fair, published_fair
from tests.helpers import case_state, keep_golden, until_fair, until_lot, until_state
from worker import WORKFLOWS, activities, build_worker

HISTORY_LIMIT = 60


@pytest_asyncio.fixture
async def skipping(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Skipping]:
    """A time-skipping server per test here, not per module: once a lot that continued as new (or whose fair
    did) signals its fair, Temporal's Java test server keeps time skipping locked (temporalio/sdk-java#1618,
    child workflows and signals; the dev server is unaffected), and the next test's sleep would time out."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    settings = make_settings(tmp_path_factory.mktemp("skipping"))
    engine = prepared_engine(settings)
    async with env, build_worker(env.client, settings, engine):
        yield Skipping(env, CaseService(settings, engine, env.client), engine, settings)
SHORT = "该组织夜间在小区广场排练，音响声音很大，影响老人和孩子休息。"
LONG = SHORT * 90  # about 3,000 characters
FLOOD_SECONDS = 120
"""How long a flooded case may take to file every objection: twenty reviews and a continue-as-new, each
workflow task waiting its turn on two shared cores."""


@asynccontextmanager
async def short_histories(client: Client, settings: Settings, engine: Engine) -> AsyncIterator[CaseService]:
    """A worker on its own task queue whose cases continue as new beyond HISTORY_LIMIT events."""
    own = settings.model_copy(update={"task_queue": f"shezu-bounds-{uuid.uuid4().hex[:8]}", "history_limit": HISTORY_LIMIT})
    async with Worker(
        client, task_queue=own.task_queue, workflows=WORKFLOWS, activities=activities(own, engine, client),
        activity_executor=ThreadPoolExecutor(max_workers=4),
    ):
        yield CaseService(own, engine, client)


async def in_public_notice(service: CaseService) -> tuple[Any, str]:
    application = factories.filing()
    applicant = service.actor(factories.applicant_id(), application.applicant_name)
    case_no = (await service.submit(applicant, application)).case_no
    for step, user in (("preliminary_review", "cg-zhao"), ("authority_review", "jg-zhou")):
        await service.decide(service.actor(user), case_no, views.DecisionInput(step=step, outcome="approve"))
    return applicant, case_no


async def object_as(service: CaseService, case_no: str, user_id: str, name: str, number: int, content: str = LONG) -> str:
    objection = views.ObjectionInput(name=name, content=f"第{number}条意见：{content}", contact="13900000000")
    return (await service.file_objection(service.actor(user_id, name, Role.public), case_no, objection)).message


async def resolve_all(service: CaseService, case_no: str, outcome: str, upheld: set[str] = frozenset()) -> None:
    """Whoever holds each objection's review (A post, or B after escalation) resolves it."""
    state = await case_state(service.client, case_no)
    for objection in state.objections:
        chosen = "uphold" if objection.objection_id in upheld else outcome
        task = state.task(objection.task_id or "")
        assert task is not None
        await service.resolve_objection(
            service.actor(task.holder.user_id), case_no, objection.objection_id,
            views.ObjectionResolutionInput(outcome=chosen, reasons=[f"经现场核查，异议{objection.objection_id}" + ("属实" if chosen == "uphold" else "不属实")]),
        )


async def test_a_flood_of_objections_racing_continue_as_new_is_bounded_and_none_is_lost(
    temporal: WorkflowEnvironment, system_settings: Settings, engine: Engine
) -> None:
    """On the dev server (Temporal 1.32): many people object at once while the case continues as new."""
    client = temporal.client
    async with short_histories(client, system_settings, engine) as service:
        _, case_no = await in_public_notice(service)
        for number in range(1, 4):
            await object_as(service, case_no, "neighbour-a", "甲", number)
        with pytest.raises(ServiceError) as fourth:
            await object_as(service, case_no, "neighbour-a", "甲", 4)
        assert fourth.value.kind == "conflict"
        assert "每人对同一公示最多可提出3件异议，您已提出3件" in fourth.value.message

        # seven more people at once, 19 objections for the 17 places left: every one is answered,
        # none is lost while the case continues as new, and exactly the limit is kept
        people = [(f"neighbour-{n}", name) for n, name in enumerate("乙丙丁戊己庚辛")]
        attempts = [object_as(service, case_no, user, name, k) for user, name in people for k in range(1, 4) if user != "neighbour-6" or k == 1]
        answers = await asyncio.wait_for(asyncio.gather(*attempts, return_exceptions=True), timeout=60)
        refused = [a for a in answers if isinstance(a, ServiceError)]
        assert all(isinstance(a, str) and "异议已登记" in a for a in answers if a not in refused), answers
        assert len(refused) == 2 and all("同一公示最多受理20件异议" in r.message for r in refused), answers

        state = await until_state(client, case_no, lambda s: len(s.objections) == 20 and all(o.task_id for o in s.objections), FLOOD_SECONDS)
        assert state.runs >= 2 and any(e.action == "continued" for e in state.timeline)
        assert len({o.objection_id for o in state.objections}) == 20
        assert len([t for t in state.open_tasks if t.objection_id]) == 20, "every objection is waiting for its review"

        await resolve_all(service, case_no, "dismiss")
        state = await until_state(client, case_no, lambda s: all(o.status is ObjectionStatus.dismissed for o in s.objections))
        view = service.case(service.actor("jg-zhou"), case_no)
        assert view.phase is Phase.public_notice and len(view.objections) == 20
        assert {o.status_name for o in view.objections} == {"异议不成立"}
        assert not [t for t in state.open_tasks if t.objection_id]
        runs = [w async for w in client.list_workflows(f"WorkflowId = '{case_no}'")]
        assert len(runs) == state.runs >= 2


async def test_a_flooded_public_notice_continues_as_new_and_is_approved(skipping: Skipping, tmp_path: Path) -> None:
    client = skipping.env.client
    async with short_histories(client, skipping.settings, skipping.engine) as service:
        applicant, case_no = await in_public_notice(service)
        people = [(f"neighbour-{n}", name) for n, name in enumerate("甲乙丙丁戊己庚")]
        for user, name in people:
            for number in range(1, 4):
                try:
                    await object_as(service, case_no, user, name, number, SHORT)
                except ServiceError as refusal:
                    assert (user, number) == ("neighbour-6", 3) and "已收到20件" in refusal.message
        state = await until_state(client, case_no, lambda s: len(s.objections) == 20 and all(o.task_id for o in s.objections), FLOOD_SECONDS)
        assert state.runs >= 2 and any(e.action == "continued" for e in state.timeline)

        await resolve_all(service, case_no, "dismiss")
        await skipping.sleep(timedelta(days=9))
        state = await until_state(client, case_no, lambda s: s.phase is Phase.decision)
        assert "公示期满，收到异议20件，均已处理（成立0件）" in [e.summary for e in state.timeline]
        await service.decide(service.actor("jg-zhou"), case_no, views.DecisionInput(step="decision", outcome="approve"))

        view = service.case(applicant, case_no)
        assert view.phase is Phase.approved
        assert len(view.objections) == 20 and {o.status_name for o in view.objections} == {"异议不成立"}
        state = await until_state(client, case_no, lambda s: s.result is not None)
        assert [t.task_id for t in state.tasks if t.objection_id] == [f"objection_review-{n}" for n in range(1, 21)]
        last_run = await client.get_workflow_handle(case_no).fetch_history()
        assert len(last_run.events) < 4 * HISTORY_LIMIT
        await keep_golden(client, case_no, "filing_continued")

        # the audit reads every run of the case as one, and its bundle verifies offline
        [case] = await fetch_case_tree(client, case_no)
        assert len(case.runs) == state.runs >= 2 and case.runs[0].continued_from is None
        assert [run.continued_from for run in case.runs[1:]] == [run.run_id for run in case.runs[:-1]]
        final = reconstruct(case)
        assert final.phase == "approved" and final.status == "已办结"
        assert sum(e.action == "objection_filed" for e in final.events) == 20
        assert sum(e.action == "continued" for e in final.events) == state.runs - 1
        first_run_ends = case.runs[0].events[-1].event_time.ToDatetime(tzinfo=UTC)
        assert reconstruct(case, first_run_ends).phase == "public_notice", "any moment of an earlier run can be shown"
        assert "未声明的流转" not in process_diagram(case)
        write_bundle(build_bundle([case], service.settings.documents_dir, {}), tmp_path / "bundle")
        report = await verify_bundle(tmp_path / "bundle")
        assert report.passed, report.text()


async def test_an_upheld_objection_carried_over_still_refuses_the_filing(skipping: Skipping) -> None:
    client = skipping.env.client
    async with short_histories(client, skipping.settings, skipping.engine) as service:
        applicant, case_no = await in_public_notice(service)
        for user, name in (("neighbour-x", "辛"), ("neighbour-y", "壬")):
            for number in range(1, 4):
                await object_as(service, case_no, user, name, number, SHORT)
        state = await until_state(client, case_no, lambda s: s.runs >= 2 and all(o.task_id for o in s.objections), FLOOD_SECONDS)
        runs = state.runs

        # the carried-over reviews keep their deadlines: past them, the new run hands each to the B post
        await skipping.sleep(timedelta(days=9))
        state = await until_state(client, case_no, lambda s: all(t.escalated_at for t in s.open_tasks if t.objection_id))
        reviews = [t for t in state.open_tasks if t.objection_id]
        assert len(reviews) == 6 and {t.holder.user_id for t in reviews} == {reviews[0].b.user_id} != {reviews[0].a.user_id}
        assert state.runs >= runs and state.phase is Phase.public_notice, "the notice waits for every objection"
        await resolve_all(service, case_no, "dismiss", upheld={"YY04"})
        state = await until_state(client, case_no, lambda s: s.phase is Phase.decision)
        assert [o.status for o in state.objections].count(ObjectionStatus.upheld) == 1
        with pytest.raises(ServiceError) as blocked:
            await service.decide(service.actor("jg-zhou"), case_no, views.DecisionInput(step="decision", outcome="approve"))
        assert "YY04" in blocked.value.message
        reasons = ["公示期间异议经核查成立"]
        await service.decide(service.actor("jg-zhou"), case_no, views.DecisionInput(step="decision", outcome="refuse", reasons=reasons))
        assert service.case(applicant, case_no).phase is Phase.refused


async def test_a_lot_flooded_with_challenges_continues_as_new_and_is_awarded(skipping: Skipping, tmp_path: Path) -> None:
    client = skipping.env.client
    async with short_histories(client, skipping.settings, skipping.engine) as service:
        fair = await published_fair(dataclasses.replace(skipping, settings=service.settings, service=service))
        lot = fair.lots[0]
        for organization, price in (("YJ-REG-0001", 28_000_000), ("YJ-REG-0002", 26_500_000), ("YJ-REG-0003", 29_000_000)):
            await fair.bid(lot, organization, price)
        await fair.close_bidding(lot)
        await until_lot(client, lot, lambda s: s.phase is LotPhase.evaluation)
        await fair.score_all(lot)
        await until_lot(client, lot, lambda s: s.phase is LotPhase.result_notice)

        for organization, user in (("YJ-REG-0002", "org-xiyanghong"), ("YJ-REG-0003", "org-yangguang")):
            for number in range(1, 4):
                challenge = views.ChallengeInput(organization=organization, content=f"第{number}项质疑：评分与服务方案不符")
                await fair.service.file_challenge(fair.actor(user), lot, challenge)
        with pytest.raises(ServiceError) as fourth:
            await fair.service.file_challenge(fair.actor("org-yangguang"), lot, views.ChallengeInput(organization="YJ-REG-0003", content="第四项质疑"))
        assert fourth.value.kind == "conflict"
        assert "每个投标人对同一项目的评审结果最多可提出3件质疑，「延吉市阳光助残服务中心」已提出3件" in fourth.value.message

        state = await until_lot(client, lot, lambda s: len(s.challenges) == 6 and all(c.task_id for c in s.challenges))
        assert state.runs >= 2 and any(e.action == "continued" for e in state.timeline)
        for challenge in state.challenges:
            await fair.service.answer_challenge(
                fair.actor(ORGANIZER), lot, challenge.challenge_id,
                views.ChallengeAnswerInput(upheld=False, reasons=[f"经核查，{challenge.challenge_id}所述情况不属实"]),
            )
        await fair.sleep_past(lot, state.result_notice.ends.due_at)
        state = await until_lot(client, lot, lambda s: s.phase is LotPhase.awarding)
        assert {c.status for c in state.challenges} == {ChallengeStatus.dismissed}
        assert "公示期满，收到质疑6件，均已答复（成立0件）" in [e.summary for e in state.timeline]
        await fair.service.respond_to_award(fair.actor("org-chunhui"), lot, views.AwardResponseInput(organization="YJ-REG-0001", accept=True))
        state = await until_lot(client, lot, lambda s: s.phase is LotPhase.awarded)
        assert state.runs >= 2 and state.result.winner == "YJ-REG-0001"
        view = fair.service.lot(fair.actor(ORGANIZER), lot)
        assert view.phase == LotPhase.awarded.value and len(view.challenges) == 6
        await keep_golden(client, lot, "lot_continued")

        case, contract = await fetch_case_tree(client, lot)
        assert len(case.runs) == state.runs and [run.continued_from for run in case.runs[1:]] == [run.run_id for run in case.runs[:-1]]
        assert contract.workflow_id == state.contract.contract_no, "the contract started by the last run is found"
        final = reconstruct(case)
        assert final.phase == "awarded" and sum(e.action == "challenge_filed" for e in final.events) == 6
        assert "未声明的流转" not in process_diagram(case)
        write_bundle(build_bundle([case, contract], service.settings.documents_dir, {}), tmp_path / "bundle")
        report = await verify_bundle(tmp_path / "bundle")
        assert report.passed, report.text()


async def test_bid_changes_are_bounded_and_a_long_bid_window_continues_as_new(skipping: Skipping) -> None:
    client = skipping.env.client
    async with short_histories(client, skipping.settings, skipping.engine) as service:
        fair = await published_fair(dataclasses.replace(skipping, settings=service.settings, service=service))
        lot = fair.lots[0]
        for organization, price in (("YJ-REG-0001", 28_000_000), ("YJ-REG-0002", 26_500_000), ("YJ-REG-0003", 29_000_000)):
            await fair.bid(lot, organization, price)
        bids = [await fair.bid_id(lot, organization) for organization in ("YJ-REG-0001", "YJ-REG-0002", "YJ-REG-0003")]
        for step in range(1, 10):
            amended = BidInput(organization="YJ-REG-0002", price_fen=26_500_000 - step * 10_000, proposal=f"第{step}次修改的服务方案说明。", team=["社工4名"])
            await fair.service.amend_bid(fair.actor("org-xiyanghong"), lot, bids[1], amended)
        with pytest.raises(ServiceError) as tenth:
            await fair.service.amend_bid(fair.actor("org-xiyanghong"), lot, bids[1], amended.model_copy(update={"price_fen": 20_000_000}))
        assert tenth.value.kind == "conflict"
        assert "每个社会组织对同一项目最多可提交或修改投标10次，「延吉市夕阳红养老服务协会」已10次" in tenth.value.message

        state = await until_lot(client, lot, lambda s: s.runs >= 2)
        assert state.phase is LotPhase.bidding and any(e.action == "continued" for e in state.timeline)
        assert state.bid(bids[1]).price_fen == 26_410_000 and state.bid(bids[1]).amendments == 9
        state = await fair.close_bidding(lot)
        state = await until_lot(client, lot, lambda s: s.phase is LotPhase.evaluation)
        assert [b.bid_id for b in state.eligible_bids] == bids, "the carried-over run closes the window it was given"
        await keep_golden(client, lot, "lot_continued_while_bidding")


async def show(service: FairService, fair_no: str, organizations: list[str], per_organization: int = 3) -> None:
    """Each organization adds its showcase projects (three, the policy's limit) to the fair."""
    for organization in organizations:
        for number in range(1, per_organization + 1):
            project = ShowcaseInput(
                organization=organization, title=f"公益服务项目第{number}期", summary="为社区居民提供志愿服务和公益活动", beneficiaries="社区居民"
            )
            await service.add_showcase_project(service.actor(BIDDERS[organization]), fair_no, project)


async def test_a_fair_continues_as_new_while_collecting_and_while_its_lots_run_and_closes_with_every_outcome(
    skipping: Skipping, tmp_path: Path
) -> None:
    client = skipping.env.client
    async with short_histories(client, skipping.settings, skipping.engine) as cases:
        service = FairService(cases.settings, skipping.engine, client)
        fair_no = (await create_fair(service, await skipping.env.get_current_time())).fair_no
        for department, title in (("dept-wj", DEMAND["title"]), ("dept-jy", "青少年课后托管服务")):
            await service.submit_demand(service.actor(department), fair_no, DemandInput.model_validate({**DEMAND, "title": title}))
        organizations = list(BIDDERS)
        await show(service, fair_no, organizations[:3])
        state = await until_fair(client, fair_no, lambda s: s.runs >= 2 and len(s.showcase) == 9)
        assert state.phase is FairPhase.collecting and any(e.action == "continued" for e in state.timeline)
        assert [d.title for d in state.demands] == [DEMAND["title"], "青少年课后托管服务"], "the demands are carried over"

        await skipping.sleep(timedelta(days=2, minutes=1))
        await until_fair(client, fair_no, lambda s: s.phase is FairPhase.reviewing)
        for demand_id in ("D01", "D02"):
            await service.review_demand(service.actor(ORGANIZER), fair_no, demand_id, views.DemandReviewInput(approve=True))
        await service.publish_catalogue(service.actor(ORGANIZER), fair_no)
        state = await until_fair(client, fair_no, lambda s: len(s.lots) == 2)
        lots = [lot.lot_no for lot in state.lots]
        for lot in lots:
            await until_lot(client, lot, lambda s: s.phase is LotPhase.bidding)

        # showcase entries keep coming while the lots run: the fair continues as new, and its lots go on
        published_in = state.runs
        await show(service, fair_no, organizations[3:])
        state = await until_fair(client, fair_no, lambda s: s.runs > published_in and len(s.showcase) == 24)
        assert state.phase is FairPhase.published and not any(lot.ended for lot in state.lots)
        for lot in lots:
            assert (await client.get_workflow_handle(lot).describe()).status is WorkflowExecutionStatus.RUNNING

        fair = Fair(service, client, dataclasses.replace(skipping, settings=cases.settings), fair_no, lots)
        awarded, failed = lots
        for organization, price in (("YJ-REG-0001", 28_000_000), ("YJ-REG-0002", 26_500_000), ("YJ-REG-0003", 29_000_000)):
            await fair.bid(awarded, organization, price)
        await fair.close_bidding(awarded)
        await until_lot(client, awarded, lambda s: s.phase is LotPhase.evaluation)
        await fair.score_all(awarded)
        state = await until_lot(client, awarded, lambda s: s.phase is LotPhase.result_notice)
        await fair.sleep_past(awarded, state.result_notice.ends.due_at)
        await until_lot(client, awarded, lambda s: s.phase is LotPhase.awarding)
        await service.respond_to_award(fair.actor("org-chunhui"), awarded, views.AwardResponseInput(organization="YJ-REG-0001", accept=True))
        await until_lot(client, failed, lambda s: s.phase is LotPhase.failed and bool(s.open_tasks))
        await service.decide_failed_lot(fair.actor(ORGANIZER), failed, views.FailedLotInput(retender=False, reasons=["需求调整，改为明年采购"]))

        state = await until_fair(client, fair_no, lambda s: s.phase is FairPhase.closed)
        assert state.runs > published_in
        assert [(lot.phase, lot.winner) for lot in state.lots] == [("awarded", "延吉市春晖社会工作服务中心"), ("closed", None)]
        assert state.timeline[-1].summary == "全部2个项目办结：成交1个，终止1个"
        view = service.fair(service.actor(ORGANIZER), fair_no)
        assert view.phase == FairPhase.closed.value and len(view.showcase) == 24
        assert [(lot.phase, lot.winner) for lot in view.lots] == [("awarded", "延吉市春晖社会工作服务中心"), ("closed", None)]
        assert [entry.lot_phase for entry in view.catalogue] == ["已成交", "已终止"]
        await keep_golden(client, fair_no, "fair_continued")
        await keep_golden(client, awarded, "lot_reported_to_fair")

        # the audit reads every run of the fair as one, with the lots its earlier runs started
        tree = await fetch_case_tree(client, fair_no)
        case = tree[0]
        assert len(case.runs) == state.runs and [run.continued_from for run in case.runs[1:]] == [run.run_id for run in case.runs[:-1]]
        assert {c.workflow_id for c in tree} >= {fair_no, *lots}
        final = reconstruct(case)
        assert final.phase == "closed" and sum(e.action == "showcase_added" for e in final.events) == 24
        assert "未声明的流转" not in process_diagram(case)
        write_bundle(build_bundle(tree, cases.settings.documents_dir, {}), tmp_path / "bundle")
        report = await verify_bundle(tmp_path / "bundle")
        assert report.passed, report.text()

        # every lot was started to outlive the run that started it (on a real server, TERMINATE would end it)
        started = [
            e.start_child_workflow_execution_initiated_event_attributes
            for run in case.runs
            for e in run.events
            if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
        ]
        assert [a.workflow_id for a in started] == lots
        assert {a.parent_close_policy for a in started} == {ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON}


async def test_on_the_dev_server_a_fair_continuing_as_new_leaves_its_lots_running(
    temporal: WorkflowEnvironment, system_settings: Settings, engine: Engine
) -> None:
    """Temporal 1.32 terminates a TERMINATE child when its parent continues as new (the time-skipping test
    server does not): a lot waiting for the organizer survives its fair's new run and reports its end to it."""
    client = temporal.client
    async with short_histories(client, system_settings, engine) as cases:
        service = FairService(cases.settings, engine, client)
        fair_no = (await create_fair(
            service, datetime.now(UTC), "2026年延吉市社洽会（快速）",
            demands_in=timedelta(seconds=5), fair_in=timedelta(days=1), bids_in=timedelta(seconds=9),
        )).fair_no
        await service.submit_demand(service.actor("dept-wj"), fair_no, DemandInput.model_validate(DEMAND))
        await until_fair(client, fair_no, lambda s: s.phase is FairPhase.reviewing)
        await service.review_demand(service.actor(ORGANIZER), fair_no, "D01", views.DemandReviewInput(approve=True))
        await service.publish_catalogue(service.actor(ORGANIZER), fair_no)
        [lot] = [lot.lot_no for lot in (await until_fair(client, fair_no, lambda s: len(s.lots) == 1)).lots]
        await until_lot(client, lot, lambda s: s.phase is LotPhase.failed and bool(s.open_tasks))

        runs = (await until_fair(client, fair_no, lambda s: True)).runs
        await show(service, fair_no, list(BIDDERS)[:4])
        state = await until_fair(client, fair_no, lambda s: s.runs > runs and len(s.showcase) == 12)
        assert state.phase is FairPhase.published
        assert (await client.get_workflow_handle(lot).describe()).status is WorkflowExecutionStatus.RUNNING

        await service.decide_failed_lot(service.actor(ORGANIZER), lot, views.FailedLotInput(retender=False, reasons=["无合格投标，终止采购"]))
        state = await until_fair(client, fair_no, lambda s: s.phase is FairPhase.closed)
        assert [(s.phase, s.winner) for s in state.lots] == [("closed", None)]
        assert state.timeline[-1].summary == "全部1个项目办结：成交0个，终止1个"
        assert service.fair(service.actor(ORGANIZER), fair_no).phase == FairPhase.closed.value
