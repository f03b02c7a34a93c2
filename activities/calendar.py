"""Temporal activities that turn working-day limits into deadlines with the best calendar known.

Per year the precedence is: the official calendar an administrator loaded, then chinesecalendar
(official data for 2004–2026), then the ``holidays`` package's rule-based estimate. The result
depends only on the database content, the library versions and the input — never on the clock.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import holidays
from sqlalchemy.engine import Engine
from temporalio import activity

from rules.workdays import Calendar, YearCalendar, deadline, working_days_between
from schemas.calendar import CalendarSource, CalendarSourceKind, Deadline, DeadlineRequest, WorkingDaysRequest
from schemas.localtime import local_date
from store.calendars import loaded_calendars
from store.models import CalendarDayRecord, CalendarYearRecord

CHINESE_HOLIDAY_NAMES = {
    chinese_calendar.Holiday.new_years_day.value: "元旦",
    chinese_calendar.Holiday.spring_festival.value: "春节",
    chinese_calendar.Holiday.tomb_sweeping_day.value: "清明节",
    chinese_calendar.Holiday.labour_day.value: "劳动节",
    chinese_calendar.Holiday.dragon_boat_festival.value: "端午节",
    chinese_calendar.Holiday.mid_autumn_festival.value: "中秋节",
    chinese_calendar.Holiday.national_day.value: "国庆节",
    chinese_calendar.Holiday.anti_fascist_70th_day.value: "抗战胜利70周年纪念日",
}


def _days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def _loaded_year(record: CalendarYearRecord, days: list[CalendarDayRecord]) -> YearCalendar:
    return YearCalendar(
        source=CalendarSource(
            year=record.year,
            kind=CalendarSourceKind.official_loaded,
            title=f"{record.title}（管理员导入）",
            version=f"{record.sha256[:12]} {local_date(record.loaded_at)}",
            provisional=False,
        ),
        days_off={day.day: day.name for day in days if not day.workday},
        makeup_workdays=frozenset(day.day for day in days if day.workday),
    )


def _chinesecalendar_year(year: int) -> YearCalendar:
    """Raises NotImplementedError (from the library) for years it has no official data for."""
    details = {day: chinese_calendar.get_holiday_detail(day) for day in _days_of(year)}
    return YearCalendar(
        source=CalendarSource(
            year=year,
            kind=CalendarSourceKind.chinesecalendar,
            title=f"国务院办公厅{year}年部分节假日安排（chinesecalendar 收录）",
            version=f"chinesecalendar {chinese_calendar.__version__}",
            provisional=False,
        ),
        days_off={
            day: CHINESE_HOLIDAY_NAMES.get(name, name) for day, (off, name) in details.items() if off and name
        },
        makeup_workdays=frozenset(day for day, (off, _) in details.items() if not off and day.weekday() >= 5),
    )


def _rule_based_year(year: int) -> YearCalendar:
    """Statutory holidays by rule: the official 调休 of a year is only known once it is published.
    Whatever weekend workdays the package does know are kept, to match its own in-lieu days off."""
    estimate = holidays.China(years=year, language="zh_CN")
    return YearCalendar(
        source=CalendarSource(
            year=year,
            kind=CalendarSourceKind.rule_based,
            title=(
                f"{year}年节假日按规则估算（holidays 库），缺少国务院办公厅公布的调休上班日；"
                "请管理员导入正式安排：shezu calendar load FILE"
            ),
            version=f"holidays {holidays.__version__}",
            provisional=True,
        ),
        days_off=dict(estimate),
        makeup_workdays=frozenset(day for day in estimate.weekend_workdays if day.year == year),
    )


@lru_cache(maxsize=32)
def _library_year(year: int) -> YearCalendar:
    """Cached: a library year depends only on the year and the installed library versions."""
    try:
        return _chinesecalendar_year(year)
    except NotImplementedError:
        return _rule_based_year(year)


def working_calendar(engine: Engine, years: range) -> Calendar:
    """The working calendar of ``years``, as deadlines are counted: one database read for the loaded
    years among them; libraries fill in the rest. The inbox uses it too, to count the working days left."""
    loaded = loaded_calendars(engine, years)
    return Calendar(_loaded_year(*loaded[year]) if year in loaded else _library_year(year) for year in years)


class CalendarActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _calendar(self, years: range) -> Calendar:
        return working_calendar(self._engine, years)

    @activity.defn(name="compute_deadline")
    async def compute_deadline(self, request: DeadlineRequest) -> Deadline:
        start_day = local_date(request.start)
        # N working days never take more than 2N + 31 calendar days: a Chinese year has ~250
        # working days and its longest run of days off is about 9, so the years up to there suffice.
        horizon = start_day + timedelta(days=2 * request.working_days + 31)
        calendar = await asyncio.to_thread(self._calendar, range(start_day.year, horizon.year + 1))
        return deadline(request, calendar)

    @activity.defn(name="count_working_days")
    async def count_working_days(self, request: WorkingDaysRequest) -> int:
        years = range(local_date(request.start).year, local_date(request.end).year + 1)
        calendar = await asyncio.to_thread(self._calendar, years)
        return working_days_between(request.start, request.end, calendar)
