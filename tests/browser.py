"""What the browser tests share: Debian's Chromium driven by Playwright, the app served on a loopback port,
axe-core (served from the local npm copy) and screenshots to look at in /tmp/shezu-pages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.async_api import Frame, Page, expect

from settings import PROJECT_ROOT
from tests.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = PROJECT_ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path("/tmp/shezu-pages")
PASSWORD = "correct-horse-42"
PHONE = {"width": 390, "height": 844}


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app on a loopback port in this event loop, for as long as the block runs; yields its address."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "the page server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def sign_in_as(page: Page, url: str, user_id: str, then: str, asked: bool = True) -> None:
    """Signs in from the sign-in page and waits for ``then``: the page asked for, or (``asked=False``) the
    page the person lands on by themselves."""
    await page.goto(url + (f"/sign-in?next={then}" if asked else "/sign-in"))
    await page.get_by_label("用户名").fill(user_id)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录", exact=True).click()
    await page.wait_for_url(url + then)


async def serious_accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, by rule and element."""
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate(
        "async () => (await axe.run()).violations.map(v => [v.id, v.impact, v.nodes.map(n => n.target.join(' '))])"
    )
    return [f"{rule} ({impact}): {nodes}" for rule, impact, nodes in found if impact in ("serious", "critical")]


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def pdf_viewer_showing(page: Page) -> Frame:
    """Chromium's own PDF viewer (an extension frame inside the previewing iframe), once it shows the document."""
    viewers = [f for f in page.frames if f.url.startswith("chrome-extension://")]
    viewer = (
        viewers[0]
        if viewers
        else await page.wait_for_event("framenavigated", lambda f: f.url.startswith("chrome-extension://"))
    )
    await expect(viewer.locator("#pageSelector")).to_have_value("1")
    return viewer


async def apply_online(page: Page, name: str, shots: str = "") -> None:
    """From a community's 办事指南 to the review page, filling each step as an applicant would: the green
    channel's checklist, the uploads it asks for, and the review page before submission."""
    await page.get_by_role("link", name="在线申请").click()
    await fill_application(page, name, shots)


async def fill_application(page: Page, name: str, shots: str = "") -> None:
    """The online application from its first step to the review page (see ``apply_online``)."""
    await page.get_by_label("组织名称").fill(name)
    await page.get_by_label("宗旨和业务范围").fill("组织社区老年居民开展广场舞活动")
    await page.get_by_role("button", name="下一步").click()

    assert await page.get_by_role("heading", level=1).inner_text() == "发起人和拟任负责人"
    await page.get_by_role("button", name="下一步").click()  # the browser asks for the first person
    assert await page.get_by_role("heading", level=1).inner_text() == "发起人和拟任负责人"
    await page.locator("#name_0").fill("王芳")
    await page.locator("#role_0").select_option(label="发起人兼拟任负责人")
    await page.locator("#household_0").fill("延吉市建工街道春光社区")
    await page.locator("#name_1").fill("李明")
    await page.locator("#household_1").fill("吉林省长春市")
    await page.get_by_role("button", name="下一步").click()

    await page.get_by_label("个人会员人数").fill("十八")
    await page.get_by_label("活动场所", exact=True).select_option(label="共享场所（如社区活动室）")
    await page.get_by_label("活动场所地址").fill("建工街道春光社区活动室")
    await page.get_by_role("button", name="下一步").click()
    assert "个人会员人数" in await page.get_by_role("alert").inner_text() and "应为整数" in await page.get_by_role("alert").inner_text()
    assert await page.get_by_label("活动场所地址").input_value() == "建工街道春光社区活动室", "the rest of the page is kept"
    await page.get_by_label("个人会员人数").fill("18")
    await page.get_by_role("button", name="下一步").click()

    checklist = page.get_by_role("region", name="材料清单（按您填写的情况）")
    assert "免交" in await checklist.inner_text(), "王芳's identity proof is waived: she lives in the community"
    assert await page.get_by_label("身份证明（王芳）").count() == 0 and await page.get_by_label("活动场所使用权证明").count() == 0
    await shot(page, f"{shots}apply-materials")
    for label in ("社区社会组织备案申请表", "组织章程（或活动规则）", "会员名册", "身份证明（李明）"):
        await page.get_by_label(label).set_input_files(
            files=[{"name": f"{label}.pdf", "mimeType": "application/pdf", "buffer": f"%PDF-1.7 {label}".encode()}]
        )
    await page.get_by_role("button", name="下一步").click()
    assert "缺少" not in await checklist.inner_text()
    await page.get_by_label("申请人姓名").fill("王芳")
    await page.get_by_label("联系电话").fill("13800000000")
    await page.get_by_role("button", name="下一步").click()

    assert await page.get_by_role("heading", level=1).inner_text() == "核对并提交"
    review = await page.get_by_role("main").inner_text()
    assert name in review and "建工街道春光社区活动室" in review and "王芳、李明" in review
    assert await serious_accessibility_problems(page) == []
    await shot(page, f"{shots}apply-review")


async def fresh_sign_in(page: Page, url: str, user_id: str, then: str) -> None:
    """A fresh sign-in on a phone-sized screen (the previous person is signed out first)."""
    await page.context.clear_cookies()
    await page.set_viewport_size(PHONE)
    await sign_in_as(page, url, user_id, then)


async def until_shown(page: Page, text: str, seconds: float = 30) -> None:
    """Reload (bounded) until the page shows ``text``: the read model follows the workflow a moment later."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + seconds
    while text not in (shown := await page.get_by_role("main").inner_text()):
        assert loop.time() < give_up, f"never showed {text!r}; the page shows: {shown[:1500]}"
        await asyncio.sleep(0.2)
        await page.reload()


async def checked(page: Page, name: str) -> None:
    """No serious accessibility problem on the page, and a screenshot to look at."""
    assert await serious_accessibility_problems(page) == [], name
    await shot(page, name)
