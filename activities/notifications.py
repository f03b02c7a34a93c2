"""The notification outbox: one row per message and recipient, words from templates/notifications/."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.rendering import environment
from schemas.notifications import NotificationRequest
from store.db import session_scope
from store.models import NotificationRecord


class NotificationActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.templates = environment()

    def render(self, request: NotificationRequest) -> tuple[str, str]:
        """First line of the template is the subject, the rest the body."""
        text = self.templates.get_template(f"notifications/{request.kind.value}.txt.j2").render(**request.context)
        subject, _, body = text.strip().partition("\n")
        return subject.strip(), body.strip()

    @activity.defn(name="queue_notification")
    def queue_notification(self, request: NotificationRequest) -> int:
        """Idempotent: a retried call finds its rows and queues nothing twice. Returns rows added."""
        subject, body = self.render(request)
        added = 0
        with session_scope(self.engine) as session:
            for recipient in {r.user_id: r for r in request.recipients}.values():
                key = f"{request.key}:{recipient.user_id}"
                if session.get(NotificationRecord, key) is not None:
                    continue
                session.add(
                    NotificationRecord(
                        key=key,
                        case_no=request.case_no,
                        kind=request.kind.value,
                        recipient_id=recipient.user_id,
                        recipient_name=recipient.name,
                        subject=subject,
                        body=body,
                        created_at=datetime.now(UTC),
                    )
                )
                added += 1
        return added
