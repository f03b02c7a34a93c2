"""发文字号: ``<机关代字><文种代字>〔<year>〕<n>号`` in one consecutive series per issuing office, kind and year.

A number belongs to a document id: asking again for the same document (a retried render) gives the
number it already has, and concurrent documents get distinct consecutive numbers (the unique
``(series, seq)`` makes the loser of a race take the next one).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from store.models import DocumentNumberRecord

ATTEMPTS = 50


def allocate(engine: Engine, document_id: str, series: str, prefix: str, year: int, now: datetime) -> str:
    """The document's 发文字号, allocating the next in ``series`` the first time it is asked for."""
    for _ in range(ATTEMPTS):
        with Session(engine) as session:
            if existing := session.get(DocumentNumberRecord, document_id):
                return existing.number
            last = session.exec(select(func.max(DocumentNumberRecord.seq)).where(DocumentNumberRecord.series == series)).one()
            seq = (last or 0) + 1
            number = f"{prefix}〔{year}〕{seq}号"
            session.add(DocumentNumberRecord(document_id=document_id, series=series, seq=seq, number=number, allocated_at=now))
            try:
                session.commit()
                return number
            except IntegrityError:
                session.rollback()  # a concurrent render took this number, or this document's render won elsewhere
    raise RuntimeError(f"could not allocate a document number in {series}")
