"""Official documents: HTML from templates, PDF from WeasyPrint, both stored by content hash.

Documents are evidence. An auditor re-renders a recorded ``DocumentRequest`` and compares hashes,
so rendering is a pure function of the request (no "now" anywhere in the PDF) and storage is
write-once: a retried activity finds its files already there and writes nothing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError
from weasyprint import CSS, HTML

from activities.heartbeat import beating
from activities.rendering import TEMPLATES_DIR, environment, local_year
from schemas.document_request import DocumentRequest
from schemas.documents import DocumentKind, DocumentRef, Issuance
from settings import get_settings
from store import document_numbers, verification_codes
from store.directory import jurisdiction
from store.files import put

FONT_TIMESTAMP_EPOCH = "0"
"""fontTools stamps a font it re-saves with ``SOURCE_DATE_EPOCH``, else the current time. Plain
subsetting keeps the font's own timestamp, but WeasyPrint re-saves variable fonts and emoji fonts
(an emoji in an organization's name), which would put "now" into the PDF. One fixed value for the
whole process cannot race between rendering threads."""

REQUIRED_FACTS: dict[DocumentKind, tuple[str, ...]] = {
    DocumentKind.acceptance_notice: ("party", "checklist", "legal_time_limit_working_days"),
    DocumentKind.correction_notice: ("party", "items", "deadline"),
    DocumentKind.non_acceptance_decision: ("party", "items", "appeal"),
    DocumentKind.refusal_decision: ("party", "items", "appeal"),
    DocumentKind.public_notice: ("party", "notice"),
    DocumentKind.certificate: ("party", "certificate"),
    DocumentKind.demand_catalogue: ("fair",),
    DocumentKind.evaluation_report: ("lot",),
    DocumentKind.result_publication: ("lot", "notice"),
    DocumentKind.award_notice: ("lot", "addressee_bid", "deadline"),
    DocumentKind.result_notification: ("lot", "addressee_bid"),
    DocumentKind.failed_lot_notice: ("lot", "items"),
    DocumentKind.retender_notice: ("lot", "items"),
    DocumentKind.contract: ("contract",),
    DocumentKind.payment_instruction: ("contract", "subject"),
    DocumentKind.performance_report: ("contract", "subject"),
    DocumentKind.rectification_notice: ("contract", "items", "deadline"),
    DocumentKind.reward_decision: ("contract", "subject"),
    DocumentKind.termination_notice: ("contract", "items"),
    DocumentKind.incubation_agreement: ("incubation",),
    DocumentKind.graduation_certificate: ("incubation",),
    DocumentKind.admission_refusal: ("incubation", "items"),
}
"""Facts without which a document would be unlawful or unreadable (a decision without an appeal route,
a correction notice without items or a date); optional facts are handled by the templates."""

class IncompleteDocumentRequest(ValueError):
    """The request lacks a fact its document kind needs; retrying cannot help."""


class OfficeNotInDirectory(RuntimeError):
    """The issuing office has no contact details in the directory; retried until an administrator loads them."""


def check_complete(request: DocumentRequest) -> None:
    missing = [name for name in REQUIRED_FACTS[request.kind] if not getattr(request, name)]
    if missing:
        raise IncompleteDocumentRequest(f"{request.kind.value} {request.document_id} lacks {', '.join(missing)}")


def render_html(request: DocumentRequest, issuance: Issuance | None = None) -> str:
    """The document's HTML, exactly as stored; auditors call this without Temporal, with the issuance
    recorded in the document's ``DocumentRef`` (none on documents issued before 发文字号 existed)."""
    check_complete(request)
    template = environment().get_template(f"documents/{request.kind.value}.html")
    return template.render(request=request, party=request.party, issuance=issuance)


def font_stylesheet(title_fonts: str, body_fonts: str) -> CSS:
    """The typefaces, set apart from the HTML so that an office holding licences for the official fonts
    (方正小标宋简体, 仿宋_GB2312) prints with them while the stored HTML stays the same everywhere."""
    return CSS(
        string=f"html {{ font-family: {body_fonts} !important; }} "
        f".issuer-line, h1 {{ font-family: {title_fonts} !important; }}"
    )


def render_pdf(html: str, document_id: str) -> bytes:
    """Deterministic PDF: fixed font timestamp, file identifier from the document id, dates from the HTML meta."""
    os.environ["SOURCE_DATE_EPOCH"] = FONT_TIMESTAMP_EPOCH
    identifier = hashlib.sha256(document_id.encode()).hexdigest()[:32].encode()
    settings = get_settings()
    fonts = font_stylesheet(settings.document_title_fonts, settings.document_body_fonts)
    return HTML(string=html, base_url=str(TEMPLATES_DIR)).write_pdf(stylesheets=[fonts], pdf_identifier=identifier)


class DocumentActivities:
    def __init__(self, documents_dir: Path, engine: Engine) -> None:
        self.documents_dir = documents_dir
        self.engine = engine

    @activity.defn(name="render_document")
    async def render_document(self, request: DocumentRequest) -> DocumentRef:
        """Renders off the event loop (without HarfBuzz subsetting WeasyPrint spends a second per PDF),
        heartbeating meanwhile so a render lost with its worker is retried within seconds."""
        try:
            return await beating(lambda: self._render_and_store(request))
        except IncompleteDocumentRequest as error:
            raise ApplicationError(str(error), type="IncompleteDocumentRequest", non_retryable=True) from error

    def _issue(self, request: DocumentRequest) -> Issuance | None:
        """The office's contact details and, the first time, the document's 发文字号 (kept on a retry); nothing
        for what an incubation base issues alone, which is no office of the directory."""
        if request.kind.issued_by_base:
            return None
        office = request.issuer
        place = jurisdiction(self.engine, office.jurisdiction)
        contact = place.contact_of(office) if place else None
        if contact is None:
            raise OfficeNotInDirectory(f"{office.name}（{office.jurisdiction}, {office.role.value}）在名录中没有发文机关代字和联系方式")
        code = request.kind.number_code
        number = None
        if code is not None:
            year = local_year(request.issued_at)
            number = document_numbers.allocate(
                self.engine,
                request.document_id,
                series=f"{office.jurisdiction}:{office.role.value}:{request.kind.value}:{year}",
                prefix=f"{contact.abbreviation}{code}",
                year=year,
                now=request.issued_at,
            )
        if not request.kind.verifiable:
            return Issuance(document_number=number, contact=contact)
        verification = verification_codes.allocate(
            self.engine, request.document_id, request.issued_at, **_public_facts(request, number or request.number)
        )
        url = f"{get_settings().public_base_url}/verify/{verification}"
        return Issuance(document_number=number, contact=contact, verification_code=verification, verification_url=url)

    def _render_and_store(self, request: DocumentRequest) -> DocumentRef:
        check_complete(request)  # before a number is taken: a request that cannot render leaves no gap
        issuance = self._issue(request)
        html = render_html(request, issuance)
        pdf = render_pdf(html, request.document_id)
        return DocumentRef(
            document_id=request.document_id,
            kind=request.kind,
            title=request.title,
            number=request.number,
            issued_at=request.issued_at,
            html_sha256=put(self.documents_dir, html.encode(), "html"),
            pdf_sha256=put(self.documents_dir, pdf, "pdf"),
            addressee=_addressee(request),
            issuance=issuance,
        )


def _public_facts(request: DocumentRequest, reference: str) -> dict[str, Any]:
    """What the verification page may show of a document: what the document itself shows to whoever holds it."""
    facts: dict[str, Any] = {
        "kind": request.kind.value,
        "case_no": request.case_no,
        "title": request.title,
        "issuer_name": request.issuer.name,
        "reference": reference,
        "valid_from": request.issued_at,
    }
    if request.certificate and request.party:
        return facts | {
            "holder": request.party.organization_name,
            "valid_from": request.certificate.valid_from,
            "valid_until": request.certificate.valid_until,
        }
    if request.contract:
        return facts | {"holder": request.contract.basis.supplier_name}
    if request.incubation:
        return facts | {"holder": request.incubation.application.group_name}
    bid = request.lot.bid(request.addressee_bid) if request.lot and request.addressee_bid else None
    return facts | {"holder": bid.organization_name if bid else ""}


def _addressee(request: DocumentRequest) -> str | None:
    """The organization a lot's notice is addressed to, so the read model can show it to them alone."""
    if request.lot is None or request.addressee_bid is None:
        return None
    bid = request.lot.bid(request.addressee_bid)
    return bid.organization if bid else None
