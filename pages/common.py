"""What every page shares: rendering with the caller and their CSRF token, reading a posted form before
the caller is checked, the text-size preference, and refusals shown as pages in plain Chinese."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from starlette.datastructures import FormData

from api.deps import CSRF_FIELD, FORM_CSRF, Caller
from schemas.application import Track
from schemas.localtime import SHANGHAI, date_in_words, local_text
from schemas.money import yuan
from schemas.people import STAFF_ROLES, Actor, Role
from schemas.procurement import score_text
from service.accounts import AccountService
from service.common import ServiceError
from service.validation import describe
from settings import PROJECT_ROOT
from store import register

STATIC_DIR = PROJECT_ROOT / "pages" / "static"
VENDOR_DIR = PROJECT_ROOT / "pages" / "vendor"
"""Page scripts from npm (``package.json`` there), served under ``/static/vendor``: nothing from a CDN."""
TEMPLATES = Jinja2Templates(directory=PROJECT_ROOT / "templates" / "pages")
ISO_DAY = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def dates_in_words(text: str) -> str:
    """Recorded text (a timeline entry, a message) as a reader is shown it: ``2026-12-16`` as 2026年12月16日.
    What was recorded keeps its text; only the page reads the dates out."""
    return ISO_DAY.sub(lambda m: f"{int(m[1])}年{int(m[2])}月{int(m[3])}日", text)


TEMPLATES.env.filters.update({"local": local_text, "day": date_in_words, "yuan": yuan, "dates_in_words": dates_in_words, "points": score_text})


def page_number(page: int) -> int:
    """A list's page number as asked for, kept between the first and a far last."""
    return max(1, min(page, 10_000))


def page_count(total: int, per_page: int) -> int:
    """How many pages a list of ``total`` items takes (one, even when empty)."""
    return max(1, -(-total // per_page))


def page_at(request: Request, number: int) -> str:
    """The page the reader is on, at another page number of its list, keeping its filters."""
    return request.url.path + "?" + urlencode({**request.query_params, "page": number})


TEMPLATES.env.globals["page_at"] = page_at
TASK_PAGES: dict[str, str] = {}
"""Where a task is worked on, by its step, for processes other than 备案/登记 (whose cases are at
``/work/cases/``); each process's page module adds its steps."""


def task_page(task: Any) -> str:
    """The page a task in 待办 leads to."""
    return TASK_PAGES.get(task.step, "/work/cases/") + task.case_no


TEMPLATES.env.globals["task_page"] = task_page
LARGE_TYPE_COOKIE = "shezu_large_type"
"""The reader's text-size choice ("1": large); a display preference kept only in their browser."""
API_PREFIXES = ("/api/", "/docs", "/openapi.json", "/redoc")


async def posted_form(request: Request) -> FormData:
    """The posted form; its hidden CSRF token is handed to ``caller``, which checks it like the header. A
    route declares it before ``Who`` (dependencies run in order); declared after, every post is refused."""
    form = await request.form()
    setattr(request.state, FORM_CSRF, str(form.get(CSRF_FIELD) or ""))
    return form


Form = Annotated[FormData, Depends(posted_form)]


def track_named(value: str) -> Track:
    """The track a page's address names, or the page saying there is no such track."""
    if value not in Track.__members__:
        raise ServiceError("not_found", f"没有「{value[:40]}」这个办理类型，请从办事指南列表中选择")
    return Track(value)


def render(request: Request, template: str, who: Caller | None = None, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page with the caller, their form token, their unread messages (for the header) and the text-size choice."""
    accounts: AccountService = request.app.state.accounts
    session = accounts.session(who.session_key) if who and who.session_key else None
    unread = request.app.state.service.unread(who.user_id) if who and who.user_id else 0
    actor = request.app.state.service.actor(who.user_id) if who and who.user_id else None
    return TEMPLATES.TemplateResponse(
        request, template, status_code=status_code,
        context={
            "user_id": who.user_id if who else None,
            "is_admin": bool(who and who.user_id and accounts.is_administrator(who.user_id)),
            "staff": actor is not None and actor.role in STAFF_ROLES,
            "auditor": actor is not None and actor.role is Role.auditor,
            "contract_party": actor is not None and has_contracts(request.app.state.service.engine, actor),
            "expert": actor is not None and actor.role is Role.expert,
            "civil_affairs": actor is not None and actor.role is Role.civil_affairs,
            "base_people": actor is not None and actor.role in BASE_ROLES,
            "csrf_token": session.csrf_token if session else "",
            "unread": unread,
            "large_type": request.cookies.get(LARGE_TYPE_COOKIE) == "1",
            "path": request.url.path,
            **context,
        },
    )


def has_contracts(engine: Engine, actor: Actor) -> bool:
    """Whether the header offers 我的合同: to buying departments, finance, evaluators and 民政局, and to the
    representatives of an organization (who may supply one)."""
    if actor.role in (Role.department, Role.finance, Role.evaluator, Role.civil_affairs):
        return True
    return actor.role is Role.applicant and bool(register.represented_by(engine, actor.user_id))


def model_from(form: FormData, model: type[BaseModel]) -> Any:
    """A request model from a form's text fields."""
    return parsed(model, {k: v for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)})


def parsed(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """A request model, its problems explained in Chinese as the API explains them."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details = describe(error.errors(), model)
        raise ServiceError("invalid", "填写的内容有误：" + "；".join(details), details) from error


def fen_from(text: str, what: str) -> int:
    """An amount typed in 元 (up to two decimals, commas allowed) as integer fen, or a refusal saying how to type it."""
    match = re.fullmatch(r"(\d{1,12})(?:\.(\d{1,2}))?", text.strip().replace(",", "").replace("，", ""))
    if not match:
        raise ServiceError("invalid", f"{what}请填写金额（元），最多两位小数，例如 285000 或 285000.50")
    return int(match[1]) * 100 + int((match[2] or "").ljust(2, "0"))


def local_moment(text: str, what: str) -> str:
    """A date and time picked in the browser (北京时间, no zone) as an ISO moment with its zone."""
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=SHANGHAI).isoformat()
    except ValueError:
        raise ServiceError("invalid", f"请选择{what}（日期和时间）") from None


def back_to(path: str) -> RedirectResponse:
    """After a form: show the resulting page (303, so a reload does not post again)."""
    return RedirectResponse(path, status_code=303)


BASE_ROLES = frozenset({Role.incubator, Role.mentor})
"""The people of an incubation base (its A岗/B岗 and mentors): their work is 孵化管理, they have no 办件."""
START_PAGES = {
    **dict.fromkeys(BASE_ROLES, "/work/incubations"),
    Role.auditor: "/audit", Role.expert: "/review/lots",
    Role.department: "/contracts", Role.finance: "/contracts", Role.evaluator: "/contracts",
    **dict.fromkeys(STAFF_ROLES, "/work/tasks"),
}
"""Where each role's work is; anyone else (an applicant, an organization's representative) starts at 我的办件."""


def landing(request: Request, user_id: str) -> str:
    """Where a signed-in person starts: the administrator at 管理, everyone else where their role's work is."""
    if request.app.state.accounts.is_administrator(user_id):
        return "/admin"
    return START_PAGES.get(request.app.state.service.actor(user_id).role, "/my/cases")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def install_errors(app: FastAPI) -> None:
    """Refusals on a page become a page saying what to do; the API keeps its JSON ``ErrorBody``."""
    api_handler = app.exception_handlers[ServiceError]

    @app.exception_handler(ServiceError)
    async def _refusal(request: Request, error: ServiceError) -> Response:
        if not is_page(request):
            return await api_handler(request, error)
        if error.kind == "unauthenticated":
            return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)
        who = getattr(request.state, "caller", None)
        return render(request, "error.html", who, status_code=error.status_code, error=error)

