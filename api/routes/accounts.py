"""Sign-in and sign-out, one's own account (password, sign-in record, tokens), and the administrator's
accounts, directory (roles, jurisdictions) and AB岗 posts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Accounts,
    Limit,
    Offset,
    Who,
    cookie_signer,
    safe_next,
    session_key,
    signed_in,
)
from api.errors import errors
from schemas.accounts import (
    USER_ID,
    AccountChangeView,
    AccountInput,
    AccountStatus,
    AccountView,
    DirectoryView,
    PasswordChange,
    PasswordReset,
    PostInput,
    PostView,
    SessionView,
    SignInInput,
    SignInView,
    SignUpInput,
    StaffInput,
    StaffView,
    TokenCreated,
    TokenInput,
    TokenView,
)
from service import views
from service.accounts import AccountService, SignedIn
from service.common import ServiceError
from service.oidc import Attempt, SingleSignOn
from service.views import PAGE_LIMIT

router = APIRouter()

ACCOUNT = ["账号与登录"]
ADMIN = ["系统管理"]
TargetUser = Annotated[str, Path(min_length=1, max_length=64, pattern=USER_ID, description="用户名")]
TokenId = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[0-9a-f]+$", description="令牌编号")]


OIDC_COOKIE = "shezu_oidc"
OIDC_SECONDS = 600
"""How long a single sign-on attempt may take at the platform."""
NOT_CONFIGURED = "本系统没有配置统一身份认证（单点登录），请用账号密码登录"


def _single_sign_on(request: Request) -> SingleSignOn:
    sso: SingleSignOn | None = request.app.state.sso
    if sso is None:
        raise ServiceError("not_found", NOT_CONFIGURED)
    return sso


def _attempts(accounts: AccountService) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(accounts.cookie_key, salt="shezu-oidc")


def start_session(response: Response, accounts: AccountService, new: SignedIn) -> SessionView:
    """Set the session's cookies: the signed key (HttpOnly) and the CSRF token the page's script reads."""
    secure, max_age = accounts.settings.cookie_secure, accounts.settings.session_minutes * 60
    response.set_cookie(SESSION_COOKIE, cookie_signer(accounts).sign(new.key).decode(), max_age=max_age,
                        httponly=True, samesite="lax", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, new.csrf_token, max_age=max_age, httponly=False, samesite="lax", secure=secure, path="/")
    return SessionView(user=new.user, csrf_token=new.csrf_token, expires_at=new.expires_at)


@router.get(
    "/api/oidc/login", tags=ACCOUNT, summary="统一身份认证（单点登录）：转到政府统一身份认证平台登录",
    status_code=307, response_class=RedirectResponse, responses={**errors(404, 503), 307: {"description": "转到认证平台"}},
)
async def oidc_login(
    request: Request, accounts: Accounts,
    next_page: Annotated[
        str | None, Query(alias="next", max_length=300, description="登录后转到本站的哪个页面；不填则返回会话信息（JSON）")
    ] = None,
) -> RedirectResponse:
    address, attempt = await _single_sign_on(request).start()
    answer = RedirectResponse(address, status_code=307)
    kept = [attempt.state, attempt.nonce, attempt.verifier, safe_next(next_page)]
    answer.set_cookie(OIDC_COOKIE, _attempts(accounts).dumps(kept),
                      max_age=OIDC_SECONDS, httponly=True, samesite="lax", secure=accounts.settings.cookie_secure,
                      path="/api/oidc")
    return answer


@router.get(
    "/api/oidc/callback", tags=ACCOUNT, summary="统一身份认证平台登录后返回本系统：建立会话",
    description="平台用户按配置的声明（默认 preferred_username）对应本系统同名账号；没有账号的不能登录，须由管理员先开设。",
    response_model=SessionView, responses={**errors(403, 404, 422, 503), 303: {"description": "从登录页面发起的：转到该页面"}},
)
async def oidc_callback(
    request: Request, response: Response, accounts: Accounts,
    state: Annotated[str, Query(min_length=1, max_length=512, description="本次登录的 state")],
    code: Annotated[str | None, Query(min_length=1, max_length=2048, description="授权码")] = None,
    error: Annotated[str | None, Query(min_length=1, max_length=200, description="平台返回的错误")] = None,
) -> SessionView | RedirectResponse:
    sso = _single_sign_on(request)
    try:
        kept = _attempts(accounts).loads(request.cookies.get(OIDC_COOKIE, ""), max_age=OIDC_SECONDS)
    except BadSignature as problem:
        raise ServiceError("forbidden", "单点登录已超时或不是从本系统发起的，请重新登录") from problem
    *attempt, page = kept
    try:
        if error or not code:
            raise ServiceError("forbidden", "统一身份认证平台没有完成登录（可能已取消），请重新登录")
        user_id = await sso.finish(Attempt(*attempt), state, code)
        client = request.client.host if request.client else None
        new = accounts.sign_in_by_platform(user_id, client, replacing=session_key(request))
    except ServiceError:
        if not page:
            raise
        # a browser that came from the sign-in page goes back there, told in words the page chooses
        return RedirectResponse("/sign-in?platform=refused", status_code=303)
    if not page:
        response.delete_cookie(OIDC_COOKIE, path="/api/oidc")
        return start_session(response, accounts, new)
    answer = RedirectResponse(page, status_code=303)
    answer.delete_cookie(OIDC_COOKIE, path="/api/oidc")
    start_session(answer, accounts, new)
    return answer


@router.post(
    "/api/session", tags=ACCOUNT, summary="登录（用户名和密码）：设置会话 Cookie，返回防伪令牌 csrf_token",
    description="会话 Cookie 为 HttpOnly、SameSite=Lax，到期或闲置过久即失效。此后凡是修改数据的请求，"
    "须在请求头 X-CSRF-Token 中带上 csrf_token。连续多次密码错误，账号将暂时锁定。",
    responses=errors(400, 401, 403, 413, 422, 429),
)
async def sign_in(credentials: SignInInput, request: Request, response: Response, accounts: Accounts) -> SessionView:
    client = request.client.host if request.client else None
    new = accounts.sign_in(credentials.user_id, credentials.password, client, replacing=session_key(request))
    return start_session(response, accounts, new)


@router.post(
    "/api/accounts", tags=ACCOUNT, summary="注册：申请人自行开设账号，并随即登录（设置会话 Cookie，返回 csrf_token）",
    description="新账号是申请人，不能自选角色。用户名已被使用（含工作人员名录中的）时一律答“该用户名不可用”。"
    "填写的电子邮箱、手机号码即为通知方式。同一网络地址注册过多须稍候再试；系统关闭自行注册（SHEZU_SIGN_UP=false）时拒绝。",
    status_code=201, responses=errors(400, 403, 409, 413, 422, 429),
)
async def sign_up(account: SignUpInput, request: Request, response: Response, accounts: Accounts) -> SessionView:
    client = request.client.host if request.client else None
    return start_session(response, accounts, accounts.sign_up(account, client, replacing=session_key(request)))


@router.get("/api/session", tags=ACCOUNT, summary="我是谁：当前登录的用户", responses=errors(401, 422))
async def whoami(who: Who, accounts: Accounts) -> AccountView:
    return accounts.me(signed_in(who))


@router.delete("/api/session", tags=ACCOUNT, summary="退出登录：结束本会话", status_code=204, responses=errors(403, 422))
async def sign_out(who: Who, accounts: Accounts, response: Response) -> None:
    if who.session_key:
        accounts.sign_out(who.session_key)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.post(
    "/api/account/password", tags=ACCOUNT, summary="修改自己的密码（本会话以外的会话全部退出）", status_code=204,
    responses=errors(400, 401, 403, 413, 422),
)
async def change_password(change: PasswordChange, who: Who, accounts: Accounts) -> None:
    accounts.change_password(signed_in(who), change, who.session_key)


@router.get("/api/account/sign-ins", tags=ACCOUNT, summary="我的登录记录（最新的在前）", responses=errors(401, 422))
async def my_sign_ins(who: Who, accounts: Accounts, limit: Limit = PAGE_LIMIT, offset: Offset = 0) -> views.Page[SignInView]:
    return accounts.sign_ins(signed_in(who), limit, offset)


@router.get("/api/tokens", tags=ACCOUNT, summary="我的接口令牌（管理员可查看他人的）", responses=errors(401, 403, 422))
async def tokens(
    who: Who, accounts: Accounts, limit: Limit = PAGE_LIMIT, offset: Offset = 0,
    user_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=USER_ID, description="他人的用户名（仅管理员）")] = None,
) -> views.Page[TokenView]:
    return accounts.tokens(signed_in(who), user_id, limit, offset)


@router.post(
    "/api/tokens", tags=ACCOUNT, summary="创建接口令牌（命令行、系统对接用；只显示一次）", status_code=201,
    responses=errors(400, 401, 403, 413, 422),
)
async def create_token(request: TokenInput, who: Who, accounts: Accounts) -> TokenCreated:
    return accounts.create_token(signed_in(who), request)


@router.delete("/api/tokens/{token_id}", tags=ACCOUNT, summary="撤销接口令牌", status_code=204, responses=errors(401, 403, 404, 422))
async def revoke_token(token_id: TokenId, who: Who, accounts: Accounts) -> None:
    accounts.revoke_token(signed_in(who), token_id)


@router.get("/api/admin/accounts", tags=ADMIN, summary="全部账号（可按用户名或姓名查找），含最近登录时间", responses=errors(401, 403, 422))
async def accounts_list(
    who: Who, accounts: Accounts, limit: Limit = PAGE_LIMIT, offset: Offset = 0,
    q: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$",
                                   description="用户名或姓名中含有的文字")] = None,
) -> views.Page[AccountView]:
    return accounts.accounts(signed_in(who), limit, offset, q.strip() if q else None)


@router.get("/api/admin/accounts/{user_id}", tags=ADMIN, summary="一个账号，含最近登录时间", responses=errors(401, 403, 404, 422))
async def account(user_id: TargetUser, who: Who, accounts: Accounts) -> AccountView:
    return accounts.account(signed_in(who), user_id)


@router.post("/api/admin/accounts", tags=ADMIN, summary="开设账号（工作人员用名录中的用户名）", status_code=201,
             responses=errors(400, 401, 403, 409, 413, 422))
async def create_account(request: AccountInput, who: Who, accounts: Accounts) -> AccountView:
    return accounts.create_account(signed_in(who), request)


@router.post(
    "/api/admin/accounts/{user_id}/password", tags=ADMIN, summary="重置密码（解除锁定，该用户的会话全部退出）",
    status_code=204, responses=errors(400, 401, 403, 404, 413, 422),
)
async def reset_password(user_id: TargetUser, reset: PasswordReset, who: Who, accounts: Accounts) -> None:
    accounts.reset_password(signed_in(who), user_id, reset)


@router.put("/api/admin/accounts/{user_id}/status", tags=ADMIN, summary="停用或启用账号", responses=errors(400, 401, 403, 404, 413, 422))
async def account_status(user_id: TargetUser, status: AccountStatus, who: Who, accounts: Accounts) -> AccountView:
    return accounts.set_status(signed_in(who), user_id, status)


@router.get(
    "/api/admin/directory", tags=ADMIN, summary="人员名录：可选的角色、辖区和单位，名录中的人员，各环节的 AB岗",
    responses=errors(401, 403, 422),
)
async def staff_directory(who: Who, accounts: Accounts) -> DirectoryView:
    return accounts.directory(signed_in(who))


@router.put(
    "/api/admin/staff/{user_id}", tags=ADMIN, summary="在人员名录中设置某人的角色、辖区和单位",
    responses=errors(400, 401, 403, 409, 413, 422),
)
async def assign_staff(user_id: TargetUser, entry: StaffInput, who: Who, accounts: Accounts) -> StaffView:
    return accounts.assign_staff(signed_in(who), user_id, entry)


@router.delete("/api/admin/staff/{user_id}", tags=ADMIN, summary="移出人员名录", status_code=204,
               responses=errors(401, 403, 404, 409, 422))
async def remove_staff(user_id: TargetUser, who: Who, accounts: Accounts) -> None:
    accounts.remove_staff(signed_in(who), user_id)


@router.put("/api/admin/posts", tags=ADMIN, summary="设置 AB岗：A岗和B岗人选", responses=errors(400, 401, 403, 413, 422))
async def assign_post(post: PostInput, who: Who, accounts: Accounts) -> PostView:
    return accounts.assign_post(signed_in(who), post)


@router.get("/api/admin/changes", tags=ADMIN, summary="账号和名录的变更记录（谁、何时、改了什么）", responses=errors(401, 403, 422))
async def changes(
    who: Who, accounts: Accounts, limit: Limit = PAGE_LIMIT, offset: Offset = 0,
    user_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=USER_ID, description="只看关于此人的变更")] = None,
) -> views.Page[AccountChangeView]:
    return accounts.changes(signed_in(who), user_id, limit, offset)
