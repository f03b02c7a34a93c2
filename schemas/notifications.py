"""Messages queued for people (站内信 outbox); the words live in templates/notifications/."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from schemas.people import Actor


class NotificationKind(StrEnum):
    correction_requested = "correction_requested"
    accepted = "accepted"
    task_assigned = "task_assigned"
    task_reminder = "task_reminder"
    task_escalated = "task_escalated"
    task_overdue = "task_overdue"
    public_notice_started = "public_notice_started"
    objection_filed = "objection_filed"
    objection_answer_invited = "objection_answer_invited"
    objection_answered = "objection_answered"
    objection_resolved = "objection_resolved"
    decided = "decided"
    lapsed = "lapsed"
    withdrawn = "withdrawn"
    demand_reviewed = "demand_reviewed"
    catalogue_published = "catalogue_published"
    screening_result = "screening_result"
    expert_drawn = "expert_drawn"
    result_published = "result_published"
    challenge_answered = "challenge_answered"
    award_offered = "award_offered"
    award_result = "award_result"
    lot_failed = "lot_failed"
    lot_retendered = "lot_retendered"
    contract_in_force = "contract_in_force"
    report_due = "report_due"
    report_late = "report_late"
    report_returned = "report_returned"
    evaluated = "evaluated"
    rectification = "rectification"
    contract_terminated = "contract_terminated"
    amendment_proposed = "amendment_proposed"
    amendment_decided = "amendment_decided"


class NotificationRequest(BaseModel):
    key: str = Field(description="idempotency key; the same key is queued once")
    kind: NotificationKind
    case_no: str
    recipients: list[Actor]
    context: dict[str, str] = Field(default_factory=dict)
