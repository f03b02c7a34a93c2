"""The bureau's overview (工作总览) for 民政局 staff: each figure as a chart drawn on the server, with its table."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import Service, Who, signed_in
from pages.charts import bar_chart
from pages.common import render
from service.overview import OverviewService, OverviewView

router = APIRouter()


@router.get("/work/overview")
async def overview(request: Request, who: Who, service: Service) -> Response:
    found = OverviewService(service).overview(service.actor(signed_in(who)))
    return render(request, "overview.html", who, overview=found, charts=_charts(found))


def _charts(found: OverviewView) -> dict[str, str]:
    """One chart per figure that has any data."""
    charts = {}
    if found.cases:
        labels = [f"{c.process}·{c.phase}" for c in found.cases]
        charts["cases"] = bar_chart("各阶段案件数", labels, {"案件数": [c.count for c in found.cases]}, horizontal=True)
    if found.overdue:
        labels = [f"{o.office}·{o.post}" for o in found.overdue]
        charts["overdue"] = bar_chart(
            "超期待办", labels, {"超期待办": [o.overdue for o in found.overdue]}, horizontal=True
        )
    if found.processing:
        charts["processing"] = bar_chart(
            "办理用时与法定时限（工作日）",
            [p.track for p in found.processing],
            {
                "平均用时": [p.average_working_days for p in found.processing],
                "最长用时": [p.longest_working_days for p in found.processing],
                "法定时限": [p.legal_limit_working_days for p in found.processing],
            },
        )
    if found.ratings:
        labels = [r.office_name for r in found.ratings]
        charts["ratings"] = bar_chart(
            "好差评平均分（满分 5 分）", labels, {"平均分": [r.average for r in found.ratings]}, True, counts=False
        )
    if found.months:
        months = [m.month for m in found.months]
        charts["fairs"] = bar_chart("每月发起的社洽会", months, {"社洽会": [m.fairs for m in found.months]})
        charts["payments"] = bar_chart(
            "每月合同拨付金额（元）", months, {"拨付金额（元）": [m.paid_fen / 100 for m in found.months]}, counts=False
        )
    return charts
