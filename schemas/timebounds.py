"""Dates and times a caller may send: plausible ones only (no fair in year 9999, no plan from 1900).

Two kinds of bound, both checked at the door only (``schemas.text.RequestModel``), so that a
date an earlier release recorded still loads. Models that are also recorded in workflow state (a
fair's schedule, a contract plan) carry a fixed range, ``PlausibleDate``/``PlausibleDatetime``.
Models that are only ever requests also check ``schedule_window``: from one year back to ten years ahead of today, which
covers a fair planned a decade out and a date entered a little late, and nothing else.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from schemas.localtime import SHANGHAI
from schemas.text import at_the_door

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
YEARS_BACK = 1
YEARS_AHEAD = 10


def _plausible_date(value: date) -> date:
    if at_the_door() and not EARLIEST <= value <= LATEST:
        raise ValueError(f"日期 {value.isoformat()} 不在合理范围内，应在 {EARLIEST.isoformat()} 至 {LATEST.isoformat()} 之间")
    return value


def _local_day(value: datetime) -> date:
    """The Shanghai date of ``value``; at the ends of the calendar (year 1 or 9999) its own date."""
    try:
        return value.astimezone(SHANGHAI).date()
    except OverflowError:
        return value.date()


def _plausible_datetime(value: datetime) -> datetime:
    _plausible_date(_local_day(value))
    return value


_RANGE = f"须在 {EARLIEST.isoformat()} 至 {LATEST.isoformat()} 之间"
PlausibleDate = Annotated[date, AfterValidator(_plausible_date), Field(description=_RANGE)]
PlausibleDatetime = Annotated[AwareDatetime, AfterValidator(_plausible_datetime), Field(description=_RANGE + "，须带时区")]
WINDOW = f"新安排的日期须在今天前{YEARS_BACK}年至今后{YEARS_AHEAD}年之间"


def schedule_window(today: date | None = None) -> tuple[date, date]:
    """The dates a new schedule may use: one year back to ten years ahead of today (Asia/Shanghai)."""
    today = today or datetime.now(UTC).astimezone(SHANGHAI).date()
    return today - timedelta(days=365 * YEARS_BACK), today.replace(year=today.year + YEARS_AHEAD, day=min(today.day, 28))


def check_schedule_date(title: str, value: date | datetime) -> None:
    """Refuse a date outside ``schedule_window``, naming the field and the window."""
    day = _local_day(value) if isinstance(value, datetime) else value
    first, last = schedule_window()
    if not first <= day <= last:
        raise ValueError(f"{title}（{day.isoformat()}）应在 {first.isoformat()} 至 {last.isoformat()} 之间")
