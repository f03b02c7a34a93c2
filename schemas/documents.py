"""Official documents: what the workflow asks to render and what comes back into history."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from schemas.calendar import Deadline
from schemas.checklist import Checklist
from schemas.people import Office
from schemas.policy import Appeal


class DocumentKind(StrEnum):
    acceptance_notice = "acceptance_notice"
    correction_notice = "correction_notice"
    non_acceptance_decision = "non_acceptance_decision"
    refusal_decision = "refusal_decision"
    public_notice = "public_notice"
    certificate = "certificate"

    @property
    def default_title(self) -> str:
        return {
            "acceptance_notice": "受理通知书",
            "correction_notice": "补正材料通知书",
            "non_acceptance_decision": "不予受理决定书",
            "refusal_decision": "不予备案决定书",
            "public_notice": "公示公告",
            "certificate": "备案证明",
        }[self.value]


class CaseParty(BaseModel):
    """The applicant and the organization as documents name them."""

    case_no: str
    applicant_name: str
    organization_name: str
    track_name: str
    business_scope: str
    community_name: str
    venue: str
    responsible_people: list[str] = Field(default_factory=list)
    submitted_at: AwareDatetime
    public_notice_counts_toward_time_limit: bool = Field(
        default=False, description="from the procedure; the acceptance notice states whether 公示 pauses the clock"
    )


class NoticePeriod(BaseModel):
    starts_at: AwareDatetime
    ends: Deadline
    channel: str


class CertificateFacts(BaseModel):
    number: str
    valid_from: AwareDatetime
    valid_until: AwareDatetime | None = None


class DocumentRequest(BaseModel):
    """Everything a template needs; recorded in history so the document can be re-rendered and checked."""

    document_id: str
    kind: DocumentKind
    title: str
    number: str = Field(description="文号")
    issued_at: AwareDatetime
    issuer: Office
    party: CaseParty
    items: list[str] = Field(default_factory=list, description="correction items, reasons or objections")
    deadline: Deadline | None = None
    notice: NoticePeriod | None = None
    certificate: CertificateFacts | None = None
    appeal: Appeal | None = None
    reconsideration_body: str | None = None
    court: str | None = None
    checklist: Checklist | None = None
    legal_time_limit_working_days: int | None = None


class DocumentRef(BaseModel):
    document_id: str
    kind: DocumentKind
    title: str
    number: str
    issued_at: AwareDatetime
    html_sha256: str
    pdf_sha256: str
