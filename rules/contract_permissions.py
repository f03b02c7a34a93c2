"""Who may do what on a contract. Each check returns a Refusal that says why, or None; the
contract's update validators call them, so a refused action never enters history."""

from __future__ import annotations

from datetime import date, datetime

from rules.contracts import amendment_problems, evaluation_problems, plan_problems
from rules.permissions import Refusal, conflict, forbidden, invalid, refuse_task_actor
from rules.procurement_permissions import refuse_non_organizer
from schemas.case import TaskStatus
from schemas.contracts import (
    AmendmentAnswer,
    AmendmentApproval,
    AmendmentProposal,
    AmendmentStatus,
    ContractPhase,
    ContractPlan,
    ContractState,
    DeliveryReview,
    DeliverySubmission,
    DisbursementRecord,
    EvaluationSubmission,
    MilestoneStatus,
    PlanProposal,
    RectificationReport,
    SigningAct,
    SingleSourceApproval,
    SuspensionAct,
    TerminationAct,
    TrancheStatus,
)
from schemas.localtime import local_text
from schemas.money import yuan
from schemas.people import Actor, Role

RUNNING = (ContractPhase.in_force, ContractPhase.evaluation, ContractPhase.rectification)


def is_buyer(contract: ContractState, actor: Actor) -> bool:
    basis = contract.basis
    return actor.role is Role.department and actor.office == basis.buyer_office and actor.jurisdiction == basis.buyer_jurisdiction


def is_supplier(contract: ContractState, actor: Actor) -> bool:
    return actor.role is Role.supplier and actor.organization == contract.basis.supplier


def party_of(contract: ContractState, actor: Actor) -> str | None:
    return "buyer" if is_buyer(contract, actor) else "supplier" if is_supplier(contract, actor) else None


def _buyer(contract: ContractState, actor: Actor) -> Refusal | None:
    if not is_buyer(contract, actor):
        return forbidden(f"该操作须由购买方{contract.basis.buyer_office}办理")
    return None


def _supplier(contract: ContractState, actor: Actor) -> Refusal | None:
    if not is_supplier(contract, actor):
        return forbidden(f"该操作须由承接方「{contract.basis.supplier_name}」的负责人或代表办理")
    return None


def _closed(contract: ContractState) -> Refusal | None:
    if contract.phase.terminal:
        return conflict(f"合同 {contract.contract_no} 已{contract.phase_names[0]}，不能再办理")
    return None


def _open_task(contract: ContractState, step: str, actor: Actor, subject: str | None = None) -> Refusal | None:
    task = next((t for t in contract.open_tasks if t.step == step and (subject is None or t.subject == subject)), None)
    if task is None:
        return conflict(f"合同当前处于「{contract.phase_names[1]}」，没有待办的该项任务")
    return refuse_task_actor(task, actor)


def refuse_single_source_approval(contract: ContractState, approval: SingleSourceApproval) -> Refusal | None:
    if contract.phase is not ContractPhase.approval:
        return conflict("该合同不是待审批的单一来源采购")
    if refusal := refuse_non_organizer(approval.actor, contract.organizer):
        return refusal
    if not approval.approve and not approval.reasons:
        return invalid("不同意单一来源采购必须写明理由")
    return None


def refuse_plan(contract: ContractState, proposal: PlanProposal, today: date) -> Refusal | None:
    """A plan to sign must start no earlier than ``today`` (Beijing date): a term already under way or over
    would have both parties sign for service nobody contracted when it was delivered."""
    if refusal := _closed(contract) or _buyer(contract, proposal.actor):
        return refusal
    if contract.phase not in (ContractPhase.drafting, ContractPhase.signing):
        return conflict("合同已生效，履约计划只能通过双方同意的合同变更调整")
    problems = proposed_plan_problems(contract, proposal.plan, today)
    return invalid("；".join(problems)) if problems else None


def proposed_plan_problems(contract: ContractState, plan: ContractPlan, today: date) -> list[str]:
    """Everything wrong with a plan the buyer proposes to sign, at once: what the workflow refuses it for,
    and what the plan editor shows while it is being filled in."""
    assert contract.policy is not None
    problems = plan_problems(plan, contract.amount_fen, contract.basis, contract.policy)
    if plan.start_date < today:
        problems.insert(0, f"合同开始日期{plan.start_date:%Y年%-m月%-d日}已过，请从今天（{today:%Y年%-m月%-d日}）或以后开始")
    return problems


def refuse_signing(contract: ContractState, signing: SigningAct) -> Refusal | None:
    if refusal := _closed(contract):
        return refusal
    if party_of(contract, signing.actor) != signing.party:
        who = contract.basis.buyer_office if signing.party == "buyer" else f"「{contract.basis.supplier_name}」"
        return forbidden(f"只有{who}可以以{'购买方' if signing.party == 'buyer' else '承接方'}身份签署")
    if contract.phase is not ContractPhase.signing:
        return conflict(f"合同当前处于「{contract.phase_names[1]}」，不在签署阶段")
    if contract.signed_by(signing.party):
        return conflict(f"{'购买方' if signing.party == 'buyer' else '承接方'}已签署第{contract.version}版合同")
    return None


def refuse_delivery(contract: ContractState, submission: DeliverySubmission) -> Refusal | None:
    if refusal := _closed(contract) or _supplier(contract, submission.actor):
        return refusal
    if contract.phase is not ContractPhase.in_force:
        return conflict(f"合同当前处于「{contract.phase_names[0]}」，暂不能提交履约报告")
    current = next((m for m in contract.milestones if m.status is not MilestoneStatus.accepted), None)
    if current is None or current.milestone_id != submission.milestone_id:
        expected = f"当前应提交的是节点{current.milestone_id}「{current.title}」" if current else "全部节点均已验收"
        return conflict(f"不能提交节点 {submission.milestone_id} 的履约报告：{expected}")
    if current.status is MilestoneStatus.submitted:
        return conflict(f"节点{current.milestone_id}的履约报告已提交，正在验收")
    return None


def refuse_delivery_review(contract: ContractState, review: DeliveryReview) -> Refusal | None:
    if refusal := _closed(contract) or _open_task(contract, "acceptance", review.actor, review.milestone_id):
        return refusal
    if not review.accept and not review.reasons:
        return invalid("退回履约报告必须写明理由和需要改进的内容")
    return None


def refuse_disbursement(contract: ContractState, record: DisbursementRecord) -> Refusal | None:
    tranche = contract.payment(record.tranche_id)
    if tranche is None:
        return conflict(f"合同中没有拨付 {record.tranche_id}")
    if tranche.status is TrancheStatus.paid:
        return conflict(f"{record.tranche_id} 已于{local_text(tranche.paid_at)}拨付（凭证 {tranche.voucher}），不能重复拨付")
    if tranche.status is TrancheStatus.withheld:
        return conflict(f"{record.tranche_id} 因合同终止不再拨付")
    if tranche.status is not TrancheStatus.instructed or tranche.task_id is None:
        return conflict(f"{record.tranche_id} 尚未下达支付指令，拨付条件达成后才能拨付")
    task = contract.task(tranche.task_id)
    if task is None or task.status is not TaskStatus.open:
        return conflict(f"拨付 {record.tranche_id} 已执行")
    if refusal := refuse_task_actor(task, record.actor):
        return refusal
    reward = [contract.reward] if contract.reward else []
    holder = next((t for t in [*contract.tranches, *reward] if t.voucher == record.voucher), None)
    return voucher_taken(record.voucher, holder.tranche_id, holder.paid_at, amount_fen=holder.amount_fen) if holder else None


def voucher_taken(
    voucher: str,
    entry: str | None,
    at: datetime | None = None,
    contract_no: str | None = None,
    paid: bool = True,
    amount_fen: int | None = None,
) -> Refusal:
    """A voucher number identifies one payment in the ledger; the refusal names the entry that has it, its
    amount and when (paid, or recorded and being paid), or, when the caller may not see that entry's contract
    (``entry`` None), only that one does and when."""
    facts = [yuan(amount_fen)] if amount_fen is not None and entry is not None else []
    facts += [f"{local_text(at)}{'拨付' if paid else '登记'}"] if at else []
    when = f"（{'，'.join(facts)}）" if facts else ""
    if entry is None:
        return conflict(f"凭证号 {voucher} 已用于专帐中的另一笔拨付{when}（所属合同您无权查看），请核对凭证号")
    where = f"合同 {contract_no} 的{entry}" if contract_no else entry
    return conflict(f"凭证号 {voucher} 已用于{where}{when}，一个凭证号只能登记一笔拨付，请核对凭证号")


def refuse_evaluation(contract: ContractState, submission: EvaluationSubmission) -> Refusal | None:
    if refusal := _closed(contract) or _open_task(contract, "evaluation", submission.actor):
        return refusal
    assert contract.policy is not None
    problems = evaluation_problems(submission.evaluation, contract.policy)
    return invalid("；".join(problems)) if problems else None


def refuse_rectification_report(contract: ContractState, report: RectificationReport) -> Refusal | None:
    if refusal := _closed(contract) or _supplier(contract, report.actor):
        return refusal
    if contract.phase is not ContractPhase.rectification or contract.rectification is None:
        return conflict("合同当前不在整改期")
    if contract.rectification.report is not None:
        return conflict("整改报告已提交，等待复评")
    return None


def refuse_amendment(contract: ContractState, proposal: AmendmentProposal) -> Refusal | None:
    if refusal := _closed(contract):
        return refusal
    if party_of(contract, proposal.actor) is None:
        return forbidden("合同变更须由购买方或承接方提出")
    if contract.phase not in (*RUNNING, ContractPhase.suspended):
        return conflict("合同生效后才能变更；生效前请直接修改履约计划")
    if undecided := contract.undecided_amendment:
        return conflict(f"变更 {undecided.amendment_no} {undecided.status.label}，办结后才能提出新的变更")
    problems = amendment_problems(contract, proposal.amendment)
    return invalid("；".join(problems)) if problems else None


def refuse_amendment_answer(contract: ContractState, answer: AmendmentAnswer) -> Refusal | None:
    if refusal := _closed(contract):
        return refusal
    amendment = contract.open_amendment
    if amendment is None or amendment.amendment_no != answer.amendment_no:
        return conflict(f"没有待确认的变更 {answer.amendment_no}")
    party = party_of(contract, answer.actor)
    if party is None or party == party_of(contract, amendment.proposed_by):
        return forbidden("合同变更须由提出方以外的另一方确认")
    if not answer.agree and not answer.reasons:
        return invalid("不同意变更必须写明理由")
    problems = amendment_problems(contract, amendment)
    return conflict("合同情况已变化，该变更不再可行：" + "；".join(problems)) if problems else None


def refuse_amendment_approval(contract: ContractState, approval: AmendmentApproval) -> Refusal | None:
    """Only the organizer's post holding the task decides; a decision states its reasons; an amendment
    overtaken by events (a payment instructed, a milestone accepted meanwhile) can no longer be approved."""
    if refusal := _closed(contract):
        return refusal
    amendment = next((a for a in contract.amendments if a.amendment_no == approval.amendment_no), None)
    if amendment is None or amendment.status is not AmendmentStatus.awaiting_approval or amendment.approval_task_id is None:
        return conflict(f"没有待审批的合同变更 {approval.amendment_no}")
    task = contract.task(amendment.approval_task_id)
    if task is None or task.status is not TaskStatus.open:
        return conflict(f"合同变更 {approval.amendment_no} 的审批任务尚未开始或已办结")
    if refusal := refuse_task_actor(task, approval.actor):
        return refusal
    if not approval.reasons:
        return invalid("审批追加合同金额须写明理由（同意或不同意的依据）")
    if approval.approve and (problems := amendment_problems(contract, amendment)):
        return conflict("合同情况已变化，该变更不再可行，请不同意并说明：" + "；".join(problems))
    return None


def refuse_suspension(contract: ContractState, act: SuspensionAct) -> Refusal | None:
    if refusal := _closed(contract) or _buyer(contract, act.actor):
        return refusal
    if act.suspend:
        if contract.phase not in RUNNING:
            return conflict(f"合同当前处于「{contract.phase_names[1]}」，不能中止")
        if not act.reasons:
            return invalid("中止合同必须写明理由")
    elif contract.phase is not ContractPhase.suspended:
        return conflict("合同未中止，无需恢复")
    return None


def refuse_termination(contract: ContractState, act: TerminationAct) -> Refusal | None:
    if refusal := _closed(contract):
        return refusal
    if not is_buyer(contract, act.actor) and refuse_non_organizer(act.actor, contract.organizer):
        return forbidden(f"提前终止合同须由购买方{contract.basis.buyer_office}或组织单位{contract.organizer.name}办理")
    return None
