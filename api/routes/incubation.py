"""孵化基地 and incubations: the public bases with their free places, a group's application and its filing
from inside incubation, and what the base, the mentor and civil affairs do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import BaseCode, IncubationNo, Incubations, Limit, Offset, UserId
from api.errors import errors
from schemas.application import Application
from schemas.case import ActionReceipt
from schemas.incubation_case import IncubationPhase
from service import incubation_views as iv
from service import views
from service.views import PAGE_LIMIT

router = APIRouter(tags=["孵化"])

ACT = errors(400, 403, 404, 409, 413, 422, 503)
JURISDICTION = r"^[A-Za-z0-9-]+$"


@router.get("/api/bases", summary="孵化基地（公开：服务内容、导师、空余席位、候补人数）", responses=errors(422))
async def bases(
    incubations: Incubations,
    jurisdiction: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=JURISDICTION, description="辖区代码（含其下属辖区）")
    ] = None,
) -> list[iv.BaseView]:
    return incubations.bases(jurisdiction)


@router.get("/api/bases/{code}", summary="一个孵化基地（公开）", responses=errors(404, 422))
async def base(code: BaseCode, incubations: Incubations) -> iv.BaseView:
    return incubations.base(code)


@router.post(
    "/api/incubations", summary="申请入孵（组织或团队的负责人）", status_code=201,
    responses=errors(400, 403, 404, 409, 413, 422, 503),
)
async def apply(application: iv.IncubationApplicationInput, incubations: Incubations, user: UserId) -> iv.IncubationReceipt:
    return await incubations.apply(incubations.actor(user), application)


@router.get(
    "/api/incubations", summary="我能看到的孵化案件（本组织的、本基地的、我辅导的、本辖区的；分页，最近变化的在前）",
    responses=errors(403, 422),
)
async def incubation_list(
    incubations: Incubations,
    user: UserId,
    base: Annotated[str | None, Query(min_length=1, max_length=40, pattern=JURISDICTION, description="孵化基地编号")] = None,
    phase: Annotated[IncubationPhase | None, Query(description="阶段")] = None,
    limit: Limit = PAGE_LIMIT,
    offset: Offset = 0,
) -> views.Page[iv.IncubationSummary]:
    return incubations.list(incubations.actor(user), base, phase, limit, offset)


@router.get("/api/incubations/{incubation_no}", summary="孵化案件详情（含现在可以办理的事项）", responses=errors(404, 422))
async def incubation(incubation_no: IncubationNo, incubations: Incubations, user: UserId) -> iv.IncubationView:
    return incubations.view(incubations.actor(user), incubation_no)


@router.post("/api/incubations/{incubation_no}/admission", summary="基地入孵审核（准予并确定导师和服务，或不予并说明理由）", responses=ACT)
async def admission(incubation_no: IncubationNo, decision: iv.AdmissionInput, incubations: Incubations, user: UserId) -> ActionReceipt:
    return await incubations.decide_admission(
        incubations.actor(user), incubation_no, decision.admit, decision.reasons, decision.mentor_id, decision.services,
        decision.service_plan,
    )


@router.post("/api/incubations/{incubation_no}/reports", summary="导师提交孵化报告", responses=ACT)
async def report(incubation_no: IncubationNo, report: iv.ReportInput, incubations: Incubations, user: UserId) -> ActionReceipt:
    return await incubations.report(incubations.actor(user), incubation_no, report.summary)


@router.post("/api/incubations/{incubation_no}/assessment", summary="基地出壳评估（准予出壳、延期一次或退出孵化）", responses=ACT)
async def assessment(
    incubation_no: IncubationNo, assessment: iv.AssessmentInput, incubations: Incubations, user: UserId
) -> ActionReceipt:
    return await incubations.assess(
        incubations.actor(user), incubation_no, assessment.outcome, assessment.criteria_met, assessment.reasons,
        assessment.extension_months,
    )


@router.post("/api/incubations/{incubation_no}/assessment/review", summary="民政局审核出壳评估（同意或退回）", responses=ACT)
async def assessment_review(
    incubation_no: IncubationNo, review: iv.AssessmentReviewInput, incubations: Incubations, user: UserId
) -> ActionReceipt:
    return await incubations.review_assessment(incubations.actor(user), incubation_no, review.agree, review.reasons)


@router.post("/api/incubations/{incubation_no}/exit", summary="退出孵化（入孵组织、基地或民政局，须说明理由）", responses=ACT)
async def exit_incubation(incubation_no: IncubationNo, request: iv.ExitInput, incubations: Incubations, user: UserId) -> ActionReceipt:
    return await incubations.leave(incubations.actor(user), incubation_no, request.reasons)


@router.post(
    "/api/incubations/{incubation_no}/filings", summary="孵化期内申请备案或登记（作为孵化的子案件办理）", status_code=201,
    responses=ACT,
)
async def filing(incubation_no: IncubationNo, application: Application, incubations: Incubations, user: UserId) -> iv.FilingReceipt:
    """The body is the same application a filing takes on its own (``POST /api/cases``)."""
    return await incubations.start_filing(incubations.actor(user), incubation_no, application)
