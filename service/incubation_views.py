"""What the incubation API and pages take and answer: bounded request bodies (normalized at the door) and
the views of bases and incubations, each already filtered for who asks."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from schemas.incubation import Service
from schemas.incubation_case import AssessmentOutcome, IncubationApplication, IncubationPhase
from schemas.text import MultiLine, Reason, RequestModel, SingleLine
from service.views import DocumentView, HolderView, TimelineView

CriterionId = Annotated[str, StringConstraints(pattern=r"^[a-z_]+$", min_length=1, max_length=40)]
"""A graduation criterion as the policy names it, e.g. filed_or_registered."""

# --- what callers send --------------------------------------------------------------------------------


class IncubationApplicationInput(RequestModel, IncubationApplication):
    """The group's application as it comes in: its texts normalized, its plan a multi-line text."""

    base_code: SingleLine = Field(min_length=1, max_length=40, title="孵化基地编号", description="如 YJ-FH；不存在的编号按“未找到”答复")
    organization: SingleLine | None = Field(default=None, max_length=40, title="已备案或登记的，名录编号")
    plan: MultiLine = Field(min_length=10, max_length=2000, title="入孵计划", description="在基地里做什么、学什么")


class AdmissionInput(RequestModel):
    admit: bool = Field(title="是否准予入孵")
    reasons: list[Reason] = Field(default_factory=list, max_length=10, title="理由（不予入孵时必填）")
    mentor_id: SingleLine | None = Field(default=None, max_length=64, title="导师（用户标识；不填为基地的第一位导师）")
    services: list[Service] = Field(default_factory=list, max_length=len(Service), title="服务内容（不填为基地的全部服务）")
    service_plan: MultiLine | None = Field(default=None, max_length=1000, title="服务计划")


class ReportInput(RequestModel):
    summary: MultiLine = Field(min_length=10, max_length=2000, title="孵化报告", description="组织做了什么、还需要什么")


class AssessmentInput(RequestModel):
    outcome: AssessmentOutcome = Field(title="评估结论（graduate 准予出壳 / extend 延期出壳 / exit 退出孵化）")
    criteria_met: list[CriterionId] = Field(default_factory=list, max_length=20, title="已达到的出壳标准（标准编号）")
    reasons: list[Reason] = Field(default_factory=list, max_length=10, title="理由")
    extension_months: int | None = Field(default=None, ge=1, le=12, title="延期月数")


class AssessmentReviewInput(RequestModel):
    agree: bool = Field(title="是否同意基地的评估结论")
    reasons: list[Reason] = Field(default_factory=list, max_length=10, title="理由（退回时必填）")


class ExitInput(RequestModel):
    reasons: list[Reason] = Field(min_length=1, max_length=10, title="退出理由")


# --- what the service answers ---------------------------------------------------------------------------


class MentorView(BaseModel):
    name: str
    specialties: list[str]


class MentorChoice(MentorView):
    """A mentor the base may assign at admission (only its staff are shown the ids)."""

    user_id: str


class ServiceChoice(BaseModel):
    value: str
    label: str


class ReportDue(BaseModel):
    """The mentor's open report: by when, and how many working days are left (counted as 待办 counts them), or
    that it is late (past its date, or handed to the base's B岗)."""

    due_date: date
    late: bool
    working_days_left: int | None
    due_soon: bool
    holder: str


class BaseView(BaseModel):
    """A base as the public sees it."""

    code: str
    name: str
    kind: str
    kind_label: str
    jurisdiction: str
    address: str
    operator: str
    operator_name: str
    contract_no: str | None = Field(description="运营机构的政府购买服务合同（链接；合同页面决定谁能查看）")
    contract_url: str | None
    services: list[str] = Field(description="服务内容（中文）")
    mentors: list[MentorView]
    capacity: int
    free_places: int
    waiting: int = Field(description="候补名单上的组织数")
    url: str
    min_term_months: int | None = Field(default=None, description="现行政策规定的最短孵化期限（月）")
    max_term_months: int | None = Field(default=None, description="现行政策规定的最长孵化期限（月）")


class IncubationReceipt(BaseModel):
    case_no: str
    phase: IncubationPhase
    phase_name: str
    message: str
    status_url: str


class FilingReceipt(BaseModel):
    """The filing case started from inside incubation; it is also among the applicant's own cases."""

    case_no: str
    incubation_case_no: str
    message: str
    status_url: str


class CriterionView(BaseModel):
    id: str
    label: str
    met: bool | None = Field(description="出壳评估中是否达到；未评估为 null")


class FilingView(BaseModel):
    case_no: str
    track_label: str
    started_at: AwareDatetime
    outcome: str | None
    decided_at: AwareDatetime | None
    url: str


class IncubationView(BaseModel):
    """One incubation as the caller may see it; ``actions`` are what they may do now."""

    case_no: str
    audience: str = Field(description="group 入孵组织 / staff 基地工作人员 / mentor 导师 / oversight 民政、街道")
    base_code: str
    base_name: str
    base_url: str
    group_name: str
    organization: str | None
    representative: str
    plan: str
    term_months: int
    phase: IncubationPhase
    phase_name: str
    submitted_at: AwareDatetime
    admitted_at: AwareDatetime | None
    term_ends: AwareDatetime | None
    term_range: str | None = Field(description="政策规定的孵化期限")
    extensions: int
    mentor: str | None
    services: list[str]
    service_plan: str | None
    reports: int
    late_reports: int | None = Field(description="逾期的孵化报告数（仅基地、导师、民政可见）")
    criteria: list[CriterionView]
    assessment: str | None = Field(description="出壳评估结论")
    reasons: list[str]
    filings: list[FilingView]
    waiting_position: int | None = Field(description="当前在候补名单上的位置")
    holders: list[HolderView]
    documents: list[DocumentView]
    timeline: list[TimelineView]
    ended_at: AwareDatetime | None
    actions: list[str] = Field(
        description="现在可以办理的：decide_admission、report、assess、review_assessment、leave、start_filing"
    )
    mentor_choices: list[MentorChoice] = Field(default_factory=list, description="入孵审核时可选的导师")
    service_choices: list[ServiceChoice] = Field(default_factory=list, description="入孵审核时可选的服务内容")
    extensions_allowed: int | None = Field(default=None, description="本案政策允许的延期次数")
    max_extension_months: int | None = Field(default=None, description="本案政策允许的最长延期（月）")
    report_due: ReportDue | None = Field(default=None, description="导师本期孵化报告的期限（仅导师可见）")


class IncubationSummary(BaseModel):
    case_no: str
    base_code: str
    base_name: str
    group_name: str
    phase: IncubationPhase
    phase_name: str
    mentor_id: str | None
    filing_case_no: str | None
    admitted_at: AwareDatetime | None
    ended_at: AwareDatetime | None
    updated_at: AwareDatetime
    url: str


class IncubationLink(BaseModel):
    """The incubation a filing was started from."""

    case_no: str
    group_name: str
    base_name: str
    phase_name: str
    url: str
