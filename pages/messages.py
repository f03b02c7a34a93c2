"""消息: a signed-in person's notifications, newest first, unread ones marked, each leading to its case;
marking one or all read. The unread count in every page's header comes from ``pages.common.render``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import Service, Who, signed_in
from pages.common import Form, back_to, page_count, page_number, render
from schemas.notifications import NotificationKind

router = APIRouter()

MESSAGES_PER_PAGE = 20
ABOUT_MY_CASE = frozenset(
    {
        NotificationKind.correction_requested,
        NotificationKind.accepted,
        NotificationKind.public_notice_started,
        NotificationKind.objection_answer_invited,
        NotificationKind.objection_resolved,
        NotificationKind.decided,
        NotificationKind.lapsed,
        NotificationKind.withdrawn,
    }
)
"""Messages to an applicant about their 备案/登记 case, which 我的办件 shows; the others name their case only."""


@router.get("/messages")
async def messages(request: Request, who: Who, service: Service, page: int = 1) -> Response:
    actor = service.actor(signed_in(who))
    page = page_number(page)
    found = service.notifications(actor, MESSAGES_PER_PAGE, (page - 1) * MESSAGES_PER_PAGE)
    return render(
        request,
        "messages.html",
        who,
        messages=found,
        page=page,
        about_my_case=ABOUT_MY_CASE,
        pages=page_count(found.total, MESSAGES_PER_PAGE),
    )


@router.post("/messages/read")
async def mark_read(request: Request, form: Form, who: Who, service: Service) -> Response:
    """One message (its ``key``) or, without one, all of them; back to the page the reader was on."""
    key = str(form.get("key") or "")[:300]
    service.mark_read(service.actor(signed_in(who)), [key] if key else None)
    page = str(form.get("page") or "1")
    return back_to(f"/messages?page={page if page.isdigit() and len(page) < 6 else 1}")
