"""A fair's lots: bids, negotiations, scoring and recusal, 质疑, the award and failed lots."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Fairs, ItemId, LotNo, UserId
from api.errors import errors
from schemas.case import ActionReceipt
from schemas.procurement import BidInput, NegotiationInput, ScoreInput
from service import views

router = APIRouter()

ACT = errors(400, 403, 404, 409, 413, 422, 503)


@router.get("/api/lots/{lot_no}", tags=["社洽会"], summary="项目详情（按身份显示可见内容）", responses=errors(403, 404, 422))
async def lot(lot_no: LotNo, fairs: Fairs, user: UserId) -> views.LotView:
    return fairs.lot(fairs.actor(user) if user else None, lot_no)


@router.post("/api/lots/{lot_no}/bids", tags=["投标人"], summary="投标", responses=ACT)
async def submit_bid(lot_no: LotNo, bid: BidInput, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.submit_bid(fairs.actor(user), lot_no, bid)


@router.put("/api/lots/{lot_no}/bids/{bid_id}", tags=["投标人"], summary="修改投标（截止前）", responses=ACT)
async def amend_bid(lot_no: LotNo, bid_id: ItemId, bid: BidInput, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.amend_bid(fairs.actor(user), lot_no, bid_id, bid)


@router.delete(
    "/api/lots/{lot_no}/bids/{bid_id}", tags=["投标人"], summary="撤回投标（截止前）", responses=errors(403, 404, 409, 422, 503)
)
async def withdraw_bid(lot_no: LotNo, bid_id: ItemId, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.withdraw_bid(fairs.actor(user), lot_no, bid_id)


@router.post("/api/lots/{lot_no}/negotiations", tags=["社洽会"], summary="记录洽谈（组织单位或需求部门）", responses=ACT)
async def record_negotiation(lot_no: LotNo, negotiation: NegotiationInput, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.record_negotiation(fairs.actor(user), lot_no, negotiation)


@router.post("/api/lots/{lot_no}/scores", tags=["评审专家"], summary="专家提交评分", responses=ACT)
async def score(lot_no: LotNo, sheet: ScoreInput, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.score(fairs.actor(user), lot_no, sheet)


@router.post("/api/lots/{lot_no}/recusal", tags=["评审专家"], summary="专家申请回避", responses=ACT)
async def recuse(lot_no: LotNo, conflict: views.ConflictInput, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.declare_conflict(fairs.actor(user), lot_no, conflict)


@router.post("/api/lots/{lot_no}/challenges", tags=["投标人"], summary="公示期内提出质疑", responses=ACT)
async def challenge(lot_no: LotNo, challenge: views.ChallengeInput, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.file_challenge(fairs.actor(user), lot_no, challenge)


@router.post("/api/lots/{lot_no}/challenges/{challenge_id}/answer", tags=["社洽会"], summary="组织单位答复质疑", responses=ACT)
async def answer_challenge(
    lot_no: LotNo, challenge_id: ItemId, answer: views.ChallengeAnswerInput, fairs: Fairs, user: UserId
) -> ActionReceipt:
    return await fairs.answer_challenge(fairs.actor(user), lot_no, challenge_id, answer)


@router.post("/api/lots/{lot_no}/award-response", tags=["投标人"], summary="确认或放弃成交", responses=ACT)
async def respond_to_award(lot_no: LotNo, response: views.AwardResponseInput, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.respond_to_award(fairs.actor(user), lot_no, response)


@router.post("/api/lots/{lot_no}/disqualifications", tags=["社洽会"], summary="取消成交资格", responses=ACT)
async def disqualify(
    lot_no: LotNo, disqualification: views.DisqualificationInput, fairs: Fairs, user: UserId
) -> ActionReceipt:
    return await fairs.disqualify(fairs.actor(user), lot_no, disqualification)


@router.post("/api/lots/{lot_no}/failed-lot-decision", tags=["社洽会"], summary="流标后重新组织或终止", responses=ACT)
async def decide_failed_lot(lot_no: LotNo, decision: views.FailedLotInput, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.decide_failed_lot(fairs.actor(user), lot_no, decision)
