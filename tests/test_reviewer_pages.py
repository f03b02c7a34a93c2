"""The reviewers' pages and the public 公示 page in a real browser (Debian's Chromium driven by Playwright),
on a time-skipping Temporal server so a missed deadline really escalates to the B岗 and really goes overdue:
the inbox, a case with its materials previewed, a refused and then an accepted decision, an objection filed
by the public and resolved by staff, other jurisdictions and applicants kept out, a phone-sized screen, and
axe-core finding no serious or critical accessibility problem on each page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest_asyncio
import weasyprint
from playwright.async_api import Browser, Page, expect

from api.app import create_app
from schemas.accounts import AccountInput
from schemas.application import Application, MaterialSubmission
from schemas.case import Phase
from schemas.people import Actor
from service import views
from service.accounts import AccountService
from service.cases import CaseService
from service.contracts import ContractService
from service.fairs import FairService
from tests import factories
from tests.browser import (
    PASSWORD,
    PHONE,
    SCREENSHOTS,
    pdf_viewer_showing,
    serious_accessibility_problems,
    serving,
    shot,
    sign_in_as,
)
from tests.conftest import Skipping
from tests.helpers import until_state

STAFF = {
    "cg-zhao": "赵丽",
    "cg-qian": "钱伟",
    "jg-zhou": "周静",
    "jg-wu": "吴刚",
    "mz-chen": "陈洁",
    "mz-lin": "林涛",
    "hn-zheng": "郑红",
}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cf"
    "c0f01f0005000201a5d5e1d40000000049454e44ae426082"
)


class SkippingClock(CaseService):
    """Judges deadlines by the time-skipping server's clock, as the workflows do: ``offset`` is how far that
    clock has been moved past the real one."""

    offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Desk:
    url: str
    skipping: Skipping
    service: SkippingClock
    applicant: Actor
    public: str

    async def case_with_materials(self) -> tuple[str, Application]:
        """A filing whose charter is a real PDF and whose member list is a PNG, uploaded by the applicant."""
        service = self.service
        pdf = weasyprint.HTML(string="<h1>广场舞队章程</h1><p>第一条 本队名称……</p>").write_pdf()
        charter = service.save_attachment(self.applicant, "章程.pdf", [pdf])
        members = service.save_attachment(self.applicant, "会员名册.png", [PNG])
        application = factories.filing()
        files = {"charter": charter.sha256, "member_list": members.sha256}
        materials = [
            MaterialSubmission(material=m.material, person=m.person, attachment=files.get(m.material))
            for m in application.materials
        ]
        application = application.model_copy(update={"materials": materials})
        receipt = await service.submit(self.applicant, application)
        return receipt.case_no, application

    async def move_clock(self, duration: timedelta) -> None:
        await self.skipping.sleep(duration)
        self.service.offset = await self.skipping.env.get_current_time() - datetime.now(UTC)


async def until_listed(
    service: CaseService, user_id: str, scope: views.InboxScope, found: Callable[[views.TaskView], bool]
) -> views.TaskView:
    """Wait (bounded) until the read model lists a task in someone's inbox: the projection follows the workflow."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 30
    while True:
        listed = [t for t in service.inbox(service.actor(user_id), limit=200, scope=scope).items if found(t)]
        if listed:
            return listed[0]
        assert loop.time() < give_up, f"never listed in {user_id}'s {scope}"
        await asyncio.sleep(0.05)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(skipping: Skipping) -> AsyncIterator[Desk]:
    """The whole app over the module's time-skipping server, with accounts for staff of two jurisdictions,
    an applicant and a member of the public."""
    settings, engine, client = skipping.settings, skipping.engine, skipping.env.client
    service = SkippingClock(settings, engine, client)
    app = create_app(
        service=service,
        fairs=FairService(settings, engine, client),
        contracts=ContractService(settings, engine, client),
    )
    accounts = AccountService(settings, engine)
    applicant, public = factories.applicant_id(), factories.applicant_id()
    for user_id, name in {**STAFF, applicant: "王芳", public: "张大爷"}.items():
        accounts.open_account(AccountInput(user_id=user_id, name=name, password=PASSWORD), by="test")
    async with serving(app) as url:
        yield Desk(url, skipping, service, service.actor(applicant, "王芳"), public)


async def test_a_reviewer_finds_the_task_previews_the_materials_is_refused_without_reasons_and_decides(
    desk: Desk, page: Page
) -> None:
    case_no, application = await desk.case_with_materials()
    await sign_in_as(page, desk.url, "cg-zhao", "/work/tasks")
    assert await page.get_by_role("link", name="待办", exact=True).get_attribute("aria-current") == "page"
    row = page.locator("li.task", has=page.get_by_role("link", name=application.organization_name))
    text = await row.inner_text()
    assert "居委会初审" in text and "赵丽（A岗）" in text and "春光社区居民委员会" in text
    assert "（含当日）" in text and "个工作日" in text and not re.search(r"\d{4}-\d{2}-\d{2}", text), (
        "a local date, not ISO"
    )
    assert await serious_accessibility_problems(page) == []
    await shot(page, "work-tasks")

    await row.get_by_role("link", name=application.organization_name).click()
    await page.wait_for_url(f"{desk.url}/work/cases/{case_no}")
    details = await page.get_by_role("region", name="申请信息").inner_text()
    assert (
        application.business_scope in details
        and "王芳（发起人兼拟任负责人" in details
        and application.contact_phone in details
    )
    checklist = await page.get_by_role("region", name="预审清单（按政策逐项检查）").inner_text()
    assert "免交" in checklist and "绿色通道" in checklist
    assert await page.locator("ol.timeline li").count() >= 2
    timeline = await page.locator("ol.timeline").inner_text()
    assert re.search(r"期限至\d{4}年\d{1,2}月\d{1,2}日", timeline), "a recorded deadline reads in words"
    preview = page.get_by_title("预览：组织章程（或活动规则）")
    source = await preview.get_attribute("src")
    assert source and source.startswith(f"/api/cases/{case_no}/attachments/")
    served = await page.request.get(desk.url + source)
    assert served.status == 200 and served.headers["content-type"] == "application/pdf"
    assert (
        served.headers["x-content-type-options"] == "nosniff"
        and "default-src 'none'" in served.headers["content-security-policy"]
    )
    assert served.headers["content-disposition"].startswith("inline") and (await served.body()).startswith(b"%PDF")
    image = page.get_by_role("img", name="会员名册")
    assert await image.evaluate("img => img.complete && img.naturalWidth === 1"), "the PNG is shown inline"
    assert await serious_accessibility_problems(page) == []

    await page.get_by_role("radio", name="不同意").check()
    await page.get_by_label("审核意见（可不填）").fill("场地情况需再核实")
    await page.get_by_role("button", name="提交办理意见").click()
    refusal = page.get_by_role("region", name="办理：居委会初审").get_by_role("alert")
    assert "必须逐条写明理由" in await refusal.inner_text()
    assert await page.get_by_label("审核意见（可不填）").input_value() == "场地情况需再核实", "what was typed is kept"
    assert await page.get_by_role("radio", name="不同意").is_checked()
    await shot(page, "work-case-refused")

    await page.get_by_role("radio", name="同意", exact=True).check()
    await page.get_by_role("button", name="提交办理意见").click()
    await page.wait_for_url(f"{desk.url}/work/tasks?case={case_no}")
    assert f"案件 {case_no} 的办理意见已提交" in await page.get_by_role("status").inner_text()
    assert desk.service.case(desk.applicant, case_no).phase is Phase.authority_review
    assert await page.get_by_role("link", name=application.organization_name).count() == 0

    await page.get_by_role("link", name="已办").click()
    done = page.locator("li.task", has=page.get_by_role("link", name=application.organization_name))
    assert "同意" in await done.inner_text()
    listed = await page.request.get(desk.url + "/api/tasks?scope=done&sort=newest")
    assert listed.ok and [t["outcome_name"] for t in (await listed.json())["items"] if t["case_no"] == case_no] == [
        "同意"
    ]
    await page.goto(f"{desk.url}/work/cases/{case_no}")
    assert await page.get_by_role("button", name="提交办理意见").count() == 0, "the task is no longer hers"
    await preview.scroll_into_view_if_needed()
    viewer = await pdf_viewer_showing(page)
    await expect(viewer.get_by_text("章程.pdf")).to_be_visible()
    await preview.screenshot(path=str(SCREENSHOTS / "work-case-pdf-preview.png"))


async def test_other_jurisdictions_and_applicants_get_nothing(desk: Desk, page: Page) -> None:
    case_no, application = await desk.case_with_materials()
    material = next(m.url for m in desk.service.case(desk.applicant, case_no).materials if m.url)
    await sign_in_as(page, desk.url, "hn-zheng", "/work/tasks", asked=False)  # staff land at 待办
    for path in (f"/work/cases/{case_no}", material):
        answer = await page.goto(desk.url + path)
        assert answer is not None and answer.status == 404
        assert "不存在或您无权查看" in await answer.text() and application.organization_name not in await answer.text()
    await page.goto(desk.url + "/work/tasks?scope=group&jurisdiction=YJ-JG")
    assert "本辖区" in await page.get_by_role("alert").inner_text(), "a street cannot look into another street's tasks"

    await sign_in_as(page, desk.url, "cg-qian", f"/work/cases/{case_no}")
    assert application.organization_name in await page.get_by_role("heading", level=1).inner_text()
    assert await page.get_by_role("button", name="提交办理意见").count() == 1, "the B岗 may act on the task too"

    await sign_in_as(page, desk.url, desk.applicant.user_id, "/my/cases", asked=False)
    assert await page.get_by_role("link", name="待办", exact=True).count() == 0
    answer = await page.goto(desk.url + "/work/tasks")
    assert answer is not None and answer.status == 403 and application.organization_name not in await answer.text()
    assert (await page.request.get(desk.url + material)).status == 200, "the applicant sees their own material"
    uncited = desk.service.save_attachment(
        desk.service.actor(desk.public), "别人的.pdf", [b"%PDF-1.7 not of this case"]
    )
    answer = await page.goto(f"{desk.url}/api/cases/{case_no}/attachments/{uncited.sha256}")
    assert answer is not None and answer.status == 404, "only the files the case cites are served through it"


async def test_the_public_reads_the_notices_objects_and_staff_resolve_the_objection(
    desk: Desk, browser: Browser, page: Page
) -> None:
    service = desk.service
    case_no, application = await desk.case_with_materials()
    for step, user_id in (("preliminary_review", "cg-zhao"), ("authority_review", "jg-zhou")):
        await service.decide(service.actor(user_id), case_no, views.DecisionInput(step=step, outcome="approve"))
    await until_state(desk.skipping.env.client, case_no, lambda s: s.phase is Phase.public_notice)

    await page.goto(desk.url + "/notices")
    notice = page.locator("li.card", has=page.get_by_role("heading", name=application.organization_name))
    text = await notice.inner_text()
    assert "公示期至" in text and "（含当日）" in text and "春光社区" in text and "登录后可提出异议" in text
    assert await notice.get_by_role("link", name=f"下载公示 PDF：{application.organization_name}").count() == 1
    assert await serious_accessibility_problems(page) == []
    await shot(page, "notices")

    await sign_in_as(page, desk.url, desk.public, "/notices")
    await notice.get_by_text("对此申请提出异议").click()
    await notice.get_by_label("您的姓名").fill("张大爷")
    await notice.get_by_label("异议内容（具体事实和理由）").fill("该队伍晚上十点后仍在广场活动，噪音扰民")
    assert await serious_accessibility_problems(page) == []
    await shot(page, "notices-objection-form")
    await notice.get_by_role("button", name="提交异议").click()
    await page.wait_for_url(desk.url + "/notices?done=objected")
    assert "您的异议已提交" in await page.get_by_role("status").inner_text()
    state = await until_state(
        desk.skipping.env.client, case_no, lambda s: bool(s.objections) and s.objections[0].task_id is not None
    )
    resolver = next(t for t in state.open_tasks if t.objection_id).a.user_id

    staff = await browser.new_context(locale="zh-CN")
    staff_page = await staff.new_page()
    try:
        await sign_in_as(staff_page, desk.url, resolver, f"/work/cases/{case_no}")
        objections = staff_page.get_by_role("region", name="公示异议")
        assert (
            "噪音扰民" in await objections.inner_text() and "申请人陈述申辩：尚未提交" in await objections.inner_text()
        )
        await objections.get_by_role("radio", name="异议不成立").check()
        await objections.get_by_role("button", name="提交处理意见").click()
        assert "必须写明核查情况和理由" in await staff_page.get_by_role("alert").inner_text()
        assert await staff_page.get_by_role("radio", name="异议不成立").is_checked()
        assert await serious_accessibility_problems(staff_page) == []
        await shot(staff_page, "work-case-objection")
        await staff_page.get_by_label("核查情况和理由（必填，每行一条）").fill("经现场核查，活动于晚八点半前结束")
        await staff_page.get_by_role("button", name="提交处理意见").click()
        await staff_page.wait_for_url(f"{desk.url}/work/cases/{case_no}?done=resolved")
        assert "异议不成立" in await staff_page.get_by_role("region", name="公示异议").inner_text()
    finally:
        await staff.close()


async def test_the_inbox_filters_by_step_and_the_jurisdictions_below_alike_in_the_page_and_the_api(
    desk: Desk, page: Page
) -> None:
    case_no, application = await desk.case_with_materials()
    await sign_in_as(page, desk.url, "cg-zhao", "/work/tasks")
    await page.get_by_label("办理环节").select_option(label="居委会初审")
    await page.get_by_label("排序", exact=True).select_option(label="最新在前")
    await page.get_by_role("button", name="筛选").click()
    await page.wait_for_url("**step=preliminary_review**")
    assert "sort=newest" in page.url
    assert await page.locator("li.task h2").first.inner_text() == application.organization_name, "newest first"

    await sign_in_as(page, desk.url, "mz-chen", "/work/tasks")
    below = "/api/tasks?scope=group&role=community_committee&jurisdiction=YJ-JG"
    listed = await (await page.request.get(desk.url + below)).json()
    assert case_no in [t["case_no"] for t in listed["items"]], "a street's communities are below it"
    assert [j["name"] for j in listed["jurisdictions"]] == ["建工街道", "春光社区", "民安社区"]
    assert {"value": "preliminary_review", "name": "居委会初审"} in listed["steps"]
    other_step = await (await page.request.get(desk.url + below + "&step=authority_review")).json()
    assert case_no not in [t["case_no"] for t in other_step["items"]]
    elsewhere = await page.request.get(desk.url + "/api/tasks?jurisdiction=XQ")
    assert elsewhere.status == 403 and "本辖区" in (await elsewhere.json())["message"]


async def test_a_correction_asks_for_the_materials_ticked_and_the_lines_typed(desk: Desk, page: Page) -> None:
    case_no, _ = await desk.case_with_materials()
    await sign_in_as(page, desk.url, "cg-qian", f"/work/cases/{case_no}")
    await page.get_by_role("radio", name="要求补正").check()
    await page.get_by_role("checkbox", name="会员名册").check()
    await page.get_by_label("理由或补正事项（每行一条；不同意或要求补正时必填）").fill(
        "会员名册请加盖队伍印章\n请注明联系电话"
    )
    await page.get_by_role("button", name="提交办理意见").click()
    await page.wait_for_url(f"{desk.url}/work/tasks?case={case_no}")
    correction = desk.service.case(desk.applicant, case_no).correction
    assert correction is not None and correction.items == [
        "请补交：会员名册",
        "会员名册请加盖队伍印章",
        "请注明联系电话",
    ]


async def test_a_missed_deadline_goes_yellow_then_to_the_b_post_and_red_when_overdue_on_a_phone(
    desk: Desk, browser: Browser
) -> None:
    """Last in the module: moving the server's clock moves every case on it."""
    case_no, application = await desk.case_with_materials()
    state = await until_state(desk.skipping.env.client, case_no, lambda s: bool(s.open_tasks))
    task = state.open_tasks[0]
    await desk.move_clock(task.deadline.due_at - await desk.skipping.env.get_current_time() - timedelta(hours=1))
    mine = await until_listed(desk.service, "cg-zhao", "mine", lambda t: t.case_no == case_no)
    assert mine.urgency == "due_soon" and mine.working_days_left == 0

    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    try:
        await sign_in_as(page, desk.url, "cg-zhao", "/work/tasks")
        row = page.locator("li.task", has=page.get_by_role("link", name=application.organization_name))
        assert "即将到期" in await row.inner_text() and "今天到期" in await row.inner_text()

        await desk.move_clock(timedelta(hours=2))
        await until_state(desk.skipping.env.client, case_no, lambda s: s.open_tasks[0].escalated)
        await until_listed(desk.service, "cg-qian", "escalated", lambda t: t.case_no == case_no)
        await sign_in_as(page, desk.url, "cg-qian", "/work/tasks?scope=escalated")
        row = page.locator("li.task", has=page.get_by_role("link", name=application.organization_name))
        assert "钱伟（B岗）" in await row.inner_text()
        assert await page.get_by_role("link", name="转给我的").get_attribute("aria-current") == "page"

        escalated = (
            await until_state(desk.skipping.env.client, case_no, lambda s: s.open_tasks[0].escalated)
        ).open_tasks[0]
        await desk.move_clock(
            escalated.deadline.due_at - await desk.skipping.env.get_current_time() + timedelta(hours=1)
        )
        await until_listed(
            desk.service, "cg-qian", "escalated", lambda t: t.case_no == case_no and t.urgency == "overdue"
        )
        await page.reload()
        badge = row.locator(".badge")
        assert await badge.inner_text() == "已逾期", "overdue is said in words, not only in red"
        assert await badge.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(164, 14, 14)"
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert await serious_accessibility_problems(page) == []
        await shot(page, "phone-work-tasks")

        await row.get_by_role("link", name=application.organization_name).click()
        await page.wait_for_url(f"{desk.url}/work/cases/{case_no}")
        assert "已逾期" in await page.get_by_role("region", name="当前办理").inner_text()
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert await serious_accessibility_problems(page) == []
        await shot(page, "phone-work-case")
    finally:
        await context.close()
