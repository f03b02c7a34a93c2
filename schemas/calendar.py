"""Working-day deadlines (限时办结) and the calendars that decided them."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field, StringConstraints

from schemas.text import RequestModel, SingleLine, single_line

HolidayName = Annotated[str, StringConstraints(min_length=1, max_length=20), BeforeValidator(single_line)]


class CalendarSourceKind(StrEnum):
    official_loaded = "official_loaded"
    chinesecalendar = "chinesecalendar"
    rule_based = "rule_based"


class CalendarSource(BaseModel):
    """Which calendar classified the days of one year, and whether it is provisional."""

    year: int
    kind: CalendarSourceKind
    title: str
    version: str
    provisional: bool = Field(description="true when official make-up workdays (调休) are not known")


class NonWorkingDay(BaseModel):
    day: date
    name: str


class DeadlineRequest(BaseModel):
    start: AwareDatetime
    working_days: int = Field(ge=0, le=400)
    reminder_working_days_before: int = Field(default=0, ge=0)


class Deadline(BaseModel):
    """The end of the ``working_days``-th working day after ``start`` (the start day is not counted)."""

    start: AwareDatetime
    working_days: int
    due_date: date
    due_at: AwareDatetime
    remind_at: AwareDatetime | None = None
    sources: list[CalendarSource]
    holidays_skipped: list[NonWorkingDay] = Field(default_factory=list)
    makeup_workdays_counted: list[date] = Field(default_factory=list)

    @property
    def provisional(self) -> bool:
        return any(s.provisional for s in self.sources)


class WorkingDaysRequest(BaseModel):
    start: AwareDatetime
    end: AwareDatetime


class CalendarYear(RequestModel):
    """An official calendar for one year as an administrator loads it (国务院办公厅放假安排)."""

    year: int = Field(ge=2000, le=2100)
    title: SingleLine = Field(min_length=2, max_length=100)
    holidays: dict[date, HolidayName] = Field(max_length=366, description="date -> holiday name")
    makeup_workdays: list[date] = Field(default_factory=list, max_length=366)

