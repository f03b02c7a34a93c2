"""Incubation (孵化, "1+8+N"): the policy's rules for a term in a base, and the bases themselves.

A district headquarters (社会组织孵化及创新服务基地) and its street branches are run by a hub organization
(枢纽型社会组织) from the register, often under a purchase-of-service contract; each offers places, services
and mentors. Groups enter before or after filing, and leave by a graduation assessment (出壳评估).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from schemas.text import SingleLine


class BaseKind(StrEnum):
    headquarters = "headquarters"
    branch = "branch"

    @property
    def label(self) -> str:
        return {"headquarters": "孵化基地总部", "branch": "街道分基地"}[self.value]


class Service(StrEnum):
    space = "space"
    training = "training"
    mentoring = "mentoring"
    finance = "finance"
    filing_help = "filing_help"

    @property
    def label(self) -> str:
        return SERVICE_LABELS[self]


SERVICE_LABELS: dict[Service, str] = {
    Service.space: "办公场地",
    Service.training: "能力培训",
    Service.mentoring: "导师辅导",
    Service.finance: "财务代理",
    Service.filing_help: "备案登记指导",
}


class GraduationCriterion(BaseModel):
    id: str = Field(pattern=r"^[a-z_]+$")
    label: str = Field(min_length=1, max_length=60, description="what the assessors check, e.g. 已完成备案或登记")


class IncubationPolicy(BaseModel):
    """A term in a base: how long, how often the mentor reports, what graduation asks, one extension."""

    min_term_months: int = Field(ge=1, le=24)
    max_term_months: int = Field(ge=1, le=36)
    check_in_working_days: int = Field(
        ge=5, le=90, description="the mentor's report is due this many working days apart"
    )
    report_reminder_working_days: int = Field(
        default=2, ge=0, le=10, description="reminder this many working days before"
    )
    late_report_working_days: int = Field(
        default=5,
        ge=1,
        le=30,
        description="a report this late is flagged and escalated to the base's B岗, then civil affairs",
    )
    admission_working_days: int = Field(ge=1, le=30, description="the base's A岗 answers an application within this")
    assessment_working_days: int = Field(ge=1, le=30, description="出壳评估 by the base and civil affairs within this")
    graduation_criteria: list[GraduationCriterion] = Field(min_length=1)
    extensions_allowed: int = Field(default=1, ge=0, le=1, description="延期出壳: at most once")
    max_extension_months: int = Field(ge=1, le=12)
    history_events_limit: int = Field(
        default=5000, ge=50, description="a case continues as new beyond this many history events"
    )

    @model_validator(mode="after")
    def _term_ordered(self) -> IncubationPolicy:
        if self.min_term_months > self.max_term_months:
            raise ValueError("incubation: min_term_months must not exceed max_term_months")
        return self


class BasePerson(BaseModel):
    """Someone of the operator's staff or a mentor, known by the bases file (not the bureau's directory)."""

    user_id: str = Field(min_length=1, max_length=64)
    name: SingleLine = Field(min_length=1, max_length=50)


class Mentor(BasePerson):
    specialties: list[SingleLine] = Field(default_factory=list)


class IncubationBase(BaseModel):
    """One base as the bureau lists it: where, who runs it, how many places, what it offers, who mentors."""

    code: str = Field(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
    name: SingleLine = Field(min_length=1, max_length=80)
    kind: BaseKind
    jurisdiction: str = Field(description="the district (headquarters) or street (branch) it serves")
    operator: str = Field(description="the hub organization's register key")
    contract_no: str | None = Field(
        default=None, max_length=40, description="the operator's purchase-of-service contract"
    )
    address: SingleLine = Field(min_length=1, max_length=120)
    capacity: int = Field(ge=1, le=500, description="places (孵化席位)")
    services: list[Service] = Field(min_length=1)
    staff_a: BasePerson = Field(
        description="AB岗 of the operator's staff: A reviews admissions, B backs A and the mentors"
    )
    staff_b: BasePerson
    mentors: list[Mentor] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> IncubationBase:
        if self.staff_a.user_id == self.staff_b.user_id:
            raise ValueError(f"{self.code}: A岗 and B岗 must be two people")
        if len({m.user_id for m in self.mentors}) != len(self.mentors):
            raise ValueError(f"{self.code}: a mentor is listed twice")
        return self
