"""Messages queued for people (站内信 outbox); the words live in templates/notifications/."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

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
    incubation_applied = "incubation_applied"
    incubation_admitted = "incubation_admitted"
    incubation_refused = "incubation_refused"
    incubation_waitlisted = "incubation_waitlisted"
    incubation_place_granted = "incubation_place_granted"
    incubation_mentor_assigned = "incubation_mentor_assigned"
    incubation_report_due = "incubation_report_due"
    incubation_report_late = "incubation_report_late"
    incubation_report_escalated = "incubation_report_escalated"
    incubation_milestone = "incubation_milestone"
    incubation_assessed = "incubation_assessed"
    incubation_assessment_returned = "incubation_assessment_returned"
    incubation_ended = "incubation_ended"


class NotificationRequest(BaseModel):
    key: str = Field(description="idempotency key; the same key is queued once")
    kind: NotificationKind
    case_no: str
    recipients: list[Actor]
    context: dict[str, str] = Field(default_factory=dict)


class Channel(StrEnum):
    """An outside channel a notification is delivered on (in-app is the outbox itself)."""

    email = "email"
    sms = "sms"


class Delivery(BaseModel):
    """Deliver one queued notification (by its outbox key) on the channels its recipient chose.
    The retry schedule travels with it so the workflow's history, not today's settings, decides it."""

    key: str
    retry_seconds: float
    attempts: int


class Send(BaseModel):
    key: str
    channel: Channel


class MarkRead(BaseModel):
    """Which of one's messages to mark read: the listed ones, or all when ``keys`` is left out."""

    keys: list[Annotated[str, Field(min_length=1, max_length=300)]] | None = Field(
        default=None, max_length=200, title="消息编号", description="不填则全部标为已读；一次最多200条"
    )
