"""What every process workflow shares: the timeline, projecting state to the read model, waiting
for people and deadlines, AB岗 tasks with reminders and escalation, documents and notifications.

A process keeps its state in ``self.case`` (with ``revision``, ``settled_revision``, ``phase``,
``timeline``, ``tasks`` and ``documents``) and says how phases are named (``_enter``), how its
notifications are introduced (``_notification_context``) and what interrupts it (a withdrawal).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from rules import permissions
    from schemas.calendar import Deadline, DeadlineRequest, WorkingDaysRequest
    from schemas.case import ActionReceipt, Outcome, Task, TaskDecision, TaskStatus, TimelineEvent
    from schemas.checklist import StepPlan
    from schemas.document_request import DocumentRequest
    from schemas.documents import DocumentRef
    from schemas.notifications import NotificationKind, NotificationRequest
    from schemas.people import Actor, Office, Post, PostRequest, Role

T = TypeVar("T")

ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
"""A failing activity (a documents folder that cannot be written, a database away) is retried after 1,
2, 4 … s, then every 30 s: a case resumes within half a minute of the fault being fixed, however long
it lasted (with 5 minutes, up to 5 minutes). Retries add nothing to the case's history."""
QUICK = timedelta(seconds=10)
"""Lookups and single-row writes. Measured here (start to completion of every activity in
tests/golden, 2 cores): median 5 ms, slowest 0.14 s. They do not heartbeat, so a worker that dies
during one leaves it to this timeout before it is retried elsewhere: about 70 times the slowest."""
HEARTBEAT = timedelta(seconds=5)
"""Rendering and projections heartbeat every second (activities/heartbeat.py): a worker killed during
one is noticed after at most this, and the activity retried about a second later on another worker,
instead of after the whole start-to-close timeout (a user's request used to hang 90-180 s)."""
RENDERING = timedelta(seconds=60)
"""Bounds a render that hangs, not a crash (heartbeats catch that). Measured here: the 54 documents of
tests/golden render in 0.13 s median, 0.55 s at most (load 2 on 2 cores; ENGINEERING.md saw 1.7 s
when fontTools subset the CJK font without HarfBuzz)."""
PROJECTING = timedelta(seconds=90)
"""A projection takes 12 ms median, 0.12 s at most (tests/golden), but while the read model is locked
it waits (SQLite's busy timeout is 30 s, store/db.py; PostgreSQL waits on the row lock), heartbeating:
long enough not to give up on a lock held for a while, a retry takes over after that."""
"""All activities are regular ones. Local activities would save round trips, but a query or update
arriving while one runs makes its workflow task complete early, and a replay then sees a later
workflow.now() for the code that ran in it: the replayed case state would differ from the original."""


ONE_PROJECTION_AT_A_TIME = "one-projection-at-a-time"
"""Patch: runs recorded before it let concurrent waits project the state side by side."""

HISTORY_SIZE_LIMIT = 8 * 1024 * 1024
"""Continue a case as new beyond this many bytes of history: the server terminates a run at 50 MB (and
suggests continuing at a few MB itself, which ``is_continue_as_new_suggested`` reports)."""


class CaseClosed(Exception):
    """The case ended before the end of its procedure (refusal, lapse, withdrawal, closure)."""


def refuse_if(refusal: permissions.Refusal | None) -> None:
    """Validators raise this so a refused action never enters history, with a reason users can read."""
    if refusal is not None:
        raise ApplicationError(refusal.message, type=refusal.kind.value, non_retryable=True)


class ProcessWorkflow:
    PROJECTION: ClassVar[str]
    case: Any
    _projected_revision: int = 0
    _on_time_running: int = 0
    """Reminders and escalations under way, which continue-as-new must not cut in half."""
    _projecting: bool = False
    _staying: bool = False

    # --- what each process says about itself ---------------------------------------------------

    @property
    def case_key(self) -> str:
        raise NotImplementedError

    def _enter(self, phase: str, step: StepPlan | None) -> None:
        raise NotImplementedError

    def _phase_names(self) -> tuple[str, str]:
        """(applicant-facing, staff-facing) name of the current phase."""
        raise NotImplementedError

    def _notification_context(self) -> dict[str, str]:
        """At least ``case_no`` and ``subject`` (what the case is about), which every notification may use."""
        raise NotImplementedError

    def _interrupted(self) -> bool:
        """Whether a waiting procedure must stop and look (e.g. a withdrawal arrived)."""
        return False

    def _history_events_limit(self) -> int:
        """Continue as new beyond this many events (the policy's, recorded in state when the case began)."""
        raise NotImplementedError

    def _carried_over(self) -> Any:
        """The argument a new run starts from: the whole state, from which every step resumes."""
        raise NotImplementedError

    async def _on_interrupt(self) -> None:
        """Called after every wait of the procedure itself; may end the case."""

    # --- state and timeline ----------------------------------------------------------------------

    def _touch(self) -> None:
        self.case.revision += 1

    def _record(
        self, actor: Actor | None, action: str, summary: str, phase: str | None = None, step: StepPlan | None = None
    ) -> None:
        before = self.case.phase
        if phase is not None:
            self._enter(phase, step)
        self.case.timeline.append(
            TimelineEvent(
                seq=len(self.case.timeline) + 1,
                at=workflow.now(),
                actor=actor,
                action=action,
                summary=summary,
                phase_before=before,
                phase_after=self.case.phase,
            )
        )
        self._touch()

    async def _settle(self) -> None:
        """Project the state to the read model if it changed; updates wait for this. One projection at a
        time: twenty objection reviews settling at once would otherwise send twenty copies of the whole
        state in one workflow task, past the server's 4 MB message limit."""
        while self._projecting and workflow.patched(ONE_PROJECTION_AT_A_TIME):
            await workflow.wait_condition(lambda: not self._projecting)
        if self._projected_revision >= self.case.revision:
            return
        self._projecting = True
        try:
            self.case.settled_revision = self.case.revision
            await self._call(self.PROJECTION, self.case, type(None), timeout=PROJECTING, heartbeat=HEARTBEAT)
            self._projected_revision = max(self._projected_revision, self.case.settled_revision)
        finally:
            self._projecting = False

    def _reported(self) -> Any:
        """The state for queries, whose ``settled_revision`` is what the read model already shows:
        a projection still under way does not count, so a reader who sees it settled finds it stored."""
        return self.case.model_copy(update={"settled_revision": self._projected_revision})

    async def _receipt(self, message: str) -> ActionReceipt:
        """Return once the workflow has acted on the update and the read model shows it."""
        revision = self.case.revision
        await workflow.wait_condition(lambda: self._projected_revision >= revision)
        applicant, staff = self._phase_names()
        return ActionReceipt(
            case_no=self.case_key,
            phase=self.case.phase,
            phase_applicant_name=applicant,
            phase_staff_name=staff,
            message=message,
        )

    # --- waiting ---------------------------------------------------------------------------------

    async def _wait(self, condition: Callable[[], bool], until: datetime | None, interruptible: bool = True) -> bool:
        """Wait for ``condition`` (or an interruption, unless not ``interruptible``); False when ``until`` came first."""
        await self._settle()

        def ready() -> bool:
            return condition() or (interruptible and self._interrupted())

        if until is None:
            await workflow.wait_condition(ready)
            return True
        remaining = until - workflow.now()
        if remaining <= timedelta(0):
            return ready()
        try:
            await workflow.wait_condition(ready, timeout=remaining)
        except TimeoutError:
            return ready()
        return True

    async def _main_wait(self, condition: Callable[[], bool], until: datetime | None) -> bool:
        ready = await self._wait(condition, until)
        await self._on_interrupt()
        return ready

    async def _serve_until(self, until: datetime, done: Callable[[], bool] = lambda: False) -> None:
        """Keep answering updates (each settles the read model) until ``until`` or ``done()``."""
        while workflow.now() < until and not done():
            await self._main_wait(lambda: done() or self.case.revision > self._projected_revision, until=until)

    # --- continue-as-new ---------------------------------------------------------------------------

    def _history_long(self) -> bool:
        """Whether this run's history is long enough to continue as new (and the run may)."""
        if self._staying:
            return False
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._history_events_limit()
            or info.get_current_history_size() > HISTORY_SIZE_LIMIT
        )

    async def _continue_as_new_if_long(self, patch: str | None = None) -> None:
        """At a safe point of the procedure a long history starts afresh with the whole state (open tasks,
        deadlines as absolute times, pending objections), once every update is answered and projected and
        no reminder, escalation or projection is half done. ``patch`` guards processes whose recorded runs
        never did this: such a run stays as it is (and its waits stop waking for a long history)."""
        if not self._history_long():
            return
        if patch is not None and not workflow.patched(patch):
            self._staying = True
            return

        def quiet() -> bool:
            if patch is None:  # contracts continue exactly as their recorded runs did
                return workflow.all_handlers_finished()
            return workflow.all_handlers_finished() and self._on_time_running == 0 and not self._projecting

        def unsettled() -> bool:
            return self.case.revision > self._projected_revision

        while True:
            # an update arriving meanwhile waits for its projection, so wake for that too
            while not quiet() or unsettled():
                await self._main_wait(lambda: quiet() or unsettled(), until=None)
                await self._settle()
            if patch is None:
                break
            # continue in a workflow task of its own, after the one that answered the last update: Temporal's
            # test server refuses a task that both completes an update and continues as new ("invalid history
            # builder state for action"); an update arriving meanwhile is answered first
            await self._main_wait(lambda: not quiet() or unsettled(), until=workflow.now() + timedelta(seconds=1))
            if quiet() and not unsettled():
                break
        workflow.continue_as_new(self._carried_over())

    # --- activities ------------------------------------------------------------------------------

    async def _call(
        self, activity: str, arg: object, result_type: type[T], timeout: timedelta = QUICK, heartbeat: timedelta | None = None
    ) -> T:
        return await workflow.execute_activity(
            activity, arg, result_type=result_type, start_to_close_timeout=timeout, heartbeat_timeout=heartbeat,
            retry_policy=ACTIVITY_RETRY,
        )

    async def _deadline(self, working_days: int, reminder_before: int = 0) -> Deadline:
        request = DeadlineRequest(
            start=workflow.now(), working_days=working_days, reminder_working_days_before=reminder_before
        )
        return await self._call("compute_deadline", request, Deadline)

    async def _working_days_left(self, deadline: Deadline) -> int:
        return await self._working_days_until(deadline.due_at)

    async def _working_days_until(self, end: datetime) -> int:
        request = WorkingDaysRequest(start=workflow.now(), end=end)
        return await self._call("count_working_days", request, int)

    async def _render(self, request: DocumentRequest) -> DocumentRef:
        document = await self._call("render_document", request, DocumentRef, timeout=RENDERING, heartbeat=HEARTBEAT)
        self.case.documents.append(document)
        self._touch()
        return document

    async def _notify(self, kind: NotificationKind, recipients: list[Actor], **context: str) -> None:
        request = NotificationRequest(
            key=f"{self.case_key}:{self.case.revision}:{kind.value}",
            kind=kind,
            case_no=self.case_key,
            recipients=recipients,
            context={**self._notification_context(), **context},
        )
        await self._call("queue_notification", request, int)

    @staticmethod
    def _provisional(deadline: Deadline) -> str:
        return "，按推算日历计算，官方放假安排公布后以官方为准" if deadline.provisional else ""

    # --- tasks for a post (AB岗) ------------------------------------------------------------------

    async def _open_task(
        self,
        step: StepPlan,
        working_days: int,
        office: Office,
        title: str,
        phase: str | None,
        subject: str | None = None,
        post: Post | None = None,
    ) -> Task:
        """Open a task for the A post; ``subject`` says what it is about (a milestone, a payment) from the moment
        it exists, since an update may act on it while the assignment notice is still being queued. A ``post``
        given (an incubation base's AB岗, from the bases file) is used instead of the directory's."""
        if post is not None:
            deadline = await self._deadline(working_days, step.reminder_working_days_before)
        else:
            department = office.name if step.role is Role.department else ""
            post, deadline = await asyncio.gather(
                self._call("assign_post", PostRequest(role=step.role, jurisdiction=office.jurisdiction, office=department), Post),
                self._deadline(working_days, step.reminder_working_days_before),
            )
        number = 1 + sum(t.step == step.id for t in self.case.tasks)
        task = Task(
            task_id=f"{step.id}-{number}",
            step=step.id,
            title=title,
            role=step.role,
            office=office,
            a=post.a,
            b=post.b,
            holder=post.a,
            created_at=workflow.now(),
            deadline=deadline,
            subject=subject,
        )
        self.case.tasks.append(task)
        self._record(
            None,
            "task_assigned",
            f"「{title}」交{office.name}A岗{post.a.name}办理（B岗{post.b.name}），"
            f"{working_days}个工作日内办结，期限至{deadline.due_date.isoformat()}{self._provisional(deadline)}",
            phase,
            step=step,
        )
        await self._notify(NotificationKind.task_assigned, [post.a], task_title=title, due_date=deadline.due_date.isoformat())
        return task

    async def _await_task(self, task: Task, step: StepPlan, main: bool, interruptible: bool = True) -> None:
        """Wait for the decision; remind before the deadline, hand over to B at it, report if B misses too.
        A task that is not ``interruptible`` (a payment already instructed) goes on whatever happens."""
        while task.status is TaskStatus.open:
            until, on_time = self._next_timer(task)
            done = lambda: task.status is not TaskStatus.open  # noqa: E731
            ready = await (self._main_wait(done, until) if main else self._wait(done, until, interruptible))
            if not ready and on_time:
                self._on_time_running += 1
                try:
                    await on_time(task, step)
                finally:
                    self._on_time_running -= 1
            if interruptible and self._interrupted():
                return
        if not main:
            await self._settle()

    def _next_timer(self, task: Task) -> tuple[datetime | None, Callable[[Task, StepPlan], Awaitable[None]] | None]:
        if task.reminded_at is None and not task.escalated and task.deadline.remind_at:
            return task.deadline.remind_at, self._remind
        if not task.escalated:
            return task.deadline.due_at, self._escalate
        if task.overdue_reported_at is None:
            return task.deadline.due_at, self._report_overdue
        return None, None

    async def _remind(self, task: Task, step: StepPlan) -> None:
        task.reminded_at = workflow.now()
        self._record(None, "task_reminded", f"「{task.title}」将于{task.deadline.due_date.isoformat()}到期，已提醒{task.holder.name}")
        await self._notify(
            NotificationKind.task_reminder, [task.holder], task_title=task.title, due_date=task.deadline.due_date.isoformat()
        )

    async def _escalate(self, task: Task, step: StepPlan) -> None:
        missed = task.deadline
        task.deadline = await self._deadline(step.backup_time_limit_working_days)
        task.holder, task.escalated_at = task.b, workflow.now()
        self._record(
            None,
            "task_escalated",
            f"「{task.title}」A岗{task.a.name}未在{missed.due_date.isoformat()}前办理，按AB岗制度转B岗{task.b.name}办理，"
            f"期限至{task.deadline.due_date.isoformat()}",
        )
        await self._notify(
            NotificationKind.task_escalated, [task.b, task.a], task_title=task.title, due_date=task.deadline.due_date.isoformat()
        )

    async def _report_overdue(self, task: Task, step: StepPlan) -> None:
        task.overdue_reported_at = workflow.now()
        self._record(None, "task_overdue", f"「{task.title}」B岗{task.b.name}仍未办理，已超期，提请督办")
        await self._notify(NotificationKind.task_overdue, [task.a, task.b], task_title=task.title)

    def _complete_task(
        self, task: Task, outcome: Outcome, reasons: list[str], comment: str | None, actor: Actor, label: str | None = None
    ) -> TaskDecision:
        now = workflow.now()
        task.decision = TaskDecision(outcome=outcome, reasons=reasons, comment=comment, by=actor, at=now)
        task.status, task.closed_at = TaskStatus.done, now
        details = "".join(f"；{name}：{text}" for name, text in (("理由", "；".join(reasons)), ("意见", comment)) if text)
        late = "（逾期办理）" if now >= task.deadline.due_at else ""
        self._record(actor, f"{task.step}_{outcome.value}", f"「{task.title}」：{label or outcome.label}{late}{details}")
        return task.decision

    def _cancel_open_tasks(self) -> None:
        now = workflow.now()
        for task in self.case.tasks:
            if task.status is TaskStatus.open:
                task.status, task.closed_at = TaskStatus.cancelled, now
