"""The bureau's overview for 民政局 staff: the figures behind the /work/overview page."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Service, UserId
from api.errors import errors
from service.overview import OverviewService, OverviewView

router = APIRouter()


@router.get(
    "/api/overview",
    tags=["工作人员"],
    summary="工作总览（民政局）：本辖区及下属辖区的案件分布、超期待办、办理用时、好差评和每月社洽会与拨付",
    description="只向民政局工作人员开放。办理用时按工作日计，自受理至作出决定（含补正等暂停期间），与法定时限对照；金额以分为单位。",
    responses=errors(401, 403, 404),
)
async def overview(service: Service, user: UserId) -> OverviewView:
    return OverviewService(service).overview(service.actor(user))
