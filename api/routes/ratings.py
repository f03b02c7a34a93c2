"""好差评: the applicant rates the service once their case has ended; staff read the aggregate per office."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import CaseNo, Limit, Offset, Service, UserId
from api.errors import errors
from schemas.ratings import RatingInput, RatingsView, RatingView
from service.common import ServiceError
from service.ratings import RatingService
from service.views import PAGE_LIMIT

router = APIRouter()


def rating_service(service: Service) -> RatingService:
    return RatingService(service)


Ratings = Annotated[RatingService, Depends(rating_service)]


@router.post(
    "/api/cases/{case_no}/rating",
    tags=["申请人"],
    summary="好差评：办结后评价办理服务（每案一次）",
    status_code=201,
    description="只有本案申请人可以评价，案件办结（准予、不予、失效、撤回）后才能评价。1 非常不满意 … 5 非常满意；"
    "评 1、2 分须写明原因。评价记在最后办理本案的单位名下。",
    responses=errors(400, 401, 403, 404, 409, 413, 422),
)
async def rate(case_no: CaseNo, rating: RatingInput, service: Service, ratings: Ratings, user: UserId) -> RatingView:
    return ratings.rate(service.actor(user), case_no, rating)


@router.get(
    "/api/cases/{case_no}/rating",
    tags=["申请人", "工作人员"],
    summary="本案的好差评（申请人和有权查看本案的工作人员）",
    responses=errors(401, 403, 404, 422),
)
async def case_rating(case_no: CaseNo, service: Service, ratings: Ratings, user: UserId) -> RatingView:
    found = ratings.rating(service.actor(user), case_no)
    if found is None:
        raise ServiceError("not_found", f"案件 {case_no} 还没有评价")
    return found


@router.get(
    "/api/ratings",
    tags=["工作人员"],
    summary="好差评统计：本辖区及下属辖区各办理单位的评价和最新评价内容",
    description="每个单位的评价次数、平均分（一位小数）、各分值次数和差评（1、2分）比例；评价内容按时间倒序分页（limit、offset）。",
    responses=errors(401, 403, 422),
)
async def ratings_overview(
    service: Service, ratings: Ratings, user: UserId, limit: Limit = PAGE_LIMIT, offset: Offset = 0
) -> RatingsView:
    return ratings.aggregate(service.actor(user), limit, offset)
