"""The administrator's pages: accounts (open, reset a password, disable or enable), each person's place in
the staff directory, the AB岗 of each office, and the record of changes. Every action is the admin API's
own ``AccountService`` method, so the pages refuse exactly what the API refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api.deps import CSRF_FIELD, Accounts, Who, signed_in
from api.routes.accounts import TargetUser
from pages.common import Form, back_to, model_from, page_count, page_number, parsed, render
from schemas.accounts import (
    AccountChangeView,
    AccountInput,
    AccountStatus,
    DirectoryView,
    PasswordReset,
    PostInput,
    StaffInput,
)
from schemas.people import Role
from service.common import ServiceError

router = APIRouter()

ACCOUNTS_PER_PAGE = 20
CHANGES_PER_PAGE = 30
SEARCH_LENGTH = 64
SECRET_FIELDS = frozenset({CSRF_FIELD, "password", "new_password"})
"""Never written back into a form that is shown again."""
DONE = {
    "created": "账号已开设。",
    "password": "密码已重置，该用户的登录已全部退出；请把新密码当面或电话告知本人。",
    "disabled": "账号已停用，该用户的登录已全部退出。",
    "enabled": "账号已启用。",
    "staff": "人员名录已保存。",
    "removed": "已移出人员名录。",
}
ACTIONS = {
    "create_account": "开设账号",
    "set_password": "设置初始密码",
    "reset_password": "重置密码",
    "change_password": "本人修改密码",
    "disable": "停用账号",
    "enable": "启用账号",
    "assign_staff": "设置人员名录",
    "remove_staff": "移出人员名录",
    "assign_post": "设置AB岗",
    "create_token": "创建接口令牌",
    "revoke_token": "撤销接口令牌",
    "set_preferences": "本人设置通知方式",
}


def _search_text(typed: str) -> str:
    """What a search box sent, as searched: printable characters only, trimmed, at most 64 of them."""
    return "".join(ch for ch in typed if ch.isprintable()).strip()[:SEARCH_LENGTH]


def _typed(form: FormData) -> dict[str, str]:
    """What was typed, to show again beside a refusal (never a password or the form's token)."""
    return {k: v[:200] for k, v in form.items() if k not in SECRET_FIELDS and isinstance(v, str)}


def _page(
    request: Request, template: str, who: Who, directory: DirectoryView, status_code: int = 200, **context: Any
) -> Response:
    """An admin page, with the directory's jurisdictions by code to name them."""
    places = {j.code: j.full_name for j in directory.jurisdictions}
    return render(request, template, who, status_code=status_code, directory=directory, places=places, **context)


def _staff_entry(form: FormData, name: str | None = None) -> StaffInput:
    """A directory entry from a form's name, role, jurisdiction and office (no office: none)."""
    fields = {k: str(form.get(k) or "").strip() for k in ("name", "role", "jurisdiction", "office")}
    return parsed(StaffInput, {**fields, "name": name or fields["name"], "office": fields["office"] or None})


@router.get("/admin")
async def accounts_page(request: Request, who: Who, accounts: Accounts, q: str = "", page: int = 1) -> Response:
    search, page = _search_text(q), page_number(page)
    caller = signed_in(who)
    found = accounts.accounts(caller, ACCOUNTS_PER_PAGE, (page - 1) * ACCOUNTS_PER_PAGE, search or None)
    return _page(
        request,
        "admin_accounts.html",
        who,
        accounts.directory(caller),
        accounts=found,
        q=search,
        page=page,
        pages=page_count(found.total, ACCOUNTS_PER_PAGE),
    )


@router.get("/admin/accounts/new")
async def new_account_page(
    request: Request, who: Who, accounts: Accounts, user_id: str = "", name: str = ""
) -> Response:
    """The form, filled in for a person of the directory who has no account yet when the directory page says so."""
    typed = {"user_id": _search_text(user_id), "name": _search_text(name)}
    return _page(request, "admin_account_new.html", who, accounts.directory(signed_in(who)), typed=typed)


@router.get("/admin/staff")
async def staff_page(request: Request, who: Who, accounts: Accounts, jurisdiction: str = "") -> Response:
    """The directory's staff, of one jurisdiction or all, and who of them has no account yet."""
    directory = accounts.directory(signed_in(who))
    place = _search_text(jurisdiction)
    staff = [s for s in directory.staff if not place or s.jurisdiction == place]
    return _page(request, "admin_staff.html", who, directory, staff=staff, place=place)


@router.post("/admin/accounts")
async def create_account(request: Request, form: Form, who: Who, accounts: Accounts) -> Response:
    """Opens the account and, if asked, places it in the directory: the account stays opened if the
    directory refuses, and its page says why."""
    caller = signed_in(who)
    directory = accounts.directory(caller)
    try:
        opening = model_from(form, AccountInput)
        entry = _staff_entry(form, opening.name) if form.get("in_directory") else None
        accounts.create_account(caller, opening)
    except ServiceError as problem:
        return _page(
            request, "admin_account_new.html", who, directory, problem.status_code, problem=problem, typed=_typed(form)
        )
    if entry is not None:
        try:
            accounts.assign_staff(caller, opening.user_id, entry)
        except ServiceError as problem:
            note = ServiceError(problem.kind, f"账号已开设，但没有放入人员名录：{problem.message}")
            return _account_page(
                request,
                who,
                accounts,
                opening.user_id,
                problem.status_code,
                problem=note,
                problem_at="staff",
                typed=_typed(form),
            )
    return back_to(f"/admin/accounts/{opening.user_id}?done=created")


def _account_page(
    request: Request, who: Who, accounts: Accounts, user_id: str, status_code: int = 200, **context: Any
) -> Response:
    caller = signed_in(who)
    account = accounts.account(caller, user_id)
    directory = accounts.directory(caller)
    entry = next((s for s in directory.staff if s.user_id == user_id), None)
    changes = accounts.changes(caller, user_id, 5, 0)
    return _page(
        request,
        "admin_account.html",
        who,
        directory,
        status_code,
        account=account,
        entry=entry,
        changes=_described(changes.items, directory),
        **context,
    )


@router.get("/admin/accounts/{user_id}")
async def account_page(request: Request, who: Who, accounts: Accounts, user_id: TargetUser) -> Response:
    done = request.query_params.get("done")
    return _account_page(request, who, accounts, user_id, done=DONE.get(done or ""))


def _account_action(
    request: Request, form: FormData, who: Who, accounts: Accounts, user_id: str, where: str, act: Callable[[str], str]
) -> Response:
    """One of an account page's forms: the caller is an administrator and the account exists before the
    form is read (else the refusal is the whole page); the action's refusal is shown beside its form."""
    caller = signed_in(who)
    accounts.account(caller, user_id)
    try:
        done = act(caller)
    except ServiceError as problem:
        return _account_page(
            request, who, accounts, user_id, problem.status_code, problem=problem, problem_at=where, typed=_typed(form)
        )
    return back_to(f"/admin/accounts/{user_id}?done={done}")


@router.post("/admin/accounts/{user_id}/password")
async def reset_password(request: Request, form: Form, who: Who, accounts: Accounts, user_id: TargetUser) -> Response:
    def act(caller: str) -> str:
        accounts.reset_password(caller, user_id, model_from(form, PasswordReset))
        return "password"

    return _account_action(request, form, who, accounts, user_id, "password", act)


@router.post("/admin/accounts/{user_id}/status")
async def account_status(request: Request, form: Form, who: Who, accounts: Accounts, user_id: TargetUser) -> Response:
    def act(caller: str) -> str:
        status = parsed(AccountStatus, {"disabled": str(form.get("disabled") or "")})
        return "disabled" if accounts.set_status(caller, user_id, status).disabled else "enabled"

    return _account_action(request, form, who, accounts, user_id, "status", act)


@router.post("/admin/staff/{user_id}")
async def assign_staff(request: Request, form: Form, who: Who, accounts: Accounts, user_id: TargetUser) -> Response:
    def act(caller: str) -> str:
        accounts.assign_staff(caller, user_id, _staff_entry(form))
        return "staff"

    return _account_action(request, form, who, accounts, user_id, "staff", act)


@router.post("/admin/staff/{user_id}/removal")
async def remove_staff(request: Request, form: Form, who: Who, accounts: Accounts, user_id: TargetUser) -> Response:
    def act(caller: str) -> str:
        accounts.remove_staff(caller, user_id)
        return "removed"

    return _account_action(request, form, who, accounts, user_id, "removal", act)


@router.get("/admin/posts")
async def posts_page(request: Request, who: Who, accounts: Accounts) -> Response:
    done = request.query_params.get("done") == "1"
    return _page(request, "admin_posts.html", who, accounts.directory(signed_in(who)), done=done, typed={})


@router.post("/admin/posts")
async def assign_post(request: Request, form: Form, who: Who, accounts: Accounts) -> Response:
    """A refusal is shown beside the office's form (at the top when the form names no office the page shows)."""
    caller = signed_in(who)
    directory = accounts.directory(caller)
    held = (str(form.get("role")), str(form.get("jurisdiction")), str(form.get("office") or ""))
    place = next(
        (i for i, p in enumerate(directory.posts, 1) if (p.role.value, p.jurisdiction, p.office) == held), None
    )
    try:
        accounts.assign_post(caller, model_from(form, PostInput))
    except ServiceError as problem:
        return _page(
            request,
            "admin_posts.html",
            who,
            directory,
            problem.status_code,
            problem=problem,
            problem_at=place,
            typed=_typed(form),
        )
    return back_to(f"/admin/posts?done=1#post-{place or 1}")


@router.get("/admin/changes")
async def changes_page(request: Request, who: Who, accounts: Accounts, user_id: str = "", page: int = 1) -> Response:
    caller = signed_in(who)
    person, page = _search_text(user_id), page_number(page)
    found = accounts.changes(caller, person or None, CHANGES_PER_PAGE, (page - 1) * CHANGES_PER_PAGE)
    directory = accounts.directory(caller)
    return _page(
        request,
        "admin_changes.html",
        who,
        directory,
        changes=_described(found.items, directory),
        total=found.total,
        person=person,
        page=page,
        pages=page_count(found.total, CHANGES_PER_PAGE),
    )


def _described(changes: list[AccountChangeView], directory: DirectoryView) -> list[dict[str, Any]]:
    """Each change as the record shows it: who, when, what (in words), on whom."""
    names = {s.user_id: s.name for s in directory.staff}
    places = {j.code: j.full_name for j in directory.jurisdictions}
    offices = {(p.role.value, p.jurisdiction, p.office): p.office_name for p in directory.posts}

    def person(user_id: str | None, name: str | None = None) -> str:
        name = name or names.get(user_id or "")
        return f"{name}（{user_id}）" if name else (user_id or "")

    def place(entry: dict[str, Any] | None) -> str:
        if not entry:
            return "不在名录中"
        parts = (
            places.get(entry["jurisdiction"], entry["jurisdiction"]),
            Role(entry["role"]).label,
            entry.get("office"),
        )
        return "·".join(part for part in parts if part)

    def what(change: AccountChangeView) -> str:
        detail = change.detail
        match change.action:
            case "create_account" if detail.get("name"):
                return f"姓名：{detail['name']}"
            case "assign_staff":
                return f"{place(detail.get('before'))} → {place(detail.get('after'))}"
            case "remove_staff":
                return f"原为{place(detail.get('before'))}"
            case "assign_post":
                office = offices.get(
                    (detail["role"], detail["jurisdiction"], detail.get("office") or ""), detail["jurisdiction"]
                )
                before = detail.get("before")
                was = f"（原为 A岗 {person(before['a'])}，B岗 {person(before['b'])}）" if before else "（新设）"
                return f"{office}：A岗 {person(detail['a'])}，B岗 {person(detail['b'])}{was}"
            case "create_token" | "revoke_token" if detail.get("name"):
                return f"令牌「{detail['name']}」"
        return ""

    return [
        {
            "at": c.at,
            "by": person(c.by_user_id, c.by_name),
            "whom": person(c.user_id, c.user_name),
            "action": ACTIONS.get(c.action, "其他变更"),
            "what": what(c),
        }
        for c in changes
    ]
