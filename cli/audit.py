"""``shezu audit``: evidence an auditor can check without trusting the running system — bundles,
offline verification, timelines from histories, the replay gate, process diagrams and OCDS."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from temporalio.client import Client
from temporalio.service import RPCError

from audit.bundle import MANIFEST, build_bundle, bundle_cases, export_cases, read_bundle, verify_bundle, write_bundle
from audit.history import RecordedCase, RecordedRun, UnreadableHistory
from audit.replay import replay_all
from audit.source import CaseNotFound, fetch_case_tree, folder_runs, group_runs, server_cases
from audit.timeline import reconstruct
from cli.common import JsonOut, fail, temporal_client
from schemas.localtime import SHANGHAI
from service.connection import read_model
from settings import get_settings
from store import register

audit_app = typer.Typer(help="审计：导出与离线核验审计包、还原办理过程、重放检查、流程图、OCDS 公开数据", no_args_is_help=True)

R = TypeVar("R")
At = Annotated[
    str | None,
    typer.Option("--at", help="某一时刻（北京时间），如 2026-12-01 或 '2026-12-01 15:30'；只给日期时指当天结束时"),
]
Source = Annotated[str, typer.Argument(help="案号（从流程服务读取），或审计包（文件夹或 .zip），或历史 JSON 文件", show_default=False)]


def _run(action: Callable[[], Awaitable[R]]) -> R:
    try:
        return asyncio.run(action())
    except CaseNotFound as error:
        fail(str(error))
    except UnreadableHistory as error:
        fail(str(error))
    except RPCError as error:
        fail(f"流程服务返回错误：{error}")
    raise AssertionError("unreachable")


def parse_moment(text: str | None) -> datetime | None:
    """A moment as staff write it, in Beijing time unless it names its offset; a bare date means the end of that day."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"时间「{text}」无法识别，请写成 2026-12-01 或 2026-12-01 15:30")
    if len(text.strip()) == 10:
        moment = datetime.combine(moment.date(), time(23, 59, 59, 999999))
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


async def load_cases(source: str) -> list[RecordedCase]:
    """The case a command is about, first, and the cases beside it (its children, or the rest of a bundle)."""
    path = Path(source)
    if path.exists():
        if (path / MANIFEST).is_file() or path.suffix == ".zip":
            try:
                return bundle_cases(read_bundle(path))
            except (OSError, ValueError) as error:
                fail(str(error))
        runs = list(folder_runs(path))
        unreadable = [str(run) for run in runs if isinstance(run, UnreadableHistory)]
        if unreadable:
            fail("历史文件无法读取", unreadable)
        if not runs:
            fail(f"{source} 中没有历史文件（*.json）")
        return group_runs([run for run in runs if not isinstance(run, UnreadableHistory)])
    return await fetch_case_tree(await temporal_client(), source)


@audit_app.command("export")
def export(
    case_no: Annotated[str, typer.Argument(help="案号、社洽会编号、项目编号或合同编号")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="审计包位置：文件夹，或以 .zip 结尾的文件")] = None,
) -> None:
    """导出一个案件（连同它启动的子案件）的审计包：流程历史、全部文书和带 SHA-256 的清单。"""
    settings = get_settings()
    target = output or Path(f"{case_no}.audit")

    async def run() -> dict[str, bytes]:
        cases, unreadable = await export_cases(await temporal_client(), case_no)
        source = {"temporal_address": settings.temporal_address, "namespace": settings.temporal_namespace}
        return build_bundle(cases, settings.documents_dir, source, unreadable)

    try:
        files = _run(run)
        digest = write_bundle(files, target)
    except OSError as error:  # a document missing from storage, or the target already in use
        fail(str(error))
    manifest = json.loads(files[MANIFEST])
    typer.echo(f"已导出 {case_no} 的审计包：{target}")
    typer.echo(f"  {len(manifest['cases'])} 个案件、{len(manifest['histories'])} 份流程历史、{len(manifest['documents'])} 份文书")
    typer.echo(f"  清单 SHA-256：{digest}")
    typer.echo(f"  请将此摘要另行留存；核验时可用 shezu audit verify {target} --manifest-sha256 {digest}")
    for problem in manifest["unreadable"]:
        typer.echo(f"✗ 无法读取，未导出：{problem}", err=True)
    if manifest["unreadable"]:
        typer.echo(f"{len(manifest['unreadable'])} 个子案件无法读取，审计包不完整（清单已注明）", err=True)
        raise typer.Exit(1)


@contextmanager
def stdout_kept_for_the_report() -> Iterator[None]:
    """While the work runs, whatever anything writes to stdout goes to stderr instead: the Temporal
    SDK's core prints its log lines (a run failing to replay is a WARN) straight onto file descriptor 1,
    below Python, and a report read by a program (``--json``) must be the only thing on stdout."""
    sys.stdout.flush()
    kept = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(kept, 1)
        os.close(kept)


@audit_app.command("verify")
def verify(
    bundle: Annotated[Path, typer.Argument(help="审计包：文件夹或 .zip 文件")],
    manifest_sha256: Annotated[str | None, typer.Option("--manifest-sha256", help="导出时另行留存的清单摘要")] = None,
    as_json: JsonOut = False,
) -> None:
    """离线核验审计包（无需流程服务）：重放历史、按历史重新生成文书并比对哈希、核对清单；有不符时以非零状态退出。"""
    with stdout_kept_for_the_report():
        report = asyncio.run(verify_bundle(bundle, manifest_sha256))
    typer.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2) if as_json else report.text())
    raise typer.Exit(0 if report.passed else 1)


@audit_app.command("timeline")
def timeline(source: Source, at: At = None, as_json: JsonOut = False, state: bool = False,
             case: Annotated[str | None, typer.Option("--case", help="审计包中的哪一个案件（默认导出的那个）")] = None) -> None:
    """仅凭流程历史还原办理过程（谁、以何角色、何时、做了什么、前后阶段、期限是否按期），以及某一时刻的案件状态。"""
    moment = parse_moment(at)
    chosen = _choose(_run(lambda: load_cases(source)), case)
    try:
        result = reconstruct(chosen, moment)
    except ValueError as error:
        fail(str(error))
    typer.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2) if as_json else result.text(with_state=state))


@audit_app.command("diagram")
def diagram(source: Source, at: At = None,
            output: Annotated[Path | None, typer.Option("--output", "-o", help="写入文件（.mmd）")] = None,
            case: Annotated[str | None, typer.Option("--case", help="审计包中的哪一个案件（默认导出的那个）")] = None) -> None:
    """画出案件所属流程（Mermaid），高亮该案件实际走过的路径和当前所处阶段。"""
    from audit.diagram import process_diagram

    chosen = _choose(_run(lambda: load_cases(source)), case)
    text = process_diagram(chosen, parse_moment(at))
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"已写入 {output}")
    else:
        typer.echo(text)


@audit_app.command("replay-all")
def replay_all_command(
    folder: Annotated[Path | None, typer.Option("--from", help="历史文件所在文件夹（不给则重放流程服务上的全部案件）")] = None,
    query: Annotated[str | None, typer.Option("--query", help="只重放符合条件的案件（Temporal 列表查询，如 WorkflowType='LotWorkflow'）")] = None,
) -> None:
    """用当前流程代码重放全部案件的历史；任何一件不能重放即以非零状态退出（部署前的兼容性闸门）。"""

    async def run() -> tuple[list[Any], list[str]]:
        if folder is None:
            unreadable: list[str] = []
            return await replay_all(readable_server_runs(await temporal_client(), query, unreadable)), unreadable
        if not folder.exists():
            fail(f"找不到 {folder}")
        runs = list(folder_runs(folder))
        readable = [run for run in runs if not isinstance(run, UnreadableHistory)]
        return await replay_all(readable), [str(run) for run in runs if isinstance(run, UnreadableHistory)]

    outcomes, unreadable = _run(run)
    failed = [outcome for outcome in outcomes if outcome.failure]
    for outcome in failed:
        typer.echo(f"✗ {outcome.subject}：{outcome.failure}")
    for problem in unreadable:
        typer.echo(f"✗ {problem}")
    typer.echo(f"重放 {len(outcomes)} 次运行：{len(outcomes) - len(failed)} 次一致，{len(failed)} 次不一致"
               + (f"，{len(unreadable)} 份历史无法读取" if unreadable else ""))
    if not outcomes and not unreadable:
        typer.echo("没有可重放的历史")
    raise typer.Exit(1 if failed or unreadable else 0)


async def readable_server_runs(client: Client, query: str | None, unreadable: list[str]) -> AsyncIterator[RecordedRun]:
    """Every run the server lists; one whose history cannot be fetched or read (another application's
    workflow type, a run deleted meanwhile) is added to ``unreadable`` and the others still come."""
    async for execution in client.list_workflows(query):
        try:
            history = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
            yield RecordedRun(execution.id, history)
        except (RPCError, UnreadableHistory) as error:
            unreadable.append(f"{execution.id}（运行 {execution.run_id[:8]}）无法读取：{error}")


@audit_app.command("ocds")
def ocds(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="写入文件（默认输出到屏幕）")] = None,
    folder: Annotated[Path | None, typer.Option("--from", help="从审计包或历史文件夹生成（不给则读取流程服务上的全部社洽会、项目与合同）")] = None,
    prefix: Annotated[str | None, typer.Option("--prefix", help="OCDS ocid 前缀（向开放合同伙伴关系注册所得，如 ocds-abc123）")] = None,
    publisher: Annotated[str | None, typer.Option("--publisher", help="发布机关名称")] = None,
    uri: Annotated[str | None, typer.Option("--uri", help="发布包的公开地址（不给则用 urn 标识）")] = None,
    documents_url: Annotated[str | None, typer.Option("--documents-url", help="公众下载文书的地址（不给则用本系统 API 的 /api/documents）")] = None,
) -> None:
    """导出社洽会、项目、成交、合同、履约节点与拨付的开放合同数据标准（OCDS 1.1）发布包，发布前按官方模式校验。"""
    from audit.ocds import release_package, validate_release_package

    settings = get_settings()
    kinds = ("FairWorkflow", "LotWorkflow", "ContractWorkflow")

    async def run() -> list[RecordedCase]:
        if folder is not None:
            if not folder.exists():
                fail(f"找不到 {folder}")
            bundles = [p.parent for p in folder.rglob(MANIFEST)] if folder.is_dir() else []
            if bundles or folder.suffix == ".zip":
                return [c for b in bundles or [folder] for c in bundle_cases(read_bundle(b))]
            return await load_cases(str(folder))
        query = " OR ".join(f"WorkflowType = '{kind}'" for kind in kinds)
        return await server_cases(await temporal_client(), query)

    cases = [case for case in _unique(_run(run)) if case.process.workflow_type in kinds]
    if not any(case.process.workflow_type != "FairWorkflow" for case in cases):
        fail("没有可公开的购买服务项目或合同（社洽会尚未产生项目，或所给文件夹中没有它们的历史）")
    published_at = datetime.now(UTC)
    try:
        package = release_package(
            cases,
            publisher_name=publisher or settings.ocds_publisher or _organizer(cases),
            prefix=prefix or settings.ocds_prefix,
            published_at=published_at,
            uri=uri or f"urn:shezu:ocds:{prefix or settings.ocds_prefix}:{published_at:%Y%m%dT%H%M%SZ}",
            documents_url=documents_url or f"{settings.api_url}/api/documents",
            credit_codes=register.credit_codes(read_model(settings)),
        )
    except ValueError as error:
        fail(f"无法生成发布包：{error}")
    errors = validate_release_package(package)
    if errors:
        fail("生成的发布包不符合 OCDS 1.1 模式，未写出", errors)
    text = json.dumps(package, ensure_ascii=False, indent=2)
    if output:
        output.write_text(text, encoding="utf-8")
        ocids = {release["ocid"] for release in package["releases"]}
        typer.echo(f"已写入 {output}：{len(ocids)} 个采购过程、{len(package['releases'])} 条发布，已按 OCDS 1.1 官方模式校验")
    else:
        typer.echo(text)


def _organizer(cases: list[RecordedCase]) -> str:
    """The office that organizes the fairs publishes what it procured, unless configured otherwise."""
    states = [case.final_state for case in cases if case.final_state is not None]
    return next((state.organizer.name for state in states if getattr(state, "organizer", None)), "shezu")


def _unique(cases: list[RecordedCase]) -> list[RecordedCase]:
    """Cases once each (a case may be in several bundles), the one with the longest history kept."""
    best: dict[str, RecordedCase] = {}
    for case in cases:
        if case.workflow_id not in best or case.last_event_at > best[case.workflow_id].last_event_at:
            best[case.workflow_id] = case
    return list(best.values())


def _choose(cases: list[RecordedCase], case_no: str | None) -> RecordedCase:
    if case_no is None:
        return cases[0]
    for case in cases:
        if case.workflow_id == case_no:
            return case
    fail(f"其中没有案件 {case_no}", [f"有：{'、'.join(c.workflow_id for c in cases)}"])
    raise AssertionError("unreachable")

