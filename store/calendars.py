"""Official calendars (国务院办公厅放假安排) loaded by an administrator into the read model.

The libraries only know the years they were released for; loading the official notice for a new
year lets deadlines use it without a code change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from schemas.calendar import CalendarYear
from store.db import session_scope
from store.models import CalendarDayRecord, CalendarYearRecord

MAKEUP_WORKDAY_NAME = "调休上班"


def check_calendar_year(calendar: CalendarYear) -> CalendarYear:
    """Refuses a calendar that would silently misclassify days, naming the date at fault."""
    for day in [*calendar.holidays, *calendar.makeup_workdays]:
        if day.year != calendar.year:
            raise ValueError(f"日期 {day} 不在 {calendar.year} 年内")
    for day in calendar.makeup_workdays:
        if day in calendar.holidays:
            raise ValueError(f"日期 {day} 不能既是节假日又是调休上班日")
        if day.weekday() < 5:
            raise ValueError(f"调休上班日 {day} 不是周六或周日")
    return calendar


def read_calendar_file(path: str | Path) -> CalendarYear:
    """Reads a YAML or JSON calendar file. YAML is read as plain text (BaseLoader) so that an
    impossible date such as 2027-02-30 reaches validation and is reported by name."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=yaml.BaseLoader)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"日历文件 {path} 不是有效的 YAML/JSON：{exc}") from exc
    try:
        calendar = CalendarYear.model_validate(data)
    except ValidationError as exc:
        problems = "；".join(
            f"{'/'.join(str(part) for part in error['loc'])} 的值 {error['input']!r} 无效" for error in exc.errors()
        )
        raise ValueError(f"日历文件 {path} 有误：{problems}") from exc
    return check_calendar_year(calendar)


def canonical_json(calendar: CalendarYear) -> str:
    """The same calendar always gives the same text (and hash), whatever order the file used."""
    data = calendar.model_dump(mode="json")
    data["makeup_workdays"] = sorted(data["makeup_workdays"])
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def load_calendar_year(engine: Engine, year: CalendarYear, loaded_by: str) -> CalendarYearRecord:
    """Replaces one year's calendar in a single transaction, so readers never see half a year."""
    check_calendar_year(year)
    record = CalendarYearRecord(
        year=year.year,
        title=year.title,
        sha256=hashlib.sha256(canonical_json(year).encode("utf-8")).hexdigest(),
        loaded_by=loaded_by,
        loaded_at=datetime.now(UTC),
    )
    days = [CalendarDayRecord(day=day, year=year.year, workday=False, name=name) for day, name in year.holidays.items()]
    days += [
        CalendarDayRecord(day=day, year=year.year, workday=True, name=MAKEUP_WORKDAY_NAME)
        for day in year.makeup_workdays
    ]
    with session_scope(engine) as session:
        session.exec(delete(CalendarDayRecord).where(col(CalendarDayRecord.year) == year.year))
        session.merge(record)
        session.add_all(days)
    return record


def loaded_years(engine: Engine) -> list[CalendarYearRecord]:
    with session_scope(engine) as session:
        return list(session.exec(select(CalendarYearRecord).order_by(col(CalendarYearRecord.year))))


def loaded_calendars(
    engine: Engine, years: Iterable[int]
) -> dict[int, tuple[CalendarYearRecord, list[CalendarDayRecord]]]:
    """The loaded years among ``years`` with their listed days, read in one session."""
    wanted = list(years)
    with session_scope(engine) as session:
        records = session.exec(select(CalendarYearRecord).where(col(CalendarYearRecord.year).in_(wanted))).all()
        days = session.exec(select(CalendarDayRecord).where(col(CalendarDayRecord.year).in_(wanted))).all()
    return {record.year: (record, [day for day in days if day.year == record.year]) for record in records}
