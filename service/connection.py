"""Connecting to Temporal (local dev server or a cluster with TLS / API key) and to the read model."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import TLSConfig

from service.accounts import AccountService
from settings import Settings
from store.bases import bases_in, load_bases, read_bases_file
from store.db import engine_for, require_current_schema, schema_lock, upgrade
from store.directory import directory_is_empty, load_directory, read_directory_file
from store.register import load_register, read_register_file, register_is_empty


async def connect_temporal(settings: Settings) -> Client:
    tls: bool | TLSConfig = settings.temporal_tls
    if settings.temporal_tls and (settings.temporal_tls_cert or settings.temporal_tls_ca):
        tls = TLSConfig(
            server_root_ca_cert=settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None,
            client_cert=settings.temporal_tls_cert.read_bytes() if settings.temporal_tls_cert else None,
            client_private_key=settings.temporal_tls_key.read_bytes() if settings.temporal_tls_key else None,
        )
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls,
        api_key=settings.temporal_api_key,
        data_converter=pydantic_data_converter,
    )


def read_model(settings: Settings) -> Engine:
    """The read-model engine, once its schema is known to be current (``SchemaNotCurrent`` says how
    to upgrade otherwise). It neither creates nor seeds anything: ``prepare_read_model`` does, once."""
    return require_current_schema(engine_for(settings.effective_database_url))


def prepare_read_model(settings: Settings) -> Engine:
    """``shezu migrate`` and ``shezu up``: upgrade the schema, then load the configured directory (and
    the register of organizations that predate the system and the incubation bases, if configured) into an
    empty read model,
    and on a development system give each of their people a demo account. All happen under the
    schema lock, so processes that start together do each once."""
    engine = engine_for(settings.effective_database_url)
    with schema_lock(engine):
        upgrade(engine)
        if directory_is_empty(engine):
            load_directory(engine, read_directory_file(settings.directory_file))
        if settings.register_file and register_is_empty(engine):
            load_register(engine, read_register_file(settings.register_file))
        if settings.bases_file and not bases_in(engine, ""):
            load_bases(engine, read_bases_file(settings.bases_file))
        AccountService(settings, engine).seed_demo_accounts()
    return engine
