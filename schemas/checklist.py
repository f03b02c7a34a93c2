"""The explained checklist: what the evaluator concluded from an application under a policy."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field, computed_field

from schemas.application import Application, Track
from schemas.people import Level, Role
from schemas.policy import (
    CORRECTIONS_PER_ROUND,
    HISTORY_EVENTS_LIMIT,
    OBJECTION_LIMITS,
    ActionLimit,
    Appeal,
    Citation,
    PolicyRef,
)


class RuleRef(BaseModel):
    """A green-channel rule that changed a requirement, with the clause that allows it."""

    rule_id: str
    group: str
    name: str
    citation: Citation
    jurisdiction_default: bool = False

    @property
    def display(self) -> str:
        return f"「{self.group}·{self.name}」（{self.citation}）"


class MaterialStatus(StrEnum):
    provided = "provided"
    missing = "missing"
    waived = "waived"

    @property
    def label(self) -> str:
        return {"provided": "已提交", "missing": "缺少", "waived": "免交"}[self.value]


class MaterialItem(BaseModel):
    material: str
    title: str
    person: str | None = None
    status: MaterialStatus
    waived_by: RuleRef | None = None
    citation: Citation
    explanation: str

    @property
    def key(self) -> str:
        return f"{self.material}:{self.person}" if self.person else self.material


class ThresholdItem(BaseModel):
    threshold: str
    label: str
    actual: int | bool
    required_minimum: int | None = None
    required: bool | None = None
    ordinary_minimum: int | None = None
    ordinary_required: bool | None = None
    alternative_met: bool = False
    met: bool
    unit: str = ""
    relaxed_by: RuleRef | None = None
    citation: Citation
    jurisdiction_default: bool
    explanation: str


class FeeItem(BaseModel):
    fee: str
    name: str
    amount_fen: int
    due_fen: int
    waived_by: RuleRef | None = None
    citation: Citation
    jurisdiction_default: bool
    explanation: str


class StepPlan(BaseModel):
    """A human step as it applies to this case, after green-channel simplifications."""

    id: str
    applicant_name: str
    staff_name: str
    future_name: str | None = Field(default=None, description="cases started before steps had one show the staff name")
    role: Role
    level: Level
    time_limit_working_days: int
    reminder_working_days_before: int
    backup_time_limit_working_days: int
    shortened_by: RuleRef | None = None


class Procedure(BaseModel):
    """The process parameters the workflow follows for one case."""

    track: Track
    track_name: str
    authority_role: Role
    authority_level: Level
    approved_name: str
    refused_name: str
    certificate_title: str
    refusal_title: str
    validity_years: int | None
    review_steps: list[StepPlan]
    decision_step: StepPlan
    objection_step: StepPlan
    public_notice_working_days: int
    public_notice_channel: str
    public_notice_simplified_by: RuleRef | None = None
    public_notice_counts_toward_time_limit: bool
    correction_window_working_days: int
    legal_time_limit_working_days: int
    legal_time_limit_shortened_by: RuleRef | None = None
    appeal: Appeal
    refusal_basis: Citation | None = Field(default=None, description="cases started before refusals cited one have none")
    non_acceptance_basis: Citation | None = None
    objection_limits: ActionLimit = Field(default=OBJECTION_LIMITS, description="cases started before limits existed get the default")
    corrections_per_round: int = CORRECTIONS_PER_ROUND
    history_events_limit: int = HISTORY_EVENTS_LIMIT

    def step(self, step_id: str) -> StepPlan:
        for step in [*self.review_steps, self.decision_step, self.objection_step]:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


class Checklist(BaseModel):
    policy: PolicyRef
    track: Track
    green_channel: bool
    green_channel_explanation: str
    materials: list[MaterialItem]
    thresholds: list[ThresholdItem]
    fees: list[FeeItem]
    fees_due_fen: int
    defaults_note: str

    @property
    def missing_materials(self) -> list[MaterialItem]:
        return [m for m in self.materials if m.status is MaterialStatus.missing]

    @property
    def waived_materials(self) -> list[MaterialItem]:
        return [m for m in self.materials if m.status is MaterialStatus.waived]

    @property
    def unmet_thresholds(self) -> list[ThresholdItem]:
        return [t for t in self.thresholds if not t.met]

    @computed_field
    @property
    def complete(self) -> bool:
        return not self.missing_materials and not self.unmet_thresholds

    @computed_field
    @property
    def defects(self) -> list[str]:
        """Everything to correct, in one list (一次性告知)."""
        return [m.explanation for m in self.missing_materials] + [t.explanation for t in self.unmet_thresholds]


class AssessmentRequest(BaseModel):
    application: Application
    jurisdiction_chain: list[str] = Field(description="community first, then its ancestors")
    on: date = Field(description="the policy in force on this date decides")
    community_names: list[str] = Field(default_factory=list, description="the community's name and full name")


class Assessment(BaseModel):
    checklist: Checklist
    procedure: Procedure
