"""Who may do what at a fair and in its lots. Each check returns a Refusal that says why, or None;
the fair's and the lots' update validators call them, so a refused action never enters history.

Fairs and lots are public (their catalogue and phase are published), but bids, scores, challenges
and award offers are not: a message read by someone outside the organizer's office never names
another bidder, another bid's existence or a challenge's outcome; the permission check comes first."""

from __future__ import annotations

from datetime import datetime

from rules.evaluation import sheet_problems
from rules.permissions import Refusal, conflict, forbidden, invalid, refuse_task_actor
from schemas.case import TaskStatus
from schemas.localtime import local_text
from schemas.money import yuan
from schemas.people import Actor, Office, Role
from schemas.policy import SHOWCASE_LIMITS
from schemas.procurement import (
    AwardResponse,
    BidAmendment,
    BidInput,
    BidSubmission,
    BidWithdrawal,
    CataloguePublication,
    ChallengeAnswer,
    ChallengeFiling,
    ChallengeStatus,
    ConflictDeclaration,
    DemandReview,
    DemandStatus,
    DemandSubmission,
    Disqualification,
    FailedLotDecision,
    FairPhase,
    FairState,
    LotPhase,
    LotState,
    NegotiationEntry,
    ScoreSubmission,
    ShowcaseSubmission,
)


def refuse_non_organizer(actor: Actor, organizer: Office) -> Refusal | None:
    if actor.role is not Role.civil_affairs or actor.jurisdiction != organizer.jurisdiction:
        return forbidden(f"该操作须由组织单位{organizer.name}的工作人员办理")
    return None


# --- the fair ----------------------------------------------------------------------------------


def refuse_demand(fair: FairState, submission: DemandSubmission, now: datetime) -> Refusal | None:
    if submission.actor.role is not Role.department:
        return forbidden("只有购买服务的政府部门可以提交购买服务需求")
    if fair.phase is not FairPhase.collecting or now >= fair.schedule.demands_due:
        return conflict(f"需求征集已于{local_text(fair.schedule.demands_due)}截止")
    return None


def refuse_demand_review(fair: FairState, review: DemandReview) -> Refusal | None:
    if refusal := refuse_non_organizer(review.actor, fair.organizer):
        return refusal
    demand = fair.demand(review.demand_id)
    if demand is None:
        return conflict(f"本届社洽会没有编号为 {review.demand_id} 的需求")
    if demand.status is not DemandStatus.submitted:
        return conflict(f"需求 {demand.demand_id}「{demand.title}」已审核（{demand.status.label}），不能重复审核")
    if fair.phase not in (FairPhase.collecting, FairPhase.reviewing):
        return conflict("需求目录已发布，不能再审核需求")
    if not review.approve and not review.reasons:
        return invalid("不予通过的需求必须写明理由")
    return None


def refuse_publication(fair: FairState, publication: CataloguePublication) -> Refusal | None:
    if refusal := refuse_non_organizer(publication.actor, fair.organizer):
        return refusal
    if fair.phase is FairPhase.collecting:
        return conflict(f"需求征集尚未截止（{local_text(fair.schedule.demands_due)}），暂不能发布需求目录")
    if fair.phase is not FairPhase.reviewing:
        return conflict("需求目录已发布")
    pending = [d.demand_id for d in fair.demands if d.status is DemandStatus.submitted]
    if pending:
        return conflict(f"尚有需求未审核：{'、'.join(pending)}")
    if not any(d.status is DemandStatus.approved for d in fair.demands):
        return conflict("没有审核通过的需求，不能发布需求目录")
    return None


def refuse_showcase(fair: FairState, submission: ShowcaseSubmission) -> Refusal | None:
    if submission.actor.role is not Role.bidder:
        return forbidden("只有社会组织可以登记展示公益服务项目")
    if fair.phase is FairPhase.closed:
        return conflict("本届社洽会已结束")
    limits = fair.policy.showcase_limits if fair.policy else SHOWCASE_LIMITS
    organization = submission.project.organization
    theirs = sum(p.organization == organization for p in fair.showcase)
    if theirs >= limits.per_person:
        return conflict(
            f"每个社会组织在同一届社洽会最多登记{limits.per_person}个展示项目，「{submission.organization_name}」已登记{theirs}个"
        )
    if len(fair.showcase) >= limits.per_case:
        return conflict(f"本届社洽会最多登记{limits.per_case}个展示项目，已登记{len(fair.showcase)}个，不再受理新的展示项目")
    return None


# --- bidding -------------------------------------------------------------------------------------


def _bidding_open(lot: LotState, now: datetime) -> Refusal | None:
    if lot.phase is not LotPhase.bidding or now >= lot.bids_close:
        return conflict(f"投标已于{local_text(lot.bids_close)}截止，不再接受投标、修改或撤回")
    return None


def _within_budget(lot: LotState, bid: BidInput) -> Refusal | None:
    ceiling = lot.demand.budget_ceiling_fen
    if bid.price_fen > ceiling:
        return invalid(f"报价{yuan(bid.price_fen)}超过本项目预算上限{yuan(ceiling)}")
    return None


def _bidder(actor: Actor) -> Refusal | None:
    if actor.role is not Role.bidder:
        return forbidden("只有社会组织的负责人或授权代表可以投标")
    return None


def refuse_bid(lot: LotState, submission: BidSubmission, now: datetime) -> Refusal | None:
    if refusal := _bidder(submission.actor) or _bidding_open(lot, now) or _within_budget(lot, submission.bid):
        return refusal
    if existing := lot.bid_of(submission.bid.organization):
        return conflict(f"「{existing.organization_name}」已提交投标 {existing.bid_id}，如需改动请修改或撤回该投标")
    limits = lot.policy.bid_limits
    if len(lot.bids) >= limits.per_case:
        return conflict(f"本项目受理的投标已达上限{limits.per_case}份（含已撤回的），不再接受新的投标")
    return _bid_changes_limit(lot, submission.bid.organization, submission.organization_name)


def _bid_changes_limit(lot: LotState, organization: str, organization_name: str) -> Refusal | None:
    """Every submission and amendment is kept in the lot's history; the policy bounds them per organization."""
    limit = lot.policy.bid_limits.per_person
    changes = sum(1 + b.amendments for b in lot.bids if b.organization == organization)
    if changes >= limit:
        return conflict(f"每个社会组织对同一项目最多可提交或修改投标{limit}次，「{organization_name}」已{changes}次")
    return None


def _own_bid(lot: LotState, actor: Actor, bid_id: str) -> Refusal | None:
    bid = lot.bid(bid_id)
    if bid is None or not bid.active or bid.bidder.user_id != actor.user_id:
        return conflict(f"本项目没有您提交的有效投标 {bid_id}")
    return None


def refuse_bid_amendment(lot: LotState, amendment: BidAmendment, now: datetime) -> Refusal | None:
    if refusal := _bidding_open(lot, now) or _own_bid(lot, amendment.actor, amendment.bid_id):
        return refusal
    bid = lot.bid(amendment.bid_id)
    if bid and amendment.bid.organization != bid.organization:
        return invalid("修改投标不能更换投标的社会组织；请撤回后由另一组织重新投标")
    if refusal := _within_budget(lot, amendment.bid):
        return refusal
    return _bid_changes_limit(lot, bid.organization, bid.organization_name) if bid else None


def refuse_bid_withdrawal(lot: LotState, withdrawal: BidWithdrawal, now: datetime) -> Refusal | None:
    return _bidding_open(lot, now) or _own_bid(lot, withdrawal.actor, withdrawal.bid_id)


def refuse_negotiation(lot: LotState, entry: NegotiationEntry) -> Refusal | None:
    actor = entry.actor
    buyer = actor.role is Role.department and actor.user_id == lot.demand.department.user_id
    if not buyer and refuse_non_organizer(actor, lot.organizer):
        return forbidden(f"洽谈记录须由组织单位{lot.organizer.name}或需求部门{lot.demand.department_office}填写")
    if lot.phase is not LotPhase.bidding:
        return conflict("投标已截止，不能再补记洽谈记录")
    return None


# --- the expert panel ---------------------------------------------------------------------------


def _seated(lot: LotState, actor: Actor) -> Refusal | None:
    if lot.phase is not LotPhase.evaluation:
        return conflict(f"项目当前处于「{lot.phase_names[0]}」，不在专家评审阶段")
    if actor.role is not Role.expert or lot.seat_of(actor.user_id) is None:
        return forbidden("您不是本项目当前的评审专家，或已提交评分")
    return None


def refuse_score(lot: LotState, submission: ScoreSubmission) -> Refusal | None:
    if refusal := _seated(lot, submission.actor):
        return refusal
    problems = sheet_problems(submission.sheet, lot.eligible_bids, lot.policy)
    if problems:
        return invalid("；".join(problems))
    return None


def refuse_conflict_declaration(lot: LotState, declaration: ConflictDeclaration) -> Refusal | None:
    return _seated(lot, declaration.actor)


# --- result, challenges and award ----------------------------------------------------------------


def refuse_challenge(lot: LotState, filing: ChallengeFiling, now: datetime) -> Refusal | None:
    notice = lot.result_notice
    if lot.phase is not LotPhase.result_notice or notice is None:
        return conflict("项目当前不在评审结果公示期，不能提出质疑")
    if now >= notice.ends.due_at:
        return conflict(f"结果公示期已于{notice.ends.due_date.isoformat()}结束，不能再提出质疑")
    bids = [b for b in lot.bids if b.organization == filing.organization and b.bidder.user_id == filing.actor.user_id]
    if filing.actor.role is not Role.bidder or not bids:
        return forbidden("只有参加本项目投标的社会组织可以提出质疑")
    if not filing.content.strip():
        return invalid("请写明质疑的具体事项和理由")
    limits = lot.policy.challenge_limits
    theirs = sum(c.organization == filing.organization for c in lot.challenges)
    if theirs >= limits.per_person:
        return conflict(f"每个投标人对同一项目的评审结果最多可提出{limits.per_person}件质疑，「{filing.organization_name}」已提出{theirs}件")
    if len(lot.challenges) >= limits.per_case:
        return conflict(f"本项目评审结果公示期间最多受理{limits.per_case}件质疑，已收到{len(lot.challenges)}件，不再受理新的质疑")
    return None


def refuse_challenge_answer(lot: LotState, answer: ChallengeAnswer) -> Refusal | None:
    if refusal := refuse_non_organizer(answer.actor, lot.organizer):
        return refusal
    challenge = lot.challenge(answer.challenge_id)
    if challenge is None:
        return conflict(f"本项目没有编号为 {answer.challenge_id} 的质疑")
    task = lot.task(challenge.task_id) if challenge.task_id else None
    if task is None:
        return conflict("该质疑正在登记，请稍后再答复")
    if challenge.status is not ChallengeStatus.open or task.status is not TaskStatus.open:
        return conflict(f"质疑 {challenge.challenge_id} 已答复（{challenge.status.label}），不能重复答复")
    if refusal := refuse_task_actor(task, answer.actor):
        return refusal
    if not answer.reasons:
        return invalid("答复质疑必须写明核查情况和理由")
    if answer.disqualify_bid:
        if not answer.upheld:
            return invalid("只有质疑成立时才能取消投标的成交资格")
        ranked = {e.bid_id for e in lot.ranking.standing} if lot.ranking else set()
        if answer.disqualify_bid not in ranked:
            return invalid(f"投标 {answer.disqualify_bid} 不在有效的评审排名中")
    return None


def refuse_award_response(lot: LotState, response: AwardResponse) -> Refusal | None:
    offer = lot.open_offer
    if lot.phase is not LotPhase.awarding or offer is None:
        return conflict("本项目当前没有待确认的成交通知")
    if response.actor.role is not Role.bidder or response.organization != offer.organization:
        return forbidden("本项目的成交通知不是发给您代表的社会组织的，不能确认或放弃")
    bid = lot.bid(offer.bid_id)
    if bid and bid.bidder.user_id != response.actor.user_id:
        return forbidden("只有提交该投标的代表本人可以确认或放弃成交")
    return None


def refuse_disqualification(lot: LotState, disqualification: Disqualification) -> Refusal | None:
    if refusal := refuse_non_organizer(disqualification.actor, lot.organizer):
        return refusal
    if lot.phase not in (LotPhase.result_notice, LotPhase.awarding):
        return conflict("只有在结果公示或成交确认阶段才能取消成交资格")
    ranked = {e.bid_id for e in lot.ranking.standing} if lot.ranking else set()
    if disqualification.bid_id not in ranked:
        return conflict(f"投标 {disqualification.bid_id} 不在有效的评审排名中")
    if not disqualification.reasons:
        return invalid("取消成交资格必须写明理由")
    return None


def refuse_failed_lot_decision(lot: LotState, decision: FailedLotDecision, now: datetime) -> Refusal | None:
    task = next((t for t in lot.open_tasks if t.step == "failed_lot_decision"), None)
    if lot.phase is not LotPhase.failed or task is None:
        return conflict("本项目不是待处理的流标项目")
    if refusal := refuse_task_actor(task, decision.actor):
        return refusal
    if decision.retender and (decision.bids_close is None or decision.bids_close <= now):
        return invalid("重新组织须给出晚于当前时间的投标截止时间")
    if not decision.retender and not decision.reasons:
        return invalid("终止项目必须写明理由")
    return None
