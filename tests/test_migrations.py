"""Schema migrations: the read model's schema is made and upgraded only by the Alembic migrations,
which must agree with store/models.py; every process refuses a database whose schema is behind;
seeding happens once however many processes start together."""

from __future__ import annotations

import asyncio
import json
import lzma
import os
import subprocess
from datetime import timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import TimeSkipper

from schemas.case import Phase
from service import views
from service.cases import CaseService
from service.contracts import ContractService
from service.fairs import FairService
from settings import Settings
from store.db import current_revisions, head_revisions, make_engine, migrate, schema_behind
from store.directory import load_directory, read_directory_file
from store.models import CaseRecord, ContractRecord, FairRecord, OrganizationRecord, StaffRecord
from store.register import read_register_file
from tests.conftest import RELEASE_0_1, SAMPLE_DIRECTORY, SAMPLE_REGISTER, dev_server, free_port
from tests.helpers import case_state, shezu, until_state
from worker import build_worker


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


def load_release_read_model(database_url: str, data: Path) -> str:
    """The release's read model on this engine: its SQLite file, or its PostgreSQL dump loaded into ``database_url``."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{data / 'readmodel.db'}"
    psql = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1]
    dump = lzma.decompress((RELEASE_0_1 / "readmodel-postgresql.sql.xz").read_bytes())
    subprocess.run([str(psql), "-q", "-v", "ON_ERROR_STOP=1", "-d", database_url.replace("+psycopg", "")],
                   input=dump, check=True, capture_output=True)
    return database_url


async def test_data_of_release_0_1_is_upgraded_its_cases_stay_readable_and_waiting_ones_go_on(
    database_url: str, release_0_1: Path
) -> None:
    waiting = json.loads((RELEASE_0_1 / "cases.json").read_text(encoding="utf-8"))
    data = release_0_1
    url = load_release_read_model(database_url, data)
    settings = Settings(data_dir=data, database_url=url)  # the release ran on the default task queue
    engine = make_engine(url)
    assert "0.1 版创建" in schema_behind(engine) and "shezu migrate" in schema_behind(engine)
    migrate(engine)
    assert schema_behind(engine) is None
    # Upgrading past 0005 loads a directory that gives each issuing office its 发文机关代字 and contacts,
    # without which its documents wait (the render retries) rather than go out unsigned by a contact.
    load_directory(engine, read_directory_file(SAMPLE_DIRECTORY))

    # Finished cases read as before, from the read model alone.
    cases, fairs, contracts = CaseService(settings, engine), FairService(settings, engine), ContractService(settings, engine)
    with Session(engine) as session:
        approved = session.exec(select(CaseRecord).where(CaseRecord.phase == "approved")).first()
        fair_no = session.exec(select(FairRecord.fair_no)).first()
        contract_no = session.exec(select(ContractRecord.contract_no)).first()
    assert approved is not None and fair_no and contract_no
    view = cases.case(cases.actor(approved.applicant_id), approved.case_no)
    assert view.certificate_number and any(d.kind == "certificate" for d in view.documents)
    assert fairs.fair(None, fair_no).lots, "the fair still lists its lots"
    assert contracts.contract(contracts.actor("mz-chen"), contract_no).ledger, "its payments still show"

    # Waiting cases go on under the new code: one in preliminary review, one in public notice.
    with dev_server(data / "temporal.db") as address:
        client = await Client.connect(address, data_converter=pydantic_data_converter)
        service = CaseService(settings, engine, client)
        async with build_worker(client, settings, engine):
            in_review, in_notice = waiting["preliminary_review"], waiting["public_notice"]
            answer = await service.decide(service.actor("cg-zhao"), in_review,
                                          views.DecisionInput(step="preliminary_review", outcome="approve"))
            assert answer.phase == Phase.authority_review

            handle = client.get_workflow_handle(in_notice)
            skipper = TimeSkipper(client)
            state = await case_state(client, in_notice)
            # The recorded 公示 ends on a real date: once that date is past, the upgraded worker's first task
            # fires its timer and the case is already at the decision; before it, the clock is moved there.
            if state.phase is Phase.public_notice:
                assert state.next_deadline is not None
                ahead = state.next_deadline.due_at - await skipper.get_current_time(handle)
                await skipper.fast_forward(handle, max(ahead, timedelta(0)) + timedelta(minutes=1))
            else:
                assert state.phase is Phase.decision and state.public_notice is not None
            await until_state(client, in_notice, lambda s: s.phase is Phase.decision)
            answer = await service.decide(service.actor("jg-zhou"), in_notice, views.DecisionInput(step="decision", outcome="approve"))
            assert answer.phase == Phase.approved
            applicant = service.actor(state.applicant.user_id)
            assert service.case(applicant, in_notice).certificate_number
