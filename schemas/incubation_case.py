"""One group's incubation as its workflow keeps it: the application, the base's decisions, the mentor's
reports, the assessment (出壳评估) and how it ended."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from schemas.application import Application
from schemas.case import Task, TimelineEvent
from schemas.documents import DocumentRef
from schemas.incubation import IncubationBase, IncubationPolicy, Service
from schemas.people import Actor, Office
from schemas.text import MultiLine, NameItem, Reason, SingleLine


class IncubationPhase(StrEnum):
    applied = "applied"
    waiting = "waiting"
    incubating = "incubating"
    assessing = "assessing"
    graduated = "graduated"
    exited = "exited"
    refused = "refused"

    @property
    def label(self) -> str:
        return INCUBATION_PHASE_NAMES[self]


INCUBATION_PHASE_NAMES: dict[IncubationPhase, str] = {
    IncubationPhase.applied: "入孵审核中",
    IncubationPhase.waiting: "候补中",
    IncubationPhase.incubating: "孵化中",
    IncubationPhase.assessing: "出壳评估中",
    IncubationPhase.graduated: "已出壳",
    IncubationPhase.exited: "已退出孵化",
    IncubationPhase.refused: "未获准入孵",
}


class IncubationApplication(BaseModel):
    """What a group hands in: who it is (a register key once filed or registered), its plan and term."""

    base_code: str = Field(min_length=1, max_length=40, title="孵化基地")
    group_name: SingleLine = Field(min_length=2, max_length=50, title="组织或团队名称")
    organization: str | None = Field(default=None, max_length=40, title="已备案或登记的，名录编号")
    plan: str = Field(
        min_length=10, max_length=2000, title="入孵计划", description="what it will do and learn in the base"
    )
    term_months: int = Field(ge=1, le=36, title="申请孵化期限（月）")


class IncubationRequest(BaseModel):
    case_no: str
    application: IncubationApplication | None = None
    representative: Actor | None = None
    carried_over: IncubationState | None = None


class IncubationDecision(BaseModel):
    """The base's answer to an application: admit with a service plan and a mentor, or refuse with reasons."""

    admit: bool
    reasons: list[Reason] = Field(default_factory=list, max_length=10, title="理由")
    mentor_id: str | None = Field(
        default=None, max_length=64, title="导师", description="one of the base's mentors; None: its first"
    )
    services: list[Service] = Field(
        default_factory=list, max_length=len(Service), title="服务内容", description="from the base's; empty: all"
    )
    service_plan: MultiLine | None = Field(default=None, max_length=1000, title="服务计划", description="what the base will do")
    actor: Actor


class AssessmentReview(BaseModel):
    """Civil affairs' part of 出壳评估: agree with the base's finding, or send it back with reasons."""

    agree: bool
    reasons: list[Reason] = Field(default_factory=list, max_length=10, title="理由")
    actor: Actor


class CheckInReport(BaseModel):
    summary: str = Field(
        min_length=10, max_length=2000, title="孵化报告", description="what the group did, what it needs"
    )
    actor: Actor


class AssessmentOutcome(StrEnum):
    graduate = "graduate"
    extend = "extend"
    exit = "exit"

    @property
    def label(self) -> str:
        return {"graduate": "准予出壳", "extend": "延期出壳", "exit": "退出孵化"}[self.value]


class IncubationAssessment(BaseModel):
    """出壳评估: the base's finding on each criterion, and graduate, extend once, or exit, with reasons."""

    outcome: AssessmentOutcome
    criteria_met: list[NameItem] = Field(default_factory=list, max_length=20, title="已达到的出壳标准")
    reasons: list[Reason] = Field(default_factory=list, max_length=10, title="理由")
    extension_months: int | None = Field(default=None, ge=1, le=12, title="延期月数")
    actor: Actor


class IncubationExit(BaseModel):
    """Leaving before the assessment: the group itself, the base or civil affairs, always with reasons."""

    reasons: list[Reason] = Field(min_length=1, max_length=10, title="退出理由")
    actor: Actor


class FilingStart(BaseModel):
    """备案/登记 from inside incubation: the group's application, under a case number the service allocated."""

    case_no: str = Field(min_length=1, max_length=40)
    application: Application
    actor: Actor


class FilingMilestone(BaseModel):
    """A filing case started from the incubation, and how it ended (None while it runs)."""

    case_no: str
    track_label: str
    started_at: AwareDatetime
    outcome: str | None = Field(
        default=None, description="the filing's final phase: approved, refused, lapsed, withdrawn"
    )
    decided_at: AwareDatetime | None = None


class PlaceClaim(BaseModel):
    base_code: str
    case_no: str
    at: AwareDatetime


class IncubationState(BaseModel):
    """Everything the incubation workflow knows; the ``incubations`` table is a projection of it."""

    case_no: str
    revision: int = 0
    settled_revision: int = 0
    runs: int = 1
    application: IncubationApplication
    representative: Actor
    submitted_at: AwareDatetime
    base: IncubationBase | None = None
    policy: IncubationPolicy | None = None
    phase: IncubationPhase = IncubationPhase.applied
    timeline: list[TimelineEvent] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    documents: list[DocumentRef] = Field(default_factory=list)
    waiting_position: int | None = Field(default=None, description="its place in the waiting list when it joined")
    admitted_at: AwareDatetime | None = None
    mentor: Actor | None = None
    services: list[Service] = Field(default_factory=list, description="the service plan's services")
    service_plan: str | None = None
    assessment: IncubationAssessment | None = Field(
        default=None, description="the base's finding, while civil affairs reviews it, and the one that ended the case"
    )
    term_ends: AwareDatetime | None = None
    extensions: int = 0
    reports: int = 0
    late_reports: int = 0
    ended_at: AwareDatetime | None = None
    reasons: list[str] = Field(default_factory=list, description="why it was refused, or exited")
    filings: list[FilingMilestone] = Field(default_factory=list, description="备案/登记 started from the incubation")
    organization: str | None = Field(default=None, description="register key once a filing started here was approved")
    operator_name: str | None = Field(default=None, description="the hub organization running the base, as the register names it")
    authority: Office | None = Field(default=None, description="the district 民政局 over the base: reviews 出壳评估, co-issues 出壳证书")


class BaseAsk(BaseModel):
    """Which base, at what time (its policy is the one in force then)."""

    base_code: str
    at: AwareDatetime


class BaseParties(BaseModel):
    """Who stands behind a base on its documents: its operator from the register, and the district 民政局."""

    operator_name: str
    authority: Office


class PlaceOutcome(BaseModel):
    """A claim's answer (``waiting_position`` None: a place is held) or a release's (who moved in, if anyone)."""

    waiting_position: int | None = None
    moved_in: str | None = None
