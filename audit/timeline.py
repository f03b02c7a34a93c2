"""A case's history told in the domain's words, from its recorded history alone: who did what, in
which role, when, the phase before and after, and every deadline that was set and whether it was
met; and the case as it stood at any moment (the state the read model showed then).

The workflow keeps its own 办理过程 in its state and projects that state at every step, so each
event comes from the first projection that carries it, and deadlines are followed across all
projections (an escalated task's first deadline is replaced, but an earlier snapshot still has it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from typing import Any

from audit.diagram import ProcessMap, process_map
from audit.history import RecordedCase, Snapshot
from schemas.case import TaskStatus
from schemas.localtime import SHANGHAI, local_text


@dataclass(frozen=True)
class Event:
    seq: int
    at: datetime
    who: str
    user_id: str | None
    role: str
    action: str
    summary: str
    phase_before: str
    phase_after: str
    phase_before_name: str
    phase_after_name: str


@dataclass
class Deadline:
    what: str
    set_at: datetime
    due_at: datetime
    outcome: str
    """met (按期), missed (逾期), pending (未到期) or void (撤销、不再需要)."""
    done_at: datetime | None = None
    note: str = ""
    due_date: date | None = None
    """The working day it falls on, as the parties were told; ``due_at`` is the instant it ends."""

    @property
    def outcome_label(self) -> str:
        return {"met": "按期完成", "missed": "逾期", "pending": "未到期", "void": "撤销"}[self.outcome]


@dataclass
class Reconstruction:
    case_no: str
    process: str
    as_of: datetime
    phase: str
    phase_names: tuple[str, str]
    status: str
    events: list[Event]
    deadlines: list[Deadline]
    state: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["phase_names"] = {"public": self.phase_names[0], "staff": self.phase_names[1]}
        for deadline, raw in zip(self.deadlines, data["deadlines"], strict=True):
            raw["outcome_label"] = deadline.outcome_label
        return _iso(data)

    def text(self, with_state: bool = False) -> str:
        lines = [
            f"{self.process} {self.case_no}",
            f"截至 {local_text(self.as_of)}（北京时间）：{self.phase_names[1]}（{self.status}）",
            "",
            "办理过程：",
        ]
        for event in self.events:
            moved = event.phase_before != event.phase_after
            change = f"  【{event.phase_before_name} → {event.phase_after_name}】" if moved else ""
            who = f"{event.who}（{event.role}）" if event.role else event.who
            lines.append(f"  {event.seq:>3}. {local_text(event.at)}  {who}  {event.summary}{change}")
        lines += ["", "期限："]
        for deadline in self.deadlines:
            done = f"，{local_text(deadline.done_at)} 办结" if deadline.done_at else ""
            note = f"；{deadline.note}" if deadline.note else ""
            due = deadline.due_date.isoformat() if deadline.due_date else local_text(deadline.due_at)
            lines.append(
                f"  {deadline.what}：{local_text(deadline.set_at)} 设定，期限至 {due}"
                f" —— {deadline.outcome_label}{done}{note}"
            )
        if not self.deadlines:
            lines.append("  （无）")
        if with_state:
            lines += ["", "当时的案件状态（JSON）：", json.dumps(self.state, ensure_ascii=False, indent=2)]
        return "\n".join(lines)


def reconstruct(case: RecordedCase, as_of: datetime | None = None) -> Reconstruction:
    """The case up to ``as_of`` (default: the end of its history)."""
    moment = as_of or case.last_event_at
    snapshots = [s for s in case.snapshots if s.at <= moment]
    if not snapshots:
        raise ValueError(f"{case.workflow_id} 在 {local_text(moment)} 之前尚无记录（案件始于 {local_text(case.started_at)}）")
    state = snapshots[-1].state
    ended = moment >= case.last_event_at
    return Reconstruction(
        case_no=case.process.case_no(state),
        process=case.process.label,
        as_of=moment,
        phase=str(state.phase),
        phase_names=_phase_names(state),
        status=case.status if ended else "进行中",
        events=_events(state, process_map(case)),
        deadlines=_deadlines(snapshots, moment),
        state=state.model_dump(mode="json"),
    )


def _phase_names(state: Any) -> tuple[str, str]:
    if hasattr(state, "phase_applicant_name"):
        return state.phase_applicant_name, state.phase_staff_name
    if hasattr(state, "phase_names"):
        return state.phase_names
    return state.phase.label, state.phase.label


def _events(state: Any, chart: ProcessMap) -> list[Event]:
    def name(phase: str) -> str:
        stage = chart.stage(phase)
        return stage.name if stage else phase

    return [
        Event(
            seq=event.seq,
            at=event.at,
            who=event.actor.name if event.actor else "系统",
            user_id=event.actor.user_id if event.actor else None,
            role=event.actor.role.label if event.actor else "",
            action=event.action,
            summary=event.summary,
            phase_before=event.phase_before,
            phase_after=event.phase_after,
            phase_before_name=name(event.phase_before),
            phase_after_name=name(event.phase_after),
        )
        for event in state.timeline
    ]


def _deadlines(snapshots: list[Snapshot], moment: datetime) -> list[Deadline]:
    """Deadlines of tasks (AB岗 time limits), 补正 windows, the legal time limit, experts' scoring,
    award confirmations, milestones and 整改, each followed to the last snapshot before ``moment``."""
    found: dict[tuple[str, datetime], Deadline] = {}
    for snapshot in snapshots:
        for key, deadline in _deadlines_in(snapshot, moment):
            if key in found:
                found[key].outcome, found[key].done_at, found[key].note = deadline.outcome, deadline.done_at, deadline.note
            else:
                found[key] = deadline
    # a deadline replaced by a later one of the same thing: a task's A post missed it (AB岗 escalation),
    # a milestone's date was changed by an agreed amendment
    replaced: dict[str, list[tuple[str, datetime]]] = {}
    for key in found:
        replaced.setdefault(key[0], []).append(key)
    for keys in replaced.values():
        for key in sorted(keys, key=lambda k: k[1])[:-1]:
            escalated = key[0].startswith("task:")
            found[key].outcome = "missed" if escalated else "void"
            found[key].done_at = None
            found[key].note = "A岗逾期，已转B岗办理" if escalated else "期限已变更"
    return sorted(found.values(), key=lambda d: (d.set_at, d.due_at))


def _judge(due_at: datetime, done_at: datetime | None, moment: datetime) -> str:
    if done_at is not None:
        return "met" if done_at <= due_at else "missed"
    return "missed" if moment > due_at else "pending"


def _deadlines_in(snapshot: Snapshot, moment: datetime) -> list[tuple[tuple[str, datetime], Deadline]]:
    state, found = snapshot.state, []

    def add(key: str, what: str, set_at: datetime, due: Any, done_at: datetime | None, void: bool = False,
            note: str = "") -> None:
        """``due`` is a working-day Deadline (its date and the instant it ends) or a plain date."""
        due_date = due.due_date if hasattr(due, "due_date") else due
        due_at = due.due_at if hasattr(due, "due_at") else _end_of_day(due)
        outcome = "void" if void and done_at is None else _judge(due_at, done_at, moment)
        found.append(((key, due_at), Deadline(what, set_at, due_at, outcome, done_at, note, due_date)))

    for task in getattr(state, "tasks", []):
        set_at = task.escalated_at or task.created_at
        holder = f"{task.office.name}{'B' if task.escalated_at else 'A'}岗{task.holder.name}"
        closed = task.closed_at if task.status is TaskStatus.done else None
        note = "案件终结，任务撤销" if task.status is TaskStatus.cancelled else ""
        add(f"task:{task.task_id}", f"「{task.title}」（{holder}）", set_at, task.deadline, closed,
            void=task.status is TaskStatus.cancelled, note=note)
    for correction in getattr(state, "corrections", []):
        add(f"correction:{correction.round}", f"第{correction.round}次补正材料（申请人）", correction.requested_at,
            correction.window, correction.received_at)
    clock = getattr(state, "legal_clock", None)
    if clock is not None and clock.deadline is not None:
        result = getattr(state, "result", None)
        add("legal_clock", f"法定办理时限（{clock.working_days}个工作日，补正期间暂停）", clock.accepted_at,
            clock.deadline, result.decided_at if result else None)
    for seat in getattr(state, "seats", []):
        scored = seat.ended_at if seat.status.value == "scored" else None
        add(f"seat:{getattr(state, 'round', 1)}:{seat.seat_no}", f"评审专家{seat.expert.name}评分（席位{seat.seat_no}）",
            seat.drawn_at, seat.deadline, scored, void=seat.status.value == "recused", note=seat.status.label)
    for offer in getattr(state, "offers", []):
        accepted = offer.responded_at if offer.response and offer.response.value in ("accepted", "declined") else None
        add(f"offer:{offer.bid_id}:{offer.offered_at.isoformat()}", f"{offer.organization_name}确认成交",
            offer.offered_at, offer.deadline, accepted,
            note=offer.response.label if offer.response else "")
    for milestone in getattr(state, "milestones", []):
        first = milestone.reports[0].submitted_at if milestone.reports else None
        add(f"milestone:{milestone.milestone_id}", f"履约节点「{milestone.title}」提交履约报告（承接方）",
            snapshot.at, milestone.due_date, first, note=milestone.status.label)
    rectification = getattr(state, "rectification", None)
    if rectification is not None:
        report = rectification.report.submitted_at if rectification.report else None
        add(f"rectification:{rectification.opened_at.isoformat()}", "整改并提交整改报告（承接方）",
            rectification.opened_at, rectification, report)
    return found


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)


def _iso(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso(v) for v in value]
    return value
