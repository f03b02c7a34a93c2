"""The bureau's overview (民政局工作总览): for 民政局 staff, over the read model of their jurisdiction and those
below it — cases by process and phase, overdue tasks by office and post, processing time in working days
against the legal limit, 好差评 by office, and fairs and contract payments by month."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import case, func
from sqlmodel import Session, col, select

from activities.calendar import working_calendar
from rules.workdays import working_days_between
from schemas.application import Track
from schemas.case import CaseState, TaskStatus
from schemas.localtime import SHANGHAI, local_date
from schemas.people import Actor, Role
from schemas.procurement import LOT_PHASE_NAMES, FairState, LotPhase
from schemas.ratings import OfficeRatings
from service.cases import CaseService
from service.common import ServiceError
from service.contracts import CONTRACT_STATUS
from service.ratings import RatingService
from store import directory
from store.models import CaseRecord, ContractRecord, FairRecord, LedgerRecord, LotRecord, TaskRecord

RATINGS_SHOWN = 200
"""Offices whose ratings the overview lists (a district has a few dozen)."""


class PhaseCount(BaseModel):
    process: str = Field(description="备案登记、社洽会项目或购买服务合同")
    phase: str = Field(description="所处阶段")
    count: int


class OverdueCount(BaseModel):
    office: str = Field(description="办理单位")
    post: str = Field(description="岗位（角色）")
    overdue: int = Field(description="已超期的待办")
    escalated: int = Field(description="其中已转 B 岗的")


class ProcessingTime(BaseModel):
    track: str = Field(description="办理类型")
    decided: int = Field(description="已作出决定的案件数")
    average_working_days: float = Field(description="受理至决定的平均工作日（含补正等暂停期间）")
    longest_working_days: int
    legal_limit_working_days: int = Field(description="法定办理时限（工作日）")
    on_time: int = Field(description="在法定时限内作出决定的案件数")


class MonthCount(BaseModel):
    month: str = Field(description="年月，如 2026年12月")
    fairs: int = Field(description="当月发起的社洽会")
    payments: int = Field(description="当月拨付笔数")
    paid_fen: int = Field(description="当月拨付金额（分）")


class OverviewView(BaseModel):
    jurisdiction_name: str
    as_of: AwareDatetime
    cases: list[PhaseCount]
    overdue: list[OverdueCount]
    processing: list[ProcessingTime]
    ratings: list[OfficeRatings]
    months: list[MonthCount]


class OverviewService:
    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.engine = cases.engine

    def overview(self, actor: Actor) -> OverviewView:
        if actor.role is not Role.civil_affairs:
            raise ServiceError("forbidden", f"工作总览只向民政局工作人员开放，您的身份是{actor.role.label}")
        places = directory.within(self.engine, actor.jurisdiction or "")
        if not places:
            raise ServiceError("not_found", f"辖区代码 {actor.jurisdiction} 不存在")
        codes = [p.code for p in places]
        now = self.cases.now()
        with Session(self.engine) as db:
            filings = db.exec(select(CaseRecord).where(col(CaseRecord.community).in_(codes))).all()
            fairs = db.exec(select(FairRecord).where(col(FairRecord.organizer_jurisdiction).in_(codes))).all()
            lots = db.exec(select(LotRecord.phase).where(col(LotRecord.fair_no).in_([f.fair_no for f in fairs]))).all()
            contracts = [
                c
                for c in db.exec(select(ContractRecord)).all()
                if (c.state or {}).get("basis", {}).get("buyer_jurisdiction") in codes
            ]
            paid = db.exec(
                select(LedgerRecord.paid_at, LedgerRecord.amount_fen).where(
                    col(LedgerRecord.contract_no).in_([c.contract_no for c in contracts]),
                    col(LedgerRecord.paid_at).is_not(None),
                )
            ).all()
            overdue = db.exec(
                select(
                    TaskRecord.office,
                    TaskRecord.role,
                    func.count(),
                    func.sum(case((col(TaskRecord.escalated), 1), else_=0)),
                )
                .where(
                    col(TaskRecord.jurisdiction).in_(codes),
                    TaskRecord.status == TaskStatus.open.value,
                    col(TaskRecord.due_at) < now,
                )
                .group_by(TaskRecord.office, TaskRecord.role)
                .order_by(func.count().desc(), TaskRecord.office)
            ).all()
        ratings = RatingService(self.cases).aggregate(actor, RATINGS_SHOWN, 0).offices
        return OverviewView(
            jurisdiction_name=places[0].full_name,
            as_of=now,
            cases=_phases(filings, lots, contracts),
            overdue=[
                OverdueCount(office=office, post=Role(role).label, overdue=count, escalated=int(escalated or 0))
                for office, role, count, escalated in overdue
            ],
            processing=self._processing(filings),
            ratings=ratings,
            months=_months(fairs, paid),
        )

    def _processing(self, filings: list[CaseRecord]) -> list[ProcessingTime]:
        """Per track, the decided cases' working days from acceptance to decision against the legal limit."""
        decided = [
            state
            for state in (CaseState.model_validate(f.state) for f in filings if f.closed and f.state)
            if state.result and state.legal_clock
        ]
        if not decided:
            return []
        years = [local_date(s.legal_clock.accepted_at).year for s in decided if s.legal_clock]
        calendar = working_calendar(self.engine, range(min(years), max(years) + 2))
        by_track: dict[Track, list[tuple[int, int, bool]]] = defaultdict(list)
        for state in decided:
            clock, result = state.legal_clock, state.result
            assert clock and result
            used = working_days_between(clock.accepted_at, result.decided_at, calendar)
            on_time = clock.deadline is not None and result.decided_at <= clock.deadline.due_at
            by_track[state.application.track].append((used, clock.working_days, on_time))
        return [
            ProcessingTime(
                track=track.label,
                decided=len(rows),
                average_working_days=round(sum(r[0] for r in rows) / len(rows), 1),
                longest_working_days=max(r[0] for r in rows),
                legal_limit_working_days=max(r[1] for r in rows),
                on_time=sum(r[2] for r in rows),
            )
            for track, rows in sorted(by_track.items())
        ]


def _phases(filings: list[CaseRecord], lots: list[str], contracts: list[ContractRecord]) -> list[PhaseCount]:
    counted = [
        *(("备案登记", f.phase_staff_name) for f in filings),
        *(("社洽会项目", LOT_PHASE_NAMES[LotPhase(phase)][1]) for phase in lots),
        *(("购买服务合同", CONTRACT_STATUS.get(c.status, c.status)) for c in contracts),
    ]
    return [
        PhaseCount(process=process, phase=phase, count=n) for (process, phase), n in sorted(Counter(counted).items())
    ]


def _month(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}年{local.month:02d}月"


def _months(fairs: list[FairRecord], paid: list[tuple[datetime | None, int]]) -> list[MonthCount]:
    started = Counter(_month(FairState.model_validate(f.state).created_at) for f in fairs if f.state)
    payments: Counter[str] = Counter()
    amounts: Counter[str] = Counter()
    for at, amount in paid:
        if at is not None:
            payments[_month(at)] += 1
            amounts[_month(at)] += amount
    return [
        MonthCount(month=m, fairs=started[m], payments=payments[m], paid_fen=amounts[m])
        for m in sorted(set(started) | set(payments))
    ]
