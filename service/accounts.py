"""Accounts and sign-in, shared by the API and the CLI: local accounts mapped to the directory's user
ids, argon2id password hashes, sessions, bearer tokens, lock-out after repeated failures, the record
of sign-ins, and the administrator's changes to accounts and the directory, each recorded with who
made it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import delete, func, or_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from schemas.accounts import (
    AccountChangeView,
    AccountInput,
    AccountStatus,
    AccountView,
    DirectoryView,
    JurisdictionChoice,
    NotificationPreferences,
    PasswordChange,
    PasswordReset,
    PostInput,
    PostSlot,
    PostView,
    PreferencesView,
    SignInView,
    SignUpInput,
    StaffInput,
    StaffView,
    TokenCreated,
    TokenInput,
    TokenView,
)
from schemas.localtime import local_text
from schemas.people import Actor, Role
from service import views
from service.common import ServiceError
from settings import Mode, Settings
from store import directory
from store.db import session_scope
from store.models import (
    AccountChangeRecord,
    AccountRecord,
    ApiTokenRecord,
    ExpertRecord,
    JurisdictionRecord,
    NotificationPreferenceRecord,
    PostRecord,
    SessionRecord,
    SignInRecord,
    StaffRecord,
)
from store.register import representatives

PASSWORDS = PasswordHash.recommended()
"""argon2id with the library's recommended cost."""
_UNUSABLE = PASSWORDS.hash(secrets.token_urlsafe(32))
"""Verified against when the account does not exist, so a wrong user id takes as long as a wrong password."""

FAILURES_BEFORE_LOCK = 5
LOCK_MINUTES = 15
CLIENT_FAILURES_BEFORE_THROTTLE = 30
"""Failed sign-ins from one address (any accounts) within ``LOCK_MINUTES`` before it must wait."""

SIGN_UPS_PER_CLIENT = 10
"""Sign-ups (and refused attempts) from one address within ``LOCK_MINUTES`` before it must wait."""
SIGN_UP_OUTCOMES = ("signed_up", "sign_up_refused")
NAME_UNAVAILABLE = "该用户名不可用，请换一个（例如在后面加几位数字）"

STAFF_ASSIGNABLE = frozenset(Role) - {Role.applicant, Role.public, Role.bidder, Role.supplier, Role.expert, Role.incubator, Role.mentor}
"""Roles an administrator gives in the directory (experts are kept in the expert pool, organizations in the register,
incubation bases' staff and mentors in the bases file)."""


DEMO_APPLICANTS = {"wangfang": "王芳"}
"""An applicant to follow the README's examples with."""
DEMO_SEEDER = "development"
"""Who created the demo accounts, as the record of changes names it."""


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(secret: str) -> str:
    """Session keys and tokens are long random strings: a SHA-256 is enough to keep them unusable if read."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """A new session: the key for the cookie (never stored) and the CSRF token forms and scripts send back."""

    key: str
    csrf_token: str
    expires_at: datetime
    user: AccountView


@dataclass(frozen=True)
class SessionCaller:
    user_id: str
    csrf_token: str


class AccountService:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.cookie_key = settings.cookie_key
        """Read at start-up, so production without SHEZU_SECRET_KEY refuses to start rather than to sign in."""

    # --- who is calling --------------------------------------------------------------------------

    def session(self, key: str) -> SessionCaller | None:
        """The signed-in user of a session key, while the session lasts (its use keeps it from idling out)."""
        now = _now()
        with session_scope(self.engine) as db:
            record = db.get(SessionRecord, _digest(key))
            if record is None:
                return None
            idle = record.last_seen_at + timedelta(minutes=self.settings.session_idle_minutes)
            if now >= record.expires_at or now >= idle or not self._active(db, record.user_id):
                db.delete(record)
                return None
            if now - record.last_seen_at > timedelta(minutes=1):  # one write a minute, not one per request
                record.last_seen_at = now
            return SessionCaller(record.user_id, record.csrf_token)

    def token_user(self, token: str) -> str | None:
        """Whose bearer token this is, unless it is revoked, expired or its account is disabled."""
        now = _now()
        with session_scope(self.engine) as db:
            record = db.exec(select(ApiTokenRecord).where(ApiTokenRecord.key_hash == _digest(token))).first()
            if record is None or record.revoked_at or (record.expires_at and now >= record.expires_at):
                return None
            if not self._active(db, record.user_id):
                return None
            if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
                record.last_used_at = now
            return record.user_id

    @staticmethod
    def _active(db: Session, user_id: str) -> bool:
        account = db.get(AccountRecord, user_id)
        return account is not None and not account.disabled

    # --- signing in and out ----------------------------------------------------------------------

    def sign_in(self, user_id: str, password: str, client: str | None, replacing: str | None = None) -> SignedIn:
        """A new session for the right password. Refused alike for an unknown id and a wrong password;
        an account (or an id that is not one) is locked for a while after repeated failures, and an
        address that keeps failing must wait. A session the browser already had is ended (no fixation)."""
        now = _now()
        if replacing:
            self.sign_out(replacing)
        with session_scope(self.engine) as db:
            window = now - timedelta(minutes=LOCK_MINUTES)
            if client and self._attempts(db, SignInRecord.client == client, window) >= CLIENT_FAILURES_BEFORE_THROTTLE:
                self._record(db, user_id, now, "throttled", client)
                db.commit()
                raise ServiceError("too_many", f"此网络地址登录失败次数过多，请{LOCK_MINUTES}分钟后再试")
            account = db.get(AccountRecord, user_id)
            since = max(t for t in (window, self._last_success(db, user_id), account and account.password_changed_at) if t)
            failures = db.exec(
                select(SignInRecord.at).where(SignInRecord.user_id == user_id, SignInRecord.at > since,
                                              SignInRecord.outcome == "wrong_password")
                .order_by(col(SignInRecord.at).desc()).limit(FAILURES_BEFORE_LOCK)
            ).all()
            if len(failures) >= FAILURES_BEFORE_LOCK:
                until = failures[-1] + timedelta(minutes=LOCK_MINUTES)
                self._record(db, user_id, now, "locked", client)
                db.commit()
                raise ServiceError(
                    "too_many",
                    f"该账号连续{FAILURES_BEFORE_LOCK}次密码错误，已暂时锁定：请在{local_text(until)}以后再试，"
                    "或请系统管理员重置密码",
                )
            known = account is not None and account.password_hash is not None
            right = PASSWORDS.verify(password, account.password_hash if known else _UNUSABLE)  # type: ignore[union-attr, arg-type]
            if not (known and right):
                self._record(db, user_id, now, "wrong_password", client)
                db.commit()
                raise ServiceError("unauthenticated", "用户名或密码不正确，请检查后重试（连续多次错误将暂时锁定账号）")
            assert account is not None
            if account.disabled:
                self._record(db, user_id, now, "disabled", client)
                db.commit()
                raise ServiceError("forbidden", "该账号已停用，请联系系统管理员")
            return self._new_session(db, account, now, client, "signed_in")

    def sign_up(self, request: SignUpInput, client: str | None, replacing: str | None = None) -> SignedIn:
        """注册: an applicant's own account, then a fresh session as after signing in. A name that is taken
        — an account, or a person of the directory, the expert pool or the register, whose permissions
        hang on that name — gets one answer that tells nothing of who exists; an address that keeps
        signing up must wait, as one that keeps failing to sign in."""
        if not self.settings.sign_up:
            raise ServiceError("forbidden", "本系统不开放自行注册，请通过政府统一身份认证平台登录，或请系统管理员开设账号")
        if request.password != request.password_again:
            raise ServiceError("invalid", "两次输入的密码不一致，请重新输入")
        now = _now()
        if replacing:
            self.sign_out(replacing)
        with session_scope(self.engine) as db:
            window = now - timedelta(minutes=LOCK_MINUTES)
            if client and self._attempts(db, SignInRecord.client == client, window, SIGN_UP_OUTCOMES) >= SIGN_UPS_PER_CLIENT:
                self._record(db, request.user_id, now, "throttled", client)
                db.commit()
                raise ServiceError("too_many", f"此网络地址注册次数过多，请{LOCK_MINUTES}分钟后再试")
            taken = (
                db.exec(select(AccountRecord.user_id).where(func.lower(AccountRecord.user_id) == request.user_id)).first()
                or db.exec(select(StaffRecord.user_id).where(func.lower(StaffRecord.user_id) == request.user_id)).first()
                or db.exec(select(ExpertRecord.user_id).where(func.lower(ExpertRecord.user_id) == request.user_id)).first()
                or request.user_id in {u.lower() for u in representatives(self.engine)}
            )
            if taken:
                self._record(db, request.user_id, now, "sign_up_refused", client)
                db.commit()
                raise ServiceError("conflict", NAME_UNAVAILABLE)
            account = AccountRecord(user_id=request.user_id, name=request.name, created_by=request.user_id, created_at=now)
            db.add(account)
            try:
                db.flush()  # two people asking for one name at once: the second is told as if it were taken
            except IntegrityError as error:
                raise ServiceError("conflict", NAME_UNAVAILABLE) from error
            self._set_password(db, account, request.password, request.user_id, "set_password")
            self._changed(db, request.user_id, request.user_id, "sign_up", {"name": request.name, "client": client})
            if request.email or request.mobile:
                db.add(NotificationPreferenceRecord(
                    user_id=request.user_id, email=request.email, mobile=request.mobile, updated_at=now,
                    by_email=bool(request.email and self.settings.smtp_host),
                    by_sms=bool(request.mobile and self.settings.sms_webhook_url),
                ))
            db.flush()
            return self._new_session(db, account, now, client, "signed_up")

    def sign_in_by_platform(self, user_id: str, client: str | None, replacing: str | None = None) -> SignedIn:
        """A new session for the account the identity platform vouched for (single sign-on)."""
        now = _now()
        if replacing:
            self.sign_out(replacing)
        with session_scope(self.engine) as db:
            account = db.get(AccountRecord, user_id)
            if account is None or account.disabled:
                self._record(db, user_id, now, "platform_refused", client)
                db.commit()
                raise ServiceError(
                    "forbidden",
                    f"统一身份认证平台的用户 {user_id} 在本系统没有可用的账号：请联系系统管理员开设或启用（用户名须为 {user_id}）",
                )
            return self._new_session(db, account, now, client, "signed_in_by_platform")

    def _new_session(self, db: Session, account: AccountRecord, now: datetime, client: str | None, outcome: str) -> SignedIn:
        self._record(db, account.user_id, now, outcome, client, succeeded=True)
        key, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + timedelta(minutes=self.settings.session_minutes)
        db.exec(delete(SessionRecord).where(col(SessionRecord.expires_at) < now))  # type: ignore[call-overload]
        db.add(SessionRecord(key_hash=_digest(key), user_id=account.user_id, csrf_token=csrf, created_at=now,
                             expires_at=expires, last_seen_at=now))
        return SignedIn(key, csrf, expires, self._view(db, account))

    @staticmethod
    def _attempts(db: Session, where: Any, since: datetime, outcomes: tuple[str, ...] = ("wrong_password",)) -> int:
        """Recorded attempts with these outcomes since a time: failed sign-ins by default."""
        query = select(func.count()).select_from(SignInRecord).where(
            where, SignInRecord.at > since, col(SignInRecord.outcome).in_(outcomes))
        return db.exec(query).one()

    @staticmethod
    def _last_success(db: Session, user_id: str) -> datetime | None:
        return db.exec(
            select(func.max(SignInRecord.at)).where(SignInRecord.user_id == user_id, SignInRecord.succeeded)
        ).one()

    @staticmethod
    def _record(db: Session, user_id: str, at: datetime, outcome: str, client: str | None, succeeded: bool = False) -> None:
        db.add(SignInRecord(user_id=user_id, at=at, succeeded=succeeded, outcome=outcome, client=client))

    def sign_out(self, key: str) -> None:
        with session_scope(self.engine) as db:
            db.exec(delete(SessionRecord).where(SessionRecord.key_hash == _digest(key)))  # type: ignore[call-overload]

    def me(self, user_id: str) -> AccountView:
        with Session(self.engine) as db:
            account = db.get(AccountRecord, user_id)
            if account is None:  # known through the gateway only
                person = directory.staff_member(self.engine, user_id)
                return AccountView(user_id=user_id, name=person.name if person else user_id,
                                         role=person.role if person else Role.applicant,
                                         jurisdiction=person.jurisdiction if person else None, has_account=False)
            return self._view(db, account)

    def _view(self, db: Session, account: AccountRecord) -> AccountView:
        person = directory.staff_member(self.engine, account.user_id)
        return AccountView(
            user_id=account.user_id, name=account.name, role=person.role if person else Role.applicant,
            jurisdiction=person.jurisdiction if person else None, office=person.office if person else None,
            disabled=account.disabled, has_account=True, created_at=account.created_at,
            password_changed_at=account.password_changed_at,
        )

    def change_password(self, user_id: str, change: PasswordChange, keep_session: str | None) -> None:
        """The holder's own change: the current password first; every other session of theirs ends."""
        with session_scope(self.engine) as db:
            account = db.get(AccountRecord, user_id)
            if account is None or account.password_hash is None:
                raise ServiceError("invalid", "您没有本地账号密码（经统一身份认证登录），无需在此修改密码")
            if not PASSWORDS.verify(change.current_password, account.password_hash):
                raise ServiceError("invalid", "当前密码不正确，请重新输入")
            self._set_password(db, account, change.new_password, user_id, "change_password")
            keep = _digest(keep_session) if keep_session else ""
            db.exec(delete(SessionRecord).where(  # type: ignore[call-overload]
                SessionRecord.user_id == user_id, SessionRecord.key_hash != keep))

    def _set_password(self, db: Session, account: AccountRecord, password: str, by: str, action: str) -> None:
        if password.casefold() == account.user_id.casefold():
            raise ServiceError("invalid", "密码不能与用户名相同，请换一个")
        account.password_hash = PASSWORDS.hash(password)
        account.password_changed_at = _now()
        db.add(account)
        self._changed(db, by, account.user_id, action, {})

    def sign_ins(self, user_id: str, limit: int, offset: int) -> views.Page[SignInView]:
        with Session(self.engine) as db:
            where = SignInRecord.user_id == user_id
            total = db.exec(select(func.count()).select_from(SignInRecord).where(where)).one()
            rows = db.exec(select(SignInRecord).where(where).order_by(col(SignInRecord.id).desc())
                           .offset(offset).limit(limit)).all()
        items = [SignInView(at=r.at, succeeded=r.succeeded, outcome=r.outcome, client=r.client) for r in rows]
        return views.Page(items=items, total=total, limit=limit, offset=offset)

    # --- bearer tokens ---------------------------------------------------------------------------

    def create_token(self, caller: str, request: TokenInput) -> TokenCreated:
        """A token for the caller, or by an administrator for anyone with an account. Shown once."""
        owner = request.user_id or caller
        if owner != caller:
            self._require_admin(caller)
        now = _now()
        secret = "shezu_" + secrets.token_urlsafe(32)
        with session_scope(self.engine) as db:
            if not self._active(db, owner):
                raise ServiceError("invalid", f"{owner} 没有可用的账号：令牌只发给有账号（且未停用）的用户，请先由管理员开设账号")
            record = ApiTokenRecord(
                token_id=secrets.token_hex(6), key_hash=_digest(secret), user_id=owner, name=request.name,
                created_by=caller, created_at=now,
                expires_at=now + timedelta(days=request.days) if request.days else None,
            )
            db.add(record)
            if owner != caller:
                self._changed(db, caller, owner, "create_token", {"token_id": record.token_id, "name": request.name})
            return TokenCreated(**self._token_view(record).model_dump(), token=secret)

    def tokens(self, caller: str, user_id: str | None, limit: int, offset: int) -> views.Page[TokenView]:
        owner = user_id or caller
        if owner != caller:
            self._require_admin(caller)
        with Session(self.engine) as db:
            where = ApiTokenRecord.user_id == owner
            total = db.exec(select(func.count()).select_from(ApiTokenRecord).where(where)).one()
            rows = db.exec(select(ApiTokenRecord).where(where).order_by(col(ApiTokenRecord.created_at).desc(),
                                                                       col(ApiTokenRecord.token_id))
                           .offset(offset).limit(limit)).all()
        return views.Page(items=[self._token_view(r) for r in rows], total=total, limit=limit, offset=offset)

    def revoke_token(self, caller: str, token_id: str) -> None:
        """Its holder or an administrator revokes it; anyone else is told it does not exist."""
        with session_scope(self.engine) as db:
            record = db.get(ApiTokenRecord, token_id)
            if record is None or (record.user_id != caller and not self.is_administrator(caller)):
                raise ServiceError("not_found", f"令牌 {token_id} 不存在")
            if record.revoked_at is None:
                record.revoked_at = _now()
                db.add(record)
                if record.user_id != caller:
                    self._changed(db, caller, record.user_id, "revoke_token", {"token_id": token_id})

    @staticmethod
    def _token_view(record: ApiTokenRecord) -> TokenView:
        return TokenView(
            token_id=record.token_id, user_id=record.user_id, name=record.name, created_by=record.created_by,
            created_at=record.created_at, expires_at=record.expires_at, last_used_at=record.last_used_at,
            revoked_at=record.revoked_at,
        )

    # --- the administrator -----------------------------------------------------------------------

    def is_administrator(self, user_id: str) -> bool:
        """Whether the pages offer this person the administrator's links (each action still checks)."""
        person = directory.staff_member(self.engine, user_id)
        return person is not None and person.role is Role.administrator

    def _require_admin(self, user_id: str) -> Actor:
        person = directory.staff_member(self.engine, user_id)
        if person is None or person.role is not Role.administrator:
            raise ServiceError("forbidden", "只有系统管理员可以管理账号、岗位和人员名录")
        return person

    def accounts(self, caller: str, limit: int, offset: int, search: str | None = None) -> views.Page[AccountView]:
        """Every account, or those whose user name or name contains ``search``, with their last sign-in."""
        self._require_admin(caller)
        where: Any = True
        if search:
            needle = search.lower()  # as SQL's lower() folds the stored names
            where = or_(func.lower(AccountRecord.user_id).contains(needle, autoescape=True),
                        func.lower(AccountRecord.name).contains(needle, autoescape=True))
        with Session(self.engine) as db:
            total = db.exec(select(func.count()).select_from(AccountRecord).where(where)).one()
            rows = db.exec(select(AccountRecord).where(where).order_by(AccountRecord.user_id).offset(offset).limit(limit)).all()
            last = dict(db.exec(
                select(SignInRecord.user_id, func.max(SignInRecord.at))
                .where(col(SignInRecord.user_id).in_([r.user_id for r in rows]), SignInRecord.succeeded)
                .group_by(SignInRecord.user_id)
            ).all())
            items = [self._view(db, r).model_copy(update={"last_signed_in_at": last.get(r.user_id)}) for r in rows]
        return views.Page(items=items, total=total, limit=limit, offset=offset)

    def account(self, caller: str, user_id: str) -> AccountView:
        """One account as the administrator sees it, with its last sign-in."""
        self._require_admin(caller)
        with Session(self.engine) as db:
            view = self._view(db, self._account(db, user_id))
            return view.model_copy(update={"last_signed_in_at": self._last_success(db, user_id)})

    def create_account(self, caller: str, request: AccountInput) -> AccountView:
        self._require_admin(caller)
        return self.open_account(request, by=caller)

    def open_account(self, request: AccountInput, by: str) -> AccountView:
        """Open an account: the administrator's way, and the operator's at the command line."""
        with session_scope(self.engine) as db:
            if db.get(AccountRecord, request.user_id) is not None:
                raise ServiceError("conflict", f"账号 {request.user_id} 已存在：如需重设密码请用“重置密码”")
            account = AccountRecord(user_id=request.user_id, name=request.name, created_by=by, created_at=_now())
            self._set_password(db, account, request.password, by, "set_password")
            self._changed(db, by, request.user_id, "create_account", {"name": request.name})
            return self._view(db, account)

    def reset_password(self, caller: str, user_id: str, reset: PasswordReset) -> None:
        """A new password set by the administrator: the lock-out is lifted and every session ends."""
        self._require_admin(caller)
        with session_scope(self.engine) as db:
            account = self._account(db, user_id)
            self._set_password(db, account, reset.new_password, caller, "reset_password")
            db.exec(delete(SessionRecord).where(SessionRecord.user_id == user_id))  # type: ignore[call-overload]

    def set_status(self, caller: str, user_id: str, status: AccountStatus) -> AccountView:
        """Disable (every session ends, tokens stop working) or enable an account."""
        self._require_admin(caller)
        if user_id == caller and status.disabled:
            raise ServiceError("invalid", "不能停用自己的账号，请由另一位管理员操作")
        with session_scope(self.engine) as db:
            account = self._account(db, user_id)
            if account.disabled != status.disabled:
                account.disabled = status.disabled
                db.add(account)
                self._changed(db, caller, user_id, "disable" if status.disabled else "enable", {})
                if status.disabled:
                    db.exec(delete(SessionRecord).where(SessionRecord.user_id == user_id))  # type: ignore[call-overload]
            return self._view(db, account)

    @staticmethod
    def _account(db: Session, user_id: str) -> AccountRecord:
        account = db.get(AccountRecord, user_id)
        if account is None:
            raise ServiceError("not_found", f"账号 {user_id} 不存在")
        return account

    def assign_staff(self, caller: str, user_id: str, entry: StaffInput) -> StaffView:
        """Give a person a role in a jurisdiction (and office), or change it. Someone holding an AB岗 post
        keeps role and jurisdiction until the post is given to another."""
        self._require_admin(caller)
        if user_id == caller and entry.role is not Role.administrator:
            raise ServiceError("invalid", "不能取消自己的管理员角色，请由另一位管理员操作")
        if entry.role not in STAFF_ASSIGNABLE:
            allowed = "、".join(f"{r.value}（{r.label}）" for r in sorted(STAFF_ASSIGNABLE))
            raise ServiceError("invalid", f"人员名录中的角色只能是：{allowed}")
        with session_scope(self.engine) as db:
            place = db.get(JurisdictionRecord, entry.jurisdiction)
            if place is None:
                raise ServiceError("invalid", f"辖区 {entry.jurisdiction} 不存在，请用 GET /api/communities 或名录中的辖区代码")
            if entry.role is Role.department and entry.office and entry.office not in {*(place.offices or {}).values(), *(place.contacts or {})}:
                raise ServiceError(
                    "invalid",
                    f"部门“{entry.office}”在辖区 {entry.jurisdiction} 的名录中没有发文机关代字和联系方式（它签发资金拨付通知书），"
                    "请先在名录文件中登记后用 shezu directory load 载入",
                )
            if db.get(ExpertRecord, user_id) is not None:
                raise ServiceError("conflict", f"{user_id} 在评审专家库中，专家不能同时是工作人员")
            record = db.get(StaffRecord, user_id)
            before = self._staff_view(record).model_dump(mode="json") if record else None
            if record is not None and (record.role, record.jurisdiction, record.office) != (
                entry.role.value, entry.jurisdiction, entry.office
            ):
                held = self._posts_held(db, user_id)
                if held:
                    raise ServiceError("conflict", f"{user_id} 在岗位 {'、'.join(held)} 上：请先把这些岗位交给他人，再改角色或辖区")
            record = record or StaffRecord(user_id=user_id, name=entry.name, role=entry.role.value,
                                           jurisdiction=entry.jurisdiction)
            record.name, record.role, record.jurisdiction, record.office = (
                entry.name, entry.role.value, entry.jurisdiction, entry.office)
            db.add(record)
            after = self._staff_view(record)
            self._changed(db, caller, user_id, "assign_staff", {"before": before, "after": after.model_dump(mode="json")})
            return after

    def remove_staff(self, caller: str, user_id: str) -> None:
        self._require_admin(caller)
        with session_scope(self.engine) as db:
            record = db.get(StaffRecord, user_id)
            if record is None:
                raise ServiceError("not_found", f"人员名录中没有 {user_id}")
            if held := self._posts_held(db, user_id):
                raise ServiceError("conflict", f"{user_id} 在岗位 {'、'.join(held)} 上：请先把这些岗位交给他人")
            if user_id == caller:
                raise ServiceError("invalid", "不能把自己移出人员名录，请由另一位管理员操作")
            before = self._staff_view(record).model_dump(mode="json")
            db.delete(record)
            self._changed(db, caller, user_id, "remove_staff", {"before": before})

    @staticmethod
    def _posts_held(db: Session, user_id: str) -> list[str]:
        rows = db.exec(select(PostRecord).where(or_(PostRecord.a_user_id == user_id, PostRecord.b_user_id == user_id))).all()
        return [f"{Role(p.role).label}@{p.jurisdiction}{'/' + p.office if p.office else ''}" for p in rows]

    @staticmethod
    def _staff_view(record: StaffRecord) -> StaffView:
        return StaffView(user_id=record.user_id, name=record.name, role=Role(record.role),
                               jurisdiction=record.jurisdiction, office=record.office)

    def assign_post(self, caller: str, post: PostInput) -> PostView:
        """Who holds a post (A岗) and who backs them up (B岗): both must hold its role in its jurisdiction."""
        self._require_admin(caller)
        if post.a == post.b:
            raise ServiceError("invalid", "A岗和B岗必须是两个不同的人")
        with session_scope(self.engine) as db:
            problems = []
            for which, user_id in (("A岗", post.a), ("B岗", post.b)):
                person = db.get(StaffRecord, user_id)
                if person is None or not _may_hold(person, post.role.value, post.jurisdiction, post.office):
                    problems.append(f"{which} {user_id} 在人员名录中不是 {post.jurisdiction} 的{post.role.label}"
                                    + (f"（{post.office}）" if post.office else ""))
            if problems:
                raise ServiceError("invalid", "岗位人选不符：" + "；".join(problems) + "。请先在人员名录中设置其角色和辖区", problems)
            record = db.get(PostRecord, (post.role.value, post.jurisdiction, post.office))
            before = {"a": record.a_user_id, "b": record.b_user_id} if record else None
            record = record or PostRecord(role=post.role.value, jurisdiction=post.jurisdiction, office=post.office,
                                          a_user_id=post.a, b_user_id=post.b)
            record.a_user_id, record.b_user_id = post.a, post.b
            db.add(record)
            self._changed(db, caller, None, "assign_post", {**post.model_dump(mode="json"), "before": before})
            return PostView(**post.model_dump())

    def directory(self, caller: str) -> DirectoryView:
        """The directory to edit: roles, jurisdictions and offices to choose from, its staff, and a post for
        each office that handles a step (each jurisdiction's offices and the departments), held or not yet."""
        self._require_admin(caller)
        with Session(self.engine) as db:
            places = db.exec(select(JurisdictionRecord).order_by(JurisdictionRecord.code)).all()
            staff = db.exec(select(StaffRecord).order_by(StaffRecord.jurisdiction, StaffRecord.role, StaffRecord.user_id)).all()
            held = {(p.role, p.jurisdiction, p.office): p for p in db.exec(select(PostRecord))}
            opened = set(db.exec(select(AccountRecord.user_id).where(col(AccountRecord.user_id).in_([p.user_id for p in staff]))))
        named: dict[tuple[str, str, str], str] = {}
        for place in places:
            for role, name in (place.offices or {}).items():
                if Role(role) in STAFF_ASSIGNABLE - {Role.administrator, Role.department}:
                    named[(role, place.code, "")] = name
        for person in staff:
            if person.role == Role.department.value and person.office:
                named.setdefault((person.role, person.jurisdiction, person.office), person.office)
        for key in held:
            named.setdefault(key, key[2] or Role(key[0]).label)
        posts = [
            PostSlot(role=Role(role), jurisdiction=place, office=office, office_name=name,
                     a=held[(role, place, office)].a_user_id if (role, place, office) in held else None,
                     b=held[(role, place, office)].b_user_id if (role, place, office) in held else None,
                     candidates=[self._staff_view(p) for p in staff if _may_hold(p, role, place, office)])
            for (role, place, office), name in sorted(named.items(), key=lambda kv: (kv[0][1], _ROLE_ORDER[kv[0][0]], kv[0][2]))
        ]
        offices = {*(n for p in places for n in (p.offices or {}).values()),
                   *(k for p in places for k in (p.contacts or {}) if k not in Role.__members__)}
        return DirectoryView(
            roles=sorted(STAFF_ASSIGNABLE, key=lambda r: _ROLE_ORDER[r]),
            jurisdictions=[JurisdictionChoice(code=p.code, full_name=p.full_name) for p in places],
            offices=sorted(offices), staff=[self._staff_view(p) for p in staff],
            without_account=[p.user_id for p in staff if p.user_id not in opened], posts=posts,
        )

    def changes(self, caller: str, user_id: str | None, limit: int, offset: int) -> views.Page[AccountChangeView]:
        self._require_admin(caller)
        with Session(self.engine) as db:
            where = AccountChangeRecord.user_id == user_id if user_id else True
            total = db.exec(select(func.count()).select_from(AccountChangeRecord).where(where)).one()
            rows = db.exec(select(AccountChangeRecord).where(where).order_by(col(AccountChangeRecord.id).desc())
                           .offset(offset).limit(limit)).all()
            people = {r.by_user_id for r in rows} | {r.user_id for r in rows if r.user_id}
            names = {r.user_id: r.name for r in db.exec(select(StaffRecord).where(col(StaffRecord.user_id).in_(people)))}
            names |= {r.user_id: r.name for r in db.exec(select(AccountRecord).where(col(AccountRecord.user_id).in_(people)))}
        items = [AccountChangeView(at=r.at, by_user_id=r.by_user_id, by_name=names.get(r.by_user_id), user_id=r.user_id,
                                   user_name=names.get(r.user_id or ""), action=r.action, detail=r.detail or {})
                 for r in rows]
        return views.Page(items=items, total=total, limit=limit, offset=offset)

    @staticmethod
    def _changed(db: Session, by: str, user_id: str | None, action: str, detail: dict[str, Any]) -> None:
        db.add(AccountChangeRecord(at=_now(), by_user_id=by, user_id=user_id, action=action, detail=detail))

    # --- how one is told: notification preferences ----------------------------------------------

    def preferences(self, user_id: str) -> PreferencesView:
        """One's own channels; nobody has chosen e-mail or SMS until they say so."""
        with Session(self.engine) as db:
            record = db.get(NotificationPreferenceRecord, user_id)
        chosen = NotificationPreferences() if record is None else NotificationPreferences(
            email=record.email, mobile=record.mobile, by_email=record.by_email, by_sms=record.by_sms
        )
        return self._preferences_view(chosen)

    def set_preferences(self, user_id: str, chosen: NotificationPreferences) -> PreferencesView:
        """Sets one's own channels (recorded as a change by oneself). A channel needs its address and
        must be offered here; messages already sent keep the address they went to."""
        problems = []
        if chosen.by_email and not chosen.email:
            problems.append("选择电子邮件通知须填写电子邮箱")
        if chosen.by_sms and not chosen.mobile:
            problems.append("选择短信通知须填写手机号码")
        if chosen.by_email and not self.settings.smtp_host:
            problems.append("本系统未开通电子邮件通知，请取消该选项")
        if chosen.by_sms and not self.settings.sms_webhook_url:
            problems.append("本系统未开通短信通知，请取消该选项")
        if problems:
            raise ServiceError("invalid", "；".join(problems), problems)
        with session_scope(self.engine) as db:
            record = db.get(NotificationPreferenceRecord, user_id) or NotificationPreferenceRecord(user_id=user_id)
            for field, value in chosen.model_dump().items():
                setattr(record, field, value)
            record.updated_at = _now()
            db.add(record)
            self._changed(db, user_id, user_id, "set_preferences", {"by_email": chosen.by_email, "by_sms": chosen.by_sms})
        return self._preferences_view(chosen)

    def _preferences_view(self, chosen: NotificationPreferences) -> PreferencesView:
        return PreferencesView(
            **chosen.model_dump(), email_offered=bool(self.settings.smtp_host), sms_offered=bool(self.settings.sms_webhook_url)
        )

    # --- a development system's demo accounts ----------------------------------------------------

    def demo_accounts(self) -> list[AccountView]:
        """The demo accounts a development system seeded (none in production)."""
        if self.settings.mode is not Mode.development:
            return []
        with Session(self.engine) as db:
            query = select(AccountRecord).where(AccountRecord.created_by == DEMO_SEEDER).order_by(AccountRecord.user_id)
            return [self._view(db, r) for r in db.exec(query)]

    def seed_demo_accounts(self) -> list[AccountView]:
        """One account per directory person, register representative and base staff or mentor, all with the demo password,
        on a development system whose account table is empty. Never in production."""
        if self.settings.mode is not Mode.development:
            return []
        with session_scope(self.engine) as db:
            if db.exec(select(AccountRecord).limit(1)).first() is not None:
                return []
            people = {r.user_id: r.name for r in db.exec(select(StaffRecord))}
            people |= {r.user_id: r.name for r in db.exec(select(ExpertRecord))}
            people |= {user_id: name for user_id, name in representatives(self.engine).items() if user_id not in people}
            people |= {user_id: name for user_id, name in directory.base_people(self.engine).items() if user_id not in people}
            people |= DEMO_APPLICANTS
            shared = PASSWORDS.hash(self.settings.demo_password)  # one hash: every demo account has the same password
            now = _now()
            for user_id, name in sorted(people.items()):
                db.add(AccountRecord(user_id=user_id, name=name, password_hash=shared, created_by=DEMO_SEEDER,
                                     created_at=now))
                self._changed(db, DEMO_SEEDER, user_id, "create_account", {"demo": True})
            db.flush()
            return [self._view(db, r) for r in db.exec(select(AccountRecord).order_by(AccountRecord.user_id))]


_ROLE_ORDER = {role.value: place for place, role in enumerate(Role)}
"""Roles in the order the directory lists them: the filing steps first, the administrator last."""


def _may_hold(person: StaffRecord, role: str, jurisdiction: str, office: str) -> bool:
    """A post is held by someone of its role in its jurisdiction (and, for a department's, in that department)."""
    return person.role == role and person.jurisdiction == jurisdiction and (not office or person.office == office)


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the configured one."""
    return hmac.compare_digest(given.encode(), expected.encode())
