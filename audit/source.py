"""Where recorded histories come from: a Temporal server (a case with all its runs and child cases,
or every case it holds), or history files on disk (a folder of ``*.json``, or one file)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from audit.history import RecordedCase, RecordedRun, UnreadableHistory, chain_runs


class CaseNotFound(LookupError):
    pass


async def fetch_runs(client: Client, workflow_id: str) -> list[RecordedRun]:
    """Every run of one case, first run first: the latest run, then back along continue-as-new."""
    runs: list[RecordedRun] = []
    run_id: str | None = None
    while True:
        try:
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND and not runs:
                raise CaseNotFound(f"流程服务中没有案件 {workflow_id}") from error
            raise
        run = RecordedRun(workflow_id, history)
        runs.append(run)
        if not run.continued_from:
            return list(reversed(runs))
        run_id = run.continued_from


async def fetch_case_tree(client: Client, workflow_id: str) -> list[RecordedCase]:
    """The case and, depth first, every child case it started (a fair's lots, a lot's contract)."""
    case = RecordedCase(await fetch_runs(client, workflow_id))
    found = [case]
    for child in case.children:
        found.extend(await fetch_case_tree(client, child.workflow_id))
    return found


async def server_runs(client: Client, query: str | None = None) -> AsyncIterator[RecordedRun]:
    """Every run the server lists (a continued case has one entry per run), optionally filtered by a
    visibility query such as ``WorkflowType = 'LotWorkflow'``."""
    async for execution in client.list_workflows(query):
        history = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
        yield RecordedRun(execution.id, history)


async def server_cases(client: Client, query: str | None = None) -> list[RecordedCase]:
    return group_runs([run async for run in server_runs(client, query)])


def folder_runs(path: Path) -> Iterator[RecordedRun | UnreadableHistory]:
    """History files under ``path`` (or ``path`` itself): each file's name, less ``.json``, is the
    workflow id unless the bundle layout ``histories/<workflow id>/<run id>.json`` says otherwise.
    A file that cannot be read is yielded as its error, so one bad file does not hide the others."""
    files = [path] if path.is_file() else sorted(path.rglob("*.json"))
    for file in files:
        if file.name == "manifest.json":
            continue
        workflow_id = file.parent.name if file.parent.parent.name == "histories" else file.stem
        try:
            yield RecordedRun.from_json(workflow_id, file.read_text(encoding="utf-8"))
        except UnreadableHistory as error:
            yield UnreadableHistory(f"{file}：{error}")


def group_runs(runs: list[RecordedRun]) -> list[RecordedCase]:
    """Runs grouped into cases by workflow id, each case's runs in continue-as-new order."""
    by_case: dict[str, list[RecordedRun]] = {}
    for run in runs:
        by_case.setdefault(run.workflow_id, []).append(run)
    return [RecordedCase(chain_runs(case_runs)) for case_runs in by_case.values()]
