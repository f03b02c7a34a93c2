"""The filing/registration process on a real Temporal server, as applicants and reviewers live it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import Session
from temporalio.testing import ActivityEnvironment

from activities.calendar import CalendarActivities
from activities.rendering import cn_date
from schemas.calendar import CalendarSourceKind, CalendarYear, DeadlineRequest
from schemas.case import Phase, TaskStatus
from schemas.documents import DocumentKind
from schemas.localtime import SHANGHAI, local_date
from schemas.people import Actor, Role
from service import views
from service.cases import CaseService
from service.common import ServiceError
from store.calendars import load_calendar_year
from store.files import content_path
from store.models import OrganizationRecord
from tests import factories
from tests.conftest import Skipping
from tests.helpers import accepted_updates, case_state, history_length, keep_golden, until_state
from workflows.filing import last_moment_of_validity


def document_text(service: CaseService, case_no: str, kind: DocumentKind, actor: Actor) -> str:
    view = service.case(actor, case_no)
    matching = [d for d in view.documents if d.kind is kind]
    assert len(matching) == 1, f"expected one {kind}, got {[d.title for d in view.documents]}"
    return content_path(service.settings.documents_dir, matching[0].html_sha256, "html").read_text(encoding="utf-8")


async def submit(service: CaseService, application) -> tuple[Actor, str]:  # type: ignore[no-untyped-def]
    applicant = service.actor(factories.applicant_id(), application.applicant_name)
    receipt = await service.submit(applicant, application)
    return applicant, receipt.case_no


async def approve(service: CaseService, case_no: str, step: str, user_id: str, comment: str | None = None) -> None:
    await service.decide(service.actor(user_id), case_no, views.DecisionInput(step=step, outcome="approve", comment=comment))


async def through_reviews(service: CaseService, case_no: str, authority: str = "jg-zhou") -> None:
    await approve(service, case_no, "preliminary_review", "cg-zhao", "经核实，该组织在本社区开展活动")
    await approve(service, case_no, "authority_review", authority)


async def test_green_channel_filing_goes_from_submission_to_certificate(skipping: Skipping) -> None:
    service, client = skipping.service, skipping.env.client
    application = factories.filing()
    applicant, case_no = await submit(service, application)

    view = service.case(applicant, case_no)
    assert view.phase is Phase.preliminary_review and view.phase_name == "社区居委会初审中"
    assert view.holders[0].holder == "赵丽" and view.holders[0].b == "钱伟"
    checklist = view.checklist
    assert checklist is not None and checklist.green_channel and checklist.fees_due_fen == 0
    waived = {(m.material, m.person): m for m in checklist.waived_materials}
    assert ("identity_proof", "王芳") in waived, "a founder registered in the community needs no ID proof"
    assert waived[("identity_proof", "王芳")].waived_by.name == "免本社区户籍的发起人和拟任负责人身份证明"
    assert ("identity_proof", "李明") not in waived, "a founder registered elsewhere still needs ID proof"
    assert ("venue_proof", None) in waived
    assert view.legal_deadline is not None and view.legal_deadline.working_days == 7

    await through_reviews(service, case_no)
    view = service.case(applicant, case_no)
    assert view.phase is Phase.public_notice and view.public_notice_until is not None
    notice = document_text(service, case_no, DocumentKind.public_notice, applicant)
    assert application.organization_name in notice and "公示" in notice
    assert [n.case_no for n in service.public_notices().items].count(case_no) == 1

    await skipping.sleep(timedelta(days=9))
    await until_state(client, case_no, lambda s: s.phase is Phase.decision)
    await approve(service, case_no, "decision", "jg-zhou")

    view = service.case(applicant, case_no)
    assert view.phase is Phase.approved and view.closed and view.legal_deadline_met is True
    assert view.certificate_number == case_no
    assert [d.kind for d in view.documents] == [
        DocumentKind.acceptance_notice,
        DocumentKind.public_notice,
        DocumentKind.certificate,
    ]
    certificate = document_text(service, case_no, DocumentKind.certificate, applicant)
    assert "社区社会组织备案证明" in certificate and application.organization_name in certificate
    with Session(skipping.engine) as session:
        organization = session.get(OrganizationRecord, case_no)
    assert organization is not None
    issued = local_date(organization.approved_at)
    last_day = date(issued.year + 3, issued.month, issued.day) - timedelta(days=1)
    assert local_date(organization.valid_until) == last_day, "three years end the day before the anniversary"
    assert f"自{cn_date(issued)}至{cn_date(last_day)}" in certificate
    for kind in (DocumentKind.public_notice, DocumentKind.certificate):
        responsible = re.findall(r"<th>负责人</th>\s*<td>(.*?)</td>", document_text(service, case_no, kind, applicant))
        assert responsible == ["王芳"], f"{kind}: only the proposed leader, not the founder 李明"
    actors = [e.actor for e in view.timeline if e.actor not in (None, "系统")]
    assert {"王芳", "赵丽", "周静"} <= set(actors)
    assert "公示期满，未收到异议" in [e.summary for e in view.timeline]
    subjects = [n.subject for n in service.notifications(applicant).items]
    assert any(s.startswith("【办理结果】") for s in subjects)
    await keep_golden(client, case_no, "filing_approved")


async def test_incomplete_materials_get_one_notice_listing_everything_then_correction(service: CaseService) -> None:
    application = factories.filing(materials=[{"material": "filing_form"}], members=8)
    applicant, case_no = await submit(service, application)

    view = service.case(applicant, case_no)
    assert view.phase is Phase.correction and view.legal_deadline is None
    expected = ["组织章程", "会员名册", "身份证明（李明）", "会员人数"]
    for item in expected:
        assert any(item in line for line in view.missing), f"{item} missing from {view.missing}"
    assert len(view.missing) == 4
    notices = [d for d in view.documents if d.kind is DocumentKind.correction_notice]
    assert len(notices) == 1
    notice = document_text(service, case_no, DocumentKind.correction_notice, applicant)
    for item in expected:
        assert item in notice

    first = views.CorrectionInput(materials=[{"material": "charter"}, {"material": "member_list"}])
    await service.correct(applicant, case_no, first)
    view = service.case(applicant, case_no)
    assert view.phase is Phase.correction
    assert len(view.missing) == 2 and any("李明" in m for m in view.missing) and any("会员人数" in m for m in view.missing)
    assert len([d for d in view.documents if d.kind is DocumentKind.correction_notice]) == 1, "no second notice"

    corrected = application.model_copy(update={"members": 12})
    rest = views.CorrectionInput(materials=[{"material": "identity_proof", "person": "李明"}], application=corrected)
    receipt = await service.correct(applicant, case_no, rest)
    assert receipt.phase == Phase.preliminary_review
    view = service.case(applicant, case_no)
    assert view.missing == [] and view.legal_deadline is not None
    assert [d.kind for d in view.documents] == [DocumentKind.correction_notice, DocumentKind.acceptance_notice]
    await keep_golden(service.client, case_no, "filing_corrected")


async def test_corrections_in_one_round_are_bounded_by_the_policy(service: CaseService) -> None:
    applicant, case_no = await submit(service, factories.filing(materials=[{"material": "filing_form"}], members=8))
    partial = views.CorrectionInput(materials=[{"material": "charter"}])
    for _ in range(10):
        await service.correct(applicant, case_no, partial)
    before = await history_length(service.client, case_no)
    with pytest.raises(ServiceError) as eleventh:
        await service.correct(applicant, case_no, partial)
    assert eleventh.value.kind == "conflict"
    assert "每轮补正最多可提交10次，本轮您已提交10次" in eleventh.value.message
    assert await history_length(service.client, case_no) == before, "a refused correction leaves no trace"
    assert service.case(applicant, case_no).phase is Phase.correction


async def test_case_lapses_when_the_correction_window_passes(skipping: Skipping) -> None:
    service = skipping.service
    applicant, case_no = await submit(service, factories.filing(materials=[]))
    assert service.case(applicant, case_no).phase is Phase.correction

    await skipping.sleep(timedelta(days=20))
    state = await until_state(skipping.env.client, case_no, lambda s: s.phase.terminal)
    assert state.phase is Phase.lapsed
    view = service.case(applicant, case_no)
    assert view.phase_name == "已失效（逾期未补正）"
    decision = document_text(service, case_no, DocumentKind.non_acceptance_decision, applicant)
    assert "不予受理决定书" in decision and "未在补正期限" in decision and "行政复议" in decision
    assert "依据《社区社会组织备案管理办法》（本辖区制定）关于申请材料和补正期限的规定，本机关决定不予受理" in decision
    assert re.search(r"补正期限（\d{4}年\d{1,2}月\d{1,2}日（含当日）前）", decision), "the deadline in words, not ISO"
    notice = document_text(service, case_no, DocumentKind.correction_notice, applicant)
    assert "自动失效" not in notice and "逾期未补正的，本机关将依法作出不予受理的决定，出具《不予受理决定书》" in notice
    assert "办理时限暂停计算" not in notice, "before acceptance no time limit runs"
    lapsed = next(n for n in service.notifications(applicant).items if n.kind == "lapsed" and n.case_no == case_no)
    assert "《不予受理决定书》" in lapsed.body
    with pytest.raises(ServiceError) as refused:
        await service.correct(applicant, case_no, views.CorrectionInput(materials=[{"material": "charter"}]))
    assert "已办结" in refused.value.message
    await keep_golden(skipping.env.client, case_no, "filing_lapsed")


async def test_authority_refusal_states_reasons_and_the_way_to_appeal(service: CaseService) -> None:
    applicant, case_no = await submit(service, factories.association())
    await approve(service, case_no, "preliminary_review", "ma-sun")
    chen = service.actor("mz-chen")

    with pytest.raises(ServiceError) as no_reasons:
        await service.decide(chen, case_no, views.DecisionInput(step="authority_review", outcome="refuse"))
    assert no_reasons.value.kind == "invalid" and "理由" in no_reasons.value.message

    reasons = ["拟任负责人张伟不具备完全民事行为能力证明", "章程草案未载明会员退会程序"]
    await service.decide(chen, case_no, views.DecisionInput(step="authority_review", outcome="refuse", reasons=reasons))
    view = service.case(applicant, case_no)
    assert view.phase is Phase.refused and view.result_reasons == reasons and view.holders == []
    text = document_text(service, case_no, DocumentKind.refusal_decision, applicant)
    assert "不予登记决定书" in text and "延吉市民政局" in text
    assert "依据《社会团体登记管理条例》第十三条，本机关决定不予社会团体登记" in text, "the legal basis besides the reasons"
    for reason in reasons:
        assert reason in text
    assert "延吉市人民政府" in text and "延吉市人民法院" in text
    assert "60日" in text and "6个月" in text
    await keep_golden(service.client, case_no, "registration_refused")


async def test_preliminary_disagreement_goes_to_the_authority_with_the_opinion(service: CaseService) -> None:
    applicant, case_no = await submit(service, factories.filing())
    opinion = "该队伍活动时间影响居民休息"
    await service.decide(
        service.actor("cg-zhao"), case_no,
        views.DecisionInput(step="preliminary_review", outcome="refuse", reasons=[opinion]),
    )
    view = service.case(applicant, case_no)
    assert view.phase is Phase.authority_review, "the community committee gives an opinion, the street decides"
    assert any(opinion in e.summary for e in view.timeline)


async def test_reviewer_can_ask_for_correction_which_pauses_the_clock(service: CaseService) -> None:
    applicant, case_no = await submit(service, factories.filing())
    await approve(service, case_no, "preliminary_review", "cg-zhao")
    before = service.case(applicant, case_no).legal_deadline
    assert before is not None
    await service.decide(
        service.actor("jg-zhou"), case_no,
        views.DecisionInput(step="authority_review", outcome="request_correction", reasons=["请补充活动场所管理方同意使用的书面说明"]),
    )
    view = service.case(applicant, case_no)
    assert view.phase is Phase.correction and view.legal_clock_paused and view.legal_deadline is None
    assert view.missing == ["请补充活动场所管理方同意使用的书面说明"]
    notice = document_text(service, case_no, DocumentKind.correction_notice, applicant)
    assert "7个工作日的办理时限暂停计算" in notice and "自动失效" not in notice
    assert "逾期未补正的，本机关将依法作出决定，出具《不予备案决定书》" in notice, "an accepted case is refused, not dropped"

    supplement = {"material": "supplementary", "note": "社区居委会同意使用活动室的书面说明"}
    await service.correct(applicant, case_no, views.CorrectionInput(materials=[supplement]))
    view = service.case(applicant, case_no)
    assert view.phase is Phase.authority_review and not view.legal_clock_paused
    assert view.legal_deadline is not None and view.legal_deadline.due_date >= before.due_date
    tasks = [t for t in (await case_state(service.client, case_no)).tasks if t.step == "authority_review"]
    assert [t.status for t in tasks] == [TaskStatus.done, TaskStatus.open]
    await keep_golden(service.client, case_no, "review_requested_correction")


async def test_applicant_withdraws_before_the_decision(service: CaseService) -> None:
    applicant, case_no = await submit(service, factories.filing())
    stranger = service.actor(factories.applicant_id(), "路人")
    with pytest.raises(ServiceError) as refused:
        await service.withdraw(stranger, case_no, views.WithdrawalInput(reason="不想办了"))
    assert refused.value.kind == "not_found" and "王芳" not in refused.value.message, "a stranger learns nothing"

    receipt = await service.withdraw(applicant, case_no, views.WithdrawalInput(reason="组织成员另有安排"))
    assert receipt.phase == Phase.withdrawn
    view = service.case(applicant, case_no)
    assert view.closed and view.holders == [] and view.result_reasons == ["组织成员另有安排"]
    assert case_no not in [t.case_no for t in service.inbox(service.actor("cg-zhao"), limit=200).items]
    assert any(n.case_no == case_no and n.kind == "withdrawn" for n in service.notifications(service.actor("cg-zhao"), limit=200).items)
    with pytest.raises(ServiceError) as again:
        await service.withdraw(applicant, case_no, views.WithdrawalInput())
    assert again.value.kind == "conflict"
    await keep_golden(service.client, case_no, "withdrawn")


async def test_no_withdrawal_after_the_decision(service: CaseService) -> None:
    applicant, case_no = await submit(service, factories.association())
    await approve(service, case_no, "preliminary_review", "ma-sun")
    await service.decide(
        service.actor("mz-lin"), case_no,
        views.DecisionInput(step="authority_review", outcome="refuse", reasons=["名称与已登记组织近似"]),
    )
    with pytest.raises(ServiceError) as refused:
        await service.withdraw(applicant, case_no, views.WithdrawalInput())
    assert refused.value.kind == "conflict"


async def test_duplicate_submission_is_refused_with_the_open_case_number(service: CaseService) -> None:
    application = factories.filing()
    applicant, case_no = await submit(service, application)
    with pytest.raises(ServiceError) as duplicate:
        await service.submit(applicant, application)
    assert duplicate.value.kind == "conflict" and case_no in duplicate.value.message
    assert len([c for c in service.my_cases(applicant).items if c.organization_name == application.organization_name]) == 1


@pytest.mark.parametrize(
    ("who", "decision", "kind", "words"),
    [
        ("jg-zhou", {"step": "preliminary_review", "outcome": "approve"}, "forbidden", "须由社区居委会办理"),
        ("ma-sun", {"step": "preliminary_review", "outcome": "approve"}, "not_found", "不存在或您无权查看"),
        ("cg-zhao", {"step": "authority_review", "outcome": "approve"}, "conflict", "当前办理环节是「居委会初审」"),
        ("cg-zhao", {"step": "preliminary_review", "outcome": "refuse"}, "invalid", "理由"),
        ("cg-zhao", {"step": "preliminary_review", "outcome": "request_correction"}, "invalid", "一次性告知"),
        ("hn-zheng", {"step": "authority_review", "outcome": "approve"}, "not_found", "不存在或您无权查看"),
    ],
)
async def test_refused_reviewer_actions_leave_history_unchanged(
    service: CaseService, who: str, decision: dict, kind: str, words: str
) -> None:
    applicant, case_no = await submit(service, factories.filing())
    if decision["step"] == "authority_review" and who == "hn-zheng":
        await approve(service, case_no, "preliminary_review", "cg-zhao")
    before = await history_length(service.client, case_no)
    with pytest.raises(ServiceError) as refused:
        await service.decide(service.actor(who), case_no, views.DecisionInput(**decision))
    assert refused.value.kind == kind and words in refused.value.message
    assert await history_length(service.client, case_no) == before


async def test_a_decided_step_cannot_be_decided_again_and_history_is_unchanged(service: CaseService) -> None:
    applicant, case_no = await submit(service, factories.filing())
    await approve(service, case_no, "preliminary_review", "cg-zhao")
    before = await history_length(service.client, case_no)
    with pytest.raises(ServiceError) as again:
        await approve(service, case_no, "preliminary_review", "cg-qian")
    assert again.value.kind == "conflict" and "赵丽" in again.value.message and "不能重复办理" in again.value.message
    for attempt in (
        service.correct(applicant, case_no, views.CorrectionInput(materials=[{"material": "charter"}])),
        service.file_objection(service.actor("neighbour-1", "邻居"), case_no, views.ObjectionInput(name="邻居", content="扰民")),
    ):
        with pytest.raises(ServiceError):
            await attempt
    assert await history_length(service.client, case_no) == before


async def test_deadline_escalates_to_backup_counting_working_days_across_a_holiday(skipping: Skipping) -> None:
    service, client = skipping.service, skipping.env.client
    today = local_date(await skipping.env.get_current_time())
    holiday = {today + timedelta(days=n): "测试假日" for n in (1, 2, 3)}
    saturday = next(d for d in (today + timedelta(days=n) for n in range(4, 12)) if d.weekday() == 5)
    for year in sorted({today.year, saturday.year, (today + timedelta(days=40)).year}):
        load_calendar_year(
            skipping.engine,
            CalendarYear(
                year=year,
                title=f"测试用{year}年放假安排",
                holidays={d: n for d, n in holiday.items() if d.year == year},
                makeup_workdays=[saturday] if saturday.year == year else [],
            ),
            loaded_by="test",
        )

    def worked(day: date) -> bool:
        return day == saturday or (day.weekday() < 5 and day not in holiday)

    expected, day = [], today
    while len(expected) < 3:
        day += timedelta(days=1)
        if worked(day):
            expected.append(day)

    applicant, case_no = await submit(service, factories.filing())
    task = (await case_state(client, case_no)).open_tasks[0]
    assert task.deadline.due_date == expected[-1]
    assert set(holiday) <= {h.day for h in task.deadline.holidays_skipped}
    assert {s.kind for s in task.deadline.sources} == {CalendarSourceKind.official_loaded}
    assert (saturday in expected) == (saturday in task.deadline.makeup_workdays_counted)

    now = await skipping.env.get_current_time()
    await skipping.sleep(task.deadline.due_at - now - timedelta(hours=1))
    state = await until_state(client, case_no, lambda s: s.open_tasks[0].reminded_at is not None)
    assert not state.open_tasks[0].escalated and state.open_tasks[0].holder.name == "赵丽"

    await skipping.sleep(timedelta(hours=2))
    state = await until_state(client, case_no, lambda s: s.open_tasks[0].escalated)
    escalated = state.open_tasks[0]
    assert escalated.holder.name == "钱伟" and escalated.escalated_at >= task.deadline.due_at
    assert any("转B岗钱伟" in e.summary for e in state.timeline)
    qian = service.actor("cg-qian")
    assert [t.post for t in service.inbox(qian, limit=200).items if t.case_no == case_no] == ["B"]
    assert any(n.kind == "task_escalated" and n.case_no == case_no for n in service.notifications(qian, limit=200).items)

    await approve(service, case_no, "preliminary_review", "cg-qian")
    assert service.case(applicant, case_no).phase is Phase.authority_review
    await keep_golden(client, case_no, "escalated_to_backup")


async def test_objection_during_public_notice_must_be_resolved_and_upheld_blocks_approval(skipping: Skipping) -> None:
    service, client = skipping.service, skipping.env.client
    applicant, case_no = await submit(service, factories.filing())
    await through_reviews(service, case_no)
    neighbour = service.actor(factories.applicant_id(), "张大爷", Role.public)
    objection = views.ObjectionInput(name="张大爷", content="该队伍晚上十点后仍在广场活动，噪音扰民", contact="13912345678")
    receipt = await service.file_objection(neighbour, case_no, objection)
    assert "YY01" in receipt.message

    state = await case_state(client, case_no)
    review = next(t for t in state.open_tasks if t.objection_id == "YY01")
    assert review.holder.name == "周静" and review.office.name == "延吉市建工街道办事处"
    view = service.case(applicant, case_no)
    assert "张大爷" not in [e.actor for e in view.timeline], "objectors are not named to the applicant"

    await skipping.sleep(timedelta(days=9))
    state = await until_state(client, case_no, lambda s: s.phase is Phase.public_notice and any(t.reminded_at for t in s.open_tasks))
    with pytest.raises(ServiceError) as too_early:
        await approve(service, case_no, "decision", "jg-zhou")
    assert too_early.value.kind == "conflict"

    resolution = views.ObjectionResolutionInput(outcome="uphold", reasons=["经现场核查，晚间活动确有扰民"])
    with pytest.raises(ServiceError) as wrong_office:
        await service.resolve_objection(service.actor("cg-zhao"), case_no, "YY01", resolution)
    assert wrong_office.value.kind == "forbidden"
    with pytest.raises(ServiceError) as no_reasons:
        await service.resolve_objection(service.actor("jg-zhou"), case_no, "YY01", views.ObjectionResolutionInput(outcome="dismiss"))
    assert no_reasons.value.kind == "invalid"
    await service.resolve_objection(service.actor("jg-zhou"), case_no, "YY01", resolution)

    await until_state(client, case_no, lambda s: s.phase is Phase.decision)
    with pytest.raises(ServiceError) as blocked:
        await approve(service, case_no, "decision", "jg-zhou")
    assert "YY01" in blocked.value.message
    reasons = ["公示期间异议经核查成立：晚间活动扰民，不符合备案条件"]
    await service.decide(service.actor("jg-zhou"), case_no, views.DecisionInput(step="decision", outcome="refuse", reasons=reasons))
    view = service.case(applicant, case_no)
    assert view.phase is Phase.refused and view.objections[0].status_name == "异议成立"
    assert reasons[0] in document_text(service, case_no, DocumentKind.refusal_decision, applicant)
    await keep_golden(client, case_no, "objection_upheld")


async def test_dismissed_objection_lets_the_filing_be_approved(skipping: Skipping) -> None:
    service, client = skipping.service, skipping.env.client
    applicant, case_no = await submit(service, factories.filing())
    await through_reviews(service, case_no)
    neighbour = service.actor(factories.applicant_id(), "李阿姨", Role.public)
    await service.file_objection(neighbour, case_no, views.ObjectionInput(name="李阿姨", content="名称与另一舞蹈队相近"))
    await service.resolve_objection(
        service.actor("jg-wu"), case_no, "YY01",
        views.ObjectionResolutionInput(outcome="dismiss", reasons=["经核对，名称不相同，不会引起混淆"]),
    )
    await skipping.sleep(timedelta(days=9))
    await until_state(client, case_no, lambda s: s.phase is Phase.decision)
    await approve(service, case_no, "decision", "jg-zhou")
    view = service.case(applicant, case_no)
    assert view.phase is Phase.approved
    assert "公示期满，收到异议1件，均已处理（成立0件）" in [e.summary for e in view.timeline]


async def test_pauses_move_the_legal_deadline_only_by_the_working_days_paused(skipping: Skipping) -> None:
    """A correction asked and answered on the acceptance day gives nothing back; a 公示 begun that day
    gives back every day up to its end, and the clock runs again from the next day."""
    service, client = skipping.service, skipping.env.client
    applicant, case_no = await submit(service, factories.filing())
    accepted = service.case(applicant, case_no).legal_deadline
    assert accepted is not None and accepted.working_days == 7
    today = local_date(await skipping.env.get_current_time())

    reasons = ["请补充活动场所管理方同意使用的书面说明"]
    decision = views.DecisionInput(step="preliminary_review", outcome="request_correction", reasons=reasons)
    await service.decide(service.actor("cg-zhao"), case_no, decision)
    supplement = {"material": "supplementary", "note": "社区居委会同意使用活动室的书面说明"}
    await service.correct(applicant, case_no, views.CorrectionInput(materials=[supplement]))
    assert local_date(await skipping.env.get_current_time()) == today, "the test needs the pause within one day"
    view = service.case(applicant, case_no)
    assert view.legal_deadline is not None and view.legal_deadline.due_date == accepted.due_date

    await through_reviews(service, case_no)
    notice_ends = service.case(applicant, case_no).public_notice_until
    assert notice_ends is not None
    await skipping.sleep(timedelta(days=9))
    await until_state(client, case_no, lambda s: s.phase is Phase.decision)
    next_day_counts = DeadlineRequest(start=datetime.combine(notice_ends, time(12), SHANGHAI), working_days=7)
    expected = await ActivityEnvironment().run(CalendarActivities(skipping.engine).compute_deadline, next_day_counts)
    view = service.case(applicant, case_no)
    assert view.legal_deadline is not None and view.legal_deadline.due_date == expected.due_date
    assert any(f"办结期限顺延至{expected.due_date.isoformat()}" in e.summary for e in view.timeline)
    await keep_golden(client, case_no, "filing_clock_paused")


@pytest.mark.parametrize(
    ("issued", "years", "last_day"),
    [
        (datetime(2026, 12, 5, 10, tzinfo=SHANGHAI), 3, date(2029, 12, 4)),
        (datetime(2026, 12, 4, 17, tzinfo=UTC), 3, date(2029, 12, 4)),  # already 12-05 in Shanghai
        (datetime(2028, 2, 29, 9, tzinfo=SHANGHAI), 1, date(2029, 2, 28)),
        (datetime(2028, 3, 1, 9, tzinfo=SHANGHAI), 5, date(2033, 2, 28)),
    ],
)
def test_validity_of_n_years_ends_the_day_before_the_anniversary(issued: datetime, years: int, last_day: date) -> None:
    until = last_moment_of_validity(issued, years)
    assert local_date(until) == last_day and local_date(until + timedelta(seconds=1)) == last_day + timedelta(days=1)


async def test_applicant_answers_an_objection_and_the_objector_learns_the_outcome(skipping: Skipping) -> None:
    service, client = skipping.service, skipping.env.client
    applicant, case_no = await submit(service, factories.filing())
    await through_reviews(service, case_no)
    neighbour = service.actor(factories.applicant_id(), "刘大姐", Role.public)
    objection = views.ObjectionInput(name="刘大姐", content="该队伍占用消防通道排练", contact="13912340000")
    await service.file_objection(neighbour, case_no, objection)

    invited = [n for n in service.notifications(applicant).items if n.kind == "objection_answer_invited"]
    assert [n.case_no for n in invited] == [case_no]
    assert "YY01" in invited[0].body and "陈述申辩" in invited[0].body and "含当日" in invited[0].body

    answer = views.ObjectionAnswerInput(content="排练在社区活动室内进行，不占用消防通道，附活动室使用记录")
    before = await accepted_updates(client, case_no)
    with pytest.raises(ServiceError) as stranger:
        await service.answer_objection(neighbour, case_no, "YY01", answer)
    assert stranger.value.kind in ("forbidden", "not_found")
    with pytest.raises(ServiceError) as unknown:
        await service.answer_objection(applicant, case_no, "YY09", answer)
    assert unknown.value.kind == "conflict" and "YY09" in unknown.value.message
    assert await accepted_updates(client, case_no) == before, "refused answers never enter the history"

    receipt = await service.answer_objection(applicant, case_no, "YY01", answer)
    assert "陈述申辩已提交" in receipt.message
    with pytest.raises(ServiceError) as twice:
        await service.answer_objection(applicant, case_no, "YY01", answer)
    assert twice.value.kind == "conflict" and "不能重复提交" in twice.value.message

    reviewer = service.actor("jg-zhou")
    staff_view = service.case(reviewer, case_no)
    assert staff_view.objections[0].answer == answer.content and staff_view.objections[0].answered_at is not None
    assert any("陈述申辩" in e.summary for e in staff_view.timeline)
    told = [n for n in service.notifications(reviewer, limit=200).items if n.kind == "objection_answered" and n.case_no == case_no]
    assert len(told) == 1 and "YY01" in told[0].body

    reasons = ["经现场核查，排练在活动室内进行，未占用消防通道"]
    await service.resolve_objection(reviewer, case_no, "YY01", views.ObjectionResolutionInput(outcome="dismiss", reasons=reasons))
    outcome = [n for n in service.notifications(neighbour).items if n.kind == "objection_resolved"]
    assert len(outcome) == 1 and "异议不成立" in outcome[0].body and reasons[0] in outcome[0].body
    assert "刘大姐" not in [e.actor for e in service.case(applicant, case_no).timeline]
    with pytest.raises(ServiceError) as late:
        await service.answer_objection(applicant, case_no, "YY01", answer)
    assert late.value.kind == "conflict" and "已处理" in late.value.message
    await keep_golden(client, case_no, "objection_answered")
