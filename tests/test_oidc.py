"""Single sign-on by OpenID Connect against a real, certified provider (npm ``oidc-provider`` on the
machine's Node, installed by ``scripts/setup --test`` into tests/oidc), signing in through its own
sign-in pages as a browser would."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import pytest

from schemas.accounts import AccountInput
from tests.conftest import free_port
from tests.test_accounts import BASE, PASSWORD, System, system_at

PROVIDER = Path(__file__).parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "shezu", "a-client-secret-for-tests"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    node = shutil.which("node")
    if node is None or not (PROVIDER / "node_modules" / "oidc-provider").exists():
        pytest.fail("the OpenID provider is not installed: run the tests with ./scripts/test (it runs npm install in tests/oidc)")
    port = free_port()
    provider = subprocess.Popen(
        [node, str(PROVIDER / "provider.mjs"), str(port), CLIENT_ID, CLIENT_SECRET, f"{BASE}/api/oidc/callback"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        give_up = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert provider.poll() is None and time.monotonic() < give_up, "the OpenID provider did not start"
            time.sleep(0.2)
        yield url
    finally:
        provider.terminate()
        provider.wait(timeout=10)


@pytest.fixture
def system(tmp_path: Path, issuer: str) -> System:
    return system_at(tmp_path, oidc_issuer=issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
                     public_url=BASE)


async def at_the_platform(start: str, login: str) -> str:
    """Sign in at the provider's own pages as ``login`` (and consent); the address it sends the browser back to."""
    url = start
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)
        for _ in range(12):
            if answer.status_code in (302, 303):
                url = urljoin(url, answer.headers["location"])
                if url.startswith(BASE):
                    return url
                answer = await browser.get(url)
                continue
            assert answer.status_code == 200, answer.text
            action = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
            assert action, answer.text
            fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', answer.text))
            if 'name="login"' in answer.text:
                fields |= {"login": login, "password": "anything"}
            url = urljoin(url, action.group(1))
            answer = await browser.post(url, data=fields)
    raise AssertionError("the provider never sent the browser back")


async def test_a_platform_user_signs_in_to_the_account_of_the_same_user_id(system: System) -> None:
    system.accounts.open_account(AccountInput(user_id="wangfang", name="王芳", password=PASSWORD), by="admin")
    async with system.client() as browser:
        leaving = await browser.get("/api/oidc/login")
        assert leaving.status_code == 307 and "code_challenge" in leaving.headers["location"]
        back = await at_the_platform(leaving.headers["location"], "wangfang")
        arrived = await browser.get(back)
        assert arrived.status_code == 200, arrived.text
        assert arrived.json()["user"]["user_id"] == "wangfang"
        me = await browser.get("/api/session")
        assert me.status_code == 200 and me.json()["name"] == "王芳"
        record = (await browser.get("/api/account/sign-ins")).json()["items"]
        assert record[0]["outcome"] == "signed_in_by_platform"

        again = await browser.get(back)
        assert again.status_code == 403, "a used callback cannot sign in twice"


async def test_the_platform_cannot_open_accounts_nor_can_a_forged_callback_sign_in(system: System) -> None:
    async with system.client() as browser:
        leaving = await browser.get("/api/oidc/login")
        back = await at_the_platform(leaving.headers["location"], "stranger")
        refused = await browser.get(back)
        assert refused.status_code == 403 and "没有可用的账号" in refused.json()["message"]

    system.accounts.open_account(AccountInput(user_id="wangfang", name="王芳", password=PASSWORD), by="admin")
    async with system.client() as victim, system.client() as attacker:
        # the attacker's own code and state, replayed in a browser that never started a sign-in
        leaving = await attacker.get("/api/oidc/login")
        back = await at_the_platform(leaving.headers["location"], "wangfang")
        planted = await victim.get(back)
        assert planted.status_code == 403 and "不是从本系统发起" in planted.json()["message"]
        # a browser that started its own sign-in, sent someone else's callback
        await victim.get("/api/oidc/login")
        code = parse_qs(urlparse(back).query)["code"][0]
        mixed = await victim.get(f"/api/oidc/callback?state=not-mine&code={code}")
        assert mixed.status_code == 403 and "不符" in mixed.json()["message"]
        assert (await victim.get("/api/session")).status_code == 401


async def test_a_browser_from_the_sign_in_page_comes_back_to_a_page(system: System) -> None:
    """The sign-in page offers the platform; coming back, the browser lands on the page it asked for, signed
    in, and a platform user without an account is brought back to the sign-in page with the reason in words."""
    system.accounts.open_account(AccountInput(user_id="wangfang", name="王芳", password=PASSWORD), by="admin")
    async with system.client() as browser:
        offered = await browser.get("/sign-in?next=/my/cases")
        link = re.search(r'href="(/api/oidc/login[^"]*)"', offered.text)
        assert link and "用政府统一身份认证平台登录" in offered.text
        leaving = await browser.get(link.group(1).replace("&amp;", "&"))
        back = await at_the_platform(leaving.headers["location"], "wangfang")
        arrived = await browser.get(back)
        assert arrived.status_code == 303 and arrived.headers["location"] == "/my/cases"
        assert (await browser.get("/api/session")).json()["user_id"] == "wangfang"

    async with system.client() as stranger:
        leaving = await stranger.get("/api/oidc/login?next=/my/cases")
        back = await at_the_platform(leaving.headers["location"], "stranger")
        refused = await stranger.get(back)
        assert refused.status_code == 303 and refused.headers["location"] == "/sign-in?platform=refused"
        told = await stranger.get(refused.headers["location"])
        assert "在本系统还没有开设" in told.text
        assert (await stranger.get("/api/session")).status_code == 401

    async with system.client() as tricked:
        leaving = await tricked.get("/api/oidc/login?next=//elsewhere.example/")
        back = await at_the_platform(leaving.headers["location"], "wangfang")
        assert (await tricked.get(back)).status_code == 200, "another site's address is never where it goes"


async def test_without_configuration_there_is_no_single_sign_on(tmp_path: Path) -> None:
    plain = system_at(tmp_path)
    async with plain.client() as browser:
        answer = await browser.get("/api/oidc/login")
        assert answer.status_code == 404 and "账号密码" in answer.json()["message"]
