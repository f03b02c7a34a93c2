"""孵化: the bases as data, and places and waiting lists that two admissions at once cannot overfill."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Worker

from rules.policy_files import policy_in_force
from schemas.case import Phase, TaskStatus
from schemas.documents import DocumentKind, DocumentRef
from schemas.incubation import Service
from schemas.incubation_case import (
    AssessmentOutcome,
    AssessmentReview,
    CheckInReport,
    FilingStart,
    IncubationApplication,
    IncubationAssessment,
    IncubationDecision,
    IncubationExit,
    IncubationPhase,
    IncubationRequest,
    IncubationState,
)
from schemas.localtime import SHANGHAI
from schemas.people import Actor, Role
from service import views
from store import bases, register
from store.directory import load_directory, read_directory_file
from store.models import IncubationRecord, OrganizationRecord, TaskRecord
from store.register import load_register, read_register_file
from tests import factories
from tests.conftest import PROJECT_ROOT, SAMPLE_DIRECTORY, SAMPLE_REGISTER, Skipping, migrated_engine
from tests.helpers import accepted_updates, keep_golden, misplaced_seals, shezu, until_incubation, until_state
from tests.test_contract import document_text, notified
from worker import WORKFLOWS, activities
from workflows.incubation import IncubationWorkflow

SAMPLE_BASES = PROJECT_ROOT / "directory" / "sample-bases.yaml"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def read_model(database_url: str) -> Engine:
    engine = migrated_engine(database_url)
    load_directory(engine, read_directory_file(SAMPLE_DIRECTORY))
    load_register(engine, read_register_file(SAMPLE_REGISTER))
    bases.load_bases(engine, bases.read_bases_file(SAMPLE_BASES))
    return engine


def test_yanji_policy_sets_the_term_check_ins_graduation_and_one_extension() -> None:
    policy, _ = policy_in_force(PROJECT_ROOT / "policies", ["YJ-JG", "YJ"], date(2026, 12, 1))
    rules = policy.incubation
    assert rules is not None
    assert (rules.min_term_months, rules.max_term_months) == (6, 12)
    assert rules.extensions_allowed == 1 and rules.max_extension_months == 6
    assert "已完成备案或登记" in [c.label for c in rules.graduation_criteria]


def test_the_sample_bases_are_a_headquarters_and_its_branches_run_by_hubs_in_the_register(read_model: Engine) -> None:
    found = bases.bases_in(read_model, "YJ")
    assert [b.code for b in found] == ["YJ-FH", "YJ-HN-FH", "YJ-JG-FH"], "headquarters first"
    headquarters = found[0]
    assert headquarters.name == "延吉市社会组织孵化及创新服务基地" and headquarters.kind.label == "孵化基地总部"
    assert [s.label for s in headquarters.services] == ["办公场地", "能力培训", "导师辅导", "财务代理", "备案登记指导"]
    assert {m.name for m in headquarters.mentors} == {"崔明哲", "韩雪梅"}
    assert bases.bases_in(read_model, "XQ") == []


def test_a_base_whose_operator_is_not_in_the_register_is_refused(read_model: Engine, tmp_path: Path) -> None:
    text = SAMPLE_BASES.read_text(encoding="utf-8").replace("operator: YJ-REG-0003", "operator: YJ-REG-9999")
    (tmp_path / "bases.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="YJ-REG-9999 不在社会组织名录中"):
        bases.load_bases(read_model, bases.read_bases_file(tmp_path / "bases.yaml"))
    with pytest.raises(ValidationError, match="A岗 and B岗"):
        bases.BasesFile.model_validate(
            {"bases": [{**_base_entry(), "staff_b": {"user_id": "fh-piao", "name": "朴美玲"}}]}
        )


def _base_entry() -> dict[str, object]:
    return {
        "code": "YJ-X-FH",
        "name": "示例分基地",
        "kind": "branch",
        "jurisdiction": "YJ-JG",
        "operator": "YJ-REG-0001",
        "address": "示例地址",
        "capacity": 1,
        "services": ["space"],
        "staff_a": {"user_id": "fh-piao", "name": "朴美玲"},
        "staff_b": {"user_id": "fh-jin", "name": "金永浩"},
        "mentors": [{"user_id": "ds-cui", "name": "崔明哲"}],
    }


def test_a_full_base_keeps_a_first_come_waiting_list_and_a_freed_place_goes_to_its_head(read_model: Engine) -> None:
    """建工 branch has two places: the third and fourth groups wait, in the order they were admitted."""
    assert bases.claim_place(read_model, "YJ-JG-FH", "FH-1", NOW) is None
    assert bases.claim_place(read_model, "YJ-JG-FH", "FH-2", NOW) is None
    assert bases.claim_place(read_model, "YJ-JG-FH", "FH-3", NOW + timedelta(minutes=1)) == 1
    assert bases.claim_place(read_model, "YJ-JG-FH", "FH-4", NOW + timedelta(minutes=2)) == 2
    assert bases.claim_place(read_model, "YJ-JG-FH", "FH-3", NOW) == 1, "asking again changes nothing"
    assert bases.places_taken(read_model, "YJ-JG-FH") == 2

    assert bases.release_place(read_model, "YJ-JG-FH", "FH-1", NOW + timedelta(days=30)) == "FH-3", (
        "FH-1 exits: the head moves in"
    )
    assert bases.claim_place(read_model, "YJ-JG-FH", "FH-3", NOW) is None, "FH-3 now holds a place"
    assert bases.claim_place(read_model, "YJ-JG-FH", "FH-4", NOW) == 1, "FH-4 moved up"
    assert bases.claim_place(read_model, "YJ-JG-FH", "FH-5", NOW) == 2, (
        "a newcomer queues behind, even for a freed place"
    )
    assert bases.release_place(read_model, "YJ-JG-FH", "FH-4", NOW) is None, "leaving the list frees no place"
    assert bases.claim_place(read_model, "YJ-JG-FH", "FH-5", NOW) == 1
    assert bases.places_taken(read_model, "YJ-JG-FH") == 2


def test_many_admissions_at_once_never_overfill_a_base(read_model: Engine) -> None:
    """Twelve admissions to the three places of 河南 branch at the same moment: three places, nine waiting 1…9."""
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda n: bases.claim_place(read_model, "YJ-HN-FH", f"FH-{n}", NOW), range(12)))
    assert results.count(None) == 3
    assert sorted(r for r in results if r is not None) == list(range(1, 10))
    assert bases.places_taken(read_model, "YJ-HN-FH") == 3


# --- the incubation workflow on a time-skipping Temporal server ----------------------------------------------

PIAO = Actor(user_id="fh-piao", name="朴美玲", role=Role.incubator, jurisdiction="YJ-JG")
MENTOR = Actor(user_id="ds-cui", name="崔明哲", role=Role.mentor, jurisdiction="YJ-JG")
CHEN = Actor(user_id="mz-chen", name="陈洁", role=Role.civil_affairs, jurisdiction="YJ")
"""延吉市民政局's A岗, who reviews every 出壳评估 of the city's bases."""
HN = Actor(user_id="fh-cui", name="崔英姬", role=Role.incubator, jurisdiction="YJ-HN")
CRITERIA = ["filed_or_registered", "governance", "finance", "services"]


@pytest.fixture(scope="module")
def with_bases(skipping: Skipping) -> Skipping:
    bases.load_bases(skipping.engine, bases.read_bases_file(SAMPLE_BASES))
    return skipping


async def apply(
    skipping: Skipping, group: str, base_code: str = "YJ-JG-FH", term_months: int = 6, task_queue: str | None = None
) -> tuple[str, Actor]:
    case_no = f"FH-{uuid.uuid4().hex[:8]}"
    representative = Actor(user_id=f"rep-{case_no}", name="张秀兰", role=Role.applicant)
    application = IncubationApplication(
        base_code=base_code,
        group_name=group,
        plan="开展老年人读书会和邻里互助活动，学习备案和财务管理",
        term_months=term_months,
    )
    await skipping.env.client.start_workflow(
        IncubationWorkflow.run,
        IncubationRequest(case_no=case_no, application=application, representative=representative),
        id=case_no,
        task_queue=task_queue or skipping.settings.task_queue,
    )
    return case_no, representative


def pending(state: IncubationState, step: str) -> bool:
    return any(t.step == step and t.status is TaskStatus.open for t in state.tasks)


async def admit(skipping: Skipping, case_no: str, actor: Actor = PIAO, **choice: object) -> IncubationState:
    await until_incubation(skipping.env.client, case_no, lambda s: pending(s, "admission"))
    handle = skipping.env.client.get_workflow_handle(case_no)
    decision = IncubationDecision.model_validate({"admit": True, "actor": actor, **choice})
    await handle.execute_update(IncubationWorkflow.decide_admission, decision)
    return await until_incubation(skipping.env.client, case_no, lambda s: s.phase is not IncubationPhase.applied)


async def assessed(skipping: Skipping, case_no: str, assessment: IncubationAssessment, review: AssessmentReview) -> None:
    """The base's 出壳评估, then civil affairs' review of it once its task is open."""
    client = skipping.env.client
    await client.get_workflow_handle(case_no).execute_update(IncubationWorkflow.assess, assessment)
    await until_incubation(client, case_no, lambda s: pending(s, "assessment_review"))
    await client.get_workflow_handle(case_no).execute_update(IncubationWorkflow.review_assessment, review)


def document(skipping: Skipping, state: IncubationState, kind: DocumentKind) -> tuple[DocumentRef, str]:
    [found] = [d for d in state.documents if d.kind is kind]
    return found, document_text(skipping, found)


async def refused(call: Awaitable[object], message: str) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await call
    assert message in str(failure.value.cause)


async def test_a_full_base_lists_the_next_group_and_gives_it_the_place_an_exit_frees(with_bases: Skipping) -> None:
    client = with_bases.env.client
    first, first_rep = await apply(with_bases, "春光读书会")
    second, _ = await apply(with_bases, "民安邻里互助队")
    third, _ = await apply(with_bases, "建工太极拳队")
    assert (await admit(with_bases, first)).phase is IncubationPhase.incubating
    assert (await admit(with_bases, second)).phase is IncubationPhase.incubating
    waiting = await admit(with_bases, third)
    assert waiting.phase is IncubationPhase.waiting and waiting.waiting_position == 1
    assert "列入候补名单第1位" in waiting.timeline[-1].summary
    assert not waiting.documents, "no agreement before the group has a place"
    [told] = await notified(with_bases, third, "incubation_waitlisted", 1)
    assert "候补名单第1位" in told.subject and "有席位空出时依次递补" in told.body
    assert bases.places_taken(with_bases.engine, "YJ-JG-FH") == 2

    stranger = Actor(user_id="someone", name="路人", role=Role.applicant)
    leave = client.get_workflow_handle(first).execute_update
    await refused(
        leave(IncubationWorkflow.leave, IncubationExit(reasons=["不想参加了"], actor=stranger)), "没有找到这个孵化案件"
    )
    await leave(IncubationWorkflow.leave, IncubationExit(reasons=["成员外出务工，活动暂停"], actor=first_rep))
    gone = await until_incubation(client, first, lambda s: s.phase is IncubationPhase.exited)
    assert "由" + third + "递补" in gone.timeline[-1].summary
    moved_in = await until_incubation(client, third, lambda s: s.phase is IncubationPhase.incubating and s.documents)
    assert moved_in.mentor is not None and moved_in.mentor.name == "崔明哲"
    _, agreement = document(with_bases, moved_in, DocumentKind.incubation_agreement)
    assert "建工太极拳队" in agreement and "孵化期限" in agreement, "the agreement comes when the place does"
    [granted] = await notified(with_bases, third, "incubation_place_granted", 1)
    assert "已按候补顺序递补入驻" in granted.body and "（含当日）" in granted.body
    [left] = await notified(with_bases, first, "incubation_ended", 1)
    assert "成员外出务工，活动暂停" in left.body
    assert bases.places_taken(with_bases.engine, "YJ-JG-FH") == 2
    assert await client.get_workflow_handle(first).result() == "exited", "an ended incubation's case is closed"
    await keep_golden(client, first, "incubation_exited_place_passed_on")


async def test_a_refusal_needs_reasons_and_a_refused_group_holds_no_place(with_bases: Skipping) -> None:
    client = with_bases.env.client
    case_no, _ = await apply(with_bases, "河南街道手工坊", base_code="YJ-HN-FH")
    hn = Actor(user_id="fh-cui", name="崔英姬", role=Role.incubator, jurisdiction="YJ-HN")
    await until_incubation(client, case_no, lambda s: pending(s, "admission"))
    decide = client.get_workflow_handle(case_no).execute_update
    before = await accepted_updates(client, case_no)
    await refused(decide(IncubationWorkflow.decide_admission, IncubationDecision(admit=False, actor=hn)), "须写明理由")
    await refused(decide(IncubationWorkflow.decide_admission, IncubationDecision(admit=True, actor=PIAO)), "没有找到")
    assert await accepted_updates(client, case_no) == before, "a refused action leaves no trace"
    await decide(
        IncubationWorkflow.decide_admission,
        IncubationDecision(admit=False, reasons=["服务内容与本基地方向不符"], actor=hn),
    )
    done = await until_incubation(client, case_no, lambda s: s.phase is IncubationPhase.refused)
    assert done.reasons == ["服务内容与本基地方向不符"]
    assert bases.places_taken(with_bases.engine, "YJ-HN-FH") == 0
    _, letter = document(with_bases, done, DocumentKind.admission_refusal)
    assert "河南街道手工坊：" in letter and "决定不予入孵" in letter and "1.服务内容与本基地方向不符" in letter
    assert "延吉市阳光助残服务中心" in letter, "signed by the base's operator, from the register"
    [told] = await notified(with_bases, case_no, "incubation_refused", 1)
    assert "理由：服务内容与本基地方向不符" in told.body


async def test_a_late_mentor_report_is_flagged_goes_to_the_b_post_and_then_to_civil_affairs(with_bases: Skipping) -> None:
    """The mentor is reminded before the report is due; at the due date it is flagged late and handed to the base's
    B岗; still missing five working days later, 延吉市民政局's A岗 is told."""
    client = with_bases.env.client
    case_no, rep = await apply(with_bases, "河南街道助残志愿队", base_code="YJ-HN-FH")
    await admit(with_bases, case_no, actor=HN)
    handle = client.get_workflow_handle(case_no)
    await until_incubation(client, case_no, lambda s: pending(s, "check_in"))
    for _ in range(12):
        state = await until_incubation(client, case_no, lambda s: True)
        if any(e.action == "report_escalated" for e in state.timeline):
            break
        await with_bases.sleep(timedelta(days=7))
    else:
        raise AssertionError("the late report never reached civil affairs")
    actions = [e.action for e in state.timeline]
    assert actions.index("task_reminded") < actions.index("report_flagged_late") < actions.index("report_escalated")
    task = next(t for t in state.tasks if t.step == "check_in")
    assert task.holder.name == "朴志勇", "handed to the base's B post"
    assert state.late_reports == 1, "flagged late once, when it was due"
    escalated = next(e for e in state.timeline if e.action == "report_escalated")
    assert "报民政局" in escalated.summary and "延吉市民政局A岗陈洁" in escalated.summary

    [due] = await notified(with_bases, case_no, "incubation_report_due", 1)
    assert due.recipient_id == "ds-li" and "（含当日）前提交" in due.body
    [late] = await notified(with_bases, case_no, "incubation_report_late", 1)
    assert late.recipient_id == "ds-li" and "已记为逾期" in late.body and "将报延吉市民政局" in late.body
    [told] = await notified(with_bases, case_no, "incubation_report_escalated", 1)
    assert told.recipient_id == "mz-chen" and "河南街道助残志愿队" in told.subject and "逾期5个工作日" in told.body

    mentor = Actor(user_id="ds-li", name="李文静", role=Role.mentor, jurisdiction="YJ-HN")
    await handle.execute_update(
        IncubationWorkflow.report_check_in, CheckInReport(summary="本月开展助残探访四次，服务二十人次", actor=mentor)
    )
    late_in = await until_incubation(client, case_no, lambda s: any(e.action == "report_late" for e in s.timeline))
    assert late_in.late_reports == 1 and any("逾期提交" in e.summary for e in late_in.timeline)
    await handle.execute_update(IncubationWorkflow.leave, IncubationExit(reasons=["测试结束"], actor=rep))


async def test_the_base_chooses_a_mentor_and_services_of_its_own_and_the_agreement_states_them(
    with_bases: Skipping,
) -> None:
    client = with_bases.env.client
    case_no, rep = await apply(with_bases, "幸福社区手语角", base_code="YJ-HN-FH", term_months=8)
    await until_incubation(client, case_no, lambda s: pending(s, "admission"))
    decide = client.get_workflow_handle(case_no).execute_update
    before = await accepted_updates(client, case_no)
    stranger = IncubationDecision(admit=True, mentor_id="ds-han", actor=HN)
    await refused(decide(IncubationWorkflow.decide_admission, stranger), "所选导师不是河南街道社会组织孵化分基地的导师")
    not_offered = IncubationDecision(admit=True, services=[Service.space, Service.finance], actor=HN)
    await refused(decide(IncubationWorkflow.decide_admission, not_offered), "不提供财务代理，请从本基地的服务中选择")
    assert await accepted_updates(client, case_no) == before, "a refused choice leaves no trace"

    state = await admit(
        with_bases, case_no, actor=HN, mentor_id="ds-li", services=[Service.mentoring, Service.space],
        service_plan="每月两次手语培训，协助制定章程",
    )  # fmt: skip
    state = await until_incubation(client, case_no, lambda s: bool(s.documents))
    assert state.mentor is not None and state.mentor.user_id == "ds-li"
    assert state.services == [Service.space, Service.mentoring], "in the base's order"
    assert state.service_plan == "每月两次手语培训，协助制定章程"
    ref, text = document(with_bases, state, DocumentKind.incubation_agreement)
    assert ref.issuance is None, "the operator's agreement: no 发文字号 nor office contacts of the bureau"
    for fact in (
        "入孵协议", f"协议编号：{case_no}-01", "甲方（基地）河南街道社会组织孵化分基地", "运营单位：延吉市阳光助残服务中心",
        "乙方（入孵组织）幸福社区手语角", "代表人：张秀兰", "甲方向乙方提供：办公场地、导师辅导", "每月两次手语培训，协助制定章程",
        "指定李文静为乙方的孵化导师", "每22个工作日报告一次", "逾期5个工作日仍未报告的，报延吉市民政局",
        "1.已完成备案或登记", "延期不超过6个月", "退出孵化", "甲方：延吉市阳光助残服务中心", "代表人（签字）：张秀兰",
    ):
        assert fact in text, fact
    assert "民政局（盖章）" not in text and "延吉市民政局" not in text.split("甲方：")[1], "no government seal"
    assert state.admitted_at is not None
    assert f"自{state.admitted_at.astimezone(SHANGHAI).year}年" in text
    [admitted] = await notified(with_bases, case_no, "incubation_admitted", 1)
    assert "导师：李文静；服务内容：办公场地、导师辅导" in admitted.body and "（含当日）" in admitted.body
    [assigned] = await notified(with_bases, case_no, "incubation_mentor_assigned", 1)
    assert assigned.recipient_id == "ds-li" and "幸福社区手语角" in assigned.subject
    applied = await notified(with_bases, case_no, "incubation_applied", 2)
    assert {n.recipient_id for n in applied} == {"fh-cui", "fh-park"}, "the base's staff hear of the application"
    await client.get_workflow_handle(case_no).execute_update(
        IncubationWorkflow.leave, IncubationExit(reasons=["测试结束"], actor=rep)
    )


async def report_until_assessment(skipping: Skipping, case_no: str, summary: str) -> int:
    """The mentor reports as soon as each report is asked for, moving the clock a week at a time in between,
    until the term ends and the assessment opens; returns how many reports that took."""
    client, reports = skipping.env.client, 0
    for _ in range(60):
        state = await until_incubation(client, case_no, lambda s: s.settled_revision == s.revision)
        if pending(state, "assessment"):
            return reports
        if pending(state, "check_in"):
            report = CheckInReport(summary=summary, actor=MENTOR)
            await client.get_workflow_handle(case_no).execute_update(IncubationWorkflow.report_check_in, report)
            reports += 1
        else:
            await skipping.sleep(timedelta(days=7))
    raise AssertionError("the assessment never opened")


async def test_extended_once_then_graduated_after_civil_affairs_sent_the_assessment_back(with_bases: Skipping) -> None:
    """出壳评估 by the base, reviewed by 延吉市民政局: an extension agreed, a graduation sent back once with reasons
    that reach the base's new task, then agreed; the 出壳证书 is issued by both."""
    client = with_bases.env.client
    case_no, rep = await apply(with_bases, "延吉市社区书法协会筹备组", base_code="YJ-FH")
    handle = client.get_workflow_handle(case_no)
    assess = handle.execute_update
    await admit(with_bases, case_no)
    assert await report_until_assessment(with_bases, case_no, "本月开展书法公益课两次，完成章程草稿") >= 5, "six months"
    unmet = IncubationAssessment(outcome=AssessmentOutcome.graduate, criteria_met=CRITERIA[1:], actor=PIAO)
    await refused(assess(IncubationWorkflow.assess, unmet), "尚未达到出壳标准：已完成备案或登记")
    too_long = IncubationAssessment(
        outcome=AssessmentOutcome.extend, reasons=["备案材料尚在准备"], extension_months=9, actor=PIAO
    )
    await refused(assess(IncubationWorkflow.assess, too_long), "延期月数须在1至6个月之间")
    extend = IncubationAssessment(
        outcome=AssessmentOutcome.extend, reasons=["备案材料尚在准备"], extension_months=3, actor=PIAO
    )
    await assess(IncubationWorkflow.assess, extend)
    reviewing = await until_incubation(client, case_no, lambda s: pending(s, "assessment_review"))
    assert reviewing.phase is IncubationPhase.assessing and reviewing.extensions == 0, "nothing applies before the review"
    assert reviewing.assessment == extend
    review = next(t for t in reviewing.tasks if t.step == "assessment_review")
    assert (review.a.user_id, review.b.user_id, review.office.name) == ("mz-chen", "mz-lin", "延吉市民政局")
    inbox = with_bases.service.inbox(with_bases.service.actor("mz-chen"), scope="mine")
    assert any(t.case_no == case_no and t.step == "assessment_review" for t in inbox.items), "in civil affairs' 待办"
    await refused(
        assess(IncubationWorkflow.review_assessment, AssessmentReview(agree=True, actor=PIAO)), "没有找到这个孵化案件"
    )
    await assess(IncubationWorkflow.review_assessment, AssessmentReview(agree=True, actor=CHEN))
    extended = await until_incubation(client, case_no, lambda s: s.extensions == 1)
    assert extended.phase is IncubationPhase.incubating
    assert any("经延吉市民政局审核同意，延期出壳3个月" in e.summary for e in extended.timeline)
    assert await report_until_assessment(with_bases, case_no, "已提交备案申请，继续开展活动") >= 2
    await refused(assess(IncubationWorkflow.assess, extend), "按规定只能延期1次")

    graduate = IncubationAssessment(outcome=AssessmentOutcome.graduate, criteria_met=CRITERIA, actor=PIAO)
    await assess(IncubationWorkflow.assess, graduate)
    await until_incubation(client, case_no, lambda s: pending(s, "assessment_review"))
    before = await accepted_updates(client, case_no)
    await refused(
        assess(IncubationWorkflow.review_assessment, AssessmentReview(agree=False, actor=CHEN)), "不同意须写明理由"
    )
    assert await accepted_updates(client, case_no) == before
    back = AssessmentReview(agree=False, reasons=["财务代理协议未见原件，请核实后重新评估"], actor=CHEN)
    await assess(IncubationWorkflow.review_assessment, back)
    again = await until_incubation(client, case_no, lambda s: pending(s, "assessment"))
    assert again.phase is IncubationPhase.assessing
    returned = next(e for e in again.timeline if e.action == "assessment_returned")
    assert "延吉市民政局不同意基地的出壳评估意见（准予出壳）" in returned.summary
    assert "财务代理协议未见原件，请核实后重新评估" in returned.summary
    task = next(t for t in again.tasks if t.step == "assessment" and t.status is TaskStatus.open)
    assert "民政局退回重新评估：财务代理协议未见原件，请核实后重新评估" in task.title, "the reasons reach the base's task"
    told = await notified(with_bases, case_no, "incubation_assessment_returned", 2)
    assert {n.recipient_id for n in told} == {"fh-piao", "fh-jin"} and "财务代理协议未见原件" in told[0].body
    await assessed(with_bases, case_no, graduate, AssessmentReview(agree=True, actor=CHEN))
    graduated = await until_incubation(client, case_no, lambda s: s.phase is IncubationPhase.graduated)
    assert graduated.late_reports == 0 and graduated.ended_at is not None and graduated.assessment == graduate
    with Session(with_bases.engine) as session:
        record = session.get(IncubationRecord, case_no)
        rows = session.exec(select(TaskRecord).where(TaskRecord.case_no == case_no)).all()
    assert record is not None and record.outcome == "graduated" and record.phase == "graduated"
    holders = {(r.step, r.a_user_id, r.b_user_id) for r in rows}
    assert {("admission", "fh-piao", "fh-jin"), ("check_in", "ds-cui", "fh-jin"), ("assessment", "fh-piao", "fh-jin"),
            ("assessment_review", "mz-chen", "mz-lin")} <= holders, "every task is in the 待办 table"  # fmt: skip

    ref, text = document(with_bases, graduated, DocumentKind.graduation_certificate)
    assert ref.issuance is not None and ref.issuance.verification_code, "checkable like other certificates"
    assert ref.issuance.document_number and ref.issuance.document_number.startswith("延民孵证〔")
    for fact in (
        "延吉市社会组织孵化及创新服务基地", "出壳证书", "“延吉市社区书法协会筹备组”", "经基地出壳评估、延吉市民政局审核，达到出壳标准，准予出壳",
        "运营单位：延吉市春晖社会工作服务中心", "其间延期出壳一次", "已完成备案或登记；有章程并按章程开展活动", "电子证照验证码",
    ):
        assert fact in text, fact
    assert text.count("（盖章）") == 2, "the base and the district 民政局 both seal it"
    agreement, _ = document(with_bases, graduated, DocumentKind.incubation_agreement)
    assert misplaced_seals(with_bases.settings.documents_dir, {"出壳证书": ref, "入孵协议": agreement}) == {}
    outcomes = {n.subject.split("：")[-1]: n for n in await notified(with_bases, case_no, "incubation_assessed", 2)}
    assert set(outcomes) == {"延期出壳", "准予出壳"} and outcomes["准予出壳"].recipient_id == rep.user_id
    assert "已经民政局审核同意" in outcomes["准予出壳"].body and "出壳证书可在案件详情中下载" in outcomes["准予出壳"].body
    assert "孵化期延至" in outcomes["延期出壳"].body
    await keep_golden(client, case_no, "incubation_extended_graduated")


async def test_a_long_term_continues_as_new_between_reports_and_still_graduates(with_bases: Skipping) -> None:
    """A worker whose cases continue beyond 150 events: a six-month term of reports spans several runs, each
    carrying the whole state, and the assessment and its review still follow."""
    own = with_bases.settings.model_copy(update={"task_queue": f"shezu-incubation-{uuid.uuid4().hex[:8]}", "history_limit": 150})
    client = with_bases.env.client
    async with Worker(
        client, task_queue=own.task_queue, workflows=WORKFLOWS, activities=activities(own, with_bases.engine, client),
        activity_executor=ThreadPoolExecutor(max_workers=4),
    ):
        case_no, _ = await apply(with_bases, "春光社区舞蹈队", base_code="YJ-FH", task_queue=own.task_queue)
        await admit(with_bases, case_no)
        first_run = (await client.get_workflow_handle(case_no).describe()).run_id
        reports = await report_until_assessment(with_bases, case_no, "本月排练四次，参加社区演出一次")
        state = await until_incubation(client, case_no, lambda s: True)
        assert state.runs >= 2 and any(e.action == "continued" for e in state.timeline)
        assert state.reports == reports and sum(t.step == "check_in" for t in state.tasks) == reports, "nothing lost"
        assert (await client.get_workflow_handle(case_no).describe()).run_id != first_run, "a new run holds it now"
        graduate = IncubationAssessment(outcome=AssessmentOutcome.graduate, criteria_met=CRITERIA, actor=PIAO)
        await assessed(with_bases, case_no, graduate, AssessmentReview(agree=True, actor=CHEN))
        done = await until_incubation(client, case_no, lambda s: s.phase is IncubationPhase.graduated)
        assert [d.kind for d in done.documents] == [DocumentKind.incubation_agreement, DocumentKind.graduation_certificate]


async def file_from_incubation(skipping: Skipping, group: str) -> tuple[str, str, Actor]:
    """An admitted group files (备案) from inside its incubation; returns both case numbers and its representative."""
    case_no, representative = await apply(skipping, group, base_code="YJ-FH")
    await admit(skipping, case_no)
    filing_no = f"YJ-JG-BA-2026-{uuid.uuid4().int % 10**8:08d}"
    application = factories.filing(organization_name=group, applicant_name=representative.name)
    start = FilingStart(case_no=filing_no, application=application, actor=representative)
    handle = skipping.env.client.get_workflow_handle(case_no)
    await handle.execute_update(IncubationWorkflow.start_filing, start)
    await refused(handle.execute_update(IncubationWorkflow.start_filing, start), "已有办理中的申请")
    await until_state(skipping.env.client, filing_no, lambda s: s.phase is Phase.preliminary_review)
    return case_no, filing_no, representative


async def test_a_filing_started_in_incubation_is_approved_and_becomes_its_milestone(with_bases: Skipping) -> None:
    service, client = with_bases.service, with_bases.env.client
    case_no, filing_no, representative = await file_from_incubation(with_bases, "春光社区银发合唱团")
    filing = service.case(representative, filing_no)
    assert filing.phase is Phase.preliminary_review, "the filing runs its own procedure, seen by the group"
    decide = service.decide
    await decide(service.actor("cg-zhao"), filing_no, views.DecisionInput(step="preliminary_review", outcome="approve"))
    await decide(service.actor("jg-zhou"), filing_no, views.DecisionInput(step="authority_review", outcome="approve"))
    await with_bases.sleep(timedelta(days=9))
    await until_state(client, filing_no, lambda s: s.phase is Phase.decision)
    await decide(service.actor("jg-zhou"), filing_no, views.DecisionInput(step="decision", outcome="approve"))
    reached = await until_incubation(client, case_no, lambda s: s.organization is not None)
    assert reached.organization == filing_no and reached.filings[0].outcome == "approved"
    assert any(e.action == "milestone_reached" and filing_no in e.summary for e in reached.timeline)
    [told] = await notified(with_bases, case_no, "incubation_milestone", 1)
    assert told.recipient_id == representative.user_id and f"已获准予（{filing_no}）" in told.body
    with Session(with_bases.engine) as session:
        record = session.get(IncubationRecord, case_no)
        organization = session.get(OrganizationRecord, filing_no)
    assert record is not None and record.filing_case_no == filing_no and record.organization == filing_no
    assert organization is not None and organization.name == "春光社区银发合唱团", "the register has it"
    [remembered] = register.incubation_history(with_bases.engine, filing_no)
    assert (remembered.case_no, remembered.base_name) == (case_no, "延吉市社会组织孵化及创新服务基地")
    assert remembered.label == "孵化中" and remembered.filing_case_no == filing_no, "the register entry remembers the stay"
    history = await client.get_workflow_handle(filing_no).describe()
    assert history.parent_id == case_no, "the filing knows the incubation it was started from"
    await keep_golden(client, case_no, "incubation_filing_approved")


async def test_a_refused_filing_is_recorded_and_the_group_may_file_again(with_bases: Skipping) -> None:
    service, client = with_bases.service, with_bases.env.client
    case_no, filing_no, representative = await file_from_incubation(with_bases, "民安社区象棋队")
    await service.decide(
        service.actor("cg-zhao"), filing_no, views.DecisionInput(step="preliminary_review", outcome="approve")
    )
    refusal = views.DecisionInput(step="authority_review", outcome="refuse", reasons=["活动场所与本社区无关"])
    await service.decide(service.actor("jg-zhou"), filing_no, refusal)
    missed = await until_incubation(client, case_no, lambda s: s.filings[0].outcome is not None)
    assert missed.filings[0].outcome == "refused" and missed.organization is None
    [told] = await notified(with_bases, case_no, "incubation_milestone", 1)
    assert "未获准予：活动场所与本社区无关" in told.body
    assert any(
        "未获准予：活动场所与本社区无关" in e.summary and "可在孵化期内再次申请" in e.summary for e in missed.timeline
    )
    again = FilingStart(
        case_no=f"YJ-JG-BA-2026-{uuid.uuid4().int % 10**8:08d}",
        application=factories.filing(organization_name="民安社区象棋队", applicant_name=representative.name),
        actor=representative,
    )
    await client.get_workflow_handle(case_no).execute_update(IncubationWorkflow.start_filing, again)
    assert len((await until_incubation(client, case_no, lambda s: len(s.filings) == 2)).filings) == 2


async def test_the_cli_loads_the_bases_and_lists_their_free_places(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHEZU_DATABASE_URL": f"sqlite:///{tmp_path / 'readmodel.db'}",
        "SHEZU_DATA_DIR": str(tmp_path),
        "SHEZU_BASES_FILE": "",
    }
    for command in (
        ["migrate"],
        ["directory", "load", str(SAMPLE_DIRECTORY)],
        ["register", "import", str(SAMPLE_REGISTER)],
    ):
        code, out, err = await shezu(env, *command)
        assert code == 0, (command, out, err)
    code, out, _ = await shezu(env, "incubation", "bases")
    assert "请先用 shezu incubation load-bases 导入" in out
    code, out, err = await shezu(env, "incubation", "load-bases", str(SAMPLE_BASES))
    assert code == 0 and "已导入 3 个孵化基地" in out, err
    code, out, _ = await shezu(env, "incubation", "bases", "--jurisdiction", "YJ")
    assert out.splitlines()[0].startswith("YJ-FH  延吉市社会组织孵化及创新服务基地（孵化基地总部）  空余席位 8/8")
    assert "服务：办公场地、导师辅导、备案登记指导" in out


async def test_a_group_that_leaves_while_its_filing_runs_is_told_at_once_and_the_filing_still_comes_back(
    with_bases: Skipping,
) -> None:
    """Leaving must not wait on the filing (it may take weeks): the exit is answered and shown at once, the place
    goes back, and the filing's outcome is still recorded on the ended incubation."""
    service, client = with_bases.service, with_bases.env.client
    case_no, filing_no, representative = await file_from_incubation(with_bases, "春光社区剪纸小组")
    leaving = IncubationExit(reasons=["团队成员外出务工，暂停活动"], actor=representative)
    await asyncio.wait_for(client.get_workflow_handle(case_no).execute_update(IncubationWorkflow.leave, leaving), 30)
    with Session(with_bases.engine) as session:
        record = session.get(IncubationRecord, case_no)
        assert record is not None and record.phase == "exited", "the read model shows the exit before the filing ends"
    await service.decide(
        service.actor("cg-zhao"), filing_no, views.DecisionInput(step="preliminary_review", outcome="approve")
    )
    refusal = views.DecisionInput(step="authority_review", outcome="refuse", reasons=["活动场所与本社区无关"])
    await service.decide(service.actor("jg-zhou"), filing_no, refusal)
    ended = await until_incubation(client, case_no, lambda s: s.filings[0].outcome is not None)
    assert ended.phase is IncubationPhase.exited and ended.filings[0].outcome == "refused"
    assert await client.get_workflow_handle(case_no).result() == "exited"
