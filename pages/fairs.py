"""社洽会 pages for the organizer (民政局), the buying departments and the public: the fairs, a fair with its
schedule, demands under review, catalogue and showcase, and a lot as its audience may see it (screening, the
drawn panel with recusals, 质疑, the failed-lot decision, the award, 洽谈记录). Every action goes through
``FairService`` with the caller, as the API's do: the service decides who sees and may do what."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api.deps import CSRF_FIELD, FairNo, Fairs, ItemId, LotNo, Who, signed_in
from pages.common import TASK_PAGES, Form, back_to, fen_from, local_moment, page_count, page_number, parsed, render
from schemas.people import Actor
from schemas.procurement import LOT_PHASE_NAMES, DemandInput, LotPhase, NegotiationInput, SeatStatus
from service import views
from service.common import ServiceError
from service.fairs import Audience

router = APIRouter()

FAIRS_PER_PAGE = 20
LOT_STEPS = (
    LotPhase.bidding,
    LotPhase.screening,
    LotPhase.evaluation,
    LotPhase.result_notice,
    LotPhase.awarding,
    LotPhase.awarded,
)
"""The phases a lot passes through when it ends in an award, in order (the progress line)."""
DONE = {
    "created": "社洽会已创建，各部门可以提交购买服务需求。",
    "demand": "需求已提交，请等待民政局审核。",
    "reviewed": "审核意见已记录。",
    "published": "需求目录已发布，各项目开始接受投标。",
    "negotiation": "洽谈记录已保存。",
    "answered": "质疑答复已记录。",
    "challenged": "质疑已提交，组织单位将在规定期限内答复，答复结果会通知您。",
    "decided": "流标处理决定已记录。",
    "bid": "投标已提交。截止前可以修改或撤回。",
    "amended": "投标已修改。",
    "withdrawn": "投标已撤回。",
    "scored": "评分已提交，感谢您的评审。",
    "recused": "回避申请已记录，将另行抽取专家。",
    "accepted": "您已确认成交，请按成交通知书约定签订合同。",
    "declined": "您已放弃成交。",
}
"""What a page says after each action succeeded (``?done=``)."""
TASK_PAGES.update(dict.fromkeys(("challenge_answer", "failed_lot_decision"), "/lots/"))


def viewer(fairs: Fairs, who: Who) -> Actor | None:
    """The signed-in caller, or None for the public."""
    return fairs.actor(who.user_id) if who.user_id else None


def lines(text: object) -> list[str]:
    """A text area's lines, one item each, blanks left out."""
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


def typed_from(form: FormData) -> dict[str, str]:
    """What was typed into a form (files and the token left out), to show again beside a refusal."""
    return {k: str(v) for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


def done_message(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done") or "")


@router.get("/fairs")
async def fair_list(request: Request, who: Who, fairs: Fairs, page: int = 1) -> Response:
    page = page_number(page)
    found = fairs.fairs(FAIRS_PER_PAGE, (page - 1) * FAIRS_PER_PAGE)
    return render(
        request,
        "fair_list.html",
        who,
        fairs=found,
        page=page,
        pages=page_count(found.total, FAIRS_PER_PAGE),
        may_create=fairs.may_create_fair(viewer(fairs, who)),
    )


@router.get("/fairs/new")
async def new_fair(request: Request, who: Who, fairs: Fairs) -> Response:
    signed_in(who)
    return render(request, "fair_new.html", who, typed={})


@router.post("/fairs")
async def create_fair(request: Request, form: Form, who: Who, fairs: Fairs) -> Response:
    actor = fairs.actor(signed_in(who))
    typed = typed_from(form)
    try:
        schedule = {
            "demands_due": local_moment(typed.get("demands_due", ""), "需求征集截止时间"),
            "fair_day": typed.get("fair_day", ""),
            "bids_close": local_moment(typed.get("bids_close", ""), "投标截止时间"),
        }
        fair = parsed(views.FairInput, {"title": typed.get("title", ""), "schedule": schedule})
        created = await fairs.create_fair(actor, fair)
    except ServiceError as problem:
        return render(request, "fair_new.html", who, problem.status_code, problem=problem, typed=typed)
    return back_to(f"/fairs/{created.fair_no}?done=created")


def _fair_page(
    request: Request, who: Who, fairs: Fairs, fair_no: str, status_code: int = 200, **context: Any
) -> Response:
    """A fair as the caller may see it; a refused form comes back with its problem (``problem_at`` names the
    form) and what was typed."""
    fair = fairs.fair(viewer(fairs, who), fair_no)
    return render(
        request,
        "fair.html",
        who,
        status_code,
        fair=fair,
        done=done_message(request),
        **{"typed": {}, "problem_at": None, **context},
    )


@router.get("/fairs/{fair_no}")
async def fair_page(request: Request, who: Who, fairs: Fairs, fair_no: FairNo) -> Response:
    return _fair_page(request, who, fairs, fair_no)


async def acting(
    request: Request,
    form: FormData,
    who: Who,
    fairs: Fairs,
    page: Any,
    key: str,
    form_name: str,
    action: Any,
    then: str,
    typed_key: bool = False,
) -> Response:
    """Run an action from a form; a refusal shows the page again beside that form with what was typed. One
    saying the caller may not, or there is no such thing, is a page of its own: the form may not be offered to
    them (unless ``typed_key``: the form names a thing by a key typed by hand). One saying the fair or lot has
    moved on (a conflict) heads the page: the form may no longer be there."""
    try:
        await action()
    except ServiceError as problem:
        if problem.kind == "forbidden" or (problem.kind == "not_found" and not typed_key):
            raise
        where = "page" if problem.kind == "conflict" else form_name
        return page(
            request, who, fairs, key, problem.status_code, problem=problem, problem_at=where, typed=typed_from(form)
        )
    return back_to(then)


@router.post("/fairs/{fair_no}/demands")
async def submit_demand(request: Request, form: Form, who: Who, fairs: Fairs, fair_no: FairNo) -> Response:
    actor = fairs.actor(signed_in(who))

    async def submit() -> None:
        requirements = {
            "registered_only": form.get("registered_only") == "on",
            "minimum_grade": str(form.get("minimum_grade") or "") or None,
        }
        demand = parsed(
            DemandInput,
            {
                **{k: str(form.get(k) or "") for k in ("title", "service_content", "target_group", "location")},
                "budget_ceiling_fen": fen_from(str(form.get("budget") or ""), "预算上限"),
                "duration_months": str(form.get("duration_months") or ""),
                "requirements": requirements,
            },
        )
        await fairs.submit_demand(actor, fair_no, demand)

    return await acting(
        request, form, who, fairs, _fair_page, fair_no, "demand", submit, f"/fairs/{fair_no}?done=demand"
    )


@router.post("/fairs/{fair_no}/demands/{demand_id}/review")
async def review_demand(
    request: Request, form: Form, who: Who, fairs: Fairs, fair_no: FairNo, demand_id: ItemId
) -> Response:
    actor = fairs.actor(signed_in(who))

    async def review() -> None:
        decision = str(form.get("decision") or "")
        if decision not in ("approve", "return"):
            raise ServiceError("invalid", "请选择“通过”或“退回”")
        answer = parsed(
            views.DemandReviewInput, {"approve": decision == "approve", "reasons": lines(form.get("reasons"))}
        )
        await fairs.review_demand(actor, fair_no, demand_id, answer)

    then = f"/fairs/{fair_no}?done=reviewed"
    return await acting(request, form, who, fairs, _fair_page, fair_no, f"review-{demand_id}", review, then)


@router.post("/fairs/{fair_no}/catalogue")
async def publish_catalogue(request: Request, form: Form, who: Who, fairs: Fairs, fair_no: FairNo) -> Response:
    actor = fairs.actor(signed_in(who))

    async def publish() -> None:
        await fairs.publish_catalogue(actor, fair_no)

    return await acting(
        request, form, who, fairs, _fair_page, fair_no, "publish", publish, f"/fairs/{fair_no}?done=published"
    )


def progress(lot: views.LotView) -> list[dict[str, str]]:
    """The lot's phases as a progress line: done, current, to come; a failed or ended lot shows the phases it
    passed (evaluation once it was ranked, awarding once an award was offered) and stops there."""
    phase = LotPhase(lot.phase)
    names = {p: LOT_PHASE_NAMES[p][1] for p in LOT_STEPS}  # the steps by their names as steps (投标期, not 接受投标中)
    if phase in LOT_STEPS:
        at = LOT_STEPS.index(phase)
        status = (
            ["done"] * at
            + ["done" if phase is LotPhase.awarded else "current"]
            + ["to_come"] * (len(LOT_STEPS) - at - 1)
        )
        return [{"name": names[p], "status": s} for p, s in zip(LOT_STEPS, status, strict=True)]
    reached = [LotPhase.bidding, LotPhase.screening]
    reached += [LotPhase.evaluation, LotPhase.result_notice] if lot.ranking else []
    reached += [LotPhase.awarding] if lot.offers else []
    return [{"name": names[p], "status": "done"} for p in reached] + [{"name": lot.phase_name, "status": "ended"}]


def lot_page(request: Request, who: Who, fairs: Fairs, lot_no: str, status_code: int = 200, **context: Any) -> Response:
    """A lot as its audience may see it, with the forms of what the caller may do now; a refused form comes
    back with its problem beside it (``problem_at``) and what was typed."""
    actor = viewer(fairs, who)
    lot = fairs.lot(actor, lot_no)
    seat = next((s for s in lot.panel if actor and s.expert.user_id == actor.user_id), None)
    organizations = (
        fairs.my_organizations(actor, 50).items if actor and lot.audience in (Audience.public, Audience.bidder) else []
    )
    return render(
        request,
        "lot.html",
        who,
        status_code,
        lot=lot,
        steps=progress(lot),
        seat=seat,
        scoring=bool(seat and seat.status is SeatStatus.scoring and lot.phase == LotPhase.evaluation),
        organizations=organizations,
        bidding=lot.phase == LotPhase.bidding,
        active_bids=[b for b in lot.bids if b.active],
        open_offers=[o for o in lot.offers if o.response is None],
        files=fairs.attachment_names(lot.bids),
        done=done_message(request),
        **{"typed": {}, "problem_at": None, **context},
    )


@router.get("/lots/{lot_no}")
async def lot(request: Request, who: Who, fairs: Fairs, lot_no: LotNo) -> Response:
    return lot_page(request, who, fairs, lot_no)


@router.post("/lots/{lot_no}/negotiations")
async def record_negotiation(request: Request, form: Form, who: Who, fairs: Fairs, lot_no: LotNo) -> Response:
    actor = fairs.actor(signed_in(who))

    async def record() -> None:
        entry = parsed(
            NegotiationInput,
            {
                "organization": str(form.get("organization") or ""),
                "summary": str(form.get("summary") or ""),
                "participants": lines(form.get("participants")),
            },
        )
        await fairs.record_negotiation(actor, lot_no, entry)

    then = f"/lots/{lot_no}?done=negotiation"
    return await acting(request, form, who, fairs, lot_page, lot_no, "negotiation", record, then, typed_key=True)


@router.post("/lots/{lot_no}/challenges/{challenge_id}/answer")
async def answer_challenge(
    request: Request, form: Form, who: Who, fairs: Fairs, lot_no: LotNo, challenge_id: ItemId
) -> Response:
    actor = fairs.actor(signed_in(who))

    async def answer() -> None:
        outcome = str(form.get("outcome") or "")
        if outcome not in ("upheld", "dismissed"):
            raise ServiceError("invalid", "请选择“质疑成立”或“质疑不成立”")
        reply = parsed(
            views.ChallengeAnswerInput,
            {
                "upheld": outcome == "upheld",
                "reasons": lines(form.get("reasons")),
                "disqualify_bid": str(form.get("disqualify_bid") or "") or None,
            },
        )
        await fairs.answer_challenge(actor, lot_no, challenge_id, reply)

    then = f"/lots/{lot_no}?done=answered"
    return await acting(request, form, who, fairs, lot_page, lot_no, f"challenge-{challenge_id}", answer, then)


@router.post("/lots/{lot_no}/failed-lot-decision")
async def decide_failed_lot(request: Request, form: Form, who: Who, fairs: Fairs, lot_no: LotNo) -> Response:
    actor = fairs.actor(signed_in(who))

    async def decide() -> None:
        choice = str(form.get("decision") or "")
        if choice not in ("retender", "close"):
            raise ServiceError("invalid", "请选择“重新组织”或“终止项目”")
        bids_close = (
            local_moment(str(form.get("bids_close") or ""), "新的投标截止时间") if choice == "retender" else None
        )
        decision = parsed(
            views.FailedLotInput,
            {"retender": choice == "retender", "bids_close": bids_close, "reasons": lines(form.get("reasons"))},
        )
        await fairs.decide_failed_lot(actor, lot_no, decision)

    return await acting(request, form, who, fairs, lot_page, lot_no, "failed", decide, f"/lots/{lot_no}?done=decided")
