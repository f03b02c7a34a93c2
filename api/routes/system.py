"""Health and what a newcomer needs first: communities and what a track requires."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Service
from api.errors import errors
from schemas.application import Track
from service import views

router = APIRouter()


@router.get("/api/health", tags=["系统"], summary="服务是否在运行")
async def health() -> dict[str, str]:
    return {"status": "ok"}


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
