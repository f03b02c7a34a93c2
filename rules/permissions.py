"""Who may do what on a case. Each check returns a Refusal that says why, or None.

The workflow's update validators call these, so a refused action never enters history; the
API calls the read checks. Messages are for end users, in Chinese.

Who reads these messages: the service answers "not found" to anyone who may not see the case
(``may_view``) before an update reaches the workflow, so a refusal here is only ever read by the
applicant, by staff of the case's jurisdiction, or — for objections during 公示 only — by the
public. Hence: a message may name the case's phase to them, and the names of the staff holding a
task only to that task's own colleagues (``refuse_task_actor``, ``_already_done`` are reached only
by staff past the role check); it never names the applicant or an objector.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from schemas.case import (
    CaseState,
    Correction,
    ObjectionAnswer,
    ObjectionFiling,
    ObjectionResolution,
    ObjectionStatus,
    Outcome,
    Phase,
    ReviewDecision,
    Task,
    TaskStatus,
    Withdrawal,
)
from schemas.localtime import local_text
from schemas.people import STAFF_ROLES, Actor, Locality, Role


class RefusalKind(StrEnum):
    forbidden = "forbidden"
    conflict = "conflict"
    invalid = "invalid"


@dataclass(frozen=True)
class Refusal:
    kind: RefusalKind
    message: str


def forbidden(message: str) -> Refusal:
    return Refusal(RefusalKind.forbidden, message)


def conflict(message: str) -> Refusal:
    return Refusal(RefusalKind.conflict, message)


def invalid(message: str) -> Refusal:
    return Refusal(RefusalKind.invalid, message)


def _closed(case: CaseState) -> Refusal | None:
    if case.phase.terminal:
        return conflict(f"案件 {case.case_no} 已办结（{case.phase_applicant_name}），不能再办理")
    return None


def refuse_task_actor(task: Task, actor: Actor) -> Refusal | None:
    """The holder's role, jurisdiction and post (A岗 or B岗) must all match. The A岗 and B岗 are
    named only to a colleague of the same role in the same office's jurisdiction."""
    if actor.role != task.role:
        return forbidden(f"「{task.title}」须由{task.role.label}办理，您的角色是{actor.role.label}")
    if actor.jurisdiction != task.office.jurisdiction:
        return forbidden(
            f"本案「{task.title}」由{task.office.name}办理，您属于其他辖区（{actor.jurisdiction or '未登记辖区'}）"
        )
    if actor.user_id not in (task.a.user_id, task.b.user_id):
        return forbidden(f"「{task.title}」的A岗为{task.a.name}、B岗为{task.b.name}，您不是本任务的经办人")
    return None


def _already_done(task: Task) -> Refusal:
    """Names who decided: read only by staff who may see the case (decisions and resolutions are staff-only)."""
    decision = task.decision
    by = f"由{decision.by.name}于{local_text(decision.at)}" if decision else ""
    return conflict(f"「{task.title}」已{by}办结（{decision.outcome.label if decision else '已取消'}），不能重复办理")


def _current_step_names(case: CaseState) -> str:
    names = [t.title for t in case.open_tasks if t.objection_id is None]
    return "、".join(names) or case.phase_staff_name


def _step_name(case: CaseState, step_id: str) -> str:
    if case.procedure:
        try:
            return case.procedure.step(step_id).staff_name
        except KeyError:
            pass
    return step_id


def refuse_decision(case: CaseState, decision: ReviewDecision) -> Refusal | None:
    if refusal := _closed(case):
        return refusal
    same_step = [t for t in case.tasks if t.step == decision.step and t.objection_id is None]
    task = next((t for t in same_step if t.status is TaskStatus.open), None)
    if task is None:
        if same_step and case.phase is not Phase.correction:
            return _already_done(same_step[-1])
        return conflict(f"案件当前办理环节是「{_current_step_names(case)}」，不能办理「{_step_name(case, decision.step)}」")
    if refusal := refuse_task_actor(task, decision.actor):
        return refusal
    allowed = {Outcome.approve, Outcome.refuse, Outcome.request_correction}
    if decision.outcome not in allowed:
        return invalid(f"「{task.title}」的办理结果只能是同意、不同意或要求补正")
    if decision.outcome is Outcome.refuse and not decision.reasons:
        return invalid("作出不同意/不予决定时，必须逐条写明理由")
    if decision.outcome is Outcome.request_correction and not decision.reasons:
        return invalid("要求补正时，必须逐项列明需要补正的全部内容（一次性告知）")
    if decision.outcome is Outcome.approve and task.step == "decision":
        upheld = [o for o in case.objections if o.status is ObjectionStatus.upheld]
        if upheld:
            return conflict(f"公示期间的异议 {upheld[0].objection_id} 已认定成立，不能作出准予决定")
    return None


def refuse_objection_resolution(case: CaseState, resolution: ObjectionResolution) -> Refusal | None:
    if refusal := _closed(case):
        return refusal
    objection = case.objection(resolution.objection_id)
    if objection is None:
        return conflict(f"本案没有编号为 {resolution.objection_id} 的异议")
    task = case.task(objection.task_id) if objection.task_id else None
    if task is None:
        return conflict("该异议正在登记，请稍后再办理")
    if task.status is not TaskStatus.open:
        return _already_done(task)
    if refusal := refuse_task_actor(task, resolution.actor):
        return refusal
    if resolution.outcome not in (Outcome.uphold, Outcome.dismiss):
        return invalid("异议的处理结果只能是异议成立或异议不成立")
    if not resolution.reasons:
        return invalid("处理异议必须写明核查情况和理由")
    return None


def refuse_objection_answer(case: CaseState, answer: ObjectionAnswer) -> Refusal | None:
    if refusal := _closed(case) or _refuse_non_applicant(case, answer.actor, "就异议陈述申辩"):
        return refusal
    objection = case.objection(answer.objection_id)
    if objection is None:
        return conflict(f"本案没有编号为 {answer.objection_id} 的异议")
    if objection.status is not ObjectionStatus.open:
        return conflict(f"异议 {answer.objection_id} 已处理（{objection.status.label}），不能再陈述申辩")
    if objection.answer is not None:
        return conflict(f"已就异议 {answer.objection_id} 提交过陈述申辩，不能重复提交")
    if not answer.content.strip():
        return invalid("陈述申辩的内容不能为空")
    return None


def _refuse_non_applicant(case: CaseState, actor: Actor, what: str) -> Refusal | None:
    if actor.user_id != case.applicant.user_id:
        return forbidden(f"只有申请人本人可以{what}")
    return None


def refuse_correction(case: CaseState, correction: Correction) -> Refusal | None:
    if refusal := _closed(case) or _refuse_non_applicant(case, correction.actor, "补正材料"):
        return refusal
    if case.open_correction is None:
        return conflict(f"案件当前处于「{case.phase_applicant_name}」，不需要补正材料")
    changed = correction.application
    if changed and (changed.track != case.application.track or changed.community != case.application.community):
        return invalid("补正不能变更办理类型和所在社区；如需变更，请撤回后重新申请")
    if not correction.materials and changed is None:
        return invalid("请提交补正的材料或更正后的申请信息")
    return _corrections_limit(case)


def _corrections_limit(case: CaseState) -> Refusal | None:
    """Each correction re-assesses the whole application and stays in the case's history."""
    open_round, procedure = case.open_correction, case.procedure
    limit = procedure.corrections_per_round if procedure else None
    if open_round is None or limit is None or open_round.submissions < limit:
        return None
    return conflict(f"每轮补正最多可提交{limit}次，本轮您已提交{open_round.submissions}次；请撤回申请，备齐全部材料后重新申请")


def refuse_withdrawal(case: CaseState, withdrawal: Withdrawal) -> Refusal | None:
    if refusal := _closed(case) or _refuse_non_applicant(case, withdrawal.actor, "撤回申请"):
        return refusal
    authority = case.procedure.authority_role if case.procedure else None
    for task in case.tasks:
        decision = task.decision
        final = decision and (
            (task.step == "decision" and decision.outcome is Outcome.approve)
            or (decision.outcome is Outcome.refuse and task.role is authority)
        )
        if decision and final:
            return conflict(f"{task.office.name}已于{local_text(decision.at)}作出决定，不能再撤回申请")
    return None


def refuse_objection(case: CaseState, filing: ObjectionFiling, now: datetime) -> Refusal | None:
    notice = case.public_notice
    if case.phase is not Phase.public_notice or notice is None:
        return conflict(f"案件 {case.case_no} 当前不在公示期，不能提出异议")
    if now >= notice.ends.due_at:
        return conflict(f"公示期已于 {notice.ends.due_date.isoformat()} 结束，不能再提出异议")
    if not filing.content.strip():
        return invalid("请写明异议的具体事实和理由")
    return _objection_limit(case, filing.actor)


def _objection_limit(case: CaseState, actor: Actor) -> Refusal | None:
    """The policy's limits recorded when the case was assessed; each objection stays in the case for good."""
    assert case.procedure is not None
    limits = case.procedure.objection_limits
    mine = sum(o.filed_by.user_id == actor.user_id for o in case.objections)
    if mine >= limits.per_person:
        return conflict(f"每人对同一公示最多可提出{limits.per_person}件异议，您已提出{mine}件；如需补充，请在核查人员联系您时一并说明")
    if len(case.objections) >= limits.per_case:
        return conflict(f"同一公示最多受理{limits.per_case}件异议，本公示已收到{len(case.objections)}件，不再受理新的异议")
    return None


def may_view(case_applicant_id: str, locality: Locality, actor: Actor) -> bool:
    """Applicants see their own cases; staff see cases in their jurisdiction and below. Anyone
    else is answered as if the case did not exist."""
    if actor.user_id == case_applicant_id:
        return True
    return (actor.role in STAFF_ROLES or actor.role is Role.administrator) and locality.contains(actor.jurisdiction)
