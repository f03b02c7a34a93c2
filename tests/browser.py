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


async def sign_in_as(page: Page, url: str, user_id: str, then: str) -> None:
    await page.goto(url + f"/sign-in?next={then}")
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
