"""Auditors see incubations: the process map drawn from the golden histories, offline; then, over a real Temporal
server in a real browser, an auditor finds an incubation (page and API) by its group, its base and its phase, reads
its 办理过程, checks its 入孵协议 and 不予入孵告知书 against their recorded SHA-256, sees its diagram, and downloads
a bundle that carries the filing it started and verifies; each view is in the 查阅记录 and the history is untouched."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio
from playwright.async_api import Page, expect
from sqlmodel import Session, select

from api.app import create_app
from audit.bundle import verify_bundle
from audit.diagram import INCUBATION_MAP, START, process_diagram
from schemas.accounts import AccountInput
from schemas.incubation_case import IncubationDecision, IncubationPhase
from service.contracts import ContractService
from service.fairs import FairService
from service.incubation import IncubationService
from store.models import AuditViewRecord
from tests.browser import PASSWORD, PHONE, SCREENSHOTS, serious_accessibility_problems, serving, shot, sign_in_as
from tests.conftest import Skipping
from tests.helpers import history_length, until_incubation
from tests.test_audit_diagram import Drawing, recorded
from tests.test_incubation import HN, apply, file_from_incubation, pending, with_bases  # noqa: F401
from workflows.incubation import IncubationWorkflow

AUDITOR = "audit-01"
HEADQUARTERS = "延吉市社会组织孵化及创新服务基地"
HENAN = "河南街道社会组织孵化分基地"


# --- the map, offline ----------------------------------------------------------------------------


def test_the_incubation_map_has_every_phase_once_and_only_its_endings_are_final() -> None:
    names = [stage.phase for stage in INCUBATION_MAP.stages]
    assert sorted(names) == sorted(p.value for p in IncubationPhase)
    finals = {stage.phase for stage in INCUBATION_MAP.stages if stage.final}
    assert finals == {"graduated", "exited", "refused"}
    assert not any(t.source in finals for t in INCUBATION_MAP.transitions), "an ended incubation does not move on"
    reachable = {START}
    for _ in names:
        reachable |= {t.target for t in INCUBATION_MAP.transitions if t.source in reachable}
    assert reachable >= set(names)


def test_an_extended_then_graduated_incubation_is_drawn_back_through_incubating_and_ends_graduated() -> None:
    drawing = Drawing(process_diagram(recorded("incubation_extended_graduated")))
    assert drawing.look("graduated") == "current" and drawing.look("waiting") == "untouched"
    assert drawing.bold("assessing", "incubating") and "延期出壳" in drawing.label("assessing", "incubating")
    assert drawing.label("incubating", "assessing").endswith("（2次）"), "assessed twice, once per term"
    assert not drawing.bold("applied", "refused") and not drawing.bold("assessing", "exited")
    assert not any(undeclared for *_, undeclared in drawing.edges)


# --- the auditor's pages ---------------------------------------------------------------------------


@dataclass
class Incubations:
    url: str
    skipping: Skipping
    admitted: str
    """Admitted to the headquarters base, with a filing started from it still running."""
    filing: str
    refused: str
    """Refused by 河南 branch."""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def incubations(with_bases: Skipping) -> AsyncIterator[Incubations]:  # noqa: F811
    skipping = with_bases
    settings, engine, client = skipping.settings, skipping.engine, skipping.env.client
    app = create_app(
        service=skipping.service,
        fairs=FairService(settings, engine, client),
        contracts=ContractService(settings, engine, client),
        incubations=IncubationService(settings, engine, client),
    )
    admitted, filing, _ = await file_from_incubation(skipping, "园丁社区环保志愿队")
    refused, _ = await apply(skipping, "河南街道剪纸小组", base_code="YJ-HN-FH")
    await until_incubation(client, refused, lambda s: pending(s, "admission"))
    decision = IncubationDecision(admit=False, reasons=["本期席位已满，方向与基地重点不符"], actor=HN)
    await client.get_workflow_handle(refused).execute_update(IncubationWorkflow.decide_admission, decision)
    await until_incubation(client, refused, lambda s: s.phase is IncubationPhase.refused)
    app.state.accounts.open_account(AccountInput(user_id=AUDITOR, name="白若冰", password=PASSWORD), by="test")
    async with serving(app) as url:
        yield Incubations(url, skipping, admitted, filing, refused)


def views_of(incubations: Incubations, case_no: str | None) -> list[str]:
    """The auditor's views of one case, or (None) those of no case: searches and the 查阅记录."""
    with Session(incubations.skipping.engine) as db:
        found = db.exec(select(AuditViewRecord).where(AuditViewRecord.user_id == AUDITOR)).all()
    return [view.page for view in found if view.case_no == case_no]


async def test_an_auditor_finds_an_incubation_reads_it_checks_its_agreement_and_downloads_its_bundle(
    incubations: Incubations, page: Page, tmp_path: Path
) -> None:
    case_no, url, client = incubations.admitted, incubations.url, incubations.skipping.env.client
    events_before = await history_length(client, case_no)
    await page.set_viewport_size(PHONE)
    await sign_in_as(page, url, AUDITOR, "/audit")
    await page.get_by_label("组织名称").fill("环保志愿队")
    await page.get_by_label("办理单位").fill("创新服务基地")
    await page.get_by_label("流程和阶段").select_option(label="孵化：孵化中")
    await page.get_by_role("button", name="查找").click()
    results = page.locator("ul.audit-cases li")
    await expect(results).to_have_count(1)
    row = await results.inner_text()
    assert case_no in row and "孵化 · 园丁社区环保志愿队" in row and HEADQUARTERS in row and "阶段：孵化中" in row
    await page.get_by_label("流程和阶段").select_option(label="孵化：未获准入孵")
    await page.get_by_role("button", name="查找").click()
    await expect(page.get_by_text("没有符合条件的案件")).to_be_visible()
    assert await serious_accessibility_problems(page) == []
    await page.get_by_label("组织名称").fill("")
    await page.get_by_label("办理单位").fill("")
    await page.get_by_label("流程和阶段").select_option(label="孵化（全部阶段）")
    await page.get_by_label("编号").fill(case_no[-6:])
    await page.get_by_role("button", name="查找").click()
    await page.get_by_role("link", name=case_no).click()
    await page.wait_for_url(f"{url}/audit/cases/{case_no}")

    main = await page.get_by_role("main").inner_text()
    assert f"孵化案件 {case_no}" in main and "现在：孵化中（进行中）" in main
    steps = await page.get_by_role("region", name="办理过程").inner_text()
    assert "园丁社区环保志愿队申请入孵" in steps and "张秀兰（" in steps, "who applied, in which role"
    assert "入孵审核中 → 孵化中" in steps and "朴美玲（孵化基地）" in steps, "the admission and who made it"
    assert "T0" not in steps
    temporal = await page.get_by_role("link", name=re.compile("Temporal 管理界面")).get_attribute("href")
    assert temporal and temporal.endswith(f"/workflows/{case_no}")

    documents = page.get_by_role("region", name="文书")
    await documents.get_by_role("button", name="核对存储的文件：入孵协议").click()
    verdict = page.get_by_role("status")
    await expect(verdict).to_contain_text("入孵协议：存储的文件与记录的 SHA-256 一致")
    assert "PDF 一致；HTML 一致" in await verdict.inner_text()

    figure = page.locator("figure.process-diagram")
    await expect(figure.locator("svg")).to_be_visible()
    for phase in ("入孵审核中", "孵化中", "出壳评估中", "已出壳", "未获准入孵"):
        assert await figure.get_by_text(phase, exact=True).count() >= 1, phase
    text = await page.locator("pre.diagram-text").text_content() or ""
    assert "处于「孵化中」" in text and "class ph_incubating current" in text
    assert await serious_accessibility_problems(page) == []
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await shot(page, "audit-incubation-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await figure.screenshot(path=str(SCREENSHOTS / "audit-incubation-diagram.png"))
    await page.set_viewport_size(PHONE)

    async with page.expect_download() as download:
        await page.get_by_role("link", name=re.compile("下载审计包")).click()
    bundle = tmp_path / "bundle.zip"
    await (await download.value).save_as(bundle)
    with zipfile.ZipFile(io.BytesIO(bundle.read_bytes())) as files:
        manifest = json.loads(files.read("manifest.json"))
    assert manifest["process"] == "IncubationWorkflow" and manifest["cases"] == [case_no, incubations.filing]
    assert [d["title"] for d in manifest["documents"] if d["workflow_id"] == case_no] == ["入孵协议"]
    report = await verify_bundle(bundle)
    assert report.passed, report.text()

    assert {"case", "document_check", "bundle"} <= set(views_of(incubations, case_no))
    assert await history_length(client, case_no) == events_before, "viewing leaves the incubation as it was"


async def test_a_refused_incubation_is_found_through_the_api_and_its_refusal_checks_out(
    incubations: Incubations, page: Page
) -> None:
    case_no, url = incubations.refused, incubations.url
    await sign_in_as(page, url, AUDITOR, "/audit")
    found = await page.request.get(f"{url}/api/audit/cases?status=incubation:refused&organization=剪纸")
    assert found.ok
    [row] = (await found.json())["items"]
    assert (row["number"], row["process_name"], row["phase_name"]) == (case_no, "孵化", "未获准入孵")
    assert row["office"] == HENAN
    wrong = await page.request.get(f"{url}/api/audit/cases?status=incubation:hatching")
    assert wrong.status == 422 and "流程和阶段" in (await wrong.json())["message"]

    await page.goto(f"{url}/audit/cases/{case_no}")
    assert "现在：未获准入孵（已办结）" in await page.get_by_role("main").inner_text()
    await page.get_by_role("region", name="文书").get_by_role("button", name="核对存储的文件：不予入孵告知书").click()
    await expect(page.get_by_role("status")).to_contain_text("不予入孵告知书：存储的文件与记录的 SHA-256 一致")
    text = await page.locator("pre.diagram-text").text_content() or ""
    assert "class ph_refused current" in text and "linkStyle 0,1 stroke:#2e7d32" in text, "applied, then refused"
    assert await serious_accessibility_problems(page) == []
    assert "search" in views_of(incubations, None) and "document_check" in views_of(incubations, case_no)
