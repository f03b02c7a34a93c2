"""社洽会: fairs, their demands and catalogue, the showcase, and the organizations a bidder represents."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import FairNo, Fairs, ItemId, Limit, Offset, UserId
from api.errors import errors
from schemas.case import ActionReceipt
from schemas.procurement import DemandInput, ShowcaseInput
from service import views
from service.views import PAGE_LIMIT

router = APIRouter(tags=["社洽会"])

ACT = errors(400, 403, 404, 409, 413, 422, 503)


@router.post("/api/fairs", summary="组织单位创建社洽会", status_code=201, responses=errors(400, 403, 409, 413, 422, 503))
async def create_fair(fair: views.FairInput, fairs: Fairs, user: UserId) -> views.FairSummary:
    return await fairs.create_fair(fairs.actor(user), fair)


@router.get("/api/fairs", summary="社洽会列表（分页，最新的在前）", responses=errors(422))
async def list_fairs(fairs: Fairs, limit: Limit = PAGE_LIMIT, offset: Offset = 0) -> views.Page[views.FairSummary]:
    return fairs.fairs(limit, offset)


@router.get("/api/fairs/{fair_no}", summary="社洽会详情与需求目录", responses=errors(403, 404, 422))
async def fair(fair_no: FairNo, fairs: Fairs, user: UserId) -> views.FairView:
    return fairs.fair(fairs.actor(user) if user else None, fair_no)


@router.post("/api/fairs/{fair_no}/demands", summary="购买服务部门提交需求", responses=ACT)
async def submit_demand(fair_no: FairNo, demand: DemandInput, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.submit_demand(fairs.actor(user), fair_no, demand)


@router.post("/api/fairs/{fair_no}/demands/{demand_id}/review", summary="组织单位审核需求", responses=ACT)
async def review_demand(
    fair_no: FairNo, demand_id: ItemId, review: views.DemandReviewInput, fairs: Fairs, user: UserId
) -> ActionReceipt:
    return await fairs.review_demand(fairs.actor(user), fair_no, demand_id, review)


@router.post("/api/fairs/{fair_no}/catalogue", summary="组织单位发布需求公告", responses=errors(403, 404, 409, 422, 503))
async def publish_catalogue(fair_no: FairNo, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.publish_catalogue(fairs.actor(user), fair_no)


@router.get("/api/fairs/{fair_no}/showcase", summary="展示公益服务项目（公开，分页）", responses=errors(404, 422))
async def showcase(fair_no: FairNo, fairs: Fairs, limit: Limit = PAGE_LIMIT, offset: Offset = 0) -> views.Page[views.ShowcaseView]:
    return fairs.showcase(fair_no, limit, offset)


@router.post("/api/fairs/{fair_no}/showcase", summary="社会组织登记展示项目", responses=ACT)
async def add_showcase(fair_no: FairNo, project: ShowcaseInput, fairs: Fairs, user: UserId) -> ActionReceipt:
    return await fairs.add_showcase_project(fairs.actor(user), fair_no, project)


@router.get(
    "/api/my/organizations", tags=["投标人"], summary="我代表的社会组织（名录编号，分页）", responses=errors(403, 422)
)
async def my_organizations(
    fairs: Fairs, user: UserId, limit: Limit = PAGE_LIMIT, offset: Offset = 0
) -> views.Page[views.OrganizationView]:
    return fairs.my_organizations(fairs.actor(user), limit, offset)
