"""The public 公示 page: the cases now in public notice, each with its notice and a form to object.
Objecting needs an account (as the API's objection does); reading the notices does not."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import CaseNo, Service, Who, signed_in
from pages.common import Form, back_to, page_count, page_number, parsed, render
from schemas.people import Role
from service import views
from service.common import ServiceError

router = APIRouter()

NOTICES_PER_PAGE = 20


def _notices_page(
    request: Request,
    who: Who,
    service: Service,
    page: int,
    status_code: int = 200,
    typed: dict[str, Any] | None = None,
    **context: Any,
) -> Response:
    page = page_number(page)
    found = service.public_notices(NOTICES_PER_PAGE, (page - 1) * NOTICES_PER_PAGE)
    return render(
        request,
        "notices.html",
        who,
        status_code=status_code,
        notices=found,
        page=page,
        pages=page_count(found.total, NOTICES_PER_PAGE),
        typed=typed or {},
        **context,
    )


@router.get("/notices")
async def notices(request: Request, who: Who, service: Service, page: int = 1) -> Response:
    return _notices_page(request, who, service, page, done=request.query_params.get("done") == "objected")


@router.post("/notices/{case_no}/objection")
async def object_(request: Request, form: Form, who: Who, service: Service, case_no: CaseNo) -> Response:
    user = signed_in(who)
    typed = {"case_no": case_no, **{k: str(form.get(k) or "") for k in ("name", "content", "contact")}}
    try:
        objection = parsed(views.ObjectionInput, {k: typed[k].strip() or None for k in ("name", "content", "contact")})
        await service.file_objection(service.actor(user, objection.name, Role.public), case_no, objection)
    except ServiceError as problem:
        if problem.kind == "not_found":
            raise
        return _notices_page(request, who, service, 1, problem.status_code, problem=problem, typed=typed)
    return back_to("/notices?done=objected")
