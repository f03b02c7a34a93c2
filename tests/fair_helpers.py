"""Building fairs for tests: a published fair with lots, bids from the sample register, scores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import Client

from schemas.procurement import BidInput, DemandInput, LotPhase, LotState, ScoreInput
from service import views
from service.fairs import FairService
from tests.conftest import Skipping
from tests.helpers import until_fair, until_lot
from workflows.lot import LotWorkflow

ORGANIZER = "mz-chen"
DEMAND = {
    "title": "社区居家养老上门服务",
    "service_content": "为辖区80岁以上独居老人提供每周两次上门探访、助洁和健康监测服务",
    "target_group": "80岁以上独居老人",
    "location": "延吉市建工街道",
    "budget_ceiling_fen": 30_000_000,
    "duration_months": 12,
    "requirements": {"registered_only": True, "minimum_grade": "3A"},
}
BIDDERS = {
    "YJ-REG-0001": "org-chunhui",
    "YJ-REG-0002": "org-xiyanghong",
    "YJ-REG-0003": "org-yangguang",
    "YJ-REG-0004": "org-linli",
    "YJ-REG-0005": "org-hemei",
    "YJ-REG-0006": "org-qiming",
    "YJ-REG-0007": "org-kangle",
    "XQ-REG-0001": "org-xqheping",
}


@dataclass
class Fair:
    service: FairService
    client: Client
    skipping: Skipping
    fair_no: str
    lots: list[str]

    def actor(self, user_id: str):  # type: ignore[no-untyped-def]
        return self.service.actor(user_id)

    async def state(self, lot_no: str) -> LotState:
        return await self.client.get_workflow_handle(lot_no).query(LotWorkflow.status)

    async def bid(self, lot_no: str, organization: str, price_fen: int, **extra: Any):  # type: ignore[no-untyped-def]
        bid = BidInput(
            organization=organization,
            price_fen=price_fen,
            proposal=extra.pop("proposal", "组建专业团队，按月制定服务计划，建立服务档案并定期回访评估服务质量。"),
            team=extra.pop("team", ["项目主管1名", "社工3名", "志愿者10名"]),
            past_projects=extra.pop("past_projects", ["2025年社区助老服务项目"]),
        )
        return await self.service.submit_bid(self.actor(BIDDERS[organization]), lot_no, bid)

    async def bid_id(self, lot_no: str, organization: str) -> str:
        """The number the lot gave an organization's current bid (drawn at random, so tests look it up)."""
        bid = (await self.state(lot_no)).bid_of(organization)
        assert bid is not None, f"{organization} has no bid in {lot_no}"
        return bid.bid_id

    async def close_bidding(self, lot_no: str) -> LotState:
        state = await self.state(lot_no)
        now = await self.skipping.env.get_current_time()
        await self.skipping.sleep(state.bids_close - now + timedelta(minutes=1))
        return await until_lot(self.client, lot_no, lambda s: s.phase is not LotPhase.bidding)

    async def score_all(self, lot_no: str, points: dict[str, dict[str, int]] | None = None, skip: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """Every seated expert (except ``skip``) gives each eligible bid the given points, or a default by bid order."""
        state = await self.state(lot_no)
        for seat in state.open_seats:
            if seat.expert.user_id in skip:
                continue
            sheet = points or {
                bid.bid_id: {"plan": 36 - 3 * n, "capacity": 27 - 2 * n, "budget": 18 - n, "reputation": 9 - n}
                for n, bid in enumerate(state.eligible_bids)
            }
            await self.service.score(self.actor(seat.expert.user_id), lot_no, ScoreInput(scores=sheet))

    async def sleep_past(self, lot_no: str, moment) -> None:  # type: ignore[no-untyped-def]
        now = await self.skipping.env.get_current_time()
        await self.skipping.sleep(moment - now + timedelta(minutes=1))


async def create_fair(
    service: FairService,
    now: datetime,
    title: str = "2026年延吉市社会组织成果展示暨社洽会",
    demands_in: timedelta = timedelta(days=2),
    fair_in: timedelta = timedelta(days=4),
    bids_in: timedelta = timedelta(days=7),
) -> views.FairSummary:
    """The organizer creates a fair whose demands close, whose fair day comes and whose bids close these long after ``now``."""
    schedule = {
        "demands_due": (now + demands_in).isoformat(),
        "fair_day": (now + fair_in).date().isoformat(),
        "bids_close": (now + bids_in).isoformat(),
    }
    return await service.create_fair(service.actor(ORGANIZER), views.FairInput.model_validate({"title": title, "schedule": schedule}))


async def published_fair(skipping: Skipping, demands: list[dict[str, Any]] | None = None) -> Fair:
    """A fair whose catalogue is published: one lot per demand (all approved), bidding open for 7 days."""
    service = FairService(skipping.settings, skipping.engine, skipping.env.client)
    summary = await create_fair(service, await skipping.env.get_current_time())
    for demand in demands or [DEMAND]:
        await service.submit_demand(service.actor(demand.get("department", "dept-wj")), summary.fair_no, DemandInput.model_validate({k: v for k, v in demand.items() if k != "department"}))
    await skipping.sleep(timedelta(days=2, minutes=1))
    await until_fair(skipping.env.client, summary.fair_no, lambda s: s.phase.value == "reviewing")
    state = service.fair(service.actor(ORGANIZER), summary.fair_no)
    for demand in state.demands:
        await service.review_demand(service.actor(ORGANIZER), summary.fair_no, demand.demand_id, views.DemandReviewInput(approve=True))
    await service.publish_catalogue(service.actor(ORGANIZER), summary.fair_no)
    fair = await until_fair(skipping.env.client, summary.fair_no, lambda s: len(s.lots) == len(s.demands))
    lots = [lot.lot_no for lot in fair.lots]
    for lot_no in lots:
        await until_lot(skipping.env.client, lot_no, lambda s: s.phase is LotPhase.bidding)
    return Fair(service, skipping.env.client, skipping, summary.fair_no, lots)
