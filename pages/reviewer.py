"""Reviewers' pages (居委会, 街道, 民政局): the inbox of 待办 and 已办, a case with its materials, checklist,
timeline and documents, the decision form for the task the reviewer holds, and objections to resolve.
The service decides who sees what: a case outside the reviewer's jurisdiction is "not found" here too."""

from __future__ import annotations

import re
from typing import Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api.deps import CaseNo, ItemId, Service, Who, signed_in
from pages.common import Form, back_to, page_count, page_number, parsed, render
from schemas.people import STAFF_ROLES
from service import views
from service.common import ServiceError

router = APIRouter()

TASKS_PER_PAGE = 20
SCOPES = {"mine": "我的待办", "group": "本岗位组", "escalated": "转给我的", "done": "已办"}
SORTS = {"deadline": "最早到期在前", "newest": "最新在前"}
DECISIONS = {"approve": "同意", "refuse": "不同意", "request_correction": "要求补正"}
RESOLUTIONS = {"dismiss": "异议不成立", "uphold": "异议成立"}
CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a step, a jurisdiction or a case number in a page's address looks like."""


def _choice(value: str | None, allowed: Any) -> Any:
    """A query parameter among the allowed values, or None (a page link never carries anything else)."""
    return value if value in allowed else None


def _code(value: str | None) -> str | None:
    return value if value and CODE.fullmatch(value) else None


@router.get("/work/tasks")
async def tasks(
    request: Request,
    who: Who,
    service: Service,
    scope: str = "mine",
    step: str | None = None,
    jurisdiction: str | None = None,
    sort: str | None = None,
    page: int = 1,
) -> Response:
    actor = service.actor(signed_in(who))
    scope = _choice(scope, SCOPES) or "mine"
    page = page_number(page)
    step, jurisdiction = (_code(value) for value in (step, jurisdiction))
    sort = _choice(sort, get_args(views.InboxSort))
    found = service.inbox(
        actor,
        jurisdiction=jurisdiction,
        limit=TASKS_PER_PAGE,
        offset=(page - 1) * TASKS_PER_PAGE,
        scope=scope,
        step=step,
        sort=sort,
    )
    filters = {k: v for k, v in {"scope": scope, "step": step, "jurisdiction": jurisdiction, "sort": sort}.items() if v}
    done = request.query_params.get("case")
    return render(
        request,
        "work_tasks.html",
        who,
        tasks=found,
        scope=scope,
        scopes=SCOPES,
        sorts=SORTS,
        step=step,
        jurisdiction=jurisdiction,
        sort=sort or ("newest" if scope == "done" else "deadline"),
        page=page,
        pages=page_count(found.total, TASKS_PER_PAGE),
        query=lambda **more: urlencode({**filters, **more}),
        decided=_code(done),
    )


def _case_page(
    request: Request,
    who: Who,
    service: Service,
    case_no: str,
    status_code: int = 200,
    typed: dict[str, Any] | None = None,
    **context: Any,
) -> Response:
    """The case as staff see it; the decision form appears only for a task the caller may act on."""
    actor = service.actor(signed_in(who))
    case = service.case(actor, case_no)
    if actor.role not in STAFF_ROLES:
        raise ServiceError(
            "forbidden", "该页面供社区居委会、街道办事处和民政局工作人员使用；申请人请在“我的办件”中查看"
        )
    objection_tasks = {o.task_id for o in case.objections}
    deciding = [h for h in case.holders if h.task_id in case.your_tasks and h.task_id not in objection_tasks]
    resolving = {o.objection_id for o in case.objections if o.task_id in case.your_tasks}
    return render(
        request,
        "work_case.html",
        who,
        status_code=status_code,
        case=case,
        deciding=deciding[0] if deciding else None,
        resolving=resolving,
        decisions=DECISIONS,
        resolutions=RESOLUTIONS,
        communities={c.code: c.full_name for c in service.communities()},
        incubation=request.app.state.incubations.incubation_of_filing(actor, case_no),
        typed=typed or {},
        **context,
    )


@router.get("/work/cases/{case_no}")
async def case_page(request: Request, who: Who, service: Service, case_no: CaseNo) -> Response:
    return _case_page(request, who, service, case_no, done=_choice(request.query_params.get("done"), ("resolved",)))


def _reasons(form: FormData) -> list[str]:
    """The reasons typed one per line, after the materials ticked to ask for (补正)."""
    asked = [f"请补交：{str(m).strip()}" for m in form.getlist("material") if str(m).strip()]
    typed = [line.strip() for line in str(form.get("reasons") or "").splitlines() if line.strip()]
    return asked + typed


@router.post("/work/cases/{case_no}/decision")
async def decide(request: Request, form: Form, who: Who, service: Service, case_no: CaseNo) -> Response:
    actor = service.actor(signed_in(who))
    typed = {k: str(form.get(k) or "") for k in ("outcome", "reasons", "comment")}
    try:
        decision = parsed(
            views.DecisionInput,
            {
                "step": str(form.get("step") or ""),
                "outcome": typed["outcome"],
                "reasons": _reasons(form),
                "comment": typed["comment"].strip() or None,
            },
        )
        await service.decide(actor, case_no, decision)
    except ServiceError as problem:
        if problem.kind == "not_found":
            raise
        typed["material"] = form.getlist("material")  # type: ignore[assignment]
        return _case_page(request, who, service, case_no, problem.status_code, problem=problem, typed=typed)
    return back_to(f"/work/tasks?case={case_no}")


@router.post("/work/cases/{case_no}/objections/{objection_id}/resolution")
async def resolve(
    request: Request, form: Form, who: Who, service: Service, case_no: CaseNo, objection_id: ItemId
) -> Response:
    actor = service.actor(signed_in(who))
    typed = {"objection": objection_id, **{k: str(form.get(k) or "") for k in ("outcome", "reasons")}}
    try:
        resolution = parsed(
            views.ObjectionResolutionInput,
            {
                "outcome": typed["outcome"],
                "reasons": [r.strip() for r in typed["reasons"].splitlines() if r.strip()],
            },
        )
        await service.resolve_objection(actor, case_no, objection_id, resolution)
    except ServiceError as problem:
        if problem.kind == "not_found":
            raise
        return _case_page(request, who, service, case_no, problem.status_code, objection_problem=problem, typed=typed)
    return back_to(f"/work/cases/{case_no}?done=resolved")
