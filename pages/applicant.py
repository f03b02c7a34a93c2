"""Applicants' pages for 备案/登记: the 办事指南 of each community and track, 我的办件, and a case as a
progress line of its steps with what is missing, its documents and withdrawal."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import CaseNo, Service
from pages.common import Form, Who, back_to, model_from, render, signed_in
from schemas.application import Track
from service import views
from service.common import ServiceError

router = APIRouter()

CASES_PER_PAGE = 20


@router.get("/guide")
async def guides(request: Request, who: Who, service: Service) -> Response:
    return render(request, "guides.html", who, communities=service.communities(), tracks=list(Track))


@router.get("/guide/{community}/{track}")
async def guide(request: Request, who: Who, service: Service, community: CaseNo, track: str) -> Response:
    if track not in Track.__members__:
        raise ServiceError("not_found", f"没有「{track}」这个办理类型，请从办事指南列表中选择")
    found = service.requirements(community, Track(track))
    return render(request, "guide.html", who, guide=found, track=Track(track))


@router.get("/my/cases")
async def my_cases(request: Request, who: Who, service: Service, page: int = 1) -> Response:
    actor = service.actor(signed_in(who))
    page = max(1, min(page, 10_000))
    found = service.my_cases(actor, CASES_PER_PAGE, (page - 1) * CASES_PER_PAGE)
    return render(request, "my_cases.html", who, cases=found, page=page, pages=max(1, -(-found.total // CASES_PER_PAGE)))


@router.get("/my/cases/{case_no}")
async def case_page(request: Request, who: Who, service: Service, case_no: CaseNo) -> Response:
    case = service.case(service.actor(signed_in(who)), case_no)
    return render(request, "case.html", who, case=case, withdrawn=request.query_params.get("withdrawn") == "1")


@router.post("/my/cases/{case_no}/withdrawal")
async def withdraw(request: Request, form: Form, who: Who, service: Service, case_no: CaseNo) -> Response:
    actor = service.actor(signed_in(who))
    try:
        await service.withdraw(actor, case_no, model_from(form, views.WithdrawalInput))
    except ServiceError as problem:
        if problem.kind == "not_found":
            raise
        return render(request, "case.html", who, status_code=problem.status_code, case=service.case(actor, case_no), problem=problem)
    return back_to(f"/my/cases/{case_no}?withdrawn=1")
