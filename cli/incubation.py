"""``shezu incubation …``: incubation bases and incubations, through the same service as the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import (
    As,
    JsonOut,
    Limit,
    Offset,
    emit,
    print_history,
    print_page,
    print_receipt,
    read_model_file,
    validated,
    with_service,
)
from schemas.application import Application
from schemas.incubation import Service as BaseService
from schemas.incubation_case import AssessmentOutcome, IncubationPhase
from schemas.localtime import local_text
from service import incubation_views as iv
from service import views
from service.connection import read_model
from service.incubation import IncubationService
from settings import get_settings

incubation_app = typer.Typer(help="社会组织孵化基地（1+8+N）：基地、入孵申请、入孵审核、导师报告、备案登记、出壳评估", no_args_is_help=True)
CaseNo = Annotated[str, typer.Argument(help="孵化案号")]
InputFile = Annotated[Path, typer.Argument(help="JSON 或 YAML 文件")]
Reasons = Annotated[list[str] | None, typer.Option("--reason", help="理由，可重复")]


def incubations(action: Callable[[IncubationService], Awaitable[Any]]) -> Any:
    return with_service(action, IncubationService)


def act(user: str, action: Callable[..., Awaitable[Any]], *args: Any) -> None:
    """One action as ``user`` (an IncubationService method taking the actor first), and its receipt."""

    async def run(service: IncubationService) -> Any:
        return await action(service, service.actor(user), *args)

    print_receipt(incubations(run))


# --- printing ------------------------------------------------------------------------------------------


def print_bases(found: list[iv.BaseView]) -> None:
    if not found:
        typer.echo("没有孵化基地，请先用 shezu incubation load-bases 导入")
    for base in found:
        typer.echo(
            f"{base.code}  {base.name}（{base.kind_label}）  空余席位 {base.free_places}/{base.capacity}  "
            f"候补 {base.waiting}  服务：{'、'.join(base.services)}  运营：{base.operator_name}"
        )


def print_list(page: views.Page[iv.IncubationSummary]) -> None:
    def line(row: iv.IncubationSummary) -> None:
        typer.echo(f"{row.case_no}  {row.group_name}  {row.base_name}  {row.phase_name}  {local_text(row.updated_at)}")

    print_page(page, line, "没有可查看的孵化案件")


def print_incubation(view: iv.IncubationView) -> None:
    typer.echo(f"{view.case_no}  {view.group_name}  {view.base_name}  {view.phase_name}")
    if view.waiting_position:
        typer.echo(f"候补名单第{view.waiting_position}位")
    term = f"，至 {view.term_ends.date().isoformat()}" if view.term_ends else ""
    typer.echo(f"申请孵化 {view.term_months} 个月（政策：{view.term_range or '—'}）{term}；延期 {view.extensions} 次")
    if view.mentor:
        typer.echo(f"导师：{view.mentor}；服务：{'、'.join(view.services) or '—'}；孵化报告 {view.reports} 份")
    if view.service_plan:
        typer.echo(f"服务计划：{view.service_plan}")
    typer.echo("出壳标准：" + "；".join(f"{c.label}{'（已达到）' if c.met else ''}" for c in view.criteria))
    for filing in view.filings:
        typer.echo(f"备案登记：{filing.case_no}  {filing.track_label}  {filing.outcome or '办理中'}")
    for holder in view.holders:
        typer.echo(f"待办：{holder.title}  {holder.holder}  期限 {holder.deadline.due_date}")
    if view.reasons:
        typer.echo("理由：" + "；".join(view.reasons))
    if view.actions:
        typer.echo("您现在可以办理：" + "、".join(view.actions))
    print_history(view.timeline, view.documents)


# --- commands ------------------------------------------------------------------------------------------


@incubation_app.command("bases")
def bases(
    jurisdiction: str = typer.Option("", help="辖区代码，如 YJ；默认全部"), as_json: JsonOut = False
) -> None:
    """列出孵化基地及其空余席位、候补人数和服务内容（公开，无需身份）。"""
    settings = get_settings()
    service = IncubationService(settings, read_model(settings))
    emit(service.bases(jurisdiction or None), as_json, print_bases)


@incubation_app.command("apply")
def apply(file: InputFile, user: As, as_json: JsonOut = False) -> None:
    """申请入孵（组织或团队的负责人），见 examples/incubation-application.json。"""
    application = read_model_file(file, iv.IncubationApplicationInput)

    async def run(service: IncubationService) -> iv.IncubationReceipt:
        return await service.apply(service.actor(user), application)

    emit(incubations(run), as_json, lambda r: typer.echo(f"{r.case_no}：{r.message}。当前：{r.phase_name}"))


@incubation_app.command("list")
def list_incubations(
    user: As,
    base: str = typer.Option("", help="孵化基地编号"),
    phase: IncubationPhase | None = typer.Option(None, help="阶段"),
    as_json: JsonOut = False,
    limit: Limit = views.PAGE_LIMIT,
    offset: Offset = 0,
) -> None:
    """我能看到的孵化案件：本组织的、本基地的、我辅导的、本辖区的。"""

    async def run(service: IncubationService) -> views.Page[iv.IncubationSummary]:
        return service.list(service.actor(user), base or None, phase, limit, offset)

    emit(incubations(run), as_json, print_list)


@incubation_app.command("show")
def show(case_no: CaseNo, user: As, as_json: JsonOut = False) -> None:
    """孵化案件详情：期限、导师、服务、出壳标准、备案登记、待办、办理过程与文书。"""

    async def run(service: IncubationService) -> iv.IncubationView:
        return service.view(service.actor(user), case_no)

    emit(incubations(run), as_json, print_incubation)


@incubation_app.command("admit")
def admit(
    case_no: CaseNo,
    user: As,
    refuse: bool = typer.Option(False, "--refuse", help="不予入孵（须写理由）"),
    reasons: Reasons = None,
    mentor: str | None = typer.Option(None, "--mentor", help="导师的用户标识；默认基地的第一位导师"),
    services: list[BaseService] | None = typer.Option(None, "--service", help="服务内容，可重复；默认基地的全部服务"),
    plan: str | None = typer.Option(None, "--plan", help="服务计划"),
) -> None:
    """基地入孵审核：准予（确定导师与服务）或不予（说明理由）。"""
    decision = validated(
        iv.AdmissionInput, admit=not refuse, reasons=reasons or [], mentor_id=mentor, services=services or [],
        service_plan=plan,
    )  # fmt: skip
    act(
        user, IncubationService.decide_admission, case_no, decision.admit, decision.reasons, decision.mentor_id,
        decision.services, decision.service_plan,
    )  # fmt: skip


@incubation_app.command("report")
def report(case_no: CaseNo, text: Annotated[str, typer.Argument(help="孵化报告")], user: As) -> None:
    """导师提交孵化报告（逾期后由基地B岗提交）。"""
    act(user, IncubationService.report, case_no, validated(iv.ReportInput, summary=text).summary)


@incubation_app.command("assess")
def assess(
    case_no: CaseNo,
    user: As,
    outcome: AssessmentOutcome = typer.Option(..., "--outcome", help="graduate 准予出壳 / extend 延期出壳 / exit 退出孵化"),
    criteria: list[str] | None = typer.Option(None, "--met", help="已达到的出壳标准编号，可重复"),
    reasons: Reasons = None,
    months: int | None = typer.Option(None, "--months", help="延期月数"),
) -> None:
    """基地出壳评估。"""
    found = validated(
        iv.AssessmentInput, outcome=outcome, criteria_met=criteria or [], reasons=reasons or [], extension_months=months
    )
    act(user, IncubationService.assess, case_no, found.outcome, found.criteria_met, found.reasons, found.extension_months)


@incubation_app.command("review")
def review(
    case_no: CaseNo,
    user: As,
    send_back: bool = typer.Option(False, "--send-back", help="退回基地重新评估（须写理由）"),
    reasons: Reasons = None,
) -> None:
    """民政局审核基地的出壳评估：同意，或退回。"""
    found = validated(iv.AssessmentReviewInput, agree=not send_back, reasons=reasons or [])
    act(user, IncubationService.review_assessment, case_no, found.agree, found.reasons)


@incubation_app.command("exit")
def exit_incubation(case_no: CaseNo, user: As, reasons: Reasons = None) -> None:
    """退出孵化（入孵组织、基地或民政局），须说明理由；席位按候补顺序递补。"""
    act(user, IncubationService.leave, case_no, validated(iv.ExitInput, reasons=reasons or []).reasons)


@incubation_app.command("file")
def file(case_no: CaseNo, application_file: InputFile, user: As, as_json: JsonOut = False) -> None:
    """孵化期内申请备案或登记（与 shezu submit 相同的申请文件），作为孵化的子案件办理。"""
    application = read_model_file(application_file, Application)

    async def run(service: IncubationService) -> iv.FilingReceipt:
        return await service.start_filing(service.actor(user), case_no, application)

    emit(incubations(run), as_json, lambda r: typer.echo(f"{r.case_no}：{r.message}"))
