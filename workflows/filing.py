"""备案/登记: one durable case per application, from submission to certificate or refusal.

The procedure (policy decides the numbers and the steps):
submission → completeness check → [补正通知书, correction window, or lapse] → 受理 (the legal
clock starts) → review steps (居委会初审, 街道/民政审核) → 公示 with objections → decision →
备案证明/登记证书 or 不予…决定书. The applicant may withdraw until a decision is made.

Human actions are updates whose validators (rules/permissions.py) refuse wrong roles, wrong
jurisdictions, wrong steps, repeated decisions and refusals without reasons before anything
enters history. Every update returns once the read model shows its effect.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.base import CaseClosed, ProcessWorkflow, refuse_if

with workflow.unsafe.imports_passed_through():
    from rules import permissions
    from rules.workdays import days_left_at_pause, deadline_at_resume
    from schemas.calendar import Deadline
    from schemas.case import (
        PHASE_NAMES,
        ActionReceipt,
        CaseState,
        ClockPause,
        Correction,
        CorrectionRequest,
        FilingRequest,
        LegalClock,
        Objection,
        ObjectionAnswer,
        ObjectionFiling,
        ObjectionResolution,
        ObjectionStatus,
        Outcome,
        Phase,
        Result,
        ReviewDecision,
        Task,
        TaskDecision,
        Withdrawal,
    )
    from schemas.checklist import Assessment, AssessmentRequest, Checklist, Procedure, StepPlan
    from schemas.document_request import DocumentRequest
    from schemas.documents import CaseParty, CertificateFacts, DocumentKind, DocumentRef, NoticePeriod
    from schemas.localtime import SHANGHAI, date_in_words, local_date
    from schemas.notifications import NotificationKind
    from schemas.people import Actor, Locality, Office

FILINGS_CONTINUE = "filings-continue-as-new"
"""Patch: runs recorded before it never continued as new, so replaying them must not either."""

CORRECTIONS_COUNTED = "corrections-counted"
"""Patch: cases recorded before it kept no count of the corrections submitted in a round."""

LEADERS_ARE_RESPONSIBLE = "documents-name-leaders-as-responsible"
"""Patch: documents issued before it listed every founder as 负责人, not only the proposed leaders."""

VALIDITY_ENDS_BEFORE_ANNIVERSARY = "validity-ends-the-day-before-the-anniversary"
"""Patch: certificates issued before it ran to the anniversary itself, one day beyond N years."""

CORRECTION_NOTICE_NAMES_LAPSE = "correction-notice-names-the-lapse-decision"
"""Patch: notices issued before it said an uncorrected application 自动失效, though a decision follows."""

OBJECTIONS_HEARD = "objections-heard-on-both-sides"
"""Patch: before it, the applicant was not invited to answer an objection, nor the objector told its outcome."""

PAUSES_EXCLUDE_ONLY_DAYS_PAUSED = "pauses-exclude-only-days-paused"
"""Patch: before it, a pause counted the day after the due date as still to run and never gave the
resume day back, so every pause moved the deadline by working days that had not passed paused."""

LAPSE_DATE_IN_WORDS = "lapse-reason-dates-in-words"
"""Patch: before it, the reason a lapse decision gave wrote the correction deadline in ISO (2026-12-10);
issued documents write dates in words, with （含当日）."""

STEP_PHASES = {
    "preliminary_review": Phase.preliminary_review,
    "authority_review": Phase.authority_review,
    "decision": Phase.decision,
}


@workflow.defn
class FilingWorkflow(ProcessWorkflow):
    PROJECTION = "project_case"

    @workflow.init
    def __init__(self, request: FilingRequest) -> None:
        if request.carried_over is not None:
            self.case = request.carried_over
        else:
            assert request.application is not None
            self.case = CaseState(
                case_no=request.case_no,
                application=request.application,
                applicant=request.applicant,
                submitted_at=workflow.now(),
            )
        self._withdrawal: Withdrawal | None = None
        self._correction: Correction | None = None
        self._objection_reviews: list[asyncio.Task[None]] = []

    # --- the procedure (every step skips what is already done, so a carried-over run resumes) ----

    @workflow.run
    async def run(self, request: FilingRequest) -> Result | None:
        if request.carried_over is None:
            self._record(request.applicant, "submitted", f"提交{self.case.application.track.label}申请")
        else:
            self.case.runs += 1
            self._record(None, "continued", f"办理记录较长，转入第{self.case.runs}段继续办理，状态、待办、期限和异议均延续")
        try:
            if self.case.authority is None:
                await self._assess_submission()
            if self.case.legal_clock is None:
                await self._completeness_check()
                await self._accept()
            for step in self._procedure.review_steps:
                if self._decided(step) is None:
                    await self._review(step)
            await self._public_notice()
            decision = await self._review(self._procedure.decision_step)
            await self._approve(decision)
        except CaseClosed:
            pass
        await asyncio.gather(*self._objection_reviews)
        await self._settle()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.case.result

    async def _assess_submission(self) -> None:
        locality = await self._call("locate_community", self.case.application.community, Locality)
        self.case.locality = locality
        assessment = await self._assess()
        self.case.authority = locality.office(assessment.procedure.authority_role, assessment.procedure.authority_level)
        self._touch()

    async def _completeness_check(self) -> None:
        checklist = self._checklist
        if checklist.complete:
            self._record(None, "completeness_checked", "形式审查：申请材料齐全，符合法定形式")
            return
        await self._correction_round(checklist.defects, requested_by=None, step=None)

    async def _accept(self) -> None:
        procedure = self._procedure
        legal = await self._deadline(procedure.legal_time_limit_working_days)
        self.case.legal_clock = LegalClock(
            working_days=procedure.legal_time_limit_working_days, accepted_at=workflow.now(), deadline=legal
        )
        await self._issue(
            DocumentKind.acceptance_notice,
            checklist=self._checklist,
            legal_time_limit_working_days=procedure.legal_time_limit_working_days,
            deadline=legal,
        )
        self._record(
            None,
            "accepted",
            f"{self._authority.name}受理申请，自受理之日起{procedure.legal_time_limit_working_days}个工作日内办结"
            f"（至{legal.due_date.isoformat()}{self._provisional(legal)}）",
        )
        await self._notify(NotificationKind.accepted, [self.case.applicant], due_date=legal.due_date.isoformat())

    async def _review(self, step: StepPlan) -> TaskDecision:
        """One human step, repeated after a correction it asked for, with the time that was left."""
        working_days = step.time_limit_working_days
        while True:
            task = await self._open_review_task(step, working_days)
            await self._await_task(task, step, main=True)
            assert task.decision is not None
            decision = task.decision
            if decision.outcome is Outcome.request_correction:
                working_days = max(1, await self._days_left(task.deadline))
                await self._correction_round(decision.reasons, requested_by=decision.by, step=step.id)
                continue
            if decision.outcome is Outcome.refuse and step.role is self._procedure.authority_role:
                await self._refuse(decision)
            return decision

    def _decided(self, step: StepPlan) -> TaskDecision | None:
        """The step's decision if its last task was decided (not sent back for correction)."""
        task = next((t for t in reversed(self.case.tasks) if t.step == step.id and t.objection_id is None), None)
        if task is None or task.decision is None or task.decision.outcome is Outcome.request_correction:
            return None
        return task.decision

    async def _public_notice(self) -> None:
        if self.case.public_notice is None:
            await self._start_public_notice()
        assert self.case.public_notice is not None
        ends = self.case.public_notice.ends
        step = self._procedure.objection_step
        for objection in self.case.objections:
            task = self.case.task(objection.task_id) if objection.task_id else None
            if task is not None and objection.status is ObjectionStatus.open:
                self._objection_reviews.append(asyncio.create_task(self._await_task(task, step, main=False)))

        def unregistered() -> list[Objection]:
            return [o for o in self.case.objections if o.task_id is None]

        def all_resolved() -> bool:
            return all(o.status is not ObjectionStatus.open for o in self.case.objections)

        while True:
            for objection in unregistered():
                await self._start_objection_review(objection)
            period_over = workflow.now() >= ends.due_at
            if period_over and all_resolved():
                break
            await self._continue_as_new_if_long(FILINGS_CONTINUE)
            await self._main_wait(
                lambda over=period_over: bool(unregistered()) or (over and all_resolved()) or self._history_long(),
                until=None if period_over else ends.due_at,
            )
        await self._resume_clock()
        count = len(self.case.objections)
        upheld = sum(o.status is ObjectionStatus.upheld for o in self.case.objections)
        summary = f"公示期满，收到异议{count}件，均已处理（成立{upheld}件）" if count else "公示期满，未收到异议"
        self._record(None, "public_notice_ended", summary)

    async def _start_public_notice(self) -> None:
        procedure = self._procedure
        ends = await self._deadline(procedure.public_notice_working_days)
        self.case.public_notice = NoticePeriod(
            starts_at=workflow.now(), ends=ends, channel=procedure.public_notice_channel
        )
        await self._issue(DocumentKind.public_notice, notice=self.case.public_notice)
        if not procedure.public_notice_counts_toward_time_limit:
            await self._pause_clock("公示期间不计入办理时限")
        self._record(
            None,
            "public_notice_started",
            f"在{procedure.public_notice_channel}公示{procedure.public_notice_working_days}个工作日，"
            f"至{ends.due_date.isoformat()}{self._provisional(ends)}，公示期间可提出异议",
            Phase.public_notice,
        )
        await self._notify(NotificationKind.public_notice_started, [self.case.applicant], due_date=ends.due_date.isoformat())

    async def _approve(self, decision: TaskDecision) -> None:
        procedure = self._procedure
        now = workflow.now()
        valid_until = None
        if procedure.validity_years and workflow.patched(VALIDITY_ENDS_BEFORE_ANNIVERSARY):
            valid_until = last_moment_of_validity(now, procedure.validity_years)
        elif procedure.validity_years:
            valid_until = _add_years(now, procedure.validity_years)
        certificate = CertificateFacts(number=self.case.case_no, valid_from=now, valid_until=valid_until)
        document = await self._issue(DocumentKind.certificate, title=procedure.certificate_title, certificate=certificate)
        self.case.result = Result(
            phase=Phase.approved,
            decided_at=now,
            certificate_number=certificate.number,
            valid_until=valid_until,
            document_id=document.document_id,
        )
        self._record(
            decision.by,
            "approved",
            f"{procedure.approved_name}，发放{procedure.certificate_title}（编号 {certificate.number}）",
            Phase.approved,
        )
        await self._notify(NotificationKind.decided, [self.case.applicant], result=procedure.approved_name)

    # --- endings before the end ------------------------------------------------------------

    async def _refuse(self, decision: TaskDecision) -> None:
        procedure = self._procedure
        document = await self._issue(
            DocumentKind.refusal_decision, title=procedure.refusal_title, items=decision.reasons, **self._appeal(DocumentKind.refusal_decision)
        )
        self._close(Phase.refused, decision.reasons, document)
        self._record(decision.by, "refused", f"{procedure.refused_name}：{'；'.join(decision.reasons)}", Phase.refused)
        await self._notify(NotificationKind.decided, [self.case.applicant], result=procedure.refused_name)
        raise CaseClosed

    async def _lapse(self, request: CorrectionRequest) -> None:
        due = request.window.due_date
        reasons = [
            f"申请人未在补正期限（{date_in_words(due)}（含当日）前）内补正申请材料"
            if workflow.patched(LAPSE_DATE_IN_WORDS)
            else f"申请人未在补正期限（{due.isoformat()}前）内补正申请材料",
            *request.still_missing,
        ]
        kind, title = self._lapse_decision()
        document = await self._issue(kind, title=title, items=reasons, **self._appeal(kind))
        self._close(Phase.lapsed, reasons, document)
        self._record(None, "lapsed", f"补正期限届满未补正，申请失效，出具{title}", Phase.lapsed)
        decision = {"decision": title} if workflow.patched(CORRECTION_NOTICE_NAMES_LAPSE) else {}
        await self._notify(NotificationKind.lapsed, [self.case.applicant], **decision)
        raise CaseClosed

    def _lapse_decision(self) -> tuple[DocumentKind, str]:
        """Before acceptance an uncorrected application is not accepted; after it, it is refused."""
        if self.case.legal_clock is not None:
            return DocumentKind.refusal_decision, self._procedure.refusal_title
        return DocumentKind.non_acceptance_decision, DocumentKind.non_acceptance_decision.default_title

    async def _stop_if_withdrawn(self) -> None:
        withdrawal = self._withdrawal
        if withdrawal is None or self.case.phase.terminal:
            return
        holders = [t.holder for t in self.case.open_tasks]
        reasons = [withdrawal.reason] if withdrawal.reason else []
        self._close(Phase.withdrawn, reasons, None)
        detail = f":{withdrawal.reason}" if withdrawal.reason else ""
        self._record(withdrawal.actor, "withdrawn", f"申请人撤回申请{detail}", Phase.withdrawn)
        await self._notify(NotificationKind.withdrawn, [self.case.applicant, *holders])
        raise CaseClosed

    def _close(self, phase: Phase, reasons: list[str], document: DocumentRef | None) -> None:
        self._cancel_open_tasks()
        self.case.result = Result(
            phase=phase, decided_at=workflow.now(), reasons=reasons, document_id=document.document_id if document else None
        )

    # --- corrections (补正) and the legal clock ---------------------------------------------

    async def _correction_round(self, items: list[str], requested_by: Actor | None, step: str | None) -> None:
        """一次性告知: every item in one notice; the clock pauses until the applicant corrects."""
        window = await self._deadline(self._procedure.correction_window_working_days)
        consequence: dict[str, object] = {}
        if workflow.patched(CORRECTION_NOTICE_NAMES_LAPSE):
            clock = self.case.legal_clock
            consequence = {
                "lapse_decision": self._lapse_decision()[1],
                "legal_time_limit_working_days": clock.working_days if clock else None,
            }
        document = await self._issue(DocumentKind.correction_notice, items=items, deadline=window, **consequence)
        request = CorrectionRequest(
            round=len(self.case.corrections) + 1,
            items=items,
            requested_by=requested_by,
            requested_at=workflow.now(),
            step=step,
            window=window,
            notice_document_id=document.document_id,
            still_missing=items,
        )
        self.case.corrections.append(request)
        await self._pause_clock("补正材料期间不计入办理时限")
        self._record(
            requested_by,
            "correction_requested",
            f"一次性告知需补正的{len(items)}项内容，请于{window.due_date.isoformat()}前补正",
            Phase.correction,
        )
        await self._notify(
            NotificationKind.correction_requested, [self.case.applicant], due_date=window.due_date.isoformat()
        )
        while True:
            if not await self._main_wait(lambda: self._correction is not None, until=window.due_at):
                await self._lapse(request)
            correction, self._correction = self._correction, None
            assert correction is not None
            self._apply(correction)
            assessment = await self._assess()
            if step is None and not assessment.checklist.complete:
                request.still_missing = assessment.checklist.defects
                self._record(
                    correction.actor,
                    "correction_incomplete",
                    f"补正材料已收到，仍需补正：{'；'.join(request.still_missing)}",
                )
                continue
            request.received_at, request.still_missing = workflow.now(), []
            self._record(correction.actor, "corrected", "补正材料已收到" + ("" if step is None else "，恢复审查"))
            break
        await self._resume_clock()

    def _apply(self, correction: Correction) -> None:
        """Corrected facts replace the old ones; materials accumulate (a newer copy replaces an older one)."""
        application = correction.application or self.case.application
        materials = {(m.material, m.person): m for m in self.case.application.materials}
        for item in [*(correction.application.materials if correction.application else []), *correction.materials]:
            materials[(item.material, item.person)] = item
        self.case.application = application.model_copy(update={"materials": list(materials.values())})
        self._touch()

    async def _pause_clock(self, reason: str) -> None:
        clock = self.case.legal_clock
        if clock is None or clock.paused or clock.deadline is None:
            return
        clock.remaining_working_days = await self._days_left(clock.deadline)
        clock.pauses.append(ClockPause(reason=reason, paused_at=workflow.now()))
        self._touch()

    async def _resume_clock(self) -> None:
        clock = self.case.legal_clock
        if clock is None or not clock.paused:
            return
        left = clock.remaining_working_days or 0
        if not workflow.patched(PAUSES_EXCLUDE_ONLY_DAYS_PAUSED):
            clock.deadline = await self._deadline(left)
        elif left > 0:  # with none left the due date was reached before the pause, and stays
            request = deadline_at_resume(clock.pauses[-1].paused_at, workflow.now(), left, clock.deadline.start)
            clock.deadline = await self._call("compute_deadline", request, Deadline)
        assert clock.deadline is not None
        clock.remaining_working_days = None
        clock.pauses[-1].resumed_at = workflow.now()
        self._record(None, "clock_resumed", f"办理时限恢复计算，办结期限顺延至{clock.deadline.due_date.isoformat()}")

    async def _days_left(self, deadline: Deadline) -> int:
        """The working days still to run after today up to and including the due date."""
        if not workflow.patched(PAUSES_EXCLUDE_ONLY_DAYS_PAUSED):
            return await self._working_days_left(deadline)
        return await self._call("count_working_days", days_left_at_pause(workflow.now(), deadline), int)

    # --- tasks, reminders and AB岗 escalation ------------------------------------------------

    async def _open_review_task(self, step: StepPlan, working_days: int, objection: Objection | None = None) -> Task:
        office = self._locality.office(step.role, step.level)
        title = f"{step.staff_name}({objection.objection_id})" if objection else step.staff_name
        phase = None if objection else STEP_PHASES[step.id]
        task = await self._open_task(step, working_days, office, title, phase)
        task.objection_id = objection.objection_id if objection else None
        return task

    async def _start_objection_review(self, objection: Objection) -> None:
        step = self._procedure.objection_step
        task = await self._open_review_task(step, step.time_limit_working_days, objection)
        objection.task_id = task.task_id
        holders = {t.holder.user_id: t.holder for t in self.case.open_tasks}
        await self._notify(NotificationKind.objection_filed, list(holders.values()), objection_id=objection.objection_id)
        if workflow.patched(OBJECTIONS_HEARD):
            await self._notify(
                NotificationKind.objection_answer_invited,
                [self.case.applicant],
                objection_id=objection.objection_id,
                due_date=task.deadline.due_date.isoformat(),
            )
        self._objection_reviews.append(asyncio.create_task(self._await_task(task, step, main=False)))

    # --- human actions (validated updates) and the status query --------------------------

    @workflow.query
    def status(self) -> CaseState:
        return self._reported()

    @workflow.update
    async def decide(self, decision: ReviewDecision) -> ActionReceipt:
        task = next(t for t in self.case.open_tasks if t.step == decision.step and t.objection_id is None)
        self._complete_task(task, decision.outcome, decision.reasons, decision.comment, decision.actor)
        return await self._receipt(f"已办理「{task.title}」：{decision.outcome.label}")

    @decide.validator
    def _validate_decide(self, decision: ReviewDecision) -> None:
        refuse_if(permissions.refuse_decision(self.case, decision))

    @workflow.update
    async def resolve_objection(self, resolution: ObjectionResolution) -> ActionReceipt:
        objection = self.case.objection(resolution.objection_id)
        assert objection is not None and objection.task_id is not None
        task = self.case.task(objection.task_id)
        assert task is not None
        objection.status = ObjectionStatus.upheld if resolution.outcome is Outcome.uphold else ObjectionStatus.dismissed
        objection.resolution = self._complete_task(task, resolution.outcome, resolution.reasons, None, resolution.actor)
        if workflow.patched(OBJECTIONS_HEARD):
            await self._notify(
                NotificationKind.objection_resolved,
                [objection.filed_by],
                objection_id=objection.objection_id,
                outcome=objection.status.label,
                reasons="；".join(resolution.reasons),
            )
        return await self._receipt(f"异议 {objection.objection_id} 已处理：{resolution.outcome.label}")

    @resolve_objection.validator
    def _validate_resolve_objection(self, resolution: ObjectionResolution) -> None:
        refuse_if(permissions.refuse_objection_resolution(self.case, resolution))

    @workflow.update
    async def answer_objection(self, answer: ObjectionAnswer) -> ActionReceipt:
        objection = self.case.objection(answer.objection_id)
        assert objection is not None
        objection.answer, objection.answered_at = answer.content.strip(), workflow.now()
        self._record(answer.actor, "objection_answered", f"申请人就异议 {objection.objection_id} 提交陈述申辩")
        task = self.case.task(objection.task_id) if objection.task_id else None
        if task is not None:
            await self._notify(NotificationKind.objection_answered, [task.holder], objection_id=objection.objection_id)
        await self._settle()  # nothing in the procedure waits for an answer, so project it here
        return await self._receipt(f"陈述申辩已提交，{self._authority.name}将在处理异议 {objection.objection_id} 时一并核查")

    @answer_objection.validator
    def _validate_answer_objection(self, answer: ObjectionAnswer) -> None:
        refuse_if(permissions.refuse_objection_answer(self.case, answer))

    @workflow.update
    async def file_objection(self, filing: ObjectionFiling) -> ActionReceipt:
        objection_id = f"YY{len(self.case.objections) + 1:02d}"
        self.case.objections.append(
            Objection(
                objection_id=objection_id,
                filed_by=filing.actor,
                filed_at=workflow.now(),
                content=filing.content.strip(),
                contact=filing.contact,
            )
        )
        self._record(filing.actor, "objection_filed", f"收到公示异议 {objection_id}")
        return await self._receipt(f"异议已登记，编号 {objection_id}，将由{self._authority.name}核查处理")

    @file_objection.validator
    def _validate_file_objection(self, filing: ObjectionFiling) -> None:
        refuse_if(permissions.refuse_objection(self.case, filing, workflow.now()))

    @workflow.update
    async def correct(self, correction: Correction) -> ActionReceipt:
        self._correction = correction
        if (open_round := self.case.open_correction) and workflow.patched(CORRECTIONS_COUNTED):
            open_round.submissions += 1
        self._touch()
        return await self._receipt("补正材料已收到")

    @correct.validator
    def _validate_correct(self, correction: Correction) -> None:
        if self._correction is not None:
            raise ApplicationError("上一次补正正在处理，请稍后再试", type="conflict")
        refuse_if(permissions.refuse_correction(self.case, correction))

    @workflow.update
    async def withdraw(self, withdrawal: Withdrawal) -> ActionReceipt:
        self._withdrawal = withdrawal
        self._touch()
        receipt = await self._receipt("申请已撤回")
        if self.case.phase is not Phase.withdrawn:
            raise ApplicationError(f"撤回未生效：案件已{self.case.phase_applicant_name}", type="conflict")
        return receipt

    @withdraw.validator
    def _validate_withdraw(self, withdrawal: Withdrawal) -> None:
        refuse_if(permissions.refuse_withdrawal(self.case, withdrawal))

    # --- how this process names itself --------------------------------------------------------

    @property
    def case_key(self) -> str:
        return self.case.case_no

    def _phase_names(self) -> tuple[str, str]:
        return self.case.phase_applicant_name, self.case.phase_staff_name

    def _notification_context(self) -> dict[str, str]:
        return {
            "case_no": self.case.case_no,
            "subject": self.case.application.organization_name,
            "organization_name": self.case.application.organization_name,
            "phase": self.case.phase_applicant_name,
        }

    def _interrupted(self) -> bool:
        return self._withdrawal is not None

    def _history_events_limit(self) -> int:
        return self._procedure.history_events_limit

    def _carried_over(self) -> FilingRequest:
        return FilingRequest(case_no=self.case.case_no, applicant=self.case.applicant, carried_over=self.case)

    async def _on_interrupt(self) -> None:
        await self._stop_if_withdrawn()

    def _enter(self, phase: str, step: StepPlan | None) -> None:
        procedure = self.case.procedure
        if step is not None:
            applicant, staff = step.applicant_name, step.staff_name
        elif phase is Phase.approved and procedure:
            applicant = staff = procedure.approved_name
        elif phase is Phase.refused and procedure:
            applicant = staff = procedure.refused_name
        else:
            applicant, staff = PHASE_NAMES[phase].applicant, PHASE_NAMES[phase].staff
        self.case.phase, self.case.phase_applicant_name, self.case.phase_staff_name = phase, applicant, staff

    # --- activities -------------------------------------------------------------------------

    async def _assess(self) -> Assessment:
        request = AssessmentRequest(
            application=self.case.application,
            jurisdiction_chain=[j.code for j in self._locality.chain],
            on=local_date(self.case.submitted_at),
            community_names=[self._locality.community.name, self._locality.community.full_name],
        )
        assessment = await self._call("assess_application", request, Assessment)
        self.case.checklist = assessment.checklist
        if self.case.legal_clock is None:
            self.case.procedure = assessment.procedure
        self._touch()
        return assessment

    async def _issue(self, kind: DocumentKind, title: str | None = None, **facts: object) -> DocumentRef:
        number = len(self.case.documents) + 1
        application, locality = self.case.application, self._locality
        venue = application.venue
        request = DocumentRequest(
            document_id=f"{self.case.case_no}-D{number:02d}",
            kind=kind,
            title=title or kind.default_title,
            number=f"{self.case.case_no}-{number:02d}",
            issued_at=workflow.now(),
            issuer=self._authority,
            party=CaseParty(
                case_no=self.case.case_no,
                applicant_name=application.applicant_name,
                organization_name=application.organization_name,
                track_name=self._procedure.track_name,
                business_scope=application.business_scope,
                community_name=locality.community.full_name,
                venue=f"{venue.kind.label}" + (f"：{venue.address}" if venue.address else ""),
                responsible_people=(
                    [p.name for p in application.people if p.role.is_leader]
                    if workflow.patched(LEADERS_ARE_RESPONSIBLE)
                    else [f"{p.name}（{p.role.label}）" for p in application.people]
                ),
                submitted_at=self.case.submitted_at,
            ),
            **facts,
        )
        return await self._render(request)

    def _appeal(self, kind: DocumentKind) -> dict[str, object]:
        """What a refusal states besides its reasons: its legal basis and the way to appeal it."""
        procedure = self._procedure
        return {
            "legal_basis": procedure.refusal_basis if kind is DocumentKind.refusal_decision else procedure.non_acceptance_basis,
            "appeal": procedure.appeal,
            "reconsideration_body": self._locality.reconsideration_body,
            "court": self._locality.court,
        }

    @property
    def _procedure(self) -> Procedure:
        assert self.case.procedure is not None
        return self.case.procedure

    @property
    def _checklist(self) -> Checklist:
        assert self.case.checklist is not None
        return self.case.checklist

    @property
    def _locality(self) -> Locality:
        assert self.case.locality is not None
        return self.case.locality

    @property
    def _authority(self) -> Office:
        assert self.case.authority is not None
        return self.case.authority


def last_moment_of_validity(issued: datetime, years: int) -> datetime:
    """N years from the day of issue end at the close of the day before the anniversary
    (自2026年12月5日至2029年12月4日); from 29 February the anniversary in a common year is 1 March."""
    first_day = local_date(issued)
    try:
        anniversary = first_day.replace(year=first_day.year + years)
    except ValueError:  # 29 February
        anniversary = date(first_day.year + years, 3, 1)
    return (datetime.combine(anniversary, time(0, 0), SHANGHAI) - timedelta(seconds=1)).astimezone(UTC)


def _add_years(moment: datetime, years: int) -> datetime:
    """How validity was computed before VALIDITY_ENDS_BEFORE_ANNIVERSARY; kept for replay."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)
