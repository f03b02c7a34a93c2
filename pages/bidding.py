"""社洽会 pages for bidders (an organization's representative) and experts: a bid with its attachment,
amended or withdrawn until the deadline, the award accepted or declined; an expert's lots (its scoring
tasks), the score sheet on the policy's rubric, and recusal. They act on the lot page of ``pages.fairs``;
``FairService`` decides what each may do, as for the API (a bidder sees only its own bid)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api.deps import Fairs, ItemId, LotNo, Service, Who, signed_in
from api.routes.documents import chunks
from pages.common import Form, fen_from, page_count, page_number, parsed, render
from pages.fairs import acting, lines, lot_page
from schemas.people import Actor
from schemas.procurement import BidInput, ScoreInput
from service import views
from service.cases import CaseService
from service.common import ServiceError

router = APIRouter()

TASKS_PER_PAGE = 20


async def bid_from(form: FormData, service: CaseService, actor: Actor, kept: list[str]) -> BidInput:
    """A bid from its form: the price typed in 元, the team and past projects one per line, and the files
    already attached (``kept``) with a new one, if chosen, stored first as the bidder's attachment."""
    attachments = [h for h in form.getlist("keep") if h in kept]
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        stored = await run_in_threadpool(service.save_attachment, actor, upload.filename, chunks(upload.file))
        attachments.append(stored.sha256)
    return parsed(
        BidInput,
        {
            "organization": str(form.get("organization") or ""),
            "price_fen": fen_from(str(form.get("price") or ""), "报价"),
            "proposal": str(form.get("proposal") or ""),
            "team": lines(form.get("team")),
            "past_projects": lines(form.get("past_projects")),
            "attachments": list(dict.fromkeys(attachments)),
        },
    )


@router.post("/lots/{lot_no}/bids")
async def submit_bid(request: Request, form: Form, who: Who, fairs: Fairs, service: Service, lot_no: LotNo) -> Response:
    actor = fairs.actor(signed_in(who))

    async def submit() -> None:
        await fairs.submit_bid(actor, lot_no, await bid_from(form, service, actor, []))

    return await acting(request, form, who, fairs, lot_page, lot_no, "bid", submit, f"/lots/{lot_no}?done=bid")


@router.post("/lots/{lot_no}/bids/{bid_id}")
async def amend_bid(
    request: Request, form: Form, who: Who, fairs: Fairs, service: Service, lot_no: LotNo, bid_id: ItemId
) -> Response:
    actor = fairs.actor(signed_in(who))
    own = next((b for b in fairs.lot(actor, lot_no).bids if b.bid_id == bid_id), None)

    async def amend() -> None:
        kept = own.attachments if own else []
        await fairs.amend_bid(actor, lot_no, bid_id, await bid_from(form, service, actor, kept))

    then = f"/lots/{lot_no}?done=amended"
    return await acting(request, form, who, fairs, lot_page, lot_no, f"amend-{bid_id}", amend, then)


@router.post("/lots/{lot_no}/bids/{bid_id}/withdrawal")
async def withdraw_bid(request: Request, form: Form, who: Who, fairs: Fairs, lot_no: LotNo, bid_id: ItemId) -> Response:
    actor = fairs.actor(signed_in(who))

    async def withdraw() -> None:
        await fairs.withdraw_bid(actor, lot_no, bid_id)

    then = f"/lots/{lot_no}?done=withdrawn"
    return await acting(request, form, who, fairs, lot_page, lot_no, f"amend-{bid_id}", withdraw, then)


@router.post("/lots/{lot_no}/award-response")
async def respond_to_award(request: Request, form: Form, who: Who, fairs: Fairs, lot_no: LotNo) -> Response:
    actor = fairs.actor(signed_in(who))
    choice = str(form.get("response") or "")

    async def respond() -> None:
        if choice not in ("accept", "decline"):
            raise ServiceError("invalid", "请选择“确认成交”或“放弃成交”")
        response = parsed(
            views.AwardResponseInput,
            {
                "organization": str(form.get("organization") or ""),
                "accept": choice == "accept",
                "reasons": lines(form.get("reasons")),
            },
        )
        await fairs.respond_to_award(actor, lot_no, response)

    then = f"/lots/{lot_no}?done={'accepted' if choice == 'accept' else 'declined'}"
    return await acting(request, form, who, fairs, lot_page, lot_no, "award", respond, then)


@router.post("/lots/{lot_no}/challenges")
async def file_challenge(request: Request, form: Form, who: Who, fairs: Fairs, lot_no: LotNo) -> Response:
    """质疑 during the result notice, by an organization that bid."""
    actor = fairs.actor(signed_in(who))

    async def file() -> None:
        challenge = parsed(
            views.ChallengeInput,
            {"organization": str(form.get("organization") or ""), "content": str(form.get("content") or "")},
        )
        await fairs.file_challenge(actor, lot_no, challenge)

    then = f"/lots/{lot_no}?done=challenged"
    return await acting(request, form, who, fairs, lot_page, lot_no, "challenge", file, then)


@router.get("/review/lots")
async def expert_lots(request: Request, who: Who, service: Service, page: int = 1, done: bool = False) -> Response:
    """The lots an expert sits on: its scoring tasks, open or (``done``) ended."""
    actor = service.actor(signed_in(who))
    page = page_number(page)
    found = service.inbox(
        actor, limit=TASKS_PER_PAGE, offset=(page - 1) * TASKS_PER_PAGE, scope="done" if done else "mine"
    )
    return render(
        request,
        "lot_reviews.html",
        who,
        tasks=found,
        done=done,
        page=page,
        pages=page_count(found.total, TASKS_PER_PAGE),
    )


@router.post("/lots/{lot_no}/scores")
async def score(request: Request, form: Form, who: Who, fairs: Fairs, lot_no: LotNo) -> Response:
    """A score sheet: every eligible bid on every dimension of the rubric, as the page lists them."""
    actor = fairs.actor(signed_in(who))
    lot = fairs.lot(actor, lot_no)

    async def submit() -> None:
        scores = {
            bid.bid_id: {d.id: str(form.get(f"{bid.bid_id}.{d.id}") or "").strip() for d in lot.rubric}
            for bid in lot.bids
        }
        comment = str(form.get("comment") or "").strip() or None
        await fairs.score(actor, lot_no, parsed(ScoreInput, {"scores": scores, "comment": comment}))

    return await acting(request, form, who, fairs, lot_page, lot_no, "score", submit, f"/lots/{lot_no}?done=scored")


@router.post("/lots/{lot_no}/recusal")
async def recuse(request: Request, form: Form, who: Who, fairs: Fairs, lot_no: LotNo) -> Response:
    actor = fairs.actor(signed_in(who))

    async def declare() -> None:
        await fairs.declare_conflict(
            actor, lot_no, parsed(views.ConflictInput, {"reason": str(form.get("reason") or "")})
        )

    return await acting(request, form, who, fairs, lot_page, lot_no, "recusal", declare, f"/lots/{lot_no}?done=recused")
