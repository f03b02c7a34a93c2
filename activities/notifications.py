"""The notification outbox: one row per message and recipient, words from templates/notifications/;
then delivery on the outside channels each recipient chose — e-mail over SMTP, SMS through the
gateway's webhook — by a workflow per message (workflows/notify.py) that retries with back-off."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.rendering import environment
from schemas.notifications import Channel, Delivery, NotificationRequest, Send
from settings import Settings
from store.db import session_scope
from store.models import DeliveryRecord, NotificationPreferenceRecord, NotificationRecord

SIGNATURE_HEADER = "X-Shezu-Signature"
"""The SMS webhook's body signature: ``sha256=`` and the hex HMAC-SHA256 of the body with the shared secret."""
SEND_TIMEOUT_SECONDS = 30


def delivery_workflow_id(key: str) -> str:
    return f"notify:{key}"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class NotificationActivities:
    def __init__(self, settings: Settings, engine: Engine, client: Client) -> None:
        self.settings, self.engine, self.client = settings, engine, client
        self.templates = environment()

    def render(self, request: NotificationRequest) -> tuple[str, str]:
        """First line of the template is the subject, the rest the body."""
        text = self.templates.get_template(f"notifications/{request.kind.value}.txt.j2").render(**request.context)
        subject, _, body = text.strip().partition("\n")
        return subject.strip(), body.strip()

    @activity.defn(name="queue_notification")
    async def queue_notification(self, request: NotificationRequest) -> int:
        """Idempotent: a retried call finds its rows and queues nothing twice. Returns rows added.
        With e-mail or SMS configured, each row's delivery workflow is started — again on a retry, where
        the running or finished one is kept, so a crash between the two steps loses no delivery."""
        added, keys = await asyncio.to_thread(self._queue, request)
        if self.settings.delivers:
            from workflows.notify import NotificationDeliveryWorkflow

            for key in keys:
                with contextlib.suppress(WorkflowAlreadyStartedError):  # it ran already: it is not run again
                    await self.client.start_workflow(
                        NotificationDeliveryWorkflow.run,
                        Delivery(key=key, retry_seconds=self.settings.delivery_retry_seconds, attempts=self.settings.delivery_attempts),
                        id=delivery_workflow_id(key),
                        task_queue=self.settings.task_queue,
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    )
        return added

    def _queue(self, request: NotificationRequest) -> tuple[int, list[str]]:
        subject, body = self.render(request)
        added, keys = 0, []
        with session_scope(self.engine) as session:
            for recipient in {r.user_id: r for r in request.recipients}.values():
                key = f"{request.key}:{recipient.user_id}"
                keys.append(key)
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
        return added, keys

    @activity.defn(name="plan_delivery")
    def plan_delivery(self, key: str) -> list[Channel]:
        """The outside channels this message goes on: those configured here that its recipient chose,
        with the address they gave — read now, so a preference changed before delivery is respected.
        A repeated call keeps the addresses it first recorded."""
        configured = {Channel.email: bool(self.settings.smtp_host), Channel.sms: bool(self.settings.sms_webhook_url)}
        with session_scope(self.engine) as session:
            notification = session.get(NotificationRecord, key)
            recorded = session.exec(select(DeliveryRecord).where(DeliveryRecord.notification_key == key)).all()
            if recorded:
                return [Channel(r.channel) for r in recorded]
            preferences = session.get(NotificationPreferenceRecord, notification.recipient_id) if notification else None
            if preferences is None:
                return []
            chosen = {Channel.email: preferences.email if preferences.by_email else None,
                      Channel.sms: preferences.mobile if preferences.by_sms else None}
            channels = [c for c, address in chosen.items() if address and configured[c]]
            for channel in channels:
                session.add(DeliveryRecord(notification_key=key, channel=channel.value, address=chosen[channel]))
            if not channels and notification is not None:
                notification.delivered_at = datetime.now(UTC)
                session.add(notification)
        return channels

    @activity.defn(name="send_notification")
    def send_notification(self, send: Send) -> None:
        """Sends once: a delivery already recorded is not sent again. Each attempt is counted, and a
        failure recorded with its reason before Temporal retries it."""
        with Session(self.engine) as session:
            delivery = session.get(DeliveryRecord, (send.key, send.channel.value))
            notification = session.get(NotificationRecord, send.key)
            if delivery is None or notification is None or delivery.delivered_at is not None:
                return
            address, subject, body = delivery.address, notification.subject, notification.body
        now = datetime.now(UTC)
        try:
            if send.channel is Channel.email:
                self._mail(address, subject, body, send.key)
            else:
                self._sms(address, subject, body)
        except Exception as failure:
            self._record(send, now, error=f"{type(failure).__name__}: {failure}"[:500])
            raise
        self._record(send, now)

    @activity.defn(name="give_up_delivery")
    def give_up_delivery(self, send: Send) -> None:
        """The attempts ran out: recorded as failed (``failed_at``, with the last error and the attempts made)."""
        with session_scope(self.engine) as session:
            delivery = session.get(DeliveryRecord, (send.key, send.channel.value))
            if delivery is not None and delivery.delivered_at is None:
                delivery.failed_at = datetime.now(UTC)
                session.add(delivery)

    def _record(self, send: Send, at: datetime, error: str | None = None) -> None:
        with session_scope(self.engine) as session:
            delivery = session.get(DeliveryRecord, (send.key, send.channel.value))
            delivery.attempts += 1
            delivery.last_attempt_at = at
            delivery.last_error = error
            if error is None:
                delivery.delivered_at = datetime.now(UTC)
            session.add(delivery)
            session.flush()
            pending = session.exec(
                select(DeliveryRecord).where(DeliveryRecord.notification_key == send.key, DeliveryRecord.delivered_at.is_(None))
            ).first()
            if pending is None:
                notification = session.get(NotificationRecord, send.key)
                notification.delivered_at = datetime.now(UTC)
                session.add(notification)

    def _mail(self, address: str, subject: str, body: str, key: str) -> None:
        """Plain-text UTF-8 mail; the Chinese subject and sender name are encoded as RFC 2047 headers."""
        settings = self.settings
        message = EmailMessage()
        message["From"] = formataddr((settings.mail_from_name, settings.mail_from))
        message["To"] = address
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(idstring=hashlib.sha256(key.encode()).hexdigest()[:16])
        message.set_content(body, charset="utf-8")
        secure = ssl.create_default_context(cafile=settings.smtp_ca_file)
        if settings.smtp_security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=SEND_TIMEOUT_SECONDS, context=secure)
        else:
            server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SEND_TIMEOUT_SECONDS)
        with server:
            if settings.smtp_security == "starttls":
                server.starttls(context=secure)
            if settings.smtp_user:
                server.login(settings.smtp_user, settings.smtp_password or "")
            server.send_message(message)

    def _sms(self, mobile: str, subject: str, body: str) -> None:
        body_bytes = json.dumps({"phone": mobile, "text": f"{subject}\n{body}"}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: sign(self.settings.sms_webhook_secret, body_bytes)}
        answer = httpx.post(self.settings.sms_webhook_url, content=body_bytes, headers=headers, timeout=SEND_TIMEOUT_SECONDS)
        answer.raise_for_status()
