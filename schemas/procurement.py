"""Service-purchase fairs (社洽会): demands, lots, bids, the expert panel, ranking and award."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, field_validator, model_validator

from schemas.calendar import Deadline
from schemas.case import Task, TaskDecision, TaskStatus, TimelineEvent
from schemas.documents import DocumentRef, NoticePeriod
from schemas.incubation import IncubationFairRules, IncubationHistory
from schemas.people import Actor, Locality, Office, Role
from schemas.policy import PolicyRef, ProcurementPolicy
from schemas.text import MultiLine, NameItem, RequestModel, Sha256, SingleLine, newly_bounded, single_line
from schemas.timebounds import PlausibleDate, PlausibleDatetime

GRADE_PATTERN = r"^[1-5]A$"
Jurisdiction = newly_bounded(single_line, 64)


def score_text(x100: int) -> str:
    """A score kept in hundredths, as people read it: 8633 → "86.33"."""
    return f"{x100 // 100}.{x100 % 100:02d}"


def grade_value(grade: str | None) -> int:
    """``"4A"`` → 4; no grade → 0."""
    return int(grade[0]) if grade else 0


def _clean_list(values: list[str]) -> list[str]:
    return [v.strip() for v in values if v and v.strip()]


# --- demands and the fair ----------------------------------------------------------------------


class Eligibility(RequestModel):
    registered_only: bool = Field(default=False, title="仅限登记的社会组织（备案的社区社会组织不可投标）")
    minimum_grade: str | None = Field(default=None, max_length=2, pattern=GRADE_PATTERN, title="最低评估等级（如 3A）")
    jurisdiction: Jurisdiction | None = Field(default=None, title="须在该辖区内（含下属辖区）登记或备案")


class DemandInput(RequestModel):
    title: SingleLine = Field(min_length=2, max_length=80, title="项目名称")
    service_content: MultiLine = Field(min_length=2, max_length=3000, title="服务内容")
    target_group: SingleLine = Field(min_length=1, max_length=200, title="服务对象")
    location: SingleLine = Field(min_length=1, max_length=200, title="服务地点")
    budget_ceiling_fen: int = Field(gt=0, le=10**11, title="预算上限（分）")
    duration_months: int = Field(ge=1, le=36, title="服务期限（月）")
    requirements: Eligibility = Field(default_factory=Eligibility, title="资格条件")


class DemandStatus(StrEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"

    @property
    def label(self) -> str:
        return {"submitted": "待审核", "approved": "已通过", "rejected": "未通过"}[self.value]


class Demand(DemandInput):
    recorded: ClassVar[bool] = True
    demand_id: str
    department: Actor
    department_office: str
    submitted_at: AwareDatetime
    status: DemandStatus = DemandStatus.submitted
    review: TaskDecision | None = None
    lot_no: str | None = None


class FairSchedule(RequestModel):
    demands_due: PlausibleDatetime = Field(title="需求征集截止时间")
    fair_day: PlausibleDate = Field(title="社洽会举办日（洽谈对接）")
    bids_close: PlausibleDatetime = Field(title="投标截止时间")

    @model_validator(mode="after")
    def _in_order(self) -> FairSchedule:
        if self.bids_close <= self.demands_due:
            raise ValueError("投标截止时间须晚于需求征集截止时间")
        return self


class FairPhase(StrEnum):
    collecting = "collecting"
    reviewing = "reviewing"
    published = "published"
    closed = "closed"

    @property
    def label(self) -> str:
        return {
            "collecting": "征集购买服务需求中",
            "reviewing": "需求审核中，待发布",
            "published": "需求已发布，项目对接中",
            "closed": "社洽会已结束",
        }[self.value]


class ShowcaseInput(RequestModel):
    organization: SingleLine = Field(min_length=1, max_length=64, title="社会组织（登记证书或备案案号）")
    title: SingleLine = Field(min_length=2, max_length=80, title="公益服务项目名称")
    summary: MultiLine = Field(min_length=2, max_length=2000, title="项目简介")
    beneficiaries: SingleLine = Field(default="", max_length=200, title="受益对象")


class ShowcaseProject(ShowcaseInput):
    recorded: ClassVar[bool] = True
    project_id: str
    organization_name: str
    added_by: Actor
    added_at: AwareDatetime


class LotSummary(BaseModel):
    lot_no: str
    demand_id: str
    title: str
    phase: str
    winner: str | None = None

    @property
    def ended(self) -> bool:
        return LotPhase(self.phase).terminal


class FairRequest(BaseModel):
    fair_no: str
    title: str
    organizer: Office
    locality: Locality
    schedule: FairSchedule
    created_by: Actor
    carried_over: FairState | None = Field(default=None, description="a run continued as new, with everything it knew")
    publication: CataloguePublication | None = Field(
        default=None, description="a publication answered by the run that continued as new, still to be carried out"
    )


class FairState(BaseModel):
    fair_no: str
    title: str
    revision: int = 0
    settled_revision: int = 0
    organizer: Office
    locality: Locality
    schedule: FairSchedule
    created_by: Actor
    created_at: AwareDatetime
    runs: int = Field(default=1, description="workflow runs so far (continue-as-new)")
    policy: ProcurementPolicy | None = None
    policy_ref: PolicyRef | None = None
    phase: FairPhase = FairPhase.collecting
    demands: list[Demand] = Field(default_factory=list)
    showcase: list[ShowcaseProject] = Field(default_factory=list)
    lots: list[LotSummary] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)
    documents: list[DocumentRef] = Field(default_factory=list)

    def demand(self, demand_id: str) -> Demand | None:
        return next((d for d in self.demands if d.demand_id == demand_id), None)


# --- bids, screening, the panel and the ranking ----------------------------------------------


class BidInput(RequestModel):
    organization: SingleLine = Field(min_length=1, max_length=64, title="投标社会组织（登记证书或备案案号）")
    price_fen: int = Field(gt=0, le=10**11, title="报价（分）")
    proposal: MultiLine = Field(min_length=10, max_length=5000, title="服务方案")
    team: list[NameItem] = Field(min_length=1, max_length=30, title="项目团队")
    past_projects: list[NameItem] = Field(default_factory=list, max_length=30, title="以往项目业绩")
    attachments: list[Sha256] = Field(
        default_factory=list, max_length=10, title="投标附件（上传后得到的 SHA-256）",
        description="the bidder's own uploads: proposal, certificates; seen by whoever may see the bid",
    )

    _clean = field_validator("team", "past_projects")(_clean_list)


class Bid(BidInput):
    recorded: ClassVar[bool] = True
    bid_id: str
    organization_name: str
    bidder: Actor
    submitted_at: AwareDatetime
    amended_at: AwareDatetime | None = None
    amendments: int = Field(default=0, description="how often it was amended (the policy bounds it)")
    withdrawn_at: AwareDatetime | None = None
    round: int = 1

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class Negotiation(BaseModel):
    negotiation_id: str
    organization: str
    organization_name: str
    held_on: date
    summary: str
    participants: list[str]
    recorded_by: Actor
    recorded_at: AwareDatetime


class Check(BaseModel):
    condition: str
    met: bool
    detail: str


class Screening(BaseModel):
    bid_id: str
    organization: str
    organization_name: str
    checks: list[Check]
    graduated: bool = Field(default=False, description="graduated from incubation (已出壳): the fair rules may prefer it on a tie")

    @property
    def eligible(self) -> bool:
        return all(c.met for c in self.checks)

    @property
    def failures(self) -> list[str]:
        return [c.detail for c in self.checks if not c.met]


class ScreeningRequest(BaseModel):
    lot_no: str
    requirements: Eligibility
    bids: list[Bid]
    fair_year: int
    on: date = Field(description="the screening day, the day the bids closed")
    incubation_rules: IncubationFairRules | None = None


class OrganizationFacts(BaseModel):
    """What the register says about an organization when a lot screens its bid."""

    key: str
    name: str
    track: str
    community_full_name: str
    jurisdiction_chain: list[str]
    valid_until: AwareDatetime | None = None
    standing: str
    grade: str | None = None
    barred_until_year: int | None = None
    performance_grade: str | None = Field(default=None, description="the latest contract evaluation's grade")
    performance_year: int | None = None
    incubations: list[IncubationHistory] = Field(default_factory=list)

    @property
    def graduated(self) -> bool:
        return any(h.outcome == "graduated" for h in self.incubations)


class Expert(BaseModel):
    user_id: str
    name: str
    jurisdiction: str
    specialties: list[str] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list, description="organizations (register keys or names)")

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user_id, name=self.name, role=Role.expert, jurisdiction=self.jurisdiction)


class PoolRequest(BaseModel):
    jurisdiction: str
    minimum: int = Field(description="experts needed without a conflict with any of the organizations")
    organizations: list[str] = Field(description="the eligible bidders, by register key and by name")


class ExpertPool(BaseModel):
    experts: list[Expert]


class ScreeningResult(BaseModel):
    screenings: list[Screening]


class PolicyLookup(BaseModel):
    jurisdiction_chain: list[str]
    on: date


class ProcurementRules(BaseModel):
    policy: ProcurementPolicy
    ref: PolicyRef


def conflicts_of(expert: Expert, organizations: set[str]) -> list[str]:
    """The organizations (by key or name) an expert has a registered interest in."""
    return sorted(set(expert.conflicts) & organizations)


BidKey = Annotated[str, StringConstraints(min_length=1, max_length=10)]
DimensionKey = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Points = Annotated[int, Field(ge=0, le=1000)]
"""Points a scorer gives on one dimension (an expert's sheet, a contract evaluation)."""


class ScoreInput(RequestModel):
    scores: dict[BidKey, Annotated[dict[DimensionKey, Points], Field(max_length=30)]] = Field(
        max_length=100, title="各投标的各项评分", description="bid_id → dimension id → points"
    )
    comment: MultiLine | None = Field(default=None, max_length=3000, title="评审意见")


class ScoreSheet(ScoreInput):
    recorded: ClassVar[bool] = True
    expert: Actor
    submitted_at: AwareDatetime


class SeatStatus(StrEnum):
    scoring = "scoring"
    scored = "scored"
    recused = "recused"
    replaced = "replaced"

    @property
    def label(self) -> str:
        return {"scoring": "评分中", "scored": "已评分", "recused": "回避", "replaced": "逾期被替换"}[self.value]


class Seat(BaseModel):
    seat_no: int
    expert: Actor
    drawn_at: AwareDatetime
    deadline: Deadline
    status: SeatStatus = SeatStatus.scoring
    sheet: ScoreSheet | None = None
    ended_at: AwareDatetime | None = None
    reason: str | None = None
    successor: int | None = Field(default=None, description="seat of the replacing expert; 0 when none was left")


class RankedBid(BaseModel):
    bid_id: str
    organization: str
    organization_name: str
    price_fen: int
    expert_totals: list[int] = Field(description="each scoring expert's total, in seat order")
    dropped: list[int] = Field(default_factory=list, description="the highest and lowest totals left out")
    final_score_x100: int = Field(description="final score in hundredths of a point")
    dimension_means_x100: dict[str, int]
    submitted_at: AwareDatetime
    rank: int
    tie_note: str | None = None
    disqualified: str | None = None
    graduate: bool = Field(default=False, description="ranked first among equal scores as a graduate of incubation")


class Ranking(BaseModel):
    entries: list[RankedBid]
    aggregation: str
    tie_break: str

    @property
    def standing(self) -> list[RankedBid]:
        return [e for e in self.entries if e.disqualified is None]


class ChallengeStatus(StrEnum):
    open = "open"
    upheld = "upheld"
    dismissed = "dismissed"

    @property
    def label(self) -> str:
        return {"open": "待答复", "upheld": "质疑成立", "dismissed": "质疑不成立"}[self.value]


class Challenge(BaseModel):
    challenge_id: str
    bidder: Actor
    organization: str
    organization_name: str
    content: str
    filed_at: AwareDatetime
    status: ChallengeStatus = ChallengeStatus.open
    task_id: str | None = None
    answer: TaskDecision | None = None
    disqualified_bid: str | None = None


class OfferResponse(StrEnum):
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    disqualified = "disqualified"

    @property
    def label(self) -> str:
        return {
            "accepted": "确认成交",
            "declined": "放弃成交",
            "expired": "逾期未确认，视为放弃",
            "disqualified": "取消成交资格",
        }[self.value]


class Offer(BaseModel):
    bid_id: str
    organization: str
    organization_name: str
    price_fen: int
    offered_at: AwareDatetime
    deadline: Deadline
    document_id: str
    response: OfferResponse | None = None
    responded_at: AwareDatetime | None = None
    reasons: list[str] = Field(default_factory=list)


class ContractFacts(BaseModel):
    """The awarded terms, recorded for the contract process that follows."""

    contract_no: str
    lot_no: str
    fair_no: str
    title: str
    service_content: str
    buyer_office: str
    buyer: Actor
    supplier: str
    supplier_name: str
    amount_fen: int
    duration_months: int
    awarded_at: AwareDatetime


class LotPhase(StrEnum):
    bidding = "bidding"
    screening = "screening"
    evaluation = "evaluation"
    result_notice = "result_notice"
    awarding = "awarding"
    awarded = "awarded"
    failed = "failed"
    closed = "closed"

    @property
    def terminal(self) -> bool:
        return self in (LotPhase.awarded, LotPhase.closed)


LOT_PHASE_NAMES: dict[LotPhase, tuple[str, str]] = {
    LotPhase.bidding: ("接受投标中", "投标期"),
    LotPhase.screening: ("资格审查中", "资格审查"),
    LotPhase.evaluation: ("专家评审中", "专家评审"),
    LotPhase.result_notice: ("评审结果公示中", "结果公示（受理质疑）"),
    LotPhase.awarding: ("确认成交中", "成交确认"),
    LotPhase.awarded: ("已成交", "已成交"),
    LotPhase.failed: ("流标", "流标，待决定重新组织或终止"),
    LotPhase.closed: ("已终止", "已终止"),
}
"""(bidder-facing, staff-facing) names of each lot phase."""


class LotRequest(BaseModel):
    lot_no: str
    fair_no: str
    fair_title: str
    demand: Demand
    fair_day: date
    bids_close: AwareDatetime
    policy: ProcurementPolicy
    policy_ref: PolicyRef
    organizer: Office
    locality: Locality
    carried_over: LotState | None = Field(default=None, description="a run continued as new, with everything it knew")
    reports_to_fair: bool = Field(
        default=False, description="signal the fair when the lot ends (the fair does not await it as a child)"
    )


class LotResult(BaseModel):
    phase: LotPhase
    decided_at: AwareDatetime
    winner: str | None = None
    winner_name: str | None = None
    contract_no: str | None = None
    reasons: list[str] = Field(default_factory=list)


class LotEnded(BaseModel):
    """A lot tells its fair how it ended, by workflow id, so the message reaches the fair's current run."""

    lot_no: str
    result: LotResult | None


class RoundRecord(BaseModel):
    """A tendering round that ended in 流标, kept when the lot is tendered again."""

    round: int
    bids_close: AwareDatetime
    screenings: list[Screening]
    seats: list[Seat]
    ranking: Ranking | None
    challenges: list[Challenge]
    offers: list[Offer]


class LotState(BaseModel):
    lot_no: str
    fair_no: str
    fair_title: str
    revision: int = 0
    settled_revision: int = 0
    runs: int = Field(default=1, description="workflow runs so far (continue-as-new)")
    demand: Demand
    organizer: Office
    locality: Locality
    policy: ProcurementPolicy
    policy_ref: PolicyRef
    fair_day: date
    bids_close: AwareDatetime
    round: int = 1
    opened_at: AwareDatetime
    phase: LotPhase = LotPhase.bidding
    bids: list[Bid] = Field(default_factory=list)
    negotiations: list[Negotiation] = Field(default_factory=list)
    screenings: list[Screening] = Field(default_factory=list)
    seats: list[Seat] = Field(default_factory=list)
    reserve: list[Expert] = Field(default_factory=list, description="undrawn experts, for replacements")
    recusals: list[str] = Field(default_factory=list, description="who was left out of the draw and why")
    ranking: Ranking | None = None
    result_notice: NoticePeriod | None = None
    challenges: list[Challenge] = Field(default_factory=list)
    offers: list[Offer] = Field(default_factory=list)
    contract: ContractFacts | None = None
    previous_rounds: list[RoundRecord] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)
    documents: list[DocumentRef] = Field(default_factory=list)
    result: LotResult | None = None

    @property
    def phase_names(self) -> tuple[str, str]:
        return LOT_PHASE_NAMES[self.phase]

    @property
    def active_bids(self) -> list[Bid]:
        """Bids of the current round that were not withdrawn."""
        return [b for b in self.bids if b.active and b.round == self.round]

    def round_record(self) -> RoundRecord:
        return RoundRecord(
            round=self.round, bids_close=self.bids_close, screenings=self.screenings, seats=self.seats,
            ranking=self.ranking, challenges=self.challenges, offers=self.offers,
        )

    def start_round(self, bids_close: datetime) -> None:
        """A new bid window after 流标: earlier bids stay on record, everyone bids again."""
        self.round += 1
        self.bids_close = bids_close
        self.screenings, self.seats, self.reserve, self.recusals = [], [], [], []
        self.ranking, self.result_notice, self.challenges, self.offers = None, None, [], []

    def bid(self, bid_id: str) -> Bid | None:
        return next((b for b in self.bids if b.bid_id == bid_id), None)

    def bid_of(self, organization: str) -> Bid | None:
        return next((b for b in self.active_bids if b.organization == organization), None)

    @property
    def eligible_bids(self) -> list[Bid]:
        eligible = {s.bid_id for s in self.screenings if s.eligible}
        return [b for b in self.active_bids if b.bid_id in eligible]

    @property
    def open_seats(self) -> list[Seat]:
        return [s for s in self.seats if s.status is SeatStatus.scoring]

    def seat_of(self, user_id: str) -> Seat | None:
        return next((s for s in self.open_seats if s.expert.user_id == user_id), None)

    @property
    def open_offer(self) -> Offer | None:
        return next((o for o in self.offers if o.response is None), None)

    @property
    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.status is TaskStatus.open]

    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.tasks if t.task_id == task_id), None)

    def challenge(self, challenge_id: str) -> Challenge | None:
        return next((c for c in self.challenges if c.challenge_id == challenge_id), None)


# --- human actions on a fair and its lots ---------------------------------------------------


class DemandSubmission(BaseModel):
    actor: Actor
    office: str
    demand: DemandInput


class DemandReview(BaseModel):
    actor: Actor
    demand_id: str
    approve: bool
    reasons: list[str] = Field(default_factory=list)

    _clean = field_validator("reasons")(_clean_list)


class CataloguePublication(BaseModel):
    actor: Actor


class ShowcaseSubmission(BaseModel):
    actor: Actor
    organization_name: str
    project: ShowcaseInput


class BidSubmission(BaseModel):
    actor: Actor
    organization_name: str
    bid: BidInput


class BidAmendment(BaseModel):
    actor: Actor
    bid_id: str
    bid: BidInput


class BidWithdrawal(BaseModel):
    actor: Actor
    bid_id: str


class NegotiationInput(RequestModel):
    organization: SingleLine = Field(min_length=1, max_length=64, title="洽谈的社会组织")
    summary: MultiLine = Field(min_length=2, max_length=3000, title="洽谈记录")
    participants: list[NameItem] = Field(min_length=1, max_length=30, title="参加人员")

    _clean = field_validator("participants")(_clean_list)


class NegotiationEntry(BaseModel):
    actor: Actor
    organization_name: str
    negotiation: NegotiationInput


class ScoreSubmission(BaseModel):
    actor: Actor
    sheet: ScoreInput


class ConflictDeclaration(BaseModel):
    actor: Actor
    reason: str = Field(min_length=2, max_length=1000, title="回避理由")


class ChallengeFiling(BaseModel):
    actor: Actor
    organization: str
    organization_name: str
    content: str = Field(max_length=5000, title="质疑内容")


class ChallengeAnswer(BaseModel):
    actor: Actor
    challenge_id: str
    upheld: bool
    reasons: list[str] = Field(default_factory=list)
    disqualify_bid: str | None = Field(default=None, title="因质疑成立取消资格的投标")

    _clean = field_validator("reasons")(_clean_list)


class AwardResponse(BaseModel):
    actor: Actor
    organization: str
    accept: bool
    reasons: list[str] = Field(default_factory=list)

    _clean = field_validator("reasons")(_clean_list)


class Disqualification(BaseModel):
    actor: Actor
    bid_id: str
    reasons: list[str] = Field(default_factory=list)

    _clean = field_validator("reasons")(_clean_list)


class FailedLotDecision(BaseModel):
    actor: Actor
    retender: bool
    bids_close: AwareDatetime | None = Field(default=None, title="重新组织时的投标截止时间")
    reasons: list[str] = Field(default_factory=list)

    _clean = field_validator("reasons")(_clean_list)
