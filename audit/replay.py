"""The replay gate: recorded runs replayed on the current workflow code.

Temporal's replay checks that the code issues the same kinds of commands in the same order. An
auditor needs more: that what the code asked of each activity (the state it projected, the facts
of each document) is exactly what history says it asked, given the recorded inputs. Otherwise an
edited update — a reviewer's reason changed after the fact — would replay cleanly. So every
activity the code starts during replay is compared, argument for argument, with the recorded one.
A run that fails either check is a case the current code would break if deployed, or a history
that was altered.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from typing import Any

from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from audit.history import ActivityCall, RecordedRun

REPLAY_TIMEOUT = 120
"""Seconds one run may take to replay; a contract's 1.4 MB history takes about one."""

_asked: list[tuple[str, list[Any], list[type]]] = []
"""Activities the code started during the replay under way, with their arguments as JSON taken at
that moment (the state object goes on changing); replays here run one at a time."""


class _RecordActivities(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> Any:
        produced = _json(pydantic_data_converter.payload_converter.to_payloads(input.args))
        _asked.append((input.activity, produced, [type(arg) for arg in input.args]))
        return super().start_activity(input)


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_RecordActivities(outbound))


class _Interceptor(Interceptor):
    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound


@dataclass(frozen=True)
class ReplayOutcome:
    workflow_id: str
    run_id: str
    workflow_type: str
    failure: str | None

    @property
    def subject(self) -> str:
        return f"{self.workflow_id}（{self.workflow_type}，运行 {self.run_id[:8]}）"


def replayer() -> Replayer:
    from worker import WORKFLOWS

    return Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter, interceptors=[_Interceptor()])


def _json(payloads: Iterable[Any]) -> list[Any]:
    return [json.loads(p.data) for p in payloads]


def _as_current_code_reads_it(call: ActivityCall, types: list[type]) -> list[Any]:
    """The recorded arguments read into the types the code passes now and written out again, so a
    field added since (with its default) is not taken for a difference."""
    converter = pydantic_data_converter.payload_converter
    try:
        return _json(converter.to_payloads(converter.from_payloads(list(call.input.payloads), types)))
    except Exception:  # unreadable as today's type: compare as recorded, which will show the difference
        return _json(call.input.payloads)


def _first_difference(run: RecordedRun, asked: list[tuple[str, list[Any], list[type]]]) -> str | None:
    """The first activity whose recorded request differs from the one the code makes now."""
    for call, (name, produced, types) in zip(run.activities, asked, strict=False):
        recorded = _as_current_code_reads_it(call, types)
        if name != call.name or produced != recorded:
            keys = ""
            if produced and recorded and isinstance(produced[0], dict) and isinstance(recorded[0], dict):
                differing = sorted(k for k in produced[0].keys() | recorded[0].keys() if produced[0].get(k) != recorded[0].get(k))
                keys = f"（不同之处：{', '.join(differing[:6])}）" if differing else ""
            return (f"事件 {call.scheduled_event_id} 记录的活动 {call.name} 的输入，与当前代码按历史中的输入"
                    f"重新推演出的 {name} 的输入不一致{keys}：历史中的某项输入或结果被改动过，或代码改变了行为")
    return None


def broken_sequence(run: RecordedRun) -> str | None:
    """Events must be numbered 1, 2, 3… with none missing; the SDK's replay can wait forever on a
    history with a hole in it, so such a history is named and not replayed."""
    for position, event in enumerate(run.events, start=1):
        if event.event_id != position:
            return f"事件编号不连续（第 {position} 个事件编号为 {event.event_id}）：有事件被删除或插入"
    return None


def failure_text(failure: Failure) -> str:
    """A failure and its causes, the first line of each (``Failed decoding arguments：2 validation errors for …``)."""
    lines = []
    while failure.message:
        lines.append(failure.message.strip().splitlines()[0])
        if not failure.HasField("cause"):
            break
        failure = failure.cause
    return "：".join(lines)[:400] or "未知错误"


def failing_task(events: Iterable[HistoryEvent]) -> str | None:
    """The error of an open run whose last workflow task failed (Temporal records the first failure of a
    series of attempts and nothing for the retries): such a case cannot go on until the code is fixed."""
    failing: str | None = None
    for event in events:
        if event.HasField("workflow_task_failed_event_attributes"):
            failing = failure_text(event.workflow_task_failed_event_attributes.failure)
        elif event.HasField("workflow_task_completed_event_attributes"):
            failing = None
    return failing


async def replay_run(engine: Replayer, run: RecordedRun) -> ReplayOutcome:
    if broken := broken_sequence(run):
        return ReplayOutcome(run.workflow_id, run.run_id, run.workflow_type, f"未重放：{broken}")
    if failing := failing_task(run.events):
        return ReplayOutcome(run.workflow_id, run.run_id, run.workflow_type, f"流程任务反复失败，案件无法继续：{failing}")
    _asked.clear()
    try:
        result = await asyncio.wait_for(engine.replay_workflow(run.history, raise_on_replay_failure=False), REPLAY_TIMEOUT)
    except TimeoutError:
        return ReplayOutcome(run.workflow_id, run.run_id, run.workflow_type, f"重放 {REPLAY_TIMEOUT} 秒未结束：历史不完整或已损坏")
    failure = None
    if result.replay_failure is not None:
        text = str(result.replay_failure) or type(result.replay_failure).__name__
        failure = text.splitlines()[0][:400]
    else:
        failure = _first_difference(run, list(_asked))
    return ReplayOutcome(run.workflow_id, run.run_id, run.workflow_type, failure)


async def replay_all(runs: Iterable[RecordedRun] | AsyncIterable[RecordedRun]) -> list[ReplayOutcome]:
    engine = replayer()
    if isinstance(runs, AsyncIterable):
        return [await replay_run(engine, run) async for run in runs]
    return [await replay_run(engine, run) for run in runs]
