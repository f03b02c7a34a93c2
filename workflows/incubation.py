"""孵化: one durable case per group in a base, from its application to graduation (出壳) or exit.

application → admission review by the base (AB岗, working-day deadline, reasons for a refusal) → a place,
or the base's waiting list until one frees → a mentor and the term → the mentor's reports on the policy's
schedule (reminded before, handed to the base's B岗 and flagged late when missed) → 出壳评估 on the policy's
criteria → graduated, extended once with reasons, or exited with reasons. Ending frees the place, which goes
to the head of the waiting list (store/bases.py says why that is race-free) and that group's case is told.

The group, the base or civil affairs may end it early (with reasons) at any point.
"""

from __future__ import annotations

import asyncio
import calendar
from datetime import datetime

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

from workflows.base import CaseClosed, ProcessWorkflow, refuse_if
from workflows.filing import FilingWorkflow

with workflow.unsafe.imports_passed_through():
    from rules.permissions import conflict, forbidden, invalid
    from schemas.case import ActionReceipt, FilingRequest, Outcome, Result, Task, TaskStatus
    from schemas.checklist import StepPlan
    from schemas.incubation import BaseKind, IncubationBase, IncubationPolicy
    from schemas.incubation_case import (
        AssessmentOutcome,
        BaseAsk,
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
    from schemas.people import Actor, Level, Office, Post, Role

FILING_ENDINGS = {"refused": "未获准予", "lapsed": "因逾期未补正而失效", "withdrawn": "已撤回"}
"""How a filing that did not reach its certificate ended, as the incubation's timeline says it."""

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
        self._assessments: dict[str, IncubationAssessment] = {}
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
        return {"case_no": self.case.case_no, "subject": f"{self.case.application.group_name}入孵"}

    def _interrupted(self) -> bool:
        return self._exit is not None

    def _history_events_limit(self) -> int:
        return 5000

    def _carried_over(self) -> IncubationRequest:
        return IncubationRequest(case_no=self.case.case_no, carried_over=self.case)

    async def _on_interrupt(self) -> None:
        if self._exit is not None:
            exit, self._exit = self._exit, None
            await self._end(
                IncubationPhase.exited, exit.actor, "exited", f"退出孵化；理由：{'；'.join(exit.reasons)}", exit.reasons
            )

    # --- the procedure ------------------------------------------------------------------------------

    @workflow.run
    async def run(self, request: IncubationRequest) -> str:
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
        self._touch()
        try:
            await self._admission()
            await self._take_place()
            self._start_term()
            while True:
                await self._check_ins()
                if await self._assessment():
                    break
        except CaseClosed:
            pass
        await asyncio.gather(*self._filings)
        await self._settle()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.case.phase.value

    @property
    def _base(self) -> IncubationBase:
        assert self.case.base is not None
        return self.case.base

    @property
    def _policy(self) -> IncubationPolicy:
        assert self.case.policy is not None
        return self.case.policy

    def _staff(self, which: str) -> Actor:
        person = self._base.staff_a if which == "a" else self._base.staff_b
        return Actor(
            user_id=person.user_id, name=person.name, role=Role.incubator, jurisdiction=self._base.jurisdiction
        )

    def _step(self, step_id: str, name: str, role: Role, working_days: int, backup_working_days: int) -> StepPlan:
        level = Level.district if self._base.kind is BaseKind.headquarters else Level.street
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
        step = self._step("admission", "入孵审核", Role.incubator, self._policy.admission_working_days, 2)
        task = await self._base_task(
            step, f"审核{self.case.application.group_name}的入孵申请", IncubationPhase.applied, self._staff("a")
        )
        assert task.decision is not None
        if task.decision.outcome is Outcome.refuse:
            await self._end(
                IncubationPhase.refused, None, "refused", "未获准入孵", task.decision.reasons, release=False
            )

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
        await self._main_wait(lambda: self._place_granted, until=None)
        self._record(None, "place_granted", f"{self._base.name}有席位空出，按候补顺序递补入孵")

    def _start_term(self) -> None:
        mentor = self._base.mentors[0]
        self.case.mentor = Actor(
            user_id=mentor.user_id, name=mentor.name, role=Role.mentor, jurisdiction=self._base.jurisdiction
        )
        self.case.admitted_at = workflow.now()
        months = min(max(self.case.application.term_months, self._policy.min_term_months), self._policy.max_term_months)
        self.case.term_ends = add_months(workflow.now(), months)
        self._record(
            None, "admitted",
            f"入驻{self._base.name}，孵化期{months}个月（至{self.case.term_ends.date().isoformat()}），导师{mentor.name}，"
            f"每{self._policy.check_in_working_days}个工作日报告一次孵化情况",
            IncubationPhase.incubating.value,
        )  # fmt: skip

    async def _check_ins(self) -> None:
        """A report every few working days until the term ends, each due that long after the last one was due (or
        came in late); a missed one goes to the base's B岗 and counts as late."""
        policy = self._policy
        step = self._step(
            "check_in", "导师孵化报告", Role.mentor, policy.check_in_working_days, policy.late_report_working_days
        )
        assert self.case.term_ends is not None and self.case.mentor is not None
        while workflow.now() < self.case.term_ends:
            number = 1 + sum(t.step == "check_in" for t in self.case.tasks)
            task = await self._base_task(step, f"第{number}次孵化报告", IncubationPhase.incubating, self.case.mentor)
            if task.escalated_at is None:  # an early report: the next one is due on the schedule, not sooner
                await self._main_wait(lambda: False, until=task.deadline.due_at)
            else:
                self.case.late_reports += 1
                self._record(None, "report_late", f"第{number}次孵化报告逾期提交，已记为逾期并报{self._base.name}B岗")

    async def _assessment(self) -> bool:
        """出壳评估; True once the case ended (graduated or exited), False after an extension."""
        step = self._step("assessment", "出壳评估", Role.incubator, self._policy.assessment_working_days, 2)
        task = await self._base_task(
            step, f"{self.case.application.group_name}出壳评估", IncubationPhase.assessing, self._staff("a")
        )
        assessment = self._assessments[task.task_id]
        if assessment.outcome is AssessmentOutcome.extend:
            assert self.case.term_ends is not None and assessment.extension_months is not None
            self.case.extensions += 1
            self.case.term_ends = add_months(self.case.term_ends, assessment.extension_months)
            self._record(
                assessment.actor, "extended",
                f"延期出壳{assessment.extension_months}个月（至{self.case.term_ends.date().isoformat()}）；"
                f"理由：{'；'.join(assessment.reasons)}",
                IncubationPhase.incubating.value,
            )  # fmt: skip
            return False
        if assessment.outcome is AssessmentOutcome.graduate:
            await self._end(IncubationPhase.graduated, assessment.actor, "graduated", "达到全部出壳标准，准予出壳", [])
        else:
            await self._end(
                IncubationPhase.exited,
                assessment.actor,
                "exited",
                f"出壳评估未通过，退出孵化；理由：{'；'.join(assessment.reasons)}",
                assessment.reasons,
            )
        return True

    async def _end(
        self,
        phase: IncubationPhase,
        actor: Actor | None,
        action: str,
        summary: str,
        reasons: list[str],
        release: bool = True,
    ) -> None:
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

    # --- what people do -----------------------------------------------------------------------------

    def _pending(self, step_id: str) -> Task | None:
        return next((t for t in self.case.tasks if t.step == step_id and t.status is TaskStatus.open), None)

    def _refuse_unless_holder(self, step_id: str, actor: Actor, what: str) -> Task:
        """The task's A or B post (the mentor's report: the mentor, or B once it is handed over) may act."""
        task = self._pending(step_id)
        refuse_if(conflict(f"现在没有待办的{what}") if task is None else None)
        assert task is not None
        allowed = {task.a.user_id, task.b.user_id} if step_id != "check_in" else {task.holder.user_id, task.a.user_id}
        refuse_if(None if actor.user_id in allowed else forbidden("没有找到这个孵化案件"))
        return task

    @workflow.update
    async def decide_admission(self, decision: IncubationDecision) -> ActionReceipt:
        task = self._pending("admission")
        assert task is not None
        self._complete_task(task, Outcome.approve if decision.admit else Outcome.refuse, decision.reasons, None, decision.actor,
                            "准予入孵" if decision.admit else "不予入孵")  # fmt: skip
        return await self._receipt("准予入孵" if decision.admit else "已决定不予入孵，并告知理由")

    @decide_admission.validator
    def _validate_admission(self, decision: IncubationDecision) -> None:
        self._refuse_unless_holder("admission", decision.actor, "入孵审核")
        refuse_if(
            invalid("不予入孵须写明理由，请至少填写一条") if not decision.admit and not decision.reasons else None
        )

    @workflow.update
    async def report_check_in(self, report: CheckInReport) -> ActionReceipt:
        task = self._pending("check_in")
        assert task is not None
        self.case.reports += 1
        self._complete_task(task, Outcome.approve, [], report.summary, report.actor, "提交孵化报告")
        return await self._receipt("孵化报告已提交")

    @report_check_in.validator
    def _validate_report(self, report: CheckInReport) -> None:
        self._refuse_unless_holder("check_in", report.actor, "孵化报告")

    @workflow.update
    async def assess(self, assessment: IncubationAssessment) -> ActionReceipt:
        task = self._pending("assessment")
        assert task is not None
        self._assessments[task.task_id] = assessment
        outcome = Outcome.approve if assessment.outcome is AssessmentOutcome.graduate else Outcome.refuse
        self._complete_task(task, outcome, assessment.reasons, None, assessment.actor, assessment.outcome.label)
        return await self._receipt(assessment.outcome.label)

    @assess.validator
    def _validate_assessment(self, assessment: IncubationAssessment) -> None:
        self._refuse_unless_holder("assessment", assessment.actor, "出壳评估")
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
            self._record(
                None,
                "milestone_reached",
                f"里程碑：{milestone.track_label}已获准予（{milestone.case_no}），已记入社会组织名录",
            )
        else:
            reasons = "；".join(result.reasons) if result and result.reasons else ""
            label = FILING_ENDINGS.get(result.phase.value, "已结束") if result else "已结束"
            self._record(
                None, "milestone_missed",
                f"{milestone.track_label}案件{milestone.case_no}{label}{'：' + reasons if reasons else ''}；可在孵化期内再次申请",
            )  # fmt: skip
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
