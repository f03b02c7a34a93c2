"""Health and what a newcomer needs first: communities and what a track requires."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import Service
from api.errors import errors
from schemas.application import Track
from service import views
from service.health import health as system_health

router = APIRouter()


class HealthView(BaseModel):
    status: str
    problems: list[str] = []


@router.get(
    "/api/health", tags=["系统"], summary="服务是否可用：读模型结构是否最新、是否有 worker 在处理任务",
    description="正常时 200；有问题时 503 并逐条说明。逐案的故障（流程任务反复失败）由运维用 `shezu doctor` 查看。",
    responses={503: {"model": HealthView, "description": "服务有问题"}},
)
async def health(service: Service) -> HealthView:
    report = await system_health(service.settings, service.engine, service.client, cases=False)
    if report.healthy:
        return HealthView(status="ok")
    body = HealthView(status="degraded", problems=report.problems)
    return JSONResponse(body.model_dump(), status_code=503)  # type: ignore[return-value]


@router.get("/api/communities", tags=["申请人"], summary="可申请的社区及其代码")
async def communities(service: Service) -> list[views.CommunityView]:
    """A short fixed list from the directory (every community of the district), so it is not paged."""
    return service.communities()


@router.get(
    "/api/requirements", tags=["申请人"], summary="某社区某办理类型的材料、条件、费用、期限和绿色通道规则",
    responses=errors(404, 422),
)
async def requirements(
    service: Service,
    community: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$", description="社区代码，如 YJ-JG-CG")],
    track: Annotated[Track, Query(description="filing / association / service_institution")],
) -> views.RequirementsView:
    return service.requirements(community, track)
