"""How many filing cases per second one machine carries, and what each human action costs.

Each case: submission (complete materials, green channel) → 居委会初审 → 街道审核 → withdrawal,
through the same service the API uses, against a local in-memory Temporal dev server, a worker in
this process and a SQLite read model. Compare with ENGINEERING.md's bare-workflow ceiling.

    .venv/bin/python benchmarks/filing_throughput.py --cases 60 --concurrency 12
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from service import views
from service.cases import CaseService
from tests import factories
from tests.conftest import binary, make_settings, prepared_engine
from worker import build_worker


async def one_case(service: CaseService, timings: dict[str, list[float]]) -> int:
    application = factories.filing()
    applicant = service.actor(factories.applicant_id(), application.applicant_name)

    async def timed(name: str, action):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = await action
        timings.setdefault(name, []).append(time.perf_counter() - started)
        return result

    case_no = (await timed("submit", service.submit(applicant, application))).case_no
    for step, user in (("preliminary_review", "cg-zhao"), ("authority_review", "jg-zhou")):
        await timed("decide", service.decide(service.actor(user), case_no, views.DecisionInput(step=step, outcome="approve")))
    await timed("withdraw", service.withdraw(applicant, case_no, views.WithdrawalInput(reason="benchmark")))
    history = await service.client.get_workflow_handle(case_no).fetch_history()
    return len(history.events), len(history.to_json())


async def main(cases: int, concurrency: int) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"), data_converter=pydantic_data_converter
    )
    settings = make_settings(Path(tempfile.mkdtemp(prefix="shezu-bench-")))
    engine = prepared_engine(settings)
    service = CaseService(settings, engine, env.client)
    timings: dict[str, list[float]] = {}
    gate = asyncio.Semaphore(concurrency)

    async def bounded():  # type: ignore[no-untyped-def]
        async with gate:
            return await one_case(service, timings)

    async with env, build_worker(env.client, settings, engine):
        await one_case(service, {})  # warm up imports and the sandbox
        started = time.perf_counter()
        sizes = await asyncio.gather(*(bounded() for _ in range(cases)))
        elapsed = time.perf_counter() - started

    print(f"cases: {cases}, concurrency: {concurrency}, elapsed: {elapsed:.1f} s")
    print(f"throughput: {cases / elapsed:.2f} cases/s ({4 * cases / elapsed:.1f} user actions/s)")
    for name, values in timings.items():
        ordered = sorted(values)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"{name:>9}: mean {statistics.mean(values) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms ({len(values)} calls)")
    events = [e for e, _ in sizes]
    size = [b for _, b in sizes]
    print(f"history per case: {statistics.mean(events):.0f} events, {statistics.mean(size) / 1024:.0f} KiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=10)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.cases, arguments.concurrency))
