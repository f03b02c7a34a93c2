"""The administrator's pages in a real browser (Debian's Chromium driven by Playwright): opening a reviewer's
account, placing it in the directory, making it a B岗, resetting its password, and the record of changes
naming who made each; then the ways in that must change nothing: admin forms posted by an applicant or a
reviewer with their own valid CSRF token, a tampered hidden field, a missing or forged CSRF token, a
planted or tampered session cookie, and the bare X-User-Id header outside trusted-gateway mode (the server
here has no gateway secret). axe-core on every admin page, phone-sized screenshots in /tmp/shezu-pages."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page
from sqlalchemy.engine import Engine

from api.app import create_app
from api.deps import SESSION_COOKIE
from schemas.accounts import AccountInput
from schemas.people import Role
from service.accounts import AccountService
from service.cases import CaseService
from service.common import ServiceError
from settings import Settings
from store import directory
from tests.browser import PASSWORD, PHONE, serious_accessibility_problems, shot, sign_in_as
from tests.conftest import free_port, make_settings, prepared_engine

NEW_PASSWORD = "spring-lantern-77"


@dataclass
class Site:
    url: str
    engine: Engine
    accounts: AccountService
    applicant: str


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Outside trusted-gateway mode: no gateway secret, so nothing believes X-User-Id."""
    return make_settings(tmp_path_factory.mktemp("admin-pages")).model_copy(update={"gateway_secret": None})


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(settings: Settings) -> AsyncIterator[Site]:
    """The app on a loopback port (no case is started, so no Temporal), with accounts for the
    administrator, a community reviewer (cg-zhao) and an applicant."""
    engine = prepared_engine(settings)
    accounts = AccountService(settings, engine)
    applicant = f"applicant-{uuid.uuid4().hex[:8]}"
    for user_id, name in (("admin", "系统管理员"), ("cg-zhao", "赵丽"), ("cg-qian", "钱伟"), (applicant, "王芳")):
        accounts.open_account(AccountInput(user_id=user_id, name=name, password=PASSWORD), by="setup")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service=CaseService(settings, engine)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    serving = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "the page server did not start"
    yield Site(f"http://127.0.0.1:{port}", engine, accounts, applicant)
    server.should_exit = True
    await serving


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(locale="zh-CN")
    made.set_default_timeout(10_000)
    yield made
    await made.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def phone(browser: Browser) -> BrowserContext:
    made = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    made.set_default_timeout(10_000)
    return made


def new_user_id() -> str:
    return f"cg-{uuid.uuid4().hex[:6]}"


def change_count(site: Site) -> int:
    return site.accounts.changes("admin", None, 1, 0).total


async def checked(page: Page, name: str) -> None:
    """Every admin page: no serious accessibility problem, nothing wider than the screen, a screenshot."""
    assert await serious_accessibility_problems(page) == []
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{name} overflows"
    await shot(page, name)


async def open_account(page: Page, site: Site, user_id: str, name: str, role: str | None, place: str | None) -> None:
    """Through the 开设账号 form, placed in the directory when a role and a jurisdiction are given."""
    await page.goto(site.url + "/admin/accounts/new")
    await page.get_by_label("用户名").fill(user_id)
    await page.get_by_label("姓名").fill(name)
    await page.get_by_label("初始密码").fill(PASSWORD)
    if role and place:
        await page.get_by_label("同时放入人员名录").check()
        await page.get_by_label("角色").select_option(label=role)
        await page.get_by_label("辖区").select_option(label=place)
    await page.get_by_role("button", name="开设账号").click()
    await page.wait_for_url(f"**/admin/accounts/{user_id}?done=created")


async def test_the_administrator_opens_places_posts_and_resets_a_reviewer_and_the_record_names_who(
    site: Site, page: Page, browser: Browser
) -> None:
    await sign_in_as(page, site.url, "admin", "/admin", asked=False)
    admin_link = page.get_by_role("navigation", name="主导航").get_by_role("link", name="管理")
    assert await admin_link.get_attribute("aria-current") == "page"
    assert "cg-zhao" in await page.get_by_role("table").inner_text()
    await checked(page, "admin-accounts")

    await page.get_by_role("link", name="开设账号").click()
    await checked(page, "admin-account-new")
    user_id = new_user_id()
    await open_account(page, site, user_id, "孙悦", "社区居委会", "延吉市建工街道春光社区")
    assert "账号已开设" in await page.get_by_role("status").inner_text()
    facts = await page.locator("dl.facts").inner_text()
    assert "社区居委会" in facts and "延吉市建工街道春光社区" in facts and "从未登录" in facts
    assert directory.staff_member(site.engine, user_id).role is Role.community_committee

    await page.get_by_label("新密码").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="重置密码").click()
    await page.wait_for_url(f"**/admin/accounts/{user_id}?done=password")
    assert "密码已重置" in await page.get_by_role("status").inner_text()
    await checked(page, "admin-account")

    await page.get_by_role("navigation", name="系统管理").get_by_role("link", name="AB岗").click()
    office = page.get_by_role("region", name="建工街道春光社区居民委员会")
    await office.get_by_label("B岗").select_option(value=user_id)
    await office.get_by_label("A岗").select_option(value=user_id)
    await office.get_by_role("button", name="保存").click()
    refusal = office.get_by_role("alert")
    assert "A岗和B岗必须是两个不同的人" in await refusal.inner_text(), "the refusal is beside the form"
    assert await office.get_by_label("B岗").input_value() == user_id, "what was chosen is kept"
    assert directory.post(site.engine, Role.community_committee, "YJ-JG-CG").b.user_id == "cg-qian"
    await checked(page, "admin-posts-refused")
    await office.get_by_label("A岗").select_option(value="cg-zhao")
    await office.get_by_role("button", name="保存").click()
    await page.wait_for_url("**/admin/posts?done=1*")
    assert "AB岗已保存" in await page.get_by_role("status").inner_text()
    assert directory.post(site.engine, Role.community_committee, "YJ-JG-CG").b.user_id == user_id

    reviewer = await browser.new_context(locale="zh-CN")
    try:
        theirs = await reviewer.new_page()
        await theirs.goto(site.url + "/sign-in?next=/account/password")
        await theirs.get_by_label("用户名").fill(user_id)
        await theirs.get_by_label("密码").fill(PASSWORD)
        await theirs.get_by_role("button", name="登录").click()
        assert "用户名或密码不正确" in await theirs.get_by_role("alert").inner_text(), (
            "the initial password no longer works"
        )
        await theirs.get_by_label("密码").fill(NEW_PASSWORD)
        await theirs.get_by_role("button", name="登录").click()
        await theirs.wait_for_url(site.url + "/account/password")
        assert await theirs.get_by_role("link", name="管理").count() == 0, "管理 is for administrators only"
        refused = await theirs.goto(site.url + "/admin")
        assert refused is not None and refused.status == 403
        assert "只有系统管理员" in await theirs.get_by_role("alert").inner_text()
    finally:
        await reviewer.close()

    await page.goto(site.url + "/admin/changes")
    await page.get_by_label("只看关于此人的变更").fill(user_id)
    await page.get_by_role("button", name="筛选").click()
    rows = page.locator("table tbody tr")
    assert [await r.locator("th").inner_text() for r in await rows.all()] == [
        "重置密码",
        "设置人员名录",
        "开设账号",
        "设置初始密码",
    ]
    for row in await rows.all():
        assert "系统管理员（admin）" in await row.inner_text()
    assert "不在名录中 → 延吉市建工街道春光社区·社区居委会" in await rows.nth(1).inner_text()
    await checked(page, "admin-changes-person")
    await page.get_by_role("link", name="显示全部").click()
    newest = await rows.first.inner_text()
    assert (
        "设置AB岗" in newest
        and f"B岗 孙悦（{user_id}）" in newest
        and "原为 A岗 赵丽（cg-zhao），B岗 钱伟（cg-qian）" in newest
    )
    await checked(page, "admin-changes")


async def test_disabling_enabling_and_leaving_the_directory(site: Site, page: Page) -> None:
    await sign_in_as(page, site.url, "admin", "/admin")
    user_id = new_user_id()
    await open_account(page, site, user_id, "周敏", "社区居委会", "延吉市建工街道民安社区")

    await page.get_by_role("button", name="停用账号").click()
    await page.wait_for_url(f"**/admin/accounts/{user_id}?done=disabled")
    assert "已停用" in await page.locator("dl.facts").inner_text()
    with pytest.raises(ServiceError, match="停用"):
        site.accounts.sign_in(user_id, PASSWORD, None)
    await page.get_by_role("button", name="启用账号").click()
    await page.wait_for_url(f"**/admin/accounts/{user_id}?done=enabled")
    assert site.accounts.sign_in(user_id, PASSWORD, None).user.user_id == user_id

    await page.get_by_label("角色").select_option(label="购买服务部门")
    await page.get_by_label("辖区").select_option(label="延吉市")
    await page.get_by_label("所在单位").select_option(label="延吉市教育局")
    await page.get_by_role("button", name="保存名录").click()
    await page.wait_for_url(f"**/admin/accounts/{user_id}?done=staff")
    assert "延吉市教育局" in await page.locator("dl.facts").inner_text()

    await page.get_by_role("button", name="移出人员名录").click()
    await page.wait_for_url(f"**/admin/accounts/{user_id}?done=removed")
    assert directory.staff_member(site.engine, user_id) is None
    assert "不在人员名录中" in await page.get_by_role("region", name="人员名录").inner_text()

    await page.goto(site.url + "/admin/accounts/cg-zhao")
    await page.get_by_role("button", name="移出人员名录").click()
    refusal = page.get_by_role("region", name="人员名录").get_by_role("alert")
    assert "请先把这些岗位交给他人" in await refusal.inner_text(), "a post holder stays until the post is handed on"
    assert directory.staff_member(site.engine, "cg-zhao") is not None

    await page.goto(site.url + "/admin?q=%00" + user_id[3:] + "%20")  # a control character and a space are dropped
    assert [await c.inner_text() for c in await page.locator("tbody th").all()] == [user_id]


async def test_a_directory_member_without_an_account_is_given_one_from_the_directory_page(
    site: Site, page: Page
) -> None:
    await sign_in_as(page, site.url, "admin", "/admin/staff")
    await page.get_by_label("辖区").select_option(label="延吉市建工街道民安社区")
    await page.get_by_role("button", name="筛选").click()
    assert "延吉市建工街道民安社区共 2 人" in await page.get_by_role("status").inner_text()
    assert [await c.inner_text() for c in await page.locator("tbody th").all()] == ["李强", "孙梅"]
    await checked(page, "admin-staff")
    await page.get_by_role("link", name=re.compile("开设账号.*孙梅")).click()
    assert (
        await page.get_by_label("用户名").input_value() == "ma-sun"
        and await page.get_by_label("姓名").input_value() == "孙梅"
    )
    await page.get_by_label("初始密码").fill(PASSWORD)
    await page.get_by_role("button", name="开设账号").click()
    await page.wait_for_url("**/admin/accounts/ma-sun?done=created")
    assert "社区居委会" in await page.locator("dl.facts").inner_text(), "her place in the directory was already there"
    await page.goto(site.url + "/admin/staff?jurisdiction=YJ-JG-MA")
    assert await page.get_by_role("link", name=re.compile("管理.*孙梅")).count() == 1


async def test_refusals_when_opening_an_account_keep_what_was_typed(site: Site, page: Page) -> None:
    await sign_in_as(page, site.url, "admin", "/admin/accounts/new")
    await page.get_by_label("用户名").fill("cg-zhao")
    await page.get_by_label("姓名").fill("赵丽")
    await page.get_by_label("初始密码").fill(PASSWORD)
    await page.get_by_role("button", name="开设账号").click()
    assert "账号 cg-zhao 已存在" in await page.get_by_role("alert").inner_text()
    assert (
        await page.get_by_label("用户名").input_value() == "cg-zhao"
        and await page.get_by_label("初始密码").input_value() == ""
    )
    await checked(page, "admin-account-new-refused")

    user_id = new_user_id()
    await page.get_by_label("用户名").fill(user_id)
    await page.get_by_label("初始密码").fill(PASSWORD)
    await page.get_by_label("同时放入人员名录").check()
    await page.get_by_label("角色").select_option(label="购买服务部门")
    await page.get_by_label("辖区").select_option(label="延吉市建工街道春光社区")
    await page.get_by_label("所在单位").select_option(label="延吉市教育局")
    await page.get_by_role("button", name="开设账号").click()
    staff = page.get_by_role("region", name="人员名录")
    refusal = await staff.get_by_role("alert").inner_text()
    assert "账号已开设，但没有放入人员名录" in refusal and "延吉市教育局" in refusal
    assert await staff.get_by_label("角色").input_value() == "department", "the entry typed is kept to correct"
    assert await staff.get_by_label("所在单位").input_value() == "延吉市教育局"
    assert site.accounts.account("admin", user_id).role is Role.applicant
    assert directory.staff_member(site.engine, user_id) is None


async def test_the_admin_pages_fit_a_phone(site: Site, browser: Browser) -> None:
    context = await phone(browser)
    try:
        page = await context.new_page()
        await sign_in_as(page, site.url, "admin", "/admin")
        await checked(page, "phone-admin-accounts")
        await page.goto(site.url + "/admin/accounts/new")
        await checked(page, "phone-admin-account-new")
        await page.goto(site.url + "/admin/accounts/cg-zhao")
        await checked(page, "phone-admin-account")
        await page.goto(site.url + "/admin/staff")
        await checked(page, "phone-admin-staff")
        await page.goto(site.url + "/admin/posts")
        await checked(page, "phone-admin-posts")
        await page.goto(site.url + "/admin/changes")
        await checked(page, "phone-admin-changes")
    finally:
        await context.close()


async def csrf_of(page: Page) -> str:
    """The signed-in user's own, valid CSRF token, as every page's sign-out form carries it."""
    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    return token


async def test_admin_forms_posted_by_an_applicant_or_a_reviewer_change_nothing(site: Site, browser: Browser) -> None:
    """A forged role change: their own valid CSRF token, every admin form, refused as the API refuses."""
    before = change_count(site)
    for user_id in (site.applicant, "cg-zhao"):
        context = await browser.new_context(locale="zh-CN")
        try:
            page = await context.new_page()
            await sign_in_as(page, site.url, user_id, "/account/password")
            token = await csrf_of(page)
            forged = {
                f"/admin/staff/{user_id}": {"name": "冒充", "role": "administrator", "jurisdiction": "YJ"},
                "/admin/posts": {
                    "role": "civil_affairs",
                    "jurisdiction": "YJ",
                    "office": "",
                    "a": user_id,
                    "b": "mz-lin",
                },
                "/admin/accounts": {
                    "user_id": "intruder",
                    "name": "冒充",
                    "password": "intruder-password",
                    "in_directory": "1",
                    "role": "administrator",
                    "jurisdiction": "YJ",
                },
                "/admin/accounts/admin/password": {"new_password": "taken-over-123"},
                "/admin/accounts/admin/status": {"disabled": "1"},
                "/admin/staff/admin/removal": {},
            }
            for path, form in forged.items():
                answer = await page.request.post(site.url + path, form={**form, "csrf_token": token}, max_redirects=0)
                assert answer.status == 403 and "只有系统管理员" in await answer.text(), (user_id, path)
            looked = await page.goto(site.url + "/admin/changes")
            assert looked is not None and looked.status == 403
        finally:
            await context.close()
    assert change_count(site) == before, "nothing was recorded, so nothing changed"
    assert directory.staff_member(site.engine, site.applicant) is None
    assert directory.staff_member(site.engine, "cg-zhao").role is Role.community_committee
    assert directory.post(site.engine, Role.civil_affairs, "YJ").a.user_id == "mz-chen"
    assert site.accounts.sign_in("admin", PASSWORD, None).user.role is Role.administrator


async def test_a_tampered_hidden_field_changes_nothing(site: Site, browser: Browser, page: Page) -> None:
    """The applicant's own password form sent with user_id=admin and role=administrator changes only their
    own password; the administrator's post form with its hidden role edited is refused beside it."""
    user_id = f"applicant-{uuid.uuid4().hex[:8]}"
    site.accounts.open_account(AccountInput(user_id=user_id, name="李明", password=PASSWORD), by="setup")
    before = change_count(site)
    context = await browser.new_context(locale="zh-CN")
    try:
        theirs = await context.new_page()
        await sign_in_as(theirs, site.url, user_id, "/account/password")
        await theirs.evaluate("""() => {
            const form = document.querySelector('main form');
            for (const [name, value] of [['user_id', 'admin'], ['role', 'administrator']]) {
                const field = Object.assign(document.createElement('input'), {type: 'hidden', name, value});
                form.append(field);
            }
        }""")
        await theirs.get_by_label("当前密码").fill(PASSWORD)
        await theirs.get_by_label("新密码").fill(NEW_PASSWORD)
        await theirs.get_by_role("button", name="修改密码").click()
        assert "密码已修改" in await theirs.get_by_role("status").inner_text()
    finally:
        await context.close()
    assert site.accounts.sign_in(user_id, NEW_PASSWORD, None).user.role is Role.applicant
    assert site.accounts.sign_in("admin", PASSWORD, None).user.role is Role.administrator
    assert directory.staff_member(site.engine, user_id) is None
    assert site.accounts.changes("admin", None, 1, 0).items[0].action == "change_password"
    assert change_count(site) == before + 1

    await sign_in_as(page, site.url, "admin", "/admin/posts")
    office = page.get_by_role("region", name="延吉市民政局")
    await office.locator("input[name=role]").evaluate("field => field.value = 'administrator'")
    await office.get_by_role("button", name="保存").click()
    assert "不是 YJ 的系统管理员" in await page.get_by_role("alert").inner_text(), (
        "no office has that role: told at the top"
    )
    assert change_count(site) == before + 1
    assert directory.post(site.engine, Role.civil_affairs, "YJ").a.user_id == "mz-chen"


async def test_an_admin_form_without_its_csrf_token_or_with_a_forged_one_is_refused(site: Site, page: Page) -> None:
    await sign_in_as(page, site.url, "admin", "/admin")
    before = change_count(site)
    staff = {"name": "钱伟", "role": "street_office", "jurisdiction": "YJ-JG"}
    for form in (staff, {**staff, "csrf_token": "forged-token"}, {**staff, "csrf_token": ""}):
        refused = await page.request.post(site.url + "/admin/staff/cg-qian", form=form, max_redirects=0)
        assert refused.status == 403 and "防伪令牌" in await refused.text()
    assert change_count(site) == before
    assert directory.staff_member(site.engine, "cg-qian").role is Role.community_committee


async def test_a_session_cookie_planted_before_sign_in_is_replaced_and_worthless(site: Site, browser: Browser) -> None:
    """Session fixation: nothing before sign-in sets a session cookie to copy; a cookie planted in the
    victim's browser (a forged value, or the attacker's own valid session) is replaced at sign-in, and the
    planted value never acts as the victim."""
    attacker = await browser.new_context(locale="zh-CN")
    victim = await browser.new_context(locale="zh-CN")
    try:
        attackers = await attacker.new_page()
        await attackers.goto(site.url + "/sign-in")
        assert SESSION_COOKIE not in {c["name"] for c in await attacker.cookies()}, "no session before sign-in"
        await sign_in_as(attackers, site.url, site.applicant, "/my/cases")
        own = next(c["value"] for c in await attacker.cookies() if c["name"] == SESSION_COOKIE)

        victims = await victim.new_page()
        for planted in ("forged-session-value", own):
            await victim.add_cookies([{"name": SESSION_COOKIE, "value": planted, "url": site.url}])
            await victims.goto(site.url + "/sign-in?next=/admin")
            await victims.get_by_label("用户名").fill("admin")
            await victims.get_by_label("密码").fill(PASSWORD)
            # exactly 登录: a planted valid session shows its 退出登录 button too
            await victims.get_by_role("button", name="登录", exact=True).click()
            await victims.wait_for_url(site.url + "/admin")
            now = next(c["value"] for c in await victim.cookies() if c["name"] == SESSION_COOKIE)
            assert now != planted, "the cookie changes at sign-in"
            await victim.clear_cookies()

        refused = await attackers.goto(site.url + "/admin")
        assert refused is not None and "/sign-in" in attackers.url, "the planted session ended at the victim's sign-in"
    finally:
        await attacker.close()
        await victim.close()


async def test_a_session_cookie_changed_by_one_character_is_the_public(
    site: Site, page: Page, context: BrowserContext
) -> None:
    await sign_in_as(page, site.url, "admin", "/admin")
    cookie = next(c for c in await context.cookies() if c["name"] == SESSION_COOKIE)
    value = cookie["value"]
    tampered = ("B" if value[0] == "A" else "A") + value[1:]  # the session key itself, before its signature
    await context.add_cookies([{"name": SESSION_COOKIE, "value": tampered, "url": site.url}])
    await page.goto(site.url + "/admin")
    assert "/sign-in" in page.url
    await context.add_cookies([{"name": SESSION_COOKIE, "value": value, "url": site.url}])
    await page.goto(site.url + "/admin")
    assert page.url == site.url + "/admin", "the untouched cookie still works"


async def test_the_bare_user_header_outside_gateway_mode_is_the_public(site: Site, browser: Browser) -> None:
    """The API's case is tests/test_accounts.py; here the pages, reading and posting, with and without a
    guessed gateway header: sent to sign in, nothing changed."""
    before = change_count(site)
    for headers in ({"X-User-Id": "admin"}, {"X-User-Id": "admin", "X-Shezu-Gateway": "guessed"}):
        context = await browser.new_context(locale="zh-CN", extra_http_headers=headers)
        try:
            page = await context.new_page()
            await page.goto(site.url + "/admin")
            assert "/sign-in" in page.url and await page.get_by_role("link", name="管理").count() == 0
            posted = await page.request.post(
                site.url + "/admin/accounts/cg-qian/status", form={"disabled": "1"}, max_redirects=0
            )
            assert posted.status == 303 and "/sign-in" in posted.headers["location"]
        finally:
            await context.close()
    assert change_count(site) == before
    assert site.accounts.account("admin", "cg-qian").disabled is False
