"""好差评: an applicant's rating of the service once their case has ended, and the aggregate staff see."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from schemas.text import MultiLine, RequestModel

SCORES = {1: "非常不满意", 2: "不满意", 3: "基本满意", 4: "满意", 5: "非常满意"}
"""The five grades of 政务服务“好差评”; 1 and 2 are 差评, which must give a reason."""
BAD_SCORES = frozenset({1, 2})


class RatingInput(RequestModel):
    score: int = Field(ge=1, le=5, title="评价", description="1 非常不满意、2 不满意、3 基本满意、4 满意、5 非常满意")
    comment: MultiLine | None = Field(
        default=None,
        max_length=500,
        title="评价内容",
        description="不超过500字；评“不满意”或“非常不满意”时必须写明原因",
    )


class RatingView(BaseModel):
    case_no: str
    track: str
    score: int
    score_name: str
    comment: str | None
    office_name: str = Field(description="被评价的办理单位")
    jurisdiction: str
    rated_at: datetime


class OfficeRatings(BaseModel):
    office_name: str
    jurisdiction: str
    jurisdiction_name: str
    count: int = Field(description="评价次数")
    average: float = Field(description="平均分（一位小数）")
    per_score: dict[int, int] = Field(description="各分值的次数，1–5")
    bad_share: float = Field(description="差评（1、2分）所占比例，0–1")


class RatingComment(BaseModel):
    case_no: str
    office_name: str
    score: int
    score_name: str
    comment: str
    rated_at: datetime


class RatingsView(BaseModel):
    """The aggregate per office in the caller's jurisdiction and below, with one page of the latest comments."""

    offices: list[OfficeRatings]
    comments: list[RatingComment]
    comments_total: int = Field(ge=0, description="有评价内容的评价总数")
    limit: int
    offset: int
