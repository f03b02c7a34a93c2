"""The register remembers incubation, and a fair's screening and ranking use it as the policy says: an
organization that left a base without graduating is barred for a while, a graduate ranks first on a tie."""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect
from sqlmodel import Session

from api.app import create_app
from rules.eligibility import incubation_checks
from schemas.accounts import AccountInput
from schemas.documents import DocumentKind, DocumentRef
from schemas.incubation import IncubationFairRules, IncubationHistory
from schemas.localtime import SHANGHAI, date_in_words
from schemas.procurement import LotPhase, OrganizationFacts
from service.accounts import AccountService
from service.fairs import FairService
from store import bases
from store.files import content_path
from store.models import IncubationRecord
from tests.browser import PASSWORD, PHONE, serious_accessibility_problems, serving, shot, sign_in_as
from tests.conftest import GATEWAY, PROJECT_ROOT, Skipping
from tests.fair_helpers import published_fair
from tests.helpers import keep_golden, until_fair, until_lot

SAMPLE_BASES = PROJECT_ROOT / "directory" / "sample-bases.yaml"
RULE = "《延吉市社区社会组织备案登记与孵化培育规则》（2026.12）孵化培育·社洽会公平竞争条款"


def incubated(skipping: Skipping, organization: str, outcome: str | None, admitted: datetime, ended: datetime | None, **state: object) -> None:
    """An incubation as its workflow's projection leaves it in the read model (the source of the register's history)."""
    with Session(skipping.engine) as session:
        session.add(
            IncubationRecord(
                case_no=f"FH-{organization}-{admitted:%m%d}", base_code="YJ-JG-FH", jurisdiction="YJ-JG", group_name=organization,
                organization=organization, representative_id="rep", phase=outcome or "incubating", revision=3,
                admitted_at=admitted, ended_at=ended, outcome=outcome, updated_at=ended or admitted,
                state={"reasons": [], "documents": [], **state},
            )
        )
        session.commit()


def document_text(skipping: Skipping, document: DocumentRef) -> str:
    """The issued PDF's text without whitespace or the page footers (社洽会编号：… — 2 —), where a sentence may break."""
    pdf = content_path(skipping.settings.documents_dir, document.pdf_sha256, "pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"[\u4e00-\u9fff]{2,6}编号：[-A-Z0-9]+—\d+—", "", re.sub(r"\s+", "", text))


@pytest.fixture(scope="module")
def register_with_incubations(skipping: Skipping) -> Skipping:
    bases.load_bases(skipping.engine, bases.read_bases_file(SAMPLE_BASES))
    return skipping


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(register_with_incubations: Skipping) -> AsyncIterator[str]:
    skipping = register_with_incubations
    app = create_app(service=skipping.service, fairs=FairService(skipping.settings, skipping.engine, skipping.env.client))
    accounts = AccountService(skipping.settings, skipping.engine)
    for user_id, name in {"mz-chen": "陈洁", "org-hemei": "李红梅"}.items():
        accounts.open_account(AccountInput(user_id=user_id, name=name, password=PASSWORD), by="test")
    async with serving(app) as url:
        yield url


async def seen_by(page: Page, url: str, user_id: str, path: str, name: str) -> None:
    await page.context.clear_cookies()
    await page.set_viewport_size(PHONE)
    await sign_in_as(page, url, user_id, path)
    assert await serious_accessibility_problems(page) == [], name
    await shot(page, name)


async def test_an_exited_organization_is_barred_and_a_graduate_ranks_first_on_a_tie(
    register_with_incubations: Skipping, desk: str, page: Page
) -> None:
    skipping = register_with_incubations
    now = await skipping.env.get_current_time()
    incubated(skipping, "YJ-REG-0003", "exited", now - timedelta(days=200), now - timedelta(days=60), reasons=["连续三次未参加导师辅导"])
    incubated(skipping, "YJ-REG-0002", "graduated", now - timedelta(days=300), now - timedelta(days=30))
    fair = await published_fair(skipping)
    lot_no = fair.lots[0]
    published = await until_fair(fair.client, fair.fair_no, lambda s: any(d.kind is DocumentKind.demand_catalogue for d in s.documents))
    catalogue = next(d for d in published.documents if d.kind is DocumentKind.demand_catalogue)
    text = document_text(skipping, catalogue)
    assert f"依据{RULE}：投标截止前12个月内退出孵化基地（未出壳）的社会组织，资格审查不予通过；最终得分相同的，经孵化基地出壳的社会组织排名在前" in text
    await fair.bid(lot_no, "YJ-REG-0001", 25_000_000)
    await fair.bid(lot_no, "YJ-REG-0002", 26_000_000)  # dearer: without the preference it would rank behind 0001
    await fair.bid(lot_no, "YJ-REG-0003", 24_000_000)
    await fair.bid(lot_no, "XQ-REG-0001", 20_000_000)
    state = await fair.close_bidding(lot_no)

    screening = {s.organization: s for s in state.screenings}
    assert not screening["YJ-REG-0003"].eligible
    failure = "；".join(screening["YJ-REG-0003"].failures)
    assert "退出" in failure and "不足12个月" in failure and RULE in failure and "连续三次未参加导师辅导" in history(screening["YJ-REG-0003"])
    assert screening["YJ-REG-0002"].eligible and screening["YJ-REG-0002"].graduated
    assert "已出壳" in history(screening["YJ-REG-0002"])
    assert screening["XQ-REG-0001"].eligible and not screening["XQ-REG-0001"].graduated
    assert [c.condition for c in screening["XQ-REG-0001"].checks if "孵化" in c.condition] == []

    same = {"plan": 30, "capacity": 25, "budget": 15, "reputation": 8}
    ids = {org: await fair.bid_id(lot_no, org) for org in ("YJ-REG-0001", "YJ-REG-0002", "XQ-REG-0001")}
    points = {ids["YJ-REG-0001"]: same, ids["YJ-REG-0002"]: same, ids["XQ-REG-0001"]: {**same, "plan": 20}}
    await fair.score_all(lot_no, points)
    ranked = await until_lot(fair.client, lot_no, lambda s: s.ranking is not None and s.phase is not LotPhase.evaluation)
    assert ranked.ranking is not None
    order = [e.organization for e in ranked.ranking.entries]
    assert order == ["YJ-REG-0002", "YJ-REG-0001", "XQ-REG-0001"]
    second = ranked.ranking.entries[1]
    assert second.tie_note == f"与第1名得分相同，第1名为孵化出壳的社会组织，依据{RULE}优先，排其后"
    assert ranked.ranking.tie_break.startswith("最终得分相同的，孵化出壳的社会组织排前")
    assert ranked.ranking.entries[2].tie_note is None  # a lower score: nothing to break
    report = next(d for d in ranked.documents if d.kind is DocumentKind.evaluation_report)
    assert re.sub(r"\s+", "", second.tie_note) in document_text(skipping, report)
    await keep_golden(fair.client, lot_no, "lot_incubation_barred_graduate_first")

    await seen_by(page, desk, "mz-chen", f"/lots/{lot_no}", "lot-incubation-screening-ranking")
    screening_section = page.get_by_role("region", name="资格审查结果")
    await expect(screening_section).to_contain_text("✗ 不符合：退出孵化限制")
    await expect(screening_section).to_contain_text("✓ 符合：孵化经历（“延吉市夕阳红养老服务协会”")
    await expect(page.get_by_role("region", name="评审结果")).to_contain_text(second.tie_note)


def history(screening) -> str:  # type: ignore[no-untyped-def]
    return next(c.detail for c in screening.checks if c.condition == "孵化经历")


async def test_the_register_entry_lists_each_incubation_and_how_it_ended(
    register_with_incubations: Skipping, desk: str, page: Page
) -> None:
    skipping = register_with_incubations
    now = await skipping.env.get_current_time()
    incubated(skipping, "YJ-REG-0005", "graduated", now - timedelta(days=400), now - timedelta(days=100))
    incubated(skipping, "YJ-REG-0005", None, now - timedelta(days=20), None)
    fairs = FairService(skipping.settings, skipping.engine, skipping.env.client)
    app = create_app(service=skipping.service, fairs=fairs)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shezu.test", headers=GATEWAY) as api:
        entry = (await api.get("/api/my/organizations", headers={"X-User-Id": "org-hemei"})).json()["items"][0]
        unincubated = (await api.get("/api/my/organizations", headers={"X-User-Id": "org-chunhui"})).json()["items"][0]
    assert entry["key"] == "YJ-REG-0005"
    assert [(h["base_name"], h["status"]) for h in entry["incubations"]] == [
        ("建工街道社会组织孵化分基地", "已出壳"), ("建工街道社会组织孵化分基地", "孵化中"),
    ]
    ended = (now - timedelta(days=100)).astimezone(SHANGHAI).date()
    assert f"{date_in_words(ended)}已出壳" in entry["incubations"][0]["text"]
    assert entry["incubations"][1]["text"].endswith("孵化中")
    assert unincubated["incubations"] == []

    await seen_by(page, desk, "org-hemei", "/my/cases", "my-cases-register-incubation")
    entry_card = page.get_by_role("region", name="我代表的社会组织（社会组织名录）")
    await expect(entry_card).to_contain_text("延吉市和美家庭服务中心")
    await expect(entry_card).to_contain_text(f"已出壳：{date_in_words((now - timedelta(days=400)).astimezone(SHANGHAI).date())}入孵建工街道社会组织孵化分基地")
    await expect(entry_card).to_contain_text("孵化中：")


def test_the_bar_counts_whole_months_back_from_the_deadline_and_only_exits_bar() -> None:
    rules = IncubationFairRules(exited_bar_months=12, prefer_graduates=True, basis="孵化规则第八条")
    deadline = date(2026, 12, 14)

    def facts(*history: IncubationHistory) -> OrganizationFacts:
        return OrganizationFacts(
            key="YJ-REG-0009", name="延吉市示例服务中心", track="service_institution", community_full_name="建工街道春光社区",
            jurisdiction_chain=["YJ", "YJ-JG", "YJ-JG-CG"], standing="good", incubations=list(history),
        )

    def left(outcome: str, day: date) -> IncubationHistory:
        ended = datetime.combine(day, datetime.min.time(), SHANGHAI)
        return IncubationHistory(
            case_no="FH-1", base_code="YJ-FH", base_name="延吉市社会组织孵化及创新服务基地", admitted_at=ended - timedelta(days=180),
            outcome=outcome, ended_at=ended, reasons=["未按计划开展活动"] if outcome == "exited" else [],
        )

    def barred(organization: OrganizationFacts) -> list[str]:
        return [c.detail for c in incubation_checks(organization, deadline, rules) if not c.met]

    assert barred(facts(left("exited", date(2025, 12, 15)))) != []  # the deadline is the last day of the 12 months
    assert barred(facts(left("exited", date(2025, 12, 14)))) == []  # 12 whole months ago: the bar has run out
    assert barred(facts(left("graduated", date(2026, 12, 1)))) == []
    assert incubation_checks(facts(), deadline, rules) == []  # never incubated: nothing to say
    assert barred(facts(left("exited", date(2026, 6, 1)))) and incubation_checks(facts(left("exited", date(2026, 6, 1))), deadline, None)[0].met
