"""Purchase-of-service contracts (政府购买服务合同): terms, milestones, tranches, the ledger (专帐),
performance evaluations, rectification, amendments and the human actions on them."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, field_validator

from schemas.case import Task, TaskDecision, TaskStatus, TimelineEvent
from schemas.documents import DocumentRef
from schemas.people import Actor, Locality, Office
from schemas.policy import ContractPolicy, PolicyRef
from schemas.procurement import DimensionKey, Points
from schemas.text import MultiLine, NameItem, Reason, RequestModel, Sha256, SingleLine
from schemas.timebounds import PlausibleDate


def _clean(values: list[str]) -> list[str]:
    return [v.strip() for v in values if v and v.strip()]


# --- the plan: milestones and the payment schedule -----------------------------------------------


LISTED_ORGANIZATIONS = 100
"""A target's bound, and how many counted organizations a report carries: each report stays in the contract's
state, which travels whole (about 20 KB a report at most)."""
IncubationMeasure = Literal["admitted", "filed", "graduated"]
MEASURE_LABELS: dict[str, str] = {"admitted": "已入孵", "filed": "孵化期间已备案或登记", "graduated": "已出壳"}
BaseCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)*$", max_length=40)]


class IncubationDeliverable(RequestModel):
    """A hub's milestone counted in its bases' incubation outcomes within the contract term, so the contract
    pays the operator by progress (用社会组织孵化培育社会组织)."""

    measure: IncubationMeasure = Field(title="孵化成果（admitted 入孵 / filed 孵化期间备案或登记 / graduated 出壳）")
    count: int = Field(ge=1, le=LISTED_ORGANIZATIONS, title="目标数（家）")
    bases: list[BaseCode] = Field(min_length=1, max_length=20, title="计入的孵化基地（基地代码）")

    @field_validator("bases")
    @classmethod
    def _distinct(cls, bases: list[str]) -> list[str]:
        return list(dict.fromkeys(bases))

    @property
    def text(self) -> str:
        return f"合同期内{MEASURE_LABELS[self.measure]}{self.count}家（计入孵化基地 {'、'.join(self.bases)}）"


class MilestoneInput(RequestModel):
    title: SingleLine = Field(min_length=2, max_length=80, title="节点名称")
    deliverables: list[NameItem] = Field(min_length=1, max_length=20, title="交付成果")
    due_date: PlausibleDate = Field(title="完成日期")
    mid_term_evaluation: bool = Field(default=False, title="完成后进行中期绩效评价")
    deliverable: IncubationDeliverable | None = Field(default=None, title="孵化成果指标（基地运营方的合同）")

    _clean = field_validator("deliverables")(_clean)


TrancheTrigger = Literal["signing", "milestone", "final_evaluation"]


class TrancheInput(RequestModel):
    amount_fen: int = Field(gt=0, le=10**11, title="拨付金额（分）")
    on: TrancheTrigger = Field(title="拨付条件（signing 签约预付 / milestone 节点验收 / final_evaluation 终期评价后）")
    milestone: int | None = Field(default=None, ge=1, le=24, title="对应节点序号（从1开始，on 为 milestone 时必填）")


def term_end(start: date, months: int) -> date:
    """The last day of a term of ``months`` beginning on ``start``: the day before the same day ``months``
    later (自2026年12月5日起12个月至2027年12月4日); where that month has no such day, its last day."""
    year, month = divmod(start.month - 1 + months, 12)
    try:
        anniversary = date(start.year + year, month + 1, start.day)
    except ValueError:  # 31 January + 1 month: the term runs to the end of February
        anniversary = date(start.year + year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return anniversary - timedelta(days=1)


class ContractPlan(RequestModel):
    start_date: PlausibleDate = Field(title="合同开始日期")
    end_date: PlausibleDate = Field(title="合同结束日期")
    milestones: list[MilestoneInput] = Field(min_length=1, max_length=24, title="服务节点")
    tranches: list[TrancheInput] = Field(min_length=1, max_length=24, title="拨付计划")

    @property
    def term_length(self) -> tuple[int, int]:
        """(whole months, days beyond them) from the start to the end date, both days included: what the
        contract states as its service period, so the words always match the dates."""
        months = 0
        while term_end(self.start_date, months + 1) <= self.end_date:
            months += 1
        last = term_end(self.start_date, months) if months else self.start_date - timedelta(days=1)
        return months, (self.end_date - last).days


class ContractBasis(BaseModel):
    """What both parties agreed before the plan: who, what, how much, how long."""

    contract_no: str
    origin: Literal["lot", "single_source"]
    lot_no: str | None = None
    fair_no: str | None = None
    title: str
    service_content: str
    buyer_office: str
    buyer: Actor
    buyer_jurisdiction: str
    supplier: str
    supplier_name: str
    amount_fen: int
    duration_months: int
    awarded_at: AwareDatetime
    single_source_reasons: list[str] = Field(default_factory=list)


class BankAccount(BaseModel):
    """The account the register holds for an organization's receipts (收款账户)."""

    bank: str = Field(min_length=2, max_length=80, description="开户银行")
    account_name: str = Field(min_length=2, max_length=80, description="户名")
    number: str = Field(pattern=r"^[0-9 ]{8,40}$", description="账号")


class ContractRequest(BaseModel):
    basis: ContractBasis
    organizer: Office
    locality: Locality


# --- the contract as it runs -----------------------------------------------------------------------


class MilestoneStatus(StrEnum):
    pending = "pending"
    submitted = "submitted"
    returned = "returned"
    accepted = "accepted"

    @property
    def label(self) -> str:
        return {"pending": "待提交", "submitted": "待验收", "returned": "已退回，待重新提交", "accepted": "已验收"}[self.value]


class DeliveryInput(RequestModel):
    summary: MultiLine = Field(min_length=5, max_length=5000, title="履约报告")
    attachments: list[Sha256] = Field(default_factory=list, max_length=20, title="附件（上传后得到的 SHA-256）")


class IncubatedOrganization(BaseModel):
    """One organization counted towards a milestone's incubation target."""

    case_no: str
    name: str
    organization: str | None = Field(default=None, description="register key once filed or registered")
    base_code: str
    on: date = Field(description="the day it counted: admitted, filed or graduated")


class IncubationProgress(BaseModel):
    """The read model's count for a milestone's incubation target, at the moment it was taken."""

    measure: IncubationMeasure
    target: int
    reached: int
    organizations: list[IncubatedOrganization] = Field(description="the first ones to reach it, at most LISTED_ORGANIZATIONS")
    counted_at: AwareDatetime

    @property
    def text(self) -> str:
        return f"{MEASURE_LABELS[self.measure]} {self.reached}/{self.target} 家"


class DeliveryContent(DeliveryInput):
    """A report as the workflow records it: what the supplier wrote, and for an incubation milestone the
    figures the service attached when it was submitted (never typed by the supplier)."""

    progress: IncubationProgress | None = None


class DeliveryReport(DeliveryContent):
    recorded: ClassVar[bool] = True
    report_no: int
    submitted_by: Actor
    submitted_at: AwareDatetime
    late: bool
    decision: TaskDecision | None = None


class Milestone(MilestoneInput):
    recorded: ClassVar[bool] = True
    milestone_id: str
    status: MilestoneStatus = MilestoneStatus.pending
    reports: list[DeliveryReport] = Field(default_factory=list)
    reminded_at: AwareDatetime | None = None
    late_flagged_at: AwareDatetime | None = None
    accepted_at: AwareDatetime | None = None
    evaluated: bool = False


class TrancheStatus(StrEnum):
    pending = "pending"
    instructed = "instructed"
    paid = "paid"
    withheld = "withheld"

    @property
    def label(self) -> str:
        return {"pending": "未到拨付条件", "instructed": "已下达支付指令", "paid": "已拨付", "withheld": "不再拨付"}[self.value]


class Tranche(BaseModel):
    tranche_id: str
    amount_fen: int
    on: TrancheTrigger
    milestone_id: str | None = None
    status: TrancheStatus = TrancheStatus.pending
    instructed_at: AwareDatetime | None = None
    document_id: str | None = None
    task_id: str | None = None
    paid_at: AwareDatetime | None = None
    voucher: str | None = None


class EvaluationKind(StrEnum):
    mid_term = "mid_term"
    final = "final"
    re_evaluation = "re_evaluation"

    @property
    def label(self) -> str:
        return {"mid_term": "中期绩效评价", "final": "终期绩效评价", "re_evaluation": "整改后复评"}[self.value]


class EvaluationInput(RequestModel):
    scores: dict[DimensionKey, Points] = Field(max_length=30, title="各维度得分", description="dimension id → points")
    satisfaction_rate: int = Field(ge=0, le=100, title="服务对象满意率（%）")
    respondents: int = Field(ge=1, le=100000, title="满意度调查人数")
    comment: MultiLine = Field(min_length=2, max_length=5000, title="评价意见")


class Evaluation(EvaluationInput):
    recorded: ClassVar[bool] = True
    evaluation_id: str
    kind: EvaluationKind
    stage: EvaluationKind = Field(description="the stage being evaluated: mid_term or final (a re-evaluation keeps its stage)")
    satisfaction_points: int
    total: int
    grade: str
    grade_label: str
    passed: bool
    evaluator: Actor
    submitted_at: AwareDatetime
    document_id: str | None = None


class Rectification(BaseModel):
    stage: EvaluationKind
    opened_at: AwareDatetime
    due_at: AwareDatetime
    due_date: date
    items: list[str]
    notice_document_id: str
    report: DeliveryReport | None = None


class AmendmentInput(RequestModel):
    amount_fen: int | None = Field(default=None, gt=0, le=10**11, title="变更后的合同金额（分）")
    plan: ContractPlan = Field(title="变更后的履约计划")
    reasons: list[Reason] = Field(min_length=1, max_length=20, title="变更理由")

    _clean = field_validator("reasons")(_clean)


class AmendmentStatus(StrEnum):
    proposed = "proposed"
    awaiting_approval = "awaiting_approval"
    agreed = "agreed"
    refused = "refused"
    disapproved = "disapproved"
    lapsed = "lapsed"

    @property
    def label(self) -> str:
        return {
            "proposed": "待对方确认", "awaiting_approval": "双方同意，追加金额待组织单位审批", "agreed": "已生效",
            "refused": "对方不同意", "disapproved": "组织单位不同意追加金额", "lapsed": "合同已终止，变更未生效",
        }[self.value]


class Amendment(AmendmentInput):
    recorded: ClassVar[bool] = True
    amendment_no: int
    proposed_by: Actor
    proposed_at: AwareDatetime
    status: AmendmentStatus = AmendmentStatus.proposed
    answered_by: Actor | None = None
    answered_at: AwareDatetime | None = None
    answer_reasons: list[str] = Field(default_factory=list)
    approval_task_id: str | None = Field(default=None, description="the organizer's task when the amount rises beyond the award")
    approval: TaskDecision | None = None
    version: int | None = None


class ContractPhase(StrEnum):
    approval = "approval"
    drafting = "drafting"
    signing = "signing"
    in_force = "in_force"
    evaluation = "evaluation"
    rectification = "rectification"
    suspended = "suspended"
    completed = "completed"
    terminated = "terminated"

    @property
    def terminal(self) -> bool:
        return self in (ContractPhase.completed, ContractPhase.terminated)


CONTRACT_PHASE_NAMES: dict[ContractPhase, tuple[str, str]] = {
    ContractPhase.approval: ("单一来源采购待审批", "单一来源采购审批"),
    ContractPhase.drafting: ("合同起草中", "购买方起草履约计划"),
    ContractPhase.signing: ("待双方签署", "待双方签署"),
    ContractPhase.in_force: ("合同履行中", "合同履行中"),
    ContractPhase.evaluation: ("绩效评价中", "绩效评价"),
    ContractPhase.rectification: ("整改中", "整改期"),
    ContractPhase.suspended: ("合同中止", "合同中止"),
    ContractPhase.completed: ("合同履行完毕", "已完成"),
    ContractPhase.terminated: ("合同已终止", "已终止"),
}
"""(supplier-facing, staff-facing) names of each contract phase."""


class Signature(BaseModel):
    party: Literal["buyer", "supplier"]
    by: Actor
    at: AwareDatetime
    version: int


class ContractResult(BaseModel):
    phase: ContractPhase
    decided_at: AwareDatetime
    reasons: list[str] = Field(default_factory=list)
    final_grade: str | None = None
    reward_fen: int = 0
    barred_until_year: int | None = None


class ContractState(BaseModel):
    contract_no: str
    revision: int = 0
    settled_revision: int = 0
    runs: int = Field(default=1, description="workflow runs so far (continue-as-new)")
    basis: ContractBasis
    organizer: Office
    locality: Locality
    policy: ContractPolicy | None = None
    policy_ref: PolicyRef | None = None
    history_limit: int = 5000
    opened_at: AwareDatetime
    phase: ContractPhase = ContractPhase.drafting
    phase_before_suspension: ContractPhase | None = None
    amount_fen: int
    version: int = 0
    plan: ContractPlan | None = None
    milestones: list[Milestone] = Field(default_factory=list)
    tranches: list[Tranche] = Field(default_factory=list)
    signatures: list[Signature] = Field(default_factory=list)
    evaluations: list[Evaluation] = Field(default_factory=list)
    rectification: Rectification | None = None
    amendments: list[Amendment] = Field(default_factory=list)
    reward: Tranche | None = Field(default=None, description="the 以奖代补 reward, outside the contract amount")
    payee: BankAccount | None = Field(default=None, description="the supplier's account as the register held it when the contract was signed")
    tasks: list[Task] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)
    documents: list[DocumentRef] = Field(default_factory=list)
    result: ContractResult | None = None

    @property
    def phase_names(self) -> tuple[str, str]:
        return CONTRACT_PHASE_NAMES[self.phase]

    @property
    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.status is TaskStatus.open]

    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.tasks if t.task_id == task_id), None)

    def milestone(self, milestone_id: str) -> Milestone | None:
        return next((m for m in self.milestones if m.milestone_id == milestone_id), None)

    def tranche(self, tranche_id: str) -> Tranche | None:
        return next((t for t in self.tranches if t.tranche_id == tranche_id), None)

    def payment(self, entry: str) -> Tranche | None:
        """A tranche, or the reward (``R1``)."""
        if self.reward and self.reward.tranche_id == entry:
            return self.reward
        return self.tranche(entry)

    def signed_by(self, party: str) -> bool:
        return any(s.party == party and s.version == self.version for s in self.signatures)

    @property
    def committed_fen(self) -> int:
        """Instructed or paid: what the ledger has released against the contract amount."""
        return sum(t.amount_fen for t in self.tranches if t.status in (TrancheStatus.instructed, TrancheStatus.paid))

    @property
    def open_amendment(self) -> Amendment | None:
        """The amendment waiting for the other party."""
        return next((a for a in self.amendments if a.status is AmendmentStatus.proposed), None)

    @property
    def undecided_amendment(self) -> Amendment | None:
        """The amendment not yet in force or refused: waiting for the other party or the organizer."""
        return next((a for a in self.amendments if a.status in (AmendmentStatus.proposed, AmendmentStatus.awaiting_approval)), None)

    def raises_beyond_award(self, amount_fen: int | None) -> bool:
        return amount_fen is not None and amount_fen > self.basis.amount_fen


class ContractStart(BaseModel):
    """A new contract, or one carried over by continue-as-new with everything it knew."""

    request: ContractRequest | None = None
    carried_over: ContractState | None = None


# --- the ledger (专帐) ------------------------------------------------------------------------------


class LedgerInstruction(BaseModel):
    contract_no: str
    entry: str = Field(description="tranche id, or 'reward'")
    kind: Literal["tranche", "reward"]
    amount_fen: int
    cap_fen: int | None = Field(description="the contract amount tranches may never exceed; None for rewards")
    document_id: str
    instructed_at: AwareDatetime


class LedgerDisbursement(BaseModel):
    contract_no: str
    entry: str
    voucher: str
    paid_at: AwareDatetime


class LedgerWithholding(BaseModel):
    contract_no: str
    entries: dict[str, int] = Field(description="tranche id → amount in fen that will not be paid")
    reason: str
    at: AwareDatetime


class PerformanceRecord(BaseModel):
    """What the register learns from a contract: its grade, and a bar after a failed rectification."""

    organization: str
    grade: str | None = None
    year: int
    barred_until_year: int | None = None


class ContractRules(BaseModel):
    policy: ContractPolicy
    ref: PolicyRef
    history_limit: int


class ContractLookup(BaseModel):
    jurisdiction_chain: list[str]
    on: date


# --- human actions -----------------------------------------------------------------------------


class SingleSourceApproval(BaseModel):
    actor: Actor
    approve: bool
    reasons: list[str] = Field(default_factory=list)

    _clean = field_validator("reasons")(_clean)


class PlanProposal(BaseModel):
    actor: Actor
    plan: ContractPlan


class SigningAct(BaseModel):
    actor: Actor
    party: Literal["buyer", "supplier"]


class DeliverySubmission(BaseModel):
    actor: Actor
    milestone_id: str
    report: DeliveryContent


class DeliveryReview(BaseModel):
    actor: Actor
    milestone_id: str
    accept: bool
    reasons: list[str] = Field(default_factory=list)

    _clean = field_validator("reasons")(_clean)


class DisbursementRecord(BaseModel):
    actor: Actor
    tranche_id: str
    voucher: str = Field(min_length=2, max_length=64, title="拨付凭证号")


class EvaluationSubmission(BaseModel):
    actor: Actor
    evaluation: EvaluationInput


class RectificationReport(BaseModel):
    actor: Actor
    report: DeliveryInput


class AmendmentProposal(BaseModel):
    actor: Actor
    amendment: AmendmentInput


class AmendmentApproval(BaseModel):
    """The organizer's decision on an amendment that raises the amount beyond the award."""

    actor: Actor
    amendment_no: int
    approve: bool
    reasons: list[str] = Field(default_factory=list)

    _clean = field_validator("reasons")(_clean)


class AmendmentAnswer(BaseModel):
    actor: Actor
    amendment_no: int
    agree: bool
    reasons: list[str] = Field(default_factory=list)

    _clean = field_validator("reasons")(_clean)


class SuspensionAct(BaseModel):
    actor: Actor
    suspend: bool
    reasons: list[str] = Field(default_factory=list)

    _clean = field_validator("reasons")(_clean)


class TerminationAct(BaseModel):
    actor: Actor
    reasons: list[str] = Field(min_length=1)

    _clean = field_validator("reasons")(_clean)
