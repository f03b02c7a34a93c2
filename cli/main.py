"""``shezu``: the operators' command line. Case operations go through the same service as the API."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from cli import accounts as account_commands
from cli.audit import audit_app
from cli.common import (
    As,
    JsonOut,
    Limit,
    Offset,
    emit,
    fail,
    print_history,
    print_page,
    print_receipt,
    read_model_file,
    validated,
    with_service,
)
from cli.contracts import contract_app
from cli.fairs import fair_app, lot_app
from cli.incubation import incubation_app
from schemas.application import Application, Track
from schemas.localtime import local_text
from schemas.money import yuan
from schemas.people import Role
from service import views
from service.cases import CaseService
from service.common import ServiceError
from service.connection import prepare_read_model, read_model
from service.contracts import ContractService
from service.documents import document_file
from service.fairs import FairService
from settings import get_settings
from store.db import SchemaNotCurrent

app = typer.Typer(help="shezu：社会组织备案登记、社洽会与购买服务合同的流程引擎", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日日历（国务院办公厅放假安排）", no_args_is_help=True)
directory_app = typer.Typer(help="辖区与人员名录（AB岗）", no_args_is_help=True)
readmodel_app = typer.Typer(help="读模型", no_args_is_help=True)
register_app = typer.Typer(help="社会组织名录", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")
app.add_typer(directory_app, name="directory")
app.add_typer(readmodel_app, name="readmodel")
app.add_typer(register_app, name="register")
app.add_typer(incubation_app, name="incubation")
app.add_typer(fair_app, name="fair")
app.add_typer(lot_app, name="lot")
app.add_typer(contract_app, name="contract")
app.add_typer(audit_app, name="audit")
app.add_typer(account_commands.account_app, name="account")

def print_case(view: views.CaseView) -> None:
    typer.echo(f"案号 {view.case_no}  {view.organization_name}（{view.track_name}）")
    typer.echo(f"申请人 {view.applicant_name}  所在社区 {view.community_name}  办理机关 {view.authority or '-'}")
    typer.echo(f"当前阶段：{view.phase_name}")
    for holder in view.holders:
        late = "（已超期）" if holder.overdue else ""
        typer.echo(
            f"  办理人：{holder.title} — {holder.office} {holder.holder}（{holder.post}岗；A岗{holder.a}/B岗{holder.b}），"
            f"期限 {holder.deadline.due_date}{late}"
        )
    if view.next_deadline:
        typer.echo(f"下一期限：{view.next_deadline.due_date}（{'；'.join(view.next_deadline.calendar)}）")
    if view.legal_deadline:
        met = {True: "（按期办结）", False: "（超期办结）", None: ""}[view.legal_deadline_met]
        typer.echo(f"法定办结期限：{view.legal_deadline.due_date}{met}")
    elif view.legal_clock_paused:
        typer.echo("法定办结期限：暂停计算")
    if view.missing:
        typer.echo("需补正：")
        for item in view.missing:
            typer.echo(f"  - {item}")
    if view.result:
        typer.echo(f"结果：{view.result}" + (f"（证书编号 {view.certificate_number}）" if view.certificate_number else ""))
        for reason in view.result_reasons:
            typer.echo(f"  理由：{reason}")
    print_history(view.timeline, view.documents)


@app.command()
def up() -> None:
    """启动整个系统：先升级读模型（同 shezu migrate），再启动 Temporal 开发服务器（数据保存在数据目录）、worker 和 HTTP 服务；某部分意外退出时自动重启。"""
    from cli.system import serve_forever

    raise typer.Exit(serve_forever(get_settings()))


@app.command()
def worker() -> None:
    """只运行 worker（读模型表结构须为最新：先运行 shezu migrate）。"""
    from worker import main

    asyncio.run(main())


@app.command()
def migrate() -> None:
    """把读模型数据库升级到本程序的表结构（空库则新建），并在名录为空时导入配置的名录和社会组织名录。
    可重复运行；多个进程同时运行时只有一个执行升级。"""
    from store.db import current_revisions

    settings = get_settings()
    engine = prepare_read_model(settings)
    revision = "、".join(sorted(current_revisions(engine)))
    typer.echo(f"读模型已是最新表结构（版本 {revision}）：{engine.url.render_as_string(hide_password=True)}")


@app.command()
def communities(as_json: JsonOut = False) -> None:
    """可申请的社区及其代码。"""
    settings = get_settings()
    rows = CaseService(settings, read_model(settings)).communities()

    def text(found: list[views.CommunityView]) -> None:
        for row in found:
            typer.echo(f"{row.code}  {row.full_name}")

    emit(rows, as_json, text)


@app.command()
def requirements(
    community: Annotated[str, typer.Argument(help="社区代码，如 YJ-JG-CG")],
    track: Annotated[Track, typer.Argument(help="filing / association / service_institution")],
    as_json: JsonOut = False,
) -> None:
    """某社区某办理类型要求的材料（含材料代码）、条件、费用、期限和绿色通道规则。"""
    settings = get_settings()
    try:
        found = CaseService(settings, read_model(settings)).requirements(community, track)
    except ServiceError as error:
        fail(error.message, error.details)

    def text(view: views.RequirementsView) -> None:
        rules = view.requirements
        typer.echo(f"{view.community} · {rules.name}（{view.policy.title} 版本 {view.policy.version}）")
        typer.echo("材料（代码：名称）：")
        for material in rules.materials:
            each = "（每位发起人和拟任负责人各一份，person 填姓名）" if material.per_person else ""
            typer.echo(f"  {material.id}：{material.title}{each}")
        typer.echo("条件：")
        for threshold in rules.thresholds:
            need = f"不少于{threshold.minimum}{threshold.unit}" if threshold.minimum is not None else "须具备"
            typer.echo(f"  {threshold.label}：{need}（{threshold.citation}）")
        typer.echo(f"公示：{rules.public_notice_working_days}个工作日；法定办结：{rules.legal_time_limit_working_days}个工作日")
        if view.green_channel:
            typer.echo(f"{view.green_channel.title}（社区社会组织适用）：")
            for rule in view.green_channel.rules:
                typer.echo(f"  {rule.group}·{rule.name}")
        typer.echo(view.defaults_note)

    emit(found, as_json, text)


@app.command()
def checklist(file: Path, as_json: JsonOut = False) -> None:
    """按所在辖区政策预审申请文件，列出材料、免交项、条件和费用（不提交）。"""
    application = read_model_file(file, Application)
    settings = get_settings()
    service = CaseService(settings, read_model(settings))
    try:
        assessment = service.assess(application)
    except ServiceError as error:
        fail(error.message, error.details)
    if as_json:
        typer.echo(assessment.model_dump_json(indent=2))
        return
    result = assessment.checklist
    typer.echo(result.green_channel_explanation)
    typer.echo("材料：")
    for item in result.materials:
        typer.echo(f"  - {item.explanation}")
    typer.echo("条件：")
    for threshold in result.thresholds:
        typer.echo(f"  - {threshold.explanation}")
    typer.echo("费用：")
    for fee in result.fees:
        typer.echo(f"  - {fee.explanation}")
    typer.echo(f"应缴合计：{yuan(result.fees_due_fen)}")
    typer.echo(f"结论：{'材料齐全、条件符合，可以受理' if result.complete else '需补正后才能受理'}")
    typer.echo(f"政策：{result.policy.title} 版本 {result.policy.version}（{result.policy.path}）")
    typer.echo(result.defaults_note)


@app.command()
def submit(file: Path, user: As, as_json: JsonOut = False) -> None:
    """提交备案/登记申请（JSON 或 YAML 文件）。"""
    application = read_model_file(file, Application)

    async def run(service: CaseService) -> views.SubmissionReceipt:
        return await service.submit(service.actor(user, application.applicant_name), application)

    receipt = with_service(run)

    def text(r: views.SubmissionReceipt) -> None:
        typer.echo(f"已提交，案号 {r.case_no}。当前：{r.phase_name}")
        for item in r.missing:
            typer.echo(f"  需补正：{item}")

    emit(receipt, as_json, text)


@app.command()
def status(case_no: str, user: As, as_json: JsonOut = False, live: bool = False) -> None:
    """查看案件状态、办理人、期限、需补正内容、办理过程和文书。"""

    async def run(service: CaseService) -> views.CaseView:
        actor = service.actor(user)
        return await service.live_case(actor, case_no) if live else service.case(actor, case_no)

    emit(with_service(run), as_json, print_case)


@app.command()
def cases(user: As, as_json: JsonOut = False, limit: Limit = views.PAGE_LIMIT, offset: Offset = 0) -> None:
    """我的申请（最新提交的在前）。"""

    async def run(service: CaseService) -> views.Page[views.CaseSummary]:
        return service.my_cases(service.actor(user), limit, offset)

    def text(page: views.Page[views.CaseSummary]) -> None:
        print_page(
            page, lambda row: typer.echo(f"{row.case_no}  {row.organization_name}  {row.track_name}  {row.phase_name}"), "没有申请"
        )

    emit(with_service(run), as_json, text)


@app.command()
def tasks(
    user: As,
    role: Annotated[Role | None, typer.Option(help="角色，默认本人角色")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="辖区代码，默认本人辖区")] = None,
    include_closed: Annotated[bool, typer.Option("--all", help="包括已办结的任务")] = False,
    as_json: JsonOut = False,
    limit: Limit = views.PAGE_LIMIT,
    offset: Offset = 0,
) -> None:
    """待办任务（按角色和辖区，最早到期的在前）。"""

    async def run(service: CaseService) -> views.Page[views.TaskView]:
        return service.inbox(service.actor(user), role, jurisdiction, include_closed, limit, offset)

    def line(row: views.TaskView) -> None:
        flag = "已超期 " if row.overdue else ""
        typer.echo(
            f"{row.case_no}  {row.step}  {row.title}  {row.organization_name}  {row.holder}（{row.post}岗）  "
            f"{flag}期限 {local_text(row.due_at)}  {row.status}"
        )

    def text(page: views.Page[views.TaskView]) -> None:
        print_page(page, line, "没有待办任务")

    emit(with_service(run), as_json, text)


@app.command()
def decide(
    case_no: str,
    step: Annotated[str, typer.Argument(help="办理环节，如 preliminary_review / authority_review / decision")],
    outcome: Annotated[str, typer.Argument(help="approve（同意）/ refuse（不同意）/ request_correction（要求补正）")],
    user: As,
    reason: Annotated[list[str] | None, typer.Option("--reason", help="理由或补正事项，可重复")] = None,
    comment: Annotated[str | None, typer.Option(help="意见")] = None,
) -> None:
    """工作人员办理当前环节。"""
    decision = validated(views.DecisionInput, step=step, outcome=outcome, reasons=reason or [], comment=comment)

    async def run(service: CaseService) -> Any:
        return await service.decide(service.actor(user), case_no, decision)

    print_receipt(with_service(run))


@app.command()
def correct(case_no: str, file: Path, user: As) -> None:
    """申请人补正材料（文件内容：materials 列表，可选 application 更正后的申请信息、note 说明）。"""
    correction = read_model_file(file, views.CorrectionInput)

    async def run(service: CaseService) -> Any:
        return await service.correct(service.actor(user), case_no, correction)

    print_receipt(with_service(run))


@app.command()
def withdraw(case_no: str, user: As, reason: Annotated[str | None, typer.Option(help="撤回原因")] = None) -> None:
    """申请人在作出决定前撤回申请。"""

    async def run(service: CaseService) -> Any:
        return await service.withdraw(service.actor(user), case_no, views.WithdrawalInput(reason=reason))

    print_receipt(with_service(run))


@app.command()
def rate(
    case_no: str,
    score: Annotated[int, typer.Argument(min=1, max=5, help="1 非常不满意、2 不满意、3 基本满意、4 满意、5 非常满意")],
    user: As,
    comment: Annotated[str | None, typer.Option(help="评价内容（不超过500字；评 1、2 分须写明原因）")] = None,
) -> None:
    """申请人在案件办结后评价办理服务（好差评，每案一次）。"""
    from schemas.ratings import RatingInput
    from service.ratings import RatingService

    rating = validated(RatingInput, score=score, comment=comment)

    async def run(service: CaseService) -> Any:
        return RatingService(service).rate(service.actor(user), case_no, rating)

    given = with_service(run)
    typer.echo(f"已评价 {given.case_no}：{given.score} 分（{given.score_name}），记在{given.office_name}名下")


@app.command(name="object")
def object_(
    case_no: str,
    user: As,
    name: Annotated[str, typer.Option(help="异议人姓名")],
    content: Annotated[str, typer.Option(help="异议内容")],
    contact: Annotated[str | None, typer.Option(help="联系方式")] = None,
) -> None:
    """公示期内提出异议。"""
    objection = validated(views.ObjectionInput, name=name, content=content, contact=contact)

    async def run(service: CaseService) -> Any:
        return await service.file_objection(service.actor(user, name, Role.public), case_no, objection)

    print_receipt(with_service(run))


@app.command(name="answer-objection")
def answer_objection(
    case_no: str,
    objection_id: str,
    content: Annotated[str, typer.Argument(help="陈述申辩的内容")],
    user: As,
) -> None:
    """申请人就公示异议陈述申辩（异议处理完毕前）。"""
    answer = validated(views.ObjectionAnswerInput, content=content)

    async def run(service: CaseService) -> Any:
        return await service.answer_objection(service.actor(user), case_no, objection_id, answer)

    print_receipt(with_service(run))


@app.command(name="resolve-objection")
def resolve_objection(
    case_no: str,
    objection_id: str,
    outcome: Annotated[str, typer.Argument(help="uphold（异议成立）/ dismiss（异议不成立）")],
    user: As,
    reason: Annotated[list[str] | None, typer.Option("--reason", help="核查情况和理由，可重复")] = None,
) -> None:
    """工作人员处理公示异议。"""
    resolution = validated(views.ObjectionResolutionInput, outcome=outcome, reasons=reason or [])

    async def run(service: CaseService) -> Any:
        return await service.resolve_objection(service.actor(user), case_no, objection_id, resolution)

    print_receipt(with_service(run))


@app.command()
def documents(case_no: str, user: As, as_json: JsonOut = False) -> None:
    """案件的文书。"""

    async def run(service: CaseService) -> list[views.DocumentView]:
        return service.case(service.actor(user), case_no).documents

    def text(rows: list[views.DocumentView]) -> None:
        for row in rows:
            typer.echo(f"{row.document_id}  {row.title}  {row.reference}  {local_text(row.issued_at)}  PDF sha256 {row.pdf_sha256}")

    emit(with_service(run), as_json, text)


@app.command()
def download(
    document_id: str,
    user: As,
    fmt: Annotated[str, typer.Option("--format", help="pdf 或 html")] = "pdf",
    out: Annotated[Path | None, typer.Option(help="保存到的文件，默认当前目录")] = None,
) -> None:
    """下载文书。"""

    async def run(service: CaseService) -> tuple[Path, str]:
        fairs = FairService(service.settings, service.engine, service.client)
        contracts = ContractService(service.settings, service.engine, service.client)
        return document_file(service, fairs, contracts, service.actor(user), document_id, fmt)

    path, filename = with_service(run)
    target = out or Path(filename)
    target.write_bytes(path.read_bytes())
    typer.echo(f"已保存 {target}")


@app.command()
def notifications(user: As, as_json: JsonOut = False, limit: Limit = views.PAGE_LIMIT, offset: Offset = 0) -> None:
    """我的消息（最新的在前）。"""

    async def run(service: CaseService) -> views.NotificationPage:
        return service.notifications(service.actor(user), limit, offset)

    def text(page: views.NotificationPage) -> None:
        typer.echo(f"未读 {page.unread} 条")
        print_page(
            page,
            lambda row: typer.echo(f"{local_text(row.created_at)}  {'' if row.read_at else '【未读】'}{row.subject}\n    {row.body}"),
            "没有消息",
        )

    emit(with_service(run), as_json, text)


@app.command(name="public-notices")
def public_notices(as_json: JsonOut = False, limit: Limit = views.PAGE_LIMIT, offset: Offset = 0) -> None:
    """正在公示的申请。"""

    async def run(service: CaseService) -> views.Page[views.PublicNoticeView]:
        return service.public_notices(limit, offset)

    def line(row: views.PublicNoticeView) -> None:
        typer.echo(f"{row.case_no}  {row.organization_name}  {row.track_name}  {row.community_name}  公示至 {row.until}")

    def text(page: views.Page[views.PublicNoticeView]) -> None:
        print_page(page, line, "目前没有正在公示的申请")

    emit(with_service(run), as_json, text)


@calendar_app.command("load")
def calendar_load(file: Path, user: As = "admin") -> None:
    """导入某一年的官方放假安排（YAML/JSON，格式见 docs/calendar-example.yaml），无需改代码。"""
    from store.calendars import load_calendar_year, read_calendar_file

    settings = get_settings()
    engine = read_model(settings)
    try:
        year = read_calendar_file(file)
    except (ValueError, OSError) as error:
        fail(str(error))
    record = load_calendar_year(engine, year, loaded_by=user)
    typer.echo(f"已导入 {record.year} 年日历「{record.title}」（sha256 {record.sha256[:12]}），此后计算的期限按此日历。")


@calendar_app.command("list")
def calendar_list() -> None:
    """列出管理员导入的年度日历。"""
    from store.calendars import loaded_years

    for record in loaded_years(read_model(get_settings())):
        typer.echo(f"{record.year}  {record.title}  由 {record.loaded_by} 于 {local_text(record.loaded_at)} 导入")


@directory_app.command("load")
def directory_load(file: Path) -> None:
    """导入辖区与人员名录（替换现有名录）。"""
    from store.directory import load_directory, read_directory_file

    try:
        directory = read_directory_file(file)
    except (ValidationError, OSError, ValueError) as error:
        fail(f"名录文件有误：{error}")
    load_directory(read_model(get_settings()), directory)
    typer.echo(f"已导入名录：{len(directory.flattened())} 个辖区，{len(directory.staff)} 名工作人员，{len(directory.posts)} 个岗位")


@register_app.command("import")
def register_import(file: Path) -> None:
    """导入本系统之前已登记或备案的社会组织（含评估等级、信用状态、负责人代表）。"""
    from store.register import load_register, read_register_file

    try:
        count = load_register(read_model(get_settings()), read_register_file(file))
    except (ValidationError, OSError, ValueError) as error:
        fail(f"名录文件有误：{error}")
    typer.echo(f"已导入 {count} 个社会组织")


@incubation_app.command("load-bases")
def incubation_load_bases(file: Path) -> None:
    """导入孵化基地（总部与街道分基地）：运营机构、席位、服务内容、AB岗与导师；运营机构须已在社会组织名录中。"""
    from store.bases import load_bases, read_bases_file

    try:
        count = load_bases(read_model(get_settings()), read_bases_file(file))
    except (ValidationError, OSError, ValueError) as error:
        fail(f"孵化基地文件有误：{error}")
    typer.echo(f"已导入 {count} 个孵化基地")


@readmodel_app.command("rebuild")
def readmodel_rebuild() -> None:
    """从各案件（备案登记、社洽会、项目、合同、孵化）的流程状态重建读模型；无法读取的案件逐一列出并继续，最后以非零状态退出。"""
    from service.rebuild import rebuild

    report = with_service(rebuild)
    labels = {
        "FilingWorkflow": "备案登记", "FairWorkflow": "社洽会", "LotWorkflow": "项目", "ContractWorkflow": "合同",
        "IncubationWorkflow": "孵化",
    }  # fmt: skip
    for case_no, kind, error in report.failures:
        typer.echo(f"✗ {case_no}（{labels[kind]}）无法读取流程状态，未重建：{error}", err=True)
    counts = "、".join(f"{labels[kind]} {count} 个" for kind, count in report.rebuilt.items())
    typer.echo(f"已从流程状态重建 {report.total} 个案件（{counts}）" + (f"；{len(report.failures)} 个案件失败" if report.failures else ""))
    if report.failures:
        raise typer.Exit(1)


@app.command()
def doctor(as_json: JsonOut = False) -> None:
    """检查系统：读模型表结构是否最新、是否有 worker 在处理任务队列、哪些案件的流程任务反复失败（列出错误）；有问题时以非零状态退出。"""
    from cli.common import temporal_client
    from service.health import HealthReport, health
    from store.db import engine_for

    settings = get_settings()

    async def run() -> HealthReport:
        return await health(settings, engine_for(settings.effective_database_url), await temporal_client())

    report = asyncio.run(run())
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        typer.echo(f"读模型表结构：{report.schema_problem or '最新'}")
        typer.echo(f"任务队列 {settings.task_queue} 上的 worker：{'、'.join(report.pollers) or '无'}")
        for case in report.broken:
            typer.echo(f"✗ {case.case_no}（{case.workflow_type}，运行 {case.run_id[:8]}）流程任务第 {case.attempts} 次尝试，错误：{case.error}")
        typer.echo("一切正常" if report.healthy else f"发现 {len(report.problems)} 个问题")
    raise typer.Exit(0 if report.healthy else 1)


@app.command()
def demo() -> None:
    """演示：一件绿色通道备案从提交到发证，一件登记被驳回；与预期不符时以非零状态退出。"""
    from cli.demo import run_demo

    raise typer.Exit(run_demo(get_settings()))


@app.command()
def api() -> None:
    """只运行 HTTP 服务（读模型表结构须为最新：先运行 shezu migrate）。"""
    import uvicorn

    settings = get_settings()
    read_model(settings)
    uvicorn.run("api.app:app", host=settings.http_host, port=settings.http_port)


for command in (account_commands.login, account_commands.logout, account_commands.whoami):
    app.command()(command)


def run() -> None:
    """The console entry point. It leaves without interpreter finalization once output is flushed:
    the Temporal SDK's runtime threads can abort a finalizing interpreter (sdk-python#300) after
    all work is done, which would turn a finished command into a crash."""
    try:
        app()
        code = 0
    except SchemaNotCurrent as problem:
        print(f"错误：{problem}", file=sys.stderr)
        code = 2
    except SystemExit as leaving:
        if isinstance(leaving.code, str):
            print(leaving.code, file=sys.stderr)
        code = leaving.code if isinstance(leaving.code, int) else (0 if leaving.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
