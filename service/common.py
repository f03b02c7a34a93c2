"""What every service shares: errors users can act on, who is calling, calling a workflow's
validated updates, and the views of deadlines and documents."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from schemas.calendar import Deadline
from schemas.case import ActionReceipt, Task, TaskStatus, TimelineEvent
from schemas.documents import DocumentRef
from schemas.people import Actor, Role
from service import views
from settings import Settings
from store import directory
from store.case_numbers import allocate, release
from store.models import AttachmentRecord

STATUS_CODES = {
    "invalid": 422, "unauthenticated": 401, "forbidden": 403, "too_many": 429, "conflict": 409, "not_found": 404, "too_large": 413, "unavailable": 503,
}


SIGN_IN_FIRST = (
    "请先登录（未登录或登录已过期）：网页请重新登录；接口请先 POST /api/session 登录，"
    "或带上 Authorization: Bearer 令牌（命令行用 shezu login 获取）"
)


class ServiceError(Exception):
    """A refusal a user can act on: what kind (for HTTP status) and why, in Chinese."""

    def __init__(self, kind: str, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details or []

    @property
    def status_code(self) -> int:
        return STATUS_CODES.get(self.kind, 400)


PAYLOAD_BUDGET = 256 * 1024
"""The most one request may put into a workflow, serialized. Temporal refuses any payload over
2 MB, and a workflow task that carries one fails on every retry: the case is stuck for good. A
request is not the only payload: the case's whole state (every request it has taken, its
timeline and documents) travels in the projection activity's argument and in continue-as-new,
so one request must stay a small fraction of 2 MB. An eighth leaves room for the state to
hold several of the largest requests the models allow; real requests are a few KiB."""


def check_payload(argument: Any) -> None:
    """Refuse, before anything reaches Temporal, an argument whose serialized size is over budget."""
    payloads = pydantic_data_converter.payload_converter.to_payloads([argument])
    size = sum(payload.ByteSize() for payload in payloads)
    if size > PAYLOAD_BUDGET:
        raise ServiceError(
            "invalid",
            f"提交的内容太大：共 {size / 1024:.0f} KiB，单次提交最多 {PAYLOAD_BUDGET // 1024} KiB，"
            "请精简说明、理由或材料备注后重新提交",
        )


def deadline_view(deadline: Deadline) -> views.DeadlineView:
    return views.DeadlineView(
        due_date=deadline.due_date,
        due_at=deadline.due_at,
        working_days=deadline.working_days,
        calendar=[f"{s.year}年：{s.title}" for s in deadline.sources],
        provisional=deadline.provisional,
    )


def document_view(document: DocumentRef) -> views.DocumentView:
    return views.DocumentView(
        **document.model_dump(),
        pdf_url=f"/api/documents/{document.document_id}.pdf",
        html_url=f"/api/documents/{document.document_id}.html",
    )


class Service:
    settle_seconds = 60.0
    """How long a start waits for its new case to show in the read model before answering 503."""

    def __init__(self, settings: Settings, engine: Engine, client: Client | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self._client = client

    def now(self) -> datetime:
        """The time lists judge deadlines against: the workflows' clock (a time-skipping test server's in tests)."""
        return datetime.now(UTC)

    @property
    def client(self) -> Client:
        if self._client is None:
            raise ServiceError("unavailable", "未连接流程服务")
        return self._client

    def actor(self, user_id: str | None, name: str | None = None, role: Role = Role.applicant) -> Actor:
        """Staff and experts are who the directory says they are; anyone else acts as an applicant
        or member of the public."""
        if not user_id or not user_id.strip():
            raise ServiceError("unauthenticated", SIGN_IN_FIRST)
        user_id = user_id.strip()
        if len(user_id) > 64:
            raise ServiceError("invalid", "用户标识不能超过64个字符")
        staff = directory.staff_member(self.engine, user_id)
        if staff is not None:
            return staff
        return Actor(user_id=user_id, name=(name or user_id).strip()[:50] or user_id, role=role)

    def _allocate(self, series: str, open_key: str | None, now: datetime, what: str) -> str:
        """The next number of a series. A read model locked past its busy timeout, or away, is a 503
        saying nothing was submitted, rather than a 500."""
        try:
            return allocate(self.engine, series, open_key, now)
        except OperationalError as error:
            raise ServiceError("unavailable", f"数据库暂时繁忙，{what}未提交，请稍后重试") from error

    async def _start_numbered(
        self, series: str, open_key: str | None, what: str, run: Any, request_for: Callable[[str], Any]
    ) -> str:
        """Allocate the next number of ``series`` and start workflow ``run`` with ``request_for(number)``.
        The request is measured first, with a number of the same length, so an oversized one takes no
        number. Temporal is the judge of which numbers are taken: a number the allocation table thought
        free (e.g. after a restore) is skipped."""
        check_payload(request_for(f"{series}-00000"))
        now = datetime.now(UTC)
        for _ in range(50):
            number = self._allocate(series, open_key, now, what)
            try:
                await self.client.start_workflow(
                    run, request_for(number), id=number, task_queue=self.settings.task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                )
                return number
            except WorkflowAlreadyStartedError:
                release(self.engine, number)
            except RPCError as error:
                release(self.engine, number)
                raise ServiceError("unavailable", f"流程服务暂时不可用，{what}未提交，请稍后重试（{error.message}）") from error
        raise ServiceError("unavailable", f"{series} 的编号无法分配，请联系管理员")

    async def _readable_after_start(self, workflow_id: str, query: Any, what: str) -> None:
        """Read-your-writes: a start is answered 201 only once its case can be read. Wait (bounded) until
        the workflow reports its state settled, which it does only once the read model shows it (a worker
        or server briefly away is waited for); otherwise an honest 503 that names the number it was
        given, so the caller looks it up instead of submitting again."""
        handle = self.client.get_workflow_handle(workflow_id)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.settle_seconds
        while (left := give_up - loop.time()) > 0:
            try:
                state = await handle.query(query, rpc_timeout=timedelta(seconds=max(left, 0.1)))
            except (RPCError, WorkflowQueryFailedError):
                state = None  # no worker has picked the case up yet, or the server is restarting
            if state is not None and state.revision and state.settled_revision == state.revision:
                return
            await asyncio.sleep(0.05)
        raise ServiceError(
            "unavailable",
            f"{what}已提交，编号 {workflow_id}，但暂时还不能查看（流程服务或数据库繁忙）；请稍后按该编号查看，不要重复提交",
        )

    async def _update(
        self, workflow_id: str, update: Any, argument: Any, when_closed: Callable[[], str | None]
    ) -> ActionReceipt:
        """A validated update; a refusal comes back as the validator's reason."""
        check_payload(argument)
        handle = self.client.get_workflow_handle(workflow_id)
        try:
            return await handle.execute_update(update, argument, result_type=ActionReceipt)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError):
                raise ServiceError(cause.type or "conflict", cause.message) from error
            raise ServiceError("conflict", str(cause or error)) from error
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                closed = when_closed()
                if closed:
                    raise ServiceError("conflict", closed) from error
                raise ServiceError("not_found", f"编号 {workflow_id} 不存在") from error
            raise ServiceError("unavailable", f"流程服务暂时不可用，请稍后重试（{error.message}）") from error


def timeline_view(event: TimelineEvent) -> views.TimelineView:
    return views.TimelineView(
        seq=event.seq, at=event.at,
        actor=event.actor.name if event.actor else "系统",
        role=event.actor.role.label if event.actor else None,
        action=event.action, summary=event.summary,
        phase_before=str(event.phase_before), phase_after=str(event.phase_after),
    )


def holder_view(task: Task, now: datetime | None = None) -> views.HolderView:
    now = now or datetime.now(UTC)
    return views.HolderView(
        task_id=task.task_id, step=task.step, title=task.title, office=task.office.name, holder=task.holder.name,
        post="B" if task.escalated else "A", a=task.a.name, b=task.b.name, deadline=deadline_view(task.deadline),
        overdue=now >= task.deadline.due_at and task.status is TaskStatus.open,
    )


def paged(session: Session, query: Any, limit: int, offset: int) -> tuple[list[Any], int]:
    """One window of an ordered query and the count of all its rows, both done by the database."""
    total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    return list(session.exec(query.limit(limit).offset(offset)).all()), int(total)


def check_attachments(engine: Engine, actor: Actor, cited: dict[str, str]) -> None:
    """Each cited attachment (hash → what cites it) must have been uploaded by the citing user. Another
    user's upload is refused exactly like a hash never uploaded, so a refusal never confirms that a
    file exists."""
    with Session(engine) as session:
        for digest, where in cited.items():
            if session.get(AttachmentRecord, (digest, actor.user_id)) is None:
                raise ServiceError(
                    "invalid", f"{where}引用的附件 {digest[:12]}… 尚未上传：请先通过 /api/attachments 上传，再引用返回的 SHA-256"
                )
