"""社洽会 on a real Temporal (time-skipping) server, as organizers, departments, bidders and experts live it."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from temporalio.testing import ActivityEnvironment

from activities.calendar import CalendarActivities
from activities.rendering import cn_date, cn_datetime
from rules.procurement_terms import contract_signing_period
from schemas.contracts import ContractPhase, PerformanceRecord
from schemas.documents import DocumentRef
from schemas.localtime import local_date, local_text
from schemas.procurement import BidInput, ChallengeStatus, LotPhase, OfferResponse, ScoreInput, SeatStatus
from service import views
from service.common import ServiceError
from service.contracts import ContractService
from service.fairs import FairService
from store import register
from store.files import content_path
from store.models import CaseNumberRecord, ContractRecord
from tests.conftest import Skipping
from tests.fair_helpers import BIDDERS, DEMAND, ORGANIZER, Fair, create_fair, published_fair
from tests.helpers import accepted_updates, history_length, keep_golden, until_contract, until_fair, until_lot


def squash(text: str) -> str:
    """pdftotext wraps lines where the PDF does; compare without any whitespace."""
    return re.sub(r"\s+", "", text)


def document_text(fair: Fair, document: DocumentRef) -> str:
    """A document as its reader gets it: the text of the rendered PDF."""
    path = content_path(fair.skipping.settings.documents_dir, document.pdf_sha256, "pdf")
    return squash(subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout)


async def four_bids(fair: Fair, lot: str) -> None:
    for organization, price in (
        ("YJ-REG-0001", 28_000_000),
        ("YJ-REG-0002", 26_500_000),
        ("YJ-REG-0003", 29_000_000),
        ("YJ-REG-0005", 25_000_000),
    ):
        await fair.bid(lot, organization, price)


async def test_a_lot_is_awarded_after_a_challenge_and_a_declined_award(skipping: Skipping) -> None:
    fair = await published_fair(skipping)
    lot = fair.lots[0]
    await four_bids(fair, lot)
    ids = {organization: await fair.bid_id(lot, organization) for organization in ("YJ-REG-0001", "YJ-REG-0002")}

    over = BidInput(organization="YJ-REG-0007", price_fen=30_000_001, proposal="超出预算的方案说明文字。", team=["社工2名"])
    with pytest.raises(ServiceError) as over_ceiling:
        await fair.service.submit_bid(fair.actor("org-kangle"), lot, over)
    assert over_ceiling.value.kind == "invalid" and "300,000.00元" in over_ceiling.value.message
    with pytest.raises(ServiceError) as twice:
        await fair.bid(lot, "YJ-REG-0001", 27_000_000)
    assert twice.value.kind == "conflict" and ids["YJ-REG-0001"] in twice.value.message
    amended = BidInput(organization="YJ-REG-0002", price_fen=26_000_000, proposal="修改后的服务方案，增加夜间应急响应。", team=["社工4名"])
    await fair.service.amend_bid(fair.actor("org-xiyanghong"), lot, ids["YJ-REG-0002"], amended)

    mine = fair.service.lot(fair.actor("org-chunhui"), lot)
    assert mine.audience == "bidder" and [b.bid_id for b in mine.bids] == [ids["YJ-REG-0001"]]
    public = fair.service.lot(None, lot)
    assert public.bids == [] and public.ranking is None
    assert mine.bid_count is None and public.bid_count is None, "while bids are open only the organizer knows how many"
    organizer = fair.service.lot(fair.actor(ORGANIZER), lot)
    assert len(organizer.bids) == 4 and organizer.bid_count == 4

    state = await fair.close_bidding(lot)
    updates, revision = await accepted_updates(fair.client, lot), (await fair.state(lot)).revision
    with pytest.raises(ServiceError) as late:
        await fair.bid(lot, "YJ-REG-0007", 20_000_000)
    assert late.value.kind == "conflict" and "截止" in late.value.message
    assert await accepted_updates(fair.client, lot) == updates and (await fair.state(lot)).revision == revision

    state = await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.evaluation)
    assert fair.service.lot(fair.actor("org-chunhui"), lot).bid_count == 4, "once bidding has closed the count is public"
    failed = {s.organization_name: s.failures for s in state.screenings if not s.eligible}
    assert failed == {"延吉市和美家庭服务中心": ["本项目要求评估等级3A以上，“延吉市和美家庭服务中心”为2A"]}
    seated = [s.expert.user_id for s in state.seats]
    assert len(seated) == 5 and "exp-03" not in seated, "an expert with a registered conflict is never drawn"
    assert any("许志刚" in r for r in state.recusals)
    outsider = next(e for e in ("exp-01", "exp-02", "exp-04", "exp-05", "exp-06", "exp-07", "exp-08") if e not in seated)
    assert fair.service.lot(fair.actor(outsider), lot).bids == [], "experts see only the lots they sit on"
    expert_view = fair.service.lot(fair.actor(seated[0]), lot)
    assert expert_view.audience == "expert" and len(expert_view.bids) == 3 and [s.expert.user_id for s in expert_view.panel] == [seated[0]]
    assert [t.case_no for t in fair.skipping.service.inbox(fair.actor(seated[0])).items] == [lot]

    late_expert = seated[-1]
    await fair.score_all(lot, skip={late_expert})
    assert fair.service.lot(fair.actor("org-chunhui"), lot).ranking is None, "no scores before the result notice"
    await fair.sleep_past(lot, state.seats[-1].deadline.due_at)
    state = await until_lot(fair.client, lot, lambda s: len(s.seats) == 6)
    assert state.seats[4].status is SeatStatus.replaced and state.seats[5].status is SeatStatus.scoring
    assert state.seats[5].expert.user_id not in seated + ["exp-03"]
    await fair.score_all(lot)
    state = await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.result_notice)
    assert [e.organization for e in state.ranking.entries] == ["YJ-REG-0001", "YJ-REG-0002", "YJ-REG-0003"]
    assert state.ranking.entries[0].dropped, "five experts or more: highest and lowest dropped"

    seen = fair.service.lot(fair.actor("org-yangguang"), lot)
    assert seen.ranking is not None and all(e.expert_totals == [] for e in seen.ranking.entries)
    await fair.service.file_challenge(
        fair.actor("org-yangguang"), lot,
        views.ChallengeInput(organization="YJ-REG-0003", content="第一名的团队人员与其他项目重复，服务能力评分偏高"),
    )
    with pytest.raises(ServiceError) as stranger:
        await fair.service.file_challenge(fair.actor("org-qiming"), lot, views.ChallengeInput(organization="YJ-REG-0006", content="质疑"))
    assert stranger.value.kind == "forbidden"
    await fair.sleep_past(lot, state.result_notice.ends.due_at)
    await history_length(fair.client, lot)  # the workflow has acted on the end of the notice period
    assert (await fair.state(lot)).phase is LotPhase.result_notice, "no award while a challenge is unanswered"
    with pytest.raises(ServiceError) as no_reason:
        await fair.service.answer_challenge(fair.actor(ORGANIZER), lot, "ZY01", views.ChallengeAnswerInput(upheld=False))
    assert no_reason.value.kind == "invalid"
    await fair.service.answer_challenge(
        fair.actor(ORGANIZER), lot, "ZY01", views.ChallengeAnswerInput(upheld=False, reasons=["经核查，团队人员名单真实，不存在重复"]),
    )
    state = await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.awarding)
    assert state.challenges[0].status is ChallengeStatus.dismissed and state.open_offer.organization == "YJ-REG-0001"

    await fair.service.respond_to_award(
        fair.actor("org-chunhui"), lot, views.AwardResponseInput(organization="YJ-REG-0001", accept=False, reasons=["人员无法到位"])
    )
    state = await until_lot(fair.client, lot, lambda s: len(s.offers) == 2)
    assert state.offers[0].response is OfferResponse.declined and state.open_offer.organization == "YJ-REG-0002"
    with pytest.raises(ServiceError) as not_theirs:
        await fair.service.respond_to_award(fair.actor("org-yangguang"), lot, views.AwardResponseInput(organization="YJ-REG-0003", accept=True))
    assert not_theirs.value.kind == "forbidden" and "夕阳红" not in not_theirs.value.message, "who was offered is not told"
    await fair.service.respond_to_award(fair.actor("org-xiyanghong"), lot, views.AwardResponseInput(organization="YJ-REG-0002", accept=True))
    state = await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.awarded)
    assert state.contract.supplier == "YJ-REG-0002" and state.contract.amount_fen == 26_000_000
    with Session(fair.skipping.engine) as session:
        record = session.get(ContractRecord, state.contract.contract_no)
    assert record is not None and record.amount_fen == 26_000_000 and record.buyer_office == "延吉市卫生健康局"
    contract = await until_contract(fair.client, state.contract.contract_no, lambda s: s.phase is ContractPhase.drafting)
    assert contract.basis.origin == "lot" and contract.basis.lot_no == lot and contract.basis.supplier == "YJ-REG-0002"
    assert contract.amount_fen == 26_000_000 and contract.policy is not None
    kinds = [d.kind.value for d in state.documents]
    assert kinds.count("award_notice") == 2 and kinds.count("result_notification") == 3
    accepted = next(d for d in state.documents if d.document_id == state.offers[1].document_id)
    period = contract_signing_period(accepted.issued_at, 30)
    signing_due = (await ActivityEnvironment().run(CalendarActivities(fair.skipping.engine).compute_deadline, period)).due_date
    assert signing_due >= local_date(accepted.issued_at) + timedelta(days=30)
    assert squash(f"自本通知书发出之日起30日内签订，签订期限至{cn_date(signing_due)}（含当日）") in document_text(fair, accepted)
    contracts = ContractService(fair.skipping.settings, fair.skipping.engine, fair.client)
    mine = contracts.contracts(fair.actor("org-xiyanghong")).items
    assert state.contract.contract_no in [c.contract_no for c in mine] and {c.supplier for c in mine} == {"YJ-REG-0002"}
    assert contracts.contracts(fair.actor("org-yangguang")).items == []
    await until_fair(fair.client, fair.fair_no, lambda s: s.phase.value == "closed")
    await keep_golden(fair.client, lot, "lot_awarded_signing_deadline")
    await keep_golden(fair.client, fair.fair_no, "fair_closed")


async def test_while_bids_are_open_nothing_but_the_organizers_view_tells_how_many_there_are(skipping: Skipping) -> None:
    """Not a bid's number, its receipt, the numbering of the timeline a bidder or the buying department sees,
    nor a count: the first and the last bidder see the same."""
    fair = await published_fair(skipping)
    lot = fair.lots[0]
    receipts = {organization: await fair.bid(lot, organization, 25_000_000) for organization in ("YJ-REG-0001", "YJ-REG-0002", "YJ-REG-0003")}
    state = await fair.state(lot)
    numbers = [b.bid_id for b in state.bids]
    assert len(set(numbers)) == 3 and all(re.fullmatch(r"B-[0-9A-F]{8}", n) for n in numbers), numbers
    for organization in ("YJ-REG-0001", "YJ-REG-0003"):
        number = state.bid_of(organization).bid_id
        assert receipts[organization].message == f"投标已提交，编号 {number}；截止前可以修改或撤回"
        seen = fair.service.lot(fair.actor(BIDDERS[organization]), lot)
        assert seen.bid_count is None and [b.bid_id for b in seen.bids] == [number]
        assert [(e.seq, e.action) for e in seen.timeline] == [(1, "lot_opened"), (2, "bid_submitted")], organization
    department = fair.service.lot(fair.actor("dept-wj"), lot)
    assert department.bid_count is None and not [e for e in department.timeline if e.action.startswith("bid_")]
    assert [e.seq for e in department.timeline] == list(range(1, len(department.timeline) + 1))
    public = fair.service.lot(None, lot)
    assert public.bid_count is None and [(e.seq, e.action) for e in public.timeline] == [(1, "lot_opened")]
    organizer = fair.service.lot(fair.actor(ORGANIZER), lot)
    assert organizer.bid_count == 3 and sum(e.action == "bid_submitted" for e in organizer.timeline) == 3


async def test_too_few_eligible_bids_fail_the_lot_which_can_be_retendered_or_closed(skipping: Skipping) -> None:
    fair = await published_fair(skipping)
    lot = fair.lots[0]
    register.record_performance(skipping.engine, PerformanceRecord(organization="YJ-REG-0006", year=2026, barred_until_year=local_date((await fair.state(lot)).bids_close).year))
    await fair.bid(lot, "YJ-REG-0001", 28_000_000)
    await fair.bid(lot, "YJ-REG-0006", 27_000_000)
    await fair.close_bidding(lot)
    state = await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.failed and bool(s.open_tasks))
    assert any("不得参加社洽会" in f for s in state.screenings for f in s.failures)
    assert [d.kind.value for d in state.documents] == ["failed_lot_notice"]
    task = state.open_tasks[0]
    assert task.holder.user_id == "mz-chen" and task.b.user_id == "mz-lin"

    with pytest.raises(ServiceError) as past:
        await fair.service.decide_failed_lot(fair.actor(ORGANIZER), lot, views.FailedLotInput(retender=True, bids_close=state.opened_at))
    assert past.value.kind == "invalid"
    now = await skipping.env.get_current_time()
    await fair.service.decide_failed_lot(fair.actor("mz-lin"), lot, views.FailedLotInput(retender=True, bids_close=now + timedelta(days=5)))
    state = await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.bidding and len(s.documents) == 2)
    assert state.round == 2 and state.active_bids == [] and len(state.previous_rounds) == 1
    announcement = state.documents[1]
    assert announcement.kind.value == "retender_notice"
    assert announcement.document_id in [d.document_id for d in fair.service.lot(None, lot).documents], "the announcement is public"
    text = document_text(fair, announcement)
    for needle in ("重新组织投标公告", "第1轮投标流标", f"第2轮投标截止时间为{cn_datetime(state.bids_close)}", "上一轮已提交的投标不再有效"):
        assert squash(needle) in text, needle
    assert "通过资格审查的投标1份，少于规定的3份" in text
    for bidder in ("org-chunhui", "org-qiming"):
        told = [n for n in fair.skipping.service.notifications(fair.actor(bidder)).items if n.kind == "lot_retendered"]
        assert len(told) == 1 and f"第2轮投标，投标截止时间为 {local_text(state.bids_close)}" in told[0].body, bidder
    assert not [n for n in fair.skipping.service.notifications(fair.actor("org-yangguang")).items if n.kind == "lot_retendered"]
    await fair.bid(lot, "YJ-REG-0001", 28_000_000)
    await fair.close_bidding(lot)
    state = await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.failed and bool(s.open_tasks))
    with pytest.raises(ServiceError) as reasonless:
        await fair.service.decide_failed_lot(fair.actor(ORGANIZER), lot, views.FailedLotInput(retender=False))
    assert reasonless.value.kind == "invalid"
    await fair.service.decide_failed_lot(fair.actor(ORGANIZER), lot, views.FailedLotInput(retender=False, reasons=["需求调整，改为明年采购"]))
    state = await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.closed)
    assert state.result.reasons[-1] == "需求调整，改为明年采购"
    await keep_golden(fair.client, lot, "lot_retender_announced")


async def test_screening_states_every_failed_condition(skipping: Skipping) -> None:
    demand = {**DEMAND, "requirements": {"registered_only": True, "minimum_grade": "3A", "jurisdiction": "YJ"}}
    fair = await published_fair(skipping, [demand])
    lot = fair.lots[0]
    fair_year = local_date((await fair.state(lot)).bids_close).year
    register.record_performance(skipping.engine, PerformanceRecord(organization="YJ-REG-0006", year=fair_year, barred_until_year=fair_year))
    for organization in ("YJ-REG-0004", "YJ-REG-0005", "YJ-REG-0006", "YJ-REG-0007", "XQ-REG-0001", "YJ-REG-0003"):
        await fair.bid(lot, organization, 20_000_000)
    await fair.close_bidding(lot)
    state = await until_lot(fair.client, lot, lambda s: bool(s.screenings))
    failures = {s.organization: " ".join(s.failures) for s in state.screenings}
    assert "备案的社区社会组织" in failures["YJ-REG-0004"]
    assert "为2A" in failures["YJ-REG-0005"]
    assert f"{fair_year}年度及以前不得参加社洽会" in failures["YJ-REG-0006"]
    assert "信用状态不良" in failures["YJ-REG-0007"]
    assert "延吉市内" in failures["XQ-REG-0001"] and "示例新区" in failures["XQ-REG-0001"]
    assert failures["YJ-REG-0003"] == ""
    own = fair.service.lot(fair.actor("org-hemei"), lot)
    assert [s.organization for s in own.screenings] == ["YJ-REG-0005"], "a bidder sees only its own screening"


async def test_an_expert_who_declares_a_conflict_is_replaced_at_once(skipping: Skipping) -> None:
    fair = await published_fair(skipping)
    lot = fair.lots[0]
    for organization in ("YJ-REG-0001", "YJ-REG-0002", "YJ-REG-0003"):
        await fair.bid(lot, organization, 25_000_000)
    await fair.close_bidding(lot)
    state = await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.evaluation)
    recusing = state.seats[0].expert.user_id
    first, second = (b.bid_id for b in state.eligible_bids[:2])
    with pytest.raises(ServiceError) as bad_sheet:
        await fair.service.score(fair.actor(recusing), lot, ScoreInput(scores={first: {"plan": 41}}))
    assert bad_sheet.value.kind == "invalid" and "0–40" in bad_sheet.value.message and second in bad_sheet.value.message
    await fair.service.declare_conflict(fair.actor(recusing), lot, views.ConflictInput(reason="本人曾在投标单位兼职"))
    state = await until_lot(fair.client, lot, lambda s: len(s.seats) == 6)
    assert state.seats[0].status is SeatStatus.recused and state.seats[5].expert.user_id != recusing
    with pytest.raises(ServiceError) as gone:
        await fair.service.score(fair.actor(recusing), lot, ScoreInput(scores={}))
    assert gone.value.kind == "forbidden"


async def test_fair_rules_for_demands_catalogue_and_showcase(skipping: Skipping) -> None:
    from service.fairs import FairService

    service = FairService(skipping.settings, skipping.engine, skipping.env.client)
    now = await skipping.env.get_current_time()
    schedule = {"demands_due": (now + timedelta(days=1)).isoformat(), "fair_day": (now + timedelta(days=2)).date().isoformat(), "bids_close": (now + timedelta(days=3)).isoformat()}
    with pytest.raises(ServiceError) as not_organizer:
        await service.create_fair(service.actor("dept-wj"), views.FairInput.model_validate({"title": "部门自办社洽会", "schedule": schedule}))
    assert not_organizer.value.kind == "forbidden"
    fair = await service.create_fair(service.actor(ORGANIZER), views.FairInput.model_validate({"title": "2026年秋季社洽会", "schedule": schedule}))
    from schemas.procurement import DemandInput, ShowcaseInput

    with pytest.raises(ServiceError) as bidder_demand:
        await service.submit_demand(service.actor("org-chunhui"), fair.fair_no, DemandInput.model_validate({k: v for k, v in DEMAND.items()}))
    assert bidder_demand.value.kind == "forbidden"
    await service.submit_demand(service.actor("dept-wj"), fair.fair_no, DemandInput.model_validate(DEMAND))
    await service.submit_demand(service.actor("dept-jy"), fair.fair_no, DemandInput.model_validate({**DEMAND, "title": "青少年课后托管服务"}))
    with pytest.raises(ServiceError) as early:
        await service.publish_catalogue(service.actor(ORGANIZER), fair.fair_no)
    assert early.value.kind == "conflict" and "尚未截止" in early.value.message

    project = ShowcaseInput(organization="YJ-REG-0003", title="阳光助残康复训练营", summary="为残疾儿童提供康复训练和家长培训", beneficiaries="残疾儿童及家庭")
    with pytest.raises(ServiceError) as impostor:
        await service.add_showcase_project(service.actor("org-chunhui"), fair.fair_no, project)
    assert impostor.value.kind == "forbidden" and "阳光助残" in impostor.value.message
    await service.add_showcase_project(service.actor("org-yangguang"), fair.fair_no, project)
    assert [p.title for p in service.showcase(fair.fair_no).items] == ["阳光助残康复训练营"]
    for title in ("阳光助残康复训练营（第二期）", "阳光助残家长课堂"):
        await service.add_showcase_project(service.actor("org-yangguang"), fair.fair_no, project.model_copy(update={"title": title}))
    with pytest.raises(ServiceError) as fourth:
        await service.add_showcase_project(service.actor("org-yangguang"), fair.fair_no, project.model_copy(update={"title": "第四个项目"}))
    assert fourth.value.kind == "conflict" and "每个社会组织在同一届社洽会最多登记3个展示项目" in fourth.value.message
    assert "已登记3个" in fourth.value.message and service.showcase(fair.fair_no).total == 3

    await skipping.sleep(timedelta(days=1, minutes=1))
    await until_fair(skipping.env.client, fair.fair_no, lambda s: s.phase.value == "reviewing")
    with pytest.raises(ServiceError) as too_late:
        await service.submit_demand(service.actor("dept-jg"), fair.fair_no, DemandInput.model_validate(DEMAND))
    assert too_late.value.kind == "conflict" and "截止" in too_late.value.message
    with pytest.raises(ServiceError) as reasonless:
        await service.review_demand(service.actor(ORGANIZER), fair.fair_no, "D02", views.DemandReviewInput(approve=False))
    assert reasonless.value.kind == "invalid"
    await service.review_demand(service.actor(ORGANIZER), fair.fair_no, "D01", views.DemandReviewInput(approve=True))
    with pytest.raises(ServiceError) as pending:
        await service.publish_catalogue(service.actor(ORGANIZER), fair.fair_no)
    assert "D02" in pending.value.message
    await service.review_demand(service.actor("mz-lin"), fair.fair_no, "D02", views.DemandReviewInput(approve=False, reasons=["与教育局年度计划重复"]))
    await service.publish_catalogue(service.actor(ORGANIZER), fair.fair_no)
    state = await until_fair(skipping.env.client, fair.fair_no, lambda s: len(s.lots) == 1)
    view = service.fair(None, fair.fair_no)
    assert [c.title for c in view.catalogue] == [DEMAND["title"]] and view.demands == [], "the public sees the catalogue only"
    assert [d.title for d in service.fair(service.actor("dept-jy"), fair.fair_no).demands] == ["青少年课后托管服务"]
    assert state.lots[0].lot_no == f"{fair.fair_no}-L01"


async def test_withdrawn_bids_negotiations_and_a_disqualified_winner(skipping: Skipping) -> None:
    from schemas.procurement import NegotiationInput

    fair = await published_fair(skipping)
    lot = fair.lots[0]
    for organization in ("YJ-REG-0001", "YJ-REG-0002", "YJ-REG-0003", "YJ-REG-0007"):
        await fair.bid(lot, organization, 25_000_000)
    kangle = await fair.bid_id(lot, "YJ-REG-0007")
    with pytest.raises(ServiceError) as not_theirs:
        await fair.service.withdraw_bid(fair.actor("org-chunhui"), lot, kangle)
    assert not_theirs.value.kind == "not_found", "another bidder's bid is answered like one that does not exist"
    await fair.service.withdraw_bid(fair.actor("org-kangle"), lot, kangle)
    talk = NegotiationInput(organization="YJ-REG-0001", summary="就服务频次和夜间应急响应进行了洽谈", participants=["金海燕", "朴春花"])
    with pytest.raises(ServiceError) as bidder_notes:
        await fair.service.record_negotiation(fair.actor("org-chunhui"), lot, talk)
    assert bidder_notes.value.kind == "forbidden"
    await fair.service.record_negotiation(fair.actor("dept-wj"), lot, talk)
    assert [n.organization_name for n in fair.service.lot(fair.actor("org-chunhui"), lot).negotiations] == ["延吉市春晖社会工作服务中心"]
    assert fair.service.lot(fair.actor("org-xiyanghong"), lot).negotiations == []

    state = await fair.close_bidding(lot)
    assert [b.organization for b in state.active_bids] == ["YJ-REG-0001", "YJ-REG-0002", "YJ-REG-0003"]
    await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.evaluation)
    await fair.score_all(lot)
    state = await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.result_notice)
    await fair.sleep_past(lot, state.result_notice.ends.due_at)
    state = await until_lot(fair.client, lot, lambda s: s.phase is LotPhase.awarding)
    first = state.open_offer.bid_id
    with pytest.raises(ServiceError) as reasonless:
        await fair.service.disqualify(fair.actor(ORGANIZER), lot, views.DisqualificationInput(bid_id=first))
    assert reasonless.value.kind == "invalid"
    await fair.service.disqualify(fair.actor(ORGANIZER), lot, views.DisqualificationInput(bid_id=first, reasons=["经核查，提供的业绩证明材料不实"]))
    state = await until_lot(fair.client, lot, lambda s: len(s.offers) == 2)
    assert state.offers[0].response is OfferResponse.disqualified and state.open_offer.bid_id != first
    assert state.ranking.entries[0].disqualified == "经核查，提供的业绩证明材料不实"


async def test_a_number_temporal_already_holds_is_skipped_when_a_fair_is_created(skipping: Skipping) -> None:
    """After a read model is restored from an older backup, the allocation table may offer a number whose
    workflow already exists: the fair takes the next free one instead of failing."""
    service = FairService(skipping.settings, skipping.engine, skipping.env.client)
    now = await skipping.env.get_current_time()
    with Session(skipping.engine) as session:
        series = f"YJ-SQH-{local_date(datetime.now(UTC)).year}"  # numbered by the office's calendar, not the test clock
        last = session.exec(select(func.max(CaseNumberRecord.seq)).where(CaseNumberRecord.series == series)).one()
    taken = f"{series}-{(last or 0) + 1:05d}"
    occupant = await skipping.env.client.start_workflow("Occupied", id=taken, task_queue="nobody-polls-this")
    try:
        summary = await create_fair(service, now, "2026年第二届社洽会")
    finally:
        await occupant.terminate()
    assert summary.fair_no == f"{series}-{(last or 0) + 2:05d}"
    assert service.fair(service.actor(ORGANIZER), summary.fair_no).title == "2026年第二届社洽会"
