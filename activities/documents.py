"""Official documents: HTML from templates, PDF from WeasyPrint, both stored by content hash.

Documents are evidence. An auditor re-renders a recorded ``DocumentRequest`` and compares hashes,
so rendering is a pure function of the request (no "now" anywhere in the PDF) and storage is
write-once: a retried activity finds its files already there and writes nothing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError
from weasyprint import HTML

from activities.heartbeat import beating
from activities.rendering import TEMPLATES_DIR, environment
from schemas.document_request import DocumentRequest
from schemas.documents import DocumentKind, DocumentRef
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
}
"""Facts without which a document would be unlawful or unreadable (a decision without an appeal route,
a correction notice without items or a date); optional facts are handled by the templates."""

class IncompleteDocumentRequest(ValueError):
    """The request lacks a fact its document kind needs; retrying cannot help."""


def render_html(request: DocumentRequest) -> str:
    """The document's HTML, exactly as stored; auditors call this without Temporal."""
    missing = [name for name in REQUIRED_FACTS[request.kind] if not getattr(request, name)]
    if missing:
        raise IncompleteDocumentRequest(f"{request.kind.value} {request.document_id} lacks {', '.join(missing)}")
    template = environment().get_template(f"documents/{request.kind.value}.html")
    return template.render(request=request, party=request.party)


def render_pdf(html: str, document_id: str) -> bytes:
    """Deterministic PDF: fixed font timestamp, file identifier from the document id, dates from the HTML meta."""
    os.environ["SOURCE_DATE_EPOCH"] = FONT_TIMESTAMP_EPOCH
    identifier = hashlib.sha256(document_id.encode()).hexdigest()[:32].encode()
    return HTML(string=html, base_url=str(TEMPLATES_DIR)).write_pdf(pdf_identifier=identifier)


class DocumentActivities:
    def __init__(self, documents_dir: Path) -> None:
        self.documents_dir = documents_dir

    @activity.defn(name="render_document")
    async def render_document(self, request: DocumentRequest) -> DocumentRef:
        """Renders off the event loop (without HarfBuzz subsetting WeasyPrint spends a second per PDF),
        heartbeating meanwhile so a render lost with its worker is retried within seconds."""
        try:
            return await beating(lambda: self._render_and_store(request))
        except IncompleteDocumentRequest as error:
            raise ApplicationError(str(error), type="IncompleteDocumentRequest", non_retryable=True) from error

    def _render_and_store(self, request: DocumentRequest) -> DocumentRef:
        html = render_html(request)
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
        )


def _addressee(request: DocumentRequest) -> str | None:
    """The organization a lot's notice is addressed to, so the read model can show it to them alone."""
    if request.lot is None or request.addressee_bid is None:
        return None
    bid = request.lot.bid(request.addressee_bid)
    return bid.organization if bid else None
