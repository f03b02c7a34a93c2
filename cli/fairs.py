"""``shezu fair …`` and ``shezu lot …``: the 社洽会 operations, through the same service as the API."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import (
    As,
    JsonOut,
    Limit,
    Offset,
    emit,
    print_page,
    print_receipt,
    read_model_file,
    validated,
    with_service,
)
from schemas.localtime import local_text
from schemas.money import yuan
from schemas.procurement import BidInput, DemandInput, NegotiationInput, ScoreInput, ShowcaseInput, score_text
from service import views
from service.fairs import FairService

fair_app = typer.Typer(help="社洽会：创建、征集需求、发布需求公告、展示项目", no_args_is_help=True)
lot_app = typer.Typer(help="社洽会项目：投标、洽谈、专家评分、质疑、成交", no_args_is_help=True)
Reasons = Annotated[list[str] | None, typer.Option("--reason", help="理由，可重复")]


def fairs(action: Any) -> Any:
    return with_service(action, FairService)


def print_fair(view: views.FairView) -> None:
    typer.echo(f"{view.fair_no}  {view.title}（{view.organizer}）  {view.phase_name}")
    typer.echo(f"需求征集截止 {local_text(view.demands_due)}；社洽会 {view.fair_day}；投标截止 {local_text(view.bids_close)}")
    if view.demands:
        typer.echo("需求：")
        for demand in view.demands:
            typer.echo(f"  {demand.demand_id}  {demand.title}  {demand.department_office}  {yuan(demand.budget_ceiling_fen)}  {demand.status.label}")
    if view.catalogue:
        typer.echo("项目目录：")
        for entry in view.catalogue:
            typer.echo(f"  {entry.lot_no}  {entry.title}  {entry.department_office}  上限{yuan(entry.budget_ceiling_fen)}  {entry.lot_phase or ''}")
    if view.showcase:
        typer.echo("展示项目：")
        for project in view.showcase:
            typer.echo(f"  {project.project_id}  {project.organization_name}：{project.title}")


def print_lot(view: views.LotView) -> None:
    demand = view.demand
    typer.echo(f"{view.lot_no}  {demand.title}（{demand.department_office}）  {view.phase_name}  [{view.audience}]")
    typer.echo(f"预算上限 {yuan(demand.budget_ceiling_fen)}；服务期限 {demand.duration_months} 个月；投标截止 {local_text(view.bids_close)}" + (f"；投标 {view.bid_count} 份" if view.bid_count is not None else ""))
    for bid in view.bids:
        state = "已撤回" if bid.withdrawn_at else ""
        typer.echo(f"  投标 {bid.bid_id}  {bid.organization_name}  {yuan(bid.price_fen)}  {state}")
    for screening in view.screenings:
        typer.echo(f"  资格审查 {screening.organization_name}：{'合格' if screening.eligible else '；'.join(screening.failures)}")
    for seat in view.panel:
        typer.echo(f"  评审席位 {seat.seat_no} {seat.expert.name}：{seat.status.label}，期限 {seat.deadline.due_date}")
    if view.ranking:
        typer.echo(f"排名（{view.ranking.aggregation}）：")
        for entry in view.ranking.entries:
            note = f"  {entry.tie_note}" if entry.tie_note else ""
            gone = "  已取消成交资格" if entry.disqualified else ""
            typer.echo(f"  {entry.rank}. {entry.organization_name}  {yuan(entry.price_fen)}  {score_text(entry.final_score_x100)}{note}{gone}")
    for challenge in view.challenges:
        typer.echo(f"  质疑 {challenge.challenge_id} {challenge.organization_name}：{challenge.status.label}")
    for offer in view.offers:
        typer.echo(f"  成交通知 {offer.organization_name}：{offer.response.label if offer.response else '待确认，期限 ' + str(offer.deadline.due_date)}")
    if view.contract:
        typer.echo(f"合同记录 {view.contract.contract_no}：{view.contract.supplier_name}  {yuan(view.contract.amount_fen)}")
    for event in view.timeline:
        typer.echo(f"  {local_text(event.at)}  {event.summary}")
    for document in view.documents:
        typer.echo(f"  文书 {document.document_id}  {document.title}")


# --- fairs -----------------------------------------------------------------------------------------


@fair_app.command("create")
def create(
    title: Annotated[str, typer.Option(help="社洽会名称")],
    demands_due: Annotated[datetime, typer.Option(help="需求征集截止时间，如 2026-12-10T17:00+08:00")],
    fair_day: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="社洽会举办日，如 2026-12-15")],
    bids_close: Annotated[datetime, typer.Option(help="投标截止时间，如 2026-12-25T17:00+08:00")],
    user: As,
    as_json: JsonOut = False,
) -> None:
    """组织单位（民政局）创建社洽会。"""
    fair = validated(
        views.FairInput, title=title,
        schedule={"demands_due": demands_due, "fair_day": date.fromisoformat(fair_day.date().isoformat()), "bids_close": bids_close},
    )

    async def run(service: FairService) -> views.FairSummary:
        return await service.create_fair(service.actor(user), fair)

    emit(fairs(run), as_json, lambda f: typer.echo(f"已创建 {f.fair_no}：{f.title}，{f.phase_name}"))


@fair_app.command("list")
def list_fairs(as_json: JsonOut = False, limit: Limit = views.PAGE_LIMIT, offset: Offset = 0) -> None:
    """社洽会列表（最新的在前）。"""

    async def run(service: FairService) -> views.Page[views.FairSummary]:
        return service.fairs(limit, offset)

    def text(page: views.Page[views.FairSummary]) -> None:
        print_page(page, lambda f: typer.echo(f"{f.fair_no}  {f.title}  {f.phase_name}"), "还没有社洽会")

    emit(fairs(run), as_json, text)


@fair_app.command("show")
def show_fair(fair_no: str, user: Annotated[str | None, typer.Option("--as")] = None, as_json: JsonOut = False) -> None:
    """社洽会详情、需求与项目目录。"""

    async def run(service: FairService) -> views.FairView:
        return service.fair(service.actor(user) if user else None, fair_no)

    emit(fairs(run), as_json, print_fair)


@fair_app.command("demand")
def demand(fair_no: str, file: Path, user: As) -> None:
    """购买服务部门提交需求（JSON/YAML：title, service_content, target_group, location, budget_ceiling_fen, duration_months, requirements）。"""
    payload = read_model_file(file, DemandInput)

    async def run(service: FairService) -> Any:
        return await service.submit_demand(service.actor(user), fair_no, payload)

    print_receipt(fairs(run))


@fair_app.command("review")
def review(fair_no: str, demand_id: str, outcome: Annotated[str, typer.Argument(help="approve / reject")], user: As, reason: Reasons = None) -> None:
    """组织单位审核需求。"""
    decision = validated(views.DemandReviewInput, approve=outcome == "approve", reasons=reason or [])

    async def run(service: FairService) -> Any:
        return await service.review_demand(service.actor(user), fair_no, demand_id, decision)

    print_receipt(fairs(run))


@fair_app.command("publish")
def publish(fair_no: str, user: As) -> None:
    """组织单位发布需求公告，各项目开始接受投标。"""

    async def run(service: FairService) -> Any:
        return await service.publish_catalogue(service.actor(user), fair_no)

    print_receipt(fairs(run))


@fair_app.command("showcase")
def showcase(
    fair_no: str,
    add: Annotated[Path | None, typer.Option(help="登记展示项目的文件")] = None,
    user: Annotated[str | None, typer.Option("--as")] = None,
    limit: Limit = views.PAGE_LIMIT,
    offset: Offset = 0,
) -> None:
    """展示公益服务项目：列出，或以社会组织代表身份登记（--add FILE --as USER）。"""

    async def run(service: FairService) -> Any:
        if add:
            return await service.add_showcase_project(service.actor(user), fair_no, read_model_file(add, ShowcaseInput))
        return service.showcase(fair_no, limit, offset)

    def line(project: views.ShowcaseView) -> None:
        typer.echo(f"{project.project_id}  {project.organization_name}：{project.title}（{project.beneficiaries}）\n    {project.summary}")

    result = fairs(run)
    if add:
        print_receipt(result)
    else:
        print_page(result, line, "还没有展示项目")


# --- lots ------------------------------------------------------------------------------------------


@lot_app.command("show")
def show_lot(lot_no: str, user: Annotated[str | None, typer.Option("--as")] = None, as_json: JsonOut = False) -> None:
    """项目详情（按身份显示可见内容）。"""

    async def run(service: FairService) -> views.LotView:
        return service.lot(service.actor(user) if user else None, lot_no)

    emit(fairs(run), as_json, print_lot)


@lot_app.command("bid")
def bid(lot_no: str, file: Path, user: As) -> None:
    """投标（JSON/YAML：organization, price_fen, proposal, team, past_projects）。"""
    payload = read_model_file(file, BidInput)

    async def run(service: FairService) -> Any:
        return await service.submit_bid(service.actor(user), lot_no, payload)

    print_receipt(fairs(run))


@lot_app.command("amend")
def amend(lot_no: str, bid_id: str, file: Path, user: As) -> None:
    """截止前修改投标。"""
    payload = read_model_file(file, BidInput)

    async def run(service: FairService) -> Any:
        return await service.amend_bid(service.actor(user), lot_no, bid_id, payload)

    print_receipt(fairs(run))


@lot_app.command("withdraw")
def withdraw_bid(lot_no: str, bid_id: str, user: As) -> None:
    """截止前撤回投标。"""

    async def run(service: FairService) -> Any:
        return await service.withdraw_bid(service.actor(user), lot_no, bid_id)

    print_receipt(fairs(run))


@lot_app.command("negotiate")
def negotiate(lot_no: str, file: Path, user: As) -> None:
    """记录社洽会洽谈（JSON/YAML：organization, summary, participants）。"""
    payload = read_model_file(file, NegotiationInput)

    async def run(service: FairService) -> Any:
        return await service.record_negotiation(service.actor(user), lot_no, payload)

    print_receipt(fairs(run))


@lot_app.command("score")
def score(lot_no: str, file: Path, user: As) -> None:
    """评审专家提交评分（JSON/YAML：scores: {投标编号: {维度: 分数}}, comment）。"""
    payload = read_model_file(file, ScoreInput)

    async def run(service: FairService) -> Any:
        return await service.score(service.actor(user), lot_no, payload)

    print_receipt(fairs(run))


@lot_app.command("recuse")
def recuse(lot_no: str, user: As, reason: Annotated[str, typer.Option(help="回避理由")]) -> None:
    """评审专家申请回避。"""
    payload = validated(views.ConflictInput, reason=reason)

    async def run(service: FairService) -> Any:
        return await service.declare_conflict(service.actor(user), lot_no, payload)

    print_receipt(fairs(run))


@lot_app.command("challenge")
def challenge(lot_no: str, user: As, organization: Annotated[str, typer.Option(help="投标的社会组织（名录编号）")], content: Annotated[str, typer.Option(help="质疑内容")]) -> None:
    """投标人在结果公示期内提出质疑。"""
    payload = validated(views.ChallengeInput, organization=organization, content=content)

    async def run(service: FairService) -> Any:
        return await service.file_challenge(service.actor(user), lot_no, payload)

    print_receipt(fairs(run))


@lot_app.command("answer")
def answer(
    lot_no: str,
    challenge_id: str,
    outcome: Annotated[str, typer.Argument(help="uphold（成立）/ dismiss（不成立）")],
    user: As,
    reason: Reasons = None,
    disqualify: Annotated[str | None, typer.Option(help="质疑成立时取消成交资格的投标编号")] = None,
) -> None:
    """组织单位答复质疑。"""
    payload = validated(views.ChallengeAnswerInput, upheld=outcome == "uphold", reasons=reason or [], disqualify_bid=disqualify)

    async def run(service: FairService) -> Any:
        return await service.answer_challenge(service.actor(user), lot_no, challenge_id, payload)

    print_receipt(fairs(run))


@lot_app.command("respond")
def respond(
    lot_no: str,
    outcome: Annotated[str, typer.Argument(help="accept（确认成交）/ decline（放弃）")],
    user: As,
    organization: Annotated[str, typer.Option(help="收到成交通知的社会组织（名录编号）")],
    reason: Reasons = None,
) -> None:
    """收到成交通知书的社会组织确认或放弃成交。"""
    payload = validated(views.AwardResponseInput, organization=organization, accept=outcome == "accept", reasons=reason or [])

    async def run(service: FairService) -> Any:
        return await service.respond_to_award(service.actor(user), lot_no, payload)

    print_receipt(fairs(run))


@lot_app.command("disqualify")
def disqualify(lot_no: str, bid_id: str, user: As, reason: Reasons = None) -> None:
    """组织单位取消某投标的成交资格。"""
    payload = validated(views.DisqualificationInput, bid_id=bid_id, reasons=reason or [])

    async def run(service: FairService) -> Any:
        return await service.disqualify(service.actor(user), lot_no, payload)

    print_receipt(fairs(run))


@lot_app.command("failed")
def failed(
    lot_no: str,
    outcome: Annotated[str, typer.Argument(help="retender（重新组织）/ close（终止）")],
    user: As,
    bids_close: Annotated[datetime | None, typer.Option(help="重新组织时的投标截止时间")] = None,
    reason: Reasons = None,
) -> None:
    """流标后重新组织投标或终止项目。"""
    payload = validated(views.FailedLotInput, retender=outcome == "retender", bids_close=bids_close, reasons=reason or [])

    async def run(service: FairService) -> Any:
        return await service.decide_failed_lot(service.actor(user), lot_no, payload)

    print_receipt(fairs(run))
