"""Verification codes (验证码) of 电子证照: 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L),
about 59 random bits, so a code can be read aloud or typed from paper and cannot be guessed.

A code belongs to a document id, like its 发文字号: a retried render gets the code it already has, so
the document's text (and hash) stays the same.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from store.models import VerificationCodeRecord

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 12
ATTEMPTS = 20
_SHAPE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")


def grouped(code: str) -> str:
    """``ABCD-EFGH-JKMN``: how a code is printed, in groups of four."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalized(typed: str) -> str | None:
    """The code a visitor typed, without spaces, dashes or case; None when it cannot be a code at all."""
    code = re.sub(r"[\s\-‐－—]", "", typed[:40]).upper()
    return code if _SHAPE.fullmatch(code) else None


def allocate(engine: Engine, document_id: str, now: datetime, **facts: Any) -> str:
    """The document's code, allocating a fresh random one (kept with the document's public ``facts``) the first time."""
    for _ in range(ATTEMPTS):
        with Session(engine) as session:
            if existing := session.get(VerificationCodeRecord, document_id):
                return existing.code
            code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
            fresh = VerificationCodeRecord(document_id=document_id, code=code, allocated_at=now, **facts)
            session.add(fresh)
            try:
                session.commit()
                return fresh.code
            except IntegrityError:
                session.rollback()  # a code already taken (vanishingly rare), or this document's render won elsewhere
    raise RuntimeError(f"could not allocate a verification code for {document_id}")


def find(engine: Engine, code: str) -> VerificationCodeRecord | None:
    with Session(engine) as session:
        return session.exec(select(VerificationCodeRecord).where(VerificationCodeRecord.code == code)).first()
