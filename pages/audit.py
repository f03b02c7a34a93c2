"""The auditor's pages: find cases of every process, read a case's 办理过程 from its recorded history with its
documents (each checkable against its recorded SHA-256) and its process diagram, download its audit bundle, and
read the 查阅记录 in which each of these views is kept."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import CaseNo, ItemId, Service, Who, signed_in
from pages.common import Form, back_to, page_count, page_number, parsed, render
from schemas.audit import AuditSearch
from service.audit import AuditService
from service.common import ServiceError

router = APIRouter()

CASES_PER_PAGE = 20
VIEWS_PER_PAGE = 30
SEARCH_FIELDS = tuple(AuditSearch.model_fields)
CheckNo = Annotated[int | None, Query(ge=1, le=2**31, description="the 查阅记录 entry of a document check to show")]


@router.get("/audit")
async def search(request: Request, who: Who, service: Service, page: int = 1) -> Response:
    """Without a filter every case is listed, most recently handled first; a filter that cannot be read is
    explained above the form, which keeps what was typed."""
    audit, actor = AuditService(service), service.actor(signed_in(who))
    audit.require_auditor(actor)
    asked = {k: v[:64] for k, v in request.query_params.items() if k in SEARCH_FIELDS and v}
    page = page_number(page)
    try:
        found = audit.search(actor, parsed(AuditSearch, asked), CASES_PER_PAGE, (page - 1) * CASES_PER_PAGE)
    except ServiceError as error:
        if error.kind != "invalid":
            raise
        return render(
            request, "audit_search.html", who, asked=asked, statuses=audit.statuses(), error=error, status_code=422
        )
    return render(
        request,
        "audit_search.html",
        who,
        asked=asked,
        statuses=audit.statuses(),
        found=found,
        page=page,
        pages=page_count(found.total, CASES_PER_PAGE),
    )


@router.get("/audit/cases/{case_no}")
async def case(request: Request, case_no: CaseNo, who: Who, service: Service, check: CheckNo = None) -> Response:
    audit, actor = AuditService(service), service.actor(signed_in(who))
    audited = await audit.case(actor, case_no)
    checked = audit.document_check(actor, case_no, check) if check else None
    return render(request, "audit_case.html", who, case=audited, checked=checked)


@router.post("/audit/cases/{case_no}/documents/{document_id}/check")
async def check_document(form: Form, case_no: CaseNo, document_id: ItemId, who: Who, service: Service) -> Response:
    """The check is made and recorded here; the case page then shows the recorded outcome."""
    view_id = await AuditService(service).check_document(service.actor(signed_in(who)), case_no, document_id)
    return back_to(f"/audit/cases/{case_no}?check={view_id}#documents")


@router.get("/audit/cases/{case_no}/bundle.zip")
async def bundle(case_no: CaseNo, who: Who, service: Service) -> Response:
    content = await AuditService(service).bundle(service.actor(signed_in(who)), case_no)
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{case_no}.audit.zip"'},
    )


@router.get("/audit/views")
async def views(request: Request, who: Who, service: Service, page: int = 1) -> Response:
    page = page_number(page)
    found = AuditService(service).views(service.actor(signed_in(who)), VIEWS_PER_PAGE, (page - 1) * VIEWS_PER_PAGE)
    return render(
        request, "audit_views.html", who, found=found, page=page, pages=page_count(found.total, VIEWS_PER_PAGE)
    )
