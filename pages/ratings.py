"""好差评 for staff: the ratings of each office in their jurisdiction and below, and the latest comments."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import Service, Who, signed_in
from pages.common import page_count, page_number, render
from schemas.ratings import SCORES
from service.ratings import RatingService

router = APIRouter()

COMMENTS_PER_PAGE = 20


@router.get("/work/ratings")
async def ratings(request: Request, who: Who, service: Service, page: int = 1) -> Response:
    actor = service.actor(signed_in(who))
    page = page_number(page)
    found = RatingService(service).aggregate(actor, COMMENTS_PER_PAGE, (page - 1) * COMMENTS_PER_PAGE)
    return render(
        request,
        "ratings.html",
        who,
        ratings=found,
        scores=SCORES,
        page=page,
        actor=actor,
        pages=page_count(found.comments_total, COMMENTS_PER_PAGE),
    )
