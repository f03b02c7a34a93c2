"""Is the system healthy, and which cases are broken? What ``shezu doctor`` prints (and what an
HTTP health route can return): the read model's schema, whether a worker polls the task queue, and
every open case whose workflow task keeps failing, with the error that fails it."""

from __future__ import annotations

from pydantic import BaseModel, computed_field
from sqlalchemy.engine import Engine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, DescribeWorkflowExecutionRequest
from temporalio.client import Client

from audit.replay import failing_task
from settings import Settings
from store.db import schema_behind

FAILING_ATTEMPTS = 3
"""A workflow task on its third attempt has failed twice in a row: no longer a worker restart's
one lost task, but a case that cannot go on without a fix."""


class BrokenCase(BaseModel):
    case_no: str
    workflow_type: str
    run_id: str
    attempts: int
    error: str


class HealthReport(BaseModel):
    schema_problem: str | None
    """Why the read model's schema is not the one the code needs (and how to upgrade), or None."""
    pollers: list[str]
    """The workers polling the task queue for workflow tasks (their identities)."""
    broken: list[BrokenCase]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def healthy(self) -> bool:
        return self.schema_problem is None and bool(self.pollers) and not self.broken

    @computed_field  # type: ignore[prop-decorator]
    @property
    def problems(self) -> list[str]:
        """Each problem in a sentence, in Chinese."""
        found = [self.schema_problem] if self.schema_problem else []
        if not self.pollers:
            found.append("没有 worker 在处理任务队列：请启动 `shezu worker`（或 `shezu up`）")
        found.extend(
            f"案件 {case.case_no}（{case.workflow_type}）的流程任务已连续失败 {case.attempts - 1} 次：{case.error}"
            for case in self.broken
        )
        return found


async def pollers(client: Client, task_queue: str) -> list[str]:
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        retry=True,  # a server busy elsewhere may cancel one call; that is not an unhealthy system
    )
    return sorted(poller.identity for poller in response.pollers)


async def broken_cases(client: Client, task_queue: str) -> list[BrokenCase]:
    """Open cases on the task queue whose workflow task keeps failing, with the last failure recorded."""
    found = []
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    async for execution in client.list_workflows(query):
        described = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=execution.id, run_id=execution.run_id),
            ),
            retry=True,
        )
        attempts = described.pending_workflow_task.attempt if described.HasField("pending_workflow_task") else 0
        if attempts >= FAILING_ATTEMPTS:
            error = await last_task_failure(client, execution.id, execution.run_id)
            found.append(BrokenCase(case_no=execution.id, workflow_type=execution.workflow_type,
                                    run_id=execution.run_id, attempts=attempts, error=error))
    return found


async def last_task_failure(client: Client, workflow_id: str, run_id: str) -> str:
    """The error the run's workflow task last failed with, as its history records it."""
    events = [event async for event in client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history_events()]
    return failing_task(events) or "（历史中没有失败记录：流程任务可能一直超时，请查看 worker 日志）"


async def health(settings: Settings, engine: Engine, client: Client, cases: bool = True) -> HealthReport:
    """The full report; without ``cases`` it skips describing every open case (one call each), which is
    what a load balancer polling ``/api/health`` can afford."""
    return HealthReport(
        schema_problem=schema_behind(engine),
        pollers=await pollers(client, settings.task_queue),
        broken=await broken_cases(client, settings.task_queue) if cases else [],
    )
