"""Small helpers shared by the process tests."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError

from schemas.calendar import CalendarSource, CalendarSourceKind, Deadline
from schemas.case import CaseState
from schemas.contracts import ContractState
from schemas.documents import DocumentRef
from schemas.incubation_case import IncubationState
from schemas.procurement import FairState, LotState
from service.cases import CaseService
from settings import PROJECT_ROOT
from store.files import content_path
from workflows.contract import ContractWorkflow
from workflows.fair import FairWorkflow
from workflows.filing import FilingWorkflow
from workflows.incubation import IncubationWorkflow
from workflows.lot import LotWorkflow

T = TypeVar("T")

CST = timezone(timedelta(hours=8))


def at(day: str, clock: str = "09:00") -> datetime:
    """A Beijing wall-clock time, as the documents under test print it."""
    return datetime.fromisoformat(f"{day}T{clock}:00").replace(tzinfo=CST)


def deadline(start: datetime, working_days: int, due: str, *, provisional: bool = False) -> Deadline:
    """A working-day deadline as the calendar activity returns it, due at the end of ``due`` (Beijing);
    a ``provisional`` one is reckoned by rule because that year's holidays are not published yet."""
    year = date.fromisoformat(due).year
    source = CalendarSource(
        year=year,
        kind=CalendarSourceKind.rule_based if provisional else CalendarSourceKind.chinesecalendar,
        title=f"{year}年工作日安排",
        version="1",
        provisional=provisional,
    )
    return Deadline(
        start=start, working_days=working_days, due_date=date.fromisoformat(due), due_at=at(due, "23:59"), sources=[source]
    )


async def case_state(client: Client, case_no: str) -> CaseState:
    return await client.get_workflow_handle(case_no).query(FilingWorkflow.status)


async def _until(client: Client, workflow_id: str, query: Any, condition: Callable[[Any], bool], seconds: float) -> Any:
    """Wait (bounded) until a workflow reports a settled state meeting ``condition``; fail with its timeline."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + seconds
    state = failure = None
    while True:
        answered = None
        try:
            answered = state = await client.get_workflow_handle(workflow_id).query(query)
        except RPCError as error:  # a child workflow that is still starting, or a query the loaded worker did not answer in time
            failure = error
        if answered is not None and condition(answered) and answered.settled_revision == answered.revision:
            return answered
        if loop.time() > give_up:
            timeline = [e.summary for e in state.timeline] if state else f"never answered a query (last: {failure!r})"
            raise AssertionError(f"{workflow_id} never reached the expected state; timeline: {timeline}")
        await asyncio.sleep(0.1)


async def until_state(client: Client, case_no: str, condition: Callable[[CaseState], bool], seconds: float = 30) -> CaseState:
    return await _until(client, case_no, FilingWorkflow.status, condition, seconds)


async def until_incubation(
    client: Client, case_no: str, condition: Callable[[IncubationState], bool], seconds: float = 30
) -> IncubationState:
    return await _until(client, case_no, IncubationWorkflow.status, condition, seconds)


async def until_fair(client: Client, fair_no: str, condition: Callable[[FairState], bool], seconds: float = 30) -> FairState:
    return await _until(client, fair_no, FairWorkflow.status, condition, seconds)


async def until_lot(client: Client, lot_no: str, condition: Callable[[LotState], bool], seconds: float = 30) -> LotState:
    return await _until(client, lot_no, LotWorkflow.status, condition, seconds)


async def until_contract(
    client: Client, contract_no: str, condition: Callable[[ContractState], bool], seconds: float = 30
) -> ContractState:
    return await _until(client, contract_no, ContractWorkflow.status, condition, seconds)


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


async def accepted_updates(client: Client, workflow_id: str) -> int:
    """How many updates entered the history (a refused one never does)."""
    events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
    return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED for e in events)


async def shezu(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", *args, cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None and process.returncode >= 0, f"shezu {args} crashed: {err.decode()} after printing: {out.decode()}"
    return process.returncode, out.decode(), err.decode()


def misplaced_seals(documents_dir: Path, refs: Mapping[Any, DocumentRef]) -> dict[Any, list[str]]:
    """For each stored document whose seal's place leaves the text area (or is missing), the pages at fault."""
    found = {}
    for name, ref in refs.items():
        if problems := seals_outside_text_area(content_path(documents_dir, ref.html_sha256, "html").read_text(encoding="utf-8")):
            found[name] = problems
    return found


def seals_outside_text_area(html: str) -> list[str]:
    """Pages on which a seal's place (``.seal-outline``) reaches beyond the text area, into the footer or the
    margins, as WeasyPrint lays the document out (empty when every seal stays inside)."""
    from weasyprint import HTML

    from activities.rendering import TEMPLATES_DIR

    problems, seals = [], 0
    for number, page in enumerate(HTML(string=html, base_url=str(TEMPLATES_DIR)).render().pages, start=1):
        area = page._page_box
        top, bottom = area.content_box_y(), area.content_box_y() + area.height
        for box in area.descendants():
            element = getattr(box, "element", None)
            if box.element_tag == "div" and element is not None and "seal-outline" in (element.get("class") or "").split():
                seals += 1
                if box.position_y < top or box.position_y + box.margin_height() > bottom:
                    problems.append(f"page {number}: seal from {box.position_y:.0f} to {box.position_y + box.margin_height():.0f}, text area {top:.0f}–{bottom:.0f}")
    return problems if seals else ["no seal's place at all"]
