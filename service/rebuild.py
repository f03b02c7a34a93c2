"""Rebuild the read model from workflow state: every case's workflow is asked for its state (a
closed case is replayed by a worker to answer), and the same projection the worker uses writes it."""

from __future__ import annotations

from activities.read_model import project
from service.cases import CaseService
from store.db import session_scope
from workflows.filing import FilingWorkflow


async def rebuild(service: CaseService) -> int:
    count = 0
    query = f"WorkflowType = 'FilingWorkflow' AND TaskQueue = '{service.settings.task_queue}'"
    async for execution in service.client.list_workflows(query):
        handle = service.client.get_workflow_handle(execution.id, run_id=execution.run_id)
        state = await handle.query(FilingWorkflow.status)
        with session_scope(service.engine) as session:
            project(session, state)
        count += 1
    return count
