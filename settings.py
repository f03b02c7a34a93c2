"""Configuration from environment variables (prefix ``SHEZU_``), with working local defaults.

One machine runs everything under ``.data/``; a larger deployment points the same code at a
Temporal cluster (address, namespace, TLS) and a PostgreSQL server (database URL).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent


class Mode(StrEnum):
    development = "development"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHEZU_", extra="ignore")

    data_dir: Path = PROJECT_ROOT / ".data"
    database_url: str | None = None
    """SQLAlchemy URL of the read model; SQLite under ``data_dir`` when unset.
    PostgreSQL: ``postgresql+psycopg://user:password@host:5432/shezu``."""

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    temporal_tls_ca: Path | None = None
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_api_key: str | None = None
    task_queue: str = "shezu"

    temporal_ui_port: int = 8233
    temporal_ui_url: str | None = None
    """The Temporal Web UI as auditors' browsers reach it (their pages link each case's workflow there);
    default ``http://{host of temporal_address}:{temporal_ui_port}``, the dev server's."""
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    policies_dir: Path = PROJECT_ROOT / "policies"
    directory_file: Path = PROJECT_ROOT / "directory" / "sample.yaml"
    """Jurisdictions, staff posts and experts loaded into the read model when it is empty."""
    register_file: Path | None = PROJECT_ROOT / "directory" / "sample-register.yaml"
    """Organizations registered before this system, loaded when the register is empty (set to
    an empty value in production to start with an empty register)."""
    bases_file: Path | None = PROJECT_ROOT / "directory" / "sample-bases.yaml"
    """Incubation bases (孵化基地) with their staff and mentors, loaded when there are none; their operators
    must be in the register (set to an empty value to start with none)."""

    history_limit: int | None = None
    """Continue a long-lived case (filing, fair, lot, contract) as new beyond this many history events
    (default: the policy's ``history_events_limit``); set low only to exercise continue-as-new in tests."""
    contract_history_limit: int | None = None
    """The same for contracts alone (default: ``history_limit``)."""

    document_title_fonts: str = '"Noto Serif CJK SC", serif'
    """CSS font families for the issuer line and titles (GB/T 9704: 小标宋); an office licensed for it sets
    e.g. ``"FZXiaoBiaoSong-B05S", "Noto Serif CJK SC", serif``. Debian's fonts-noto-cjk is the default."""
    document_body_fonts: str = '"Noto Serif CJK SC", serif'
    """CSS font families for the body (GB/T 9704: 仿宋_GB2312), e.g. ``"FangSong_GB2312", "Noto Serif CJK SC", serif``."""

    ocds_prefix: str = "ocds-shezu0"
    """The ocid prefix the publisher registered with the Open Contracting Partnership (a placeholder until then)."""
    ocds_publisher: str | None = None
    """Who publishes the OCDS package (default: the office that organizes the fairs)."""

    mode: Mode = Mode.development
    """``development`` seeds demo accounts (one per directory person and representative) on first start
    and generates a cookie-signing key in the data folder; ``production`` does neither."""
    secret_key: str | None = None
    """Signs session cookies. Required in production (at least 32 characters); in development one is
    generated once into ``data_dir/secret_key``."""
    session_minutes: int = 480
    """A session ends this long after sign-in, whatever happens in between."""
    session_idle_minutes: int = 30
    """... or this long after its last use."""
    cookie_secure: bool = False
    """Send the session cookie only over HTTPS (set behind TLS)."""
    gateway_secret: str | None = None
    """Trusted-gateway mode: a request carrying this secret in ``X-Shezu-Gateway`` may name its user
    with ``X-User-Id`` (the government's identity gateway in front of this service). Unset: the header
    is ignored."""
    oidc_issuer: str | None = None
    """Single sign-on: the identity platform's OpenID Connect issuer URL (unset: no single sign-on)."""
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scope: str = "openid profile"
    oidc_user_claim: str = "preferred_username"
    """The ID-token claim that holds the user id of this system's account (accounts are opened here, not by the platform)."""
    public_url: str | None = None
    """This service's address as browsers reach it (the OIDC redirect goes to ``{public_url}/api/oidc/callback``);
    default ``http://{http_host}:{http_port}``."""
    smtp_host: str | None = None
    """Notifications by e-mail: the mail server (unset: no e-mail is sent)."""
    smtp_port: int = 587
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    """``starttls`` (port 587), ``ssl`` (implicit TLS, port 465) or ``none`` (only on a trusted internal relay)."""
    smtp_ca_file: Path | None = None
    """The CA certificate(s) the mail server's TLS certificate is checked against when it is not one the
    system trusts (a government network's own CA); unset: the system's trusted CAs."""
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "shezu@localhost"
    """The sender address of notification mail, e.g. ``noreply@mzj.example.gov.cn``."""
    mail_from_name: str = "社会组织登记服务"
    sms_webhook_url: str | None = None
    """Notifications by SMS: the gateway's webhook; it is sent ``{"phone", "text"}`` as JSON (unset: no SMS)."""
    sms_webhook_secret: str | None = None
    """Signs each SMS request body: ``X-Shezu-Signature: sha256=<hex HMAC-SHA256 of the body>``; required with the URL."""
    delivery_retry_seconds: float = 30
    """The first retry of a failed e-mail or SMS waits this long; each next one twice as long (at most an hour)."""
    delivery_attempts: int = 30
    """Attempts per message and channel before it is recorded as failed (with back-off, about a day)."""
    sign_up: bool = True
    """Anyone may open an applicant account at ``/sign-up`` (``POST /api/accounts``); off where every user
    comes through the government's identity platform (single sign-on)."""
    demo_password: str = "shezu-demo-2026"
    """The password of every demo account a development system seeds."""

    @field_validator("register_file", "bases_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """``SHEZU_REGISTER_FILE=`` (empty) means no file, not the current directory."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _sms_is_signed(self) -> Settings:
        """An unsigned webhook would let anyone who reaches the gateway send texts in the bureau's name."""
        if self.sms_webhook_url and not self.sms_webhook_secret:
            raise ValueError("设置了 SHEZU_SMS_WEBHOOK_URL 就须设置 SHEZU_SMS_WEBHOOK_SECRET（短信网关用它验证请求来自本系统）")
        return self

    @property
    def cookie_key(self) -> str:
        """The key that signs cookies: configured, or in development generated once and kept."""
        if self.secret_key:
            return self.secret_key
        if self.mode is Mode.production:
            raise RuntimeError("生产模式须设置 SHEZU_SECRET_KEY（至少32个字符的随机字符串）")
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f"secret_key.{os.getpid()}")
            draft.touch(mode=0o600)
            draft.write_text(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):  # processes started together keep the first key
                os.link(draft, path)
            draft.unlink()
        return path.read_text().strip()

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'readmodel.db'}"

    @property
    def api_url(self) -> str:
        return f"http://{self.http_host}:{self.http_port}"

    @property
    def public_base_url(self) -> str:
        """Where browsers reach this service: the single sign-on callback and a document's QR code (``/verify/<code>``) lead there."""
        return (self.public_url or self.api_url).rstrip("/")

    @property
    def delivers(self) -> bool:
        """Whether notifications go beyond the in-app outbox (e-mail or SMS configured)."""
        return bool(self.smtp_host or self.sms_webhook_url)

    @property
    def single_sign_on(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret)


@lru_cache
def get_settings() -> Settings:
    return Settings()
