"""The online application (在线申报) in short steps, one subject a page, with the explained checklist shown
as soon as it can be computed and a review page before submission. The draft travels in the form itself
(a hidden JSON field), so nothing is stored until the applicant submits; the submission is then checked in
full by the same service call as ``POST /api/cases``."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api.deps import Caller, CaseNo, Service, Who, signed_in
from api.routes.documents import chunks
from pages.common import Form, back_to, render, track_named
from schemas.application import Application, PersonRole, Track, VenueKind
from schemas.people import Actor
from service.cases import CaseService
from service.common import ServiceError
from service.validation import describe

router = APIRouter()

STEPS = ("organization", "people", "size", "materials", "contact", "review")
STEP_TITLES = {
    "organization": "组织基本情况", "people": "发起人和拟任负责人", "size": "会员、资金和场所",
    "materials": "上传材料", "contact": "申请人和联系电话", "review": "核对并提交",
}
PEOPLE_ROWS = 5
"""Rows for people on one page; an application with more people is submitted through the API."""
STEP_FIELDS = {
    "organization": ("organization_name", "business_scope", "community_based"),
    "people": ("people",),
    "size": ("members", "unit_members", "funds_fen", "venue", "supervising_unit"),
    "materials": ("materials",),
    "contact": ("applicant_name", "contact_phone"),
}
STAND_INS = {
    "organization_name": "待填写", "business_scope": "待填写", "venue": {"kind": "none"},
    "people": [{"name": "待填写", "role": "founder"}], "applicant_name": "待填写", "contact_phone": "00000",
}
"""What a field not yet reached stands in with, so a step's own fields can be checked on their own."""
CASE_NUMBER = re.compile(r"[A-Za-z0-9_-]{1,40}")
DRAFT_LIMIT = 200_000
"""The most a posted draft may hold: an application's own limits keep a real one far below this."""


def incubation_named(value: str) -> str | None:
    """The incubation case a filing is started from, as the form carries it (a case number, or nothing)."""
    return value if CASE_NUMBER.fullmatch(value) else None


def _draft(form: FormData, community: str, track: Track) -> dict[str, Any]:
    text = str(form.get("draft") or "{}")
    try:
        draft = json.loads(text) if len(text) <= DRAFT_LIMIT else None
    except ValueError:
        draft = None
    if not isinstance(draft, dict):
        raise ServiceError("invalid", "申请草稿已损坏，请从办事指南重新开始在线申请")
    return {**draft, "track": track.value, "community": community}


def _count(form: FormData, name: str) -> int | str:
    """A whole number as typed; anything else is kept as typed, for the check to explain and the form to show."""
    text = str(form.get(name) or "0").strip() or "0"
    return int(text) if text.isdigit() else text


def _step_fields(form: FormData, step: str) -> dict[str, Any]:
    """The fields one step's form gives, in the application's own shape."""
    text = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    if step == "organization":
        return {"organization_name": text.get("organization_name", ""), "business_scope": text.get("business_scope", ""),
                "community_based": text.get("community_based") != "no"}
    if step == "people":
        people = [
            {"name": text[f"name_{i}"], "role": text.get(f"role_{i}") or PersonRole.founder.value,
             "household_registration": text.get(f"household_{i}") or None}
            for i in range(PEOPLE_ROWS) if text.get(f"name_{i}")
        ]
        if not people:
            raise ServiceError("invalid", "请至少填写一位发起人或拟任负责人")
        return {"people": people}
    if step == "size":
        funds = _count(form, "funds_yuan")
        return {
            "members": _count(form, "members"), "unit_members": _count(form, "unit_members"),
            "funds_fen": funds * 100 if isinstance(funds, int) else funds,
            "venue": {"kind": text.get("venue_kind") or VenueKind.none.value, "address": text.get("venue_address") or None},
            "supervising_unit": text.get("supervising_unit") or None,
        }
    if step == "contact":
        return {"applicant_name": text.get("applicant_name", ""), "contact_phone": text.get("contact_phone", "")}
    return {}


def _check(draft: dict[str, Any], fields: tuple[str, ...]) -> None:
    """Refuse what is wrong in these fields now, rather than on the review page."""
    try:
        Application.model_validate({**STAND_INS, **draft})
    except ValidationError as error:
        problems = [p for p in error.errors() if p["loc"] and p["loc"][0] in fields]
        if problems:
            details = describe(problems, Application)
            raise ServiceError("invalid", "填写的内容有误：" + "；".join(details), details) from error


async def _uploads(form: FormData, service: CaseService, actor: Actor, draft: dict[str, Any]) -> list[dict[str, Any]]:
    """Each chosen file stored as the applicant's attachment and cited for its material (and person)."""
    kept = {(m["material"], m.get("person")): m for m in draft.get("materials", [])}
    for key, value in form.multi_items():
        if not key.startswith("file:") or not isinstance(value, UploadFile) or not value.filename:
            continue
        material, _, person = key.removeprefix("file:").partition(":")
        stored = await run_in_threadpool(service.save_attachment, actor, value.filename, chunks(value.file))
        kept[(material, person or None)] = {"material": material, "person": person or None, "attachment": stored.sha256,
                                            "note": value.filename[:200]}
    return list(kept.values())


def _page(request: Request, who: Who, service: Service, community: str, track: Track, step: str,
          draft: dict[str, Any], status_code: int = 200, problem: ServiceError | None = None,
          incubation: str | None = None) -> Response:
    guide = service.requirements(community, track)
    checklist = None
    if STEPS.index(step) >= STEPS.index("materials"):
        try:
            checklist = service.assess(Application.model_validate({**STAND_INS, **draft})).checklist
        except (ValidationError, ServiceError):
            checklist = None
    return render(
        request, "apply.html", who, status_code=status_code, guide=guide, track=track, community=community,
        step=step, steps=STEPS, titles=STEP_TITLES, draft=draft, draft_json=json.dumps(draft, ensure_ascii=False),
        checklist=checklist, problem=problem, rows=PEOPLE_ROWS, roles=list(PersonRole), venues=list(VenueKind),
        incubation=incubation,
    )


@router.get("/apply/{community}/{track}")
async def start(request: Request, who: Who, service: Service, community: CaseNo, track: str,
                incubation: str = "") -> Response:
    """The first step; ``incubation`` names the incubation the filing is started from (孵化期间申请)."""
    service.actor(signed_in(who))
    named = track_named(track)
    draft = {"track": named.value, "community": community}
    return _page(request, who, service, community, named, STEPS[0], draft, incubation=incubation_named(incubation))


@router.post("/apply/{community}/{track}")
async def step(request: Request, form: Form, who: Who, service: Service, community: CaseNo, track: str) -> Response:
    """Take one step's answers and show the next step (or the previous one, for 上一步)."""
    actor = service.actor(signed_in(who))
    return await _take_step(request, form, who, service, actor, community, track_named(track))


async def _take_step(
    request: Request, form: FormData, who: Caller, service: CaseService, actor: Actor, community: str, track: Track
) -> Response:
    draft = _draft(form, community, track)
    incubation = incubation_named(str(form.get("incubation") or ""))
    current = str(form.get("step") or "")
    if current not in STEPS:
        raise ServiceError("invalid", "申请步骤不正确，请从办事指南重新开始在线申请")
    if form.get("go") == "back":
        return _page(request, who, service, community, track, STEPS[max(0, STEPS.index(current) - 1)], draft,
                     incubation=incubation)
    try:
        if current == "review":
            application = Application.model_validate(draft)
            if incubation:
                await request.app.state.incubations.start_filing(actor, incubation, application)
                return back_to(f"/my/incubations/{incubation}?done=filed")
            receipt = await service.submit(service.actor(actor.user_id, application.applicant_name), application)
            return back_to(f"/my/cases/{receipt.case_no}?done=submitted")
        if current == "materials":
            draft["materials"] = await _uploads(form, service, actor, draft)
        else:
            draft.update(_step_fields(form, current))
        if current == "size" and not isinstance(draft["funds_fen"], int):
            raise ServiceError("invalid", "活动资金请填写整数元（不含小数点和“元”字），如 30000")
        _check(draft, STEP_FIELDS[current])
    except ValidationError as error:
        details = describe(error.errors(), Application)
        problem = ServiceError("invalid", "申请还不完整：" + "；".join(details), details)
        return _page(request, who, service, community, track, current, draft, problem.status_code, problem, incubation)
    except ServiceError as problem:
        return _page(request, who, service, community, track, current, draft, problem.status_code, problem, incubation)
    return _page(request, who, service, community, track, STEPS[STEPS.index(current) + 1], draft, incubation=incubation)
