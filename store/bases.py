"""Incubation bases (孵化基地), loaded from a YAML file like the directory and the register, and the places and
waiting lists that admissions claim.

Why claiming is race-free: a claim or a release first locks its base's row (``exclusive_scope``: SQLite's
write lock, PostgreSQL's ``FOR UPDATE``), so the changes to one base's places and waiting list happen one
after another, whichever worker or workflow asks; the positions it reports are therefore exact. Behind the
lock the schema still guards the rule: a place is a row keyed by (base, seat) with seat in 1…capacity, and
an incubation holds at most one place and waits in at most one list (unique ``case_no``). Freeing a place
and giving it to the head of the waiting list happen in one transaction, so a newcomer never jumps the list.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from pydantic import Field, model_validator
from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from schemas.incubation import IncubationBase
from schemas.text import RequestModel
from store import directory, register
from store.db import exclusive_scope, session_scope
from store.models import IncubationBaseRecord, IncubationPlaceRecord, IncubationQueueRecord


class BasesFile(RequestModel):
    bases: list[IncubationBase] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> BasesFile:
        codes = [b.code for b in self.bases]
        if len(codes) != len(set(codes)):
            raise ValueError("base codes must be unique")
        return self


def read_bases_file(path: Path) -> BasesFile:
    return BasesFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def load_bases(engine: Engine, bases: BasesFile) -> int:
    """Insert or update each base; its operator must be in the register and its jurisdiction in the directory."""
    with session_scope(engine) as session:
        for base in bases.bases:
            if directory.jurisdiction(engine, base.jurisdiction) is None:
                raise ValueError(f"{base.code}：辖区代码 {base.jurisdiction} 不存在")
            if register.organization(engine, base.operator) is None:
                raise ValueError(f"{base.code}：运营机构 {base.operator} 不在社会组织名录中")
            record = session.get(IncubationBaseRecord, base.code) or IncubationBaseRecord(code=base.code)  # type: ignore[call-arg]
            record.sqlmodel_update(
                {
                    **base.model_dump(exclude={"services", "mentors", "kind"}),
                    "kind": base.kind.value,
                    "services": [s.value for s in base.services],
                    "mentors": [m.model_dump() for m in base.mentors],
                }
            )
            session.add(record)
    return len(bases.bases)


def base(engine: Engine, code: str) -> IncubationBase | None:
    with Session(engine) as session:
        record = session.get(IncubationBaseRecord, code)
    return IncubationBase.model_validate(record.model_dump()) if record else None


def bases_in(engine: Engine, jurisdiction_prefix: str) -> list[IncubationBase]:
    """The bases of a district and its streets, headquarters first."""
    with Session(engine) as session:
        records = session.exec(
            select(IncubationBaseRecord).where(col(IncubationBaseRecord.jurisdiction).startswith(jurisdiction_prefix))
        ).all()
    found = [IncubationBase.model_validate(r.model_dump()) for r in records]
    return sorted(found, key=lambda b: (b.kind.value != "headquarters", b.code))


def places_taken(engine: Engine, base_code: str) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).where(IncubationPlaceRecord.base_code == base_code)).one()


def waiting_position(session: Session, case_no: str) -> int | None:
    """1 for the head of its base's waiting list; None if it is not waiting."""
    mine = session.exec(select(IncubationQueueRecord).where(IncubationQueueRecord.case_no == case_no)).first()
    if mine is None:
        return None
    ahead = session.exec(
        select(func.count()).where(
            IncubationQueueRecord.base_code == mine.base_code, col(IncubationQueueRecord.id) < mine.id
        )
    ).one()
    return ahead + 1


def claim_place(engine: Engine, base_code: str, case_no: str, at: datetime) -> int | None:
    """Take a free place for ``case_no`` (or keep the one it holds) and return None; if the base is full (or
    others already wait), join its waiting list and return the position. Repeating it changes nothing."""
    with exclusive_scope(engine) as session:
        capacity = _locked_base(session, base_code).capacity
        if session.exec(select(IncubationPlaceRecord).where(IncubationPlaceRecord.case_no == case_no)).first():
            return None
        if (position := waiting_position(session, case_no)) is not None:
            return position
        seats = set(
            session.exec(select(IncubationPlaceRecord.seat).where(IncubationPlaceRecord.base_code == base_code)).all()
        )
        waiting = session.exec(select(func.count()).where(IncubationQueueRecord.base_code == base_code)).one()
        free = [seat for seat in range(1, capacity + 1) if seat not in seats]
        if free and not waiting:
            session.add(IncubationPlaceRecord(base_code=base_code, seat=free[0], case_no=case_no, held_since=at))
            return None
        session.add(IncubationQueueRecord(base_code=base_code, case_no=case_no, queued_at=at))
        session.flush()
        return waiting_position(session, case_no)


def release_place(engine: Engine, base_code: str, case_no: str, at: datetime) -> str | None:
    """Free the place (or the waiting-list entry) of ``case_no``; a freed place goes, in the same transaction, to
    the head of the base's waiting list, whose case number is returned so its workflow can be told."""
    with exclusive_scope(engine) as session:
        _locked_base(session, base_code)
        session.exec(delete(IncubationQueueRecord).where(col(IncubationQueueRecord.case_no) == case_no))  # type: ignore[call-overload]
        held = session.exec(select(IncubationPlaceRecord).where(IncubationPlaceRecord.case_no == case_no)).first()
        if held is None:
            return None
        session.delete(held)
        session.flush()
        head = session.exec(
            select(IncubationQueueRecord)
            .where(IncubationQueueRecord.base_code == base_code)
            .order_by(col(IncubationQueueRecord.id))
        ).first()
        if head is None:
            return None
        session.delete(head)
        session.add(IncubationPlaceRecord(base_code=base_code, seat=held.seat, case_no=head.case_no, held_since=at))
        return head.case_no


def _locked_base(session: Session, base_code: str) -> IncubationBaseRecord:
    record = session.exec(
        select(IncubationBaseRecord).where(IncubationBaseRecord.code == base_code).with_for_update()
    ).first()
    if record is None:
        raise ValueError(f"孵化基地 {base_code} 不存在")
    return record
