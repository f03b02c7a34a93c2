"""孵化: one durable case per group in a base, from its application to graduation (出壳) or exit.

application → admission review by the base (AB岗, working-day deadline; a mentor and services of its own, or
reasons for a refusal) → a place, or the base's waiting list until one frees → the term and its 入孵协议 → the
mentor's reports on the policy's schedule (reminded before; when missed, flagged late and handed to the base's
B岗, then told to the district 民政局) → 出壳评估 by the base on the policy's criteria, reviewed by the 民政局
(sent back with reasons until it agrees) → graduated with a 出壳证书, extended once, or exited. Ending frees the
place, which goes to the head of the waiting list (store/bases.py says why that is race-free) and that group's
case is told.

The group, the base or civil affairs may end it early (with reasons) at any point.
"""

from __future__ import annotations

import asyncio
import calendar
from datetime import datetime
from typing import NoReturn

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

from workflows.base import CaseClosed, ProcessWorkflow, refuse_if
from workflows.filing import FilingWorkflow

with workflow.unsafe.imports_passed_through():
    from rules.permissions import conflict, forbidden, invalid
    from schemas.case import ActionReceipt, FilingRequest, Outcome, Result, Task, TaskStatus
    from schemas.checklist import StepPlan
    from schemas.document_request import DocumentRequest
    from schemas.documents import DocumentKind, DocumentRef
    from schemas.incubation import BaseKind, IncubationBase, IncubationPolicy, Mentor
    from schemas.incubation_case import (
        AssessmentOutcome,
        AssessmentReview,
        BaseAsk,
        BaseParties,
        CheckInReport,
        FilingMilestone,
        FilingStart,
        IncubationAssessment,
        IncubationDecision,
        IncubationExit,
        IncubationPhase,
        IncubationRequest,
        IncubationState,
        PlaceClaim,
        PlaceOutcome,
    )
    from schemas.localtime import SHANGHAI
    from schemas.notifications import NotificationKind
    from schemas.people import Actor, Level, Office, Post, PostRequest, Role

FILING_ENDINGS = {"refused": "未获准予", "lapsed": "因逾期未补正而失效", "withdrawn": "已撤回"}
"""How a filing that did not reach its certificate ended, as the incubation's timeline says it."""

ADMISSION, CHECK_IN, ASSESSMENT, ASSESSMENT_REVIEW = "admission", "check_in", "assessment", "assessment_review"
"""Step ids; no other process uses them, so the shared 待办 list tells them apart."""

CONTINUES_AS_NEW = "incubation-continues-as-new"
"""The base class's careful continue-as-new (after reminders and projections, in a task of its own)."""

OPEN = (IncubationPhase.applied, IncubationPhase.waiting, IncubationPhase.incubating, IncubationPhase.assessing)


def add_months(moment: datetime, months: int) -> datetime:
    """The same local day ``months`` later (the month's last day when it has no such day)."""
    local = moment.astimezone(SHANGHAI)
    month = local.month - 1 + months
    year, month = local.year + month // 12, month % 12 + 1
    return local.replace(year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1]))


@workflow.defn
class IncubationWorkflow(ProcessWorkflow):
    PROJECTION = "project_incubation"

    @workflow.init
    def __init__(self, request: IncubationRequest) -> None:
        if request.carried_over is not None:
            self.case = request.carried_over
        else:
            assert request.application is not None and request.representative is not None
            self.case = IncubationState(
                case_no=request.case_no,
                application=request.application,
                representative=request.representative,
                submitted_at=workflow.now(),
            )
        self._exit: IncubationExit | None = None
        self._reviews: dict[str, AssessmentReview] = {}
        self._filings: list[asyncio.Task[None]] = []
        self._place_granted = False

    # --- what the base class asks of a process ------------------------------------------------------

    @property
    def case_key(self) -> str:
        return self.case.case_no

    def _enter(self, phase: str, step: StepPlan | None) -> None:
        self.case.phase = IncubationPhase(phase)

    def _phase_names(self) -> tuple[str, str]:
        return self.case.phase.label, self.case.phase.label

    def _notification_context(self) -> dict[str, str]:
        return {
            "case_no": self.case.case_no,
            "subject": f"{self.case.application.group_name}入孵",
            "group_name": self.case.application.group_name,
            "base_name": self.case.base.name if self.case.base else self.case.application.base_code,
        }

    def _interrupted(self) -> bool:
        return self._exit is not None

    def _history_events_limit(self) -> int:
        return self._policy.history_events_limit

    def _carried_over(self) -> IncubationRequest:
        return IncubationRequest(case_no=self.case.case_no, carried_over=self.case)

    async def _on_interrupt(self) -> None:
        if self._exit is not None:
            exit, self._exit = self._exit, None
            await self._notify(
                NotificationKind.incubation_ended, [self.case.representative], reasons="；".join(exit.reasons)
            )
            await self._end(
                IncubationPhase.exited, exit.actor, "exited", f"退出孵化；理由：{'；'.join(exit.reasons)}", exit.reasons
            )

    # --- the procedure ------------------------------------------------------------------------------

    @workflow.run
    async def run(self, request: IncubationRequest) -> str:
        if request.carried_over is None:
            await self._open()
        else:
            self.case.runs += 1
            self._record(None, "continued", f"孵化记录较长，转入第{self.case.runs}段继续办理，状态、待办和期限均延续")
        try:
            if self.case.admitted_at is None:
                await self._admission()
                await self._take_place()
                await self._start_term()
            while True:
                await self._check_ins()
                if await self._assessment():
                    break
        except CaseClosed:
            pass
        await self._settle()  # the ending is read (and the update that ended it answered) before any filing ends
        if self._filings:
            await asyncio.gather(*self._filings)  # a filing still running comes back to this case as its milestone
            await self._settle()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.case.phase.value

    async def _open(self) -> None:
        application = self.case.application
        self._record(
            self.case.representative,
            "applied",
            f"{application.group_name}申请入孵，计划孵化{application.term_months}个月",
        )
        self.case.base = await self._call("incubation_base", application.base_code, IncubationBase)
        self.case.policy = await self._call(
            "incubation_policy", BaseAsk(base_code=application.base_code, at=workflow.now()), IncubationPolicy
        )
        parties = await self._call("incubation_parties", application.base_code, BaseParties)
        self.case.operator_name, self.case.authority = parties.operator_name, parties.authority
        self._touch()
        await self._notify(
            NotificationKind.incubation_applied, [self._staff("a"), self._staff("b")], plan=application.plan
        )

    @property
    def _base(self) -> IncubationBase:
        assert self.case.base is not None
        return self.case.base

    @property
    def _policy(self) -> IncubationPolicy:
        assert self.case.policy is not None
        return self.case.policy

    @property
    def _authority(self) -> Office:
        assert self.case.authority is not None
        return self.case.authority

    def _staff(self, which: str) -> Actor:
        person = self._base.staff_a if which == "a" else self._base.staff_b
        return Actor(
            user_id=person.user_id, name=person.name, role=Role.incubator, jurisdiction=self._base.jurisdiction
        )

    def _step(
        self, step_id: str, name: str, role: Role, working_days: int, backup_working_days: int, level: Level | None = None
    ) -> StepPlan:
        level = level or (Level.district if self._base.kind is BaseKind.headquarters else Level.street)
        return StepPlan(
            id=step_id, applicant_name=name, staff_name=name, role=role, level=level,
            time_limit_working_days=working_days, reminder_working_days_before=self._policy.report_reminder_working_days,
            backup_time_limit_working_days=backup_working_days,
        )  # fmt: skip

    async def _base_task(self, step: StepPlan, title: str, phase: IncubationPhase, a: Actor) -> Task:
        office = Office(
            jurisdiction=self._base.jurisdiction,
            jurisdiction_name=self._base.name,
            role=step.role,
            name=self._base.name,
        )
        post = Post(role=step.role, jurisdiction=self._base.jurisdiction, a=a, b=self._staff("b"))
        task = await self._open_task(step, step.time_limit_working_days, office, title, phase.value, post=post)
        await self._await_task(task, step, main=True)
        return task

    async def _admission(self) -> None:
        step = self._step(ADMISSION, "入孵审核", Role.incubator, self._policy.admission_working_days, 2)
        task = await self._base_task(
            step, f"审核{self.case.application.group_name}的入孵申请", IncubationPhase.applied, self._staff("a")
        )
        assert task.decision is not None
        if task.decision.outcome is Outcome.refuse:
            reasons = task.decision.reasons
            notice = await self._issue(DocumentKind.admission_refusal, items=reasons)
            await self._notify(
                NotificationKind.incubation_refused, [self.case.representative],
                reasons="；".join(reasons), document=notice.reference,
            )  # fmt: skip
            await self._end(IncubationPhase.refused, None, "refused", "未获准入孵", reasons, release=False)

    async def _take_place(self) -> None:
        claim = PlaceClaim(base_code=self._base.code, case_no=self.case.case_no, at=workflow.now())
        position = (await self._call("claim_incubation_place", claim, PlaceOutcome)).waiting_position
        if position is None:
            return
        self.case.waiting_position = position
        self._record(
            None, "waitlisted",
            f"{self._base.name}已满（{self._base.capacity}个席位），列入候补名单第{position}位；"
            "候补按准予入孵的先后顺序递补，有席位空出时自动入孵",
            IncubationPhase.waiting.value,
        )  # fmt: skip
        await self._notify(
            NotificationKind.incubation_waitlisted, [self.case.representative],
            position=str(position), capacity=str(self._base.capacity),
        )  # fmt: skip
        await self._main_wait(lambda: self._place_granted, until=None)
        self._record(None, "place_granted", f"{self._base.name}有席位空出，按候补顺序递补入孵")

    async def _start_term(self) -> None:
        """The group takes its place: the term runs from today, under the mentor and services chosen at admission,
        and the 入孵协议 states them."""
        assert self.case.mentor is not None
        self.case.admitted_at = workflow.now()
        months = min(max(self.case.application.term_months, self._policy.min_term_months), self._policy.max_term_months)
        self.case.term_ends = add_months(workflow.now(), months)
        services = "、".join(s.label for s in self.case.services)
        self._record(
            None, "admitted",
            f"入驻{self._base.name}，孵化期{months}个月（至{self.case.term_ends.date().isoformat()}），"
            f"导师{self.case.mentor.name}，服务内容：{services}；每{self._policy.check_in_working_days}个工作日报告一次孵化情况",
            IncubationPhase.incubating.value,
        )  # fmt: skip
        agreement = await self._issue(DocumentKind.incubation_agreement)
        term = {"admitted_on": self.case.admitted_at.date().isoformat(), "term_ends": self.case.term_ends.date().isoformat()}
        kind = NotificationKind.incubation_place_granted if self.case.waiting_position else NotificationKind.incubation_admitted
        await self._notify(
            kind, [self.case.representative], mentor_name=self.case.mentor.name, services=services,
            document=agreement.reference, **term,
        )  # fmt: skip
        await self._notify(
            NotificationKind.incubation_mentor_assigned, [self.case.mentor],
            check_in_working_days=str(self._policy.check_in_working_days), **term,
        )  # fmt: skip

    async def _check_ins(self) -> None:
        """A report every few working days while one still falls due within the term, each due that long after the last one was due (or
        came in late); the mentor is reminded before, a missed one goes to the base's B岗 and is flagged late, and
        if it is still missing after the policy's days, the district 民政局 is told. Between two reports the case
        may continue as new, unless a filing started here is still running (its result comes back to this run)."""
        policy = self._policy
        step = self._step(
            CHECK_IN, "导师孵化报告", Role.mentor, policy.check_in_working_days, policy.late_report_working_days
        )
        assert self.case.term_ends is not None and self.case.mentor is not None
        while await self._working_days_until(self.case.term_ends) >= policy.check_in_working_days:  # the next report falls due within the term; none is set beyond it
            if all(f.outcome is not None for f in self.case.filings):
                await self._continue_as_new_if_long(CONTINUES_AS_NEW)
            number = 1 + sum(t.step == CHECK_IN for t in self.case.tasks)
            task = await self._base_task(step, f"第{number}次孵化报告", IncubationPhase.incubating, self.case.mentor)
            if task.escalated_at is None:  # an early report: the next one is due on the schedule, not sooner
                await self._main_wait(lambda: False, until=task.deadline.due_at)
            else:
                self._record(None, "report_late", f"第{number}次孵化报告逾期提交，已记为逾期")
        if workflow.now() < self.case.term_ends:
            self._record(
                None, "reports_done",
                f"本孵化期的孵化报告已全部提交（共{self.case.reports}次）；"
                f"孵化期至{self.case.term_ends.astimezone(SHANGHAI).date().isoformat()}届满，届满后进入出壳评估",
            )  # fmt: skip
            await self._main_wait(lambda: False, until=self.case.term_ends)

    async def _assessment(self) -> bool:
        """出壳评估 by the base, then civil affairs' review: agreed, it applies; sent back, the base assesses again
        with civil affairs' reasons before it. True once the case ended (graduated or exited), False after an
        extension."""
        step = self._step(ASSESSMENT, "出壳评估", Role.incubator, self._policy.assessment_working_days, 2)
        returned: list[str] = []
        while True:
            title = f"{self.case.application.group_name}出壳评估"
            if returned:
                title += f"（民政局退回重新评估：{'；'.join(returned)}）"
            await self._base_task(step, title, IncubationPhase.assessing, self._staff("a"))
            assert self.case.assessment is not None
            review = await self._review(self.case.assessment)
            if review.agree:
                break
            returned = review.reasons
            self._record(
                review.actor, "assessment_returned",
                f"{self._authority.name}不同意基地的出壳评估意见（{self.case.assessment.outcome.label}），"
                f"退回{self._base.name}重新评估；理由：{'；'.join(review.reasons)}",
            )  # fmt: skip
            await self._notify(
                NotificationKind.incubation_assessment_returned, [self._staff("a"), self._staff("b")],
                authority=self._authority.name, reasons="；".join(review.reasons),
            )  # fmt: skip
        return await self._apply(self.case.assessment)

    async def _review(self, assessment: IncubationAssessment) -> AssessmentReview:
        """Civil affairs' part of 出壳评估: the district 民政局's AB岗 agrees or sends it back."""
        step = self._step(
            ASSESSMENT_REVIEW, "出壳评估审核", Role.civil_affairs, self._policy.assessment_working_days, 2,
            level=Level.district,
        )  # fmt: skip
        title = f"审核{self.case.application.group_name}的出壳评估（基地意见：{assessment.outcome.label}）"
        task = await self._open_task(step, step.time_limit_working_days, self._authority, title, None)
        await self._await_task(task, step, main=True)
        return self._reviews[task.task_id]

    async def _apply(self, assessment: IncubationAssessment) -> bool:
        """The agreed outcome: extended once, graduated with its certificate, or exited."""
        if assessment.outcome is AssessmentOutcome.extend:
            assert self.case.term_ends is not None and assessment.extension_months is not None
            self.case.extensions += 1
            self.case.term_ends = add_months(self.case.term_ends, assessment.extension_months)
            self._record(
                assessment.actor, "extended",
                f"经{self._authority.name}审核同意，延期出壳{assessment.extension_months}个月"
                f"（至{self.case.term_ends.date().isoformat()}）；理由：{'；'.join(assessment.reasons)}",
                IncubationPhase.incubating.value,
            )  # fmt: skip
            await self._tell_outcome(assessment)
            return False
        await self._tell_outcome(assessment)
        if assessment.outcome is AssessmentOutcome.graduate:
            await self._issue(DocumentKind.graduation_certificate)
            await self._end(
                IncubationPhase.graduated, assessment.actor, "graduated",
                f"达到全部出壳标准，经{self._authority.name}审核同意，准予出壳", [],
            )  # fmt: skip
        await self._end(
            IncubationPhase.exited,
            assessment.actor,
            "exited",
            f"出壳评估未通过，经{self._authority.name}审核同意，退出孵化；理由：{'；'.join(assessment.reasons)}",
            assessment.reasons,
        )

    async def _tell_outcome(self, assessment: IncubationAssessment) -> None:
        assert self.case.term_ends is not None
        await self._notify(
            NotificationKind.incubation_assessed, [self.case.representative],
            outcome=assessment.outcome.label, outcome_code=assessment.outcome.value, reasons="；".join(assessment.reasons),
            term_ends=self.case.term_ends.date().isoformat(),
        )  # fmt: skip

    async def _end(
        self,
        phase: IncubationPhase,
        actor: Actor | None,
        action: str,
        summary: str,
        reasons: list[str],
        release: bool = True,
    ) -> NoReturn:
        """End the case; a place (or a waiting-list entry) is given up and the next group in line is told."""
        self._cancel_open_tasks()
        self.case.reasons, self.case.ended_at = reasons, workflow.now()
        self._record(actor, action, summary, phase.value)
        if release:
            claim = PlaceClaim(base_code=self._base.code, case_no=self.case.case_no, at=workflow.now())
            head = (await self._call("release_incubation_place", claim, PlaceOutcome)).moved_in
            if head is not None:
                await workflow.get_external_workflow_handle(head).signal(IncubationWorkflow.place_granted)
                self._record(None, "place_passed_on", f"空出的席位按候补顺序由{head}递补")
        raise CaseClosed

    async def _issue(self, kind: DocumentKind, **facts: object) -> DocumentRef:
        """入孵协议 and 不予入孵告知书 are the base's operator's alone; 出壳证书 is issued with the district 民政局,
        which confirmed it, and carries its 发文字号 and verification code."""
        number = len(self.case.documents) + 1
        operator = Office(
            jurisdiction=self._base.jurisdiction,
            jurisdiction_name=self._base.name,
            role=Role.incubator,
            name=self.case.operator_name or self._base.name,
        )
        request = DocumentRequest(
            document_id=f"{self.case.case_no}-D{number:02d}",
            kind=kind,
            title=kind.default_title,
            number=f"{self.case.case_no}-{number:02d}",
            issued_at=workflow.now(),
            issuer=operator if kind.issued_by_base else self._authority,
            incubation=self.case,
            **facts,
        )
        return await self._render(request)

    # --- reminders and escalation of the mentor's reports -------------------------------------------

    async def _remind(self, task: Task, step: StepPlan) -> None:
        if task.step != CHECK_IN:
            return await super()._remind(task, step)
        task.reminded_at = workflow.now()
        self._record(
            None, "task_reminded", f"「{task.title}」将于{task.deadline.due_date.isoformat()}到期，已提醒导师{task.holder.name}"
        )
        await self._notify(
            NotificationKind.incubation_report_due, [task.holder],
            task_title=task.title, due_date=task.deadline.due_date.isoformat(),
        )  # fmt: skip

    async def _escalate(self, task: Task, step: StepPlan) -> None:
        missed = task.deadline.due_date.isoformat()
        await super()._escalate(task, step)
        if task.step != CHECK_IN:
            return
        self.case.late_reports += 1
        self._record(
            None, "report_flagged_late",
            f"「{task.title}」未在{missed}前提交，记为逾期；至{task.deadline.due_date.isoformat()}仍未提交的，"
            f"报{self._authority.name}",
        )  # fmt: skip
        await self._notify(
            NotificationKind.incubation_report_late, [task.a], task_title=task.title, due_date=missed,
            escalate_on=task.deadline.due_date.isoformat(), authority=self._authority.name,
        )  # fmt: skip

    async def _report_overdue(self, task: Task, step: StepPlan) -> None:
        if task.step != CHECK_IN:
            return await super()._report_overdue(task, step)
        task.overdue_reported_at = workflow.now()
        post = await self._call(
            "assign_post", PostRequest(role=Role.civil_affairs, jurisdiction=self._authority.jurisdiction), Post
        )
        self._record(
            None, "report_escalated",
            f"「{task.title}」逾期{self._policy.late_report_working_days}个工作日仍未提交，报民政局："
            f"已告知{self._authority.name}A岗{post.a.name}",
        )  # fmt: skip
        await self._notify(
            NotificationKind.incubation_report_escalated, [post.a], task_title=task.title,
            mentor_name=task.a.name, authority=self._authority.name,
            late_report_working_days=str(self._policy.late_report_working_days),
        )  # fmt: skip

    # --- what people do -----------------------------------------------------------------------------

    def _pending(self, step_id: str) -> Task | None:
        return next((t for t in self.case.tasks if t.step == step_id and t.status is TaskStatus.open), None)

    def _refuse_unless_holder(self, step_id: str, actor: Actor, what: str) -> Task:
        """The task's A or B post (the mentor's report: the mentor, or B once it is handed over) may act."""
        task = self._pending(step_id)
        refuse_if(conflict(f"现在没有待办的{what}") if task is None else None)
        assert task is not None
        allowed = {task.a.user_id, task.b.user_id} if step_id != CHECK_IN else {task.holder.user_id, task.a.user_id}
        refuse_if(None if actor.user_id in allowed else forbidden("没有找到这个孵化案件"))
        return task

    @workflow.update
    async def decide_admission(self, decision: IncubationDecision) -> ActionReceipt:
        task = self._pending(ADMISSION)
        assert task is not None
        label = "不予入孵"
        if decision.admit:
            mentor = self._mentor(decision.mentor_id)
            assert mentor is not None
            self.case.mentor = Actor(
                user_id=mentor.user_id, name=mentor.name, role=Role.mentor, jurisdiction=self._base.jurisdiction
            )
            self.case.services = [s for s in self._base.services if not decision.services or s in decision.services]
            self.case.service_plan = decision.service_plan
            label = f"准予入孵，导师{mentor.name}，服务内容：{'、'.join(s.label for s in self.case.services)}"
        outcome = Outcome.approve if decision.admit else Outcome.refuse
        self._complete_task(task, outcome, decision.reasons, decision.service_plan, decision.actor, label)
        return await self._receipt("准予入孵" if decision.admit else "已决定不予入孵，并告知理由")

    def _mentor(self, user_id: str | None) -> Mentor | None:
        """The base's mentor chosen at admission; none chosen: its first."""
        if user_id is None:
            return self._base.mentors[0]
        return next((m for m in self._base.mentors if m.user_id == user_id), None)

    @decide_admission.validator
    def _validate_admission(self, decision: IncubationDecision) -> None:
        self._refuse_unless_holder(ADMISSION, decision.actor, "入孵审核")
        refuse_if(
            invalid("不予入孵须写明理由，请至少填写一条") if not decision.admit and not decision.reasons else None
        )
        if not decision.admit:
            return
        mentors = "、".join(m.name for m in self._base.mentors)
        refuse_if(
            None if self._mentor(decision.mentor_id)
            else invalid(f"所选导师不是{self._base.name}的导师，请从本基地导师中选择：{mentors}")
        )  # fmt: skip
        offered = "、".join(s.label for s in self._base.services)
        extra = [s.label for s in decision.services if s not in self._base.services]
        refuse_if(
            invalid(f"{self._base.name}不提供{'、'.join(extra)}，请从本基地的服务中选择：{offered}") if extra else None
        )

    @workflow.update
    async def report_check_in(self, report: CheckInReport) -> ActionReceipt:
        task = self._pending(CHECK_IN)
        assert task is not None
        self.case.reports += 1
        self._complete_task(task, Outcome.approve, [], report.summary, report.actor, "提交孵化报告")
        return await self._receipt("孵化报告已提交")

    @report_check_in.validator
    def _validate_report(self, report: CheckInReport) -> None:
        self._refuse_unless_holder(CHECK_IN, report.actor, "孵化报告")

    @workflow.update
    async def assess(self, assessment: IncubationAssessment) -> ActionReceipt:
        task = self._pending(ASSESSMENT)
        assert task is not None
        self.case.assessment = assessment
        outcome = Outcome.approve if assessment.outcome is AssessmentOutcome.graduate else Outcome.refuse
        self._complete_task(task, outcome, assessment.reasons, None, assessment.actor, assessment.outcome.label)
        return await self._receipt(f"出壳评估意见（{assessment.outcome.label}）已提交，待{self._authority.name}审核")

    @assess.validator
    def _validate_assessment(self, assessment: IncubationAssessment) -> None:
        self._refuse_unless_holder(ASSESSMENT, assessment.actor, "出壳评估")
        policy = self._policy
        missing = [c.label for c in policy.graduation_criteria if c.id not in assessment.criteria_met]
        refusal = None
        if assessment.outcome is AssessmentOutcome.graduate and missing:
            refusal = f"尚未达到出壳标准：{'、'.join(missing)}；可延期出壳或退出孵化"
        elif assessment.outcome is not AssessmentOutcome.graduate and not assessment.reasons:
            refusal = f"{assessment.outcome.label}须写明理由，请至少填写一条"
        elif assessment.outcome is AssessmentOutcome.extend and self.case.extensions >= policy.extensions_allowed:
            refusal = (
                f"已延期{self.case.extensions}次，按规定只能延期{policy.extensions_allowed}次；请准予出壳或退出孵化"
            )
        elif assessment.outcome is AssessmentOutcome.extend and not (
            1 <= (assessment.extension_months or 0) <= policy.max_extension_months
        ):
            refusal = f"延期月数须在1至{policy.max_extension_months}个月之间"
        refuse_if(invalid(refusal) if refusal else None)

    @workflow.update
    async def review_assessment(self, review: AssessmentReview) -> ActionReceipt:
        task = self._pending(ASSESSMENT_REVIEW)
        assert task is not None and self.case.assessment is not None
        self._reviews[task.task_id] = review
        finding = self.case.assessment.outcome.label
        label = f"同意基地的出壳评估意见（{finding}）" if review.agree else f"不同意基地的出壳评估意见（{finding}），退回重新评估"
        outcome = Outcome.approve if review.agree else Outcome.refuse
        self._complete_task(task, outcome, review.reasons, None, review.actor, label)
        return await self._receipt(f"已{'同意' if review.agree else '退回'}出壳评估意见")

    @review_assessment.validator
    def _validate_review(self, review: AssessmentReview) -> None:
        self._refuse_unless_holder(ASSESSMENT_REVIEW, review.actor, "出壳评估审核")
        refuse_if(invalid("不同意须写明理由，请至少填写一条") if not review.agree and not review.reasons else None)

    @workflow.update
    async def leave(self, request: IncubationExit) -> ActionReceipt:
        self._exit = request
        await workflow.wait_condition(lambda: self.case.phase is IncubationPhase.exited)
        return await self._receipt("已退出孵化，席位已释放")

    @leave.validator
    def _validate_leave(self, request: IncubationExit) -> None:
        actor = self.case.representative.user_id == request.actor.user_id or (
            self.case.base is not None
            and (
                request.actor.user_id in {self.case.base.staff_a.user_id, self.case.base.staff_b.user_id}
                or (
                    request.actor.role is Role.civil_affairs
                    and self.case.base.jurisdiction.startswith(request.actor.jurisdiction or "?")
                )
            )
        )
        refuse_if(None if actor else forbidden("没有找到这个孵化案件"))
        refuse_if(
            None
            if self.case.phase in OPEN and self._exit is None
            else conflict(f"孵化已结束（{self.case.phase.label}），不能再退出")
        )

    @workflow.update
    async def start_filing(self, start: FilingStart) -> ActionReceipt:
        """The group files (备案) or registers (登记) as a child case of its incubation: the filing's own
        procedure, unchanged; its outcome comes back here as a milestone."""
        milestone = FilingMilestone(
            case_no=start.case_no, track_label=start.application.track.label, started_at=workflow.now()
        )
        self.case.filings.append(milestone)
        self._record(start.actor, "filing_started", f"在孵化期内申请{milestone.track_label}，案号{start.case_no}")
        handle = await workflow.start_child_workflow(
            FilingWorkflow.run,
            FilingRequest(case_no=start.case_no, applicant=start.actor, application=start.application),
            id=start.case_no,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        self._filings.append(asyncio.create_task(self._follow_filing(milestone, handle)))
        await self._settle()  # the main procedure may be waiting on a report, not on this
        return await self._receipt(f"{milestone.track_label}申请已提交，案号{start.case_no}")

    async def _follow_filing(self, milestone: FilingMilestone, handle: workflow.ChildWorkflowHandle) -> None:
        result: Result | None = await handle
        milestone.outcome = result.phase.value if result else "closed"
        milestone.decided_at = workflow.now()
        if result is not None and result.certificate_number:
            self.case.organization = milestone.case_no
            summary = f"里程碑：{milestone.track_label}已获准予（{milestone.case_no}），已记入社会组织名录"
            self._record(None, "milestone_reached", summary)
        else:
            reasons = "；".join(result.reasons) if result and result.reasons else ""
            label = FILING_ENDINGS.get(result.phase.value, "已结束") if result else "已结束"
            summary = (
                f"{milestone.track_label}案件{milestone.case_no}{label}{'：' + reasons if reasons else ''}；可在孵化期内再次申请"
            )
            self._record(None, "milestone_missed", summary)
        await self._notify(NotificationKind.incubation_milestone, [self.case.representative], result=summary)
        await self._settle()

    @start_filing.validator
    def _validate_filing(self, start: FilingStart) -> None:
        refuse_if(
            None if start.actor.user_id == self.case.representative.user_id else forbidden("没有找到这个孵化案件")
        )
        refuse_if(
            None if self.case.phase in (IncubationPhase.incubating, IncubationPhase.assessing)
            else conflict(f"入孵后才能从孵化中申请备案或登记（现在：{self.case.phase.label}）")
        )  # fmt: skip
        running = next((f for f in self.case.filings if f.outcome is None), None)
        refuse_if(conflict(f"已有办理中的申请（案号{running.case_no}），请等待结果") if running else None)
        refuse_if(conflict(f"已完成备案或登记（{self.case.organization}）") if self.case.organization else None)

    @workflow.signal
    def place_granted(self) -> None:
        self._place_granted = True

    @workflow.query
    def status(self) -> IncubationState:
        return self._reported()
