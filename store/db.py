"""Database engine for the read model: SQLite by default, PostgreSQL when configured.

The schema is made and upgraded only by the Alembic migrations in ``store/migrations`` (``shezu
migrate``, or ``shezu up``); every process that opens the read model first checks it is current."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, create_engine

import store.models  # noqa: F401  (registers the tables)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = 0x5E2A_0001
"""PostgreSQL advisory-lock key held while the schema is upgraded or the directory seeded."""


class SchemaNotCurrent(RuntimeError):
    """The read model's schema is not the one this code was written for; the message says what to do."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


@lru_cache
def engine_for(url: str) -> Engine:
    """One engine per URL per process."""
    return make_engine(url)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Held while the schema is upgraded or the directory seeded, so processes started together do
    it once: a PostgreSQL advisory lock, or for SQLite an exclusive lock on a file beside the database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                connection.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


RELEASE_0_1 = "0001"
"""The schema release 0.1 made with ``create_all`` before there were migrations."""


def _made_by_release_0_1(connection: Connection) -> bool:
    """Tables but no migration record: the database was made by release 0.1."""
    return not MigrationContext.configure(connection).get_current_heads() and inspect(connection).has_table("cases")


def upgrade(engine: Engine) -> None:
    """Upgrade to the newest schema; the caller holds ``schema_lock``. A database release 0.1 made is
    recorded as revision 0001 first, since that revision is exactly its schema."""
    with engine.begin() as connection:
        config = alembic_config(connection)
        if _made_by_release_0_1(connection):
            command.stamp(config, RELEASE_0_1)
        command.upgrade(config, "head")


def migrate(engine_or_url: Engine | str) -> Engine:
    """Upgrade the read model to the newest schema (an empty database gets all of it). Safe when
    several processes run it at once: one upgrades, the others find it done."""
    engine = engine_for(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    with schema_lock(engine):
        upgrade(engine)
    return engine


def schema_behind(engine: Engine) -> str | None:
    """Why this code cannot use the read model as it is (in Chinese, saying how to upgrade), or None."""
    heads, current = head_revisions(), current_revisions(engine)
    if current == heads:
        return None
    where = engine.url.render_as_string(hide_password=True)
    if not current and inspect(engine).has_table("cases"):
        return f"读模型数据库 {where} 由 0.1 版创建，表结构落后于本程序：请先停止 worker 和 HTTP 服务，备份数据库后运行 `shezu migrate` 升级。"
    if not current:
        return f"读模型数据库 {where} 还没有建立表结构：请先运行 `shezu migrate`（或用 `shezu up` 一次完成升级并启动）。"
    script = ScriptDirectory.from_config(alembic_config())
    known = {revision.revision for revision in script.walk_revisions()}
    if not current <= known:
        return (
            f"读模型数据库 {where} 的表结构版本（{'、'.join(sorted(current))}）比本程序新：请运行与之相同或更新版本的 shezu。"
        )
    return (
        f"读模型数据库 {where} 的表结构版本（{'、'.join(sorted(current))}）落后于本程序（{'、'.join(sorted(heads))}）："
        "请先停止 worker 和 HTTP 服务，备份数据库后运行 `shezu migrate` 升级。"
    )


def require_current_schema(engine: Engine) -> Engine:
    if problem := schema_behind(engine):
        raise SchemaNotCurrent(problem)
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.commit()


@contextmanager
def exclusive_scope(engine: Engine) -> Iterator[Session]:
    """A session for read-check-write (a projection's revision guard): two of them never interleave, or a
    slower, older projection could write its columns over a newer one. SQLite takes its write lock at the
    start; on PostgreSQL the rows read ``with_for_update`` are locked."""
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session
        session.commit()
