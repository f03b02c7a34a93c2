"""孵化: the bases as data, and places and waiting lists that two admissions at once cannot overfill."""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError

from rules.policy_files import policy_in_force
from schemas.case import Phase, TaskStatus
from schemas.incubation_case import (
    AssessmentOutcome,
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
from schemas.people import Actor, Role
from service import views
from store import bases
from store.directory import load_directory, read_directory_file
from store.models import IncubationRecord, OrganizationRecord
from store.register import load_register, read_register_file
from tests import factories
from tests.conftest import PROJECT_ROOT, SAMPLE_DIRECTORY, SAMPLE_REGISTER, Skipping, migrated_engine
from tests.helpers import accepted_updates, keep_golden, shezu, until_incubation, until_state
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
CRITERIA = ["filed_or_registered", "governance", "finance", "services"]


@pytest.fixture(scope="module")
def with_bases(skipping: Skipping) -> Skipping:
    bases.load_bases(skipping.engine, bases.read_bases_file(SAMPLE_BASES))
    return skipping


async def apply(skipping: Skipping, group: str, base_code: str = "YJ-JG-FH", term_months: int = 6) -> tuple[str, Actor]:
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
        task_queue=skipping.settings.task_queue,
    )
    return case_no, representative


def pending(state: IncubationState, step: str) -> bool:
    return any(t.step == step and t.status is TaskStatus.open for t in state.tasks)


async def admit(skipping: Skipping, case_no: str) -> IncubationState:
    await until_incubation(skipping.env.client, case_no, lambda s: pending(s, "admission"))
    handle = skipping.env.client.get_workflow_handle(case_no)
    await handle.execute_update(IncubationWorkflow.decide_admission, IncubationDecision(admit=True, actor=PIAO))
    return await until_incubation(skipping.env.client, case_no, lambda s: s.phase is not IncubationPhase.applied)


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
    assert bases.places_taken(with_bases.engine, "YJ-JG-FH") == 2

    stranger = Actor(user_id="someone", name="路人", role=Role.applicant)
    leave = client.get_workflow_handle(first).execute_update
    await refused(
        leave(IncubationWorkflow.leave, IncubationExit(reasons=["不想参加了"], actor=stranger)), "没有找到这个孵化案件"
    )
    await leave(IncubationWorkflow.leave, IncubationExit(reasons=["成员外出务工，活动暂停"], actor=first_rep))
    gone = await until_incubation(client, first, lambda s: s.phase is IncubationPhase.exited)
    assert "由" + third + "递补" in gone.timeline[-1].summary
    moved_in = await until_incubation(client, third, lambda s: s.phase is IncubationPhase.incubating)
    assert moved_in.mentor is not None and moved_in.mentor.name == "崔明哲"
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


async def test_a_late_mentor_report_goes_to_the_bases_b_post_and_is_flagged(with_bases: Skipping) -> None:
    client = with_bases.env.client
    case_no, rep = await apply(with_bases, "河南街道助残志愿队", base_code="YJ-HN-FH")
    hn = Actor(user_id="fh-cui", name="崔英姬", role=Role.incubator, jurisdiction="YJ-HN")
    await until_incubation(client, case_no, lambda s: pending(s, "admission"))
    handle = client.get_workflow_handle(case_no)
    await handle.execute_update(IncubationWorkflow.decide_admission, IncubationDecision(admit=True, actor=hn))
    await until_incubation(client, case_no, lambda s: pending(s, "check_in"))
    await with_bases.sleep(timedelta(days=40))
    escalated = await until_incubation(
        client, case_no, lambda s: any(t.escalated_at for t in s.tasks if t.step == "check_in")
    )
    task = next(t for t in escalated.tasks if t.step == "check_in")
    assert task.holder.name == "朴志勇", "handed to the base's B post"
    assert any(e.action == "task_reminded" for e in escalated.timeline), "the mentor was reminded before"
    mentor = Actor(user_id="ds-li", name="李文静", role=Role.mentor, jurisdiction="YJ-HN")
    await handle.execute_update(
        IncubationWorkflow.report_check_in, CheckInReport(summary="本月开展助残探访四次，服务二十人次", actor=mentor)
    )
    late = await until_incubation(client, case_no, lambda s: s.late_reports == 1)
    assert any("逾期提交" in e.summary for e in late.timeline)
    await handle.execute_update(IncubationWorkflow.leave, IncubationExit(reasons=["测试结束"], actor=rep))


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


async def test_extended_once_then_graduated_and_a_second_extension_is_refused(with_bases: Skipping) -> None:
    client = with_bases.env.client
    case_no, _ = await apply(with_bases, "延吉市社区书法协会筹备组", base_code="YJ-FH")
    assess = client.get_workflow_handle(case_no).execute_update
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
    extended = await until_incubation(client, case_no, lambda s: s.extensions == 1)
    assert extended.phase is IncubationPhase.incubating
    assert any("延期出壳3个月" in e.summary for e in extended.timeline)
    assert await report_until_assessment(with_bases, case_no, "已提交备案申请，继续开展活动") >= 2
    await refused(assess(IncubationWorkflow.assess, extend), "按规定只能延期1次")
    await assess(
        IncubationWorkflow.assess,
        IncubationAssessment(outcome=AssessmentOutcome.graduate, criteria_met=CRITERIA, actor=PIAO),
    )
    graduated = await until_incubation(client, case_no, lambda s: s.phase is IncubationPhase.graduated)
    assert graduated.late_reports == 0 and graduated.ended_at is not None
    with Session(with_bases.engine) as session:
        record = session.get(IncubationRecord, case_no)
    assert record is not None and record.outcome == "graduated" and record.phase == "graduated"
    await keep_golden(client, case_no, "incubation_extended_graduated")


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
    with Session(with_bases.engine) as session:
        record = session.get(IncubationRecord, case_no)
        organization = session.get(OrganizationRecord, filing_no)
    assert record is not None and record.filing_case_no == filing_no and record.organization == filing_no
    assert organization is not None and organization.name == "春光社区银发合唱团", "the register has it"
    [remembered] = bases.incubation_history(with_bases.engine, filing_no)
    assert (remembered.case_no, remembered.base_name) == (case_no, "延吉市社会组织孵化及创新服务基地")
    assert remembered.phase_label == "孵化中" and not remembered.graduated, "the register entry remembers the stay"
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
