"""Signing up, in and out, changing one's password, and the text-size choice: pages for everyone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from api.deps import CSRF_COOKIE, SESSION_COOKIE, Who, safe_next, session_key, signed_in
from api.routes.accounts import start_session
from pages.common import LARGE_TYPE_COOKIE, Form, back_to, landing, model_from, parsed, render
from schemas.accounts import PasswordChange, SignInInput, SignUpInput
from service.accounts import AccountService
from service.common import ServiceError

router = APIRouter()

SIGN_IN_FORM_SECONDS = 3600
"""How long a sign-in or sign-up form stays valid: its token proves the form came from this site (no session yet)."""
SIGN_UP_KEPT = ("user_id", "name", "email", "mobile")
"""What a refused sign-up form shows again as typed (never the passwords)."""
NextPage = Annotated[str | None, Query(max_length=300, alias="next")]


def _form_tokens(accounts: AccountService) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(accounts.cookie_key, salt="shezu-sign-in-form")


def _served_here(accounts: AccountService, form: Form, page: str) -> None:
    """A form posted before there is a session must carry the token this site put in it."""
    try:
        _form_tokens(accounts).loads(str(form.get("form_token") or ""), max_age=SIGN_IN_FORM_SECONDS)
    except BadSignature as expired:
        raise ServiceError("forbidden", f"{page}页面已过期，请重新填写后提交") from expired


@router.get("/")
async def home(request: Request, who: Who) -> RedirectResponse:
    return RedirectResponse(landing(request, who.user_id) if who.user_id else "/guide", status_code=303)


@router.get("/sign-in")
async def sign_in_page(request: Request, who: Who, next_page: NextPage = None) -> Response:
    accounts: AccountService = request.app.state.accounts
    return render(request, "sign_in.html", who, next_page=safe_next(next_page), form_token=_form_tokens(accounts).dumps("sign-in"),
                  platform=request.app.state.sso is not None, platform_refused=request.query_params.get("platform") == "refused")


@router.post("/sign-in")
async def sign_in(request: Request, form: Form) -> Response:
    """Checks the form's own token (there is no session yet), then signs in exactly as the API does."""
    accounts: AccountService = request.app.state.accounts
    next_page = safe_next(str(form.get("next") or ""))
    try:
        _served_here(accounts, form, "登录")
        credentials = model_from(form, SignInInput)
        client = request.client.host if request.client else None
        new = accounts.sign_in(credentials.user_id, credentials.password, client, replacing=session_key(request))
    except ServiceError as refused:
        problem = refused
    else:
        answer = back_to(next_page or landing(request, new.user.user_id))
        start_session(answer, accounts, new)
        return answer
    return render(
        request, "sign_in.html", None, status_code=problem.status_code, problem=problem, next_page=next_page,
        platform=request.app.state.sso is not None,
        user_id_typed=str(form.get("user_id") or "")[:64], form_token=_form_tokens(accounts).dumps("sign-in"),
    )


@router.get("/sign-up")
async def sign_up_page(request: Request, who: Who) -> Response:
    accounts: AccountService = request.app.state.accounts
    return render(request, "sign_up.html", who, open=accounts.settings.sign_up, typed={},
                  form_token=_form_tokens(accounts).dumps("sign-up"))


def _sign_up_form(form: Form) -> SignUpInput:
    """The form as the API's body: what people type around a name or number is trimmed (never a password),
    and an optional box left empty is not given."""
    typed = {k: str(form.get(k) or "").strip() for k in SIGN_UP_KEPT}
    passwords = {k: str(form.get(k) or "") for k in ("password", "password_again")}
    return parsed(SignUpInput, {**{k: v for k, v in typed.items() if v or k not in ("email", "mobile")}, **passwords})


@router.post("/sign-up")
async def sign_up(request: Request, form: Form) -> Response:
    """Opens the account exactly as the API does, and the new applicant is signed in to 我的办件."""
    accounts: AccountService = request.app.state.accounts
    try:
        _served_here(accounts, form, "注册")
        client = request.client.host if request.client else None
        new = accounts.sign_up(_sign_up_form(form), client, replacing=session_key(request))
    except ServiceError as problem:
        typed = {k: str(form.get(k) or "")[:100] for k in SIGN_UP_KEPT}
        return render(request, "sign_up.html", None, status_code=problem.status_code, problem=problem,
                      open=accounts.settings.sign_up, typed=typed, form_token=_form_tokens(accounts).dumps("sign-up"))
    answer = back_to("/my/cases?welcome=1")
    start_session(answer, accounts, new)
    return answer


@router.post("/sign-out")
async def sign_out(request: Request, form: Form, who: Who) -> Response:
    accounts: AccountService = request.app.state.accounts
    if who.session_key:
        accounts.sign_out(who.session_key)
    answer = back_to("/sign-in?signed_out=1")
    answer.delete_cookie(SESSION_COOKIE, path="/")
    answer.delete_cookie(CSRF_COOKIE, path="/")
    return answer


@router.get("/account/password")
async def password_page(request: Request, who: Who) -> Response:
    signed_in(who)
    return render(request, "password.html", who)


@router.post("/account/password")
async def change_password(request: Request, form: Form, who: Who) -> Response:
    user_id = signed_in(who)
    accounts: AccountService = request.app.state.accounts
    try:
        accounts.change_password(user_id, model_from(form, PasswordChange), who.session_key)
    except ServiceError as problem:
        return render(request, "password.html", who, status_code=problem.status_code, problem=problem)
    return render(request, "password.html", who, changed=True)


@router.get("/text-size")
async def text_size(large: Annotated[bool, Query()] = False, next_page: NextPage = None) -> Response:
    """Large type on or off: a display choice kept in the reader's browser, changing nothing on the server."""
    answer = back_to(safe_next(next_page) or "/")
    answer.set_cookie(LARGE_TYPE_COOKIE, "1" if large else "0", max_age=365 * 24 * 3600, samesite="lax", path="/")
    return answer
