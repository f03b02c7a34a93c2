"""The 社洽会 pages in a real browser (Debian's Chromium driven by Playwright) on a time-skipping Temporal
server, so bidding really closes, experts are really drawn and the result notice really ends: the organizer
creating a fair and publishing its catalogue after reviewing a department's demand; a bidder's bid with an
attachment, amended, screened, ranked and awarded; an expert's score sheet on the policy's rubric; and the
ways in that must stay shut (another bidder's bid, another lot's score sheet, a lot's bids and result before
its notice). axe-core on every page; phone-sized screenshots in /tmp/shezu-pages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest_asyncio
from playwright.async_api import Browser, Page

from api.app import create_app
from schemas.accounts import AccountInput
from schemas.localtime import SHANGHAI
from schemas.procurement import LotPhase
from service import views
from service.accounts import AccountService
from service.cases import CaseService
from service.contracts import ContractService
from service.fairs import FairService
from tests.browser import PASSWORD, PHONE, checked, serving, sign_in_as
from tests.conftest import Skipping
from tests.fair_helpers import BIDDERS, ORGANIZER, published_fair
from tests.helpers import until_lot

EXPERTS = [f"exp-0{n}" for n in range(1, 9)]
PEOPLE = {
    ORGANIZER: "陈洁",
    "dept-wj": "金海燕",
    **{user: user for user in BIDDERS.values()},
    **{e: e for e in EXPERTS},
}
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@dataclass
class Fairground:
    url: str
    skipping: Skipping
    fairs: FairService
    browser: Browser

    async def person(self, user_id: str, then: str) -> Page:
        """A phone-sized browser of its own, signed in as ``user_id`` and showing ``then``."""
        context = await self.browser.new_context(locale="zh-CN", viewport=PHONE)
        context.set_default_timeout(15_000)
        page = await context.new_page()
        await sign_in_as(page, self.url, user_id, then)
        return page

    async def stranger(self) -> Page:
        context = await self.browser.new_context(locale="zh-CN", viewport=PHONE)
        context.set_default_timeout(15_000)
        return await context.new_page()

    async def projected(self, lot_no: str, shown: Callable[[views.LotView], bool]) -> views.LotView:
        """Wait (bounded) until the read model, which the pages read, shows the lot as the workflow has it."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 30
        while not shown(lot := self.fairs.lot(self.fairs.actor(ORGANIZER), lot_no)):
            assert loop.time() < give_up, f"{lot_no} never projected as expected"
            await asyncio.sleep(0.05)
        return lot


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ground(skipping: Skipping, browser: Browser) -> AsyncIterator[Fairground]:
    """The whole app over the module's time-skipping server, with accounts for the organizer, a buying
    department, the sample register's representatives and the expert pool."""
    settings, engine, client = skipping.settings, skipping.engine, skipping.env.client
    fairs = FairService(settings, engine, client)
    app = create_app(
        service=CaseService(settings, engine, client), fairs=fairs, contracts=ContractService(settings, engine, client)
    )
    accounts = AccountService(settings, engine)
    for user_id, name in PEOPLE.items():
        accounts.open_account(AccountInput(user_id=user_id, name=name, password=PASSWORD), by="test")
    async with serving(app) as url:
        yield Fairground(url, skipping, fairs, browser)


def local_input(moment: datetime) -> str:
    """A moment as a datetime-local field takes it (北京时间)."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


async def test_the_organizer_creates_a_fair_reviews_a_demand_and_publishes_the_catalogue(ground: Fairground) -> None:
    now = await ground.skipping.env.get_current_time()
    organizer = await ground.person(ORGANIZER, "/fairs")
    await checked(organizer, "fair-list")
    await organizer.get_by_role("link", name="新建社洽会").click()
    await organizer.get_by_label("社洽会名称").fill("2026年延吉市公益服务项目社洽会")
    await organizer.get_by_label("需求征集截止时间").fill(local_input(now + timedelta(days=5)))
    await organizer.get_by_label("社洽会举办日（洽谈对接）").fill(local_input(now + timedelta(days=6))[:10])
    await organizer.get_by_label("投标截止时间").fill(local_input(now + timedelta(days=3)))
    await organizer.get_by_role("button", name="创建社洽会").click()
    assert "投标截止时间须晚于需求征集截止时间" in await organizer.get_by_role("alert").inner_text()
    assert await organizer.get_by_label("社洽会名称").input_value() == "2026年延吉市公益服务项目社洽会", "typed is kept"
    await checked(organizer, "fair-new-refused")
    await organizer.get_by_label("需求征集截止时间").fill(local_input(now + timedelta(days=2)))
    await organizer.get_by_role("button", name="创建社洽会").click()
    await organizer.wait_for_url(re.compile(r"/fairs/[^/?]+\?done=created$"))
    fair_no = organizer.url.split("/fairs/")[1].split("?")[0]
    schedule = await organizer.get_by_role("region", name="日程").inner_text()
    assert not re.search(r"\dT\d|[+]0\d:00", schedule) and "日" in schedule, "local times and dates, not raw ISO"

    department = await ground.person("dept-wj", f"/fairs/{fair_no}")
    form = department.get_by_role("region", name="提交购买服务需求")
    await form.get_by_label("项目名称").fill("社区居家养老上门服务")
    await form.get_by_label("服务内容").fill("为辖区80岁以上独居老人提供每周两次上门探访和助洁服务")
    await form.get_by_label("服务对象").fill("80岁以上独居老人")
    await form.get_by_label("服务地点").fill("延吉市建工街道")
    await form.get_by_label("预算上限（元）").fill("三十万")
    await form.get_by_label("服务期限（月，1–36）").fill("12")
    await form.get_by_label("仅限登记的社会组织（备案的社区社会组织不可投标）").check()
    await form.get_by_label("最低评估等级").select_option("3A")
    await form.get_by_role("button", name="提交需求").click()
    refused = department.get_by_role("region", name="提交购买服务需求")
    assert "预算上限请填写金额（元）" in await refused.get_by_role("alert").inner_text(), (
        "the refusal is beside its form"
    )
    assert await refused.get_by_label("服务对象").input_value() == "80岁以上独居老人"
    await checked(department, "fair-demand-refused")
    await refused.get_by_label("预算上限（元）").fill("300,000")
    await refused.get_by_role("button", name="提交需求").click()
    await department.wait_for_url(f"{ground.url}/fairs/{fair_no}?done=demand")
    mine = await department.get_by_role("region", name="我提交的需求").inner_text()
    assert "300,000.00元" in mine and "待审核" in mine and "评估等级3A及以上" in mine

    public = await ground.stranger()
    await public.goto(f"{ground.url}/fairs/{fair_no}")
    assert "需求目录尚未发布" in await public.get_by_role("region", name="需求目录").inner_text()
    assert await public.get_by_text("社区居家养老上门服务").count() == 0, "nothing of a demand before its catalogue"

    await ground.skipping.sleep(timedelta(days=2, minutes=1))
    await organizer.goto(f"{ground.url}/fairs/{fair_no}")
    for _ in range(100):
        if await organizer.get_by_role("button", name="提交审核意见").count():
            break
        await asyncio.sleep(0.1)
        await organizer.reload()
    review = organizer.get_by_role("group", name="审核「社区居家养老上门服务」")
    await review.get_by_label("退回", exact=True).check()
    await organizer.get_by_role("button", name="提交审核意见").click()
    assert "理由" in await organizer.get_by_role("region", name="需求审核").get_by_role("alert").inner_text()
    assert await organizer.get_by_label("退回", exact=True).is_checked(), "the choice is kept"
    await checked(organizer, "fair-review-refused")
    await organizer.get_by_label("通过", exact=True).check()
    await organizer.get_by_role("button", name="提交审核意见").click()
    await organizer.wait_for_url(f"{ground.url}/fairs/{fair_no}?done=reviewed")
    await organizer.get_by_role("button", name="发布需求目录").click()
    await organizer.wait_for_url(f"{ground.url}/fairs/{fair_no}?done=published")
    await checked(organizer, "fair-published")

    for _ in range(100):
        await public.reload()
        if await public.get_by_role("link", name="社区居家养老上门服务").count():
            break
        await asyncio.sleep(0.1)
    catalogue = await public.get_by_role("region", name="需求目录").inner_text()
    assert "300,000.00元" in catalogue and "延吉市卫生健康局" in catalogue and "12 个月" in catalogue
    await checked(public, "fair-public-catalogue")

    await department.reload()
    await department.get_by_role("link", name=re.compile("^查看项目 .* 的进度$")).click()
    assert "投标期" in await department.get_by_role("region", name="项目进度").inner_text(), (
        "the department follows its lot"
    )


async def test_a_bidder_and_an_expert_take_a_lot_to_its_award_and_nobody_sees_what_is_not_theirs(
    ground: Fairground,
) -> None:
    fair = await published_fair(ground.skipping)
    lot_no = fair.lots[0]
    bidder = await ground.person("org-chunhui", f"/lots/{lot_no}")
    await checked(bidder, "lot-bidding")
    form = bidder.get_by_role("region", name="我的投标")
    await form.get_by_label("投标的社会组织").select_option("YJ-REG-0001")
    await form.get_by_label(re.compile("^报价（元")).fill("二十八万五")
    await form.get_by_label("服务方案", exact=True).fill("组建专业社工团队，每周两次上门探访，建立服务档案并按月评估。")
    await form.get_by_label("项目团队（每行一人或一类岗位）").fill("项目主管1名\n社工3名")
    await form.get_by_label(re.compile("^附件")).set_input_files(
        files=[{"name": "服务方案.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await form.get_by_role("button", name="提交投标").click()
    assert (
        "报价请填写金额（元）" in await bidder.get_by_role("region", name="我的投标").get_by_role("alert").inner_text()
    )
    assert "每周两次上门探访" in await bidder.get_by_label("服务方案", exact=True).input_value(), (
        "what was typed is kept"
    )
    await checked(bidder, "lot-bid-refused")
    await bidder.get_by_label(re.compile("^报价（元")).fill("285000")
    await bidder.get_by_label(re.compile("^附件")).set_input_files(
        files=[{"name": "服务方案.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await bidder.get_by_role("button", name="提交投标").click()
    await bidder.wait_for_url(f"{ground.url}/lots/{lot_no}?done=bid")
    bid_id = await fair.bid_id(lot_no, "YJ-REG-0001")
    card = bidder.get_by_role("article", name=re.compile(f"投标 {bid_id}"))
    assert "285,000.00元" in await card.inner_text()
    attachment = await card.get_by_role("link", name="服务方案.pdf").get_attribute("href")
    served = await bidder.request.get(ground.url + attachment)
    assert served.ok and await served.body() == PDF

    await card.get_by_text("修改投标").click()
    await card.get_by_label(re.compile("^报价（元")).fill("280000.50")
    await card.get_by_role("button", name="保存修改").click()
    await bidder.wait_for_url(f"{ground.url}/lots/{lot_no}?done=amended")
    card = bidder.get_by_role("article", name=re.compile(f"投标 {bid_id}"))
    assert (
        "280,000.50元" in await card.inner_text() and await card.get_by_role("link", name="服务方案.pdf").count() == 1
    )
    await checked(bidder, "lot-bid-amended")

    for organization, price in (("YJ-REG-0002", 26_000_000), ("YJ-REG-0003", 27_500_000)):
        await fair.bid(lot_no, organization, price)
    rival = await ground.person("org-xiyanghong", f"/lots/{lot_no}")
    seen = await rival.get_by_role("main").inner_text()
    assert "春晖" not in seen and bid_id not in seen, "a bidder sees only its own bid"
    assert (await rival.request.get(ground.url + attachment)).status == 404, "another's attachment is not found"
    assert (await (await ground.stranger()).request.get(ground.url + attachment)).status == 404
    stolen = await rival.request.post(
        f"{ground.url}/lots/{lot_no}/bids/{bid_id}/withdrawal",
        form={"csrf_token": await rival.locator("input[name=csrf_token]").first.input_value()},
    )
    assert stolen.status == 404 and f"没有您提交的投标 {bid_id}" in await stolen.text()
    assert len((await fair.state(lot_no)).active_bids) == 3, "nothing was withdrawn"

    department = await ground.person("dept-wj", f"/lots/{lot_no}")
    assert "投标期" in await department.get_by_role("region", name="项目进度").inner_text()
    assert "280,000.50元" not in await department.get_by_role("main").inner_text(), "no bids to the buyer while open"
    talks = department.get_by_role("region", name="洽谈记录")
    await talks.get_by_label(re.compile("^洽谈的社会组织")).fill("YJ-REG-9999")
    await talks.get_by_label("洽谈内容").fill("介绍服务需求和考核方式")
    await talks.get_by_label("参加人员（每行一人）").fill("金海燕\n朴春花")
    await talks.get_by_role("button", name="保存洽谈记录").click()
    talks = department.get_by_role("region", name="洽谈记录")
    assert "YJ-REG-9999 不在社会组织名录中" in await talks.get_by_role("alert").inner_text()
    assert await talks.get_by_label("洽谈内容").input_value() == "介绍服务需求和考核方式"
    await checked(department, "lot-negotiation-refused")
    await talks.get_by_label(re.compile("^洽谈的社会组织")).fill("YJ-REG-0001")
    await talks.get_by_role("button", name="保存洽谈记录").click()
    await department.wait_for_url(f"{ground.url}/lots/{lot_no}?done=negotiation")
    assert "延吉市春晖社会工作服务中心" in await department.get_by_role("region", name="洽谈记录").inner_text()

    await fair.close_bidding(lot_no)
    state = await until_lot(fair.client, lot_no, lambda s: s.phase is LotPhase.evaluation)
    await ground.projected(lot_no, lambda lot: lot.phase == LotPhase.evaluation)
    await bidder.goto(f"{ground.url}/lots/{lot_no}")
    assert "延吉市春晖社会工作服务中心：通过" in await bidder.get_by_role("region", name="资格审查结果").inner_text()
    await checked(bidder, "lot-screened")

    public = await ground.stranger()
    await public.goto(f"{ground.url}/lots/{lot_no}")
    assert (
        await public.get_by_role("region", name="评审结果").count() == 0
        and await public.get_by_text("280,000.50元").count() == 0
    )
    api = await public.request.get(f"{ground.url}/api/lots/{lot_no}")
    assert (await api.json())["bids"] == [] and (await api.json())["ranking"] is None, (
        "no bids nor result before the notice"
    )
    await checked(public, "lot-public-evaluating")

    seated = [s.expert.user_id for s in state.open_seats]
    expert = await ground.person(seated[0], "/review/lots")
    await checked(expert, "lot-reviews")
    await expert.get_by_role("link", name=re.compile("社区居家养老上门服务")).click()
    await expert.wait_for_url(f"{ground.url}/lots/{lot_no}")
    rubric = await expert.get_by_role("region", name="我的评审").inner_text()
    for dimension in state.policy.rubric:
        assert f"{dimension.name}：满分 {dimension.weight} 分" in rubric, "the weights are shown"
    sheet = expert.locator("form[action$='/scores']")
    await sheet.evaluate("form => { form.noValidate = true }")
    eligible = state.eligible_bids
    top = state.policy.rubric[0]
    for n, bid in enumerate(eligible):
        for dimension in state.policy.rubric:
            points = dimension.weight - n if bid.organization != "YJ-REG-0001" else dimension.weight
            await expert.locator(f"[id='{bid.bid_id}.{dimension.id}']").fill(str(points))
    await expert.locator(f"[id='{eligible[0].bid_id}.{top.id}']").fill(str(top.weight + 1))
    await expert.get_by_role("button", name="提交评分").click()
    assert (
        f"超出 0–{top.weight} 分"
        in await expert.get_by_role("region", name="我的评审").get_by_role("alert").inner_text()
    )
    assert await expert.locator(f"[id='{eligible[0].bid_id}.{top.id}']").input_value() == str(top.weight + 1)
    await checked(expert, "lot-score-refused")
    await expert.locator(f"[id='{eligible[0].bid_id}.{top.id}']").fill(str(top.weight))
    await expert.get_by_role("button", name="提交评分").click()
    await expert.wait_for_url(f"{ground.url}/lots/{lot_no}?done=scored")
    await checked(expert, "lot-scored")

    outsider = next(e for e in EXPERTS if e not in [s.expert.user_id for s in state.seats])
    other = await ground.person(outsider, f"/lots/{lot_no}")
    assert await other.locator("form[action$='/scores']").count() == 0, "no score sheet for a lot one does not sit on"
    forged = await other.request.post(
        f"{ground.url}/lots/{lot_no}/scores",
        form={"csrf_token": await other.locator("input[name=csrf_token]").first.input_value()},
    )
    assert forged.status == 403 and "您不是本项目当前的评审专家" in await forged.text()

    recusing = await ground.person(seated[1], f"/lots/{lot_no}")
    await recusing.get_by_label("回避理由").fill("本人曾在投标组织兼职，需回避")
    await recusing.get_by_role("button", name="申请回避").click()
    await recusing.wait_for_url(f"{ground.url}/lots/{lot_no}?done=recused")
    assert "回避" in await recusing.get_by_role("region", name="我的评审").inner_text()
    assert await recusing.locator("form[action$='/scores']").count() == 0, "no score sheet once recused"
    await until_lot(fair.client, lot_no, lambda s: len(s.seats) == len(state.seats) + 1)

    best = {
        b.bid_id: {d.id: d.weight if b.organization == "YJ-REG-0001" else d.weight - 2 for d in state.policy.rubric}
        for b in eligible
    }
    await fair.score_all(lot_no, points=best, skip={seated[0]})
    state = await until_lot(fair.client, lot_no, lambda s: s.phase is LotPhase.result_notice)
    await ground.projected(lot_no, lambda lot: lot.phase == LotPhase.result_notice)
    await public.reload()
    result = await public.get_by_role("region", name="评审结果").inner_text()
    assert "延吉市春晖社会工作服务中心" in result and "（含当日）" in result and "280,000.50元" in result
    await checked(public, "lot-public-result")

    challenger = await ground.person("org-yangguang", f"/lots/{lot_no}")
    await challenger.get_by_label("质疑内容").fill("第一名的团队人员与其他项目重复，服务能力评分偏高")
    await challenger.get_by_role("button", name="提交质疑").click()
    await challenger.wait_for_url(f"{ground.url}/lots/{lot_no}?done=challenged")
    await checked(challenger, "lot-challenge-filed")
    await ground.projected(lot_no, lambda lot: bool(lot.challenges) and lot.challenges[0].task_id is not None)
    organizer = await ground.person(ORGANIZER, "/work/tasks")
    task = organizer.locator("li.task", has=organizer.get_by_text(re.compile("答复质疑")))
    await task.get_by_role("link").click()
    await organizer.wait_for_url(f"{ground.url}/lots/{lot_no}")
    answer = organizer.get_by_role("region", name="质疑")
    await answer.get_by_label("质疑不成立").check()
    await answer.get_by_role("button", name="提交答复").click()
    answer = organizer.get_by_role("region", name="质疑")
    assert await answer.get_by_role("alert").count() == 1 and await answer.get_by_label("质疑不成立").is_checked()
    await checked(organizer, "lot-challenge-refused")
    await answer.get_by_label("答复理由（每行一条）").fill("经核查，团队人员名单真实，不存在重复")
    await answer.get_by_role("button", name="提交答复").click()
    await organizer.wait_for_url(f"{ground.url}/lots/{lot_no}?done=answered")
    await ground.projected(lot_no, lambda lot: lot.challenges[0].status == "dismissed")
    await organizer.reload()
    assert "质疑不成立" in await organizer.get_by_role("region", name="质疑").inner_text()

    await fair.sleep_past(lot_no, state.result_notice.ends.due_at)
    await until_lot(fair.client, lot_no, lambda s: s.phase is LotPhase.awarding)
    await ground.projected(lot_no, lambda lot: lot.phase == LotPhase.awarding)
    await bidder.goto(f"{ground.url}/lots/{lot_no}")
    award = bidder.get_by_role("region", name="成交确认")
    assert "280,000.50元" in await award.inner_text() and "（含当日）" in await award.inner_text()
    await checked(bidder, "lot-award-offered")
    await award.get_by_label("确认成交").check()
    await award.get_by_role("button", name="提交").click()
    await bidder.wait_for_url(f"{ground.url}/lots/{lot_no}?done=accepted")
    await until_lot(fair.client, lot_no, lambda s: s.phase is LotPhase.awarded)
    await ground.projected(lot_no, lambda lot: lot.phase == LotPhase.awarded)
    await bidder.reload()
    assert "成交单位：延吉市春晖社会工作服务中心" in await bidder.get_by_role("region", name="成交").inner_text()
    await checked(bidder, "lot-awarded")

    await organizer.reload()
    panel = await organizer.get_by_role("region", name="评审专家").inner_text()
    assert "已评分" in panel and "（含当日）" in panel
    assert re.search(r"回避（申请回避：本人曾在投标组织兼职，需回避），由第 \d+ 席接替", panel), (
        "the recusal and its replacement"
    )
    assert "通过" in await organizer.get_by_role("region", name="资格审查结果").inner_text()
    await checked(organizer, "lot-organizer")


async def test_a_failed_lot_shows_its_流标公告_to_the_public_and_the_organizer_closes_it(ground: Fairground) -> None:
    fair = await published_fair(ground.skipping)
    lot_no = fair.lots[0]
    await fair.bid(lot_no, "YJ-REG-0001", 28_000_000)
    await fair.bid(lot_no, "YJ-REG-0002", 27_000_000)
    await fair.bid(lot_no, "YJ-REG-0003", 26_000_000)
    quitter = await ground.person("org-yangguang", f"/lots/{lot_no}")
    await quitter.get_by_role("button", name=re.compile("^撤回投标")).click()
    await quitter.wait_for_url(f"{ground.url}/lots/{lot_no}?done=withdrawn")
    assert "撤回" in await quitter.get_by_role("region", name="我的投标").inner_text()
    assert await quitter.get_by_role("button", name="提交投标").count() == 1, (
        "a withdrawn bid may be replaced until the deadline"
    )
    await checked(quitter, "lot-bid-withdrawn")
    await fair.close_bidding(lot_no)
    await until_lot(fair.client, lot_no, lambda s: s.phase is LotPhase.failed and bool(s.open_tasks))
    late = quitter.get_by_role("region", name="我的投标")
    await late.get_by_label(re.compile("^报价（元")).fill("250000")
    await late.get_by_label("服务方案", exact=True).fill("重新提交的服务方案，每周三次上门探访。")
    await late.get_by_label("项目团队（每行一人或一类岗位）").fill("社工3名")
    await late.get_by_role("button", name="提交投标").click()
    assert "截止" in await quitter.get_by_role("alert").inner_text(), "a page left open past the deadline is told why"
    assert await quitter.get_by_role("button", name="提交投标").count() == 0
    await ground.projected(lot_no, lambda lot: lot.phase == LotPhase.failed and bool(lot.tasks))

    public = await ground.stranger()
    await public.goto(f"{ground.url}/lots/{lot_no}")
    progress = await public.get_by_role("region", name="项目进度").inner_text()
    assert "流标" in progress and "专家评审" not in progress, "the lot never reached its experts"
    notices = await public.get_by_role("region", name="公告和文书").inner_text()
    assert "流标" in notices and "下载 PDF" in notices
    seen = await public.get_by_role("main").inner_text()
    assert "280,000.00元" not in seen and "春晖" not in seen, "the bids stay unpublished"
    await checked(public, "lot-public-failed")

    organizer = await ground.person(ORGANIZER, f"/lots/{lot_no}")
    decision = organizer.get_by_role("region", name="流标处理")
    await decision.get_by_label("终止项目（发布流标公告）").check()
    await decision.get_by_role("button", name="提交处理决定").click()
    decision = organizer.get_by_role("region", name="流标处理")
    assert await decision.get_by_role("alert").count() == 1
    assert await decision.get_by_label("终止项目（发布流标公告）").is_checked(), "the choice is kept"
    await checked(organizer, "lot-failed-refused")
    await decision.get_by_label("理由（每行一条）").fill("需求调整，改为明年采购")
    await decision.get_by_role("button", name="提交处理决定").click()
    await organizer.wait_for_url(f"{ground.url}/lots/{lot_no}?done=decided")
    await until_lot(fair.client, lot_no, lambda s: s.phase is LotPhase.closed)
    await ground.projected(lot_no, lambda lot: lot.phase == LotPhase.closed)
    await public.reload()
    assert "已终止" in await public.get_by_role("region", name="项目进度").inner_text()
