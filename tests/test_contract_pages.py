"""The contract pages in a real browser (Debian's Chromium driven by Playwright) on a phone-sized screen, over a
time-skipping Temporal server: the buyer's plan editor showing live that the payments do not add up, both
parties signing, the supplier's delivery report with an attachment, the buyer's acceptance, finance recording
payments with vouchers (a reused voucher refused, naming the payment that has it), the evaluator's form on the
policy's dimensions, the organizer's single-source approval; other suppliers, departments and districts kept
out; the public 定期公开 showing only what is disclosed; and axe-core finding no serious or critical problem."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from playwright.async_api import Page, expect

from api.app import create_app
from schemas.accounts import AccountInput
from schemas.contracts import ContractPhase, DeliveryInput, TrancheStatus
from service import views
from service.accounts import AccountService
from service.contracts import ContractService
from service.fairs import FairService
from tests.browser import (
    PASSWORD,
    checked,
    fresh_sign_in,
    serving,
    shot,
    until_shown,
)
from tests.conftest import Skipping
from tests.contract_helpers import (
    AMOUNT,
    BUYER,
    EVALUATOR,
    FAILING,
    FINANCE,
    ORGANIZER,
    PASSING,
    SUPPLIER,
    amended_plan,
    in_force,
    single_source,
)

OTHER_SUPPLIER = "org-chunhui"
OTHER_DEPARTMENT = "dept-jy"
OTHER_DISTRICT = "xq-mz-feng"
PEOPLE = {
    BUYER: "金海燕",
    SUPPLIER: "王德福",
    FINANCE: "全永哲",
    EVALUATOR: "南宫明",
    ORGANIZER: "陈洁",
    OTHER_SUPPLIER: "朴春花",
    OTHER_DEPARTMENT: "李文博",
    OTHER_DISTRICT: "冯敏",
}


@dataclass
class Desk:
    url: str
    skipping: Skipping


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(skipping: Skipping) -> AsyncIterator[Desk]:
    """The whole app over the module's time-skipping server, with accounts for each party and overseer."""
    settings, engine, client = skipping.settings, skipping.engine, skipping.env.client
    app = create_app(
        service=skipping.service,
        fairs=FairService(settings, engine, client),
        contracts=ContractService(settings, engine, client),
    )
    accounts = AccountService(settings, engine)
    for user_id, name in PEOPLE.items():
        accounts.open_account(AccountInput(user_id=user_id, name=name, password=PASSWORD), by="test")
    async with serving(app) as url:
        yield Desk(url, skipping)


async def as_user(page: Page, desk: Desk, user_id: str, then: str) -> None:
    await fresh_sign_in(page, desk.url, user_id, then)


async def test_the_plan_editor_shows_live_that_payments_do_not_add_up_and_both_parties_sign(
    desk: Desk, page: Page
) -> None:
    contract = await single_source(desk.skipping)
    await as_user(page, desk, BUYER, "/contracts")
    await checked(page, "contract-list-buyer")
    await page.locator(f'a[href="/contracts/{contract.contract_no}"]').click()
    await page.wait_for_url(f"{desk.url}/contracts/{contract.contract_no}")
    editor = page.get_by_role("region", name="履约计划")
    await page.get_by_label("节点1名称").fill("全年上门服务")
    await page.get_by_label("节点1交付成果（每行一项）").fill("服务记录汇编\n项目总结报告")
    end = await page.get_by_label("合同结束日期").input_value()
    await page.get_by_label("节点1完成日期").fill(end)
    await page.get_by_label("拨付1金额（元）").fill("36000")
    await page.get_by_label("拨付1条件").select_option(label="签约后预付")
    await page.get_by_text("拨付2（可不填，点此填写）").click()
    await page.get_by_label("拨付2金额（元）").fill("50000")
    await page.get_by_label("拨付2条件").select_option(label="终期评价后")
    problems = editor.locator("#plan-problems")
    await expect(problems).to_contain_text("拨付计划合计86,000.00元", timeout=15_000)
    await expect(problems).to_contain_text("120,000.00元不一致")
    assert page.url.endswith(contract.contract_no), "checked live, without leaving the page"
    await checked(page, "contract-plan-editor-problems")

    await page.get_by_label("拨付2金额（元）").fill("84,000")
    await expect(problems).to_contain_text("计划可以提交", timeout=15_000)
    await page.get_by_role("button", name="提交履约计划").click()
    await page.wait_for_url(re.compile(r"done=plan"))
    await until_shown(page, "签署合同（第")
    assert "84,000.00元" in await page.get_by_role("region", name="拨付计划与专帐").inner_text()
    await page.get_by_role("button", name="以购买方身份签署").click()
    await page.wait_for_url(re.compile(r"done=signed"))
    await checked(page, "contract-buyer-signed")

    await as_user(page, desk, SUPPLIER, "/contracts")
    await page.locator(f'a[href="/contracts/{contract.contract_no}"]').click()
    await until_shown(page, "以承接方身份签署")
    assert await page.get_by_role("region", name="履约计划").count() == 0, "the plan editor is the buyer's"
    await checked(page, "contract-supplier-signing")
    await page.get_by_role("button", name="以承接方身份签署").click()
    await contract.until(lambda s: s.phase is ContractPhase.in_force)
    await until_shown(page, "合同履行中")


async def test_a_buyer_accepts_a_report_and_finance_records_the_payments_a_reused_voucher_refused(
    desk: Desk, page: Page
) -> None:
    contract = await in_force(desk.skipping)
    url = f"{desk.url}/contracts/{contract.contract_no}"

    await as_user(page, desk, FINANCE, "/contracts")
    await page.goto(url)
    await page.get_by_label("T1 的拨付凭证号").fill("GK-2026-0001")
    await page.get_by_role("button", name="登记拨付").click()
    await contract.until(lambda s: s.tranche("T1").status is TrancheStatus.paid)
    await until_shown(page, "GK-2026-0001，")

    await as_user(page, desk, SUPPLIER, f"/contracts/{contract.contract_no}")
    report = page.get_by_role("region", name=re.compile("提交履约报告"))
    await report.get_by_label("履约情况").fill("本节点上门服务320人次，建立服务档案80份，详见附件。")
    await report.get_by_label(re.compile("附件")).set_input_files(
        files=[{"name": "服务记录.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7 service records"}]
    )
    await checked(page, "contract-supplier-report")
    await report.get_by_role("button", name="提交履约报告").click()
    await page.wait_for_url(re.compile(r"done=reported"))
    await contract.until(lambda s: any(t.step == "acceptance" for t in s.open_tasks))

    await as_user(page, desk, BUYER, f"/contracts/{contract.contract_no}")
    await until_shown(page, "验收履约报告")
    milestone = await page.get_by_role("region", name="服务节点").inner_text()
    assert "本节点上门服务320人次" in milestone
    attachment = await page.get_by_role("link", name="打开第1次报告的附件1").get_attribute("href")
    assert attachment and attachment.startswith(f"/api/contracts/{contract.contract_no}/attachments/")
    served = await page.request.get(desk.url + attachment)
    assert served.ok and await served.body() == b"%PDF-1.7 service records", "the buyer reads what was attached"
    await page.get_by_role("radio", name="退回重新提交").check()
    await page.get_by_role("button", name="提交验收意见").click()
    assert "退回履约报告必须写明理由" in await page.get_by_role("alert").inner_text()
    await checked(page, "contract-buyer-review-refused")
    await page.get_by_role("radio", name="验收通过").check()
    await page.get_by_role("button", name="提交验收意见").click()
    await page.wait_for_url(re.compile(r"done=reviewed"))
    await contract.until(lambda s: s.tranche("T2").status is TrancheStatus.instructed)

    await as_user(page, desk, FINANCE, f"/contracts/{contract.contract_no}")
    await until_shown(page, "T2 的拨付凭证号")
    await page.get_by_label("T2 的拨付凭证号").fill("GK-2026-0001")
    await page.get_by_role("button", name="登记拨付").click()
    refusal = await page.get_by_role("alert").inner_text()
    assert "凭证号 GK-2026-0001 已用于T1（36,000.00元，" in refusal and "请核对凭证号" in refusal
    assert await page.get_by_label("T2 的拨付凭证号").input_value() == "GK-2026-0001", "what was typed is kept"
    assert (await contract.state()).tranche("T2").status is TrancheStatus.instructed
    await checked(page, "contract-finance-voucher-reused")
    await page.get_by_label("T2 的拨付凭证号").fill("GK-2026-0002")
    await page.get_by_role("button", name="登记拨付").click()
    await contract.until(lambda s: s.tranche("T2").status is TrancheStatus.paid)
    await until_shown(page, "GK-2026-0002，")
    ledger = await page.get_by_role("region", name="拨付计划与专帐").inner_text()
    assert re.search(r"已拨付\s*84,000\.00元", ledger) and re.search(r"尚未拨付\s*36,000\.00元", ledger)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", ledger), "no raw ISO times"
    await checked(page, "contract-finance-ledger")

    await contract.until(lambda s: any(t.step == "evaluation" for t in s.open_tasks))
    await as_user(page, desk, EVALUATOR, f"/contracts/{contract.contract_no}")
    await until_shown(page, "提交绩效评价")
    form = page.get_by_role("region", name="中期绩效评价")
    assert "满分 40 分" in await form.inner_text()
    for label, points in zip(("产出", "效果", "管理"), PASSING.values(), strict=True):
        await form.get_by_label(re.compile(label)).fill(str(points))
    await form.get_by_label(re.compile("服务对象满意率")).fill("95")
    await form.get_by_label("满意度调查人数").fill("60")
    await form.get_by_label("评价意见").fill("服务记录完整，老人反馈良好。")
    await checked(page, "contract-evaluation-form")
    await form.get_by_role("button", name="提交绩效评价").click()
    await page.wait_for_url(re.compile(r"done=evaluated"))
    await until_shown(page, "92分，优（优秀）")
    await shot(page, "contract-evaluated")


async def test_others_reach_nothing_and_the_public_sees_only_what_is_disclosed(desk: Desk, page: Page) -> None:
    contract = await in_force(desk.skipping)
    url = f"{desk.url}/contracts/{contract.contract_no}"
    supplier = contract.actor(SUPPLIER)
    records = desk.skipping.service.save_attachment(supplier, "服务记录.pdf", [b"%PDF-1.7 records"])
    report = DeliveryInput(summary="本节点上门服务320人次，详见附件。", attachments=[records.sha256])
    await contract.service.submit_delivery(supplier, contract.contract_no, "M1", report)
    await contract.until(lambda s: bool(s.milestone("M1").reports))
    for outsider in (OTHER_SUPPLIER, OTHER_DEPARTMENT, OTHER_DISTRICT):
        await as_user(page, desk, outsider, "/contracts")
        assert "独居老人居家养老上门服务" not in await page.get_by_role("main").inner_text(), outsider
        answer = await page.goto(url)
        assert answer is not None and answer.status == 404, outsider
        assert "不存在" in await page.get_by_role("alert").inner_text()
        assert "独居老人" not in await page.get_by_role("main").inner_text()
    await checked(page, "contract-not-found")

    leaked = await page.request.get(f"{desk.url}/api/contracts/{contract.contract_no}/attachments/{records.sha256}")
    assert leaked.status == 404 and b"%PDF" not in await leaked.body()
    token = await page.locator("form.sign-out input[name=csrf_token]").input_value()
    paying = await page.request.post(
        url + "/disbursement", form={"csrf_token": token, "tranche_id": "T1", "voucher": "GK-OUTSIDER"}
    )
    assert paying.status == 404 and "GK-OUTSIDER" not in await paying.text()
    await as_user(page, desk, OTHER_DEPARTMENT, "/contracts")
    token = await page.locator("form.sign-out input[name=csrf_token]").input_value()
    paying = await page.request.post(
        url + "/disbursement", form={"csrf_token": token, "tranche_id": "T1", "voucher": "GK-DEPT"}
    )
    assert paying.status == 404
    assert (await contract.state()).tranche("T1").status is TrancheStatus.instructed, "no trace of the refused payments"

    await page.context.clear_cookies()
    await page.goto(url)
    await page.wait_for_url(re.compile(r"/sign-in\?next="))
    await page.goto(desk.url + "/disclosure/contracts")
    listed = page.locator("li.card", has=page.get_by_role("heading", name="独居老人居家养老上门服务")).first
    text = await listed.inner_text()
    assert contract.contract_no in (await page.get_by_role("main").inner_text())
    assert "延吉市卫生健康局" in text and "120,000.00元" in text and "单一来源采购" in text
    main = await page.get_by_role("main").inner_text()
    assert "GK-" not in main and "上门服务320人次" not in main and "验收" not in main, (
        "vouchers and reports are not disclosed"
    )
    await checked(page, "contract-disclosure-public")


async def test_the_organizer_approves_a_single_source_purchase(desk: Desk, page: Page) -> None:
    contract = await single_source(desk.skipping, approve=False)
    await as_user(page, desk, ORGANIZER, "/contracts")
    await page.goto(f"{desk.url}/contracts/{contract.contract_no}")
    approval = page.get_by_role("region", name="审批单一来源采购")
    await approval.get_by_role("radio", name="不同意").check()
    await approval.get_by_role("button", name="提交审批意见").click()
    assert "必须写明理由" in await page.get_by_role("alert").inner_text()
    assert await page.get_by_role("radio", name="不同意").is_checked(), "the choice is kept"
    assert "唯一具备医养结合服务能力" in await page.get_by_role("region", name="审批单一来源采购").inner_text()
    await checked(page, "contract-organizer-approval")
    await page.get_by_role("region", name="审批单一来源采购").get_by_role("radio", name="同意", exact=True).check()
    await page.get_by_role("button", name="提交审批意见").click()
    await page.wait_for_url(re.compile(r"done=approved"))
    await contract.until(lambda s: s.phase is ContractPhase.drafting)
    await until_shown(page, "购买方起草履约计划")


async def test_the_organizer_approves_an_increase_beyond_the_award(desk: Desk, page: Page) -> None:
    contract = await in_force(desk.skipping)
    await contract.disburse("T1")
    await contract.deliver("M1")
    state = await contract.evaluate(PASSING)
    no, service = contract.contract_no, contract.service
    increase = amended_plan(state, AMOUNT // 10, ["经街道复核新增10名失能老人纳入服务范围"])
    await service.propose_amendment(contract.actor(BUYER), no, increase)
    await service.answer_amendment(contract.actor(SUPPLIER), no, 1, views.AmendmentAnswerInput(agree=True))
    await contract.until(lambda s: any(t.step == "amendment_approval" for t in s.open_tasks))

    await as_user(page, desk, ORGANIZER, f"/contracts/{no}")
    await until_shown(page, "同意追加")
    approval = page.get_by_role("region", name=re.compile("审批合同变更"))
    text = await approval.inner_text()
    assert "由 120,000.00元 变更为 132,000.00元" in text and "新增10名失能老人" in text
    await approval.get_by_role("radio", name="同意追加").check()
    await approval.get_by_label(re.compile("理由")).fill("新增服务对象经街道复核属实，追加金额在10%以内")
    await checked(page, "contract-organizer-amendment")
    await approval.get_by_role("button", name="提交审批意见").click()
    await page.wait_for_url(re.compile(r"done=approved"))
    await contract.until(lambda s: s.amount_fen == AMOUNT + AMOUNT // 10)
    await until_shown(page, "132,000.00元")
    assert await page.get_by_role("region", name=re.compile("审批合同变更")).count() == 0


async def test_the_supplier_reports_rectification_and_the_buyer_suspends_resumes_and_terminates(
    desk: Desk, page: Page
) -> None:
    contract = await in_force(desk.skipping)
    await contract.disburse("T1")
    await contract.deliver("M1")
    await contract.evaluate(FAILING, satisfaction=50)
    await contract.until(lambda s: s.phase is ContractPhase.rectification)
    no = contract.contract_no

    await as_user(page, desk, SUPPLIER, f"/contracts/{no}")
    await until_shown(page, "提交整改报告")
    rectification = page.get_by_role("region", name="提交整改报告")
    assert "整改事项" in await rectification.inner_text()
    await rectification.get_by_label("整改情况").fill("已补齐服务档案，增加周末探访，服务记录逐户核对。")
    await rectification.get_by_label(re.compile("附件")).set_input_files(
        files=[{"name": "整改记录.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7 rectification"}]
    )
    await checked(page, "contract-supplier-rectification")
    await rectification.get_by_role("button", name="提交整改报告").click()
    await page.wait_for_url(re.compile(r"done=rectified"))
    await contract.until(lambda s: s.rectification is not None and s.rectification.report is not None)
    await until_shown(page, "已补齐服务档案")
    attachment = await page.get_by_role("link", name="打开整改报告的附件1").get_attribute("href")
    assert (await page.request.get(desk.url + str(attachment))).ok

    await as_user(page, desk, BUYER, f"/contracts/{no}")
    await page.get_by_label("中止理由（每行一条）").fill("服务场所装修，暂停上门服务一个月")
    await page.get_by_role("button", name="中止合同").click()
    await contract.until(lambda s: s.phase is ContractPhase.suspended)
    await until_shown(page, "恢复履行")
    await checked(page, "contract-suspended")
    await page.get_by_label("恢复理由（每行一条）").fill("装修完成，恢复上门服务")
    await page.get_by_role("button", name="恢复履行").click()
    await contract.until(lambda s: s.phase is ContractPhase.evaluation)  # back to the re-evaluation it was in

    await page.goto(f"{desk.url}/contracts/{no}")
    await page.get_by_role("button", name="终止合同").click()
    assert await page.get_by_label("终止理由（每行一条）").evaluate("e => !e.validity.valid"), (
        "the browser asks for a reason"
    )
    await page.get_by_label("终止理由（每行一条）").fill("承接方整改后复评仍不合格")
    await page.get_by_role("button", name="终止合同").click()
    await contract.until(lambda s: s.phase is ContractPhase.terminated)
    await until_shown(page, "合同已终止")
    assert "不再拨付" in await page.get_by_role("region", name="拨付计划与专帐").inner_text()
    assert await page.get_by_role("button", name="终止合同").count() == 0
    await checked(page, "contract-terminated")
