"""Case numbers: human-readable business keys, ``<jurisdiction>-<track>-<year>-<sequence>``.

The allocation row also holds an "open key" (district + organization name) while the case is
open, so a second submission for the same organization is refused with the first case's number.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from schemas.text import name_key
from store.models import CaseNumberRecord


class DuplicateOpenCase(Exception):
    def __init__(self, case_no: str) -> None:
        super().__init__(case_no)
        self.case_no = case_no


def open_case_key(district: str, organization_name: str) -> str:
    """The guard's key: look-alike names (``schemas.text.name_key``) share one open case."""
    return f"{district}:{name_key(organization_name)}"


def open_case_for(engine: Engine, open_key: str) -> str | None:
    with Session(engine) as session:
        record = session.exec(select(CaseNumberRecord).where(CaseNumberRecord.open_key == open_key)).first()
        return record.case_no if record else None


def allocate(engine: Engine, series: str, open_key: str | None, now: datetime) -> str:
    """Next number in ``series``; raises DuplicateOpenCase if the organization already has an open case."""
    for _ in range(20):
        if open_key and (existing := open_case_for(engine, open_key)):
            raise DuplicateOpenCase(existing)
        with Session(engine) as session:
            last = session.exec(select(func.max(CaseNumberRecord.seq)).where(CaseNumberRecord.series == series)).one()
            seq = (last or 0) + 1
            case_no = f"{series}-{seq:05d}"
            session.add(CaseNumberRecord(case_no=case_no, series=series, seq=seq, open_key=open_key, allocated_at=now))
            try:
                session.commit()
                return case_no
            except IntegrityError:
                session.rollback()  # a concurrent submission took this number or this organization
    raise RuntimeError(f"could not allocate a case number in {series}")


def release(engine: Engine, case_no: str) -> None:
    """Forget a number whose workflow never started (so the organization may submit again)."""
    with Session(engine) as session:
        record = session.get(CaseNumberRecord, case_no)
        if record:
            record.open_key = None
            session.add(record)
            session.commit()


def record_case(session: Session, case_no: str, open_key: str | None, allocated_at: datetime) -> None:
    """Keep the allocation in step with the case (used by projection and by a rebuild)."""
    record = session.get(CaseNumberRecord, case_no)
    if record is None:
        series, seq = case_no.rsplit("-", 1)
        record = CaseNumberRecord(case_no=case_no, series=series, seq=int(seq), allocated_at=allocated_at)
    record.open_key = open_key
    session.add(record)
