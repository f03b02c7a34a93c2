"""What every shezu command shares: who acts, reading input files, calling a service, printing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from schemas.localtime import local_text
from service import views
from service.cases import CaseService
from service.common import Service, ServiceError
from service.connection import connect_temporal, read_model
from service.validation import describe_validation_error
from settings import get_settings

M = TypeVar("M", bound=BaseModel)
As = Annotated[str, typer.Option("--as", help="以哪个用户的身份操作（用户标识）")]
JsonOut = Annotated[bool, typer.Option("--json", help="输出 JSON")]
Limit = Annotated[
    int, typer.Option(min=1, max=views.PAGE_LIMIT_MAX, help=f"每页条数（最多 {views.PAGE_LIMIT_MAX}）")
]
Offset = Annotated[int, typer.Option(min=0, help="从第几条开始（从 0 起）")]


def fail(message: str, details: list[str] | None = None, code: int = 1) -> None:
    typer.echo(f"错误：{message}", err=True)
    for line in details or []:
        typer.echo(f"  - {line}", err=True)
    raise typer.Exit(code)


def read_model_file(path: Path, model: type[M]) -> M:
    """A JSON or YAML file validated with the same rules as the API, errors in Chinese."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"文件 {path} 不存在")
    except yaml.YAMLError as error:
        fail(f"文件 {path} 不是有效的 JSON 或 YAML：{error}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fail(f"文件 {path} 的内容有误", describe_validation_error(error, model))
    raise AssertionError("unreachable")


R = TypeVar("R")
S = TypeVar("S", bound=Service)


def with_service(action: Callable[[S], Awaitable[R]], kind: type[S] = CaseService) -> R:  # type: ignore[assignment]
    """Run ``action`` with a service of ``kind`` connected to Temporal and the read model."""

    async def run() -> R:
        settings = get_settings()
        return await action(kind(settings, read_model(settings), await temporal_client()))

    try:
        return asyncio.run(run())
    except ServiceError as error:
        fail(error.message, error.details)
    raise AssertionError("unreachable")


async def temporal_client() -> Client:
    """The configured Temporal server, or a clear exit when it cannot be reached."""
    settings = get_settings()
    try:
        return await connect_temporal(settings)
    except RuntimeError as error:
        fail(f"连接不到流程服务 {settings.temporal_address}：{error}。请先运行 ./scripts/up 启动系统")
    raise AssertionError("unreachable")


def emit(value: Any, as_json: bool, text: Callable[[Any], None]) -> None:
    if as_json:
        data = [v.model_dump(mode="json") for v in value] if isinstance(value, list) else value.model_dump(mode="json")
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        text(value)


def print_receipt(receipt: Any) -> None:
    typer.echo(f"{receipt.case_no}：{receipt.message}。当前：{receipt.phase_applicant_name}")


def validated(model: type[M], **values: Any) -> M:
    """Command-line options checked with the same rules as the API, errors in Chinese."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        fail("输入有误", describe_validation_error(error, model))
    raise AssertionError("unreachable")


def print_history(timeline: list[views.TimelineView], documents: list[views.DocumentView]) -> None:
    """A case's or a contract's 办理过程 and its documents, as every ``show`` prints them."""
    typer.echo("办理过程：")
    for event in timeline:
        who = f"{event.actor}（{event.role}）" if event.role else (event.actor or "系统")
        typer.echo(f"  {local_text(event.at)}  {who}  {event.summary}")
    if documents:
        typer.echo("文书：")
        for document in documents:
            typer.echo(f"  {document.document_id}  {document.title}  {document.reference}  {local_text(document.issued_at)}")


def print_page(page: views.Page[Any], line: Callable[[Any], None], empty: str) -> None:
    """A page of a list, then where it stands in the whole list and how to see the next page."""
    for item in page.items:
        line(item)
    if not page.total:
        typer.echo(empty)
    elif page.items:
        more = f"；下一页：--offset {page.offset + len(page.items)}" if page.offset + len(page.items) < page.total else ""
        typer.echo(f"（第 {page.offset + 1}–{page.offset + len(page.items)} 条，共 {page.total} 条{more}）")
    else:
        typer.echo(f"（共 {page.total} 条，--offset {page.offset} 之后没有了）")
