"""政府购买服务合同: one contract from award (or an approved single-source purchase) to completion.

drafting: the buyer drafts the plan (milestones, payment schedule) → both parties sign the
contract document → in force: a tranche on signing; for each milestone the supplier reports
(reminded before the due date, flagged when late), the buyer accepts or returns it (AB岗), an
accepted milestone releases its tranche (支付指令 into the 专帐 ledger; the finance office records
the disbursement); a mid-term and a final performance evaluation (third party where the policy
says so): a failing grade opens 整改 and a re-evaluation, failing again ends the contract (unpaid
tranches withheld, the organization barred from next year's fairs); a passing final evaluation
releases the last tranche and earns the 以奖代补 reward tier. Amendments need both parties, and
an increase beyond the awarded amount the organizer's approval (AB岗) as well, up to the policy's cap;
the buyer may suspend or end the contract early. Every step can resume after continue-as-new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.base import CaseClosed, ProcessWorkflow, refuse_if

with workflow.unsafe.imports_passed_through():
    from rules import contract_permissions as permissions
    from rules.contracts import buyer_office, evaluator_office, grade, issuing_office, milestones_of, tranches_of
    from schemas.case import ActionReceipt, Outcome, TaskStatus
    from schemas.checklist import StepPlan
    from schemas.contracts import (
        Amendment,
        AmendmentAnswer,
        AmendmentApproval,
        AmendmentProposal,
        AmendmentStatus,
        BankAccount,
        ContractLookup,
        ContractPhase,
        ContractPlan,
        ContractResult,
        ContractRules,
        ContractStart,
        ContractState,
        DeliveryReport,
        DeliveryReview,
        DeliverySubmission,
        DisbursementRecord,
        Evaluation,
        EvaluationKind,
        EvaluationSubmission,
        LedgerDisbursement,
        LedgerInstruction,
        LedgerWithholding,
        Milestone,
        MilestoneStatus,
        PerformanceRecord,
        PlanProposal,
        Rectification,
        RectificationReport,
        Signature,
        SigningAct,
        SingleSourceApproval,
        SuspensionAct,
        TerminationAct,
        Tranche,
        TrancheStatus,
    )
    from schemas.document_request import DocumentRequest
    from schemas.documents import DocumentKind, DocumentRef
    from schemas.localtime import SHANGHAI, local_date
    from schemas.money import yuan
    from schemas.notifications import NotificationKind
    from schemas.people import Actor, Role

AMENDMENT_APPROVAL = "amendment-beyond-award-needs-organizer-approval"
"""Patch: histories recorded before it put any amendment both parties agreed into force at once."""

SIGNED_CONTRACT = "contract-reissued-once-signed-with-the-payee-account"
"""Patch: histories recorded before it issued the contract only unsigned and looked up no receiving account."""

PAYEE_AT_INSTRUCTION = "payee-account-looked-up-when-instructing"
"""Patch: histories recorded before it instructed payments without the supplier's receiving account."""

ISSUED_BY_ACTING_OFFICE = "contract-documents-issued-by-the-acting-office"
"""Patch: histories recorded before it issued every contract document in the organizer's name."""

SUSPENSION_HOLDS = "suspension-holds-main-line-moves"
"""Patch: histories recorded before it let a main-line move lift a suspension that came during an activity."""


@workflow.defn
class ContractWorkflow(ProcessWorkflow):
    PROJECTION = "project_contract"

    @workflow.init
    def __init__(self, start: ContractStart) -> None:
        if start.carried_over is not None:
            self.case = start.carried_over
        else:
            assert start.request is not None
            basis = start.request.basis
            self.case = ContractState(
                contract_no=basis.contract_no,
                basis=basis,
                organizer=start.request.organizer,
                locality=start.request.locality,
                opened_at=workflow.now(),
                amount_fen=basis.amount_fen,
                phase=ContractPhase.approval if basis.origin == "single_source" else ContractPhase.drafting,
            )
        self._termination: TerminationAct | None = None
        self._proposed_plan: PlanProposal | None = None
        self._pending_evaluation: tuple[EvaluationKind, EvaluationKind] | None = None
        self._disbursements: list[asyncio.Task[None]] = []
        self._approvals: dict[int, asyncio.Task[None]] = {}

    # --- the procedure (every step skips what is already done, so a carried-over run resumes) ----

    @workflow.run
    async def run(self, start: ContractStart) -> ContractResult | None:
        if start.carried_over is not None:
            self.case.runs += 1
            self._record(None, "continued", f"合同办理记录较长，转入第{self.case.runs}段继续办理，状态、待办和期限均延续")
        else:
            basis = self.case.basis
            origin = f"由项目 {basis.lot_no} 成交产生" if basis.origin == "lot" else "单一来源采购，待组织单位审批"
            self._record(
                None, "opened",
                f"「{basis.title}」合同（{basis.buyer_office}向「{basis.supplier_name}」购买服务，{yuan(basis.amount_fen)}，"
                f"{basis.duration_months}个月）{origin}",
                self.case.phase,
            )
        try:
            if self.case.policy is None:
                await self._load_policy()
            for tranche in self._instructed_unpaid():
                self._follow_disbursement(tranche)
            if (amendment := self.case.undecided_amendment) and amendment.status is AmendmentStatus.awaiting_approval:
                self._follow_approval(amendment)
            if self.case.phase is ContractPhase.approval:
                await self._single_source_approval()
            if self.case.phase in (ContractPhase.drafting, ContractPhase.signing):
                await self._agree_and_sign()
            await self._release("signing")
            while milestone := self._next_milestone():
                await self._deliver(milestone)
                if milestone.status is MilestoneStatus.accepted and milestone.mid_term_evaluation and not milestone.evaluated:
                    await self._evaluation(EvaluationKind.mid_term)
                    milestone.evaluated = True
                await self._continue_as_new_if_long()
            if not any(e.stage is EvaluationKind.final and e.passed for e in self.case.evaluations):
                await self._evaluation(EvaluationKind.final)
            await self._release("final_evaluation")
            await self._reward()
            await self._main_wait(lambda: not self._instructed_unpaid(), until=None)
            self._finish()
        except CaseClosed:
            pass
        await self._serving_wait(lambda: all(d.done() for d in [*self._disbursements, *self._approvals.values()]), None, interruptible=False)
        await self._settle()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.case.result

    async def _load_policy(self) -> None:
        lookup = ContractLookup(jurisdiction_chain=[j.code for j in self.case.locality.chain], on=local_date(workflow.now()))
        rules = await self._call("contract_policy", lookup, ContractRules)
        self.case.policy, self.case.policy_ref, self.case.history_limit = rules.policy, rules.ref, rules.history_limit
        self._touch()

    async def _single_source_approval(self) -> None:
        step = self._step("single_source_approval", "单一来源采购审批", 5, Role.civil_affairs)
        task = await self._open_task(step, step.time_limit_working_days, self.case.organizer, step.staff_name, None)
        await self._await_task(task, step, main=True)
        assert task.decision is not None
        if task.decision.outcome is Outcome.refuse:
            self._end(ContractPhase.terminated, ["组织单位不同意单一来源采购：" + "；".join(task.decision.reasons)])
            self._record(task.decision.by, "single_source_refused", "组织单位不同意单一来源采购，合同不再订立", ContractPhase.terminated)
            raise CaseClosed
        self._record(task.decision.by, "single_source_approved", "组织单位同意单一来源采购，由购买方起草履约计划", ContractPhase.drafting)

    async def _agree_and_sign(self) -> None:
        """The buyer drafts (and may redraft) the plan; the contract runs once both parties signed one version."""
        def signed() -> bool:
            return bool(self.case.plan and self.case.signed_by("buyer") and self.case.signed_by("supplier"))

        while not signed():
            await self._main_wait(lambda: self._proposed_plan is not None or signed(), until=None)
            if self._proposed_plan is not None:
                proposal, self._proposed_plan = self._proposed_plan, None
                await self._adopt_plan(proposal.plan, proposal.actor)
        reissued = ""
        if workflow.patched(SIGNED_CONTRACT):
            await self._learn_payee()
            await self._issue(DocumentKind.contract)
            reissued = "，已出具双方签署的合同文本"
        self._record(None, "in_force", f"双方已签署第{self.case.version}版合同，合同生效{reissued}", ContractPhase.in_force)
        await self._notify(NotificationKind.contract_in_force, [self.case.basis.buyer, *self._supplier_contacts()])

    async def _adopt_plan(self, plan: ContractPlan, by: Actor) -> None:
        self.case.plan = plan
        self.case.milestones, self.case.tranches = milestones_of(plan), tranches_of(plan)
        self.case.version += 1
        await self._issue(DocumentKind.contract)
        self._record(
            by, "plan_drafted",
            f"购买方提交第{self.case.version}版履约计划（{len(plan.milestones)}个节点、{len(plan.tranches)}笔拨付），"
            "请双方签署合同",
            ContractPhase.signing,
        )

    async def _deliver(self, milestone: Milestone) -> None:
        """One milestone: the report (reminded before, flagged when late), then the buyer's acceptance."""
        while milestone.status is not MilestoneStatus.accepted and milestone in self.case.milestones:
            if milestone.status is MilestoneStatus.submitted:
                await self._acceptance(milestone)
                continue
            until, on_time = self._report_timer(milestone)
            if not await self._main_wait(lambda: milestone.status is MilestoneStatus.submitted or milestone not in self.case.milestones, until):
                if on_time:
                    await on_time(milestone)

    def _report_timer(self, milestone: Milestone):  # type: ignore[no-untyped-def]
        due_at = datetime.combine(milestone.due_date + timedelta(days=1), time(0), SHANGHAI)
        remind_at = datetime.combine(milestone.due_date - timedelta(days=self._policy.report_reminder_days), time(9), SHANGHAI)
        if milestone.reminded_at is None and milestone.late_flagged_at is None and remind_at < due_at:
            return remind_at, self._remind_report
        if milestone.late_flagged_at is None:
            return due_at, self._flag_late
        return None, None

    async def _remind_report(self, milestone: Milestone) -> None:
        milestone.reminded_at = workflow.now()
        self._record(None, "report_reminded", f"节点{milestone.milestone_id}「{milestone.title}」将于{milestone.due_date}到期，已提醒承接方提交履约报告")
        await self._notify(
            NotificationKind.report_due, self._supplier_contacts(), milestone=milestone.title, due_date=milestone.due_date.isoformat()
        )

    async def _flag_late(self, milestone: Milestone) -> None:
        milestone.late_flagged_at = workflow.now()
        self._record(None, "report_late", f"节点{milestone.milestone_id}「{milestone.title}」已超过完成日期{milestone.due_date}，承接方尚未提交履约报告")
        await self._notify(
            NotificationKind.report_late, [*self._supplier_contacts(), self.case.basis.buyer],
            milestone=milestone.title, due_date=milestone.due_date.isoformat(),
        )

    async def _acceptance(self, milestone: Milestone) -> None:
        step = self._step("acceptance", "验收履约报告", self._policy.acceptance_working_days, Role.department)
        task = await self._open_task(
            step, step.time_limit_working_days, buyer_office(self.case), f"验收节点{milestone.milestone_id}「{milestone.title}」", None,
            subject=milestone.milestone_id,
        )
        await self._await_task(task, step, main=True)
        decision = task.decision
        assert decision is not None
        milestone.reports[-1].decision = decision
        if decision.outcome is Outcome.approve:
            milestone.status, milestone.accepted_at = MilestoneStatus.accepted, workflow.now()
            self._record(decision.by, "milestone_accepted", f"购买方验收通过节点{milestone.milestone_id}「{milestone.title}」")
            await self._release("milestone", milestone.milestone_id)
        else:
            milestone.status = MilestoneStatus.returned
            self._record(decision.by, "milestone_returned", f"购买方退回节点{milestone.milestone_id}的履约报告：{'；'.join(decision.reasons)}")
            await self._notify(NotificationKind.report_returned, self._supplier_contacts(), milestone=milestone.title)

    # --- money: the 专帐 ledger -------------------------------------------------------------

    async def _release(self, trigger: str, milestone_id: str | None = None) -> None:
        """Instruct each tranche the trigger releases, once; the ledger refuses anything beyond the contract amount."""
        for tranche in self.case.tranches:
            if tranche.status is TrancheStatus.pending and tranche.on == trigger and tranche.milestone_id == milestone_id:
                await self._instruct(tranche, "tranche", cap=self.case.amount_fen)

    async def _learn_payee(self) -> None:
        """The supplier's receiving account from the register, for the signed contract and the payment instructions."""
        self.case.payee = await self._call("payee_account", self.case.basis.supplier, BankAccount | None)  # type: ignore[arg-type]

    async def _instruct(self, tranche: Tranche, kind: str, cap: int | None) -> None:
        if self.case.payee is None and workflow.patched(PAYEE_AT_INSTRUCTION):
            await self._learn_payee()  # signed before accounts were kept, or registered since
        document = await self._issue(
            DocumentKind.payment_instruction if kind == "tranche" else DocumentKind.reward_decision, subject=tranche.tranche_id
        )
        instruction = LedgerInstruction(
            contract_no=self.case.contract_no, entry=tranche.tranche_id, kind=kind, amount_fen=tranche.amount_fen,
            cap_fen=cap, document_id=document.document_id, instructed_at=workflow.now(),
        )
        try:
            await self._call("instruct_payment", instruction, type(None))
        except ActivityError as error:
            self._record(None, "payment_refused", f"{tranche.tranche_id}（{yuan(tranche.amount_fen)}）未能下达支付指令：{error.cause}")
            return
        instructed_at = workflow.now()
        self._record(None, "payment_instructed", f"下达支付指令：{tranche.tranche_id} {yuan(tranche.amount_fen)}（{self._trigger_label(tranche)}），待财政部门拨付")
        step = self._step("disbursement", "拨付资金", self._policy.disbursement_working_days, Role.finance)
        office = self.case.locality.office(Role.finance, self.case.locality.chain[0].level)
        task = await self._open_task(
            step, step.time_limit_working_days, office, f"拨付{tranche.tranche_id}（{yuan(tranche.amount_fen)}）", None, subject=tranche.tranche_id
        )
        # finance may pay from here on: the tranche and its task become visible together
        tranche.status, tranche.instructed_at, tranche.document_id = TrancheStatus.instructed, instructed_at, document.document_id
        tranche.task_id = task.task_id
        self._follow_disbursement(tranche)

    def _follow_disbursement(self, tranche: Tranche) -> None:
        self._disbursements.append(asyncio.create_task(self._disburse(tranche)))

    async def _disburse(self, tranche: Tranche) -> None:
        """Finance records the payment; an instructed payment is made even if the contract ends meanwhile."""
        task = self.case.task(tranche.task_id) if tranche.task_id else None
        assert task is not None
        step = self._step("disbursement", "拨付资金", self._policy.disbursement_working_days, Role.finance)
        await self._await_task(task, step, main=False, interruptible=False)
        assert task.decision is not None and task.decision.comment
        voucher = task.decision.comment
        await self._call(
            "record_disbursement",
            LedgerDisbursement(contract_no=self.case.contract_no, entry=tranche.tranche_id, voucher=voucher, paid_at=workflow.now()),
            type(None),
        )
        tranche.status, tranche.paid_at, tranche.voucher = TrancheStatus.paid, workflow.now(), voucher
        self._record(task.decision.by, "paid", f"财政部门已拨付{tranche.tranche_id} {yuan(tranche.amount_fen)}（凭证 {voucher}）")
        await self._settle()

    def _instructed_unpaid(self) -> list[Tranche]:
        reward = [self.case.reward] if self.case.reward else []
        return [t for t in [*self.case.tranches, *reward] if t.status is TrancheStatus.instructed]

    # --- performance evaluation, rectification, reward -------------------------------------------

    async def _evaluation(self, kind: EvaluationKind, stage: EvaluationKind | None = None) -> None:
        if self._interrupted() and workflow.patched(SUSPENSION_HOLDS):
            await self._on_interrupt()  # suspended (or ended) since the last wait: no evaluation opens meanwhile
        stage = stage or kind
        role = Role.evaluator if self._policy.evaluation_by_third_party else Role.department
        office = evaluator_office(self.case)
        step = self._step("evaluation", kind.label, self._policy.evaluation_working_days, role)
        previous = self.case.phase if self.case.phase is not ContractPhase.rectification else ContractPhase.in_force
        self._pending_evaluation = (kind, stage)  # before the task opens: the evaluator may answer at once
        task = await self._open_task(step, step.time_limit_working_days, office, kind.label, ContractPhase.evaluation, subject=stage.value)
        await self._await_task(task, step, main=True)
        evaluation = self.case.evaluations[-1]
        document = await self._issue(DocumentKind.performance_report, subject=evaluation.evaluation_id)
        evaluation.document_id = document.document_id
        verdict = "合格" if evaluation.passed else "不合格"
        self._record(
            evaluation.evaluator, "evaluated",
            f"{kind.label}：总分{evaluation.total}（满意率{evaluation.satisfaction_rate}%），等级{evaluation.grade}（{evaluation.grade_label}），{verdict}",
            previous if evaluation.passed else None,
        )
        await self._notify(
            NotificationKind.evaluated, [*self._supplier_contacts(), self.case.basis.buyer],
            evaluation=kind.label, grade=f"{evaluation.grade}（{evaluation.grade_label}）",
        )
        if evaluation.passed:
            return
        if kind is EvaluationKind.re_evaluation:
            await self._terminate_for_failure(evaluation)
        await self._rectify(evaluation, stage)
        await self._evaluation(EvaluationKind.re_evaluation, stage)

    async def _rectify(self, evaluation: Evaluation, stage: EvaluationKind) -> None:
        due = await self._deadline(self._policy.rectification_working_days)
        items = [f"{evaluation.comment}", f"{stage.label}得分{evaluation.total}分（{evaluation.grade_label}），须整改后复评"]
        notice = await self._issue(DocumentKind.rectification_notice, items=items, deadline=due)
        self.case.rectification = Rectification(
            stage=stage, opened_at=workflow.now(), due_at=due.due_at, due_date=due.due_date, items=items,
            notice_document_id=notice.document_id,
        )
        self._record(None, "rectification", f"{stage.label}不合格，限期于{due.due_date}前完成整改并提交整改报告", ContractPhase.rectification)
        await self._notify(NotificationKind.rectification, self._supplier_contacts(), due_date=due.due_date.isoformat())
        rectification = self.case.rectification
        while rectification.report is None:
            if not await self._main_wait(lambda: rectification.report is not None, until=due.due_at):
                self._record(None, "rectification_overdue", f"整改期限{due.due_date}届满，承接方未提交整改报告，进行复评")
                return

    async def _terminate_for_failure(self, evaluation: Evaluation) -> None:
        """Failing again after 整改: the contract ends, unpaid tranches are withheld, the organization is barred."""
        barred = local_date(workflow.now()).year + self._policy.bar_years_after_failure
        withheld = await self._withhold("整改后复评仍不合格")
        await self._call(
            "record_performance",
            PerformanceRecord(organization=self.case.basis.supplier, grade=evaluation.grade, year=local_date(workflow.now()).year, barred_until_year=barred),
            type(None),
        )
        reasons = [
            f"{evaluation.kind.label}得分{evaluation.total}分，等级{evaluation.grade}（{evaluation.grade_label}），整改后仍不合格",
            f"未拨付的{yuan(withheld)}不再拨付",
            f"「{self.case.basis.supplier_name}」{barred}年度及以前不得参加社洽会",
        ]
        await self._close_early(reasons, evaluation.grade, barred, None)

    async def _reward(self) -> None:
        final = next(e for e in reversed(self.case.evaluations) if e.stage is EvaluationKind.final and e.passed)
        await self._call(
            "record_performance",
            PerformanceRecord(organization=self.case.basis.supplier, grade=final.grade, year=local_date(workflow.now()).year),
            type(None),
        )
        tier = next((r for r in self._policy.rewards if r.grade == final.grade), None)
        if tier is None or self.case.reward is not None:
            return
        self.case.reward = Tranche(tranche_id="R1", amount_fen=tier.amount_fen, on="final_evaluation")
        await self._instruct(self.case.reward, "reward", cap=None)
        self._record(None, "rewarded", f"终期评价{final.grade}（{final.grade_label}），按以奖代补政策奖励{yuan(tier.amount_fen)}")

    async def _main_wait(self, condition: Callable[[], bool], until: datetime | None) -> bool:
        ready = await self._serving_wait(condition, until)
        await self._on_interrupt()
        return ready

    async def _serving_wait(self, condition: Callable[[], bool], until: datetime | None, interruptible: bool = True) -> bool:
        """Wait as everywhere, but a case this long-lived is changed by updates that do not end the wait (an
        amendment, a suspension, a payment): the main line projects each at once, so its receipt returns while
        the wait goes on. (Payments followed alongside wait plainly, so only one line answers for the read model.)"""
        while True:
            if not await self._wait(lambda: condition() or self.case.revision > self._projected_revision, until, interruptible):
                return False
            if condition() or (interruptible and self._interrupted()):
                return True

    # --- endings ---------------------------------------------------------------------------------

    def _finish(self) -> None:
        final = next(e for e in reversed(self.case.evaluations) if e.stage is EvaluationKind.final and e.passed)
        unpaid = [t for t in self.case.tranches if t.status is TrancheStatus.pending]
        reasons = [f"{t.tranche_id}（{yuan(t.amount_fen)}）未能下达支付指令，须由组织单位核查专帐" for t in unpaid]
        paid = "；".join(reasons) if reasons else "全部款项已拨付"
        self._end(ContractPhase.completed, reasons, final.grade)
        self._record(None, "completed", f"合同履行完毕，终期评价{final.grade}（{final.grade_label}），{paid}", ContractPhase.completed)

    async def _withhold(self, reason: str) -> int:
        pending = [t for t in self.case.tranches if t.status is TrancheStatus.pending]
        if pending:
            await self._call(
                "withhold_payments",
                LedgerWithholding(
                    contract_no=self.case.contract_no, entries={t.tranche_id: t.amount_fen for t in pending}, reason=reason,
                    at=workflow.now(),
                ),
                type(None),
            )
        for tranche in pending:
            tranche.status = TrancheStatus.withheld
        return sum(t.amount_fen for t in pending)

    async def _close_early(self, reasons: list[str], final_grade: str | None, barred: int | None, by: Actor | None) -> None:
        await self._issue(DocumentKind.termination_notice, items=reasons)
        for task in self.case.open_tasks:
            if task.step != "disbursement":
                task.status, task.closed_at = TaskStatus.cancelled, workflow.now()
        self._end(ContractPhase.terminated, reasons, final_grade, barred)
        self._record(by, "terminated", "合同终止：" + "；".join(reasons), ContractPhase.terminated)
        await self._notify(NotificationKind.contract_terminated, [*self._supplier_contacts(), self.case.basis.buyer])
        raise CaseClosed

    def _end(self, phase: ContractPhase, reasons: list[str], final_grade: str | None = None, barred: int | None = None) -> None:
        self.case.result = ContractResult(
            phase=phase, decided_at=workflow.now(), reasons=reasons, final_grade=final_grade,
            reward_fen=self.case.reward.amount_fen if self.case.reward else 0, barred_until_year=barred,
        )

    def _history_events_limit(self) -> int:
        return self.case.history_limit

    def _carried_over(self) -> ContractStart:
        return ContractStart(carried_over=self.case)

    # --- interruptions: suspension and early termination -------------------------------------------

    def _interrupted(self) -> bool:
        return (self._termination is not None and not self.case.phase.terminal) or self.case.phase is ContractPhase.suspended

    async def _on_interrupt(self) -> None:
        if self.case.phase is ContractPhase.suspended:
            await self._serving_wait(
                lambda: self.case.phase is not ContractPhase.suspended or self._termination is not None, None, interruptible=False
            )
        if self._termination is not None and not self.case.phase.terminal:
            termination = self._termination
            withheld = await self._withhold("合同提前终止")
            reasons = [*termination.reasons, f"未到拨付条件的{yuan(withheld)}不再拨付"]
            await self._close_early(reasons, None, None, termination.actor)

    # --- human actions (validated updates) and the status query --------------------------

    @workflow.query
    def status(self) -> ContractState:
        return self._reported()

    @workflow.update
    async def approve_single_source(self, approval: SingleSourceApproval) -> ActionReceipt:
        task = next(t for t in self.case.open_tasks if t.step == "single_source_approval")
        self._complete_task(task, Outcome.approve if approval.approve else Outcome.refuse, approval.reasons, None, approval.actor)
        return await self._receipt("已审批单一来源采购")

    @approve_single_source.validator
    def _validate_approve_single_source(self, approval: SingleSourceApproval) -> None:
        refuse_if(permissions.refuse_single_source_approval(self.case, approval))

    @workflow.update
    async def propose_plan(self, proposal: PlanProposal) -> ActionReceipt:
        self._proposed_plan = proposal
        self._touch()
        return await self._receipt("履约计划已提交，待双方签署")

    @propose_plan.validator
    def _validate_propose_plan(self, proposal: PlanProposal) -> None:
        refuse_if(permissions.refuse_plan(self.case, proposal, local_date(workflow.now())))

    @workflow.update
    async def sign(self, signing: SigningAct) -> ActionReceipt:
        self.case.signatures.append(Signature(party=signing.party, by=signing.actor, at=workflow.now(), version=self.case.version))
        side = "购买方" if signing.party == "buyer" else "承接方"
        self._record(signing.actor, f"signed_{signing.party}", f"{side}{signing.actor.name}签署第{self.case.version}版合同")
        return await self._receipt(f"{side}已签署")

    @sign.validator
    def _validate_sign(self, signing: SigningAct) -> None:
        refuse_if(permissions.refuse_signing(self.case, signing))

    @workflow.update
    async def submit_delivery(self, submission: DeliverySubmission) -> ActionReceipt:
        milestone = self.case.milestone(submission.milestone_id)
        assert milestone is not None
        late = milestone.late_flagged_at is not None or workflow.now() >= datetime.combine(milestone.due_date + timedelta(days=1), time(0), SHANGHAI)
        report = DeliveryReport(
            **submission.report.model_dump(), report_no=len(milestone.reports) + 1, submitted_by=submission.actor,
            submitted_at=workflow.now(), late=late,
        )
        milestone.reports.append(report)
        milestone.status = MilestoneStatus.submitted
        lateness = "（逾期提交）" if late else ""
        self._record(submission.actor, "report_submitted", f"承接方提交节点{milestone.milestone_id}「{milestone.title}」的履约报告{lateness}")
        return await self._receipt("履约报告已提交，待购买方验收")

    @submit_delivery.validator
    def _validate_submit_delivery(self, submission: DeliverySubmission) -> None:
        refuse_if(permissions.refuse_delivery(self.case, submission))

    @workflow.update
    async def review_delivery(self, review: DeliveryReview) -> ActionReceipt:
        task = next(t for t in self.case.open_tasks if t.step == "acceptance" and t.subject == review.milestone_id)
        self._complete_task(
            task, Outcome.approve if review.accept else Outcome.refuse, review.reasons, None, review.actor,
            label="验收通过" if review.accept else "退回",
        )
        return await self._receipt("已验收" if review.accept else "已退回履约报告")

    @review_delivery.validator
    def _validate_review_delivery(self, review: DeliveryReview) -> None:
        refuse_if(permissions.refuse_delivery_review(self.case, review))

    @workflow.update
    async def record_disbursement(self, record: DisbursementRecord) -> ActionReceipt:
        tranche = self.case.payment(record.tranche_id)
        assert tranche is not None and tranche.task_id is not None
        task = self.case.task(tranche.task_id)
        assert task is not None
        self._complete_task(task, Outcome.approve, [], record.voucher, record.actor, label="已拨付")
        await workflow.wait_condition(lambda: tranche.status is TrancheStatus.paid)
        return await self._receipt(f"{record.tranche_id} 已拨付，已记入专帐")

    @record_disbursement.validator
    def _validate_record_disbursement(self, record: DisbursementRecord) -> None:
        refuse_if(permissions.refuse_disbursement(self.case, record))

    @workflow.update
    async def submit_evaluation(self, submission: EvaluationSubmission) -> ActionReceipt:
        task = next(t for t in self.case.open_tasks if t.step == "evaluation")
        assert self._pending_evaluation is not None
        kind, stage = self._pending_evaluation
        satisfaction, total, band = grade(submission.evaluation, self._policy)
        self.case.evaluations.append(
            Evaluation(
                **submission.evaluation.model_dump(), evaluation_id=f"E{len(self.case.evaluations) + 1}", kind=kind,
                stage=stage, satisfaction_points=satisfaction, total=total, grade=band.grade, grade_label=band.label,
                passed=band.grade not in self._policy.failing_grades, evaluator=submission.actor, submitted_at=workflow.now(),
            )
        )
        self._complete_task(task, Outcome.approve, [], f"总分{total}，{band.grade}（{band.label}）", submission.actor, label="已评价")
        return await self._receipt(f"评价已提交：总分{total}，等级{band.grade}（{band.label}）")

    @submit_evaluation.validator
    def _validate_submit_evaluation(self, submission: EvaluationSubmission) -> None:
        refuse_if(permissions.refuse_evaluation(self.case, submission))

    @workflow.update
    async def submit_rectification(self, report: RectificationReport) -> ActionReceipt:
        assert self.case.rectification is not None
        self.case.rectification.report = DeliveryReport(
            **report.report.model_dump(), report_no=1, submitted_by=report.actor, submitted_at=workflow.now(),
            late=workflow.now() >= self.case.rectification.due_at,
        )
        self._record(report.actor, "rectification_reported", "承接方提交整改报告，进行复评")
        return await self._receipt("整改报告已提交，将进行复评")

    @submit_rectification.validator
    def _validate_submit_rectification(self, report: RectificationReport) -> None:
        refuse_if(permissions.refuse_rectification_report(self.case, report))

    @workflow.update
    async def propose_amendment(self, proposal: AmendmentProposal) -> ActionReceipt:
        amendment = Amendment(
            **proposal.amendment.model_dump(), amendment_no=len(self.case.amendments) + 1, proposed_by=proposal.actor,
            proposed_at=workflow.now(),
        )
        self.case.amendments.append(amendment)
        self._record(proposal.actor, "amendment_proposed", f"提出合同变更{amendment.amendment_no}：{'；'.join(amendment.reasons)}")
        other = self._supplier_contacts() if permissions.is_buyer(self.case, proposal.actor) else [self.case.basis.buyer]
        await self._notify(NotificationKind.amendment_proposed, other, amendment=str(amendment.amendment_no))
        return await self._receipt(f"合同变更{amendment.amendment_no}已提出，待对方确认")

    @propose_amendment.validator
    def _validate_propose_amendment(self, proposal: AmendmentProposal) -> None:
        refuse_if(permissions.refuse_amendment(self.case, proposal))

    @workflow.update
    async def answer_amendment(self, answer: AmendmentAnswer) -> ActionReceipt:
        amendment = self.case.open_amendment
        assert amendment is not None
        amendment.answered_by, amendment.answered_at, amendment.answer_reasons = answer.actor, workflow.now(), answer.reasons
        if not answer.agree:
            amendment.status = AmendmentStatus.refused
            self._record(answer.actor, "amendment_refused", f"不同意合同变更{amendment.amendment_no}：{'；'.join(answer.reasons)}")
            return await self._receipt(f"已不同意合同变更{amendment.amendment_no}")
        if self.case.raises_beyond_award(amendment.amount_fen) and workflow.patched(AMENDMENT_APPROVAL):
            amendment.status = AmendmentStatus.awaiting_approval
            self._record(
                answer.actor, "amendment_awaiting_approval",
                f"双方同意合同变更{amendment.amendment_no}；变更后合同金额{yuan(amendment.amount_fen or 0)}超过"
                f"{'成交' if self.case.basis.origin == 'lot' else '经批准的'}金额{yuan(self.case.basis.amount_fen)}，报组织单位审批后生效",
            )
            step = self._amendment_approval_step()
            task = await self._open_task(
                step, step.time_limit_working_days, self.case.organizer, f"审批合同变更{amendment.amendment_no}（追加金额）", None,
                subject=str(amendment.amendment_no),
            )
            amendment.approval_task_id = task.task_id
            self._follow_approval(amendment)
            return await self._receipt(f"双方已同意合同变更{amendment.amendment_no}，追加金额须经组织单位审批后生效")
        await self._put_in_force(amendment, answer.actor)
        return await self._receipt(f"合同变更{amendment.amendment_no}已生效（第{self.case.version}版）")

    async def _put_in_force(self, amendment: Amendment, by: Actor) -> None:
        amendment.status = AmendmentStatus.agreed
        self._apply(amendment)
        amendment.version = self.case.version
        await self._issue(DocumentKind.contract)
        approved = "经组织单位审批，" if amendment.approval is not None else ""
        self._record(by, "amended", f"{approved}双方同意合同变更{amendment.amendment_no}，形成第{self.case.version}版合同")

    def _amendment_approval_step(self) -> StepPlan:
        return self._step("amendment_approval", "审批合同变更（追加金额）", self._policy.amendment_approval_working_days, Role.civil_affairs)

    def _follow_approval(self, amendment: Amendment) -> None:
        self._approvals[amendment.amendment_no] = asyncio.create_task(self._approval(amendment))

    async def _approval(self, amendment: Amendment) -> None:
        """An increase beyond the award: the organizer's A post decides (B岗 at the deadline); the contract
        goes on meanwhile, and an approval that comes after the contract ended changes nothing."""
        assert amendment.approval_task_id is not None
        task = self.case.task(amendment.approval_task_id)
        assert task is not None
        await self._await_task(task, self._amendment_approval_step(), main=False, interruptible=False)
        decision = task.decision
        if decision is None:  # the contract ended first and its tasks were closed
            amendment.status = AmendmentStatus.lapsed
            return
        amendment.approval = decision
        approved = decision.outcome is Outcome.approve
        if approved:
            await self._put_in_force(amendment, decision.by)
        else:
            amendment.status = AmendmentStatus.disapproved
            self._record(
                decision.by, "amendment_disapproved",
                f"组织单位不同意合同变更{amendment.amendment_no}追加金额：{'；'.join(decision.reasons)}；合同按第{self.case.version}版履行",
            )
        await self._notify(
            NotificationKind.amendment_decided, [self.case.basis.buyer, *self._supplier_contacts()],
            amendment=str(amendment.amendment_no), approved="yes" if approved else "no", organizer=self.case.organizer.name,
            reasons="；".join(decision.reasons),
        )
        await self._settle()

    @workflow.update
    async def approve_amendment(self, approval: AmendmentApproval) -> ActionReceipt:
        amendment = next(a for a in self.case.amendments if a.amendment_no == approval.amendment_no)
        task = self.case.task(amendment.approval_task_id or "")
        assert task is not None
        self._complete_task(
            task, Outcome.approve if approval.approve else Outcome.refuse, approval.reasons, None, approval.actor,
            label="同意追加金额" if approval.approve else "不同意追加金额",
        )
        # until the decision is carried out, so no continue-as-new cuts it short
        await workflow.wait_condition(lambda: self._approvals[amendment.amendment_no].done())
        if amendment.status is AmendmentStatus.agreed:
            return await self._receipt(f"合同变更{amendment.amendment_no}已生效（第{amendment.version}版）")
        return await self._receipt(f"已不同意合同变更{amendment.amendment_no}，合同按原约定履行")

    @approve_amendment.validator
    def _validate_approve_amendment(self, approval: AmendmentApproval) -> None:
        refuse_if(permissions.refuse_amendment_approval(self.case, approval))

    @answer_amendment.validator
    def _validate_answer_amendment(self, answer: AmendmentAnswer) -> None:
        refuse_if(permissions.refuse_amendment_answer(self.case, answer))

    def _apply(self, amendment: Amendment) -> None:
        """The future changes, the past stays: accepted milestones and released tranches keep their records."""
        new_milestones = {m.milestone_id: m for m in milestones_of(amendment.plan)}
        kept = []
        for old in self.case.milestones:
            new = new_milestones.pop(old.milestone_id, None)
            if new is None and old.status is MilestoneStatus.pending:
                continue
            if new is not None:
                old.title, old.deliverables, old.due_date, old.mid_term_evaluation = new.title, new.deliverables, new.due_date, new.mid_term_evaluation
            kept.append(old)
        self.case.milestones = kept + list(new_milestones.values())
        released = [t for t in self.case.tranches if t.status is not TrancheStatus.pending]
        ids = {t.tranche_id for t in released}
        self.case.tranches = released + [t for t in tranches_of(amendment.plan) if t.tranche_id not in ids]
        self.case.plan = amendment.plan
        self.case.amount_fen = amendment.amount_fen or self.case.amount_fen
        self.case.version += 1

    @workflow.update
    async def suspend(self, act: SuspensionAct) -> ActionReceipt:
        if act.suspend:
            self.case.phase_before_suspension = self.case.phase
            self._record(act.actor, "suspended", f"购买方中止合同：{'；'.join(act.reasons)}", ContractPhase.suspended)
        else:
            resumed = self.case.phase_before_suspension or ContractPhase.in_force
            self.case.phase_before_suspension = None
            self._record(act.actor, "resumed", "购买方恢复履行合同", resumed)
        return await self._receipt("合同已中止" if act.suspend else "合同已恢复履行")

    @suspend.validator
    def _validate_suspend(self, act: SuspensionAct) -> None:
        refuse_if(permissions.refuse_suspension(self.case, act))

    @workflow.update
    async def terminate(self, act: TerminationAct) -> ActionReceipt:
        self._termination = act
        self._touch()
        return await self._receipt("合同已终止")

    @terminate.validator
    def _validate_terminate(self, act: TerminationAct) -> None:
        refuse_if(permissions.refuse_termination(self.case, act))

    # --- how this process names itself --------------------------------------------------------

    @property
    def case_key(self) -> str:
        return self.case.contract_no

    def _enter(self, phase: str, step: StepPlan | None) -> None:
        moved = ContractPhase(phase)
        if self._held_by_suspension(moved):
            self.case.phase_before_suspension = moved  # where the buyer's resumption will take the contract
            return
        self.case.phase = moved

    def _held_by_suspension(self, moved: ContractPhase) -> bool:
        """A move the main line makes while the buyer has suspended the contract (it was inside an activity
        when the suspension came) waits for the resumption instead of silently lifting the suspension."""
        return (
            self.case.phase is ContractPhase.suspended
            and self.case.phase_before_suspension is not None
            and moved is not ContractPhase.suspended
            and not moved.terminal
            and workflow.patched(SUSPENSION_HOLDS)
        )

    def _phase_names(self) -> tuple[str, str]:
        return self.case.phase_names

    def _notification_context(self) -> dict[str, str]:
        return {"case_no": self.case.contract_no, "subject": self.case.basis.title, "contract_title": self.case.basis.title}

    @property
    def _policy(self):  # type: ignore[no-untyped-def]
        assert self.case.policy is not None
        return self.case.policy

    def _next_milestone(self) -> Milestone | None:
        return next((m for m in self.case.milestones if m.status is not MilestoneStatus.accepted or (m.mid_term_evaluation and not m.evaluated)), None)

    def _supplier_contacts(self) -> list[Actor]:
        """Who signed or reported for the supplier, to be told about the contract."""
        people = {s.by.user_id: s.by for s in self.case.signatures if s.party == "supplier"}
        return list(people.values())

    def _step(self, step_id: str, name: str, working_days: int, role: Role) -> StepPlan:
        return StepPlan(
            id=step_id, applicant_name=name, staff_name=name, role=role, level=self.case.locality.chain[0].level,
            time_limit_working_days=working_days, reminder_working_days_before=1, backup_time_limit_working_days=2,
        )

    @staticmethod
    def _trigger_label(tranche: Tranche) -> str:
        return {"signing": "签约预付", "milestone": f"节点{tranche.milestone_id}验收", "final_evaluation": "终期评价后"}[tranche.on]

    async def _issue(self, kind: DocumentKind, **facts: object) -> DocumentRef:
        number = len(self.case.documents) + 1
        request = DocumentRequest(
            document_id=f"{self.case.contract_no}-D{number:02d}",
            kind=kind,
            title=kind.default_title,
            number=f"{self.case.contract_no}-{number:02d}",
            issued_at=workflow.now(),
            issuer=issuing_office(self.case, kind) if workflow.patched(ISSUED_BY_ACTING_OFFICE) else self.case.organizer,
            contract=self.case,
            **facts,
        )
        return await self._render(request)
