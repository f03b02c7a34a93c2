"""Applicants' pages for 备案/登记: the 办事指南 of each community and track, 我的办件, and a case as a
progress line of its steps with what is missing, its documents, withdrawal and, once it has ended, 好差评."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import CaseNo, Fairs, Service, Who, signed_in
from api.routes.documents import chunks
from pages.common import Form, back_to, model_from, page_count, page_number, parsed, render, track_named
from rules.checklist import SUPPLEMENTARY
from schemas.application import Track
from schemas.people import Actor
from schemas.ratings import SCORES, RatingInput
from service import views
from service.common import ServiceError
from service.ratings import RatingService

router = APIRouter()

CASES_PER_PAGE = 20


@router.get("/guide")
async def guides(request: Request, who: Who, service: Service) -> Response:
    return render(request, "guides.html", who, communities=service.communities(), tracks=list(Track))


@router.get("/guide/{community}/{track}")
async def guide(request: Request, who: Who, service: Service, community: CaseNo, track: str) -> Response:
    found = service.requirements(community, track_named(track))
    return render(request, "guide.html", who, guide=found, track=track_named(track), community=community)


@router.get("/my/cases")
async def my_cases(request: Request, who: Who, service: Service, fairs: Fairs, page: int = 1) -> Response:
    """The applicant's cases, and the register entries of the organizations they represent (with their
    incubation history), as the register shows them to the bidders' screening."""
    actor = service.actor(signed_in(who))
    page = page_number(page)
    found = service.my_cases(actor, CASES_PER_PAGE, (page - 1) * CASES_PER_PAGE)
    organizations = fairs.my_organizations(actor, 50).items
    return render(
        request, "my_cases.html", who, cases=found, page=page, pages=page_count(found.total, CASES_PER_PAGE),
        organizations=organizations, tracks={t.value: t.label for t in Track},
    )


def _case_page(request: Request, who: Who, service: Service, actor: Actor, case_no: str, status_code: int = 200, **context: object) -> Response:
    """The case page; while a 补正 is open it offers the track's materials to upload against it, and once
    the case has ended its 好差评 (the form to its applicant, or the rating given)."""
    case = service.case(actor, case_no)
    materials = service.requirements(case.community, Track(case.track)).requirements.materials if case.correction else []
    rating = RatingService(service).rating(actor, case_no) if case.closed else None
    incubation = request.app.state.incubations.incubation_of_filing(actor, case_no)
    return render(request, "case.html", who, status_code=status_code, case=case, materials=materials,
                  supplementary=SUPPLEMENTARY, rating=rating, scores=SCORES, incubation=incubation, **context)


@router.get("/my/cases/{case_no}")
async def case_page(request: Request, who: Who, service: Service, case_no: CaseNo) -> Response:
    done = request.query_params.get("done")
    return _case_page(request, who, service, service.actor(signed_in(who)), case_no,
                      done=done if done in ("submitted", "withdrawn", "corrected", "rated") else None)


@router.post("/my/cases/{case_no}/withdrawal")
async def withdraw(request: Request, form: Form, who: Who, service: Service, case_no: CaseNo) -> Response:
    actor = service.actor(signed_in(who))
    try:
        await service.withdraw(actor, case_no, model_from(form, views.WithdrawalInput))
    except ServiceError as problem:
        if problem.kind == "not_found":
            raise
        return _case_page(request, who, service, actor, case_no, problem.status_code, problem=problem)
    return back_to(f"/my/cases/{case_no}?done=withdrawn")


@router.post("/my/cases/{case_no}/correction")
async def correct(request: Request, form: Form, who: Who, service: Service, case_no: CaseNo) -> Response:
    """Answer a 补正通知书 with one material: the file is stored as an attachment of the applicant, then
    cited in the correction, exactly as the API's two calls would."""
    actor = service.actor(signed_in(who))
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ServiceError("invalid", "请选择要上传的材料文件")
        service.case(actor, case_no)
        stored = await run_in_threadpool(service.save_attachment, actor, upload.filename, chunks(upload.file))
        material = {k: str(form.get(k) or "").strip() or None for k in ("material", "person", "note")}
        correction = parsed(views.CorrectionInput, {"materials": [{**material, "attachment": stored.sha256}]})
        await service.correct(actor, case_no, correction)
    except ServiceError as problem:
        if problem.kind == "not_found":
            raise
        return _case_page(request, who, service, actor, case_no, problem.status_code, problem=problem)
    return back_to(f"/my/cases/{case_no}?done=corrected")


@router.post("/my/cases/{case_no}/rating")
async def rate(request: Request, form: Form, who: Who, service: Service, case_no: CaseNo) -> Response:
    """好差评 as the API takes it; a refused rating shows the case page again with what was typed."""
    actor = service.actor(signed_in(who))
    try:
        RatingService(service).rate(actor, case_no, model_from(form, RatingInput))
    except ServiceError as problem:
        if problem.kind == "not_found":
            raise
        typed = {"score": str(form.get("score") or ""), "comment": str(form.get("comment") or "")[:500]}
        return _case_page(request, who, service, actor, case_no, problem.status_code, rating_problem=problem, typed=typed)
    return back_to(f"/my/cases/{case_no}?done=rated")
