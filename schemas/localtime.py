"""Times are stored in UTC and shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def date_in_words(day: date) -> str:
    """``2026年12月10日``, as issued documents write a date (never ISO)."""
    return f"{day.year}年{day.month}月{day.day}日"


def local_text(moment: datetime | None) -> str:
    """``2026-11-21 14:05`` in Shanghai time, the way staff read a time on screen."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""
