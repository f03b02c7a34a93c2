"""备案/登记 cases: checklist, submission, following a case, deciding, objections, inbox and notices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CaseNo, ItemId, Limit, Offset, Service, UserId
from api.errors import errors
from schemas.application import Application
from schemas.case import ActionReceipt
from schemas.checklist import Assessment
from schemas.people import Role
from service import views
from service.views import PAGE_LIMIT

router = APIRouter()

ACT = errors(400, 403, 404, 409, 413, 422, 503)


@router.post("/api/checklist", tags=["申请人"], summary="预审：按政策生成材料清单（不提交）", responses=errors(400, 404, 413, 422))
async def checklist(application: Application, service: Service) -> Assessment:
    return service.assess(application)


@router.post(
    "/api/cases", tags=["申请人"], summary="提交备案/登记申请", status_code=201,
    responses=errors(400, 403, 404, 409, 413, 422, 503),
)
async def submit(application: Application, service: Service, user: UserId) -> views.SubmissionReceipt:
    return await service.submit(service.actor(user, application.applicant_name), application)


@router.get("/api/cases", tags=["申请人"], summary="我的申请（分页，最新提交的在前）", responses=errors(403, 422))
async def my_cases(service: Service, user: UserId, limit: Limit = PAGE_LIMIT, offset: Offset = 0) -> views.Page[views.CaseSummary]:
    return service.my_cases(service.actor(user), limit, offset)


@router.get("/api/cases/{case_no}", tags=["申请人", "工作人员"], summary="案件状态", responses=errors(403, 404, 422, 503))
async def case_status(
    case_no: CaseNo, service: Service, user: UserId,
    live: Annotated[bool, Query(description="直接查询流程状态")] = False,
) -> views.CaseView:
    actor = service.actor(user)
    return await service.live_case(actor, case_no) if live else service.case(actor, case_no)


@router.post("/api/cases/{case_no}/correction", tags=["申请人"], summary="补正材料", responses=ACT)
async def correct(case_no: CaseNo, correction: views.CorrectionInput, service: Service, user: UserId) -> ActionReceipt:
    return await service.correct(service.actor(user), case_no, correction)


@router.post("/api/cases/{case_no}/withdrawal", tags=["申请人"], summary="撤回申请", responses=ACT)
async def withdraw(case_no: CaseNo, withdrawal: views.WithdrawalInput, service: Service, user: UserId) -> ActionReceipt:
    return await service.withdraw(service.actor(user), case_no, withdrawal)


@router.post("/api/cases/{case_no}/decisions", tags=["工作人员"], summary="办理当前环节（同意/不同意/要求补正）", responses=ACT)
async def decide(case_no: CaseNo, decision: views.DecisionInput, service: Service, user: UserId) -> ActionReceipt:
    return await service.decide(service.actor(user), case_no, decision)


@router.post("/api/cases/{case_no}/objections", tags=["公众"], summary="公示期内提出异议", responses=ACT)
async def object_(case_no: CaseNo, objection: views.ObjectionInput, service: Service, user: UserId) -> ActionReceipt:
    return await service.file_objection(service.actor(user, objection.name, Role.public), case_no, objection)


@router.post(
    "/api/cases/{case_no}/objections/{objection_id}/answer", tags=["申请人"], summary="就公示异议陈述申辩", responses=ACT
)
async def answer_objection(
    case_no: CaseNo, objection_id: ItemId, answer: views.ObjectionAnswerInput, service: Service, user: UserId
) -> ActionReceipt:
    return await service.answer_objection(service.actor(user), case_no, objection_id, answer)


@router.post(
    "/api/cases/{case_no}/objections/{objection_id}/resolution", tags=["工作人员"], summary="处理公示异议", responses=ACT
)
async def resolve(
    case_no: CaseNo, objection_id: ItemId, resolution: views.ObjectionResolutionInput, service: Service, user: UserId
) -> ActionReceipt:
    return await service.resolve_objection(service.actor(user), case_no, objection_id, resolution)


@router.get(
    "/api/tasks", tags=["工作人员"], summary="待办和已办任务（按范围、环节、辖区筛选，按期限或最新排序，分页）",
    responses=errors(403, 404, 422),
)
async def inbox(
    service: Service,
    user: UserId,
    role: Annotated[Role | None, Query(description="角色；本岗位组默认为本人的角色")] = None,
    jurisdiction: Annotated[
        str | None,
        Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$", description="辖区代码（含其下属辖区）；默认为本人的辖区"),
    ] = None,
    include_closed: Annotated[bool, Query(description="本岗位组：包括已办结的任务")] = False,
    limit: Limit = PAGE_LIMIT,
    offset: Offset = 0,
    scope: Annotated[
        views.InboxScope, Query(description="mine 我的待办；group 本岗位组；escalated 转给我的（B岗）；done 已办")
    ] = "group",
    step: Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$", description="办理环节，如 preliminary_review")] = None,
    sort: Annotated[views.InboxSort | None, Query(description="deadline 最早到期在前（待办默认）；newest 最新在前（已办默认）")] = None,
) -> views.InboxPage:
    return service.inbox(
        service.actor(user), role, jurisdiction, include_closed, limit, offset, scope=scope, step=step, sort=sort
    )


@router.get("/api/public-notices", tags=["公众"], summary="正在公示的申请（分页）", responses=errors(422))
async def public_notices(service: Service, limit: Limit = PAGE_LIMIT, offset: Offset = 0) -> views.Page[views.PublicNoticeView]:
    return service.public_notices(limit, offset)
