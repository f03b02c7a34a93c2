"""电子证照 end to end on a time-skipping Temporal server: a certificate issued by a real filing is printed
(pdftoppm), its QR code is decoded from the picture (zxing-cpp) and opened on a phone-sized screen, which
says 有效; the file itself is checked (一致) and an altered copy is not (不一致); an unknown code is 未找到 in
words, and guessing codes from one address is stopped; a certificate past its validity says 已过期 and a
contract re-issued when signed says the first issue is 已被取代."""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import zxingcpp
from PIL import Image
from playwright.async_api import Browser, Page, expect
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import ActivityEnvironment

from activities.documents import DocumentActivities
from api.app import create_app
from schemas.application import Track
from schemas.case import Phase
from schemas.documents import DocumentKind
from schemas.localtime import local_date
from service.accounts import LOCK_MINUTES
from service.common import ServiceError
from service.contracts import ContractService
from service.fairs import FairService
from service.verification import UNKNOWN_CODES_BEFORE_THROTTLE, VerificationService
from store.files import content_path
from store.models import OrganizationRecord
from store.register import RegisterEntry, RegisterFile, load_register
from store.verification_codes import find, grouped
from tests import factories
from tests.browser import PHONE, SCREENSHOTS, serious_accessibility_problems, serving, shot
from tests.conftest import Skipping
from tests.contract_helpers import BUYER, in_force
from tests.helpers import until_state
from tests.test_filing import approve, submit, through_reviews
from tests.test_procurement_documents import REQUESTS as PROCUREMENT
from tests.test_reviewer_pages import SkippingClock


@dataclass
class Counter:
    url: str
    skipping: Skipping
    service: SkippingClock
    case_no: str
    organization_name: str
    issuer_name: str
    document_number: str
    pdf: Path
    qr_url: str


def printed_qr(pdf: Path) -> str:
    """The text of the QR code on the PDF's first page, as a phone reads it from paper: printed at 150 dpi
    (kept with the screenshots, to look at)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    printed = SCREENSHOTS / "verify-certificate-printed"
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(printed)], check=True)
    found = zxingcpp.read_barcodes(Image.open(printed.with_suffix(".png")))
    assert [b.format for b in found] == [zxingcpp.BarcodeFormat.QRCode], found
    return found[0].text


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def counter(skipping: Skipping) -> AsyncIterator[Counter]:
    """The app over the module's server, and one filing approved through to its certificate."""
    settings, engine, client = skipping.settings, skipping.engine, skipping.env.client
    service = SkippingClock(settings, engine, client)
    application = factories.filing()
    applicant, case_no = await submit(service, application)
    await through_reviews(service, case_no)
    await skipping.sleep(timedelta(days=9))
    await until_state(client, case_no, lambda s: s.phase is Phase.decision)
    await approve(service, case_no, "decision", "jg-zhou")
    [certificate] = [d for d in service.case(applicant, case_no).documents if d.kind is DocumentKind.certificate]
    pdf = content_path(settings.documents_dir, certificate.pdf_sha256, "pdf")
    qr_url = printed_qr(pdf)
    assert certificate.issuance and certificate.issuance.document_number
    html = content_path(settings.documents_dir, certificate.html_sha256, "html").read_text(encoding="utf-8")
    issuer_name = re.search(r'<meta name="author" content="([^"]+)">', html)[1]  # type: ignore[index]
    app = create_app(
        service=service,
        fairs=FairService(settings, engine, client),
        contracts=ContractService(settings, engine, client),
    )
    async with serving(app) as url:
        yield Counter(
            url,
            skipping,
            service,
            case_no,
            application.organization_name,
            issuer_name,
            certificate.issuance.document_number,
            pdf,
            qr_url,
        )


async def phone(browser: Browser) -> Page:
    context = await browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    return await context.new_page()


async def test_the_printed_qr_code_opens_the_certificate_on_a_phone_as_valid_and_checks_the_file(
    counter: Counter, browser: Browser, tmp_path: Path
) -> None:
    base = counter.skipping.settings.public_base_url
    assert counter.qr_url.startswith(f"{base}/verify/"), "the QR code leads to this service's public address"
    code = counter.qr_url.removeprefix(f"{base}/verify/")
    assert len(code) == 12 and code.isalnum() and not set(code) & set("01ILO"), code
    page = await phone(browser)
    await page.goto(counter.url + f"/verify/{code}")
    verdict = page.get_by_role("status")
    await expect(verdict).to_contain_text("有效")
    facts = await page.locator("dl.verified").inner_text()
    for shown in (counter.organization_name, counter.issuer_name, counter.document_number, "备案证明"):
        assert shown in facts, (shown, facts)
    assert "年" in facts and not re.search(r"\d{4}-\d{2}-\d{2}", facts), "dates in words, never ISO"
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "nothing overflows a phone"
    assert await serious_accessibility_problems(page) == []
    await shot(page, "verify-phone-valid")

    await page.get_by_label("选择文件").set_input_files(str(counter.pdf))
    await page.get_by_role("button", name="比对").click()
    await expect(page.get_by_role("alert")).to_contain_text("一致")
    await expect(page.get_by_role("alert")).not_to_contain_text("不一致")
    await shot(page, "verify-phone-file-matches")

    altered = tmp_path / "备案证明.pdf"
    altered.write_bytes(counter.pdf.read_bytes().replace(counter.organization_name.encode(), b"X", 1) + b"\n%altered")
    await page.get_by_label("选择文件").set_input_files(str(altered))
    await page.get_by_role("button", name="比对").click()
    await expect(page.get_by_role("alert")).to_contain_text("不一致")
    assert await serious_accessibility_problems(page) == []
    await shot(page, "verify-phone-file-differs")
    await page.context.close()


async def test_a_code_typed_by_hand_is_found_in_any_case_and_grouping_and_an_unknown_one_is_not_found_in_words(
    counter: Counter, browser: Browser
) -> None:
    code = counter.qr_url.rsplit("/", 1)[1]
    page = await phone(browser)
    await page.goto(counter.url + "/verify")
    assert await serious_accessibility_problems(page) == []
    await shot(page, "verify-phone-enter-code")
    await page.get_by_label("验证码").fill(f" {code[:4].lower()}-{code[4:8]} {code[8:]} ")
    await page.get_by_role("button", name="核验").click()
    await expect(page.get_by_role("status")).to_contain_text("有效")

    await page.goto(counter.url + "/verify")
    await page.get_by_label("验证码").fill("ABCD-EFGH-JKMN")
    await page.get_by_role("button", name="核验").click()
    await expect(page.get_by_role("alert")).to_contain_text("未找到这个验证码对应的文件")
    await expect(page.get_by_label("验证码")).to_be_editable()  # to type it again, on the same page
    assert counter.organization_name not in await page.content()
    await shot(page, "verify-phone-not-found")
    await page.context.close()

    async with httpx.AsyncClient(base_url=counter.url) as api:
        found = (await api.get(f"/api/verify/{code}")).json()
        assert found["standing"] == "valid" and found["standing_label"] == "有效"
        assert found["holder"] == counter.organization_name and found["code"] == "-".join(
            [code[:4], code[4:8], code[8:]]
        )
        missing = await api.get("/api/verify/ABCDEFGHJKMN")
        assert missing.status_code == 404 and "未找到" in missing.json()["message"]


async def test_a_certificate_past_its_validity_is_shown_as_expired(counter: Counter, page: Page) -> None:
    code = counter.qr_url.rsplit("/", 1)[1]
    valid_until = (await httpx.AsyncClient(base_url=counter.url).get(f"/api/verify/{code}")).json()["valid_until"]
    assert valid_until, "a 备案证明 is valid for three years"
    try:
        counter.service.offset = datetime.fromisoformat(valid_until) - datetime.now(UTC) + timedelta(days=1)
        await page.goto(counter.url + f"/verify/{code}")
        await expect(page.get_by_role("status")).to_contain_text("已过期")
        await expect(page.get_by_role("status")).to_contain_text("有效期已于")
        await shot(page, "verify-expired")
    finally:
        counter.service.offset = timedelta(0)


async def test_a_contract_reissued_when_signed_supersedes_its_first_issue(counter: Counter, page: Page) -> None:
    contract = await in_force(counter.skipping)
    issued = [
        d
        for d in contract.service.contract(contract.actor(BUYER), contract.contract_no).documents
        if d.kind is DocumentKind.contract
    ]
    assert len(issued) == 2, "issued for signing, then the text both parties signed"
    first, signed = (d.issuance.verification_code for d in issued if d.issuance)
    assert first and signed and first != signed
    await page.goto(counter.url + f"/verify/{first}")
    await expect(page.get_by_role("status")).to_contain_text("已被取代")
    await expect(page.get_by_role("status")).to_contain_text("请以新签发的文本为准")
    assert contract.contract_no in await page.locator("dl.verified").inner_text()
    assert await serious_accessibility_problems(page) == []
    await shot(page, "verify-superseded")
    await page.goto(counter.url + f"/verify/{signed}")
    await expect(page.get_by_role("status")).to_contain_text("有效")


async def test_a_certificate_whose_registration_is_revoked_is_no_longer_valid(counter: Counter, page: Page) -> None:
    """The bureau's register marks the organization as having lost its standing (撤销), as an administrator loads it."""
    with Session(counter.skipping.engine) as db:
        organization = db.get(OrganizationRecord, counter.case_no)
    assert organization is not None and organization.valid_until is not None
    entry = RegisterEntry(
        key=counter.case_no,
        name=organization.name,
        track=Track(organization.track),
        community=organization.community,
        certificate_number=organization.certificate_number,
        approved_on=local_date(organization.approved_at),
        valid_until=local_date(organization.valid_until),
        standing="lost",
        representative_id=organization.representative_id or "rep",
        representative_name=organization.representative_name or "王芳",
    )
    load_register(counter.skipping.engine, RegisterFile(organizations=[entry]))
    await page.goto(counter.url + f"/verify/{counter.qr_url.rsplit('/', 1)[1]}")
    await expect(page.get_by_role("status")).to_contain_text("已失效")
    await expect(page.get_by_role("status")).to_contain_text("已被撤销")
    await shot(page, "verify-revoked")


async def test_a_retried_render_prints_the_same_code_and_a_notice_names_its_addressee(
    engine: Engine, tmp_path: Path
) -> None:
    """Codes go to the kinds someone holds, survive a retry byte for byte, and verify nothing until issued."""
    activities = DocumentActivities(tmp_path, engine)
    award = PROCUREMENT["award"]
    first, retried = [await ActivityEnvironment().run(activities.render_document, award) for _ in range(2)]
    assert first.issuance and first.issuance.verification_code
    assert retried.issuance == first.issuance and retried.pdf_sha256 == first.pdf_sha256
    html = content_path(tmp_path, first.html_sha256, "html").read_text(encoding="utf-8")
    assert grouped(first.issuance.verification_code) in html and 'alt="验证二维码"' in html
    bid = award.lot.bid("B01") if award.lot else None
    record = find(engine, first.issuance.verification_code)
    assert (
        bid and record and record.holder == bid.organization_name and record.reference == first.issuance.document_number
    )
    loser = await ActivityEnvironment().run(activities.render_document, PROCUREMENT["ranked_loser"])
    assert loser.issuance and loser.issuance.verification_code is None, "a result notification is not held"
    with pytest.raises(ServiceError) as refused:
        VerificationService(engine).verify(first.issuance.verification_code, None)
    assert refused.value.kind == "not_found", "rendered but never issued by a workflow"


async def test_guessing_codes_from_one_address_must_wait(counter: Counter) -> None:
    async with httpx.AsyncClient(base_url=counter.url) as api:
        answers = [(await api.get(f"/api/verify/{'A' * 11}{c}")).status_code for c in "23456789ABCDEFGHJKMNPQRST"]
        assert answers[: UNKNOWN_CODES_BEFORE_THROTTLE - 3] == [404] * (UNKNOWN_CODES_BEFORE_THROTTLE - 3)
        assert answers[-1] == 429
        code = counter.qr_url.rsplit("/", 1)[1]
        refused = await api.get(f"/api/verify/{code}")
        assert refused.status_code == 429 and f"{LOCK_MINUTES}分钟后再试" in refused.json()["message"]
