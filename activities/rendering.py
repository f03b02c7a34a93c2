"""The one Jinja2 environment for every text the product shows: documents now, notifications later.

Templates live under ``templates/``; HTML is autoescaped because names and reasons come from
applicants, plain-text templates (messages) are not. Undefined variables fail loudly so a missing
fact never prints as an empty gap or "None" in an official document.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from schemas.localtime import SHANGHAI
from schemas.money import yuan
from schemas.procurement import score_text
from settings import PROJECT_ROOT

TEMPLATES_DIR = PROJECT_ROOT / "templates"


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: times must be timezone-aware")
    return moment.astimezone(SHANGHAI)


def cn_date(value: date | datetime) -> str:
    """``2026年11月21日``; a datetime is first converted to Shanghai time, so a UTC evening is the next day."""
    day = _local(value).date() if isinstance(value, datetime) else value
    return f"{day.year}年{day.month}月{day.day}日"


def cn_datetime(value: datetime) -> str:
    """``2026年11月21日 14时05分`` in Shanghai time."""
    moment = _local(value)
    return f"{cn_date(moment)} {moment.hour}时{moment.minute:02d}分"


def iso_datetime(value: datetime) -> str:
    """W3C date-time in Shanghai time, e.g. for PDF metadata (``<meta name="dcterms.created">``)."""
    return _local(value).isoformat(timespec="seconds")


FILTERS = {
    "cn_date": cn_date,
    "cn_datetime": cn_datetime,
    "iso_datetime": iso_datetime,
    "yuan": yuan,
    "score": score_text,
}


@cache
def environment() -> Environment:
    """The shared environment; building it once keeps the template cache warm across renders."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env
