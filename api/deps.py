"""What routes depend on: the services built at start-up, the caller's identity, and list windows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from itsdangerous import BadSignature, Signer

from service.accounts import AccountService, same_secret
from service.cases import CaseService
from service.common import SIGN_IN_FIRST, ServiceError
from service.contracts import ContractService
from service.fairs import FairService
from service.incubation import IncubationService
from service.views import PAGE_LIMIT, PAGE_LIMIT_MAX


def case_service(request: Request) -> CaseService:
    return request.app.state.service


def fair_service(request: Request) -> FairService:
    return request.app.state.fairs


def contract_service(request: Request) -> ContractService:
    return request.app.state.contracts


def incubation_service(request: Request) -> IncubationService:
    return request.app.state.incubations


SESSION_COOKIE = "shezu_session"
CSRF_COOKIE = "shezu_csrf"
"""Readable by the page's own script (not HttpOnly), to send back in ``X-CSRF-Token`` (double submit)."""
CSRF_HEADER = "X-CSRF-Token"
GATEWAY_HEADER = "X-Shezu-Gateway"
CSRF_FIELD = "csrf_token"
"""The hidden field of a page's form that carries the same token as the header."""
FORM_CSRF = "form_csrf_token"
"""Where a page puts the posted form's token (``request.state``) before ``caller`` checks it."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_REFUSED = (
    "缺少或错误的防伪令牌（CSRF）：网页请刷新后重试；脚本请在请求头 X-CSRF-Token 中带上登录时返回的 csrf_token"
)


def account_service(request: Request) -> AccountService:
    return request.app.state.accounts


@dataclass(frozen=True)
class Caller:
    """Who is calling and how they proved it: ``via`` is gateway, token or session (None: the public)."""

    user_id: str | None = None
    via: str | None = None
    session_key: str | None = None


def session_key(request: Request) -> str | None:
    """The session key from the signed cookie, or None when there is none or its signature is wrong."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return cookie_signer(request.app.state.accounts).unsign(cookie).decode()
    except BadSignature:
        return None


def cookie_signer(accounts: AccountService) -> Signer:
    return Signer(accounts.cookie_key, salt="shezu-session")


def caller(
    request: Request,
    x_user_id: Annotated[
        str | None,
        Header(
            alias="X-User-Id", max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$",
            description="用户标识（不超过64个字符）。只在可信网关模式下、且请求带有网关密钥（X-Shezu-Gateway）时有效；否则被忽略。",
        ),
    ] = None,
) -> Caller:
    """The one place that decides who calls: the trusted gateway's word (only in gateway mode, with its
    secret), else a bearer token, else the session cookie (with its CSRF token on every change: the header,
    or a page form's hidden field that the page read first), else
    nobody — the public. A bearer token that is not valid is refused rather than taken for the public."""
    if (found := getattr(request.state, "caller", None)) is not None:
        return found
    accounts: AccountService = request.app.state.accounts
    gateway = accounts.settings.gateway_secret
    presented = request.headers.get(GATEWAY_HEADER)
    if gateway and presented is not None and same_secret(presented, gateway):
        found = Caller(x_user_id or None, "gateway" if x_user_id else None)
    elif (authorization := request.headers.get("Authorization")) is not None:
        scheme, _, token = authorization.partition(" ")
        user_id = accounts.token_user(token.strip()) if scheme.lower() == "bearer" and 0 < len(token) <= 200 else None
        if user_id is None:
            raise ServiceError("unauthenticated", "令牌无效、已过期或已被撤销：请用 shezu login 或 POST /api/tokens 重新获取")
        found = Caller(user_id, "token")
    elif (key := session_key(request)) and (signed_in := accounts.session(key)):
        presented = request.headers.get(CSRF_HEADER) or getattr(request.state, FORM_CSRF, "")
        if request.method not in SAFE_METHODS and not same_secret(presented, signed_in.csrf_token):
            raise ServiceError("forbidden", CSRF_REFUSED)
        found = Caller(signed_in.user_id, "session", key)
    else:
        found = Caller()
    request.state.caller = found
    return found


def signed_in(who: Caller) -> str:
    """The signed-in user's id; without one, 401 from the API and the sign-in page from a page."""
    if who.user_id is None:
        raise ServiceError("unauthenticated", SIGN_IN_FIRST)
    return who.user_id


def current_user(who: Annotated[Caller, Depends(caller)]) -> str | None:
    """The calling user's id, or None for the public."""
    return who.user_id


Service = Annotated[CaseService, Depends(case_service)]
Fairs = Annotated[FairService, Depends(fair_service)]
Contracts = Annotated[ContractService, Depends(contract_service)]
Incubations = Annotated[IncubationService, Depends(incubation_service)]
UserId = Annotated[str | None, Depends(current_user)]
Accounts = Annotated[AccountService, Depends(account_service)]
Who = Annotated[Caller, Depends(caller)]

Limit = Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX, description=f"每页条数（1–{PAGE_LIMIT_MAX}，默认 {PAGE_LIMIT}）")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="从第几条开始（从 0 起）；下一页为 offset + limit")]

IDENTIFIER = r"^[A-Za-z0-9-]+$"


def key(description: str) -> object:
    """A case, fair, lot, contract, task or document number in a path: letters, digits and hyphens."""
    return Path(min_length=1, max_length=64, pattern=IDENTIFIER, description=description)


CaseNo = Annotated[str, key("案件编号，如 YJ-JG-BA-2026-00001")]
FairNo = Annotated[str, key("社洽会编号")]
LotNo = Annotated[str, key("项目编号")]
ContractNo = Annotated[str, key("合同编号")]
IncubationNo = Annotated[str, key("孵化案号，如 YJ-JG-FH-2026-00001")]
BaseCode = Annotated[str, key("孵化基地编号，如 YJ-FH")]
ItemId = Annotated[str, key("编号（异议、需求、投标、质疑、节点）")]


def safe_next(target: str | None) -> str:
    """Only a path on this site, never another site's address ("" when there is none): where a page or a
    single sign-on may send the browser next."""
    return target if target and target.startswith("/") and not target.startswith("//") and "\\" not in target else ""
