"""Golden histories of each kind of case pass the audit's replay gate on the current workflow code
(same commands, and the same requests to every activity), so a change that would break running
cases fails here (record anew with SHEZU_RECORD_GOLDEN=1 ./scripts/test only when a change is meant
to be incompatible and is guarded by workflow.patched)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from audit.history import RecordedRun
from audit.replay import replay_run, replayer
from schemas.case import FilingRequest, Result
from workflows.filing import FilingWorkflow

GOLDEN = Path(__file__).parent / "golden"
EXPECTED = {
    "filing_approved", "filing_corrected", "filing_lapsed", "registration_refused",
    "review_requested_correction", "withdrawn", "escalated_to_backup", "objection_upheld",
    "fair_closed", "lot_awarded", "lot_failed_retendered_closed", "lot_awarded_contract_started",
    "contract_rewarded", "contract_terminated", "contract_continued", "contract_suspended_while_instructing",
    "filing_continued", "lot_continued", "lot_continued_while_bidding", "fair_continued", "lot_reported_to_fair",
    "filing_clock_paused", "objection_answered", "lot_awarded_signing_deadline", "lot_retender_announced",
    "contract_increase_approved", "incubation_exited_place_passed_on", "incubation_extended_graduated",
    "incubation_filing_approved", "lot_incubation_barred_graduate_first", "contract_incubation_milestone_paid",
}


def golden(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(name, (GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def test_every_kind_of_case_has_a_golden_history() -> None:
    assert {p.stem for p in GOLDEN.glob("*.json")} >= EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_golden_history_replays_on_current_code(name: str) -> None:
    run = RecordedRun(name, golden(name))
    outcome = await replay_run(replayer(), run)
    assert outcome.failure is None, outcome.failure


@workflow.defn(name="FilingWorkflow", sandboxed=False)
class FilingWorkflowWithAnUnguardedTimer(FilingWorkflow):
    """A careless change: a new timer at the start, without workflow.patched."""

    @workflow.run
    async def run(self, request: FilingRequest) -> Result | None:
        await workflow.sleep(1)
        return await super().run(request)


async def test_an_unguarded_change_is_caught_by_the_golden_histories() -> None:
    replayer = Replayer(workflows=[FilingWorkflowWithAnUnguardedTimer], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(golden("registration_refused"), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "Nondeterminism" in str(result.replay_failure) or "TMPRL1100" in str(result.replay_failure)
