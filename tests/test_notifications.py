"""Notifications delivered, not only queued: by e-mail to a real SMTP server (aiosmtpd) and to an SMS
gateway's webhook (a real HTTP server checking the HMAC), retried with back-off when the gateway fails,
each attempt and delivery recorded, only on the channels the person chose, and never twice; in the app,
with the unread count and marking read, and the preferences each person sets through the API."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hmac
import ipaddress
import json
import ssl
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from activities.notifications import SIGNATURE_HEADER, NotificationActivities, delivery_workflow_id, sign
from api.app import create_app
from schemas.accounts import NotificationPreferences
from schemas.notifications import Channel, NotificationKind, NotificationRequest, Send
from schemas.people import Actor, Role
from service.accounts import AccountService
from service.cases import CaseService
from settings import Settings
from store.models import DeliveryRecord, NotificationRecord
from tests import factories
from tests.conftest import GATEWAY, free_port, make_settings, prepared_engine
from worker import build_worker

SMS_SECRET = "gateway-shared-secret-for-tests"
CONTEXT = {"case_no": "YJ-TEST", "organization_name": "春晖读书会", "subject": "春晖读书会备案", "due_date": "2026-12-15"}
APPLICANT = Actor(user_id="wangfang", name="王芳", role=Role.applicant)


@dataclass
class Mailbox:
    """What the SMTP server received."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802 (aiosmtpd's name)
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 OK"


@dataclass
class Gateway:
    """What the SMS gateway received: each request's time, body and whether its signature held;
    it answers 503 to the first ``failures`` requests."""

    failures: int = 0
    received: list[tuple[float, dict[str, str], bool]] = field(default_factory=list)


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[Gateway, str]]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signed = hmac.compare_digest(self.headers.get(SIGNATURE_HEADER, ""), sign(SMS_SECRET, body))
            state.received.append((time.monotonic(), json.loads(body), signed))
            failing = len(state.received) <= state.failures
            self.send_response(503 if failing or not signed else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_port}/sms"
    server.shutdown()
    server.server_close()


@dataclass
class Delivering:
    settings: Settings
    engine: Engine
    env: WorkflowEnvironment
    outbox: NotificationActivities
    mailbox: Mailbox
    gateway: Gateway

    async def notify(self, *recipients: Actor) -> str:
        """Queues one message as a workflow would, returns its request key."""
        key = f"YJ-TEST-{uuid.uuid4().hex[:8]}:accepted"
        request = NotificationRequest(
            key=key, kind=NotificationKind.accepted, case_no="YJ-TEST",
            recipients=list(recipients), context=CONTEXT,
        )
        assert await self.outbox.queue_notification(request) == len(recipients)
        return key

    async def delivered(self, key: str) -> list[Channel]:
        handle = self.env.client.get_workflow_handle(delivery_workflow_id(key))
        return [Channel(c) for c in await asyncio.wait_for(handle.result(), timeout=60)]

    def deliveries(self, key: str) -> dict[str, DeliveryRecord]:
        with Session(self.engine) as session:
            return {d.channel: d for d in session.exec(select(DeliveryRecord).where(DeliveryRecord.notification_key == key))}

    def record(self, key: str) -> NotificationRecord:
        with Session(self.engine) as session:
            return session.get(NotificationRecord, key)


@pytest_asyncio.fixture
async def delivering(
    temporal: WorkflowEnvironment, database_url: str, tmp_path: Path, mailbox: tuple[Mailbox, int], gateway: tuple[Gateway, str]
) -> AsyncIterator[Delivering]:
    (box, smtp_port), (state, url) = mailbox, gateway
    box.messages.clear()
    box.recipients.clear()
    state.received.clear()
    state.failures = 0
    settings = make_settings(tmp_path, database_url).model_copy(update={
        "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "none", "mail_from": "noreply@mzj.example.cn",
        "sms_webhook_url": url, "sms_webhook_secret": SMS_SECRET, "delivery_retry_seconds": 0.5, "delivery_attempts": 4,
    })
    engine = prepared_engine(settings)
    async with build_worker(temporal.client, settings, engine):
        yield Delivering(settings, engine, temporal, NotificationActivities(settings, engine, temporal.client), box, state)
    engine.dispose()


def choose(system: Delivering, user_id: str, **chosen: object) -> None:
    choose_in(system.settings, system.engine, user_id, **chosen)


def choose_in(settings: Settings, engine: Engine, user_id: str, **chosen: object) -> None:
    AccountService(settings, engine).set_preferences(user_id, NotificationPreferences(**chosen))


async def test_mail_and_sms_delivered_after_the_gateway_fails_with_back_off(delivering: Delivering) -> None:
    choose(delivering, "wangfang", email="wangfang@example.cn", mobile="13800138000", by_email=True, by_sms=True)
    delivering.gateway.failures = 2
    key = f"{await delivering.notify(APPLICANT)}:wangfang"

    assert sorted(await delivering.delivered(key)) == [Channel.email, Channel.sms]

    [mail] = delivering.mailbox.messages
    record = delivering.record(key)
    assert delivering.mailbox.recipients == [["wangfang@example.cn"]]
    assert mail["Subject"] == record.subject and "受理" in record.subject
    assert "社会组织登记服务" in mail["From"] and "noreply@mzj.example.cn" in mail["From"]
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    assert mail.get_content().strip() == record.body
    assert "法定办结期限至2026年12月15日（含当日）" in record.body, "a deadline reads in words, including its day"

    times = [at for at, _, _ in delivering.gateway.received]
    assert len(times) == 3 and all(signed for _, _, signed in delivering.gateway.received)
    assert {json.dumps(body, ensure_ascii=False) for _, body, _ in delivering.gateway.received} == {
        json.dumps({"phone": "13800138000", "text": f"{record.subject}\n{record.body}"}, ensure_ascii=False)
    }
    first_wait, second_wait = times[1] - times[0], times[2] - times[1]
    assert first_wait >= 0.45 and second_wait >= 0.9, (first_wait, second_wait)  # 0.5 s, then twice that

    deliveries = delivering.deliveries(key)
    assert (deliveries["sms"].attempts, deliveries["sms"].last_error, deliveries["sms"].failed_at) == (3, None, None)
    assert deliveries["sms"].delivered_at is not None and deliveries["email"].attempts == 1
    assert record.delivered_at is not None and record.delivered_at >= deliveries["sms"].delivered_at


async def test_a_gateway_that_never_answers_is_recorded_as_failed(delivering: Delivering) -> None:
    choose(delivering, "wangfang", mobile="13800138000", by_sms=True)
    delivering.gateway.failures = 100
    key = f"{await delivering.notify(APPLICANT)}:wangfang"

    assert await delivering.delivered(key) == []

    sms = delivering.deliveries(key)["sms"]
    assert len(delivering.gateway.received) == 4 == sms.attempts
    assert "503" in sms.last_error and sms.failed_at is not None and sms.delivered_at is None
    assert delivering.record(key).delivered_at is None


async def test_only_the_channels_a_person_chose(delivering: Delivering) -> None:
    choose(delivering, "wangfang", email="wangfang@example.cn", mobile="13800138000", by_email=False, by_sms=True)
    neighbour = Actor(user_id="lisi", name="李四", role=Role.applicant)  # has set nothing
    key = await delivering.notify(APPLICANT, neighbour)

    assert await delivering.delivered(f"{key}:wangfang") == [Channel.sms]
    assert await delivering.delivered(f"{key}:lisi") == []
    assert delivering.mailbox.messages == [] and len(delivering.gateway.received) == 1
    assert delivering.deliveries(f"{key}:lisi") == {}


async def test_a_repeated_task_sends_nothing_twice(delivering: Delivering) -> None:
    choose(delivering, "wangfang", email="wangfang@example.cn", by_email=True)
    key = await delivering.notify(APPLICANT)
    assert await delivering.delivered(f"{key}:wangfang") == [Channel.email]

    request = NotificationRequest(
        key=key, kind=NotificationKind.accepted, case_no="YJ-TEST", recipients=[APPLICANT],
        context=CONTEXT,
    )
    assert await delivering.outbox.queue_notification(request) == 0  # the workflow's retried activity
    await asyncio.to_thread(delivering.outbox.send_notification, Send(key=f"{key}:wangfang", channel=Channel.email))
    assert await delivering.delivered(f"{key}:wangfang") == [Channel.email]

    assert len(delivering.mailbox.messages) == 1
    assert delivering.deliveries(f"{key}:wangfang")["email"].attempts == 1


async def test_messages_unread_count_and_preferences_through_the_api(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SHEZU_SMS_WEBHOOK_SECRET"):
        Settings(data_dir=tmp_path, sms_webhook_url="http://127.0.0.1:9/sms")  # an unsigned gateway is refused at start-up
    settings = make_settings(tmp_path).model_copy(update={"sms_webhook_url": "http://127.0.0.1:9/sms", "sms_webhook_secret": SMS_SECRET})
    engine = prepared_engine(settings)
    outbox = NotificationActivities(settings.model_copy(update={"sms_webhook_url": None}), engine, None)
    for n in range(3):
        await outbox.queue_notification(NotificationRequest(
            key=f"YJ-TEST-{n}:accepted", kind=NotificationKind.accepted, case_no="YJ-TEST", recipients=[APPLICANT],
            context=CONTEXT,
        ))
    app = create_app(service=CaseService(settings, engine))
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://shezu.test", headers={**GATEWAY, "X-User-Id": "wangfang"}) as wang,
        httpx.AsyncClient(transport=transport, base_url="http://shezu.test", headers={**GATEWAY, "X-User-Id": "cg-zhao"}) as zhao,
    ):
        page = (await wang.get("/api/notifications", params={"limit": 2})).json()
        assert (page["total"], page["unread"], len(page["items"])) == (3, 3, 2)
        first = page["items"][0]["key"]

        assert (await zhao.post("/api/notifications/read", json={"keys": [first]})).status_code == 404
        assert (await wang.post("/api/notifications/read", json={"keys": [first]})).json() == 2
        unread = (await wang.get("/api/notifications", params={"unread_only": True})).json()
        assert unread["unread"] == 2 and first not in {n["key"] for n in unread["items"]}
        assert (await wang.post("/api/notifications/read", json={})).json() == 0
        assert (await wang.get("/api/notifications")).json()["unread"] == 0

        assert (await wang.get("/api/account/preferences")).json() == {
            "email": None, "mobile": None, "by_email": False, "by_sms": False, "email_offered": False, "sms_offered": True,
        }
        refused = await wang.put("/api/account/preferences", json={"by_sms": True})
        assert refused.status_code == 422 and "手机号码" in refused.json()["message"]
        refused = await wang.put("/api/account/preferences", json={"email": "w@example.cn", "by_email": True})
        assert refused.status_code == 422 and "未开通电子邮件" in refused.json()["message"]
        assert (await wang.put("/api/account/preferences", json={"mobile": "12345", "by_sms": True})).status_code == 422
        chosen = await wang.put("/api/account/preferences", json={"mobile": "13800138000", "by_sms": True})
        assert chosen.status_code == 200, chosen.text
        assert (await wang.get("/api/account/preferences")).json()["mobile"] == "13800138000"
        assert (await zhao.get("/api/account/preferences")).json()["by_sms"] is False

    async with httpx.AsyncClient(transport=transport, base_url="http://shezu.test") as public:
        assert (await public.get("/api/notifications")).status_code == 401
        assert (await public.put("/api/account/preferences", json={})).status_code == 401


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_case_tells_its_reviewer_by_mail(delivering: Delivering) -> None:
    """The whole way: a filing's workflow queues the reviewer's 待办 and its delivery reaches their mailbox."""
    choose(delivering, "cg-zhao", email="zhao.li@jd.example.cn", by_email=True)
    service = CaseService(delivering.settings, delivering.engine, delivering.env.client)
    application = factories.filing()
    receipt = await service.submit(service.actor(factories.applicant_id(), application.applicant_name), application)

    deadline = time.monotonic() + 30
    while not delivering.mailbox.messages and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    [mail] = delivering.mailbox.messages
    assert delivering.mailbox.recipients == [["zhao.li@jd.example.cn"]]
    assert mail["Subject"].startswith("【待办】") and receipt.case_no in mail["Subject"]
    assert "请于" in mail.get_content()


def certificate_for_localhost(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, standing for a government network's own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "mail.pem", folder / "mail.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_file, key_file


def test_mail_over_starttls_with_a_login(tmp_path: Path) -> None:
    """A government mail server: STARTTLS required, its certificate from the network's own CA, login required."""
    cert_file, key_file = certificate_for_localhost(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert_file, key_file)
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server: object, session: object, envelope: object, mechanism: str, auth_data: LoginPassword) -> AuthResult:
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"noreply", b"mail-password-42"))

    box, port = Mailbox(), free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True,
        authenticator=authenticate, auth_require_tls=True,
    )
    controller.start()
    try:
        settings = make_settings(tmp_path).model_copy(update={
            "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "starttls", "smtp_ca_file": cert_file,
            "smtp_user": "noreply", "smtp_password": "mail-password-42",
        })
        engine = prepared_engine(settings)
        outbox = NotificationActivities(settings, engine, None)
        choose_in(settings, engine, "wangfang", email="wangfang@example.cn", by_email=True)
        request = NotificationRequest(key="YJ-TLS:accepted", kind=NotificationKind.accepted, case_no="YJ-TLS", recipients=[APPLICANT], context=CONTEXT)
        [key] = outbox._queue(request)[1]
        assert outbox.plan_delivery(key) == [Channel.email]
        outbox.send_notification(Send(key=key, channel=Channel.email))
        assert logins == [(b"noreply", b"mail-password-42")] and len(box.messages) == 1
        assert box.messages[0]["Subject"].startswith("【已受理】春晖读书会")

        untrusted = NotificationActivities(settings.model_copy(update={"smtp_ca_file": None}), engine, None)
        with pytest.raises(ssl.SSLCertVerificationError):
            untrusted._mail("wangfang@example.cn", "主题", "正文", key)
        assert len(box.messages) == 1
    finally:
        controller.stop()
