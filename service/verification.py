"""电子证照 verification for anyone, without signing in: a code printed on a certificate, award notice or
contract shows who issued the document to whom, its dates and whether it still stands, and a file can be
checked against the SHA-256 recorded when the document was issued.

Only what the document itself shows is shown. A code is found only once its document has been issued
(recorded in ``documents``). Lookups of codes that do not exist are recorded like failed sign-ins, and an
address that keeps guessing must wait as one that keeps failing to sign in does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from schemas.documents import DocumentKind
from schemas.localtime import date_in_words, local_date
from service.accounts import LOCK_MINUTES
from service.common import ServiceError
from store import verification_codes
from store.files import ATTACHMENT_LIMIT
from store.models import ContractRecord, DocumentRecord, OrganizationRecord, SignInRecord, VerificationCodeRecord

UNKNOWN_CODES_BEFORE_THROTTLE = 20
"""Codes not found from one address within ``LOCK_MINUTES`` before it must wait: plenty for typing mistakes,
nothing against 31¹² codes."""
NOT_FOUND = "verify_not_found"
"""How a lookup of a code that does not exist is recorded among the sign-in attempts (no user)."""


class Standing(StrEnum):
    valid = "valid"
    expired = "expired"
    revoked = "revoked"
    superseded = "superseded"

    @property
    def label(self) -> str:
        return {"valid": "有效", "expired": "已过期", "revoked": "已失效", "superseded": "已被取代"}[self.value]


class VerificationView(BaseModel):
    """What the verification page and ``GET /api/verify/{code}`` show of a document."""

    code: str = Field(description="验证码，四位一组")
    kind: DocumentKind
    title: str = Field(description="文书名称")
    issuer_name: str = Field(description="发文机关")
    reference: str = Field(description="发文字号（合同为合同编号）")
    holder: str = Field(description="持证或受文的组织")
    issued_at: AwareDatetime = Field(description="发文日期")
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = Field(default=None, description="有效期至（证书）")
    standing: Standing
    standing_label: str = Field(description="有效、已过期、已失效或已被取代")
    standing_reason: str = Field(description="为什么是这个状态，用一句话说明")


class FileCheck(BaseModel):
    """Whether an uploaded file is, byte for byte, the document as issued (its PDF or its HTML)."""

    matches: bool
    verdict: str = Field(description="一致或不一致")
    sha256: str = Field(description="上传文件的 SHA-256")
    recorded_sha256: str = Field(description="签发时记录的 PDF 文件 SHA-256")


class VerificationService:
    def __init__(self, engine: Engine, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self.now = now

    def verify(self, typed: str, client: str | None) -> VerificationView:
        record, document = self._issued(typed, client)
        standing, reason = self._standing(record, document)
        return VerificationView(
            code=verification_codes.grouped(record.code),
            kind=DocumentKind(record.kind),
            title=record.title,
            issuer_name=record.issuer_name,
            reference=record.reference,
            holder=record.holder,
            issued_at=document.issued_at,
            valid_from=record.valid_from,
            valid_until=record.valid_until,
            standing=standing,
            standing_label=standing.label,
            standing_reason=reason,
        )

    def check_file(self, typed: str, content: Iterable[bytes], client: str | None) -> FileCheck:
        """The upload's SHA-256 against the issued document's PDF (or stored HTML), read as it arrives up to 20 MB."""
        _, document = self._issued(typed, client)
        digest, size = hashlib.sha256(), 0
        for chunk in content:
            size += len(chunk)
            if size > ATTACHMENT_LIMIT:
                raise ServiceError("too_large", "文件不能超过 20MB；请上传从本系统下载或收到的原始 PDF 文件")
            digest.update(chunk)
        if not size:
            raise ServiceError("invalid", "没有收到文件，请选择要核对的文件后再提交")
        sha256 = digest.hexdigest()
        matches = sha256 in (document.pdf_sha256, document.html_sha256)
        return FileCheck(
            matches=matches, verdict="一致" if matches else "不一致", sha256=sha256, recorded_sha256=document.pdf_sha256
        )

    def _issued(self, typed: str, client: str | None) -> tuple[VerificationCodeRecord, DocumentRecord]:
        """The code's record and its issued document; an unknown code counts against the caller's address."""
        now = self.now()
        with Session(self.engine) as db:
            if client:
                since = now - timedelta(minutes=LOCK_MINUTES)
                guesses = db.exec(
                    select(func.count())
                    .select_from(SignInRecord)
                    .where(SignInRecord.client == client, SignInRecord.at > since, SignInRecord.outcome == NOT_FOUND)
                ).one()
                if guesses >= UNKNOWN_CODES_BEFORE_THROTTLE:
                    raise ServiceError("too_many", f"此网络地址查询不存在的验证码次数过多，请{LOCK_MINUTES}分钟后再试")
            code = verification_codes.normalized(typed)
            record = verification_codes.find(self.engine, code) if code else None
            document = db.get(DocumentRecord, record.document_id) if record else None
            if record and document:
                return record, document
            db.add(SignInRecord(user_id="", at=now, succeeded=False, outcome=NOT_FOUND, client=client))
            db.commit()
        raise ServiceError(
            "not_found",
            "未找到这个验证码对应的文件。验证码是 12 位字母和数字（不含 0、1、I、L、O），请对照文件上的验证码重新输入；"
            "仍未找到的，该文件不是本系统签发的，请向发文机关核实",
        )

    def _standing(self, record: VerificationCodeRecord, document: DocumentRecord) -> tuple[Standing, str]:
        """Revoked (the register's 撤销, a terminated contract) comes first, then superseded (a later document of
        the same kind in the case: the contract text both parties signed, the lot's award passed to another
        bid), then expired; otherwise valid."""
        with Session(self.engine) as db:
            later = db.exec(
                select(DocumentRecord)
                .where(
                    DocumentRecord.case_no == document.case_no,
                    DocumentRecord.kind == document.kind,
                    col(DocumentRecord.issued_at) > document.issued_at,
                )
                .order_by(col(DocumentRecord.issued_at).desc())
            ).first()
            organization = (
                db.get(OrganizationRecord, document.case_no) if record.kind == DocumentKind.certificate else None
            )
            contract = db.get(ContractRecord, document.case_no) if record.kind == DocumentKind.contract else None
        if organization and organization.standing == "lost":
            return Standing.revoked, "该组织的备案（登记）已被撤销，本证明不再有效"
        if contract and contract.status == "terminated":
            return Standing.revoked, "该合同已终止"
        if later and record.kind == DocumentKind.award_notice:
            return Standing.superseded, f"本项目已于{_day(later.issued_at)}另行发出成交通知书，本通知书不再有效"
        if later:
            return Standing.superseded, f"已于{_day(later.issued_at)}重新签发（{later.title}），请以新签发的文本为准"
        if record.valid_until and self.now() > record.valid_until:
            return Standing.expired, f"有效期已于{_day(record.valid_until)}届满"
        return Standing.valid, "该文件由发文机关签发，现行有效"


def _day(moment: datetime) -> str:
    return date_in_words(local_date(moment))
