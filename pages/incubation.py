"""孵化 pages: the public list of bases and each base's page with its services and free places; the group's
application, 我的孵化 and its case page (progress, waiting position, mentor, reports, filing from inside,
documents, leaving); the base's, the mentor's and civil affairs' list and the same case page with the forms of
what they may do now. Every action goes through ``IncubationService`` as the API's does: a case the caller may
not see is "not found" here too, and which forms show is the service's ``actions``, not the page's guess."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api.deps import CaseNo, Incubations, Service, Who, signed_in
from pages.common import TASK_PAGES, Form, back_to, page_count, page_number, parsed, render, track_named
from schemas.application import Track
from schemas.case import PhaseName
from schemas.incubation import SERVICE_LABELS
from schemas.incubation_case import AssessmentOutcome, IncubationPhase
from schemas.people import Actor, Role
from service import incubation_views as iv
from service.common import ServiceError

router = APIRouter()
TASK_PAGES.update(dict.fromkeys(("admission", "check_in", "assessment", "assessment_review"), "/work/incubations/"))

CASES_PER_PAGE = 20
PROGRESS: tuple[tuple[IncubationPhase, PhaseName], ...] = (
    (IncubationPhase.applied, PhaseName(applicant="入孵审核中", staff="入孵审核", future="入孵审核")),
    (IncubationPhase.waiting, PhaseName(applicant="候补中，等待空余席位", staff="候补", future="候补")),
    (IncubationPhase.incubating, PhaseName(applicant="孵化中", staff="孵化中", future="孵化")),
    (IncubationPhase.assessing, PhaseName(applicant="出壳评估中", staff="出壳评估", future="出壳评估")),
    (IncubationPhase.graduated, PhaseName(applicant="已出壳", staff="已出壳", future="出壳")),
)
"""The phases an incubation passes through when it ends in graduation (the progress line), each named as the
group reads it while it is there, as staff call it, and as a step done or to come."""
FILING_OUTCOMES = {"approved": "已准予", "refused": "未获准予", "lapsed": "已失效", "withdrawn": "已撤回"}
DONE = {
    "applied": "入孵申请已提交，基地将在规定的工作日内审核，审核结果会通知您。",
    "admission": "审核意见已提交。",
    "report": "孵化报告已提交。",
    "assessment": "出壳评估结论已提交，等待民政部门审核。",
    "review": "审核意见已提交。",
    "exit": "已办理退出孵化。",
    "filed": "备案/登记申请已提交，可在下面的链接查看办理进度。",
}
"""What the case page says after each action succeeded (``?done=``)."""


def progress(case: iv.IncubationView, staff: bool) -> list[dict[str, str]]:
    """The phases as a progress line: done, current, to come; 候补 only for a group that waited, and a case that
    ended early (refused, exited) shows the phases it reached and how it ended."""
    waited = case.phase is IncubationPhase.waiting or any(e.phase_after == IncubationPhase.waiting for e in case.timeline)
    steps = [(p, n) for p, n in PROGRESS if p is not IncubationPhase.waiting or waited]
    phases = [p for p, _ in steps]
    if case.phase is IncubationPhase.graduated:
        return [{"name": n.future, "status": "done"} for _, n in steps]
    if case.phase in phases:
        at = phases.index(case.phase)
        line = [{"name": n.future, "status": "done"} for _, n in steps[:at]]
        line.append({"name": steps[at][1].staff if staff else steps[at][1].applicant, "status": "current"})
        return line + [{"name": n.future, "status": "to_come"} for _, n in steps[at + 1 :]]
    reached = {IncubationPhase(e.phase_after) for e in case.timeline if e.phase_after in IncubationPhase.__members__}
    line = [{"name": n.future, "status": "done"} for p, n in steps if p in reached or p is IncubationPhase.applied]
    return [*line, {"name": case.phase_name, "status": "ended"}]


def _lines(text: object) -> list[str]:
    return [line.strip() for line in str(text or "").splitlines() if line.strip()][:10]


def _typed(form: FormData) -> dict[str, Any]:
    """What was typed, cut to a bound, to show again beside a refusal (ticked boxes as lists)."""
    typed: dict[str, Any] = {k: str(v)[:5000] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    for many in ("services", "criteria_met"):
        typed[many] = [str(v) for v in form.getlist(many)][:20]
    return typed


def _case_page(
    request: Request,
    who: Who,
    service: Service,
    incubations: Incubations,
    case_no: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """The case as the caller may see it, with the forms of what they may do now; the group reads it under
    我的孵化, everyone else under 孵化管理."""
    actor = service.actor(signed_in(who))
    case = incubations.view(actor, case_no)
    group = case.audience == "group"
    return render(
        request,
        "incubation/case.html",
        who,
        status_code=status_code,
        case=case,
        steps=progress(case, not group),
        home="/my/incubations" if group else "/work/incubations",
        home_name="我的孵化" if group else "孵化管理",
        here=f"/my/incubations/{case_no}" if group else f"/work/incubations/{case_no}",
        filing_home="/my/cases/" if group else "/work/cases/",
        outcomes=FILING_OUTCOMES,
        outcomes_assess=[(o.value, o.label) for o in AssessmentOutcome],
        communities=service.communities() if "start_filing" in case.actions else [],
        tracks=list(Track),
        done=DONE.get(request.query_params.get("done", "")),
        typed=context.pop("typed", {}),
        **context,
    )


async def _act(
    request: Request,
    form: FormData,
    who: Who,
    service: Service,
    incubations: Incubations,
    case_no: str,
    section: str,
    act: Callable[[Actor], Awaitable[Any]],
) -> Response:
    """Do one action; a refusal shows the case page again with the problem beside its form and what was typed."""
    actor = service.actor(signed_in(who))
    try:
        await act(actor)
    except ServiceError as problem:
        if problem.kind == "not_found":
            raise
        return _case_page(
            request, who, service, incubations, case_no, problem.status_code,
            problem=problem, problem_at=section, typed=_typed(form),
        )  # fmt: skip
    home = "/my/incubations" if actor.role is Role.applicant else "/work/incubations"
    return back_to(f"{home}/{case_no}?done={section}")


# --- public: the bases ------------------------------------------------------------------------------------


@router.get("/bases")
async def bases(request: Request, who: Who, incubations: Incubations) -> Response:
    return render(request, "incubation/bases.html", who, bases=incubations.bases())


@router.get("/bases/{code}")
async def base(request: Request, who: Who, incubations: Incubations, code: CaseNo) -> Response:
    return render(request, "incubation/base.html", who, b=incubations.base(code))


# --- the group ----------------------------------------------------------------------------------------------


def _apply_page(
    request: Request, who: Who, incubations: Incubations, code: str, status_code: int = 200, **context: Any
) -> Response:
    found = incubations.base(code)
    typed = context.pop("typed", None) or {"term_months": str(found.min_term_months or "")}
    return render(request, "incubation/apply.html", who, status_code=status_code, b=found, typed=typed, **context)


@router.get("/bases/{code}/apply")
async def apply_form(request: Request, who: Who, service: Service, incubations: Incubations, code: CaseNo) -> Response:
    service.actor(signed_in(who))
    return _apply_page(request, who, incubations, code)


@router.post("/bases/{code}/apply")
async def apply(request: Request, form: Form, who: Who, service: Service, incubations: Incubations, code: CaseNo) -> Response:
    actor = service.actor(signed_in(who))
    typed = _typed(form)
    try:
        application = parsed(
            iv.IncubationApplicationInput,
            {
                "base_code": code,
                "group_name": typed.get("group_name", ""),
                "organization": typed.get("organization", "").strip() or None,
                "plan": typed.get("plan", ""),
                "term_months": typed.get("term_months", ""),
            },
        )
        receipt = await incubations.apply(actor, application)
    except ServiceError as problem:
        if problem.kind == "not_found":
            raise
        return _apply_page(request, who, incubations, code, problem.status_code, problem=problem, typed=typed)
    return back_to(f"/my/incubations/{receipt.case_no}?done=applied")


@router.get("/my/incubations")
async def my_incubations(request: Request, who: Who, service: Service, incubations: Incubations, page: int = 1) -> Response:
    actor = service.actor(signed_in(who))
    page = page_number(page)
    found = incubations.list(actor, limit=CASES_PER_PAGE, offset=(page - 1) * CASES_PER_PAGE)
    return render(
        request, "incubation/my_list.html", who, items=found.items, page=page, pages=page_count(found.total, CASES_PER_PAGE)
    )


@router.get("/my/incubations/{case_no}")
@router.get("/work/incubations/{case_no}")
async def case_page(request: Request, who: Who, service: Service, incubations: Incubations, case_no: CaseNo) -> Response:
    return _case_page(request, who, service, incubations, case_no)


@router.get("/my/incubations/{case_no}/filing")
async def filing(
    request: Request, who: Who, service: Service, incubations: Incubations, case_no: CaseNo, community: str, track: str
) -> Response:
    """备案/登记 from inside incubation: the online application of the filing pages, carrying the case number."""
    actor = service.actor(signed_in(who))
    if community not in {c.code for c in service.communities()}:
        raise ServiceError("invalid", "请从列表中选择组织所在的社区")
    if "start_filing" not in incubations.view(actor, case_no).actions:
        raise ServiceError("conflict", f"孵化案件 {case_no} 现在不能申请备案/登记：入孵后、出壳前才能申请，且同时只能有一件办理中")
    return back_to(f"/apply/{community}/{track_named(track).value}?incubation={case_no}")


@router.post("/my/incubations/{case_no}/exit")
@router.post("/work/incubations/{case_no}/exit")
async def leave(request: Request, form: Form, who: Who, service: Service, incubations: Incubations, case_no: CaseNo) -> Response:
    async def act(actor: Actor) -> None:
        await incubations.leave(actor, case_no, parsed(iv.ExitInput, {"reasons": _lines(form.get("reasons"))}).reasons)

    return await _act(request, form, who, service, incubations, case_no, "exit", act)


# --- the base, the mentor, civil affairs -----------------------------------------------------------------


@router.get("/work/incubations")
async def work_list(
    request: Request,
    who: Who,
    service: Service,
    incubations: Incubations,
    base: str | None = None,
    phase: str | None = None,
    page: int = 1,
) -> Response:
    """The caller's incubations by phase (a base's, a mentor's, the jurisdiction's), and each base's waiting
    list in order."""
    actor = service.actor(signed_in(who))
    if actor.role is Role.applicant:
        raise ServiceError("forbidden", "该页面供孵化基地、导师和民政部门使用；入孵的团队请在“我的孵化”中查看")
    page = page_number(page)
    chosen_phase = IncubationPhase(phase) if phase in IncubationPhase.__members__ else None
    bases_seen = incubations.bases(actor.jurisdiction) if actor.role in (Role.civil_affairs, Role.street_office) else []
    chosen_base = base if base in {b.code for b in bases_seen} else None
    found = incubations.list(actor, chosen_base, chosen_phase, CASES_PER_PAGE, (page - 1) * CASES_PER_PAGE)
    waiting = incubations.list(actor, chosen_base, IncubationPhase.waiting, CASES_PER_PAGE, 0).items
    queue = sorted(((incubations.view(actor, w.case_no).waiting_position or 0, w) for w in waiting), key=lambda p: p[0])
    return render(
        request,
        "incubation/work_list.html",
        who,
        items=found.items,
        queue=queue,
        bases=bases_seen,
        base=chosen_base,
        phase=chosen_phase,
        phases=list(IncubationPhase),
        page=page,
        pages=page_count(found.total, CASES_PER_PAGE),
    )


@router.post("/work/incubations/{case_no}/admission")
async def admission(request: Request, form: Form, who: Who, service: Service, incubations: Incubations, case_no: CaseNo) -> Response:
    async def act(actor: Actor) -> None:
        admit = str(form.get("admit") or "")
        decided = parsed(
            iv.AdmissionInput,
            {
                "admit": admit if admit in ("true", "false") else None,
                "reasons": _lines(form.get("reasons")),
                "mentor_id": str(form.get("mentor_id") or "") or None,
                "services": [s for s in form.getlist("services") if s in SERVICE_LABELS][: len(SERVICE_LABELS)],
                "service_plan": str(form.get("service_plan") or "").strip() or None,
            },
        )
        await incubations.decide_admission(
            actor, case_no, decided.admit, decided.reasons, decided.mentor_id, decided.services, decided.service_plan
        )

    return await _act(request, form, who, service, incubations, case_no, "admission", act)


@router.post("/work/incubations/{case_no}/report")
async def report(request: Request, form: Form, who: Who, service: Service, incubations: Incubations, case_no: CaseNo) -> Response:
    async def act(actor: Actor) -> None:
        await incubations.report(actor, case_no, parsed(iv.ReportInput, {"summary": str(form.get("summary") or "")}).summary)

    return await _act(request, form, who, service, incubations, case_no, "report", act)


@router.post("/work/incubations/{case_no}/assessment")
async def assessment(request: Request, form: Form, who: Who, service: Service, incubations: Incubations, case_no: CaseNo) -> Response:
    async def act(actor: Actor) -> None:
        months = str(form.get("extension_months") or "").strip()
        found = parsed(
            iv.AssessmentInput,
            {
                "outcome": str(form.get("outcome") or ""),
                "criteria_met": [str(c) for c in form.getlist("criteria_met")][:20],
                "reasons": _lines(form.get("reasons")),
                "extension_months": months or None,
            },
        )
        await incubations.assess(actor, case_no, found.outcome, found.criteria_met, found.reasons, found.extension_months)

    return await _act(request, form, who, service, incubations, case_no, "assessment", act)


@router.post("/work/incubations/{case_no}/review")
async def review(request: Request, form: Form, who: Who, service: Service, incubations: Incubations, case_no: CaseNo) -> Response:
    async def act(actor: Actor) -> None:
        agree = str(form.get("agree") or "")
        found = parsed(
            iv.AssessmentReviewInput,
            {"agree": agree if agree in ("true", "false") else None, "reasons": _lines(form.get("reasons"))},
        )
        await incubations.review_assessment(actor, case_no, found.agree, found.reasons)

    return await _act(request, form, who, service, incubations, case_no, "review", act)
