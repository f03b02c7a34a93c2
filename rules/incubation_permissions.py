"""Who may see and do what on an incubation. Each check returns a Refusal that says why, or None.

Who is who comes from the base (the bases file), not from a role alone: a base's A岗/B岗 see all of their
base's cases, a mentor those assigned to them, civil affairs and street staff those of bases in their
jurisdiction, the group its own. Anyone else is answered "not found" by the service before any of these
messages is read, so a message here may name the case's phase and the base's people.
"""

from __future__ import annotations

from enum import StrEnum

from rules.permissions import Refusal, conflict, forbidden
from schemas.case import Task, TaskStatus
from schemas.incubation import IncubationBase
from schemas.incubation_case import IncubationPhase, IncubationState
from schemas.people import Actor, Role

OPEN_PHASES = frozenset(
    {IncubationPhase.applied, IncubationPhase.waiting, IncubationPhase.incubating, IncubationPhase.assessing}
)
FILING_PHASES = frozenset({IncubationPhase.incubating, IncubationPhase.assessing})
OVERSIGHT_ROLES = frozenset({Role.civil_affairs, Role.street_office})


class Audience(StrEnum):
    group = "group"
    staff = "staff"
    mentor = "mentor"
    oversight = "oversight"


def within(code: str, jurisdiction: str | None) -> bool:
    """Whether jurisdiction ``code`` is ``jurisdiction`` or below it (codes nest: YJ → YJ-JG → YJ-JG-CG)."""
    return bool(jurisdiction) and (code == jurisdiction or code.startswith(f"{jurisdiction}-"))


def serves(base: IncubationBase, actor: Actor) -> bool:
    """One of the base's A岗/B岗."""
    return actor.user_id in (base.staff_a.user_id, base.staff_b.user_id)


def oversees(base: IncubationBase, actor: Actor) -> bool:
    """Civil affairs or a street office whose jurisdiction holds the base."""
    return actor.role in OVERSIGHT_ROLES and within(base.jurisdiction, actor.jurisdiction)


def audience(state: IncubationState, base: IncubationBase, actor: Actor | None) -> Audience | None:
    """How the caller sees the case, or None when they may not see it at all."""
    if actor is None:
        return None
    if actor.user_id == state.representative.user_id:
        return Audience.group
    if serves(base, actor):
        return Audience.staff
    if state.mentor is not None and state.mentor.user_id == actor.user_id:
        return Audience.mentor
    if oversees(base, actor):
        return Audience.oversight
    return None


def open_task(state: IncubationState, step: str) -> Task | None:
    return next((t for t in state.tasks if t.step == step and t.status is TaskStatus.open), None)


def _open(state: IncubationState) -> Refusal | None:
    if state.phase not in OPEN_PHASES:
        return conflict(f"孵化案件 {state.case_no} 已结束（{state.phase.label}），不能再办理")
    return None


def _pending(state: IncubationState, step: str, what: str) -> Refusal | None:
    if open_task(state, step) is None:
        return conflict(f"现在没有待办的{what}（当前：{state.phase.label}）")
    return None


def refuse_admission(state: IncubationState, base: IncubationBase, actor: Actor) -> Refusal | None:
    if refusal := _open(state):
        return refusal
    if not serves(base, actor):
        return forbidden(f"入孵审核由{base.name}的A岗{base.staff_a.name}或B岗{base.staff_b.name}办理")
    return _pending(state, "admission", "入孵审核")


def refuse_report(state: IncubationState, base: IncubationBase, actor: Actor) -> Refusal | None:
    """The assigned mentor reports; once a report is late and handed over, the base's B岗 may."""
    if refusal := _open(state) or _pending(state, "check_in", "孵化报告"):
        return refusal
    task = open_task(state, "check_in")
    assert task is not None
    if actor.user_id not in (task.holder.user_id, task.a.user_id):
        return forbidden(f"孵化报告由导师{task.a.name}提交；逾期后转由{base.name}B岗{task.b.name}提交")
    return None


def refuse_assessment(state: IncubationState, base: IncubationBase, actor: Actor) -> Refusal | None:
    if refusal := _open(state):
        return refusal
    if not serves(base, actor):
        return forbidden(f"出壳评估由{base.name}的A岗{base.staff_a.name}或B岗{base.staff_b.name}办理")
    return _pending(state, "assessment", "出壳评估")


def refuse_assessment_review(state: IncubationState, base: IncubationBase, actor: Actor) -> Refusal | None:
    if refusal := _open(state):
        return refusal
    if actor.role is not Role.civil_affairs or not within(base.jurisdiction, actor.jurisdiction):
        return forbidden("出壳评估的审核由基地所在地的民政局办理")
    return _pending(state, "assessment_review", "出壳评估审核")


def refuse_leave(state: IncubationState, base: IncubationBase, actor: Actor) -> Refusal | None:
    if refusal := _open(state):
        return refusal
    if actor.user_id != state.representative.user_id and not serves(base, actor) and not (
        actor.role is Role.civil_affairs and within(base.jurisdiction, actor.jurisdiction)
    ):
        return forbidden("退出孵化由入孵的组织本身、基地工作人员或民政局办理")
    return None


def refuse_filing(state: IncubationState, actor: Actor) -> Refusal | None:
    if actor.user_id != state.representative.user_id:
        return forbidden("孵化期内的备案或登记由入孵组织的负责人申请")
    if state.phase not in FILING_PHASES:
        return conflict(f"入孵后才能从孵化中申请备案或登记（现在：{state.phase.label}）")
    if running := next((f for f in state.filings if f.outcome is None), None):
        return conflict(f"已有办理中的申请（案号{running.case_no}），请等待结果")
    if state.organization:
        return conflict(f"已完成备案或登记（{state.organization}）")
    return None


ACTIONS = {
    "decide_admission": refuse_admission,
    "report": refuse_report,
    "assess": refuse_assessment,
    "review_assessment": refuse_assessment_review,
    "leave": refuse_leave,
}
"""What a page may offer, by the service method's name, each with the check that would refuse it."""


def actions(state: IncubationState, base: IncubationBase, actor: Actor) -> list[str]:
    """What the caller may do on the case now (for pages: which forms to show)."""
    found = [name for name, refuse in ACTIONS.items() if refuse(state, base, actor) is None]
    return [*found, "start_filing"] if refuse_filing(state, actor) is None else found
