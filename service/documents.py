"""Downloading a document: found by id, checked against the access rules of the process it
belongs to, served from the content-addressed store."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from schemas.people import Actor
from service.cases import CaseService
from service.common import ServiceError
from service.contracts import ContractService
from service.fairs import FairService
from service.incubation import IncubationService
from store.files import content_path
from store.models import ContractRecord, DocumentRecord, FairRecord, IncubationRecord, LotRecord


def document_file(
    cases: CaseService, fairs: FairService, contracts: ContractService, actor: Actor | None, document_id: str, extension: str
) -> tuple[Path, str]:
    with Session(cases.engine) as session:
        record = session.get(DocumentRecord, document_id)
        procurement = record is not None and (
            session.get(LotRecord, record.case_no) is not None or session.get(FairRecord, record.case_no) is not None
        )
        contract = record is not None and session.get(ContractRecord, record.case_no) is not None
        incubation = record is not None and session.get(IncubationRecord, record.case_no) is not None
    if record is None or not (
        contracts.may_read_document(actor, record.case_no) if contract
        else IncubationService(cases.settings, cases.engine).may_read_document(actor, record.case_no) if incubation
        else fairs.may_read_document(actor, record) if procurement
        else cases.may_read_document(actor, record)
    ):
        # One answer for a document that does not exist and for one the caller may not read.
        raise ServiceError("not_found", f"文书 {document_id} 不存在或您无权查看（非公开文书须登录后查看）")
    digest = record.pdf_sha256 if extension == "pdf" else record.html_sha256
    path = content_path(cases.settings.documents_dir, digest, extension)
    if not path.exists():
        raise ServiceError("not_found", f"文书 {document_id} 的文件缺失，请联系管理员")
    return path, f"{record.number}-{record.title}.{extension}"
