"""Rebuild the read model from workflow state: every case of every process (filings, fairs, lots,
contracts) is asked for its state (a closed case is replayed by a worker to answer), and the same
projection the worker uses writes it. A case that cannot answer — its workflow task keeps failing —
is reported with its error and the others are still rebuilt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from activities.incubation import project_incubation
from activities.read_model import project, project_contract, project_fair, project_lot
from service.common import Service
from store.db import exclusive_scope
from workflows.contract import ContractWorkflow
from workflows.fair import FairWorkflow
from workflows.filing import FilingWorkflow
from workflows.incubation import IncubationWorkflow
from workflows.lot import LotWorkflow

QUERY_TIMEOUT = timedelta(seconds=30)
"""How long one case may take to answer; a closed contract's longest history replays in about one second."""

PROJECTIONS: dict[str, tuple[Any, Callable[[Session, Any], Any]]] = {
    "FilingWorkflow": (FilingWorkflow.status, project),
    "FairWorkflow": (FairWorkflow.status, project_fair),
    "LotWorkflow": (LotWorkflow.status, project_lot),
    "ContractWorkflow": (ContractWorkflow.status, project_contract),
    "IncubationWorkflow": (IncubationWorkflow.status, project_incubation),
}


@dataclass
class RebuildReport:
    rebuilt: dict[str, int] = field(default_factory=dict)
    """Cases rebuilt, by workflow type."""
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    """(case, workflow type, error) of each case that could not be rebuilt."""

    @property
    def total(self) -> int:
        return sum(self.rebuilt.values())


async def rebuild(service: Service) -> RebuildReport:
    report = RebuildReport(rebuilt={kind: 0 for kind in PROJECTIONS})
    kinds = " OR ".join(f"WorkflowType = '{kind}'" for kind in PROJECTIONS)
    query = f"TaskQueue = '{service.settings.task_queue}' AND ({kinds})"
    seen: set[str] = set()
    async for execution in service.client.list_workflows(query):
        if execution.id in seen:  # an earlier run of a case that continued as new: its latest run is the case
            continue
        seen.add(execution.id)
        status, write = PROJECTIONS[execution.workflow_type]
        try:
            state = await service.client.get_workflow_handle(execution.id).query(status, rpc_timeout=QUERY_TIMEOUT)
            with exclusive_scope(service.engine) as session:
                write(session, state)
        except Exception as error:  # noqa: BLE001  (one broken case must not stop the others)
            report.failures.append((execution.id, execution.workflow_type, _first_line(error)))
            continue
        report.rebuilt[execution.workflow_type] += 1
    return report


def _first_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.strip().splitlines()[0][:400]
