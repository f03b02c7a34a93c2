"""The bureau's overview in a real browser on a time-skipping Temporal server: a filing left waiting past its
deadline, a filing approved and rated, a fair published and a contract paid its advance show up as exactly
those numbers in the tables under the charts, for 民政局 staff and nobody else."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from api.app import create_app
from schemas.accounts import AccountInput
from schemas.case import Phase
from schemas.localtime import SHANGHAI
from schemas.money import yuan
from schemas.ratings import RatingInput
from service.accounts import AccountService
from service.contracts import ContractService
from service.fairs import FairService
from service.ratings import RatingService
from tests import factories
from tests.browser import PASSWORD, PHONE, serious_accessibility_problems, serving, shot, sign_in_as
from tests.conftest import Skipping
from tests.contract_helpers import in_force
from tests.fair_helpers import published_fair
from tests.helpers import until_fair, until_state
from tests.test_filing import approve, submit, through_reviews
from tests.test_reviewer_pages import SkippingClock


@dataclass
class Bureau:
    url: str
    service: SkippingClock
    applicant: str
    advance_fen: int
    paid_at: datetime
    fair_created_at: datetime


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bureau(skipping: Skipping) -> AsyncIterator[Bureau]:
    """One filing left at the community's review, one approved and rated 5, a published fair and a contract
    whose advance is paid — all in 延吉市 (YJ), where 陈洁 works at the 民政局."""
    settings, engine, client = skipping.settings, skipping.engine, skipping.env.client
    service = SkippingClock(settings, engine, client)
    await submit(service, factories.filing())
    applicant, case_no = await submit(service, factories.filing())
    await through_reviews(service, case_no)
    await skipping.sleep(timedelta(days=9))
    await until_state(client, case_no, lambda s: s.phase is Phase.decision)
    await approve(service, case_no, "decision", "jg-zhou")
    RatingService(service).rate(applicant, case_no, RatingInput(score=5))
    fair = await published_fair(skipping)
    contract = await in_force(skipping)
    paid = await contract.disburse("T1")
    service.offset = await skipping.env.get_current_time() - datetime.now(UTC)
    fair_state = await until_fair(client, fair.fair_no, lambda s: True)
    accounts = AccountService(settings, engine)
    for user_id, name in {"mz-chen": "陈洁", "jg-zhou": "周静", applicant.user_id: applicant.name}.items():
        accounts.open_account(AccountInput(user_id=user_id, name=name, password=PASSWORD), by="test")
    app = create_app(
        service=service,
        fairs=FairService(settings, engine, client),
        contracts=ContractService(settings, engine, client),
    )
    advance = paid.tranche("T1")
    assert advance.paid_at is not None
    async with serving(app) as url:
        yield Bureau(url, service, applicant.user_id, advance.amount_fen, advance.paid_at, fair_state.created_at)


def month(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}年{local.month:02d}月"


async def row(page: Page, section: str, heading: str) -> list[str]:
    """A table row's cells (without the mobile labels) under a section heading, by its row heading."""
    table = page.locator("section", has=page.get_by_role("heading", name=section, exact=True)).locator("table")
    cells = table.locator("tr", has=page.get_by_role("rowheader", name=heading, exact=True)).locator("td")
    return [text.strip() for text in await cells.all_inner_texts()]


async def test_the_bureau_sees_the_cases_it_made_in_every_table(bureau: Bureau, page: Page) -> None:
    await page.set_viewport_size({"width": 1280, "height": 900})
    await sign_in_as(page, bureau.url, "mz-chen", "/work/tasks")
    await page.get_by_role("link", name="总览", exact=True).click()
    await expect(page.get_by_role("heading", name="工作总览", level=1)).to_be_visible()
    assert await page.get_by_role("link", name="总览", exact=True).get_attribute("aria-current") == "page"

    assert await row(page, "案件分布", "备案登记：居委会初审") == ["1"]
    assert await row(page, "案件分布", "备案登记：已准予备案") == ["1"]
    assert await row(page, "案件分布", "社洽会项目：投标期") == ["1"]
    assert await row(page, "案件分布", "购买服务合同：合同履行中") == ["1"]
    assert await row(page, "超期待办", "建工街道春光社区居民委员会（社区居委会）") == ["1", "1"], (
        "escalated to the B岗 when overdue"
    )
    processing = await row(page, "办理用时", "社区社会组织备案")
    assert processing[0] == "1 件" and processing[-1] == "1 件" and processing[-2] == "7 个工作日", processing
    assert await row(page, "好差评", "延吉市建工街道办事处") == ["1", "5.0", "0%"]
    paid_month, fair_month = month(bureau.paid_at), month(bureau.fair_created_at)
    if paid_month == fair_month:
        assert await row(page, "每月社洽会和合同拨付", paid_month) == ["1 场", "1 笔", yuan(bureau.advance_fen)]
    else:
        assert await row(page, "每月社洽会和合同拨付", paid_month) == ["0 场", "1 笔", yuan(bureau.advance_fen)]
        assert await row(page, "每月社洽会和合同拨付", fair_month) == ["1 场", "0 笔", "0.00元"]

    charts = page.locator("img.chart")
    assert await charts.count() == 6
    for alt in await charts.evaluate_all("imgs => imgs.map(i => i.alt)"):
        assert alt.endswith("数据见下表"), alt
    assert all(await charts.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"))
    assert not re.search(r"\d{4}-\d{2}-\d{2}|T\d\d:", await page.locator("main").inner_text()), "no ISO times"
    assert await serious_accessibility_problems(page) == []
    await shot(page, "overview-desktop")

    api = await page.request.get(bureau.url + "/api/overview")
    assert api.ok
    figures = await api.json()
    assert {(c["process"], c["phase"], c["count"]) for c in figures["cases"]} >= {("购买服务合同", "合同履行中", 1)}
    assert sum(m["paid_fen"] for m in figures["months"]) == bureau.advance_fen

    await page.set_viewport_size(PHONE)
    await page.reload()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "nothing overflows a phone"
    await shot(page, "overview-phone")


async def test_the_overview_is_for_the_bureau_only(bureau: Bureau, browser: Browser) -> None:
    for user_id in ("jg-zhou", bureau.applicant):
        context = await browser.new_context(locale="zh-CN")
        page = await context.new_page()
        first = "/work/tasks" if user_id == "jg-zhou" else "/my/cases"
        await sign_in_as(page, bureau.url, user_id, first)
        assert await page.get_by_role("link", name="总览", exact=True).count() == 0
        answer = await page.goto(bureau.url + "/work/overview")
        assert answer is not None and answer.status == 403
        await expect(page.get_by_role("main")).to_contain_text("工作总览只向民政局工作人员开放")
        assert "建工街道办事处" not in await page.locator("main").inner_text()
        assert (await page.request.get(bureau.url + "/api/overview")).status == 403
        await context.close()
    anonymous = await browser.new_context(locale="zh-CN")
    page = await anonymous.new_page()
    await page.goto(bureau.url + "/work/overview")
    await expect(page).to_have_url(re.compile(r"/sign-in\?next=/work/overview$"))
    assert (await page.request.get(bureau.url + "/api/overview")).status == 401
    await anonymous.close()
