"""The applicant's pages in a real browser (Debian's Chromium driven by Playwright): signing in, 我的办件,
a case as a line of steps, downloading its notice, a phone-sized screen, another person's case by URL,
forms without their CSRF token, and axe-core (served from the local npm copy) finding no serious or
critical accessibility problem. One server and one browser for the module."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest_asyncio
from playwright.async_api import Browser, Page
from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.app import create_app
from api.deps import SESSION_COOKIE
from schemas.accounts import AccountInput
from service.accounts import FAILURES_BEFORE_LOCK, AccountService
from service.cases import CaseService
from service.contracts import ContractService
from service.fairs import FairService
from service.views import DecisionInput
from settings import Settings
from tests import factories
from tests.browser import PASSWORD, PHONE, apply_online, serious_accessibility_problems, serving, shot, sign_in_as


@dataclass
class Site:
    url: str
    applicant: str
    other: str
    case_no: str
    organization: str
    service: CaseService
    accounts: AccountService


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(system_settings: Settings, engine: Engine, client: Client, worker: None) -> AsyncIterator[Site]:
    """The whole app on a loopback port, with an applicant who has one case and another who has none."""
    service = CaseService(system_settings, engine, client)
    app = create_app(
        service=service, fairs=FairService(system_settings, engine, client),
        contracts=ContractService(system_settings, engine, client),
    )
    accounts = AccountService(system_settings, engine)
    applicant, other = factories.applicant_id(), factories.applicant_id()
    for user_id in (applicant, other):
        accounts.create_account("admin", AccountInput(user_id=user_id, name="王芳", password=PASSWORD))
    application = factories.filing()
    receipt = await service.submit(service.actor(applicant, "王芳"), application)
    async with serving(app) as url:
        yield Site(url, applicant, other, receipt.case_no, application.organization_name, service, accounts)


async def sign_in(page: Page, site: Site, user_id: str, then: str = "/my/cases") -> None:
    await sign_in_as(page, site.url, user_id, then)


def form_token(page_text: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page_text)
    assert found, "the sign-in form carries its token"
    return found.group(1)


async def test_an_applicant_signs_in_follows_the_case_step_by_step_and_downloads_its_notice(site: Site, page: Page) -> None:
    await page.goto(site.url + "/my/cases")
    assert "/sign-in" in page.url
    assert await serious_accessibility_problems(page) == []
    await page.get_by_label("用户名").fill(site.applicant)
    await page.get_by_label("密码").fill("not-the-password")
    await page.get_by_role("button", name="登录").click()
    assert "用户名或密码不正确" in await page.get_by_role("alert").inner_text()
    await shot(page, "sign-in-refused")

    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(site.url + "/my/cases")
    await page.get_by_role("link", name=site.organization).click()
    await page.wait_for_url(site.url + f"/my/cases/{site.case_no}")

    steps = page.locator("ol.progress > li")
    assert await steps.count() >= 5
    current = page.locator("ol.progress > li[aria-current=step]")
    assert await current.count() == 1
    current_text = await current.inner_text()
    assert "正在办理" in current_text and "办理期限" in current_text and "居委会" in current_text
    assert "已完成" in await steps.first.inner_text()
    assert "尚未开始" in await steps.last.inner_text()
    assert await serious_accessibility_problems(page) == []
    await shot(page, "case")

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="下载 PDF：受理通知书").click()
    download = await waiting.value
    assert Path(await download.path()).read_bytes().startswith(b"%PDF")


async def test_the_guide_and_the_case_fit_a_phone_in_large_type(site: Site, browser: Browser) -> None:
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = await context.new_page()
    try:
        await page.goto(site.url + "/guide/YJ-JG-CG/filing")
        await page.get_by_role("link", name="大字号").click()
        assert await page.evaluate("document.documentElement.classList.contains('large-type')")
        assert "简化程序" in await page.get_by_role("main").inner_text()
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert await serious_accessibility_problems(page) == []
        await shot(page, "phone-guide")

        await sign_in(page, site, site.applicant, f"/my/cases/{site.case_no}")
        assert await page.evaluate("document.documentElement.classList.contains('large-type')")
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await shot(page, "phone-case")
    finally:
        await context.close()


async def test_another_applicants_case_by_url_is_not_found(site: Site, page: Page) -> None:
    await sign_in(page, site, site.other)
    assert "还没有提交过申请" in await page.get_by_role("main").inner_text()
    answer = await page.goto(site.url + f"/my/cases/{site.case_no}")
    assert answer is not None and answer.status == 404
    assert "不存在或您无权查看" in await page.get_by_role("alert").inner_text()
    assert site.organization not in await page.content()


async def test_a_withdrawal_without_its_csrf_token_is_refused_and_with_it_ends_the_case(site: Site, page: Page) -> None:
    await sign_in(page, site, site.applicant, f"/my/cases/{site.case_no}")
    target = site.url + f"/my/cases/{site.case_no}/withdrawal"
    for form in ({"reason": "不办了"}, {"reason": "不办了", "csrf_token": "forged-token"}):
        refused = await page.request.post(target, form=form, max_redirects=0)
        assert refused.status == 403 and "防伪令牌" in await refused.text()
    await page.reload()
    assert "尚未开始" in await page.locator("ol.progress").inner_text()

    await page.get_by_label("撤回原因").fill("组织负责人变更，暂不申请")
    await page.get_by_role("button", name="撤回申请").click()
    await page.wait_for_url(f"**/my/cases/{site.case_no}?done=withdrawn")
    assert "您的申请已撤回" in await page.get_by_role("status").inner_text()
    ended = page.locator("ol.progress > li.ended")
    assert "已撤回" in await ended.inner_text()
    assert await page.get_by_role("button", name="撤回申请").count() == 0
    await shot(page, "case-withdrawn")


async def test_an_applicant_answers_a_correction_notice_by_uploading_what_it_asks_for(site: Site, page: Page) -> None:
    service = site.service
    receipt = await service.submit(service.actor(site.applicant, "王芳"), factories.filing())
    asked = "请补充活动场所管理方同意使用的书面说明"
    await service.decide(
        service.actor("cg-zhao"), receipt.case_no,
        DecisionInput(step="preliminary_review", outcome="request_correction", reasons=[asked]),
    )
    await sign_in(page, site, site.applicant, f"/my/cases/{receipt.case_no}")
    current = page.locator("ol.progress > li[aria-current=step]")
    assert "请补正材料" in await current.inner_text() and "办理期限" in await current.inner_text()
    assert asked in await page.get_by_role("region", name="还缺少的材料或条件").inner_text()
    assert await page.get_by_role("link", name="下载 PDF：补正材料通知书").count() == 1
    assert await serious_accessibility_problems(page) == []
    await shot(page, "case-correction")

    await page.get_by_label("这是什么材料").select_option(label="其他补充材料（请在说明中写明）")
    await page.get_by_label("说明").fill("春光社区居委会同意使用活动室的书面说明")
    await page.get_by_label("材料文件").set_input_files(
        files=[{"name": "场地说明.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7 venue consent"}]
    )
    await page.get_by_role("button", name="提交补正材料").click()
    await page.wait_for_url(f"**/my/cases/{receipt.case_no}?done=corrected")
    assert "补正材料已提交" in await page.get_by_role("status").inner_text()
    assert "社区居委会初审中" in await page.locator("ol.progress > li[aria-current=step]").inner_text()
    assert await page.get_by_role("button", name="提交补正材料").count() == 0
    await shot(page, "case-corrected")


async def test_the_sign_in_page_tells_of_a_lock_out_and_refuses_a_form_it_did_not_serve(site: Site) -> None:
    user_id = factories.applicant_id()
    site.accounts.create_account("admin", AccountInput(user_id=user_id, name="李明", password=PASSWORD))
    async with httpx.AsyncClient(base_url=site.url) as browser:
        token = form_token((await browser.get("/sign-in")).text)
        forged = await browser.post("/sign-in", data={"form_token": "forged", "user_id": user_id, "password": PASSWORD})
        assert forged.status_code == 403 and "登录页面已过期" in forged.text and SESSION_COOKIE not in browser.cookies
        for _ in range(FAILURES_BEFORE_LOCK):
            wrong = await browser.post("/sign-in", data={"form_token": token, "user_id": user_id, "password": "wrong-password"})
            assert wrong.status_code == 401 and "用户名或密码不正确" in wrong.text
        locked = await browser.post("/sign-in", data={"form_token": token, "user_id": user_id, "password": PASSWORD})
        assert locked.status_code == 429 and "已暂时锁定" in locked.text and "系统管理员重置密码" in locked.text
        assert SESSION_COOKIE not in browser.cookies


async def test_an_applicant_applies_online_step_by_step_with_the_checklist_and_a_review_page(site: Site, browser: Browser) -> None:
    user_id = factories.applicant_id()
    site.accounts.create_account("admin", AccountInput(user_id=user_id, name="王芳", password=PASSWORD))
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = await context.new_page()
    try:
        await sign_in(page, site, user_id, "/guide/YJ-JG-CG/filing")
        name = factories.filing().organization_name
        await apply_online(page, name)
        await page.get_by_role("button", name="提交申请").click()
        await page.wait_for_url("**?done=submitted")
        assert "申请已提交" in await page.get_by_role("status").inner_text()
        assert await page.get_by_role("link", name="下载 PDF：受理通知书").count() == 1
        await shot(page, "apply-submitted")
    finally:
        await context.close()
