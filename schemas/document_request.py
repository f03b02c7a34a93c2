"""What a workflow asks the renderer for: everything a document's template needs, recorded in
history so an auditor can render the document again and compare hashes."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel, Field

from schemas.calendar import Deadline
from schemas.checklist import Checklist
from schemas.contracts import ContractState
from schemas.documents import CaseParty, CertificateFacts, DocumentKind, NoticePeriod
from schemas.incubation_case import IncubationState
from schemas.people import Office
from schemas.policy import Appeal, Citation
from schemas.procurement import FairState, LotState


class DocumentRequest(BaseModel):
    """Common facts (number, issuer, date) and the facts of the process the document belongs to."""

    document_id: str
    kind: DocumentKind
    title: str
    number: str = Field(description="文号")
    issued_at: AwareDatetime
    issuer: Office
    party: CaseParty | None = Field(default=None, description="the applicant and organization (filing documents)")
    items: list[str] = Field(default_factory=list, description="correction items, reasons or objections")
    deadline: Deadline | None = None
    notice: NoticePeriod | None = None
    certificate: CertificateFacts | None = None
    appeal: Appeal | None = None
    legal_basis: Citation | None = Field(default=None, description="the clause a refusal rests on (filing decisions)")
    reconsideration_body: str | None = None
    court: str | None = None
    checklist: Checklist | None = None
    legal_time_limit_working_days: int | None = None
    lapse_decision: str | None = Field(
        default=None, description="补正通知书: the decision issued if the window passes (不予受理决定书, 不予备案决定书)"
    )
    fair: FairState | None = Field(default=None, description="the fair as it stood (procurement documents)")
    lot: LotState | None = Field(default=None, description="the lot as it stood (procurement documents)")
    addressee_bid: str | None = Field(default=None, description="the bid a notice is addressed to")
    signing_due: date | None = Field(default=None, description="成交通知书: the last day to sign the contract")
    contract: ContractState | None = Field(default=None, description="the contract as it stood (contract documents)")
    subject: str | None = Field(default=None, description="what within the case the document is about: a tranche, an evaluation")
    incubation: IncubationState | None = Field(default=None, description="the incubation as it stood (incubation documents)")

    @property
    def case_no(self) -> str:
        """The number of the case, lot or fair the document belongs to."""
        if self.party:
            return self.party.case_no
        if self.lot:
            return self.lot.lot_no
        if self.contract:
            return self.contract.contract_no
        if self.incubation:
            return self.incubation.case_no
        return self.fair.fair_no if self.fair else ""
