"""``shezu login``, ``logout``, ``whoami`` (a bearer token for the HTTP API, kept for this user) and
``shezu account create`` (the operator opens an account, e.g. a production system's first administrator).

The other commands call the services in-process with ``--as``: whoever runs them has the database and
Temporal in hand already, so they are operators' tools. The token is for scripts and integrations
that call the HTTP API (``Authorization: Bearer``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError

from cli.common import fail
from schemas.accounts import AccountInput
from service.accounts import AccountService
from service.common import ServiceError
from service.connection import read_model
from service.validation import describe_validation_error
from settings import Settings, get_settings

account_app = typer.Typer(help="账号（由运维在命令行开设；日常由管理员经接口管理）", no_args_is_help=True)
Password = Annotated[str, typer.Option(prompt="密码", hide_input=True, help="不给则提示输入（不回显）")]


def credentials_file() -> Path:
    """Where ``shezu login`` keeps its tokens, one per API address, readable by this user alone."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "shezu" / "credentials.json"


def _saved() -> dict[str, Any]:
    path = credentials_file()
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _save(saved: dict[str, Any]) -> None:
    path = credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_suffix(".tmp")
    draft.touch(mode=0o600)
    draft.write_text(json.dumps(saved, ensure_ascii=False, indent=2), encoding="utf-8")
    draft.replace(path)


def saved_token(settings: Settings) -> str | None:
    """The token ``shezu login`` kept for this system's API, if any."""
    return (_saved().get(settings.api_url) or {}).get("token")


def _answer(response: httpx.Response, expect: int) -> Any:
    if response.status_code != expect:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        fail(message)
    return response.json() if response.content else None


def _api(settings: Settings) -> httpx.Client:
    return httpx.Client(base_url=settings.api_url, timeout=30)


def login(
    user: Annotated[str, typer.Argument(help="用户名")],
    password: Password,
    show: Annotated[bool, typer.Option("--print", help="只把令牌打印到标准输出（供脚本使用），不保存")] = False,
) -> None:
    """登录 HTTP 服务，为命令行创建一个接口令牌并保存（只有本用户可读），随后退出网页会话。"""
    settings = get_settings()
    try:
        with _api(settings) as api:
            session = _answer(api.post("/api/session", json={"user_id": user, "password": password}), 200)
            form = {"X-CSRF-Token": session["csrf_token"]}
            purpose = "脚本（shezu login --print）" if show else "shezu 命令行"
            token = _answer(api.post("/api/tokens", json={"name": purpose, "days": 90}, headers=form), 201)
            api.delete("/api/session", headers=form)
    except httpx.TransportError:
        fail(f"连接不到 HTTP 服务 {settings.api_url}：请先运行 ./scripts/up（或 shezu api）")
    if show:
        typer.echo(token["token"])
        return
    _save({**_saved(), settings.api_url: {"user_id": user, "token": token["token"], "token_id": token["token_id"]}})
    typer.echo(f"已登录为 {session['user']['name']}（{user}）；令牌 {token['token_id']} 已保存到 {credentials_file()}，"
               f"{token['expires_at'][:10]} 到期")


def logout() -> None:
    """撤销 shezu login 保存的令牌并删除。"""
    settings = get_settings()
    saved = _saved()
    entry = saved.pop(settings.api_url, None)
    if entry is None:
        fail(f"没有保存 {settings.api_url} 的令牌")
    try:
        with _api(settings) as api:
            api.delete(f"/api/tokens/{entry['token_id']}", headers={"Authorization": f"Bearer {entry['token']}"})
    except httpx.TransportError:
        typer.echo(f"连接不到 {settings.api_url}，令牌未能在服务端撤销（本地已删除）；可由管理员撤销 {entry['token_id']}", err=True)
    _save(saved)
    typer.echo("已退出登录")


def whoami() -> None:
    """用保存的令牌询问 HTTP 服务：当前登录的是谁。"""
    settings = get_settings()
    token = saved_token(settings)
    if token is None:
        fail("尚未登录：请运行 shezu login 用户名")
    try:
        with _api(settings) as api:
            me = _answer(api.get("/api/session", headers={"Authorization": f"Bearer {token}"}), 200)
    except httpx.TransportError:
        fail(f"连接不到 HTTP 服务 {settings.api_url}")
    typer.echo(f"{me['name']}（{me['user_id']}，{me['role']}{'，' + me['jurisdiction'] if me.get('jurisdiction') else ''}）")


@account_app.command("create")
def create(
    user: Annotated[str, typer.Argument(help="用户名（工作人员用人员名录中的用户名）")],
    name: Annotated[str, typer.Option("--name", help="姓名")],
    password: Password,
) -> None:
    """开设账号（例如生产系统的第一位管理员：名录中角色为 administrator 的人）。记为命令行所开。"""
    settings = get_settings()
    try:
        request = AccountInput(user_id=user, name=name, password=password)
    except ValidationError as error:
        fail("输入有误", describe_validation_error(error, AccountInput))
    try:
        account = AccountService(settings, read_model(settings)).open_account(request, by=COMMAND_LINE)
    except ServiceError as error:
        fail(error.message, error.details)
    typer.echo(f"已开设账号 {account.user_id}（{account.name}，{account.role.label}）")


COMMAND_LINE = "shezu account create"
"""Who opened an account from the command line, as the record of changes names it."""
