"""审计: auditors find cases of every process and read the record of auditors' own views."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import Limit, Offset, Service, UserId
from api.errors import errors
from schemas.audit import AuditCasesView, AuditSearch, AuditViewsView
from service.audit import AuditService
from service.views import PAGE_LIMIT

router = APIRouter(tags=["审计"])


def audit_service(service: Service) -> AuditService:
    return AuditService(service)


Audit = Annotated[AuditService, Depends(audit_service)]


@router.get(
    "/api/audit/cases",
    summary="审计人员查找案件：备案/登记、社洽会、购买服务项目、合同和孵化",
    description="按编号、组织名称、办理单位（名称的一部分）、最近办理日期范围和流程阶段（如 filing、lot:bidding、incubation:incubating）查找，"
    "最近办理的在前，分页（limit、offset）。只向审计人员开放；每次查找都记入查阅记录。",
    responses=errors(401, 403, 422),
)
async def search_cases(
    search: Annotated[AuditSearch, Query()],
    service: Service,
    audit: Audit,
    user: UserId,
    limit: Limit = PAGE_LIMIT,
    offset: Offset = 0,
) -> AuditCasesView:
    return audit.search(service.actor(user), search, limit, offset)


@router.get(
    "/api/audit/views",
    summary="查阅记录：审计人员的每一次查阅（谁、何时、哪个案件、哪一页）",
    responses=errors(401, 403, 422),
)
async def audit_views(
    service: Service, audit: Audit, user: UserId, limit: Limit = PAGE_LIMIT, offset: Offset = 0
) -> AuditViewsView:
    return audit.views(service.actor(user), limit, offset)
