"""Working-day deadlines: official calendars, provisional estimates, administrator-loaded years."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.testing import ActivityEnvironment

from activities.calendar import CalendarActivities, _library_year
from rules.workdays import (
    Calendar,
    DayClassifier,
    DayKind,
    YearCalendar,
    days_left_at_pause,
    deadline,
    deadline_at_resume,
    working_days_between,
    working_days_left,
)
from schemas.calendar import (
    CalendarSource,
    CalendarSourceKind,
    CalendarYear,
    Deadline,
    DeadlineRequest,
    NonWorkingDay,
    WorkingDaysRequest,
)
from schemas.localtime import SHANGHAI, local_date
from store.calendars import load_calendar_year, loaded_years, read_calendar_file
from tests.conftest import migrated_engine

ONE_DAY = timedelta(days=1)
EXAMPLE_FILE = Path(__file__).resolve().parent.parent / "docs" / "calendar-example.yaml"


def shanghai(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def engine(tmp_path: Path):
    engine = migrated_engine(f"sqlite:///{tmp_path}/rm.db")
    yield engine
    engine.dispose()


@pytest.fixture
def activities(engine) -> CalendarActivities:
    return CalendarActivities(engine)


async def compute(activities: CalendarActivities, start: datetime, days: int, remind: int = 0) -> Deadline:
    request = DeadlineRequest(start=start, working_days=days, reminder_working_days_before=remind)
    return await ActivityEnvironment().run(activities.compute_deadline, request)


async def count(activities: CalendarActivities, start: datetime, end: datetime) -> int:
    return await ActivityEnvironment().run(activities.count_working_days, WorkingDaysRequest(start=start, end=end))


# Test data only, not an official schedule: National Day 10-01..07, one make-up Saturday 10-09.
TEST_2027 = CalendarYear(
    year=2027,
    title="测试用2027年日历（非正式）",
    holidays={date(2027, 10, d): "国庆节" for d in range(1, 8)},
    makeup_workdays=[date(2027, 10, 9)],
)


# --- 2026 National Day, from chinesecalendar -------------------------------------------------


async def test_national_day_2026_skips_the_holiday_and_counts_the_makeup_saturday(activities) -> None:
    result = await compute(activities, shanghai(2026, 9, 30, 10), 3, remind=1)

    # 10-01..07 off; 10-08 Thu, 10-09 Fri, 10-10 Sat (调休上班) are the three working days.
    assert result.due_date == date(2026, 10, 10)
    assert result.due_at == shanghai(2026, 10, 11)
    assert result.remind_at == shanghai(2026, 10, 10, 9)
    assert result.holidays_skipped == [NonWorkingDay(day=date(2026, 10, d), name="国庆节") for d in range(1, 8)]
    assert result.makeup_workdays_counted == [date(2026, 10, 10)]
    [source] = result.sources
    assert (source.year, source.kind, source.provisional) == (2026, CalendarSourceKind.chinesecalendar, False)
    assert source.version == "chinesecalendar 1.11.0"
    assert not result.provisional


async def test_makeup_sunday_before_national_day_is_a_working_day(activities) -> None:
    result = await compute(activities, shanghai(2026, 9, 18, 17), 2)

    # 09-19 Sat off, 09-20 Sun worked (调休), 09-21 Mon.
    assert result.due_date == date(2026, 9, 21)
    assert result.makeup_workdays_counted == [date(2026, 9, 20)]
    assert result.holidays_skipped == []
    assert await count(activities, shanghai(2026, 9, 18, 17), shanghai(2026, 9, 20, 23)) == 1


async def test_reminders_fall_at_nine_on_the_right_working_day(activities) -> None:
    start = shanghai(2026, 9, 30, 10)
    assert (await compute(activities, start, 3, remind=3)).remind_at == shanghai(2026, 10, 8, 9)
    assert (await compute(activities, start, 3, remind=2)).remind_at == shanghai(2026, 10, 9, 9)
    assert (await compute(activities, start, 3, remind=0)).remind_at is None
    assert (await compute(activities, start, 3, remind=4)).remind_at is None


async def test_zero_working_days_ends_with_the_start_day(activities) -> None:
    result = await compute(activities, shanghai(2026, 9, 30, 23, 30), 0, remind=1)
    assert result.due_date == date(2026, 9, 30)
    assert result.due_at == shanghai(2026, 10, 1)
    assert result.remind_at is None


async def test_count_working_days_across_national_day(activities) -> None:
    start = shanghai(2026, 9, 30, 10)
    assert await count(activities, start, shanghai(2026, 10, 7, 18)) == 0
    assert await count(activities, start, shanghai(2026, 10, 10, 12)) == 3
    assert await count(activities, start, start - ONE_DAY) == 0


# --- years chinesecalendar does not know yet ---------------------------------------------------


async def test_2027_deadline_is_provisional_and_says_how_to_fix_it(activities) -> None:
    result = await compute(activities, shanghai(2027, 9, 30, 10), 3)

    # Rule-based: 10-01 Fri, weekend, 10-04/05 补假 off; no 调休 known.
    assert result.due_date == date(2027, 10, 8)
    assert [h.day for h in result.holidays_skipped] == [date(2027, 10, d) for d in range(1, 6)]
    assert all(h.name.startswith("国庆节") for h in result.holidays_skipped)
    [source] = result.sources
    assert (source.kind, source.provisional) == (CalendarSourceKind.rule_based, True)
    assert "调休" in source.title and "shezu calendar load" in source.title
    assert result.provisional


async def test_deadline_across_new_year_cites_both_years(activities) -> None:
    result = await compute(activities, shanghai(2026, 12, 30, 10), 5)

    assert result.due_date == date(2027, 1, 7)
    assert [(s.year, s.kind) for s in result.sources] == [
        (2026, CalendarSourceKind.chinesecalendar),
        (2027, CalendarSourceKind.rule_based),
    ]
    assert NonWorkingDay(day=date(2027, 1, 1), name="元旦") in result.holidays_skipped
    assert result.provisional


# --- calendars loaded by an administrator -----------------------------------------------------


async def test_loaded_year_overrides_the_estimate(engine, activities) -> None:
    record = load_calendar_year(engine, TEST_2027, loaded_by="admin01")
    result = await compute(activities, shanghai(2027, 9, 30, 10), 3)

    # 10-08 Fri, 10-09 Sat (loaded 调休), 10-11 Mon.
    assert result.due_date == date(2027, 10, 11)
    assert result.makeup_workdays_counted == [date(2027, 10, 9)]
    [source] = result.sources
    assert (source.kind, source.provisional) == (CalendarSourceKind.official_loaded, False)
    assert source.title == "测试用2027年日历（非正式）（管理员导入）"
    assert source.version == f"{record.sha256[:12]} {local_date(record.loaded_at)}"
    assert await count(activities, shanghai(2027, 9, 30, 10), shanghai(2027, 10, 9, 12)) == 2


async def test_loaded_year_overrides_chinesecalendar_too(engine, activities) -> None:
    load_calendar_year(
        engine,
        CalendarYear(year=2026, title="测试用2026年日历", holidays={date(2026, 10, 1): "测试假日"}),
        loaded_by="admin01",
    )
    result = await compute(activities, shanghai(2026, 9, 30, 10), 3)

    assert result.due_date == date(2026, 10, 6)
    assert result.holidays_skipped == [NonWorkingDay(day=date(2026, 10, 1), name="测试假日")]
    assert result.sources[0].kind == CalendarSourceKind.official_loaded


async def test_reloading_a_year_replaces_it(engine, activities) -> None:
    load_calendar_year(engine, TEST_2027, loaded_by="admin01")
    smaller = CalendarYear(year=2027, title="测试用2027年日历（第二版）", holidays={date(2027, 10, 1): "国庆节"})
    second = load_calendar_year(engine, smaller, loaded_by="admin02")

    [record] = loaded_years(engine)
    assert (record.title, record.loaded_by, record.sha256) == (smaller.title, "admin02", second.sha256)
    assert record.loaded_at.tzinfo is not None and record.loaded_at.utcoffset() == timedelta(0)
    result = await compute(activities, shanghai(2027, 9, 30, 10), 3)
    assert result.due_date == date(2027, 10, 6)  # 10-04/05 are no longer holidays, 10-09 no longer worked
    assert result.makeup_workdays_counted == []


def test_hash_does_not_depend_on_file_order(engine) -> None:
    makeups = [date(2027, 9, 26), date(2027, 10, 9)]
    forward = TEST_2027.model_copy(update={"makeup_workdays": makeups})
    backward = CalendarYear(
        year=2027,
        title=TEST_2027.title,
        holidays=dict(reversed(TEST_2027.holidays.items())),
        makeup_workdays=makeups[::-1],
    )
    first, second = load_calendar_year(engine, forward, "a"), load_calendar_year(engine, backward, "b")
    assert first.sha256 == second.sha256
    assert load_calendar_year(engine, TEST_2027, "c").sha256 != first.sha256


# --- calendar files ------------------------------------------------------------------------------


def test_example_file_reads_and_is_marked_as_example() -> None:
    calendar = read_calendar_file(EXAMPLE_FILE)
    assert calendar.year == 2099
    assert calendar.holidays[date(2099, 10, 1)] == "国庆节"
    assert date(2099, 10, 10) in calendar.makeup_workdays
    assert "FORMAT EXAMPLE" in EXAMPLE_FILE.read_text(encoding="utf-8")


def test_json_file_reads_like_yaml(tmp_path: Path) -> None:
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(TEST_2027.model_dump(mode="json"), ensure_ascii=False), encoding="utf-8")
    assert read_calendar_file(path) == TEST_2027


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("holidays:\n  2028-01-01: 元旦\n", "日期 2028-01-01 不在 2027 年内"),
        ("holidays:\n  2027-10-01: 国庆节\nmakeup_workdays: [2026-10-09]\n", "日期 2026-10-09 不在 2027 年内"),
        ("holidays:\n  2027-10-09: 国庆节\nmakeup_workdays: [2027-10-09]\n", "日期 2027-10-09 不能既是节假日又是调休上班日"),
        ("holidays:\n  2027-02-30: 春节\n", "'2027-02-30' 无效"),
        ("holidays: {}\nmakeup_workdays: [2027-10-08]\n", "调休上班日 2027-10-08 不是周六或周日"),
        ("holidays: [\n", "不是有效的 YAML/JSON"),
    ],
)
def test_bad_calendar_file_names_the_problem(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"year: 2027\ntitle: 测试日历\n{body}", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_calendar_file(path)


def test_loading_refuses_an_unchecked_calendar(engine) -> None:
    bad = CalendarYear(year=2027, title="测试日历", holidays={date(2028, 1, 1): "元旦"})
    with pytest.raises(ValueError, match="2028-01-01"):
        load_calendar_year(engine, bad, loaded_by="admin01")
    assert loaded_years(engine) == []


# --- properties of the arithmetic against synthetic calendars -----------------------------------

SYNTHETIC_YEARS = range(2030, 2034)


def _dates_in(year: int) -> st.SearchStrategy[date]:
    return st.dates(date(year, 1, 1), date(year, 12, 31))


@st.composite
def synthetic_calendars(draw: st.DrawFn) -> Calendar:
    years = []
    for year in SYNTHETIC_YEARS:
        days_off = draw(st.dictionaries(_dates_in(year), st.sampled_from(["甲节", "乙节"]), max_size=60))
        makeup = draw(st.frozensets(_dates_in(year).filter(lambda d: d.weekday() >= 5), max_size=15))
        source = CalendarSource(
            year=year, kind=CalendarSourceKind.official_loaded, title="合成", version="test", provisional=False
        )
        years.append(YearCalendar(source=source, days_off=days_off, makeup_workdays=makeup - days_off.keys()))
    return Calendar(years)


starts = st.datetimes(
    min_value=datetime(2030, 1, 1),
    max_value=datetime(2031, 12, 31, 23, 59),
    timezones=st.sampled_from([SHANGHAI, UTC, ZoneInfo("America/New_York")]),
)


def _deadline(start: datetime, days: int, calendar: Calendar, remind: int = 0) -> Deadline:
    return deadline(DeadlineRequest(start=start, working_days=days, reminder_working_days_before=remind), calendar)


@given(synthetic_calendars(), starts, st.integers(0, 60))
def test_due_date_strictly_increases_with_working_days(calendar, start, days) -> None:
    assert _deadline(start, days + 1, calendar).due_date > _deadline(start, days, calendar).due_date


@given(synthetic_calendars(), starts, st.integers(1, 60))
def test_due_date_is_a_working_day_and_agrees_with_counting(calendar, start, days) -> None:
    result = _deadline(start, days, calendar)
    assert calendar.day(result.due_date).workday
    assert working_days_between(start, result.due_at - timedelta(microseconds=1), calendar) == days


@given(synthetic_calendars(), starts, st.integers(1, 60))
def test_a_new_deadline_has_all_its_working_days_left_and_none_on_its_due_date(calendar, start, days) -> None:
    """The inbox's count of working days left agrees with how the deadline was counted."""
    result = _deadline(start, days, calendar)
    assert working_days_left(start, result.due_date, calendar) == days
    assert working_days_left(result.due_at - timedelta(hours=1), result.due_date, calendar) == 0


@given(synthetic_calendars(), starts, st.integers(0, 60))
def test_due_at_is_utc_midnight_in_shanghai_after_the_due_date(calendar, start, days) -> None:
    result = _deadline(start, days, calendar)
    assert result.due_at.tzinfo is UTC
    wall_clock = result.due_at.astimezone(SHANGHAI).replace(tzinfo=None)
    assert wall_clock == datetime.combine(result.due_date + ONE_DAY, time())
    assert result.due_at > start


@given(synthetic_calendars(), starts, st.integers(1, 60), st.integers(1, 70))
def test_reminder_is_the_right_working_morning(calendar, start, days, before) -> None:
    result = _deadline(start, days, calendar, remind=before)
    if before > days:
        assert result.remind_at is None
        return
    assert result.remind_at is not None and result.remind_at > start
    assert result.remind_at.astimezone(SHANGHAI).time() == time(9, 0)
    assert calendar.day(local_date(result.remind_at)).workday
    assert working_days_between(start, result.remind_at, calendar) == days - before + 1


@given(synthetic_calendars(), starts, st.integers(0, 60))
def test_days_passed_are_accounted_for(calendar, start, days) -> None:
    result = _deadline(start, days, calendar)
    first = local_date(start)
    passed = (result.due_date - first).days
    kinds = [calendar.day(first + n * ONE_DAY) for n in range(1, passed + 1)]
    ordinary_weekends = sum(not kind.workday and kind.holiday is None for kind in kinds)
    assert passed == days + len(result.holidays_skipped) + ordinary_weekends
    for skipped in result.holidays_skipped:
        assert first < skipped.day <= result.due_date
        assert calendar.day(skipped.day) == DayKind(workday=False, holiday=skipped.name)
    assert all(d.weekday() >= 5 and first < d <= result.due_date for d in result.makeup_workdays_counted)
    assert [s.year for s in result.sources] == list(range(first.year, result.due_date.year + 1))


# --- pauses of the legal clock: only working days wholly inside a pause are given back ------------

CALENDAR_2026 = Calendar([_library_year(2026), _library_year(2027)])


def with_pauses(
    accepted: datetime, days: int, pauses: list[tuple[datetime, datetime]], calendar: DayClassifier = CALENDAR_2026
) -> date:
    """The due date after the pauses, computed as the filing workflow does at each pause and resume."""
    due = _deadline(accepted, days, calendar)
    for paused, resumed in pauses:
        left_request = days_left_at_pause(paused, due)
        left = working_days_between(left_request.start, left_request.end, calendar)
        if left:
            due = deadline(deadline_at_resume(paused, resumed, left, due.start), calendar)
    return due.due_date


ACCEPTED = shanghai(2026, 12, 1, 10)  # a Tuesday; 7 working days end on Thursday 12-10


@pytest.mark.parametrize(
    ("paused", "resumed", "due", "why"),
    [
        (shanghai(2026, 12, 1, 11), shanghai(2026, 12, 1, 15), date(2026, 12, 10), "same day as acceptance"),
        (shanghai(2026, 12, 3, 9), shanghai(2026, 12, 3, 17), date(2026, 12, 10), "same counted day"),
        (shanghai(2026, 12, 1, 11), shanghai(2026, 12, 5), date(2026, 12, 15), "公示 12-01 to 12-04"),
        (shanghai(2026, 12, 4, 15), shanghai(2026, 12, 7, 10), date(2026, 12, 10), "Friday to Monday: no day wholly paused"),
        (shanghai(2026, 12, 3, 15), shanghai(2026, 12, 8, 10), date(2026, 12, 14), "over a weekend: Friday and Monday paused"),
        (shanghai(2026, 12, 5, 10), shanghai(2026, 12, 8, 10), date(2026, 12, 11), "starts on a Saturday: Monday paused"),
        (shanghai(2026, 12, 3, 10), shanghai(2026, 12, 6, 10), date(2026, 12, 11), "ends on a Sunday: Friday paused"),
        (shanghai(2026, 12, 3, 10), shanghai(2026, 12, 4), date(2026, 12, 10), "ends at the midnight after the pause day"),
        (shanghai(2026, 12, 10, 10), shanghai(2026, 12, 14, 10), date(2026, 12, 10), "paused on the due date: nothing left"),
    ],
)
def test_a_pause_gives_back_only_the_working_days_it_covers_whole(paused, resumed, due, why) -> None:
    assert with_pauses(ACCEPTED, 7, [(paused, resumed)]) == due, why


def test_a_pause_over_a_holiday_gives_back_no_holiday() -> None:
    accepted = shanghai(2026, 9, 28, 10)  # 7 working days: 9-29, 9-30, 10-08, 10-09, 10-10 (调休), 10-12, 10-13
    assert with_pauses(accepted, 7, []) == date(2026, 10, 13)
    assert with_pauses(accepted, 7, [(shanghai(2026, 9, 30, 10), shanghai(2026, 10, 8, 15))]) == date(2026, 10, 13)
    assert with_pauses(accepted, 7, [(shanghai(2026, 10, 2, 10), shanghai(2026, 10, 8, 10))]) == date(2026, 10, 13)
    assert with_pauses(accepted, 7, [(shanghai(2026, 9, 29, 10), shanghai(2026, 10, 9, 10))]) == date(2026, 10, 15)


def test_two_pauses_add_up() -> None:
    correction = (shanghai(2026, 12, 2, 10), shanghai(2026, 12, 2, 16))
    notice = (shanghai(2026, 12, 3, 10), shanghai(2026, 12, 10))  # 12-04 .. 12-09 paused: 4 working days
    assert with_pauses(ACCEPTED, 7, [correction, notice]) == date(2026, 12, 16)


@given(
    synthetic_calendars(),
    starts,
    st.integers(1, 40),
    st.timedeltas(timedelta(0), timedelta(days=30)),
    st.timedeltas(timedelta(0), timedelta(days=20)),
)
def test_the_days_used_are_the_working_days_not_wholly_paused(calendar, accepted, days, until_pause, pause) -> None:
    paused = accepted + until_pause
    resumed = paused + pause
    first_due = _deadline(accepted, days, calendar).due_date
    due = with_pauses(accepted, days, [(paused, resumed)], calendar)

    def wholly_paused(day: date) -> bool:
        return paused <= datetime.combine(day, time(), SHANGHAI) and datetime.combine(day + ONE_DAY, time(), SHANGHAI) <= resumed

    start_day = local_date(accepted)
    used = [start_day + n * ONE_DAY for n in range(1, (due - start_day).days + 1)]
    used = [d for d in used if calendar.day(d).workday and not wholly_paused(d)]
    if local_date(paused) >= first_due:  # paused when the time was up: the due date stays
        assert due == first_due
    else:
        assert len(used) == days and calendar.day(due).workday and not wholly_paused(due)


def test_a_pause_beginning_at_midnight_gives_that_day_back() -> None:
    """The clock did not run on a day whose first moment is already paused (a timer fires at midnight)."""
    accepted = shanghai(2026, 12, 1, 0)  # Tuesday: 2 working days end on Thursday 12-03
    assert with_pauses(accepted, 2, [(shanghai(2026, 12, 2, 0), shanghai(2026, 12, 3, 0))]) == date(2026, 12, 4)
    assert with_pauses(accepted, 2, [(accepted, shanghai(2026, 12, 1, 9))]) == date(2026, 12, 3), "the start day is never counted"
