"""The auditor's pages in a real browser (Debian's Chromium driven by Playwright) over a real Temporal server: an
auditor finds a refused registration, reads its 办理过程 from the recorded history, checks its documents against
their recorded SHA-256 (one altered on disk is caught), sees its process diagram drawn by the locally served
Mermaid (and as text without it), downloads the audit bundle, and finds each of these views in the 查阅记录, while
the case's history is left as it was; applicants and reviewers are refused; axe-core finds no serious or critical
problem; phone-sized screenshots are kept."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest_asyncio
from playwright.async_api import Page, Route, expect
from sqlmodel import Session, select

from api.app import create_app
from schemas.accounts import AccountInput
from schemas.localtime import local_date
from service.cases import CaseService
from service.contracts import ContractService
from service.fairs import FairService
from store.files import content_path
from store.models import AuditViewRecord, CaseRecord, DocumentRecord
from tests import factories
from tests.browser import PASSWORD, PHONE, SCREENSHOTS, serious_accessibility_problems, serving, shot, sign_in_as
from tests.conftest import Skipping
from tests.fair_helpers import published_fair
from tests.helpers import history_length
from tests.test_audit import refused_registration

AUDITOR = "audit-01"
REVIEWERS = {"mz-chen": "陈洁", "cg-zhao": "赵丽"}


@dataclass
class Archive:
    url: str
    service: CaseService
    case_no: str
    organization: str
    applicant: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def archive(skipping: Skipping) -> AsyncIterator[Archive]:
    """The whole app over the module's Temporal server, one refused registration with two documents, and
    accounts for the auditor, two reviewers and the case's applicant."""
    settings, engine, client = skipping.settings, skipping.engine, skipping.env.client
    service = skipping.service
    app = create_app(
        service=service,
        fairs=FairService(settings, engine, client),
        contracts=ContractService(settings, engine, client),
    )
    case_no = await refused_registration(service)
    with Session(engine) as db:
        record = db.get_one(CaseRecord, case_no)
    for user_id, name in {AUDITOR: "白若冰", **REVIEWERS, record.applicant_id: "王芳"}.items():
        app.state.accounts.open_account(AccountInput(user_id=user_id, name=name, password=PASSWORD), by="test")
    async with serving(app) as url:
        yield Archive(url, service, case_no, record.organization_name, record.applicant_id)


def views_of(archive: Archive, user_id: str) -> list[AuditViewRecord]:
    with Session(archive.service.engine) as db:
        return list(db.exec(select(AuditViewRecord).where(AuditViewRecord.user_id == user_id)).all())


async def no_sideways_scroll(page: Page) -> bool:
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def test_an_auditor_finds_a_case_reads_its_history_checks_its_documents_and_downloads_its_bundle(
    archive: Archive, page: Page
) -> None:
    case_no, client = archive.case_no, archive.service.client
    events_before = await history_length(client, case_no)
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(archive.url) else elsewhere.append(r.url))
    await page.set_viewport_size(PHONE)
    await sign_in_as(page, archive.url, AUDITOR, "/audit")
    assert await page.get_by_role("link", name="审计", exact=True).get_attribute("aria-current") == "page"
    assert await page.get_by_role("link", name="我的办件").count() == 0

    await page.get_by_label("组织名称").fill(archive.organization)
    await page.get_by_label("流程和阶段").select_option(label="备案/登记：不予")
    await page.get_by_role("button", name="查找").click()
    results = page.locator("ul.audit-cases li")
    await expect(results).to_have_count(1)
    row = await results.inner_text()
    assert case_no in row and "备案/登记" in row and archive.organization in row and "民政局" in row
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", row), "a local time, not ISO"
    assert await page.get_by_label("组织名称").input_value() == archive.organization, "the filters are kept"
    assert await serious_accessibility_problems(page) == []
    assert await no_sideways_scroll(page)
    await shot(page, "audit-search-phone")

    await page.get_by_label("组织名称").fill("")
    await page.get_by_label("流程和阶段").select_option(value="")
    await page.get_by_label("最近办理日期从").fill("2030-02-01")
    await page.get_by_label("最近办理日期到").fill("2030-01-01")
    await page.get_by_role("button", name="查找").click()
    assert "不能早于" in await page.get_by_role("alert").inner_text()
    today = local_date(datetime.now(UTC)).isoformat()
    await page.get_by_label("最近办理日期从").fill(today)
    await page.get_by_label("最近办理日期到").fill(today)
    await page.get_by_role("button", name="查找").click()
    await expect(page.get_by_role("link", name=case_no)).to_be_visible()
    await page.get_by_label("最近办理日期到").fill("2026-01-01")
    await page.get_by_label("最近办理日期从").fill("2026-01-01")
    await page.get_by_role("button", name="查找").click()
    await expect(page.get_by_text("没有符合条件的案件")).to_be_visible()
    await page.get_by_label("最近办理日期从").fill("")
    await page.get_by_label("最近办理日期到").fill("")
    await page.get_by_label("编号").fill(case_no[-8:])
    await page.get_by_role("button", name="查找").click()
    await page.get_by_role("link", name=case_no).click()
    await page.wait_for_url(f"{archive.url}/audit/cases/{case_no}")

    timeline = page.get_by_role("region", name="办理过程")
    steps = await timeline.inner_text()
    assert "陈洁（民政局）" in steps and "不予" in steps and "→" in steps, "who, in which role, and the phases"
    assert "政策：" in steps and "T0" not in steps
    temporal = await page.get_by_role("link", name=re.compile("Temporal 管理界面")).get_attribute("href")
    assert temporal and temporal.endswith(f"/namespaces/default/workflows/{case_no}")

    diagram = page.locator("figure.process-diagram svg")
    await expect(diagram).to_be_visible()
    assert await page.locator("figure.process-diagram").get_by_text("不予").count() >= 1, "the phases are drawn"
    assert elsewhere == [], "every script comes from this site"
    assert await serious_accessibility_problems(page) == []
    assert await no_sideways_scroll(page)
    await shot(page, "audit-case-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.locator("figure.process-diagram").screenshot(path=str(SCREENSHOTS / "audit-diagram.png"))
    await page.set_viewport_size(PHONE)

    documents = page.get_by_role("region", name="文书")
    listed = await documents.inner_text()
    with Session(archive.service.engine) as db:
        recorded = list(db.exec(select(DocumentRecord).where(DocumentRecord.case_no == case_no)).all())
    assert len(recorded) == 2 and all(d.pdf_sha256 in listed and d.html_sha256 in listed for d in recorded)
    accepted, refused = sorted(recorded, key=lambda d: d.issued_at)
    await documents.get_by_role("button", name=f"核对存储的文件：{accepted.title}").click()
    verdict = page.get_by_role("status")
    await expect(verdict).to_contain_text(f"{accepted.title}：存储的文件与记录的 SHA-256 一致")
    assert "PDF 一致；HTML 一致" in await verdict.inner_text()
    await shot(page, "audit-document-matches")

    stored = content_path(archive.service.settings.documents_dir, refused.pdf_sha256, "pdf")
    original = stored.read_bytes()
    try:
        stored.write_bytes(original.replace(b"%%EOF", b"%%EOF\n% altered"))
        await documents.get_by_role("button", name=f"核对存储的文件：{refused.title}").click()
        await expect(verdict).to_contain_text(f"{refused.title}：存储的文件与记录的 SHA-256 不一致")
        assert "PDF 不一致；HTML 一致" in await verdict.inner_text()
        assert await serious_accessibility_problems(page) == []
        await shot(page, "audit-document-altered")
    finally:
        stored.write_bytes(original)

    async with page.expect_download() as download:
        await page.get_by_role("link", name=re.compile("下载审计包")).click()
    bundle = await (await download.value).path()
    assert (await download.value).suggested_filename == f"{case_no}.audit.zip"
    with zipfile.ZipFile(io.BytesIO(bundle.read_bytes())) as files:
        manifest = json.loads(files.read("manifest.json"))
        assert manifest["case_no"] == case_no and len(manifest["documents"]) == 2
        assert f"documents/{refused.document_id}.pdf" in files.namelist()

    await page.get_by_role("link", name="查阅记录").first.click()
    await page.wait_for_url(f"{archive.url}/audit/views")
    views = await page.locator("ol.audit-views").inner_text()
    for seen in ("查找案件", "办理过程、文书和流程图", "核对文书", "下载审计包"):
        assert re.search(rf"白若冰（{AUDITOR}）：{seen}", views), seen
    assert f"下载审计包 · {case_no}" in views
    assert f"核对文书（{refused.title}，不一致） · {case_no}" in views
    assert f"核对文书（{accepted.title}，一致） · {case_no}" in views
    assert await serious_accessibility_problems(page) == []
    await shot(page, "audit-views-phone")
    assert await history_length(client, case_no) == events_before, "viewing leaves the case's history as it was"


async def test_an_auditor_finds_a_fair_and_its_lot_and_sees_the_lot_drawn_on_its_process(
    archive: Archive, skipping: Skipping, page: Page
) -> None:
    fair = await published_fair(skipping)
    lot_no = fair.lots[0]
    await sign_in_as(page, archive.url, AUDITOR, "/audit")
    await page.get_by_label("流程和阶段").select_option(label="购买服务项目：投标期")
    await page.get_by_label("办理单位").fill("民政局")
    await page.get_by_role("button", name="查找").click()
    row = page.locator("ul.audit-cases li", has=page.get_by_role("link", name=lot_no))
    assert "购买服务项目" in await row.inner_text() and "阶段：投标期" in await row.inner_text()
    await page.get_by_label("流程和阶段").select_option(label="社洽会（全部阶段）")
    await page.get_by_role("button", name="查找").click()
    await expect(page.get_by_role("link", name=fair.fair_no)).to_be_visible()
    assert await page.get_by_role("link", name=lot_no).count() == 0

    await page.goto(f"{archive.url}/audit/cases/{lot_no}")
    assert "现在：投标期" in await page.get_by_role("main").inner_text()
    await expect(page.locator("figure.process-diagram svg")).to_be_visible()
    assert "还没有出具文书" in await page.get_by_role("region", name="文书").inner_text()
    assert await serious_accessibility_problems(page) == []
    await page.locator("figure.process-diagram").screenshot(path=str(SCREENSHOTS / "audit-lot-diagram.png"))


async def test_without_the_local_script_the_diagram_stays_as_its_text(archive: Archive, page: Page) -> None:
    async def missing(route: Route) -> None:
        await route.fulfill(status=404)

    await page.route("**/static/vendor/mermaid/**", missing)
    await sign_in_as(page, archive.url, AUDITOR, f"/audit/cases/{archive.case_no}")
    text = page.locator("figure.process-diagram pre.mermaid")
    await expect(text).to_contain_text("flowchart TD")
    assert await page.locator("figure.process-diagram svg").count() == 0


async def test_an_unknown_case_is_not_found(archive: Archive, page: Page) -> None:
    await sign_in_as(page, archive.url, AUDITOR, "/audit")
    response = await page.goto(f"{archive.url}/audit/cases/YJ-NO-SUCH-CASE")
    assert response and response.status == 404
    assert "没有编号为 YJ-NO-SUCH-CASE 的案件" in await page.get_by_role("main").inner_text()


async def test_applicants_and_reviewers_are_refused_and_leave_no_view_behind(archive: Archive, page: Page) -> None:
    case_no = archive.case_no
    anonymous = await page.request.get(f"{archive.url}/api/audit/cases")
    assert anonymous.status == 401
    for user_id in (archive.applicant, *REVIEWERS):
        await page.context.clear_cookies()
        await sign_in_as(page, archive.url, user_id, "/messages")
        assert await page.get_by_role("link", name="审计", exact=True).count() == 0
        for path in ("/audit", f"/audit/cases/{case_no}", f"/audit/cases/{case_no}/bundle.zip", "/audit/views"):
            response = await page.request.get(archive.url + path)
            assert response.status == 403, (user_id, path)
            assert "审计查阅只向审计人员开放" in await response.text()
        document = factories.applicant_id()
        posted = await page.request.post(
            f"{archive.url}/audit/cases/{case_no}/documents/{document}/check",
            headers={"X-CSRF-Token": await csrf_token(page)},
        )
        assert posted.status == 403
        api = await page.request.get(f"{archive.url}/api/audit/cases?number={case_no}")
        assert api.status == 403 and "审计人员" in (await api.json())["message"]
        await page.goto(f"{archive.url}/audit/cases/{case_no}")
        assert "审计查阅只向审计人员开放" in await page.get_by_role("main").inner_text()
        assert await serious_accessibility_problems(page) == []
        assert views_of(archive, user_id) == []
    await shot(page, "audit-refused")

    await page.context.clear_cookies()
    await sign_in_as(page, archive.url, AUDITOR, "/audit")
    found = await page.request.get(f"{archive.url}/api/audit/cases?number={case_no}&status=filing:refused")
    assert found.ok and [c["number"] for c in (await found.json())["items"]] == [case_no]
    wrong = await page.request.get(f"{archive.url}/api/audit/cases?status=filing:flying")
    assert wrong.status == 422 and "流程和阶段" in (await wrong.json())["message"]
    far = await page.request.get(f"{archive.url}/api/audit/cases?until=9999-12-31")
    refused = await far.json()
    assert far.status == 422 and refused["error"] == "invalid" and "2000年1月1日至2099年12月31日" in refused["message"]


async def csrf_token(page: Page) -> str:
    return await page.locator("form.sign-out input[name=csrf_token]").input_value()
