"""The rules of a purchase-of-service contract as pure functions: a plan that adds up, an
amendment that leaves the past alone, and an evaluation turned into a grade."""

from __future__ import annotations

from datetime import date

from schemas.contracts import (
    AmendmentInput,
    ContractBasis,
    ContractPlan,
    ContractState,
    EvaluationInput,
    EvaluationKind,
    Milestone,
    MilestoneStatus,
    Tranche,
    TrancheStatus,
    term_end,
)
from schemas.documents import DocumentKind
from schemas.money import yuan
from schemas.people import Office, Role
from schemas.policy import ContractPolicy, GradeBand


def _months_between(start: date, end: date) -> int:
    """Whole months a term covers, counting a started month (2027-01-01..2027-12-31 is 12)."""
    return (end.year - start.year) * 12 + end.month - start.month + (1 if end.day >= start.day else 0)


def _day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def agreed_term_problems(plan: ContractPlan, basis: ContractBasis) -> list[str]:
    """The plan's term is the one awarded (the demand's service period) or approved (the single-source
    request): a contract signed for a shorter or longer term than the award would buy another service."""
    end = term_end(plan.start_date, basis.duration_months)
    if plan.end_date == end:
        return []
    source = "成交项目" if basis.origin == "lot" else "经批准的单一来源采购"
    return [
        f"合同期限须与{source}的服务期限{basis.duration_months}个月一致：自{_day(plan.start_date)}开始的，"
        f"应至{_day(end)}结束（现为{_day(plan.end_date)}），请修改结束日期或开始日期"
    ]


def plan_problems(
    plan: ContractPlan, amount_fen: int, basis: ContractBasis, policy: ContractPolicy, amending: bool = False
) -> list[str]:
    """Everything wrong with a plan, at once: term, milestone dates, and a payment schedule that adds up.
    A plan to sign has the agreed term; an amendment may lengthen it by up to a year, within the policy."""
    problems = []
    if plan.end_date <= plan.start_date:
        problems.append("合同结束日期须晚于开始日期")
    elif not amending:
        problems.extend(agreed_term_problems(plan, basis))
    months = _months_between(plan.start_date, plan.end_date)
    longest = min(policy.max_term_months, basis.duration_months + 12) if amending else policy.max_term_months
    if months > longest:
        agreed = f"约定的服务期限{basis.duration_months}个月，" if amending else ""
        problems.append(f"合同期限{months}个月，超过{agreed}最长{longest}个月")
    dates = [m.due_date for m in plan.milestones]
    for number, milestone in enumerate(plan.milestones, start=1):
        if not plan.start_date <= milestone.due_date <= plan.end_date:
            problems.append(f"第{number}个节点「{milestone.title}」的完成日期{milestone.due_date}不在合同期限内")
    if dates != sorted(dates):
        problems.append("服务节点须按完成日期先后排列")
    mid_terms = [n for n, m in enumerate(plan.milestones, start=1) if m.mid_term_evaluation]
    if len(mid_terms) > 1:
        problems.append("只能有一个节点在完成后进行中期绩效评价")
    if mid_terms and mid_terms[0] == len(plan.milestones):
        problems.append("最后一个节点完成后进行终期评价，中期评价须设在之前的节点")
    if not mid_terms and len(plan.milestones) > 1:
        problems.append("有两个以上节点的合同须指定一个节点在完成后进行中期绩效评价")
    total = sum(t.amount_fen for t in plan.tranches)
    if total != amount_fen:
        agreed = "成交金额" if basis.origin == "lot" else "经批准的单一来源采购金额"
        named = "合同金额" if amending else f"合同金额（{agreed}）"
        problems.append(f"拨付计划合计{yuan(total)}，与{named}{yuan(amount_fen)}不一致，请调整各笔拨付金额")
    seen: set[int] = set()
    for number, tranche in enumerate(plan.tranches, start=1):
        if tranche.on == "milestone":
            if tranche.milestone is None or not 1 <= tranche.milestone <= len(plan.milestones):
                problems.append(f"第{number}笔拨付须指明对应的节点序号（1–{len(plan.milestones)}）")
            elif tranche.milestone in seen:
                problems.append(f"第{tranche.milestone}个节点对应了多笔拨付")
            else:
                seen.add(tranche.milestone)
        elif tranche.milestone is not None:
            problems.append(f"第{number}笔拨付的条件不是节点验收，不能指定节点")
    for trigger, name in (("signing", "签约预付"), ("final_evaluation", "终期评价后拨付")):
        if sum(t.on == trigger for t in plan.tranches) > 1:
            problems.append(f"{name}只能有一笔")
    return problems


def milestones_of(plan: ContractPlan) -> list[Milestone]:
    return [Milestone(**m.model_dump(), milestone_id=f"M{n}") for n, m in enumerate(plan.milestones, start=1)]


def tranches_of(plan: ContractPlan) -> list[Tranche]:
    return [
        Tranche(
            tranche_id=f"T{n}", amount_fen=t.amount_fen, on=t.on,
            milestone_id=f"M{t.milestone}" if t.on == "milestone" else None,
        )
        for n, t in enumerate(plan.tranches, start=1)
    ]


def amendment_problems(state: ContractState, amendment: AmendmentInput) -> list[str]:
    """An amendment changes the future only: accepted milestones and released tranches stay as they were."""
    assert state.policy is not None
    if any(e.stage is EvaluationKind.final and e.passed for e in state.evaluations):
        return ["终期绩效评价已完成，合同不能再变更"]
    amount = amendment.amount_fen or state.amount_fen
    problems = plan_problems(amendment.plan, amount, state.basis, state.policy, amending=True)
    if amount < state.committed_fen:
        problems.append(f"变更后的合同金额{yuan(amount)}少于已下达支付指令的{yuan(state.committed_fen)}")
    if amount > (cap := increase_cap(state)):
        awarded = state.basis.amount_fen
        problems.append(
            f"变更后的合同金额{yuan(amount)}超过{'成交' if state.basis.origin == 'lot' else '经批准的'}金额{yuan(awarded)}"
            f"的{state.policy.amendment_increase_cap_percent}%上限（最多{yuan(cap)}），不能通过合同变更追加，"
            "请将金额调至上限以内，超出部分另行组织采购"
        )
    new_milestones, new_tranches = milestones_of(amendment.plan), tranches_of(amendment.plan)
    for old in state.milestones:
        if old.status is MilestoneStatus.accepted:
            new = next((m for m in new_milestones if m.milestone_id == old.milestone_id), None)
            if new is None or (new.title, new.due_date, new.deliverables) != (old.title, old.due_date, old.deliverables):
                problems.append(f"已验收的节点{old.milestone_id}「{old.title}」不能变更")
    released = {t.tranche_id for t in state.tranches if t.status is not TrancheStatus.pending}
    for old in state.tranches:
        if old.tranche_id in released:
            new = next((t for t in new_tranches if t.tranche_id == old.tranche_id), None)
            if new is None or (new.amount_fen, new.on, new.milestone_id) != (old.amount_fen, old.on, old.milestone_id):
                problems.append(f"已下达支付指令的拨付{old.tranche_id}（{yuan(old.amount_fen)}）不能变更")
    accepted = {m.milestone_id for m in state.milestones if m.status is MilestoneStatus.accepted}
    for new in new_tranches:
        if new.tranche_id in released:
            continue
        if new.on == "signing":
            problems.append(f"合同已签署生效，拨付{new.tranche_id}不能再以签约为条件")
        elif new.milestone_id in accepted:
            problems.append(f"节点{new.milestone_id}已验收，拨付{new.tranche_id}不能再以其验收为条件")
    return problems


def increase_cap(state: ContractState) -> int:
    """The most an amendment may raise the contract to: the awarded amount plus the policy's share of it."""
    assert state.policy is not None
    return state.basis.amount_fen * (100 + state.policy.amendment_increase_cap_percent) // 100


def buyer_office(state: ContractState) -> Office:
    basis = state.basis
    place = next((j for j in state.locality.chain if j.code == basis.buyer_jurisdiction), state.locality.chain[0])
    return Office(jurisdiction=basis.buyer_jurisdiction, jurisdiction_name=place.full_name, role=Role.department, name=basis.buyer_office)


def evaluator_office(state: ContractState) -> Office:
    """Who evaluates performance: the third party where the policy says so, otherwise the buyer itself."""
    assert state.policy is not None
    if state.policy.evaluation_by_third_party:
        return state.locality.office(Role.evaluator, state.locality.chain[0].level)
    return buyer_office(state)


def issuing_office(state: ContractState, kind: DocumentKind) -> Office:
    """Whose name and seal a contract document carries: a payment instruction, the paying side the policy
    names (the buying department, whose budget pays, by default); a performance report, its evaluator;
    the contract and the notices, the organizer."""
    assert state.policy is not None
    if kind is DocumentKind.payment_instruction and state.policy.payment_instructed_by == "buyer":
        return buyer_office(state)
    if kind is DocumentKind.performance_report:
        return evaluator_office(state)
    return state.organizer


def evaluation_problems(evaluation: EvaluationInput, policy: ContractPolicy) -> list[str]:
    problems = []
    for dimension in policy.evaluation_dimensions:
        points = evaluation.scores.get(dimension.id)
        if points is None:
            problems.append(f"缺少「{dimension.name}」（{dimension.id}）的得分")
        elif not 0 <= points <= dimension.weight:
            problems.append(f"「{dimension.name}」得分 {points} 超出 0–{dimension.weight} 分")
    known = {d.id for d in policy.evaluation_dimensions}
    problems.extend(f"评价维度 {d} 不在评价指标中" for d in sorted(set(evaluation.scores) - known))
    return problems


def grade(evaluation: EvaluationInput, policy: ContractPolicy) -> tuple[int, int, GradeBand]:
    """(satisfaction points, total, grade band): satisfaction counts its weight times the rate, rounded half up."""
    satisfaction = (2 * policy.satisfaction_weight * evaluation.satisfaction_rate + 100) // 200
    total = sum(evaluation.scores.values()) + satisfaction
    return satisfaction, total, policy.band(total)
