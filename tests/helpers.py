"""Small helpers shared by the process tests."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client

from schemas.case import CaseState
from service.cases import CaseService
from workflows.filing import FilingWorkflow

T = TypeVar("T")


async def case_state(client: Client, case_no: str) -> CaseState:
    return await client.get_workflow_handle(case_no).query(FilingWorkflow.status)


async def until_state(client: Client, case_no: str, condition: Callable[[CaseState], bool], seconds: float = 30) -> CaseState:
    """Wait (bounded) until the workflow reports a state meeting ``condition``; fail with the last state."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + seconds
    while True:
        state = await case_state(client, case_no)
        if condition(state) and state.settled_revision == state.revision:
            return state
        if loop.time() > give_up:
            raise AssertionError(f"{case_no} never reached the expected state; timeline: {[e.summary for e in state.timeline]}")
        await asyncio.sleep(0.1)


async def history_length(client: Client, case_no: str, seconds: float = 30) -> int:
    """Events in the case's history once the workflow is waiting for people: no activity and no
    workflow task pending (a projection's completion lands just after the read model shows it)."""
    handle = client.get_workflow_handle(case_no)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + seconds
    while True:
        description = (await handle.describe()).raw_description
        if not description.pending_activities and not description.HasField("pending_workflow_task"):
            return len((await handle.fetch_history()).events)
        if loop.time() > give_up:
            raise AssertionError(f"{case_no} is still working")
        await asyncio.sleep(0.05)


def staff(service: CaseService, user_id: str):  # type: ignore[no-untyped-def]
    return service.actor(user_id)


GOLDEN = Path(__file__).parent / "golden"


async def keep_golden(client: Client, case_no: str, name: str) -> None:
    """With SHEZU_RECORD_GOLDEN=1, keep this case's history as a golden history replayed on every run."""
    if os.environ.get("SHEZU_RECORD_GOLDEN") == "1":
        history = await client.get_workflow_handle(case_no).fetch_history()
        GOLDEN.mkdir(exist_ok=True)
        (GOLDEN / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
