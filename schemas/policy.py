"""The shape of a policy file: tracks, thresholds, materials, fees, time limits and the green channel.

A policy is versioned data per jurisdiction. Every number that a jurisdiction must set itself
carries ``jurisdiction_default: true`` so reviewers and auditors can see it is a default.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from schemas.application import Track
from schemas.incubation import IncubationFairRules, IncubationPolicy
from schemas.people import Level, Role


class Citation(BaseModel):
    source: str = Field(description="文件名称，如《社会团体登记管理条例》")
    clause: str = Field(description="条款，如 第十条第（二）项")
    text: str | None = None

    def __str__(self) -> str:
        return f"{self.source}{self.clause}"


class Fact(StrEnum):
    """Facts the evaluator derives from an application, each compared with a threshold."""

    founders = "founders"
    leaders = "leaders"
    members = "members"
    unit_members = "unit_members"
    funds_fen = "funds_fen"
    has_venue = "has_venue"
    has_independent_venue = "has_independent_venue"
    has_supervising_unit = "has_supervising_unit"

    @property
    def is_boolean(self) -> bool:
        return self.value.startswith("has_")


class Alternative(BaseModel):
    """Another way to meet a threshold, e.g. 30 unit members instead of 50 individual ones."""

    fact: Fact
    minimum: int = Field(ge=0)
    label: str


class Threshold(BaseModel):
    id: str
    label: str
    fact: Fact
    minimum: int | None = Field(default=None, ge=0)
    required: bool | None = None
    alternative: Alternative | None = None
    unit: str = ""
    citation: Citation
    jurisdiction_default: bool = True

    @model_validator(mode="after")
    def _one_kind(self) -> Threshold:
        if self.fact.is_boolean != (self.required is not None) or (self.minimum is None) == (self.required is None):
            raise ValueError(f"threshold {self.id}: numeric facts need 'minimum', has_* facts need 'required'")
        return self


class Material(BaseModel):
    id: str
    title: str
    per_person: Literal["founders_and_leaders"] | None = None
    citation: Citation


class Fee(BaseModel):
    id: str
    name: str
    amount_fen: int = Field(ge=0)
    citation: Citation
    jurisdiction_default: bool = True


class ReviewStep(BaseModel):
    """A human step: a role in the jurisdiction at ``level`` above (or at) the organization's community."""

    id: Literal["preliminary_review", "authority_review", "decision", "objection_review"]
    applicant_name: str = Field(description="shown to applicants, e.g. 社区居委会初审中")
    staff_name: str = Field(description="shown to staff, e.g. 居委会初审")
    future_name: str | None = Field(
        default=None, description="shown to applicants for a step done or still to come, e.g. 社区居委会初审"
    )
    role: Role
    level: Level
    time_limit_working_days: int = Field(ge=1, le=60)
    reminder_working_days_before: int = Field(default=1, ge=0, le=10)
    backup_time_limit_working_days: int = Field(default=2, ge=1, le=30)
    jurisdiction_default: bool = True


class Appeal(BaseModel):
    reconsideration_days: int = Field(default=60, ge=1)
    litigation_months: int = Field(default=6, ge=1)
    citation: Citation


class TrackPolicy(BaseModel):
    name: str
    authority_role: Role
    authority_level: Level
    approved_name: str = Field(description="phase name when approved, e.g. 已准予备案")
    refused_name: str
    certificate_title: str
    refusal_title: str
    validity_years: int | None = Field(default=None, ge=1, le=20)
    thresholds: list[Threshold] = Field(default_factory=list)
    materials: list[Material]
    fees: list[Fee] = Field(default_factory=list)
    review_steps: list[ReviewStep] = Field(min_length=1)
    decision_step: ReviewStep
    objection_step: ReviewStep
    public_notice_working_days: int = Field(ge=1, le=30)
    public_notice_channel: str
    public_notice_counts_toward_time_limit: bool = False
    correction_window_working_days: int = Field(ge=1, le=60)
    legal_time_limit_working_days: int = Field(ge=1, le=120)
    appeal: Appeal
    refusal_basis: Citation | None = Field(default=None, description="the clause a refusal (不予备案/登记决定) rests on")
    non_acceptance_basis: Citation | None = Field(default=None, description="the clause a 不予受理决定 rests on")
    citations: list[Citation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> TrackPolicy:
        for kind, ids in (
            ("threshold", [t.id for t in self.thresholds]),
            ("material", [m.id for m in self.materials]),
            ("fee", [f.id for f in self.fees]),
            ("step", [s.id for s in [*self.review_steps, self.decision_step, self.objection_step]]),
        ):
            if len(ids) != len(set(ids)):
                raise ValueError(f"duplicate {kind} ids: {ids}")
        return self

    @model_validator(mode="after")
    def _the_authority_decides(self) -> TrackPolicy:
        """Only the authority's refusal ends a case; a decision step held by another role could not refuse,
        and the workflow would issue the certificate after its 不同意."""
        if self.decision_step.role is not self.authority_role:
            raise ValueError(
                f"{self.name}：作出决定的环节（{self.decision_step.staff_name}）须由办理机关（{self.authority_role.label}）承担，"
                f"不能是{self.decision_step.role.label}"
            )
        return self

    def step(self, step_id: str) -> ReviewStep | None:
        for step in [*self.review_steps, self.decision_step, self.objection_step]:
            if step.id == step_id:
                return step
        return None


class _EffectBase(BaseModel):
    tracks: list[Track] | None = Field(default=None, description="tracks it applies to; empty means all")

    def applies_to(self, track: Track) -> bool:
        return self.tracks is None or track in self.tracks


class WaiveMaterial(_EffectBase):
    kind: Literal["waive_material"] = "waive_material"
    material: str
    only_for_local_household: bool = Field(
        default=False, description="per-person material waived only for people whose 户籍 is in the community"
    )


class RelaxThreshold(_EffectBase):
    kind: Literal["relax_threshold"] = "relax_threshold"
    threshold: str
    minimum: int | None = Field(default=None, ge=0)
    required: bool | None = None


class WaiveFee(_EffectBase):
    kind: Literal["waive_fee"] = "waive_fee"
    fee: str


class SimplifyPublicNotice(_EffectBase):
    kind: Literal["public_notice"] = "public_notice"
    working_days: int = Field(ge=1, le=30)
    channel: str


class ShortenTimeLimit(_EffectBase):
    kind: Literal["time_limit"] = "time_limit"
    step: str | None = Field(default=None, description="a step id; empty means the legal time limit")
    working_days: int = Field(ge=1, le=120)


Effect = Annotated[
    WaiveMaterial | RelaxThreshold | WaiveFee | SimplifyPublicNotice | ShortenTimeLimit,
    Field(discriminator="kind"),
]


class GreenChannelRule(BaseModel):
    id: str
    group: Literal["三简", "四免", "五宽"]
    name: str
    citation: Citation
    effects: list[Effect] = Field(min_length=1)
    jurisdiction_default: bool = True


class GreenChannel(BaseModel):
    title: str
    citation: Citation
    tracks: list[Track]
    requires_community_based: bool = True
    rules: list[GreenChannelRule]


class ActionLimit(BaseModel):
    """How often the public or a bidder may add to one case (an objection, a 质疑, a showcase entry, a bid
    or its amendment): each one is kept in the case's state and history, so without a bound strangers could
    grow a case past what the workflow engine keeps. A case keeps the limits in force when it started."""

    per_case: int = Field(ge=1, le=1000, description="at most this many in one case (公示, lot, fair)")
    per_person: int = Field(ge=1, le=100, description="at most this many by one person or organization in one case")
    jurisdiction_default: bool = True


HISTORY_EVENTS_LIMIT = 5000
"""Continue a case as new beyond this many history events, far below the server's 50,000."""

CHALLENGE_LIMITS = ActionLimit(per_case=20, per_person=3)
SHOWCASE_LIMITS = ActionLimit(per_case=60, per_person=3)
BID_LIMITS = ActionLimit(per_case=30, per_person=10)
CORRECTIONS_PER_ROUND = 10
"""补正 submissions an applicant may make in one round (each re-assesses the whole application)."""
OBJECTION_LIMITS = ActionLimit(per_case=20, per_person=3)
"""Worst case 20 objections of 5,000 characters (15 KB in UTF-8) with their resolutions: about 0.35 MB of a
filing's state, which travels whole in one payload (projection, continue-as-new) under Temporal's 2 MB."""


class RubricDimension(BaseModel):
    id: str
    name: str
    weight: int = Field(ge=1, le=100, description="the most points an expert may give")


class ProcurementPolicy(BaseModel):
    """How a fair's lots are tendered, scored and awarded. Numbers are jurisdiction defaults
    unless their citation says otherwise.

    The limits bound what bidders and organizations add to a lot's or a fair's state, which travels whole
    in one payload: worst case 20 质疑 of 15 KB (0.3 MB), 30 bids of about 20 KB (0.6 MB), 60 showcase
    entries of about 7 KB (0.4 MB) — each well under Temporal's 2 MB."""

    rubric: list[RubricDimension] = Field(min_length=1)
    experts_per_panel: int = Field(ge=3, le=15)
    drop_extremes_from_experts: int = Field(ge=3, le=15, description="drop highest and lowest with this many experts or more")
    minimum_eligible_bids: int = Field(ge=1, le=10)
    scoring_working_days: int = Field(ge=1, le=20)
    expert_replacement_working_days: int = Field(ge=1, le=20)
    result_notice_working_days: int = Field(ge=1, le=20)
    challenge_answer_working_days: int = Field(ge=1, le=20)
    award_response_working_days: int = Field(ge=1, le=20)
    failed_lot_decision_working_days: int = Field(ge=1, le=30)
    contract_signing_days: int = Field(
        default=30, ge=1, le=30, description="days from the award notice within which the contract is signed (政府采购法第四十六条)"
    )
    tie_break: str = Field(description="how equal final scores are ordered, stated in every report")
    challenge_limits: ActionLimit = Field(
        default=CHALLENGE_LIMITS, description="质疑 on one lot's result notice, per bidding organization"
    )
    showcase_limits: ActionLimit = Field(
        default=SHOWCASE_LIMITS, description="showcase entries at one fair, per organization"
    )
    bid_limits: ActionLimit = Field(
        default=BID_LIMITS,
        description="bids kept on one lot (a withdrawn bid still counts); submissions and amendments per organization",
    )
    history_events_limit: int = Field(
        default=HISTORY_EVENTS_LIMIT, ge=50, description="a fair or lot continues as new beyond this many events"
    )
    failed_lot_basis: Citation | None = Field(default=None, description="the clause a 流标 rests on")
    citations: list[Citation] = Field(default_factory=list)
    incubation_rules: IncubationFairRules | None = Field(
        default=None, description="the incubation section's fair rules, joined in when a fair takes the policy in force"
    )

    @model_validator(mode="after")
    def _weights_make_a_hundred(self) -> ProcurementPolicy:
        if sum(d.weight for d in self.rubric) != 100:
            raise ValueError("rubric weights must add up to 100")
        if len({d.id for d in self.rubric}) != len(self.rubric):
            raise ValueError("rubric dimension ids must be unique")
        return self


class GradeBand(BaseModel):
    grade: str = Field(description="优 / 良 / 中 / 差")
    label: str = Field(description="优秀 / 良好 / 合格 / 不合格")
    minimum: int = Field(ge=0, le=100)


class RewardTier(BaseModel):
    grade: str
    amount_fen: int = Field(ge=0)


class ContractPolicy(BaseModel):
    """How a purchase-of-service contract is delivered, paid for and evaluated."""

    max_term_months: int = Field(ge=1, le=60)
    acceptance_working_days: int = Field(ge=1, le=30)
    disbursement_working_days: int = Field(ge=1, le=30)
    report_reminder_days: int = Field(ge=0, le=30, description="calendar days before a milestone's due date")
    evaluation_by_third_party: bool
    evaluation_working_days: int = Field(ge=1, le=60)
    evaluation_dimensions: list[RubricDimension] = Field(min_length=1)
    satisfaction_weight: int = Field(ge=0, le=100, description="points for service users' satisfaction")
    grade_bands: list[GradeBand] = Field(min_length=2)
    failing_grades: list[str] = Field(min_length=1)
    rectification_working_days: int = Field(ge=1, le=120)
    rewards: list[RewardTier] = Field(default_factory=list)
    bar_years_after_failure: int = Field(default=1, ge=1, le=5)
    amendment_increase_cap_percent: int = Field(
        default=10, ge=0, le=100,
        description="an amendment may raise the amount by at most this share of the awarded amount, with the organizer's approval",
    )
    amendment_approval_working_days: int = Field(default=5, ge=1, le=30, description="the organizer's A post to approve an increase")
    payment_instructed_by: Literal["buyer", "organizer"] = Field(
        default="buyer", description="whose 资金拨付通知书 the finance office pays on: the buying department's (it holds the budget) or the organizer's"
    )
    history_events_limit: int = Field(default=HISTORY_EVENTS_LIMIT, ge=50, description="continue-as-new beyond this many events")
    termination_basis: Citation | None = Field(default=None, description="the clauses a termination rests on")
    citations: list[Citation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ContractPolicy:
        if sum(d.weight for d in self.evaluation_dimensions) + self.satisfaction_weight != 100:
            raise ValueError("evaluation dimension weights and the satisfaction weight must add up to 100")
        minimums = [b.minimum for b in self.grade_bands]
        if minimums != sorted(minimums, reverse=True) or minimums[-1] != 0:
            raise ValueError("grade bands go from the highest minimum down to 0")
        grades = {b.grade for b in self.grade_bands}
        if not set(self.failing_grades) <= grades or not {r.grade for r in self.rewards} <= grades:
            raise ValueError("failing grades and reward grades must be grade bands")
        return self

    def band(self, total: int) -> GradeBand:
        return next(b for b in self.grade_bands if total >= b.minimum)


class Policy(BaseModel):
    """A whole policy. A file may name a ``base`` policy and inherit the tracks it does not define."""

    id: str
    version: str
    jurisdiction: str
    title: str
    effective_from: date
    defaults_note: str
    base: str | None = None
    tracks: dict[Track, TrackPolicy]
    green_channel: GreenChannel | None = None
    procurement: ProcurementPolicy | None = None
    contracts: ContractPolicy | None = None
    incubation: IncubationPolicy | None = None
    objection_limits: ActionLimit = Field(default=OBJECTION_LIMITS, description="objections to one filing in 公示, per person")
    corrections_per_round: int = Field(
        default=CORRECTIONS_PER_ROUND, ge=1, le=100, description="补正 submissions in one round (a jurisdiction default)"
    )
    history_events_limit: int = Field(
        default=HISTORY_EVENTS_LIMIT, ge=50, description="a filing continues as new beyond this many events"
    )

    @model_validator(mode="after")
    def _refusals_state_their_basis(self) -> Policy:
        """Every refusal the policy leads to (不予受理, 不予备案/登记, 流标, termination) cites its legal basis."""
        missing = [
            f"{track.value}.{name}"
            for track, rules in self.tracks.items()
            for name in ("refusal_basis", "non_acceptance_basis")
            if getattr(rules, name) is None
        ]
        missing += ["procurement.failed_lot_basis"] if self.procurement and self.procurement.failed_lot_basis is None else []
        missing += ["contracts.termination_basis"] if self.contracts and self.contracts.termination_basis is None else []
        if missing:
            raise ValueError(f"{self.id}: refusals need their legal basis (法律依据): {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _green_channel_only_relaxes(self) -> Policy:
        """A green-channel rule must point at something that exists and may never make a rule stricter."""
        for rule in self.green_channel.rules if self.green_channel else []:
            for effect in rule.effects:
                tracks = [t for t in self.tracks if effect.applies_to(t)]
                if not any(_effect_target_exists(self.tracks[t], effect) for t in tracks):
                    raise ValueError(f"green-channel rule {rule.id}: {effect.kind} refers to nothing in {tracks}")
                for track in tracks:
                    _check_not_stricter(self.tracks[track], effect, rule.id)
        return self


def _effect_target_exists(track: TrackPolicy, effect: Effect) -> bool:
    match effect:
        case WaiveMaterial(material=material):
            return any(m.id == material for m in track.materials)
        case RelaxThreshold(threshold=threshold):
            return any(t.id == threshold for t in track.thresholds)
        case WaiveFee(fee=fee):
            return any(f.id == fee for f in track.fees)
        case ShortenTimeLimit(step=step):
            return step is None or track.step(step) is not None
        case _:
            return True


def _check_not_stricter(track: TrackPolicy, effect: Effect, rule_id: str) -> None:
    match effect:
        case RelaxThreshold(threshold=threshold_id, minimum=minimum, required=required):
            for threshold in track.thresholds:
                if threshold.id != threshold_id:
                    continue
                if minimum is not None and threshold.minimum is not None and minimum > threshold.minimum:
                    raise ValueError(f"green-channel rule {rule_id} raises {threshold_id} above the ordinary minimum")
                if required is True and threshold.required is False:
                    raise ValueError(f"green-channel rule {rule_id} makes {threshold_id} required")
        case SimplifyPublicNotice(working_days=days) if days > track.public_notice_working_days:
            raise ValueError(f"green-channel rule {rule_id} lengthens the public notice")
        case ShortenTimeLimit(step=step_id, working_days=days):
            ordinary = (
                track.legal_time_limit_working_days
                if step_id is None
                else (step.time_limit_working_days if (step := track.step(step_id)) else days)
            )
            if days > ordinary:
                raise ValueError(f"green-channel rule {rule_id} lengthens the time limit of {step_id or 'the case'}")


class PolicyRef(BaseModel):
    """Which policy file decided, recorded in history for auditors."""

    id: str
    version: str
    jurisdiction: str
    title: str
    path: str
    sha256: str
