"""The register of social organizations (社会组织名录): kept up by approved filings and
registrations, plus organizations registered before this system, imported by an administrator."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from schemas.application import Track
from schemas.contracts import BankAccount, IncubatedOrganization, IncubationMeasure, PerformanceRecord
from schemas.documents import DocumentKind, DocumentRef
from schemas.incubation import IncubationHistory
from schemas.localtime import SHANGHAI, local_date
from schemas.procurement import GRADE_PATTERN, OrganizationFacts
from schemas.text import RequestModel, SingleLine, name_key
from store import directory
from store.db import session_scope
from store.models import IncubationBaseRecord, IncubationRecord, OrganizationRecord


class RegisterEntry(BaseModel):
    key: SingleLine = Field(min_length=1, max_length=64, description="登记证书号或备案案号")
    name: SingleLine = Field(min_length=2, max_length=60)
    track: Track
    community: str
    certificate_number: str
    approved_on: date
    valid_until: date | None = None
    standing: Literal["good", "lost"] = "good"
    grade: str | None = Field(default=None, pattern=GRADE_PATTERN)
    barred_until_year: int | None = None
    representative_id: str = Field(min_length=1, max_length=64)
    representative_name: SingleLine = Field(min_length=1, max_length=50)
    account: BankAccount | None = Field(default=None, description="收款账户: where purchase-of-service payments go")


class RegisterFile(RequestModel):
    organizations: list[RegisterEntry]


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI)


def read_register_file(path: Path) -> RegisterFile:
    return RegisterFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def load_register(engine: Engine, register: RegisterFile) -> int:
    """Insert or update each organization; organizations not in the file are left as they are."""
    with session_scope(engine) as session:
        for entry in register.organizations:
            place = directory.locality(engine, entry.community)
            if place is None:
                raise ValueError(f"{entry.key}：社区代码 {entry.community} 不存在")
            record = session.get(OrganizationRecord, entry.key) or OrganizationRecord(case_no=entry.key)  # type: ignore[call-arg]
            record.sqlmodel_update(
                {
                    "name": entry.name,
                    "name_key": name_key(entry.name),
                    "track": entry.track.value,
                    "community": entry.community,
                    "authority_jurisdiction": place.chain[-1].code,
                    "certificate_number": entry.certificate_number,
                    "approved_at": _local_midnight(entry.approved_on),
                    "valid_until": _local_midnight(entry.valid_until) if entry.valid_until else None,
                    "standing": entry.standing,
                    "grade": entry.grade,
                    "barred_until_year": entry.barred_until_year,
                    "representative_id": entry.representative_id,
                    "representative_name": entry.representative_name,
                    "bank": entry.account.bank if entry.account else None,
                    "account_name": entry.account.account_name if entry.account else None,
                    "account_number": entry.account.number if entry.account else None,
                }
            )
            session.add(record)
    return len(register.organizations)


def register_is_empty(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(OrganizationRecord).limit(1)).first() is None


def organization(engine: Engine, key: str) -> OrganizationRecord | None:
    with Session(engine) as session:
        return session.get(OrganizationRecord, key)


def account(engine: Engine, key: str) -> BankAccount | None:
    """The organization's receiving account, if the register holds one."""
    record = organization(engine, key)
    if record is None or not (record.bank and record.account_name and record.account_number):
        return None
    return BankAccount(bank=record.bank, account_name=record.account_name, number=record.account_number)


USCC = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")
"""统一社会信用代码 (GB 32100-2015): a registered organization's certificate carries it; a filing's record
number (备案) is not one."""


def credit_codes(engine: Engine) -> dict[str, str]:
    """Register key → 统一社会信用代码, for every organization whose certificate number is one."""
    with Session(engine) as session:
        records = session.exec(select(OrganizationRecord)).all()
    return {r.case_no: r.certificate_number for r in records if USCC.fullmatch(r.certificate_number)}


def represented_by(engine: Engine, user_id: str) -> list[OrganizationRecord]:
    """The organizations a user is the registered representative of."""
    with Session(engine) as session:
        query = select(OrganizationRecord).where(OrganizationRecord.representative_id == user_id)
        return list(session.exec(query.order_by(OrganizationRecord.case_no)))


def facts(engine: Engine, key: str) -> OrganizationFacts | None:
    """What screening needs to know about one organization."""
    record = organization(engine, key)
    if record is None:
        return None
    place = directory.locality(engine, record.community)
    return OrganizationFacts(
        key=record.case_no,
        name=record.name,
        track=record.track,
        community_full_name=place.community.full_name if place else record.community,
        jurisdiction_chain=[j.code for j in place.chain] if place else [record.community],
        valid_until=record.valid_until,
        standing=record.standing,
        grade=record.grade,
        barred_until_year=record.barred_until_year,
        performance_grade=record.performance_grade,
        performance_year=record.performance_year,
        incubations=incubation_history(engine, key),
    )


CERTIFICATE_KIND = DocumentKind.graduation_certificate
"""The 出壳证书's document kind, whose number the register entry cites."""


def incubation_history(engine: Engine, key: str) -> list[IncubationHistory]:
    """The organization's incubations from their projection (so a read-model rebuild keeps them), oldest first:
    only those it was admitted to; an application refused or still waiting is no part of its record."""
    with Session(engine) as session:
        query = (
            select(IncubationRecord, IncubationBaseRecord)
            .join(IncubationBaseRecord, IncubationBaseRecord.code == IncubationRecord.base_code)  # type: ignore[arg-type]
            .where(IncubationRecord.organization == key, IncubationRecord.admitted_at.is_not(None))  # type: ignore[union-attr]
            .order_by(IncubationRecord.admitted_at)  # type: ignore[arg-type]
        )
        rows = session.exec(query).all()
    history = []
    for record, base in rows:
        state = record.state or {}
        certificate = next((d for d in state.get("documents", []) if d.get("kind") == CERTIFICATE_KIND), None)
        history.append(
            IncubationHistory(
                case_no=record.case_no,
                base_code=record.base_code,
                base_name=base.name,
                admitted_at=record.admitted_at,
                filing_case_no=record.filing_case_no,
                filed_at=record.filed_at,
                outcome=record.outcome if record.outcome in ("graduated", "exited") else None,
                ended_at=record.ended_at,
                certificate_number=DocumentRef.model_validate(certificate).reference if certificate else None,
                reasons=state.get("reasons", []) if record.outcome == "exited" else [],
            )
        )
    return history


def incubation_outcomes(engine: Engine, measure: IncubationMeasure, bases: list[str], start: date, end: date) -> list[IncubatedOrganization]:
    """The incubations of ``bases`` that reached ``measure`` (admitted, filed or registered, graduated) on a
    day from ``start`` to ``end``, both included, in the order they reached it: what a hub's contract counts."""
    with Session(engine) as session:
        records = session.exec(select(IncubationRecord).where(col(IncubationRecord.base_code).in_(bases))).all()
    reached = []
    for record in records:
        moment = {
            "admitted": record.admitted_at,
            "filed": record.filed_at,
            "graduated": record.ended_at if record.outcome == "graduated" else None,
        }[measure]
        if moment is not None and start <= local_date(moment) <= end:
            reached.append((moment, record))
    return [
        IncubatedOrganization(
            case_no=r.case_no, name=r.group_name, organization=r.organization, base_code=r.base_code, on=local_date(moment)
        )
        for moment, r in sorted(reached, key=lambda pair: (pair[0], pair[1].case_no))
    ]


def record_performance(engine: Engine, performance: PerformanceRecord) -> None:
    """A contract's grade (later fairs' experts see it for 信誉与业绩) and a bar after a failed
    rectification: no fairs up to and including its year, never shortened by a later record."""
    with session_scope(engine) as session:
        record = session.get(OrganizationRecord, performance.organization)
        if record is None:
            raise ValueError(f"社会组织 {performance.organization} 不在名录中")
        if performance.grade:
            record.performance_grade, record.performance_year = performance.grade, performance.year
        if performance.barred_until_year:
            record.barred_until_year = max(performance.barred_until_year, record.barred_until_year or 0)
        session.add(record)


def representatives(engine: Engine) -> dict[str, str]:
    """Every registered representative's user id and name."""
    with Session(engine) as session:
        query = select(OrganizationRecord).where(OrganizationRecord.representative_id != "")
        return {r.representative_id: r.representative_name for r in session.exec(query)}
