"""The hub's own contract: a milestone counted in its bases' incubation outcomes is reported only once the
target is reached, carries the figures and the organizations to the buyer, and is then paid as any other."""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect
from sqlmodel import Session

from api.app import create_app
from schemas.accounts import AccountInput
from schemas.contracts import ContractPhase, TrancheStatus
from schemas.documents import DocumentKind
from service import views
from service.accounts import AccountService
from service.contracts import ContractService
from store import bases
from store.files import content_path
from store.models import IncubationRecord
from tests.browser import PASSWORD, PHONE, serious_accessibility_problems, serving, shot, sign_in_as
from tests.conftest import GATEWAY, PROJECT_ROOT, Skipping
from tests.contract_helpers import BUYER, ORGANIZER, REPORT, Contract, plan
from tests.helpers import keep_golden

SAMPLE_BASES = PROJECT_ROOT / "directory" / "sample-bases.yaml"
HUB, HUB_ORG = "org-chunhui", "YJ-REG-0001"
"""延吉市春晖社会工作服务中心 runs the headquarters YJ-FH and the 建工 branch (directory/sample-bases.yaml)."""


def graduated(skipping: Skipping, case_no: str, base_code: str, on: datetime) -> None:
    """A graduation as the incubation workflow's projection leaves it in the read model."""
    with Session(skipping.engine) as session:
        session.add(
            IncubationRecord(
                case_no=case_no, base_code=base_code, jurisdiction="YJ", group_name=f"{case_no}读书会", organization=None,
                representative_id="rep", phase="graduated", revision=5, admitted_at=on - timedelta(days=200), ended_at=on,
                outcome="graduated", updated_at=on, state={},
            )
        )
        session.commit()


@pytest.fixture(scope="module")
def hub(skipping: Skipping) -> Skipping:
    bases.load_bases(skipping.engine, bases.read_bases_file(SAMPLE_BASES))
    return skipping


def hub_plan(start, amount: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """The helpers' plan, its first milestone 2 graduates of the headquarters."""
    body = plan(start, amount).model_dump(mode="json")
    body["milestones"][0]["deliverable"] = {"measure": "graduated", "count": 2, "bases": ["YJ-FH"]}
    return body


async def hub_contract(service: ContractService, skipping: Skipping) -> str:
    """A single-source contract with the hub for running the headquarters, approved and in drafting."""
    request = views.SingleSourceInput(
        title="延吉市社会组织孵化及创新服务基地运营",
        service_content="运营孵化基地总部：入孵评审、导师辅导、备案登记指导和出壳评估",
        supplier=HUB_ORG, amount_fen=6_000_000, duration_months=12,
        reasons=["春晖是本市唯一具备孵化基地运营经验的枢纽型社会组织"],
    )
    contract_no = (await service.single_source(service.actor(BUYER), request)).contract_no
    contract = Contract(service, skipping.env.client, skipping, contract_no)
    await contract.until(lambda s: s.phase is ContractPhase.approval and s.open_tasks)
    await service.approve_single_source(service.actor(ORGANIZER), contract_no, views.ApprovalInput(approve=True))
    await contract.until(lambda s: s.phase is ContractPhase.drafting)
    return contract_no


async def test_a_graduation_target_is_refused_short_accepted_when_reached_then_paid(hub: Skipping) -> None:
    skipping = hub
    service = ContractService(skipping.settings, skipping.engine, skipping.env.client)
    contract_no = await hub_contract(service, skipping)
    contract = Contract(service, skipping.env.client, skipping, contract_no)
    start = await contract.today()
    now = await skipping.env.get_current_time()

    app = create_app(service=skipping.service, contracts=service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shezu.test", headers=GATEWAY) as api:
        buyer, supplier = {"X-User-Id": BUYER}, {"X-User-Id": HUB}
        wrong = hub_plan(start, 6_000_000)
        wrong["milestones"][0]["deliverable"]["bases"] = ["YJ-HN-FH", "YJ-XX"]
        refused = await api.post(f"/api/contracts/{contract_no}/plan", json=wrong, headers=buyer)
        assert refused.status_code == 422
        assert refused.json()["details"] == [
            "节点1：河南街道社会组织孵化分基地（YJ-HN-FH）不由承接方「延吉市春晖社会工作服务中心」运营，不能计入本合同",
            "节点1：孵化基地 YJ-XX 不存在，请填写基地代码（如 YJ-FH）",
        ]
        assert (await api.post(f"/api/contracts/{contract_no}/plan", json=hub_plan(start, 6_000_000), headers=buyer)).status_code == 200
        await contract.until(lambda s: s.phase is ContractPhase.signing)
        await service.sign(service.actor(BUYER), contract_no, views.SigningInput(party="buyer"))
        await service.sign(service.actor(HUB), contract_no, views.SigningInput(party="supplier"))
        signed = await contract.until(lambda s: s.phase is ContractPhase.in_force and any(d.kind is DocumentKind.contract for d in s.documents))
        document = next(d for d in reversed(signed.documents) if d.kind is DocumentKind.contract)
        pdf = content_path(skipping.settings.documents_dir, document.pdf_sha256, "pdf")
        text = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout)
        assert "孵化成果：合同期内已出壳2家（计入孵化基地YJ-FH）" in text  # the table cell wraps after it

        amended = {"plan": wrong, "reasons": ["增加计入的孵化基地"]}
        refused = await api.post(f"/api/contracts/{contract_no}/amendments", json=amended, headers=buyer)
        assert refused.status_code == 422 and "不由承接方「延吉市春晖社会工作服务中心」运营" in refused.json()["message"]

        graduated(skipping, f"FH-{contract_no}-1", "YJ-FH", now + timedelta(hours=1))
        graduated(skipping, f"FH-{contract_no}-old", "YJ-FH", now - timedelta(days=3))  # before the term: not counted
        graduated(skipping, f"FH-{contract_no}-hn", "YJ-HN-FH", now + timedelta(hours=1))  # another hub's base
        view = (await api.get(f"/api/contracts/{contract_no}", headers=buyer)).json()
        assert view["progress"]["M1"]["reached"] == 1 and view["progress"]["M1"]["target"] == 2
        short = await api.post(f"/api/contracts/{contract_no}/milestones/M1/report", json=REPORT.model_dump(mode="json"), headers=supplier)
        assert short.status_code == 409
        assert short.json()["message"] == "节点M1要求已出壳2家，合同期内目前已出壳1家，还差1家，达到后再提交履约报告"
        assert (await contract.state()).milestone("M1").reports == []  # type: ignore[union-attr]

        graduated(skipping, f"FH-{contract_no}-2", "YJ-FH", now + timedelta(hours=2))
        sent = await api.post(f"/api/contracts/{contract_no}/milestones/M1/report", json=REPORT.model_dump(mode="json"), headers=supplier)
        assert sent.status_code == 200, sent.text

    state = await contract.until(lambda s: any(t.step == "acceptance" and t.subject == "M1" for t in s.open_tasks))
    progress = state.milestone("M1").reports[0].progress  # type: ignore[union-attr]
    assert progress is not None and progress.text == "已出壳 2/2 家"
    assert [o.case_no for o in progress.organizations] == [f"FH-{contract_no}-1", f"FH-{contract_no}-2"]
    await service.review_delivery(service.actor(BUYER), contract_no, "M1", views.DeliveryReviewInput(accept=True))
    state = await contract.until(lambda s: s.payment("T2").status is TrancheStatus.instructed)
    paid = await contract.disburse("T2")
    assert paid.payment("T2").status is TrancheStatus.paid
    await keep_golden(skipping.env.client, contract_no, "contract_incubation_milestone_paid")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(hub: Skipping) -> AsyncIterator[str]:
    settings, engine, client = hub.settings, hub.engine, hub.env.client
    app = create_app(service=hub.service, contracts=ContractService(settings, engine, client))
    accounts = AccountService(settings, engine)
    for user_id, name in {BUYER: "金海燕", HUB: "朴春花"}.items():
        accounts.open_account(AccountInput(user_id=user_id, name=name, password=PASSWORD), by="test")
    async with serving(app) as url:
        yield url


async def test_the_buyer_sets_a_target_in_the_plan_editor_and_the_supplier_sees_how_many_more(hub: Skipping, desk: str, page: Page) -> None:
    service = ContractService(hub.settings, hub.engine, hub.env.client)
    contract_no = await hub_contract(service, hub)
    contract = Contract(service, hub.env.client, hub, contract_no)
    await page.set_viewport_size(PHONE)
    await sign_in_as(page, desk, BUYER, f"/contracts/{contract_no}")
    # the other test's graduations are at the headquarters; this contract counts the 建工 branch
    await page.get_by_label("节点1名称").fill("第一批组织出壳")
    await page.get_by_label("节点1交付成果（每行一项）").fill("出壳评估报告")
    await page.get_by_label("节点1完成日期").fill(await page.get_by_label("合同结束日期").input_value())
    await page.get_by_label("节点1孵化成果指标（孵化基地运营合同适用）").select_option(label="已出壳")
    await page.get_by_label("节点1目标数（家，合同期内）").fill("2")
    await page.get_by_label("节点1计入的孵化基地（基地代码，多个用空格分隔，如 YJ-FH YJ-JG-FH）").fill("yj-fh YJ-HN-FH")
    await page.get_by_label("拨付1金额（元）").fill("60000")
    await page.get_by_label("拨付1条件").select_option(label="节点验收后")
    await page.get_by_label("拨付1对应节点（条件为节点验收时）").select_option(label="节点1")
    problems = page.locator("#plan-problems")
    await expect(problems).to_contain_text("河南街道社会组织孵化分基地（YJ-HN-FH）不由承接方", timeout=15_000)
    await page.get_by_label("节点1计入的孵化基地（基地代码，多个用空格分隔，如 YJ-FH YJ-JG-FH）").fill("YJ-JG-FH")
    await expect(problems).to_contain_text("计划可以提交", timeout=15_000)
    assert await serious_accessibility_problems(page) == []
    await shot(page, "contract-hub-plan-editor")
    await page.get_by_role("button", name="提交履约计划").click()
    await page.wait_for_url(re.compile(r"done=plan"))
    await contract.until(lambda s: s.phase is ContractPhase.signing)
    await service.sign(service.actor(BUYER), contract_no, views.SigningInput(party="buyer"))
    await service.sign(service.actor(HUB), contract_no, views.SigningInput(party="supplier"))
    await contract.until(lambda s: s.phase is ContractPhase.in_force)
    graduated(hub, f"FH-{contract_no}-1", "YJ-JG-FH", await hub.env.get_current_time() + timedelta(hours=1))

    await page.context.clear_cookies()
    await sign_in_as(page, desk, HUB, f"/contracts/{contract_no}")
    milestones = page.get_by_role("region", name="服务节点")
    await expect(milestones).to_contain_text("合同期内已出壳2家（计入孵化基地 YJ-JG-FH） · 目前已出壳 1/2 家，还差1家")
    await page.get_by_label("履约情况").fill("本节点已有1个组织通过出壳评估。")
    await page.get_by_role("button", name="提交履约报告").click()
    await expect(page.get_by_role("main")).to_contain_text("还差1家，达到后再提交履约报告")
    assert await serious_accessibility_problems(page) == []
    await shot(page, "contract-hub-report-short")
