"""Official documents: their kinds, and what comes back into history once one is rendered."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from schemas.calendar import Deadline
from schemas.people import OfficeContact


class DocumentKind(StrEnum):
    acceptance_notice = "acceptance_notice"
    correction_notice = "correction_notice"
    non_acceptance_decision = "non_acceptance_decision"
    refusal_decision = "refusal_decision"
    public_notice = "public_notice"
    certificate = "certificate"
    demand_catalogue = "demand_catalogue"
    evaluation_report = "evaluation_report"
    result_publication = "result_publication"
    award_notice = "award_notice"
    result_notification = "result_notification"
    failed_lot_notice = "failed_lot_notice"
    retender_notice = "retender_notice"
    contract = "contract"
    payment_instruction = "payment_instruction"
    performance_report = "performance_report"
    rectification_notice = "rectification_notice"
    reward_decision = "reward_decision"
    termination_notice = "termination_notice"
    incubation_agreement = "incubation_agreement"
    graduation_certificate = "graduation_certificate"
    admission_refusal = "admission_refusal"

    @property
    def default_title(self) -> str:
        return {
            "acceptance_notice": "受理通知书",
            "correction_notice": "补正材料通知书",
            "non_acceptance_decision": "不予受理决定书",
            "refusal_decision": "不予备案决定书",
            "public_notice": "公示公告",
            "certificate": "备案证明",
            "demand_catalogue": "政府购买服务需求公告",
            "evaluation_report": "评审报告",
            "result_publication": "评审结果公示",
            "award_notice": "成交通知书",
            "result_notification": "成交结果通知书",
            "failed_lot_notice": "流标公告",
            "retender_notice": "重新组织投标公告",
            "contract": "政府购买服务合同",
            "payment_instruction": "资金拨付通知书",
            "performance_report": "绩效评价报告",
            "rectification_notice": "整改通知书",
            "reward_decision": "以奖代补奖励决定书",
            "termination_notice": "合同终止通知书",
            "incubation_agreement": "入孵协议",
            "graduation_certificate": "出壳证书",
            "admission_refusal": "不予入孵告知书",
        }[self.value]

    @property
    def number_code(self) -> str | None:
        """文种代字 in the 发文字号 (延建受〔2026〕3号); a contract is identified by its contract number instead, and
        what a base issues alone (its 入孵协议, a 不予入孵告知书) by the number it has within the incubation."""
        return {
            "acceptance_notice": "受",
            "correction_notice": "补",
            "non_acceptance_decision": "不受",
            "refusal_decision": "不准",
            "public_notice": "公",
            "certificate": "证",
            "demand_catalogue": "需",
            "evaluation_report": "评",
            "result_publication": "果",
            "award_notice": "成",
            "result_notification": "结",
            "failed_lot_notice": "流",
            "retender_notice": "招",
            "contract": None,
            "payment_instruction": "拨",
            "performance_report": "绩",
            "rectification_notice": "整",
            "reward_decision": "奖",
            "termination_notice": "终",
            "incubation_agreement": None,
            "graduation_certificate": "孵证",
            "admission_refusal": None,
        }[self.value]

    @property
    def verifiable(self) -> bool:
        """电子证照: documents someone holds and shows to others carry a verification code and its QR code."""
        return self in (
            DocumentKind.certificate, DocumentKind.award_notice, DocumentKind.contract, DocumentKind.graduation_certificate
        )  # fmt: skip

    @property
    def issued_by_base(self) -> bool:
        """An incubation base's operator is an organization, not an office of the directory: what it issues alone
        carries no 发文字号 and no office contacts, and no government seal."""
        return self in (DocumentKind.incubation_agreement, DocumentKind.admission_refusal)


class Issuance(BaseModel):
    """What the issuing office adds when the document is issued, recorded with the rendered document so
    that an auditor renders the same text again: its 发文字号 and its contact details at that time."""

    document_number: str | None = Field(default=None, description="发文字号, e.g. 延建受〔2026〕3号; none for a contract")
    contact: OfficeContact
    verification_code: str | None = Field(default=None, description="电子证照 验证码 (certificates, award notices, contracts)")
    verification_url: str | None = Field(default=None, description="the public verification page the QR code leads to")


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


class DocumentRef(BaseModel):
    document_id: str
    kind: DocumentKind
    title: str
    number: str
    issued_at: AwareDatetime
    html_sha256: str
    pdf_sha256: str
    addressee: str | None = Field(default=None, description="the organization a notice is addressed to (register key)")
    issuance: Issuance | None = Field(default=None, description="发文字号 and contact; absent on documents issued before 0005")

    @property
    def reference(self) -> str:
        """The number a reader cites: its 发文字号, else (a contract, or a document issued before there were
        发文字号) the number it has within its case."""
        return self.issuance.document_number if self.issuance and self.issuance.document_number else self.number
