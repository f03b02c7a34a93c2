"""What the API and the CLI take in and give back (beyond the workflow's own types)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from schemas.application import Application, MaterialSubmission, Track
from schemas.case import ObjectionStatus, Phase
from schemas.checklist import Checklist
from schemas.contracts import (
    Amendment,
    ContractPlan,
    ContractResult,
    Evaluation,
    IncubationProgress,
    Milestone,
    Rectification,
    Signature,
    Tranche,
)
from schemas.documents import DocumentRef
from schemas.incubation import IncubationHistory
from schemas.policy import GreenChannel, PolicyRef, RubricDimension, TrackPolicy
from schemas.procurement import (
    Bid,
    Challenge,
    ContractFacts,
    Demand,
    Eligibility,
    FairSchedule,
    LotSummary,
    Negotiation,
    Offer,
    Ranking,
    Screening,
    Seat,
    ShowcaseProject,
)
from schemas.text import MultiLine, Reason, RequestModel, SingleLine
from schemas.timebounds import WINDOW, PlausibleDatetime, check_schedule_date

# --- inputs ----------------------------------------------------------------------------------


class CorrectionInput(RequestModel):
    materials: list[MaterialSubmission] = Field(default_factory=list, max_length=200, title="补正材料")
    application: Application | None = Field(default=None, title="更正后的申请信息")
    note: MultiLine | None = Field(default=None, max_length=2000, title="补正说明")


class WithdrawalInput(RequestModel):
    reason: MultiLine | None = Field(default=None, max_length=2000, title="撤回原因")


class DecisionInput(RequestModel):
    step: SingleLine = Field(min_length=1, max_length=40, title="办理环节")
    outcome: Literal["approve", "refuse", "request_correction"] = Field(title="办理结果")
    reasons: list[Reason] = Field(default_factory=list, max_length=30, title="理由或补正事项")
    comment: MultiLine | None = Field(default=None, max_length=2000, title="意见")


class ObjectionInput(RequestModel):
    name: SingleLine = Field(min_length=1, max_length=50, title="异议人姓名")
    content: MultiLine = Field(min_length=1, max_length=5000, title="异议内容")
    contact: SingleLine | None = Field(default=None, max_length=100, title="联系方式")


class ObjectionAnswerInput(RequestModel):
    content: MultiLine = Field(min_length=1, max_length=5000, title="陈述申辩")


class ObjectionResolutionInput(RequestModel):
    outcome: Literal["uphold", "dismiss"] = Field(title="处理结果")
    reasons: list[Reason] = Field(default_factory=list, max_length=30, title="处理理由")


# --- outputs ---------------------------------------------------------------------------------


class DeadlineView(BaseModel):
    due_date: date
    due_at: AwareDatetime
    working_days: int
    calendar: list[str] = Field(description="which calendar decided, per year")
    provisional: bool


class HolderView(BaseModel):
    task_id: str
    step: str
    title: str
    office: str
    holder: str
    post: Literal["A", "B"]
    a: str
    b: str
    deadline: DeadlineView
    overdue: bool


class TimelineView(BaseModel):
    seq: int
    at: AwareDatetime
    actor: str | None
    role: str | None
    action: str
    summary: str
    phase_before: str
    phase_after: str


class DocumentView(DocumentRef):
    pdf_url: str
    html_url: str


class ObjectionView(BaseModel):
    objection_id: str
    filed_at: AwareDatetime
    content: str
    status: ObjectionStatus
    status_name: str
    resolution: str | None = None
    answer: str | None = Field(default=None, description="申请人的陈述申辩")
    answered_at: AwareDatetime | None = None
    task_id: str | None = Field(default=None, description="核查处理该异议的任务")


class MaterialFileView(BaseModel):
    """A material the applicant submitted, with its file (if any) to open: ``url`` serves it to those who
    may see the case."""

    material: str
    title: str
    person: str | None
    note: str | None
    filename: str | None
    content_type: str | None
    size: int | None
    url: str | None
    preview: Literal["pdf", "image"] | None = Field(default=None, description="浏览器可直接显示的类型；其他类型下载")


class CorrectionView(BaseModel):
    round: int
    items: list[str]
    still_missing: list[str]
    due: DeadlineView
    notice_document_id: str


class StepView(BaseModel):
    """One step of a case's progress line: done, the current one (who holds it, by when), or still to come;
    ``ended`` is how a case that stopped early (withdrawn, lapsed, refused) ended."""

    name: str
    status: Literal["done", "current", "to_come", "ended"]
    holders: list[HolderView] = Field(default_factory=list)
    due: DeadlineView | None = None


class CaseView(BaseModel):
    """A case as one person sees it: phase names for their audience, who holds it, by when, what is missing."""

    case_no: str
    track: str
    track_name: str
    organization_name: str
    applicant_name: str
    community: str
    community_name: str
    authority: str | None
    phase: Phase
    phase_name: str
    phase_applicant_name: str
    phase_staff_name: str
    closed: bool
    holders: list[HolderView]
    your_tasks: list[str] = Field(default_factory=list, description="调用者本人（A岗或B岗）现在可以办理的任务编号")
    next_deadline: DeadlineView | None
    legal_deadline: DeadlineView | None
    legal_clock_paused: bool
    legal_deadline_met: bool | None = Field(default=None, description="for a decided case: decided within the legal time limit")
    missing: list[str]
    correction: CorrectionView | None
    public_notice_until: date | None
    objections: list[ObjectionView]
    application: Application | None = Field(default=None, description="申请信息：组织、发起人和负责人、场所、联系方式")
    checklist: Checklist | None
    materials: list[MaterialFileView] = Field(default_factory=list, description="提交的材料及其文件")
    timeline: list[TimelineView]
    documents: list[DocumentView]
    result: str | None
    result_reasons: list[str]
    certificate_number: str | None
    progress: list[StepView] = Field(description="the case's steps in order, for a progress line")


class CaseSummary(BaseModel):
    case_no: str
    organization_name: str
    track_name: str
    phase: Phase
    phase_name: str
    holders: str
    next_deadline: AwareDatetime | None
    submitted_at: AwareDatetime
    closed: bool


InboxScope = Literal["mine", "group", "escalated", "done"]
"""我的 (held by me now), 本岗位组 (my role in my jurisdiction and below), 转给我的 (escalated to me as
B岗), 已办 (closed tasks of my posts)."""
InboxSort = Literal["deadline", "newest"]
Urgency = Literal["overdue", "due_soon", "on_time", "closed"]
DUE_SOON_WORKING_DAYS = 2
"""A task due within this many working days is shown as due soon (yellow, 即将到期)."""


class TaskView(BaseModel):
    case_no: str
    task_id: str
    step: str
    title: str
    organization_name: str
    office: str
    jurisdiction: str
    holder: str
    post: Literal["A", "B"]
    a: str
    b: str
    status: str
    due_at: AwareDatetime
    due_date: date = Field(description="到期日（当地日期，含当日）")
    working_days_left: int | None = Field(description="今天之后到到期日（含）还剩的工作日；已逾期或已办结为空")
    urgency: Urgency = Field(description=f"overdue 已逾期；due_soon {DUE_SOON_WORKING_DAYS}个工作日内到期；on_time；closed 已办结")
    overdue: bool
    escalated: bool
    created_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    outcome_name: str | None = Field(default=None, description="办结结果")


class InboxChoice(BaseModel):
    """A value a list can be filtered by, with its name."""

    value: str
    name: str


class SubmissionReceipt(BaseModel):
    case_no: str
    phase: Phase
    phase_name: str
    message: str
    missing: list[str]
    status_url: str


class NotificationView(BaseModel):
    key: str = Field(description="消息编号（标记已读时用）")
    case_no: str
    kind: str
    subject: str
    body: str
    created_at: AwareDatetime
    read_at: AwareDatetime | None = Field(description="何时标为已读；未读为空")


class PublicNoticeView(BaseModel):
    case_no: str
    organization_name: str
    track_name: str
    community_name: str
    until: date
    document: DocumentView | None


class CommunityView(BaseModel):
    code: str
    full_name: str
    street: str
    district: str


class RequirementsView(BaseModel):
    """What a track asks for in a community, before the applicant's own facts are applied."""

    policy: PolicyRef
    community: str
    track: Track
    requirements: TrackPolicy
    green_channel: GreenChannel | None
    defaults_note: str


class AttachmentView(BaseModel):
    sha256: str
    filename: str
    size: int
    content_type: str


# --- fairs and lots ------------------------------------------------------------------------------


class FairInput(RequestModel):
    title: SingleLine = Field(min_length=4, max_length=80, title="社洽会名称")
    schedule: FairSchedule = Field(title="日程", description=WINDOW)

    @field_validator("schedule")
    @classmethod
    def _schedule_plausible(cls, schedule: FairSchedule) -> FairSchedule:
        """A new fair is planned from a year back to ten years ahead; a recorded one is not re-checked."""
        for name in ("demands_due", "fair_day", "bids_close"):
            check_schedule_date(FairSchedule.model_fields[name].title or name, getattr(schedule, name))
        return schedule


class DemandReviewInput(RequestModel):
    approve: bool = Field(title="是否通过")
    reasons: list[Reason] = Field(default_factory=list, max_length=20, title="理由")


class BidWithdrawalInput(RequestModel):
    bid_id: SingleLine = Field(min_length=1, max_length=10, title="投标编号")


class ConflictInput(RequestModel):
    reason: MultiLine = Field(min_length=2, max_length=1000, title="回避理由")


class ChallengeInput(RequestModel):
    organization: SingleLine = Field(min_length=1, max_length=64, title="提出质疑的社会组织")
    content: MultiLine = Field(min_length=2, max_length=5000, title="质疑内容")


class ChallengeAnswerInput(RequestModel):
    upheld: bool = Field(title="质疑是否成立")
    reasons: list[Reason] = Field(default_factory=list, max_length=20, title="答复理由")
    disqualify_bid: SingleLine | None = Field(default=None, max_length=10, title="因质疑成立取消成交资格的投标编号")


class AwardResponseInput(RequestModel):
    organization: SingleLine = Field(min_length=1, max_length=64, title="收到成交通知的社会组织")
    accept: bool = Field(title="确认成交（true）或放弃（false）")
    reasons: list[Reason] = Field(default_factory=list, max_length=20, title="放弃理由")


class DisqualificationInput(RequestModel):
    bid_id: SingleLine = Field(min_length=1, max_length=10, title="投标编号")
    reasons: list[Reason] = Field(default_factory=list, max_length=20, title="取消理由")


class FailedLotInput(RequestModel):
    retender: bool = Field(title="重新组织（true）或终止（false）")
    bids_close: PlausibleDatetime | None = Field(default=None, title="重新组织时的投标截止时间", description=WINDOW)
    reasons: list[Reason] = Field(default_factory=list, max_length=20, title="理由")

    @field_validator("bids_close")
    @classmethod
    def _bids_close_plausible(cls, bids_close: datetime | None) -> datetime | None:
        if bids_close is not None:
            check_schedule_date("重新组织时的投标截止时间", bids_close)
        return bids_close


class FairSummary(BaseModel):
    fair_no: str
    title: str
    organizer: str
    phase: str
    phase_name: str
    demands_due: AwareDatetime
    fair_day: date
    bids_close: AwareDatetime


class CatalogueEntry(BaseModel):
    lot_no: str
    title: str
    department_office: str
    service_content: str
    target_group: str
    location: str
    budget_ceiling_fen: int
    duration_months: int
    requirements: Eligibility
    lot_phase: str | None = None


class FairView(FairSummary):
    """A fair as one person sees it: the published catalogue is public; demands under review are
    seen by the organizer and, for their own, by each department."""

    audience: str = Field(description="organizer 组织单位、department 购买服务部门或 public 公众（含投标人）")
    catalogue: list[CatalogueEntry]
    demands: list[Demand]
    showcase: list[ShowcaseProject] = Field(description="展示公益服务项目")
    lots: list[LotSummary]
    rubric: list[RubricDimension]
    timeline: list[TimelineView]
    documents: list[DocumentView]


class LotView(BaseModel):
    """A lot as one audience may see it (organizer, buying department, expert, bidder or public)."""

    audience: str
    lot_no: str
    fair_no: str
    fair_title: str
    demand: CatalogueEntry
    phase: str
    phase_name: str
    round: int
    bids_close: AwareDatetime
    fair_day: date
    bid_count: int | None = Field(
        description="bids in the lot: the organizer always sees it, anyone else only once bidding has closed"
    )
    bids: list[Bid]
    screenings: list[Screening]
    negotiations: list[Negotiation]
    panel: list[Seat]
    recusals: list[str]
    ranking: Ranking | None
    result_notice_until: date | None
    challenges: list[Challenge]
    offers: list[Offer]
    contract: ContractFacts | None
    rubric: list[RubricDimension]
    tasks: list[HolderView]
    timeline: list[TimelineView]
    documents: list[DocumentView]


class ShowcaseView(BaseModel):
    project_id: str
    organization: str
    organization_name: str
    title: str
    summary: str
    beneficiaries: str
    added_at: AwareDatetime


class ContractRecordView(BaseModel):
    contract_no: str
    lot_no: str | None = Field(description="成交产生合同的项目编号；单一来源采购为空")
    fair_no: str | None
    title: str
    buyer_office: str
    supplier: str
    supplier_name: str
    amount_fen: int
    duration_months: int
    awarded_at: AwareDatetime
    status: str
    status_name: str


# --- contracts -------------------------------------------------------------------------------------


class SingleSourceInput(RequestModel):
    title: SingleLine = Field(min_length=2, max_length=80, title="项目名称")
    service_content: MultiLine = Field(min_length=2, max_length=3000, title="服务内容")
    supplier: SingleLine = Field(min_length=1, max_length=64, title="承接的社会组织（名录编号）")
    amount_fen: int = Field(gt=0, le=10**11, title="合同金额（分）")
    duration_months: int = Field(ge=1, le=36, title="服务期限（月）")
    reasons: list[Reason] = Field(min_length=1, max_length=20, title="单一来源采购理由")


class ApprovalInput(RequestModel):
    approve: bool = Field(title="是否同意")
    reasons: list[Reason] = Field(default_factory=list, max_length=20, title="理由")


class SigningInput(RequestModel):
    party: Literal["buyer", "supplier"] = Field(title="签署方（buyer 购买方 / supplier 承接方）")


class DeliveryReviewInput(RequestModel):
    accept: bool = Field(title="验收通过（true）或退回（false）")
    reasons: list[Reason] = Field(default_factory=list, max_length=20, title="退回理由")


class DisbursementInput(RequestModel):
    tranche_id: SingleLine = Field(min_length=1, max_length=10, title="拨付编号（如 T1、R1）")
    voucher: SingleLine = Field(min_length=2, max_length=64, title="拨付凭证号")


class AmendmentAnswerInput(RequestModel):
    agree: bool = Field(title="是否同意变更")
    reasons: list[Reason] = Field(default_factory=list, max_length=20, title="理由")


class SuspensionInput(RequestModel):
    suspend: bool = Field(title="中止（true）或恢复（false）")
    reasons: list[Reason] = Field(default_factory=list, max_length=20, title="理由")


class TerminationInput(RequestModel):
    reasons: list[Reason] = Field(min_length=1, max_length=20, title="终止理由")


class LedgerEntryView(BaseModel):
    entry: str
    kind: str
    amount_fen: int
    status: str
    status_name: str
    instructed_at: AwareDatetime | None = Field(description="none for a withheld entry: it was never instructed")
    withheld_at: AwareDatetime | None = None
    paid_at: AwareDatetime | None
    voucher: str | None
    document_id: str | None = Field(description="the payment instruction; none for a withheld entry")


class DisclosureView(BaseModel):
    """定期公开: the facts of a contract anyone may read."""

    contract_no: str
    title: str
    buyer_office: str
    supplier_name: str
    amount_fen: int
    start_date: date | None
    end_date: date | None
    status: str
    status_name: str
    paid_fen: int
    payments: list[LedgerEntryView]
    grades: list[str]
    origin: str


class ContractView(BaseModel):
    audience: str
    contract_no: str
    title: str
    service_content: str
    origin: str
    lot_no: str | None
    buyer_office: str
    supplier: str
    supplier_name: str
    amount_fen: int
    duration_months: int = Field(description="the service period awarded or approved; the plan's term is exactly this long")
    phase: str
    phase_name: str
    version: int
    plan: ContractPlan | None
    milestones: list[Milestone]
    tranches: list[Tranche]
    reward: Tranche | None
    signatures: list[Signature]
    evaluations: list[Evaluation]
    rectification: Rectification | None
    amendments: list[Amendment]
    holders: list[HolderView]
    ledger: list[LedgerEntryView]
    timeline: list[TimelineView]
    documents: list[DocumentView]
    result: ContractResult | None
    your_tasks: list[str] = Field(default_factory=list, description="调用者本人（A岗或B岗）现在可以办理的任务编号")
    single_source_reasons: list[str] = Field(default_factory=list, description="单一来源采购的申请理由")
    rubric: list[RubricDimension] = Field(default_factory=list, description="绩效评价的各维度及其满分（政策规定）")
    progress: dict[str, IncubationProgress] = Field(
        default_factory=dict, description="未验收的孵化成果节点：节点编号 → 合同期内当前达成数和计入的组织（按读模型即时统计）"
    )
    satisfaction_weight: int = Field(default=0, description="服务对象满意率折算的满分")


class PlanCheckView(BaseModel):
    """What is wrong with a plan the buyer is drafting; empty when it may be proposed as it is."""

    problems: list[str]


# --- pages ------------------------------------------------------------------------------------------

PAGE_LIMIT = 50
"""How many items a list answers when the caller does not say."""
PAGE_LIMIT_MAX = 200
"""The most items one page may hold: every list the API returns is paged so no answer grows with the data."""

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list, in a stable order: ``items`` from position ``offset`` (0-based), at most
    ``limit`` of them, out of ``total``. The next page starts at ``offset + limit``."""

    items: list[Item]
    total: int = Field(ge=0, description="符合条件的总条数")
    limit: int = Field(ge=1, le=PAGE_LIMIT_MAX, description="本页最多条数")
    offset: int = Field(ge=0, description="本页第一条的位置（从 0 起）")


class InboxPage(Page[TaskView]):
    """A page of tasks, with the steps and jurisdictions the caller may filter them by."""

    steps: list[InboxChoice]
    jurisdictions: list[InboxChoice]


class IncubationHistoryView(IncubationHistory):
    """One incubation in a register entry, with its status and the sentence the entry shows."""

    status: str = Field(description="孵化中 / 已出壳 / 已退出")
    text: str = Field(description="入孵基地和时间、孵化期间的备案登记、出壳或退出（日期、证书编号或理由）")


class OrganizationView(BaseModel):
    """An organization in the register that the caller represents."""

    key: str = Field(description="名录编号（备案/登记案件编号）")
    name: str
    track: str
    grade: str = Field(description="最近一次绩效评价等级；无则为空")
    incubations: list[IncubationHistoryView] = Field(default_factory=list, description="孵化经历（入孵的才列出），先早后晚")


class NotificationPage(Page[NotificationView]):
    """One page of a person's messages, with how many of all their messages are unread."""

    unread: int = Field(ge=0, description="未读消息条数（全部消息中）")
