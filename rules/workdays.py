"""Working-day arithmetic for statutory time limits (限时办结).

Pure and deterministic: every fact about a day comes from a ``DayClassifier``, so the same
input and calendar always give the same deadline, as a Temporal workflow replay requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from schemas.calendar import CalendarSource, Deadline, DeadlineRequest, NonWorkingDay, WorkingDaysRequest
from schemas.localtime import SHANGHAI, local_date

ONE_DAY = timedelta(days=1)
REMINDER_TIME = time(9, 0)  # staff read reminders at the start of the office day


@dataclass(frozen=True)
class DayKind:
    """Whether a day is worked; ``holiday`` names an official day off (None on ordinary weekends)."""

    workday: bool
    holiday: str | None = None


class DayClassifier(Protocol):
    """Classifies days and says which calendar decided each year, so a deadline can cite it."""

    def day(self, day: date) -> DayKind: ...

    def source(self, year: int) -> CalendarSource: ...


@dataclass(frozen=True)
class YearCalendar:
    """One year's exceptions to the Monday–Friday week, and the calendar that declared them."""

    source: CalendarSource
    days_off: Mapping[date, str]  # official days off with their names, weekends inside holidays too
    makeup_workdays: frozenset[date] = frozenset()  # 调休: Saturdays/Sundays that are worked


class Calendar:
    """A ``DayClassifier`` over whole years; asking about any other year is an error, never a guess."""

    def __init__(self, years: Iterable[YearCalendar]) -> None:
        self._years = {year.source.year: year for year in years}

    def _year(self, year: int) -> YearCalendar:
        try:
            return self._years[year]
        except KeyError:
            raise LookupError(f"没有{year}年的日历") from None

    def day(self, day: date) -> DayKind:
        year = self._year(day.year)
        if day in year.days_off:
            return DayKind(workday=False, holiday=year.days_off[day])
        return DayKind(workday=day in year.makeup_workdays or day.weekday() < 5)

    def source(self, year: int) -> CalendarSource:
        return self._year(year).source


def _at(day: date, clock: time) -> datetime:
    """A Shanghai wall-clock moment as aware UTC, the way times are stored."""
    return datetime.combine(day, clock, SHANGHAI).astimezone(UTC)


def deadline(request: DeadlineRequest, calendar: DayClassifier) -> Deadline:
    """The end of the N-th working day after the start day; the start day itself is not counted
    (行政许可法：期限开始之日不计算在内), and the time of day of ``start`` does not matter."""
    start_day = local_date(request.start)
    passed: list[tuple[date, DayKind]] = []
    due_date, counted = start_day, 0
    while counted < request.working_days:
        due_date += ONE_DAY
        kind = calendar.day(due_date)
        passed.append((due_date, kind))
        counted += kind.workday
    workdays = [day for day, kind in passed if kind.workday]

    k = request.reminder_working_days_before
    # k = 1 reminds on the morning of the due date; the reminder day is always after the start day.
    remind_at = _at(workdays[-k], REMINDER_TIME) if 1 <= k <= request.working_days else None

    return Deadline(
        start=request.start,
        working_days=request.working_days,
        due_date=due_date,
        due_at=_at(due_date + ONE_DAY, time(0, 0)),
        remind_at=remind_at,
        sources=[calendar.source(year) for year in range(start_day.year, due_date.year + 1)],
        holidays_skipped=[
            NonWorkingDay(day=day, name=kind.holiday) for day, kind in passed if kind.holiday and not kind.workday
        ],
        makeup_workdays_counted=[day for day in workdays if day.weekday() >= 5],
    )


def working_days_between(start: datetime, end: datetime, calendar: DayClassifier) -> int:
    """Working days after the start day up to and including the end day (local dates), counted the
    same way as ``deadline`` so that elapsed time and remaining time agree."""
    first, last = local_date(start), local_date(end)
    return sum(calendar.day(first + n * ONE_DAY).workday for n in range(1, (last - first).days + 1))


def working_days_left(now: datetime, due_date: date, calendar: DayClassifier) -> int:
    """Working days after today up to and including the due date (0 on the due date itself), counted
    like ``working_days_between``, so a task of N working days starts with N left."""
    if due_date <= local_date(now):
        return 0
    return working_days_between(now, _at(due_date, time(12, 0)), calendar)


# --- pausing the legal clock (补正, 公示 不计入办理时限) ---------------------------------------
# The days a clock consumes are the working days after the day it started on which it ran at some
# moment: a pause excludes exactly the working days that lie wholly inside it. So a pause that starts
# and ends on one day changes nothing, and a pause ending at midnight gives the next day back whole.


def _pause_begins(paused_at: datetime, started: datetime) -> datetime:
    """When a pause begins, for counting: one at midnight begins in effect at the end of the day before,
    since the clock did not run on the new day (unless the clock itself started that midnight)."""
    if paused_at == _at(local_date(paused_at), time(0, 0)) and local_date(paused_at) > local_date(started):
        return paused_at - timedelta(microseconds=1)
    return paused_at


def days_left_at_pause(paused_at: datetime, due: Deadline) -> WorkingDaysRequest:
    """What a pause leaves to run: the working days after the pause day up to and including the due
    date (the pause day itself has been used; none is left once the due date is reached)."""
    return WorkingDaysRequest(start=_pause_begins(paused_at, due.start), end=_at(due.due_date, time(0, 0)))


def deadline_at_resume(paused_at: datetime, resumed_at: datetime, working_days_left: int, started: datetime) -> DeadlineRequest:
    """The deadline once the clock runs again: the resume day counts (the clock runs on it) unless it
    is the pause day, which was counted already. ``started`` is when the paused deadline was counted from."""
    resumed_on = local_date(resumed_at)
    if resumed_on == local_date(_pause_begins(paused_at, started)):
        start = resumed_at
    else:
        start = _at(resumed_on, time(0, 0)) - timedelta(microseconds=1)  # count from the resume day on
    return DeadlineRequest(start=start, working_days=working_days_left)
