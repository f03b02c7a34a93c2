"""Policy assessment: read the policy in force from the policy files and evaluate the application.

Policy files change over time; doing this in an activity records the checklist (with the
policy's version and hash) in history, so a replay never depends on today's files.
"""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from rules.checklist import TrackNotOffered
from rules.policy_files import PolicyNotFound, assess_request
from schemas.checklist import Assessment, AssessmentRequest


class PolicyActivities:
    def __init__(self, policies_dir: Path, history_limit: int | None = None) -> None:
        self.policies_dir = policies_dir
        self.history_limit = history_limit

    @activity.defn(name="assess_application")
    def assess_application(self, request: AssessmentRequest) -> Assessment:
        try:
            assessment = assess_request(self.policies_dir, request)
        except (PolicyNotFound, TrackNotOffered) as error:
            raise ApplicationError(str(error), type="policy", non_retryable=True) from error
        if self.history_limit:
            assessment.procedure.history_events_limit = self.history_limit
        return assessment
