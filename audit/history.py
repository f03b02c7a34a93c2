"""A recorded Temporal history read in the domain's terms, with no server: which process it is,
the state it projected at each step, the documents it had rendered and from which facts, the
child cases it started and the runs it continued from or into.

Everything here is decoded from the events themselves, so an auditor can trust it as far as they
trust the history file (whose hash the bundle's manifest records).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from schemas.case import CaseState
from schemas.contracts import ContractState
from schemas.document_request import DocumentRequest
from schemas.documents import DocumentRef
from schemas.incubation_case import IncubationState
from schemas.procurement import FairState, LotState

M = TypeVar("M")


@dataclass(frozen=True)
class Process:
    """One kind of case: its workflow, the state it projects and how people call it."""

    workflow_type: str
    label: str
    state: type[BaseModel]
    projection: str

    def case_no(self, state: BaseModel) -> str:
        return str(getattr(state, {CaseState: "case_no", IncubationState: "case_no", FairState: "fair_no", LotState: "lot_no"}.get(self.state, "contract_no")))


PROCESSES: dict[str, Process] = {
    p.workflow_type: p
    for p in (
        Process("FilingWorkflow", "备案/登记案件", CaseState, "project_case"),
        Process("FairWorkflow", "社洽会", FairState, "project_fair"),
        Process("LotWorkflow", "购买服务项目", LotState, "project_lot"),
        Process("ContractWorkflow", "政府购买服务合同", ContractState, "project_contract"),
        Process("IncubationWorkflow", "孵化案件", IncubationState, "project_incubation"),
    )
}


class UnreadableHistory(ValueError):
    """The file is not a Temporal history of one of shezu's processes."""


def decode(payloads: Payloads | None, kind: type[M]) -> M:
    values = pydantic_data_converter.payload_converter.from_payloads(list(payloads.payloads) if payloads else [], [kind])
    return values[0]


@dataclass
class ActivityCall:
    """One activity as history recorded it: what it was asked, and what it answered (if it finished)."""

    name: str
    scheduled_event_id: int
    scheduled_at: datetime
    input: Payloads
    result: Payloads | None = None
    completed_at: datetime | None = None

    def argument(self, kind: type[M]) -> M:
        return decode(self.input, kind)

    def outcome(self, kind: type[M]) -> M | None:
        return decode(self.result, kind) if self.result is not None else None


@dataclass(frozen=True)
class Snapshot:
    """The case's whole state as the workflow projected it to the read model at ``at``."""

    at: datetime
    event_id: int
    state: Any


@dataclass(frozen=True)
class RecordedDocument:
    request: DocumentRequest
    ref: DocumentRef | None
    scheduled_event_id: int


@dataclass(frozen=True)
class ChildCase:
    workflow_id: str
    run_id: str
    workflow_type: str


class RecordedRun:
    """One run of one workflow (a contract that continued as new has several)."""

    def __init__(self, workflow_id: str, history: WorkflowHistory) -> None:
        self.workflow_id = workflow_id
        self.history = history
        events = list(history.events)
        if not events or events[0].event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            raise UnreadableHistory(f"{workflow_id}：不是一份完整的流程历史（第一个事件应为流程启动）")
        self.events: list[HistoryEvent] = events
        started = events[0].workflow_execution_started_event_attributes
        self.workflow_type = started.workflow_type.name
        if self.workflow_type not in PROCESSES:
            raise UnreadableHistory(f"{workflow_id}：未知的流程类型 {self.workflow_type}")
        self.process = PROCESSES[self.workflow_type]
        self.run_id = started.original_execution_run_id
        self.continued_from = started.continued_execution_run_id or None
        self.parent_workflow_id = started.parent_workflow_execution.workflow_id or None

    @classmethod
    def from_json(cls, workflow_id: str, text: str) -> RecordedRun:
        try:
            return cls(workflow_id, WorkflowHistory.from_json(workflow_id, text))
        except UnreadableHistory:
            raise
        except Exception as error:  # the SDK raises several kinds for a malformed file
            raise UnreadableHistory(f"{workflow_id}：历史文件无法解析（{type(error).__name__}: {error}）") from error

    @property
    def started_at(self) -> datetime:
        return self.events[0].event_time.ToDatetime(tzinfo=UTC)

    @property
    def last_event_at(self) -> datetime:
        return self.events[-1].event_time.ToDatetime(tzinfo=UTC)

    @property
    def continued_as_new_to(self) -> str | None:
        last = self.events[-1]
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            return last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        return None

    @property
    def status(self) -> str:
        """How the run ended, in words (or that it is still running)."""
        return _CLOSING_EVENTS.get(self.events[-1].event_type, "进行中")

    def at(self, event: HistoryEvent) -> datetime:
        return event.event_time.ToDatetime(tzinfo=UTC)

    @cached_property
    def activities(self) -> list[ActivityCall]:
        calls: dict[int, ActivityCall] = {}
        for event in self.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attributes = event.activity_task_scheduled_event_attributes
                calls[event.event_id] = ActivityCall(
                    attributes.activity_type.name, event.event_id, self.at(event), attributes.input
                )
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                completed = event.activity_task_completed_event_attributes
                call = calls.get(completed.scheduled_event_id)
                if call is not None:
                    call.result, call.completed_at = completed.result, self.at(event)
        return list(calls.values())

    def calls(self, name: str) -> Iterator[ActivityCall]:
        return (call for call in self.activities if call.name == name)

    @cached_property
    def snapshots(self) -> list[Snapshot]:
        """Every state the run projected, in order; the last is the case as the run left it."""
        return [
            Snapshot(call.scheduled_at, call.scheduled_event_id, call.argument(self.process.state))
            for call in self.calls(self.process.projection)
        ]

    @cached_property
    def documents(self) -> list[RecordedDocument]:
        return [
            RecordedDocument(call.argument(DocumentRequest), call.outcome(DocumentRef), call.scheduled_event_id)
            for call in self.calls("render_document")
        ]

    @cached_property
    def children(self) -> list[ChildCase]:
        found = []
        for event in self.events:
            if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                attributes = event.child_workflow_execution_started_event_attributes
                execution = attributes.workflow_execution
                found.append(ChildCase(execution.workflow_id, execution.run_id, attributes.workflow_type.name))
        return found



class RecordedCase:
    """All runs of one case in order (continue-as-new makes a chain), read as one."""

    def __init__(self, runs: Sequence[RecordedRun]) -> None:
        if not runs:
            raise UnreadableHistory("没有流程历史")
        self.runs = list(runs)
        self.workflow_id = runs[0].workflow_id
        self.process = runs[0].process

    @property
    def snapshots(self) -> list[Snapshot]:
        return [snapshot for run in self.runs for snapshot in run.snapshots]

    @property
    def documents(self) -> list[RecordedDocument]:
        return [document for run in self.runs for document in run.documents]

    @property
    def children(self) -> list[ChildCase]:
        return [child for run in self.runs for child in run.children]

    @property
    def final_state(self) -> Any | None:
        snapshots = self.snapshots
        return snapshots[-1].state if snapshots else None

    def state_at(self, moment: datetime) -> Snapshot | None:
        """The state as the read model showed it at ``moment``: the last projection scheduled by then."""
        found = None
        for snapshot in self.snapshots:
            if snapshot.at > moment:
                break
            found = snapshot
        return found

    @property
    def started_at(self) -> datetime:
        return self.runs[0].started_at

    @property
    def last_event_at(self) -> datetime:
        return self.runs[-1].last_event_at

    @property
    def status(self) -> str:
        return self.runs[-1].status


def chain_runs(runs: Sequence[RecordedRun]) -> list[RecordedRun]:
    """Order a workflow's runs along their continue-as-new links (first run first)."""
    by_id = {run.run_id: run for run in runs}
    firsts = [run for run in runs if not run.continued_from or run.continued_from not in by_id]
    if len(firsts) != 1:
        return sorted(runs, key=lambda run: run.started_at)
    ordered = [firsts[0]]
    following = {run.continued_from: run for run in runs if run.continued_from}
    while ordered[-1].run_id in following and len(ordered) < len(runs):
        ordered.append(following[ordered[-1].run_id])
    return ordered


_CLOSING_EVENTS: dict[int, str] = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "已办结",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "流程失败",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "流程超时",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "已取消",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "被强制终止",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "转入新一轮运行（continue-as-new）",
}
