"""Money is integer fen (分); this is the one place that turns it into text."""

from __future__ import annotations


def yuan(fen: int) -> str:
    """``123456`` → ``"1,234.56元"``, exactly; a float is refused rather than rounded."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"amount must be integer fen, got {fen!r}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}元"
