"""Accounts and sign-in through the API: sessions in signed HttpOnly cookies with CSRF tokens, bearer
tokens, lock-out, password change, the administrator's changes to accounts and the directory, and the
trusted-gateway mode as the only way X-User-Id is believed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import SESSION_COOKIE
from schemas.accounts import AccountInput
from schemas.people import Role
from service.accounts import FAILURES_BEFORE_LOCK, AccountService
from service.cases import CaseService
from settings import PROJECT_ROOT, Mode, Settings
from store import directory
from store.db import session_scope
from store.models import SessionRecord
from tests.conftest import GATEWAY, free_port, make_settings, prepared_engine
from tests.helpers import shezu

PASSWORD = "correct-horse-42"
BASE = "http://shezu.test"


class System:
    """An API on its own read model (no Temporal needed: nothing here starts a case)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self.app = create_app(service=CaseService(settings, engine))
        self.accounts = AccountService(settings, engine)

    def client(self, **headers: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE, headers=headers)

    def open_account(self, user_id: str, name: str = "王芳") -> None:
        self.accounts.create_account("admin", AccountInput(user_id=user_id, name=name, password=PASSWORD))


def system_at(root: Path, database_url: str | None = None, **overrides: object) -> System:
    settings = make_settings(root, database_url).model_copy(update=overrides)
    return System(settings, prepared_engine(settings))


@pytest.fixture
def system(tmp_path: Path) -> System:
    return system_at(tmp_path)


@asynccontextmanager
async def signed_in(system: System, user_id: str, password: str = PASSWORD) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser-like client holding a session, and the CSRF token it was given."""
    async with system.client() as browser:
        answer = await browser.post("/api/session", json={"user_id": user_id, "password": password})
        assert answer.status_code == 200, answer.text
        yield browser, answer.json()["csrf_token"]


async def test_a_session_is_a_signed_httponly_cookie_that_acts_for_its_user_until_sign_out(database_url: str, tmp_path: Path) -> None:
    system = system_at(tmp_path, database_url)
    system.open_account("wangfang")
    async with system.client() as browser:
        answer = await browser.post("/api/session", json={"user_id": "wangfang", "password": PASSWORD})
        assert answer.status_code == 200 and answer.json()["user"]["name"] == "王芳"
        session_header = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
        assert "HttpOnly" in session_header and "SameSite=lax" in session_header and "Max-Age=28800" in session_header
        assert browser.cookies["shezu_csrf"] == answer.json()["csrf_token"], "the page's script can send it back"

        me = await browser.get("/api/session")
        assert me.status_code == 200 and me.json()["user_id"] == "wangfang" and me.json()["role"] == "applicant"
        assert (await browser.get("/api/cases")).json()["total"] == 0  # acts as wangfang

        out = await browser.delete("/api/session", headers={"X-CSRF-Token": answer.json()["csrf_token"]})
        assert out.status_code == 204
        gone = await browser.get("/api/session")
        assert gone.status_code == 401 and "请先登录" in gone.json()["message"] and gone.headers["WWW-Authenticate"]
    replayed = system.client()
    replayed.cookies.set(SESSION_COOKIE, session_header.split(";")[0].split("=", 1)[1])
    async with replayed:
        assert (await replayed.get("/api/session")).status_code == 401, "a signed-out session's cookie is worthless"


async def test_changes_through_a_session_need_its_csrf_token(system: System) -> None:
    system.open_account("wangfang")
    async with signed_in(system, "wangfang") as (browser, csrf):
        path, body = "/api/cases/YJ-JG-BA-2026-99999/withdrawal", {"reason": "不办了"}
        for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": ""}):
            refused = await browser.post(path, json=body, headers=headers)
            assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["message"], headers
        async with signed_in(system, "wangfang") as (_, other_csrf):
            refused = await browser.post(path, json=body, headers={"X-CSRF-Token": other_csrf})
            assert refused.status_code == 403, "another session's token is not this one's"
        passed = await browser.post(path, json=body, headers={"X-CSRF-Token": csrf})
        assert passed.status_code == 404, "with its token the request is judged on its merits (no such case)"
        assert (await browser.get("/api/cases")).status_code == 200, "reading needs no token"


async def test_a_tampered_or_expired_cookie_is_the_public(system: System) -> None:
    system.open_account("wangfang")
    async with signed_in(system, "wangfang") as (browser, _):
        value = browser.cookies[SESSION_COOKIE]
        browser.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
        assert (await browser.get("/api/session")).status_code == 401
        browser.cookies.set(SESSION_COOKIE, value)
        assert (await browser.get("/api/session")).status_code == 200
        with session_scope(system.engine) as db:
            db.exec(update(SessionRecord).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=31)))
        assert (await browser.get("/api/session")).status_code == 401, "idle past its limit"


async def test_signing_in_replaces_a_session_the_browser_already_had(system: System) -> None:
    """Session fixation: a cookie planted before sign-in is ended, never promoted to the signed-in session."""
    system.open_account("wangfang")
    async with signed_in(system, "wangfang") as (planted, _):
        fixed = planted.cookies[SESSION_COOKIE]
        again = await planted.post("/api/session", json={"user_id": "wangfang", "password": PASSWORD})
        assert again.status_code == 200 and planted.cookies[SESSION_COOKIE] != fixed
    attacker = system.client()
    attacker.cookies.set(SESSION_COOKIE, fixed)
    async with attacker:
        assert (await attacker.get("/api/session")).status_code == 401


async def test_repeated_failures_lock_the_account_until_an_administrator_resets_it(system: System) -> None:
    system.open_account("wangfang")
    async with system.client() as browser:
        wrong = await browser.post("/api/session", json={"user_id": "wangfang", "password": "wrong-password"})
        nobody = await browser.post("/api/session", json={"user_id": "no-such-user", "password": "wrong-password"})
        assert wrong.status_code == nobody.status_code == 401 and wrong.json() == nobody.json(), "no hint which ids exist"
        for _ in range(FAILURES_BEFORE_LOCK - 1):
            await browser.post("/api/session", json={"user_id": "wangfang", "password": "wrong-password"})
        locked = await browser.post("/api/session", json={"user_id": "wangfang", "password": PASSWORD})
        assert locked.status_code == 429 and "锁定" in locked.json()["message"] and "重置密码" in locked.json()["message"]

        async with system.client(**GATEWAY, **{"X-User-Id": "admin"}) as admin:
            reset = await admin.post("/api/admin/accounts/wangfang/password", json={"new_password": "a-new-password-1"})
            assert reset.status_code == 204
        assert (await browser.post("/api/session", json={"user_id": "wangfang", "password": PASSWORD})).status_code == 401
        unlocked = await browser.post("/api/session", json={"user_id": "wangfang", "password": "a-new-password-1"})
        assert unlocked.status_code == 200
        record = (await browser.get("/api/account/sign-ins")).json()
        assert [r["outcome"] for r in record["items"]] == ["signed_in", "wrong_password", "locked", *["wrong_password"] * FAILURES_BEFORE_LOCK]
        assert record["items"][0]["client"] == "127.0.0.1"


async def test_an_address_that_keeps_failing_must_wait(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.accounts.CLIENT_FAILURES_BEFORE_THROTTLE", 3)
    system.open_account("wangfang")
    async with system.client() as browser:
        for n in range(3):
            await browser.post("/api/session", json={"user_id": f"guess-{n}", "password": "wrong-password"})
        throttled = await browser.post("/api/session", json={"user_id": "wangfang", "password": PASSWORD})
        assert throttled.status_code == 429 and "网络地址" in throttled.json()["message"]


async def test_changing_ones_password_ends_every_other_session(system: System) -> None:
    system.open_account("wangfang")
    async with signed_in(system, "wangfang") as (phone, _), signed_in(system, "wangfang") as (laptop, csrf):
        wrong = await laptop.post("/api/account/password", headers={"X-CSRF-Token": csrf},
                                  json={"current_password": "not-it-at-all", "new_password": "brand-new-secret"})
        assert wrong.status_code == 422 and "当前密码不正确" in wrong.json()["message"]
        short = await laptop.post("/api/account/password", headers={"X-CSRF-Token": csrf},
                                  json={"current_password": PASSWORD, "new_password": "short"})
        assert short.status_code == 422
        changed = await laptop.post("/api/account/password", headers={"X-CSRF-Token": csrf},
                                    json={"current_password": PASSWORD, "new_password": "brand-new-secret"})
        assert changed.status_code == 204
        assert (await laptop.get("/api/session")).status_code == 200
        assert (await phone.get("/api/session")).status_code == 401
    async with system.client() as browser:
        assert (await browser.post("/api/session", json={"user_id": "wangfang", "password": PASSWORD})).status_code == 401


async def test_bearer_tokens_are_shown_once_stored_hashed_listed_and_revocable(system: System) -> None:
    system.open_account("wangfang")
    system.open_account("lisi", "李四")
    async with signed_in(system, "wangfang") as (browser, csrf):
        created = await browser.post("/api/tokens", json={"name": "命令行"}, headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201, created.text
        token, token_id = created.json()["token"], created.json()["token_id"]
        listed = (await browser.get("/api/tokens")).json()["items"]
        assert [t["token_id"] for t in listed] == [token_id] and "token" not in listed[0]
        assert token not in (system.settings.data_dir / "readmodel.db").read_bytes().decode("latin-1")

    async with system.client(Authorization=f"Bearer {token}") as cli:
        assert (await cli.get("/api/session")).json()["user_id"] == "wangfang"
        assert (await cli.post("/api/tokens", json={"name": "脚本"})).status_code == 201, "no CSRF token for a bearer"
    async with signed_in(system, "lisi") as (lisi, lisi_csrf):
        stranger = await lisi.delete(f"/api/tokens/{token_id}", headers={"X-CSRF-Token": lisi_csrf})
        assert stranger.status_code == 404, "another user's token is answered as missing"
        others = await lisi.post("/api/tokens", json={"name": "冒充", "user_id": "wangfang"}, headers={"X-CSRF-Token": lisi_csrf})
        assert others.status_code == 403
    async with system.client(Authorization=f"Bearer {token}") as cli:
        assert (await cli.delete(f"/api/tokens/{token_id}")).status_code == 204
        revoked = await cli.get("/api/session")
        assert revoked.status_code == 401 and "撤销" in revoked.json()["message"]
    async with system.client(Authorization="Bearer shezu_made-up") as forged:
        refused = await forged.get("/api/cases")
        assert refused.status_code == 401 and "令牌无效" in refused.json()["message"], "a bad token is refused, not taken for the public"


async def test_the_bare_user_header_is_believed_only_from_the_trusted_gateway(tmp_path: Path) -> None:
    gateway = system_at(tmp_path / "gateway")
    async with gateway.client(**GATEWAY, **{"X-User-Id": "cg-zhao"}) as trusted:
        assert (await trusted.get("/api/tasks")).status_code == 200
    async with gateway.client(**{"X-Shezu-Gateway": "guessed", "X-User-Id": "cg-zhao"}) as wrong_secret:
        assert (await wrong_secret.get("/api/tasks")).status_code == 401
        assert (await wrong_secret.get("/api/public-notices")).status_code == 200, "the public may still read"
    plain = system_at(tmp_path / "plain", gateway_secret=None)
    for headers in ({"X-User-Id": "cg-zhao"}, {**GATEWAY, "X-User-Id": "cg-zhao"}):
        async with plain.client(**headers) as bare:
            refused = await bare.get("/api/tasks")
            assert refused.status_code == 401 and "请先登录" in refused.json()["message"], headers


async def test_the_administrator_edits_accounts_roles_and_posts_and_every_change_is_recorded(system: System) -> None:
    system.open_account("cg-zhao", "赵丽")
    async with signed_in(system, "cg-zhao") as (zhao, zhao_csrf):
        forged = await zhao.put("/api/admin/staff/cg-zhao", headers={"X-CSRF-Token": zhao_csrf},
                                json={"name": "赵丽", "role": "civil_affairs", "jurisdiction": "YJ"})
        assert forged.status_code == 403 and "系统管理员" in forged.json()["message"]
        assert directory.staff_member(system.engine, "cg-zhao").role == "community_committee"

    async with system.client(**GATEWAY, **{"X-User-Id": "admin"}) as admin:
        opened = await admin.post("/api/admin/accounts", json={"user_id": "cg-sun", "name": "孙悦", "password": PASSWORD})
        assert opened.status_code == 201 and opened.json()["role"] == "applicant"
        assert (await admin.post("/api/admin/accounts", json={"user_id": "cg-sun", "name": "孙悦", "password": PASSWORD})).status_code == 409
        nowhere = await admin.put("/api/admin/staff/cg-sun", json={"name": "孙悦", "role": "community_committee", "jurisdiction": "YJ-XX"})
        assert nowhere.status_code == 422 and "YJ-XX" in nowhere.json()["message"]
        unknown_department = await admin.put(
            "/api/admin/staff/cg-sun", json={"name": "孙悦", "role": "department", "jurisdiction": "YJ", "office": "延吉市文化局"})
        assert unknown_department.status_code == 422 and "延吉市文化局" in unknown_department.json()["message"], \
            "a department the directory has no contacts for could not issue its payment instructions"

        async with signed_in(system, "cg-sun") as (sun, sun_csrf):
            assert (await sun.get("/api/tasks")).status_code == 403, "an applicant has no inbox"
            staffed = await admin.put("/api/admin/staff/cg-sun",
                                      json={"name": "孙悦", "role": "community_committee", "jurisdiction": "YJ-JG-CG"})
            assert staffed.status_code == 200
            assert (await sun.get("/api/tasks")).status_code == 200, "the same permission rules now let her in"

        post = {"role": "community_committee", "jurisdiction": "YJ-JG-CG", "a": "cg-sun", "b": "cg-qian"}
        assert (await admin.put("/api/admin/posts", json=post)).status_code == 200
        assert directory.post(system.engine, Role.community_committee, "YJ-JG-CG").a.user_id == "cg-sun"
        moved = await admin.put("/api/admin/staff/cg-sun", json={"name": "孙悦", "role": "street_office", "jurisdiction": "YJ-JG"})
        assert moved.status_code == 409 and "岗位" in moved.json()["message"]
        bad_post = await admin.put("/api/admin/posts", json={**post, "a": "jg-zhou"})
        assert bad_post.status_code == 422 and "jg-zhou" in bad_post.json()["message"]

        changes = (await admin.get("/api/admin/changes")).json()["items"]
        assert [(c["action"], c["by_user_id"], c["user_id"]) for c in changes[:3]] == [
            ("assign_post", "admin", None), ("assign_staff", "admin", "cg-sun"), ("create_account", "admin", "cg-sun"),
        ]
        assert changes[1]["detail"]["after"]["jurisdiction"] == "YJ-JG-CG" and changes[1]["detail"]["before"] is None
        assert changes[0]["detail"]["before"] == {"a": "cg-zhao", "b": "cg-qian"}

        demoted = await admin.put("/api/admin/staff/admin", json={"name": "系统管理员", "role": "civil_affairs", "jurisdiction": "YJ"})
        assert demoted.status_code == 422 and "另一位管理员" in demoted.json()["message"], "the last administrator stays one"

        disabled = await admin.put("/api/admin/accounts/cg-zhao/status", json={"disabled": True})
        assert disabled.status_code == 200 and disabled.json()["disabled"]
    async with system.client() as browser:
        refused = await browser.post("/api/session", json={"user_id": "cg-zhao", "password": PASSWORD})
        assert refused.status_code == 403 and "停用" in refused.json()["message"]


async def test_the_administrator_finds_accounts_reads_the_directory_and_the_record_names_people(system: System) -> None:
    """What the admin pages read, through the API: a search with last sign-ins, one account, the directory's
    choices and each office's post with who may hold it; for administrators only."""
    system.open_account("cg-zhao", "赵丽")
    system.open_account("cg-qian", "钱伟")
    system.open_account("admin", "系统管理员")
    async with signed_in(system, "cg-zhao") as (zhao, _):
        for path in ("/api/admin/accounts?q=cg", "/api/admin/accounts/cg-qian", "/api/admin/directory"):
            assert (await zhao.get(path)).status_code == 403, path
    async with signed_in(system, "admin") as (admin, csrf):
        found = (await admin.get("/api/admin/accounts", params={"q": "赵"})).json()
        assert found["total"] == 1 and found["items"][0]["user_id"] == "cg-zhao"
        assert found["items"][0]["last_signed_in_at"], "her sign-in above is shown"
        assert (await admin.get("/api/admin/accounts", params={"q": "%"})).json()["total"] == 0, "a wildcard is just a character"
        assert (await admin.get("/api/admin/accounts/cg-qian")).json()["last_signed_in_at"] is None
        assert (await admin.get("/api/admin/accounts/nobody")).status_code == 404

        place = (await admin.get("/api/admin/directory")).json()
        assert "administrator" in place["roles"] and "applicant" not in place["roles"]
        assert {"code": "YJ-JG-CG", "full_name": "延吉市建工街道春光社区"} in place["jurisdictions"]
        assert "延吉市教育局" in place["offices"]
        assert "ma-sun" in place["without_account"] and "cg-zhao" not in place["without_account"]
        post = next(p for p in place["posts"] if (p["role"], p["jurisdiction"]) == ("community_committee", "YJ-JG-CG"))
        assert post["office_name"] == "建工街道春光社区居民委员会" and (post["a"], post["b"]) == ("cg-zhao", "cg-qian")
        assert {c["user_id"] for c in post["candidates"]} == {"cg-zhao", "cg-qian"}

        await admin.put("/api/admin/accounts/cg-qian/status", json={"disabled": True}, headers={"X-CSRF-Token": csrf})
        change = (await admin.get("/api/admin/changes", params={"user_id": "cg-qian"})).json()["items"][0]
        assert (change["action"], change["by_name"], change["user_name"]) == ("disable", "系统管理员", "钱伟")


def test_a_development_system_seeds_demo_accounts_and_production_never_does(tmp_path: Path) -> None:
    production = system_at(tmp_path / "prod", mode=Mode.production, secret_key="x" * 40)
    assert production.accounts.seed_demo_accounts() == []
    development = system_at(tmp_path / "dev")
    seeded = {a.user_id: a for a in development.accounts.seed_demo_accounts()}
    assert {"admin", "cg-zhao", "dept-wj", "exp-01", "org-chunhui", "wangfang"} <= set(seeded)
    assert seeded["cg-zhao"].role == "community_committee" and seeded["admin"].role == "administrator"
    base_people = {user_id: (a.role, a.jurisdiction) for user_id, a in seeded.items() if user_id in ("fh-piao", "fh-cui", "ds-li")}
    assert base_people == {
        "fh-piao": ("incubator", "YJ"), "fh-cui": ("incubator", "YJ-HN"), "ds-li": ("mentor", "YJ-HN"),
    }, "base staff and mentors come from the bases file: the headquarters' A岗 also staffs a branch, and acts for the district"
    assert development.accounts.sign_in("ds-li", development.settings.demo_password, None).user.role == "mentor"
    assert development.accounts.seed_demo_accounts() == [], "only on the first start"
    assert development.accounts.sign_in("cg-zhao", development.settings.demo_password, None).user.user_id == "cg-zhao"


def test_production_refuses_to_start_without_a_cookie_key(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="SHEZU_SECRET_KEY"):
        _ = Settings(data_dir=tmp_path, mode=Mode.production).cookie_key


async def test_shezu_login_keeps_a_token_for_this_user_alone_and_logout_revokes_it(
    temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Against ``shezu api`` as operators run it; the account opened by ``shezu account create``."""
    settings = make_settings(tmp_path / "data")
    prepared_engine(settings).dispose()
    env = {
        **os.environ, "SHEZU_TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
        "SHEZU_DATABASE_URL": settings.effective_database_url, "SHEZU_DATA_DIR": str(settings.data_dir),
        "SHEZU_HTTP_PORT": str(free_port()), "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    code, out, err = await shezu(env, "account", "create", "wangfang", "--name", "王芳", "--password", PASSWORD)
    assert code == 0 and "已开设账号 wangfang" in out, out + err
    with (tmp_path / "api.log").open("wb") as log:
        api = subprocess.Popen([sys.executable, "-m", "cli.main", "api"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{env['SHEZU_HTTP_PORT']}"
        give_up = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/api/communities", timeout=2).status_code == 200:
                    break
            assert api.poll() is None and time.monotonic() < give_up, (tmp_path / "api.log").read_text()
            await asyncio.sleep(0.2)

        code, out, err = await shezu(env, "login", "wangfang", "--password", "wrong-password")
        assert code == 1 and "用户名或密码不正确" in err
        code, out, err = await shezu(env, "login", "wangfang", "--password", PASSWORD)
        assert code == 0 and "已登录为 王芳" in out, out + err
        saved = tmp_path / "config" / "shezu" / "credentials.json"
        assert saved.stat().st_mode & 0o777 == 0o600
        token = json.loads(saved.read_text())[base]["token"]
        assert httpx.get(f"{base}/api/session", headers={"Authorization": f"Bearer {token}"}).json()["user_id"] == "wangfang"
        code, out, _ = await shezu(env, "whoami")
        assert code == 0 and "王芳（wangfang" in out
        code, out, _ = await shezu(env, "logout")
        assert code == 0 and httpx.get(f"{base}/api/session", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        code, _, err = await shezu(env, "whoami")
        assert code == 1 and "shezu login" in err
        code, out, _ = await shezu(env, "login", "wangfang", "--password", PASSWORD, "--print")
        for_script = out.strip()
        assert httpx.get(f"{base}/api/session", headers={"Authorization": f"Bearer {for_script}"}).status_code == 200
        assert base not in json.loads(saved.read_text()), "printed for a script, not kept"
    finally:
        api.terminate()
        api.wait(timeout=20)
