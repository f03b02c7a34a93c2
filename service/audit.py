"""The auditor's reading of the system: cases of every process found in the read model, a case told from its
recorded Temporal history (办理过程, documents, process diagram, bundle), a document's stored files hashed again.
Only auditors may read this way, and each of their views is written to ``AuditViewRecord`` — never to a workflow,
so looking at a case leaves its history as it was."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import false, func
from sqlmodel import Session, col, select
from temporalio.service import RPCError

from audit.bundle import build_bundle, export_cases, policy_refs, zipped
from audit.diagram import FAIR_MAP, INCUBATION_MAP, LOT_MAP, filing_map, process_diagram
from audit.history import RecordedCase
from audit.source import CaseNotFound, fetch_runs
from audit.timeline import reconstruct
from schemas.audit import (
    PROCESS_NAMES,
    AuditCaseRow,
    AuditCasesView,
    AuditDocument,
    AuditEvent,
    AuditSearch,
    AuditViewRow,
    AuditViewsView,
    DocumentCheck,
)
from schemas.contracts import CONTRACT_PHASE_NAMES
from schemas.localtime import SHANGHAI
from schemas.people import Actor, Role
from service.cases import CaseService
from service.common import ServiceError, paged
from service.contracts import CONTRACT_STATUS
from store.db import session_scope
from store.files import content_path
from store.models import AuditViewRecord, CaseRecord, ContractRecord, FairRecord, IncubationRecord, LotRecord

PAGE_NAMES = {
    "search": "查找案件",
    "case": "办理过程、文书和流程图",
    "document_check": "核对文书",
    "bundle": "下载审计包",
    "views": "查阅记录",
}
"""What an auditor looked at, as the 查阅记录 names it."""

PHASES: dict[str, dict[str, str]] = {
    "filing": {s.phase: s.name for s in filing_map(None).stages},
    "fair": {s.phase: s.name for s in FAIR_MAP.stages},
    "lot": {s.phase: s.name for s in LOT_MAP.stages},
    "contract": {"awaiting_contract_process": CONTRACT_STATUS["awaiting_contract_process"]}
    | {p.value: n[1] for p, n in CONTRACT_PHASE_NAMES.items()},
    "incubation": {s.phase: s.name for s in INCUBATION_MAP.stages},
}
"""Each process's phases by value, in staff's words: what a search's 流程和阶段 offers (a filing's review steps
under their usual names; a case's own procedure may name them otherwise, as its row then shows)."""


@dataclass
class AuditedCase:
    """A case as its recorded history tells it, with the diagram of its path and its documents."""

    number: str
    process_name: str
    phase_name: str
    status: str
    events: list[AuditEvent]
    documents: list[AuditDocument]
    diagram: str
    policies: list[str]
    temporal_url: str


class AuditService:
    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.engine = cases.engine
        self.settings = cases.settings

    @staticmethod
    def require_auditor(actor: Actor) -> None:
        if actor.role is not Role.auditor:
            raise ServiceError("forbidden", f"审计查阅只向审计人员开放，您的身份是{actor.role.label}")

    # --- search -----------------------------------------------------------------------------------

    def search(self, actor: Actor, search: AuditSearch, limit: int, offset: int) -> AuditCasesView:
        """Cases of every process matching all the filters given, most recently handled first."""
        self.require_auditor(actor)
        process, _, phase = search.status.partition(":")
        if process and (process not in PHASES or (phase and phase not in PHASES[process])):
            raise ServiceError("invalid", f"没有“{search.status}”这个流程或阶段，请从“流程和阶段”列表中选择")
        rows = [row for row in self._rows(search, process or None, phase) if search.office in row.office]
        rows.sort(key=lambda row: (row.updated_at, row.number), reverse=True)
        self._record(actor, "search", None, search.model_dump(mode="json", exclude_defaults=True))
        return AuditCasesView(items=rows[offset : offset + limit], total=len(rows), limit=limit, offset=offset)

    def _rows(self, search: AuditSearch, process: str | None, phase: str) -> list[AuditCaseRow]:
        """The cases of one process (or of all) that the database finds by number, phase, organization and
        date; the office, which a filing, fair, lot and incubation keep only inside their projected state, is
        left to the caller."""
        since = datetime.combine(search.since, time(), SHANGHAI) if search.since else None
        until = datetime.combine(search.until + timedelta(days=1), time(), SHANGHAI) if search.until else None

        def matching(model: Any, number: Any, phase_column: Any, at: Any, organization: Any = None) -> Any:
            query = select(model)
            if search.number:
                query = query.where(func.lower(number).contains(search.number.lower()))
            if phase:
                query = query.where(phase_column == phase)
            if search.organization:
                query = query.where(
                    col(organization).contains(search.organization) if organization is not None else false()
                )
            if since:
                query = query.where(at >= since)
            if until:
                query = query.where(at < until)
            return query

        found: list[AuditCaseRow] = []

        def row(
            kind: str, number: str, organization: str, office: str, phase: str, at: datetime, name: str = ""
        ) -> None:
            found.append(
                AuditCaseRow(
                    number=number,
                    process=kind,
                    process_name=PROCESS_NAMES[kind],
                    organization=organization,
                    office=office,
                    phase=phase,
                    phase_name=name or PHASES[kind].get(phase, phase),
                    updated_at=at,
                )
            )

        contract_at = func.coalesce(ContractRecord.updated_at, ContractRecord.awarded_at)
        with Session(self.engine) as db:
            if process in (None, "filing"):
                filings = matching(
                    CaseRecord,
                    CaseRecord.case_no,
                    CaseRecord.phase,
                    CaseRecord.updated_at,
                    CaseRecord.organization_name,
                )
                for case in db.exec(filings):
                    office = ((case.state or {}).get("authority") or {}).get("name") or ""
                    row(
                        "filing",
                        case.case_no,
                        case.organization_name,
                        office,
                        case.phase,
                        case.updated_at,
                        case.phase_staff_name,
                    )
            if process in (None, "fair"):
                for fair in db.exec(matching(FairRecord, FairRecord.fair_no, FairRecord.phase, FairRecord.updated_at)):
                    row("fair", fair.fair_no, "", _organizer(fair.state), fair.phase, fair.updated_at)
            if process in (None, "lot"):
                for lot in db.exec(matching(LotRecord, LotRecord.lot_no, LotRecord.phase, LotRecord.updated_at)):
                    row("lot", lot.lot_no, "", _organizer(lot.state), lot.phase, lot.updated_at)
            if process in (None, "contract"):
                contracts = matching(
                    ContractRecord,
                    ContractRecord.contract_no,
                    ContractRecord.status,
                    contract_at,
                    ContractRecord.supplier_name,
                )
                for contract in db.exec(contracts):
                    row(
                        "contract",
                        contract.contract_no,
                        contract.supplier_name,
                        contract.buyer_office,
                        contract.status,
                        contract.updated_at or contract.awarded_at,
                    )
            if process in (None, "incubation"):
                incubations = matching(
                    IncubationRecord,
                    IncubationRecord.case_no,
                    IncubationRecord.phase,
                    IncubationRecord.updated_at,
                    IncubationRecord.group_name,
                )
                for incubation in db.exec(incubations):
                    base = ((incubation.state or {}).get("base") or {}).get("name") or ""
                    row(
                        "incubation",
                        incubation.case_no,
                        incubation.group_name,
                        base,
                        incubation.phase,
                        incubation.updated_at,
                    )
        return found

    def statuses(self) -> list[tuple[str, str]]:
        """The 流程和阶段 a search may name: each process, then each of its phases."""
        return [
            choice
            for process, phases in PHASES.items()
            for choice in [(process, f"{PROCESS_NAMES[process]}（全部阶段）")]
            + [(f"{process}:{value}", f"{PROCESS_NAMES[process]}：{name}") for value, name in phases.items()]
        ]

    # --- one case ---------------------------------------------------------------------------------

    async def case(self, actor: Actor, number: str) -> AuditedCase:
        """The case's 办理过程 from its recorded history: each step with who, their role, when, the phase
        before and after and the policy in force then; its documents with their recorded SHA-256; its diagram."""
        self.require_auditor(actor)
        recorded = await self._recorded(number)
        story = reconstruct(recorded)
        events = []
        for event in story.events:
            snapshot = recorded.state_at(event.at)
            refs = list(policy_refs(snapshot.state)) if snapshot else []
            events.append(
                AuditEvent(
                    seq=event.seq,
                    at=event.at,
                    who=event.who,
                    role=event.role,
                    summary=event.summary,
                    phase_before=event.phase_before_name,
                    phase_after=event.phase_after_name,
                    policy="；".join(dict.fromkeys(_policy_name(ref) for ref in refs)),
                )
            )
        policies = [_policy_name(ref) for snapshot in recorded.snapshots for ref in policy_refs(snapshot.state)]
        self._record(actor, "case", number)
        return AuditedCase(
            number=story.case_no,
            process_name=recorded.process.label,
            phase_name=story.phase_names[1],
            status=story.status,
            events=events,
            documents=_documents(recorded),
            diagram=process_diagram(recorded),
            policies=list(dict.fromkeys(policies)),
            temporal_url=self.temporal_url(number),
        )

    async def check_document(self, actor: Actor, number: str, document_id: str) -> int:
        """Hash the document's stored PDF and HTML again and compare with what its rendering recorded in
        history; the outcome is kept in the 查阅记录, whose entry number is returned."""
        self.require_auditor(actor)
        recorded = await self._recorded(number)
        document = next((d for d in _documents(recorded) if d.document_id == document_id), None)
        if document is None:
            raise ServiceError("not_found", f"案件 {number} 没有编号为 {document_id} 的文书，请从文书列表中选择")
        files = {}
        for name, extension, digest in (("PDF", "pdf", document.pdf_sha256), ("HTML", "html", document.html_sha256)):
            stored = content_path(self.settings.documents_dir, digest, extension)
            if not stored.is_file():
                files[name] = "存储中找不到"
            else:
                files[name] = "一致" if hashlib.sha256(stored.read_bytes()).hexdigest() == digest else "不一致"
        check = DocumentCheck(
            document_id=document_id, title=document.title, matches=all(v == "一致" for v in files.values()), files=files
        )
        return self._record(actor, "document_check", number, check.model_dump())

    def document_check(self, actor: Actor, number: str, view_id: int) -> DocumentCheck | None:
        """A check this auditor made on this case, as recorded (None when there is no such check of theirs)."""
        self.require_auditor(actor)
        with Session(self.engine) as db:
            record = db.get(AuditViewRecord, view_id)
        if (
            record is None
            or record.user_id != actor.user_id
            or record.case_no != number
            or record.page != "document_check"
        ):
            return None
        return DocumentCheck.model_validate(record.detail)

    async def bundle(self, actor: Actor, number: str) -> bytes:
        """The case's audit bundle (with its child cases) as a zip file, as ``shezu audit export`` writes it."""
        self.require_auditor(actor)
        await self._recorded(number)
        cases, unreadable = await export_cases(self.cases.client, number)
        source = {"temporal_address": self.settings.temporal_address, "namespace": self.settings.temporal_namespace}
        try:
            files = build_bundle(cases, self.settings.documents_dir, source, unreadable)
        except FileNotFoundError as error:
            raise ServiceError("conflict", f"无法导出审计包：{error}。请核对文书存储后再试") from error
        self._record(actor, "bundle", number)
        return zipped(files)

    def temporal_url(self, number: str) -> str:
        """The case's workflow in the Temporal Web UI."""
        base = (
            self.settings.temporal_ui_url
            or f"http://{self.settings.temporal_address.rsplit(':', 1)[0]}:{self.settings.temporal_ui_port}"
        )
        return f"{base.rstrip('/')}/namespaces/{quote(self.settings.temporal_namespace)}/workflows/{quote(number)}"

    async def _recorded(self, number: str) -> RecordedCase:
        """The case's recorded history; a number the read model does not know is not looked up in Temporal."""
        with Session(self.engine) as db:
            known = any(
                db.get(model, number)
                for model in (CaseRecord, FairRecord, LotRecord, ContractRecord, IncubationRecord)
            )
        if not known:
            raise ServiceError("not_found", f"没有编号为 {number} 的案件，请核对编号或从查找结果中打开")
        try:
            return RecordedCase(await fetch_runs(self.cases.client, number))
        except (CaseNotFound, RPCError) as error:
            raise ServiceError("unavailable", f"流程服务中暂时读不到案件 {number} 的办理历史，请稍后再试") from error

    # --- 查阅记录 ---------------------------------------------------------------------------------

    def views(self, actor: Actor, limit: int, offset: int) -> AuditViewsView:
        """Every auditor's views, newest first (this look is recorded too)."""
        self.require_auditor(actor)
        self._record(actor, "views", None)
        query = select(AuditViewRecord).order_by(col(AuditViewRecord.viewed_at).desc(), col(AuditViewRecord.id).desc())
        with Session(self.engine) as db:
            records, total = paged(db, query, limit, offset)
        items = [
            AuditViewRow(
                user_id=r.user_id,
                user_name=r.user_name,
                viewed_at=r.viewed_at,
                page=r.page,
                page_name=PAGE_NAMES.get(r.page, r.page),
                case_no=r.case_no,
                note=_check_note(r.detail) if r.page == "document_check" else "",
            )
            for r in records
        ]
        return AuditViewsView(items=items, total=total, limit=limit, offset=offset)

    def _record(self, actor: Actor, page: str, case_no: str | None, detail: dict[str, Any] | None = None) -> int:
        with session_scope(self.engine) as db:
            record = AuditViewRecord(
                user_id=actor.user_id,
                user_name=actor.name,
                viewed_at=datetime.now(UTC),
                page=page,
                case_no=case_no,
                detail=detail,
            )
            db.add(record)
            db.flush()
            assert record.id is not None
            return record.id


def _check_note(detail: dict[str, Any] | None) -> str:
    check = DocumentCheck.model_validate(detail)
    return f"{check.title}，{'一致' if check.matches else '不一致'}"


def _organizer(state: dict[str, Any] | None) -> str:
    return ((state or {}).get("organizer") or {}).get("name") or ""


def _policy_name(ref: Any) -> str:
    return f"{ref.title}（{ref.version}）"


def _documents(recorded: RecordedCase) -> list[AuditDocument]:
    return [
        AuditDocument(
            document_id=d.ref.document_id,
            title=d.ref.title,
            reference=d.ref.reference,
            issued_at=d.ref.issued_at,
            pdf_sha256=d.ref.pdf_sha256,
            html_sha256=d.ref.html_sha256,
        )
        for d in recorded.documents
        if d.ref is not None
    ]
