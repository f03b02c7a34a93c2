"""The applicant's side from nothing to the end, in a real browser: signing up, applying online, a 补正 on
the way, the certificate downloaded, 消息 with the unread count in the header, and 好差评 of the office
that decided, which its staff then see in the aggregate. Then what is refused: sign-up with a taken name,
with passwords that differ, and when sign-up is off; rating an open case, another's case, twice, and a
差评 without a reason; the aggregate for anyone but staff. Ratings survive a rebuild of the read model."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page

from api.app import create_app
from api.deps import CSRF_HEADER
from schemas.accounts import AccountInput
from schemas.case import Phase
from schemas.ratings import RatingInput
from service.accounts import SIGN_UPS_PER_CLIENT, AccountService
from service.cases import CaseService
from service.common import ServiceError
from service.contracts import ContractService
from service.fairs import FairService
from service.ratings import RatingService
from service.rebuild import rebuild
from service.views import DecisionInput, WithdrawalInput
from tests import factories
from tests.browser import PASSWORD, PHONE, apply_online, serious_accessibility_problems, shot
from tests.conftest import Skipping, free_port
from tests.helpers import shezu, until_state
from tests.test_filing import approve, through_reviews

STREET_OFFICE = "延吉市建工街道办事处"
"""The office that decides a 春光社区 filing: its ratings are kept in its name."""


@dataclass
class Site:
    url: str
    app: FastAPI
    skipping: Skipping
    accounts: AccountService

    @property
    def service(self) -> CaseService:
        return self.skipping.service


def app_for(service: CaseService) -> FastAPI:
    settings, engine, client = service.settings, service.engine, service.client
    return create_app(
        service=service,
        fairs=FairService(settings, engine, client),
        contracts=ContractService(settings, engine, client),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(skipping: Skipping) -> AsyncIterator[Site]:
    """The whole app on a loopback port over a time-skipping server, so a case can pass its 公示 period."""
    app = app_for(skipping.service)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "the page server did not start"
    yield Site(f"http://127.0.0.1:{port}", app, skipping, AccountService(skipping.settings, skipping.engine))
    server.should_exit = True
    await serving


def new_user_id() -> str:
    """A name someone might choose: a mobile number."""
    return f"139{uuid.uuid4().int % 10**8:08d}"


def from_address(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client of the app as one network address sees it (sign-ups are counted per address)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://shezu.test"
    )


async def header_messages(page: Page) -> str:
    return (
        await page.get_by_role("navigation", name="主导航").get_by_role("link", name=re.compile("^消息")).inner_text()
    )


async def test_a_new_person_signs_up_applies_corrects_gets_the_certificate_reads_messages_and_rates(
    site: Site,
    browser: Browser,  # noqa: F811
) -> None:
    service, user_id = site.service, new_user_id()
    context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", accept_downloads=True
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    try:
        await page.goto(site.url + "/sign-in")
        await page.get_by_role("link", name="注册").click()
        await page.get_by_label("用户名").fill(user_id)
        await page.get_by_label("姓名").fill("王芳")
        await page.get_by_label("密码", exact=True).fill(PASSWORD)
        await page.get_by_label("再次输入密码").fill(PASSWORD + "x")
        await page.get_by_label("手机号码").fill("13800138000")
        await page.get_by_role("button", name="注册并登录").click()
        assert "两次输入的密码不一致" in await page.get_by_role("alert").inner_text()
        assert (
            await page.get_by_label("用户名").input_value() == user_id
            and await page.get_by_label("手机号码").input_value() == "13800138000"
        )
        assert await serious_accessibility_problems(page) == []
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await shot(page, "sign-up-refused")

        await page.get_by_label("密码", exact=True).fill(PASSWORD)
        await page.get_by_label("再次输入密码").fill(PASSWORD)
        await page.get_by_role("button", name="注册并登录").click()
        await page.wait_for_url("**/my/cases?welcome=1")
        assert "注册成功" in await page.get_by_role("status").inner_text()
        assert site.accounts.me(user_id).role.value == "applicant"
        assert site.accounts.preferences(user_id).mobile == "13800138000"

        await page.goto(site.url + "/guide/YJ-JG-CG/filing")
        name = factories.filing().organization_name
        await apply_online(page, name, shots="sign-up-")
        await page.get_by_role("button", name="提交申请").click()
        await page.wait_for_url("**?done=submitted")
        case_no = page.url.split("/my/cases/")[1].split("?")[0]

        asked = "请补充活动场所管理方同意使用的书面说明"
        await service.decide(
            service.actor("cg-zhao"),
            case_no,
            DecisionInput(step="preliminary_review", outcome="request_correction", reasons=[asked]),
        )
        await page.reload()
        unread = service.unread(user_id)
        assert unread >= 2, "the acceptance and the correction notice"
        assert await header_messages(page) == f"消息 ({unread})"
        await page.get_by_label("这是什么材料").select_option(label="其他补充材料（请在说明中写明）")
        await page.get_by_label("说明").fill("春光社区居委会同意使用活动室的书面说明")
        await page.get_by_label("材料文件").set_input_files(
            files=[{"name": "场地说明.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7 venue consent"}]
        )
        await page.get_by_role("button", name="提交补正材料").click()
        await page.wait_for_url(f"**/my/cases/{case_no}?done=corrected")
        assert await page.get_by_role("region", name="评价办理服务（好差评）").count() == 0, (
            "no rating while the case is open"
        )

        await through_reviews(service, case_no)
        await site.skipping.sleep(timedelta(days=9))
        await until_state(site.skipping.env.client, case_no, lambda s: s.phase is Phase.decision)
        await approve(service, case_no, "decision", "jg-zhou")

        await page.reload()
        assert "已准予备案" in await page.locator("ol.progress > li").last.inner_text()
        async with page.expect_download() as waiting:
            await page.get_by_role("link", name=re.compile("^下载 PDF：.*备案证明")).click()
        assert Path(await (await waiting.value).path()).read_bytes().startswith(b"%PDF")

        unread = service.unread(user_id)
        assert unread >= 4, "accepted, the correction notice, 公示 and the decision"
        await page.get_by_role("link", name=f"消息，{unread} 条未读").click()
        await page.wait_for_url("**/messages")
        assert f"其中 {unread} 条未读" in await page.get_by_role("main").inner_text()
        messages = page.locator("ul.messages > li")
        assert await messages.first.locator(".badge").inner_text() == "未读", "unread is said in words, not by colour"
        assert "办理结果" in await messages.first.get_by_role("heading").inner_text(), "newest first"
        assert await messages.first.get_by_role("link", name=f"查看办件 {case_no}").count() == 1
        assert await serious_accessibility_problems(page) == []
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await shot(page, "messages")

        await messages.first.get_by_role("button", name=re.compile("^标为已读")).click()
        await page.wait_for_url("**/messages?page=1")
        assert await header_messages(page) == f"消息 ({unread - 1})"
        await page.get_by_role("button", name="全部标为已读").click()
        assert await header_messages(page) == "消息"
        assert await page.locator("ul.messages .badge").count() == 0
        await shot(page, "messages-read")

        await page.goto(site.url + f"/my/cases/{case_no}")
        rating = page.get_by_role("region", name="评价办理服务（好差评）")
        await rating.get_by_label("2 分 不满意").check()
        await rating.get_by_role("button", name="提交评价").click()
        assert "请在评价内容中写明原因" in await page.get_by_role("alert").inner_text()
        assert await rating.get_by_label("2 分 不满意").is_checked(), "the choice is kept"
        assert await serious_accessibility_problems(page) == []
        await shot(page, "rating-refused")
        await rating.get_by_label("评价内容").fill("补正通知写得不够清楚，多跑了一趟")
        await rating.get_by_role("button", name="提交评价").click()
        await page.wait_for_url(f"**/my/cases/{case_no}?done=rated")
        given = await rating.inner_text()
        assert "2 分，不满意" in given and "多跑了一趟" in given and STREET_OFFICE in given
        assert await rating.get_by_role("button", name="提交评价").count() == 0
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await shot(page, "case-rated")

        token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
        again = await page.request.post(
            site.url + f"/my/cases/{case_no}/rating", form={"score": "5", "comment": "", "csrf_token": token or ""}
        )
        assert again.status == 409 and "评价过，每个案件只能评价一次" in await again.text()
        kept = await page.request.get(site.url + f"/api/cases/{case_no}/rating")
        assert kept.ok and (await kept.json())["score"] == 2 and (await kept.json())["office_name"] == STREET_OFFICE
    finally:
        await context.close()

    staff = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    staff.set_default_timeout(15_000)
    page = await staff.new_page()
    try:
        site.accounts.create_account("admin", AccountInput(user_id="jg-zhou", name="周静", password=PASSWORD))
        await page.goto(site.url + "/sign-in?next=/work/ratings")
        await page.get_by_label("用户名").fill("jg-zhou")
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_url("**/work/ratings")
        row = page.get_by_role("row", name=re.compile(STREET_OFFICE))
        cells = [c.strip() for c in await row.locator("td").all_inner_texts()]
        assert cells[:3] == ["1", "2.0", "100%"] and cells[3:] == ["0", "0", "0", "1", "0"], cells
        assert "多跑了一趟" in await page.get_by_role("region", name="最新评价内容").inner_text()
        assert await serious_accessibility_problems(page) == []
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await shot(page, "ratings-staff")
        await page.set_viewport_size({"width": 1000, "height": 700})
        assert await page.get_by_role("columnheader", name="差评比例").is_visible()
        await shot(page, "ratings-staff-wide")
    finally:
        await staff.close()


async def test_rating_an_open_case_or_anothers_is_refused_and_only_staff_see_the_aggregate(site: Site) -> None:
    service = site.service
    owner, stranger = factories.applicant_id(), factories.applicant_id()
    receipt = await service.submit(service.actor(owner, "王芳"), factories.filing())
    ratings = RatingService(service)
    good = RatingInput(score=5, comment="办得快")
    refusals = {}
    for who in (owner, stranger, "cg-zhao"):
        try:
            ratings.rate(service.actor(who), receipt.case_no, good)
        except ServiceError as refused:
            refusals[who] = (refused.status_code, refused.message)
    assert refusals[owner][0] == 409 and "案件办结后才能评价" in refusals[owner][1]
    assert refusals[stranger] == (404, f"案号 {receipt.case_no} 不存在或您无权查看，请核对案号")
    assert refusals["cg-zhao"][0] == 403 and "只有本案的申请人" in refusals["cg-zhao"][1]

    async with from_address(site.app, "10.0.0.1") as api:
        assert (await api.get("/api/ratings")).status_code == 401, "the public"
        key = (
            await api.post(
                "/api/accounts",
                json={"user_id": new_user_id(), "name": "李明", "password": PASSWORD, "password_again": PASSWORD},
            )
        ).json()["csrf_token"]
        assert (await api.get("/api/ratings")).status_code == 403, "an applicant"
        posted = await api.post(f"/api/cases/{receipt.case_no}/rating", json={"score": 5}, headers={CSRF_HEADER: key})
        assert posted.status_code == 404, "another's case is not found"
        assert (await api.get(f"/api/cases/{receipt.case_no}/rating")).status_code == 404
        assert (await api.get("/work/ratings")).status_code == 403, "the staff page alike"
        theirs = service.notifications(service.actor(owner)).items[0].key
        refused = await api.post("/messages/read", data={"key": theirs, "csrf_token": key})
        assert refused.status_code == 404 and service.unread(owner) >= 1, (
            "another's message is not found, and stays unread"
        )


async def test_sign_up_refuses_a_taken_name_differing_passwords_a_role_and_too_many_from_one_address(
    site: Site,
) -> None:
    taken = new_user_id()
    site.accounts.create_account("admin", AccountInput(user_id=taken, name="王芳", password=PASSWORD))
    async with from_address(site.app, "10.0.0.2") as api:

        def account(user_id: str, **more: str) -> dict[str, str]:
            return {"user_id": user_id, "name": "王芳", "password": PASSWORD, "password_again": PASSWORD, **more}

        for name in (taken, "cg-zhao", "CG-Zhao", "admin", "org-chunhui"):
            refused = await api.post("/api/accounts", json=account(name))
            assert refused.status_code == 409 and refused.json()["message"].startswith("该用户名不可用"), (
                name,
                refused.text,
            )
        differing = await api.post("/api/accounts", json=account(new_user_id(), password_again=PASSWORD + "x"))
        assert differing.status_code == 422 and "两次输入的密码不一致" in differing.json()["message"]

        mine = new_user_id()
        opened = await api.post("/api/accounts", json=account(mine, role="administrator", email="wf@example.cn"))
        assert opened.status_code == 201 and opened.json()["user"]["role"] == "applicant"
        assert (await api.get("/api/session")).json()["user_id"] == mine, "signed in at once"
        assert [c.action for c in site.accounts.changes("admin", mine, 10, 0).items] == ["sign_up", "set_password"]
        assert site.accounts.preferences(mine).email == "wf@example.cn"

        page = await api.post(
            "/sign-up",
            data={
                "user_id": "cg-zhao",
                "name": "王芳",
                "password": PASSWORD,
                "password_again": PASSWORD,
                "form_token": "forged",
            },
        )
        assert page.status_code == 403 and "注册页面已过期" in page.text

    async with from_address(site.app, "10.0.0.3") as api:
        for _ in range(SIGN_UPS_PER_CLIENT):
            await api.post("/api/accounts", json=account(taken))
        throttled = await api.post("/api/accounts", json=account(new_user_id()))
        assert throttled.status_code == 429 and "注册次数过多" in throttled.json()["message"]


async def test_with_sign_up_off_the_page_points_to_the_identity_platform_and_the_api_refuses(site: Site) -> None:
    service = site.service
    closed = CaseService(service.settings.model_copy(update={"sign_up": False}), service.engine, service.client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app_for(closed)), base_url="http://shezu.test"
    ) as api:
        page = await api.get("/sign-up")
        assert page.status_code == 200 and "统一身份认证平台" in page.text and 'action="/sign-up"' not in page.text
        refused = await api.post(
            "/api/accounts",
            json={"user_id": new_user_id(), "name": "王芳", "password": PASSWORD, "password_again": PASSWORD},
        )
        assert refused.status_code == 403 and "不开放自行注册" in refused.json()["message"]


async def test_ratings_survive_a_rebuild_of_the_read_model(service: CaseService) -> None:
    """Ratings are in no workflow history: rebuilding the read model from the workflows must leave them."""
    applicant = service.actor(factories.applicant_id(), "王芳")
    receipt = await service.submit(applicant, factories.filing())
    await service.withdraw(applicant, receipt.case_no, WithdrawalInput(reason="暂不申请"))
    ratings = RatingService(service)
    ratings.rate(applicant, receipt.case_no, RatingInput(score=4, comment="窗口解释清楚"))
    before = ratings.aggregate(service.actor("mz-chen"), 10, 0)

    report = await rebuild(service)
    assert report.rebuilt["FilingWorkflow"] >= 1 and not report.failures
    rating = ratings.rating(applicant, receipt.case_no)
    assert rating is not None and rating.score == 4 and rating.comment == "窗口解释清楚"
    assert ratings.aggregate(service.actor("mz-chen"), 10, 0) == before


async def test_an_applicant_rates_an_ended_case_at_the_command_line(
    service: CaseService, cli_env: dict[str, str]
) -> None:
    applicant = service.actor(factories.applicant_id(), "王芳")
    receipt = await service.submit(applicant, factories.filing())
    await service.withdraw(applicant, receipt.case_no, WithdrawalInput(reason="暂不申请"))

    code, _, err = await shezu(cli_env, "rate", receipt.case_no, "1", "--as", applicant.user_id)
    assert code == 1 and "请在评价内容中写明原因" in err, err
    code, out, err = await shezu(
        cli_env, "rate", receipt.case_no, "1", "--as", applicant.user_id, "--comment", "等了很久没人联系"
    )
    assert code == 0 and "1 分（非常不满意）" in out and "居民委员会名下" in out, out + err
