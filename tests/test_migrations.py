"""Schema migrations: the read model's schema is made and upgraded only by the Alembic migrations,
which must agree with store/models.py; every process refuses a database whose schema is behind;
seeding happens once however many processes start together."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from store.db import current_revisions, head_revisions, make_engine, migrate, schema_behind
from store.directory import read_directory_file
from store.models import OrganizationRecord, StaffRecord
from store.register import read_register_file
from tests.conftest import SAMPLE_DIRECTORY, SAMPLE_REGISTER, free_port
from tests.helpers import shezu


def env_for(database_url: str, data: Path) -> dict[str, str]:
    env = {**os.environ, "SHEZU_DATABASE_URL": database_url, "SHEZU_DATA_DIR": str(data),
           "SHEZU_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}", "SHEZU_HTTP_PORT": str(free_port())}
    return env


def test_the_migrations_make_exactly_the_tables_the_models_declare(database_url: str) -> None:
    """Autogenerate finds nothing to add: a model change without its migration fails here."""
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)  # a second run finds it done
    assert current_revisions(engine) == head_revisions()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, SQLModel.metadata) == []


async def test_every_process_refuses_a_database_without_the_schema_and_says_how_to_upgrade(tmp_path: Path) -> None:
    env = env_for(f"sqlite:///{tmp_path / 'readmodel.db'}", tmp_path)
    for command in (["worker"], ["api"], ["communities"], ["tasks", "--as", "cg-zhao"]):
        code, out, err = await shezu(env, *command)
        assert code == 2 and "shezu migrate" in err and "Traceback" not in err, (command, out, err)
    assert "还没有建立表结构" in schema_behind(make_engine(env["SHEZU_DATABASE_URL"])), "nothing was created on the way"
    code, out, _ = await shezu(env, "migrate")
    assert code == 0 and "最新表结构" in out, out
    code, out, err = await shezu(env, "communities")
    assert code == 0 and "YJ-JG-CG" in out, out + err


async def test_processes_that_start_together_on_a_fresh_database_seed_it_once(database_url: str, tmp_path: Path) -> None:
    env = env_for(database_url, tmp_path)
    results = await asyncio.gather(*(shezu(env, "migrate") for _ in range(3)))
    assert [code for code, _, _ in results] == [0, 0, 0], results
    with Session(make_engine(database_url)) as session:
        staff = session.exec(select(func.count()).select_from(StaffRecord)).one()
        organizations = session.exec(select(func.count()).select_from(OrganizationRecord)).one()
    assert staff == len(read_directory_file(SAMPLE_DIRECTORY).staff)
    assert organizations == len(read_register_file(SAMPLE_REGISTER).organizations)
