"""The contract-signing period an award notice states (政府采购法第四十六条, 民法典第二百零三条), on the official calendar."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.calendar import CalendarActivities
from rules.procurement_terms import contract_signing_period
from schemas.localtime import SHANGHAI
from tests.conftest import migrated_engine


@pytest.fixture
def activities(tmp_path: Path):
    engine = migrated_engine(f"sqlite:///{tmp_path}/rm.db")
    yield CalendarActivities(engine)
    engine.dispose()


@pytest.mark.parametrize(
    ("issued", "last_day"),
    [
        # the 30th day after the notice is a working day: the period ends on it
        (datetime(2026, 11, 10, 9, tzinfo=SHANGHAI), date(2026, 12, 10)),
        # issued late in the evening, Shanghai time: the day of issue is still not counted
        (datetime(2026, 11, 10, 23, 30, tzinfo=SHANGHAI), date(2026, 12, 10)),
        # the 30th day is a Saturday: the period ends on the Monday
        (datetime(2026, 11, 5, 9, tzinfo=SHANGHAI), date(2026, 12, 7)),
        # the 30th day is National Day: the period ends after the holiday (10-01..07 off)
        (datetime(2026, 9, 1, 9, tzinfo=SHANGHAI), date(2026, 10, 8)),
        # the 30th day is a Sunday worked in lieu of a holiday (调休): the period ends on it
        (datetime(2026, 8, 21, 9, tzinfo=SHANGHAI), date(2026, 9, 20)),
    ],
)
async def test_signing_period_ends_on_the_thirtieth_day_or_the_next_working_day(
    activities: CalendarActivities, issued: datetime, last_day: date
) -> None:
    due = await ActivityEnvironment().run(activities.compute_deadline, contract_signing_period(issued, 30))
    assert due.due_date == last_day
