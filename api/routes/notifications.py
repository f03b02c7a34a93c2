"""One's messages (我的消息) with the unread count, marking them read, and how one wants to be told
(e-mail, SMS) — the same service methods the pages use."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Accounts, Limit, Offset, Service, UserId
from api.errors import errors
from schemas.accounts import NotificationPreferences, PreferencesView
from schemas.notifications import MarkRead
from service import views
from service.views import PAGE_LIMIT

router = APIRouter()

MESSAGES = ["申请人", "工作人员"]


@router.get("/api/notifications", tags=MESSAGES, summary="我的消息（分页，最新的在前）及未读条数", responses=errors(403, 422))
async def notifications(
    service: Service,
    user: UserId,
    unread_only: Annotated[bool, Query(description="只看未读消息")] = False,
    limit: Limit = PAGE_LIMIT,
    offset: Offset = 0,
) -> views.NotificationPage:
    return service.notifications(service.actor(user), limit, offset, unread_only)


@router.post(
    "/api/notifications/read", tags=MESSAGES, summary="标为已读（指定的消息，或全部）；返回仍未读的条数",
    responses=errors(400, 403, 404, 422),
)
async def mark_read(marked: MarkRead, service: Service, user: UserId) -> int:
    return service.mark_read(service.actor(user), marked.keys)


@router.get("/api/account/preferences", tags=["账号与登录"], summary="我的通知方式（电子邮件、短信）", responses=errors(403, 422))
async def preferences(service: Service, accounts: Accounts, user: UserId) -> PreferencesView:
    return accounts.preferences(service.actor(user).user_id)


@router.put(
    "/api/account/preferences", tags=["账号与登录"], summary="设置我的通知方式：站内消息总会收到，电子邮件和短信可选",
    responses=errors(400, 403, 422),
)
async def set_preferences(chosen: NotificationPreferences, service: Service, accounts: Accounts, user: UserId) -> PreferencesView:
    return accounts.set_preferences(service.actor(user).user_id, chosen)
