"""Read-model tables. Written only by activities (and admin loaders); read by the API and CLI.

Everything here except the directory, calendars, attachments, the allocations of case numbers,
发文字号 and verification codes, the notification outbox with its read marks, preferences and deliveries, the accounts and the
好差评 ratings is a projection of workflow state and can be rebuilt from it (``shezu readmodel rebuild``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Stores UTC and always gives back timezone-aware datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: times are stored in UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_column() -> Any:
    return Field(default=None, sa_column=Column(JSON))


# --- directory: jurisdictions and AB posts ---------------------------------------------------


class JurisdictionRecord(SQLModel, table=True):
    __tablename__ = "jurisdictions"
    code: str = Field(primary_key=True)
    name: str
    full_name: str
    level: str
    parent: str | None = Field(default=None, index=True)
    offices: dict[str, str] | None = json_column()
    contacts: dict[str, dict[str, str]] | None = json_column()
    reconsideration_body: str | None = None
    court: str | None = None


class StaffRecord(SQLModel, table=True):
    __tablename__ = "staff"
    user_id: str = Field(primary_key=True)
    name: str
    role: str
    jurisdiction: str = Field(index=True)
    office: str | None = None


class ExpertRecord(SQLModel, table=True):
    """评审专家库: who may be drawn for a jurisdiction's panels, and their registered conflicts."""

    __tablename__ = "experts"
    user_id: str = Field(primary_key=True)
    name: str
    jurisdiction: str = Field(index=True)
    specialties: list[str] | None = json_column()
    conflicts: list[str] | None = json_column()


class PostRecord(SQLModel, table=True):
    """AB岗: who holds a role in a jurisdiction (A) and who backs them up (B)."""

    __tablename__ = "posts"
    role: str = Field(primary_key=True)
    jurisdiction: str = Field(primary_key=True)
    office: str = Field(default="", primary_key=True)
    a_user_id: str
    b_user_id: str


# --- calendars loaded by an administrator ----------------------------------------------------


class CalendarYearRecord(SQLModel, table=True):
    __tablename__ = "calendar_years"
    year: int = Field(primary_key=True)
    title: str
    sha256: str
    loaded_by: str
    loaded_at: datetime = utc_column(nullable=False)


class CalendarDayRecord(SQLModel, table=True):
    __tablename__ = "calendar_days"
    day: date = Field(primary_key=True)
    year: int = Field(index=True)
    workday: bool
    name: str


# --- case numbers and attachments --------------------------------------------------------------


class CaseNumberRecord(SQLModel, table=True):
    """Allocated case numbers. ``open_key`` is set while a case is open, so the same organization
    cannot have two open cases in one jurisdiction (a duplicate submission is refused)."""

    __tablename__ = "case_numbers"
    __table_args__ = (UniqueConstraint("series", "seq"), UniqueConstraint("open_key"))
    case_no: str = Field(primary_key=True)
    series: str
    seq: int
    open_key: str | None = None
    allocated_at: datetime = utc_column(nullable=False)


class DocumentNumberRecord(SQLModel, table=True):
    """发文字号: one consecutive series per issuing office, document kind and year, apart from case numbers.
    Keyed by the document, so a retried render keeps the number it was given."""

    __tablename__ = "document_numbers"
    __table_args__ = (UniqueConstraint("series", "seq"),)
    document_id: str = Field(primary_key=True)
    series: str
    seq: int
    number: str
    allocated_at: datetime = utc_column(nullable=False)


class VerificationCodeRecord(SQLModel, table=True):
    """电子证照: the verification code printed (with its QR code) on a certificate, award notice or contract,
    allocated once per document when it is first rendered, with what the verification page may show of it:
    only what the document itself shows. The hashes to check a file against are the issued document's own
    (``documents``), so a code whose document was never issued verifies nothing."""

    __tablename__ = "verification_codes"
    document_id: str = Field(primary_key=True)
    code: str = Field(unique=True)
    kind: str
    case_no: str = Field(index=True)
    title: str
    issuer_name: str
    reference: str = Field(description="发文字号, or the contract number for a contract")
    holder: str = Field(description="the organization the document is issued to")
    valid_from: datetime | None = utc_column()
    valid_until: datetime | None = utc_column()
    allocated_at: datetime = utc_column(nullable=False)


class AttachmentRecord(SQLModel, table=True):
    """An uploaded file, once per uploader: only its uploader may cite it (the file is stored once)."""

    __tablename__ = "attachments"
    sha256: str = Field(primary_key=True)
    uploaded_by: str = Field(primary_key=True)
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime = utc_column(nullable=False)


# --- projections of workflow state ------------------------------------------------------------


class CaseRecord(SQLModel, table=True):
    __tablename__ = "cases"
    case_no: str = Field(primary_key=True)
    process: str = Field(index=True)
    track: str
    revision: int
    phase: str = Field(index=True)
    phase_applicant_name: str
    phase_staff_name: str
    closed: bool = Field(index=True)
    applicant_id: str = Field(index=True)
    applicant_name: str
    organization_name: str = Field(index=True)
    community: str = Field(index=True)
    authority_jurisdiction: str | None = Field(default=None, index=True)
    holders: str = ""
    next_deadline: datetime | None = utc_column()
    legal_deadline: datetime | None = utc_column()
    submitted_at: datetime = utc_column(nullable=False)
    updated_at: datetime = utc_column(nullable=False)
    state: dict[str, Any] | None = json_column()


class TaskRecord(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_inbox", "role", "jurisdiction", "status"),)
    case_no: str = Field(primary_key=True)
    task_id: str = Field(primary_key=True)
    step: str
    title: str
    role: str
    jurisdiction: str
    office: str
    a_user_id: str
    a_name: str
    b_user_id: str
    b_name: str
    holder_id: str = Field(index=True)
    holder_name: str
    status: str
    escalated: bool
    created_at: datetime = utc_column(nullable=False)
    due_at: datetime = utc_column(nullable=False)
    closed_at: datetime | None = utc_column()
    outcome: str | None = None
    organization_name: str
    phase_staff_name: str


class TimelineRecord(SQLModel, table=True):
    __tablename__ = "timeline"
    case_no: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    at: datetime = utc_column(nullable=False)
    actor_id: str | None = None
    actor_name: str | None = None
    actor_role: str | None = None
    action: str
    summary: str
    phase_before: str
    phase_after: str


class DocumentRecord(SQLModel, table=True):
    __tablename__ = "documents"
    document_id: str = Field(primary_key=True)
    case_no: str = Field(index=True)
    kind: str
    title: str
    number: str
    issued_at: datetime = utc_column(nullable=False)
    html_sha256: str
    pdf_sha256: str
    addressee: str | None = None


class OrganizationRecord(SQLModel, table=True):
    """The register of filed and registered organizations (later read by fair eligibility)."""

    __tablename__ = "organizations"
    case_no: str = Field(primary_key=True)
    name: str = Field(index=True)
    name_key: str = Field(default="", index=True, description="schemas.text.name_key(name): what duplicate names are compared by")
    track: str
    community: str = Field(index=True)
    authority_jurisdiction: str
    certificate_number: str
    approved_at: datetime = utc_column(nullable=False)
    valid_until: datetime | None = utc_column()
    standing: str = "good"
    grade: str | None = None
    barred_until_year: int | None = None
    representative_id: str = Field(default="", index=True)
    representative_name: str = ""
    bank: str | None = None
    account_name: str | None = None
    account_number: str | None = None
    performance_grade: str | None = None
    performance_year: int | None = None


class NotificationRecord(SQLModel, table=True):
    """Outbox: one row per message and recipient, keyed so a retried activity queues it once."""

    __tablename__ = "notifications"
    key: str = Field(primary_key=True)
    case_no: str = Field(index=True)
    kind: str
    recipient_id: str = Field(index=True)
    recipient_name: str
    subject: str
    body: str
    created_at: datetime = utc_column(nullable=False)
    delivered_at: datetime | None = utc_column()
    """When every outside channel the recipient chose (e-mail, SMS) had it; unset while one is pending
    or failed, or when no outside channel is configured."""
    read_at: datetime | None = utc_column()
    """When the recipient marked it read (unread messages are counted for them)."""


class NotificationPreferenceRecord(SQLModel, table=True):
    """How a person wants to be told, set by themselves: in-app always, e-mail and SMS if they choose."""

    __tablename__ = "notification_preferences"
    user_id: str = Field(primary_key=True)
    email: str | None = None
    mobile: str | None = None
    by_email: bool = False
    by_sms: bool = False
    updated_at: datetime = utc_column(nullable=False)


class DeliveryRecord(SQLModel, table=True):
    """One message sent on one outside channel: where to, how many attempts, the last failure, and
    when it was delivered (so a repeated send finds it done and sends nothing twice)."""

    __tablename__ = "notification_deliveries"
    notification_key: str = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    address: str
    attempts: int = 0
    last_error: str | None = None
    last_attempt_at: datetime | None = utc_column()
    delivered_at: datetime | None = utc_column()
    failed_at: datetime | None = utc_column()
    """Set when the attempts ran out; the message then stays undelivered on this channel."""



class FairRecord(SQLModel, table=True):
    __tablename__ = "fairs"
    fair_no: str = Field(primary_key=True)
    title: str
    organizer_jurisdiction: str = Field(index=True)
    phase: str
    revision: int
    updated_at: datetime = utc_column(nullable=False)
    state: dict[str, Any] | None = json_column()


class LotRecord(SQLModel, table=True):
    __tablename__ = "lots"
    lot_no: str = Field(primary_key=True)
    fair_no: str = Field(index=True)
    title: str
    department_id: str = Field(index=True)
    phase: str = Field(index=True)
    revision: int
    updated_at: datetime = utc_column(nullable=False)
    state: dict[str, Any] | None = json_column()


class ShowcaseRecord(SQLModel, table=True):
    """展示公益服务项目: readable by anyone."""

    __tablename__ = "showcase_projects"
    fair_no: str = Field(primary_key=True)
    project_id: str = Field(primary_key=True)
    organization: str
    organization_name: str
    title: str
    summary: str
    beneficiaries: str
    added_at: datetime = utc_column(nullable=False)


class ContractRecord(SQLModel, table=True):
    """A contract's public facts (定期公开): written when a lot is awarded, kept up by the contract process."""

    __tablename__ = "contract_records"
    contract_no: str = Field(primary_key=True)
    lot_no: str | None = Field(default=None, index=True)
    fair_no: str | None = None
    title: str
    buyer_office: str
    buyer_id: str
    supplier: str = Field(index=True)
    supplier_name: str
    amount_fen: int
    duration_months: int
    awarded_at: datetime = utc_column(nullable=False)
    status: str = "awaiting_contract_process"
    version: int = 0
    start_date: date | None = None
    end_date: date | None = None
    paid_fen: int = 0
    committed_fen: int = 0
    withheld_fen: int = 0
    latest_grade: str | None = None
    revision: int = 0
    updated_at: datetime | None = utc_column()
    state: dict[str, Any] | None = json_column()


class LedgerRecord(SQLModel, table=True):
    """专帐: one row per payment of a contract (a tranche or the reward); never two for the same entry,
    and a voucher number on one row only (the database holds that even when two recordings race)."""

    __tablename__ = "ledger"
    __table_args__ = (UniqueConstraint("voucher", name="uq_ledger_voucher"),)
    contract_no: str = Field(primary_key=True)
    entry: str = Field(primary_key=True)
    kind: str
    amount_fen: int
    status: str
    document_id: str
    instructed_at: datetime | None = utc_column()
    withheld_at: datetime | None = utc_column()
    paid_at: datetime | None = utc_column()
    voucher: str | None = None
    voucher_recorded_at: datetime | None = utc_column()
    note: str | None = None


# --- accounts, sign-in and who changed what (not projections: kept by the account service) -----


class AccountRecord(SQLModel, table=True):
    """A person who signs in; ``user_id`` is the directory's id for staff, experts and representatives,
    so every permission rule keyed on it holds for a signed-in user."""

    __tablename__ = "accounts"
    user_id: str = Field(primary_key=True)
    name: str
    password_hash: str | None = None
    disabled: bool = False
    created_by: str
    created_at: datetime = utc_column(nullable=False)
    password_changed_at: datetime | None = utc_column()
    """Failed sign-ins before this time no longer count towards a lock-out (a reset lifts it)."""


class SessionRecord(SQLModel, table=True):
    """A signed-in browser: only the hash of the cookie's key is kept, with its own CSRF token."""

    __tablename__ = "sessions"
    key_hash: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    csrf_token: str
    created_at: datetime = utc_column(nullable=False)
    expires_at: datetime = utc_column(nullable=False)
    last_seen_at: datetime = utc_column(nullable=False)


class ApiTokenRecord(SQLModel, table=True):
    """A bearer token for the CLI or an integration: shown once, kept as its hash, revocable."""

    __tablename__ = "api_tokens"
    token_id: str = Field(primary_key=True)
    key_hash: str = Field(unique=True)
    user_id: str = Field(index=True)
    name: str
    created_by: str
    created_at: datetime = utc_column(nullable=False)
    expires_at: datetime | None = utc_column()
    last_used_at: datetime | None = utc_column()
    revoked_at: datetime | None = utc_column()


class SignInRecord(SQLModel, table=True):
    """Every attempt to sign in, kept for the user's record and to throttle guessing."""

    __tablename__ = "sign_ins"
    __table_args__ = (Index("ix_sign_ins_user_at", "user_id", "at"), Index("ix_sign_ins_client_at", "client", "at"))
    id: int | None = Field(default=None, primary_key=True)
    user_id: str
    at: datetime = utc_column(nullable=False)
    succeeded: bool
    outcome: str
    client: str | None = None


class AccountChangeRecord(SQLModel, table=True):
    """Who changed an account or the directory (roles, posts, jurisdictions), when, and to what."""

    __tablename__ = "account_changes"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_column(nullable=False, index=True)
    by_user_id: str
    user_id: str | None = Field(default=None, index=True)
    action: str
    detail: dict[str, Any] | None = json_column()


# --- 好差评: ratings of the service once a case has ended -----------------------------------------


class RatingRecord(SQLModel, table=True):
    """An applicant's rating of how their ended case was handled, recorded against the office that
    last handled it. Written after the workflow has ended, so no workflow history holds it: a rebuild
    of the read model leaves this table alone."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("case_no", name="uq_ratings_case_no"),)
    id: int | None = Field(default=None, primary_key=True)
    case_no: str
    track: str
    outcome: str = Field(description="the phase the case ended in")
    applicant_id: str
    applicant_name: str
    score: int
    comment: str | None = None
    office_name: str = Field(index=True)
    office_role: str
    jurisdiction: str = Field(index=True)
    jurisdiction_name: str
    jurisdiction_path: str
    """The office's jurisdiction and its ancestors, root first, as ``/YJ/YJ-JG/``: staff see the ratings of
    offices in their jurisdiction and below."""
    rated_at: datetime = utc_column(nullable=False, index=True)


# --- 查阅记录: what auditors looked at ------------------------------------------------------------


class AuditViewRecord(SQLModel, table=True):
    """One look by an auditor (a search, a case's 办理过程, a document checked, a bundle downloaded). Kept
    apart from case histories: viewing never touches a workflow, and a rebuild of the read model leaves this
    table alone."""

    __tablename__ = "audit_views"
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(index=True)
    user_name: str
    viewed_at: datetime = utc_column(nullable=False, index=True)
    page: str = Field(description="what was looked at: search, case, document_check, bundle, views")
    case_no: str | None = Field(default=None, index=True)
    detail: dict[str, Any] | None = json_column()


# --- 孵化: bases, their places and waiting lists, and the incubations ------------------------------


class IncubationBaseRecord(SQLModel, table=True):
    """A base as loaded from the bases file (directory data, not a projection)."""

    __tablename__ = "incubation_bases"
    code: str = Field(primary_key=True)
    name: str
    kind: str
    jurisdiction: str = Field(index=True)
    operator: str = Field(description="the hub organization's register key")
    contract_no: str | None = None
    address: str
    capacity: int
    services: list[str] | None = json_column()
    staff_a: dict[str, Any] | None = json_column()
    staff_b: dict[str, Any] | None = json_column()
    mentors: list[dict[str, Any]] | None = json_column()


class IncubationPlaceRecord(SQLModel, table=True):
    """A place held in a base: the primary key (base, seat) is what makes two admissions unable to take the
    same place, and an incubation holds at most one place anywhere."""

    __tablename__ = "incubation_places"
    base_code: str = Field(primary_key=True)
    seat: int = Field(primary_key=True)
    case_no: str = Field(unique=True)
    held_since: datetime = utc_column(nullable=False)


class IncubationQueueRecord(SQLModel, table=True):
    """The waiting list of a full base: first come first served by the time the base admitted the group
    (``id`` increases with it); an incubation waits in at most one list."""

    __tablename__ = "incubation_queue"
    id: int | None = Field(default=None, primary_key=True)
    base_code: str = Field(index=True)
    case_no: str = Field(unique=True)
    queued_at: datetime = utc_column(nullable=False)


class IncubationRecord(SQLModel, table=True):
    """One group's incubation (projection of its workflow): where, in which phase, how it ended, and the
    filing case it started; the register entry of the organization lists these."""

    __tablename__ = "incubations"
    case_no: str = Field(primary_key=True)
    base_code: str = Field(index=True)
    jurisdiction: str = Field(index=True, description="the base's, for staff of that jurisdiction and above")
    group_name: str
    organization: str | None = Field(default=None, index=True, description="register key once filed or registered")
    representative_id: str = Field(index=True)
    mentor_id: str | None = Field(default=None, index=True)
    phase: str
    revision: int
    filing_case_no: str | None = Field(default=None, index=True)
    admitted_at: datetime | None = utc_column()
    filed_at: datetime | None = utc_column()  # when a filing started from the incubation was approved
    ended_at: datetime | None = utc_column()
    outcome: str | None = Field(default=None, description="graduated / exited / refused")
    updated_at: datetime = utc_column(nullable=False)
    state: dict[str, Any] | None = json_column()


class IncubationFilingRecord(SQLModel, table=True):
    """A filing case started from inside an incubation, so the filing's pages can link back to it (every one,
    also a refused filing the group later filed again)."""

    __tablename__ = "incubation_filings"
    filing_case_no: str = Field(primary_key=True)
    incubation_case_no: str = Field(index=True)
