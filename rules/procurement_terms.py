"""Time limits a lot's documents state that run in calendar days, not working days."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from schemas.calendar import DeadlineRequest
from schemas.localtime import SHANGHAI, local_date


def contract_signing_period(issued_at: datetime, days: int) -> DeadlineRequest:
    """政府采购法第四十六条: the contract is signed within ``days`` of the award notice, the day it is issued not
    counted; a period whose last day is a day off ends on the next working day (民法典第二百零三条). One working day
    counted from the eve of the last day is that day when it is worked, else the next working day, so the
    working-day calendar (an activity: it may be updated) decides."""
    last = local_date(issued_at) + timedelta(days=days)
    return DeadlineRequest(start=datetime.combine(last - timedelta(days=1), time(12), SHANGHAI), working_days=1)
