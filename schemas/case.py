"""A filing/registration case: its phases, tasks, timeline and the human actions that move it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from schemas.application import Application, MaterialSubmission
from schemas.calendar import Deadline
from schemas.checklist import Checklist, Procedure
from schemas.documents import DocumentRef, NoticePeriod
from schemas.people import Actor, Locality, Office, Role


class Phase(StrEnum):
    submitted = "submitted"
    correction = "correction"
    preliminary_review = "preliminary_review"
    authority_review = "authority_review"
    public_notice = "public_notice"
    decision = "decision"
    approved = "approved"
    refused = "refused"
    lapsed = "lapsed"
    withdrawn = "withdrawn"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_PHASES


TERMINAL_PHASES = frozenset({Phase.approved, Phase.refused, Phase.lapsed, Phase.withdrawn})


class PhaseName(BaseModel):
    applicant: str
    staff: str
    future: str = Field(default="", description="shown to applicants for the phase done or still to come")


PHASE_NAMES: dict[Phase, PhaseName] = {
    Phase.submitted: PhaseName(applicant="已提交，正在核对材料", staff="形式审查", future="提交申请，核对材料"),
    Phase.correction: PhaseName(applicant="请补正材料（办理时限暂停计算）", staff="待申请人补正", future="补正材料"),
    Phase.public_notice: PhaseName(applicant="公示中", staff="公示期（受理异议）", future="公示"),
    Phase.lapsed: PhaseName(applicant="已失效（逾期未补正）", staff="逾期未补正，申请失效"),
    Phase.withdrawn: PhaseName(applicant="已撤回", staff="申请人撤回"),
}
"""Names of fixed phases; review, decision and outcome phases are named by the track's policy."""


class TaskStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return {"open": "待办", "done": "已办结", "cancelled": "已取消"}[self.value]


class Outcome(StrEnum):
    approve = "approve"
    refuse = "refuse"
    request_correction = "request_correction"
    uphold = "uphold"
    dismiss = "dismiss"

    @property
    def label(self) -> str:
        return {
            "approve": "同意",
            "refuse": "不同意",
            "request_correction": "要求补正",
            "uphold": "异议成立",
            "dismiss": "异议不成立",
        }[self.value]


class TaskDecision(BaseModel):
    outcome: Outcome
    reasons: list[str] = Field(default_factory=list)
    comment: str | None = None
    by: Actor
    at: AwareDatetime


class Task(BaseModel):
    task_id: str
    step: str
    title: str
    role: Role
    office: Office
    a: Actor
    b: Actor
    holder: Actor
    status: TaskStatus = TaskStatus.open
    created_at: AwareDatetime
    deadline: Deadline
    reminded_at: AwareDatetime | None = None
    escalated_at: AwareDatetime | None = None
    overdue_reported_at: AwareDatetime | None = None
    decision: TaskDecision | None = None
    objection_id: str | None = None
    subject: str | None = Field(default=None, description="what the task is about within its case, e.g. a milestone")
    closed_at: AwareDatetime | None = None

    @property
    def escalated(self) -> bool:
        return self.escalated_at is not None


class ClockPause(BaseModel):
    reason: str
    paused_at: AwareDatetime
    resumed_at: AwareDatetime | None = None


class LegalClock(BaseModel):
    """限时办结: starts at acceptance, pauses during correction (and public notice when the policy says so)."""

    working_days: int
    accepted_at: AwareDatetime
    deadline: Deadline | None = None
    remaining_working_days: int | None = Field(default=None, description="set while paused")
    pauses: list[ClockPause] = Field(default_factory=list)

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].resumed_at is None


class CorrectionRequest(BaseModel):
    """One 补正 round: every item at once, a window, and what came back."""

    round: int
    items: list[str]
    requested_by: Actor | None = Field(default=None, description="None when the completeness check asked")
    requested_at: AwareDatetime
    step: str | None = Field(default=None, description="review step that asked, if any")
    window: Deadline
    notice_document_id: str
    received_at: AwareDatetime | None = None
    still_missing: list[str] = Field(default_factory=list)
    submissions: int = Field(default=0, description="corrections submitted in this round (the policy bounds them)")


class ObjectionStatus(StrEnum):
    open = "open"
    upheld = "upheld"
    dismissed = "dismissed"

    @property
    def label(self) -> str:
        return {"open": "待处理", "upheld": "异议成立", "dismissed": "异议不成立"}[self.value]


class Objection(BaseModel):
    objection_id: str
    filed_by: Actor
    filed_at: AwareDatetime
    content: str
    contact: str | None = None
    status: ObjectionStatus = ObjectionStatus.open
    task_id: str | None = None
    resolution: TaskDecision | None = None
    answer: str | None = Field(default=None, description="the applicant's 陈述申辩, heard before the objection is resolved")
    answered_at: AwareDatetime | None = None


class TimelineEvent(BaseModel):
    seq: int
    at: AwareDatetime
    actor: Actor | None = Field(default=None, description="None for the system (timers, checks)")
    action: str
    summary: str
    phase_before: str = Field(description="the process's phase before the event (a Phase, LotPhase or FairPhase value)")
    phase_after: str


class Result(BaseModel):
    phase: Phase
    decided_at: AwareDatetime
    reasons: list[str] = Field(default_factory=list)
    certificate_number: str | None = None
    valid_until: AwareDatetime | None = None
    document_id: str | None = None


class CaseState(BaseModel):
    """Everything the workflow knows about a case; the read model is a projection of it."""

    case_no: str
    revision: int = 0
    settled_revision: int = 0
    runs: int = Field(default=1, description="workflow runs so far (continue-as-new)")
    application: Application
    applicant: Actor
    submitted_at: AwareDatetime
    phase: Phase = Phase.submitted
    phase_applicant_name: str = PHASE_NAMES[Phase.submitted].applicant
    phase_staff_name: str = PHASE_NAMES[Phase.submitted].staff
    locality: Locality | None = None
    authority: Office | None = None
    checklist: Checklist | None = None
    procedure: Procedure | None = None
    legal_clock: LegalClock | None = None
    corrections: list[CorrectionRequest] = Field(default_factory=list)
    public_notice: NoticePeriod | None = None
    tasks: list[Task] = Field(default_factory=list)
    objections: list[Objection] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)
    documents: list[DocumentRef] = Field(default_factory=list)
    result: Result | None = None

    @property
    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.status is TaskStatus.open]

    @property
    def open_correction(self) -> CorrectionRequest | None:
        last = self.corrections[-1] if self.corrections else None
        return last if last and self.phase is Phase.correction else None

    @property
    def next_deadline(self) -> Deadline | None:
        """The earliest date someone must act by: an open task, the correction window or the end of 公示."""
        deadlines = [t.deadline for t in self.open_tasks]
        if self.open_correction:
            deadlines.append(self.open_correction.window)
        if self.phase is Phase.public_notice and self.public_notice:
            deadlines.append(self.public_notice.ends)
        return min(deadlines, key=lambda d: d.due_at, default=None)

    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.tasks if t.task_id == task_id), None)

    def objection(self, objection_id: str) -> Objection | None:
        return next((o for o in self.objections if o.objection_id == objection_id), None)


# --- human actions, each a validated Temporal update -------------------------------------------


def _reasons(value: list[str]) -> list[str]:
    return [r.strip() for r in value if r and r.strip()]


class FilingRequest(BaseModel):
    """Starts a case (the workflow id is ``case_no``), or carries one over by continue-as-new with
    everything it knew."""

    case_no: str
    applicant: Actor
    application: Application | None = Field(default=None, description="None when carried over: the state has it")
    carried_over: CaseState | None = None


class ReviewDecision(BaseModel):
    step: str = Field(min_length=1, title="办理环节")
    outcome: Outcome = Field(title="办理结果")
    reasons: list[str] = Field(default_factory=list, max_length=30, title="理由或补正事项")
    comment: str | None = Field(default=None, max_length=2000, title="意见")
    actor: Actor

    _clean = field_validator("reasons")(_reasons)


class Correction(BaseModel):
    actor: Actor
    materials: list[MaterialSubmission] = Field(default_factory=list, max_length=200, title="补正材料")
    application: Application | None = Field(default=None, title="更正后的申请信息")
    note: str | None = Field(default=None, max_length=2000, title="补正说明")


class Withdrawal(BaseModel):
    actor: Actor
    reason: str | None = Field(default=None, max_length=2000, title="撤回原因")


class ObjectionFiling(BaseModel):
    actor: Actor
    content: str = Field(max_length=5000, title="异议内容")
    contact: str | None = Field(default=None, max_length=100, title="联系方式")


class ObjectionAnswer(BaseModel):
    """The applicant's 陈述申辩 to an objection, once, before it is resolved."""

    objection_id: str = Field(title="异议编号")
    content: str = Field(min_length=1, max_length=5000, title="陈述申辩")
    actor: Actor


class ObjectionResolution(BaseModel):
    objection_id: str = Field(title="异议编号")
    outcome: Outcome = Field(title="处理结果")
    reasons: list[str] = Field(default_factory=list, max_length=30, title="处理理由")
    actor: Actor

    _clean = field_validator("reasons")(_reasons)


class ActionReceipt(BaseModel):
    """What an update returns once the workflow has settled after it (any process)."""

    case_no: str
    phase: str
    phase_applicant_name: str
    phase_staff_name: str
    message: str
