"""Schemathesis over the whole OpenAPI document, against the real HTTP server (``shezu api``) with a
real worker (``shezu worker``) on the test session's Temporal dev server: no 5xx, no status code or
content type the document does not list, every response matching its schema, and every request the
document allows accepted (or refused only for the reasons it states: 403, 404, 409 …).

Run with the Schemathesis command line, as an outside tester would, with every phase and check. Bounded so
CI runs it in under a minute on 2 cores: 15 examples per operation (SHEZU_SCHEMATHESIS_EXAMPLES), a fixed
seed (SHEZU_SCHEMATHESIS_SEED) and a 15-minute cap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from settings import PROJECT_ROOT
from tests.conftest import TEST_GATEWAY_SECRET, binary, free_port, make_settings, prepared_engine

EXAMPLES_PER_OPERATION = int(os.environ.get("SHEZU_SCHEMATHESIS_EXAMPLES", "15"))
SEED = os.environ.get("SHEZU_SCHEMATHESIS_SEED", "20261201")


@pytest.fixture(scope="module")
def served(temporal: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``shezu worker`` and ``shezu api`` as operators run them, on their own task queue and read model."""
    config = make_settings(tmp_path_factory.mktemp("schemathesis"))
    prepared_engine(config).dispose()
    port = free_port()
    env = {
        **os.environ,
        "SHEZU_TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
        "SHEZU_DATABASE_URL": config.effective_database_url,
        "SHEZU_DATA_DIR": str(config.data_dir),
        "SHEZU_TASK_QUEUE": config.task_queue,
        "SHEZU_HTTP_PORT": str(port),
        "SHEZU_REGISTER_FILE": "",
        "SHEZU_GATEWAY_SECRET": TEST_GATEWAY_SECRET,
    }
    logs = Path(config.data_dir)
    parts = [
        subprocess.Popen([sys.executable, "-m", "cli.main", part], cwd=PROJECT_ROOT, env=env,
                         stdout=(logs / f"{part}.log").open("wb"), stderr=subprocess.STDOUT)
        for part in ("worker", "api")
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        give_up = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > give_up or any(p.poll() is not None for p in parts):
                pytest.fail("shezu api did not start: " + (logs / "api.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        yield base
    finally:
        for part in parts:
            part.terminate()
        for part in parts:
            try:
                part.wait(timeout=20)
            except subprocess.TimeoutExpired:
                part.kill()


def test_the_api_keeps_its_openapi_contract(served: str, tmp_path: Path) -> None:
    """Every phase (examples, coverage, fuzzing, stateful) and every check, positive and negative data."""
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(PROJECT_ROOT)}
    run = subprocess.run(
        [
            binary("schemathesis"), "--no-color",
            "--config-file", str(PROJECT_ROOT / "tests" / "schemathesis.toml"),
            "run", f"{served}/openapi.json",
            "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", SEED,
            "--request-timeout", "30",
            # in trusted-gateway mode, so the X-User-Id values it generates name the caller
            "--header", f"X-Shezu-Gateway: {TEST_GATEWAY_SECRET}",
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    operations = sum(len(methods) for methods in create_app().openapi()["paths"].values())
    assert f"{operations}/{operations}" in output, "every operation of the document was tested"
