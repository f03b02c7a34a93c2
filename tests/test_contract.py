"""政府购买服务合同 on a real (time-skipping) Temporal server: signing, delivery and acceptance, payment
by progress into the 专帐 ledger, performance evaluation with 整改, 以奖代补, amendments, suspension,
termination, continue-as-new, and who may do what."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.contracts import ContractActivities
from audit.bundle import build_bundle, verify_bundle, write_bundle
from audit.source import fetch_case_tree
from rules.contracts import plan_problems, term_end
from rules.eligibility import screen
from rules.policy_files import policy_in_force
from schemas.contracts import (
    AmendmentStatus,
    ContractBasis,
    ContractPhase,
    EvaluationKind,
    LedgerInstruction,
    MilestoneStatus,
    TrancheStatus,
)
from schemas.documents import DocumentRef
from schemas.localtime import local_text
from schemas.money import yuan
from schemas.procurement import Bid, Eligibility
from service import views
from service.common import ServiceError
from settings import PROJECT_ROOT, Settings
from store import register
from store.db import make_engine, migrate
from store.files import content_path
from store.models import ContractRecord, LedgerRecord, NotificationRecord, OrganizationRecord
from tests.conftest import Skipping
from tests.contract_helpers import (
    AMOUNT,
    BUYER,
    BUYER_B,
    EVALUATOR,
    FAILING,
    FINANCE,
    GOOD,
    ORGANIZER,
    PASSING,
    REPORT,
    SUPPLIER,
    SUPPLIER_ORG,
    Contract,
    amended_plan,
    evaluation,
    in_force,
    plan,
    single_source,
)
from tests.helpers import accepted_updates, keep_golden
from worker import WORKFLOWS, activities


def document_text(skipping: Skipping, document: DocumentRef) -> str:
    """The issued PDF's text in drawing order, without whitespace."""
    path = content_path(skipping.settings.documents_dir, document.pdf_sha256, "pdf")
    output = subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", "", output)


async def notified(skipping: Skipping, case_no: str, kind: str, count: int, seconds: float = 10) -> list[NotificationRecord]:
    """The queued messages of ``kind``, once ``count`` are there (the outbox is written just after the state changes)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        with Session(skipping.engine) as session:
            rows = list(session.exec(select(NotificationRecord).where(NotificationRecord.case_no == case_no, NotificationRecord.kind == kind)))
        if len(rows) >= count or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.05)


def ledger(contract: Contract) -> dict[str, LedgerRecord]:
    with Session(contract.skipping.engine) as session:
        rows = session.exec(select(LedgerRecord).where(LedgerRecord.contract_no == contract.contract_no)).all()
    return {r.entry: r for r in rows}


def organization(contract: Contract, key: str = SUPPLIER_ORG) -> OrganizationRecord:
    with Session(contract.skipping.engine) as session:
        record = session.get(OrganizationRecord, key)
    assert record is not None
    return record


async def refused(contract: Contract, action, kind: str) -> str:  # type: ignore[no-untyped-def]
    """The action is refused with ``kind`` and leaves no trace in the contract's history."""
    before = await accepted_updates(contract.client, contract.contract_no)
    with pytest.raises(ServiceError) as error:
        await action
    assert error.value.kind == kind, error.value.message
    assert await accepted_updates(contract.client, contract.contract_no) == before
    return error.value.message


async def test_a_contract_is_delivered_paid_by_progress_evaluated_and_rewarded(skipping: Skipping) -> None:
    contract = await in_force(skipping)
    state = await contract.state()
    assert [d.kind.value for d in state.documents] == ["contract", "contract", "payment_instruction"]
    assert state.payee is not None and state.payee.bank == "延边农村商业银行延吉市建工支行"
    drafted, signed, instruction = (document_text(skipping, d) for d in state.documents)
    assert "双方已签署" not in drafted and "法定代表人或授权代表（签字）" in drafted
    assert "（双方已签署）" in signed and "签署人：王德福" in signed and "收款账号：2300031000000002418" in signed
    assert "开户银行延边农村商业银行延吉市建工支行" in instruction
    assert "延吉市卫生健康局（盖章）" in instruction[instruction.index("特此通知。"):], "the buyer, whose budget pays, instructs"
    assert any(e.action == "in_force" and "已出具双方签署的合同文本" in e.summary for e in state.timeline)
    assert ledger(contract)["T1"].amount_fen == AMOUNT * 3 // 10 and ledger(contract)["T1"].status == "instructed"

    await contract.disburse("T1")
    state = await contract.deliver("M1")
    assert state.tranche("T2").status is TrancheStatus.instructed
    state = await contract.evaluate(PASSING)
    assert state.evaluations[0].kind is EvaluationKind.mid_term and state.evaluations[0].grade == "优"
    report = document_text(skipping, state.documents[-1])
    assert "延吉市社会组织评估中心（盖章）" in report and "延吉市民政局" not in report
    assert state.phase is ContractPhase.in_force and state.reward is None

    again = views.DisbursementInput(tranche_id="T2", voucher=state.tranche("T1").voucher)
    message = await refused(contract, contract.service.record_disbursement(contract.actor(FINANCE), contract.contract_no, again), "conflict")
    assert f"凭证号 {again.voucher} 已用于T1" in message
    await contract.disburse("T2")
    await contract.deliver("M2")
    state = await contract.evaluate(PASSING)
    assert state.evaluations[-1].kind is EvaluationKind.final and state.evaluations[-1].total == 92
    state = await contract.until(lambda s: s.reward is not None and s.reward.status is TrancheStatus.instructed)
    assert state.reward.amount_fen == 2_000_000 and state.phase is not ContractPhase.completed

    await contract.disburse("T3")
    await contract.disburse("R1", voucher="JL-2026-0007")
    state = await contract.until(lambda s: s.phase is ContractPhase.completed)
    assert state.result is not None and state.result.final_grade == "优" and state.result.reward_fen == 2_000_000

    entries = ledger(contract)
    tranches = [e for e in entries.values() if e.kind == "tranche"]
    assert sum(e.amount_fen for e in tranches) == AMOUNT and all(e.status == "paid" for e in entries.values())
    assert entries["R1"].kind == "reward" and entries["R1"].voucher == "JL-2026-0007"
    assert organization(contract).performance_grade == "优"
    kinds = [d.kind.value for d in state.documents]
    assert kinds == [
        "contract", "contract", "payment_instruction", "payment_instruction", "performance_report",
        "performance_report", "payment_instruction", "reward_decision",
    ]
    with Session(skipping.engine) as session:
        record = session.get(ContractRecord, contract.contract_no)
    assert record is not None and record.status == "completed" and record.paid_fen == AMOUNT and record.latest_grade == "优"
    await keep_golden(contract.client, contract.contract_no, "contract_rewarded")


async def test_the_supplier_and_buyer_see_their_contract_and_the_public_sees_the_disclosure(skipping: Skipping) -> None:
    contract = await in_force(skipping)
    await contract.disburse("T1")
    service = contract.service
    supplier_view = service.contract(contract.actor(SUPPLIER), contract.contract_no)
    assert supplier_view.audience == "supplier" and supplier_view.phase_name == "合同履行中"
    assert [e.entry for e in supplier_view.ledger] == ["T1"] and supplier_view.ledger[0].status_name == "已拨付"
    assert service.contract(contract.actor(FINANCE), contract.contract_no).audience == "finance"
    with pytest.raises(ServiceError) as stranger:
        service.contract(contract.actor("org-yangguang"), contract.contract_no)
    assert stranger.value.kind == "not_found" and "定期公开" in stranger.value.message
    with pytest.raises(ServiceError):
        service.contract(None, contract.contract_no)

    disclosed = next(d for d in service.disclosure(limit=200).items if d.contract_no == contract.contract_no)
    assert disclosed.supplier_name == "延吉市夕阳红养老服务协会" and disclosed.amount_fen == AMOUNT
    assert disclosed.paid_fen == AMOUNT * 3 // 10 and [p.entry for p in disclosed.payments] == ["T1"]
    assert disclosed.origin == "单一来源采购" and disclosed.status_name == "合同履行中"
    assert contract.contract_no in [c.contract_no for c in service.contracts(contract.actor(SUPPLIER), limit=200).items]
    assert contract.contract_no in [c.contract_no for c in service.contracts(contract.actor(FINANCE), limit=200).items]
    assert contract.contract_no not in [c.contract_no for c in service.contracts(contract.actor("dept-jy"), limit=200).items]


async def test_a_failed_rectification_ends_the_contract_and_bars_the_supplier_from_next_years_fair(skipping: Skipping) -> None:
    contract = await in_force(skipping)
    await contract.deliver("M1")
    state = await contract.evaluate(FAILING, satisfaction=50)
    assert state.evaluations[-1].grade == "差" and not state.evaluations[-1].passed
    state = await contract.until(lambda s: s.phase is ContractPhase.rectification)
    assert state.rectification is not None and state.documents[-1].kind.value == "rectification_notice"

    message = await refused(
        contract, contract.service.submit_delivery(contract.actor(SUPPLIER), contract.contract_no, "M2", REPORT), "conflict"
    )
    assert "整改" in message
    await contract.service.submit_rectification(contract.actor(SUPPLIER), contract.contract_no, REPORT)
    state = await contract.evaluate(FAILING, satisfaction=50)
    state = await contract.until(lambda s: s.phase is ContractPhase.terminated)
    assert [e.kind for e in state.evaluations] == [EvaluationKind.mid_term, EvaluationKind.re_evaluation]
    year = state.result.decided_at.astimezone().year  # type: ignore[union-attr]
    assert state.result is not None and state.result.barred_until_year is not None
    assert state.documents[-1].kind.value == "termination_notice"

    entries = ledger(contract)
    # what was earned is still paid: the advance and the accepted first milestone's tranche
    assert entries["T1"].status == "instructed" and entries["T2"].status == "instructed"
    assert entries["T3"].status == "withheld" and entries["T3"].amount_fen == AMOUNT - AMOUNT * 3 // 10 - AMOUNT * 4 // 10
    await contract.disburse("T1")
    await contract.disburse("T2")
    state = await contract.state()
    assert state.phase is ContractPhase.terminated and state.tranche("T3").status is TrancheStatus.withheld

    barred_until = state.result.barred_until_year
    assert organization(contract).barred_until_year == barred_until and barred_until >= year
    facts = register.facts(skipping.engine, SUPPLIER_ORG)
    bid = Bid.model_construct(bid_id="B1", organization=SUPPLIER_ORG, organization_name="延吉市夕阳红养老服务协会")
    next_fair = screen(bid, facts, Eligibility(), barred_until, (await contract.today()))
    assert not next_fair.eligible and any("不得参加社洽会" in c.detail for c in next_fair.checks if not c.met)
    assert screen(bid, facts, Eligibility(), barred_until + 1, (await contract.today())).eligible
    with Session(skipping.engine) as session:
        record = session.get(OrganizationRecord, SUPPLIER_ORG)
        assert record is not None
        record.barred_until_year = None  # the sample supplier bids in other tests
        session.add(record)
        session.commit()
    await keep_golden(contract.client, contract.contract_no, "contract_terminated")


async def test_a_rectified_contract_passes_its_re_evaluation_and_goes_on(skipping: Skipping) -> None:
    contract = await in_force(skipping)
    await contract.deliver("M1")
    await contract.evaluate(FAILING, satisfaction=50)
    state = await contract.until(lambda s: s.phase is ContractPhase.rectification)
    due = state.rectification.due_at  # type: ignore[union-attr]
    now = await skipping.env.get_current_time()
    await contract.sleep(due - now + timedelta(minutes=1))
    state = await contract.until(lambda s: any(e.action == "rectification_overdue" for e in s.timeline))
    state = await contract.evaluate(GOOD, satisfaction=90)
    assert state.evaluations[-1].kind is EvaluationKind.re_evaluation and state.evaluations[-1].grade == "良"
    state = await contract.until(lambda s: s.phase is ContractPhase.in_force)
    await contract.deliver("M2")
    state = await contract.evaluate(GOOD, satisfaction=90)
    state = await contract.until(lambda s: s.reward is not None and s.reward.status is TrancheStatus.instructed)
    assert state.reward.amount_fen == 1_000_000  # 良


async def test_reports_are_reminded_flagged_when_late_and_acceptance_passes_to_the_b_post(skipping: Skipping) -> None:
    contract = await in_force(skipping)
    state = await contract.state()
    due = state.milestone("M1").due_date  # type: ignore[union-attr]
    await contract.sleep(timedelta(days=(due - await contract.today()).days + 2))
    state = await contract.until(lambda s: s.milestone("M1").late_flagged_at is not None)
    actions = [e.action for e in state.timeline]
    assert "report_reminded" in actions and "report_late" in actions
    with Session(skipping.engine) as session:
        kinds = session.exec(select(NotificationRecord.kind).where(NotificationRecord.case_no == contract.contract_no)).all()
    assert "report_due" in kinds and "report_late" in kinds

    await contract.service.submit_delivery(contract.actor(SUPPLIER), contract.contract_no, "M1", REPORT)
    state = await contract.until(lambda s: any(t.step == "acceptance" for t in s.open_tasks))
    assert state.milestone("M1").reports[0].late  # type: ignore[union-attr]
    task = next(t for t in state.open_tasks if t.step == "acceptance")
    assert task.holder.user_id == BUYER
    message = await refused(
        contract,
        contract.service.review_delivery(contract.actor(BUYER), contract.contract_no, "M1", views.DeliveryReviewInput(accept=False)),
        "invalid",
    )
    assert "理由" in message
    now = await skipping.env.get_current_time()
    await contract.sleep(task.deadline.due_at - now + timedelta(minutes=1))
    state = await contract.until(lambda s: next(t for t in s.open_tasks if t.step == "acceptance").escalated)
    await contract.service.review_delivery(
        contract.actor(BUYER_B), contract.contract_no, "M1", views.DeliveryReviewInput(accept=False, reasons=["缺少服务对象签字确认"])
    )
    state = await contract.until(lambda s: s.milestone("M1").status is MilestoneStatus.returned)
    assert state.tranche("T2").status is TrancheStatus.pending
    await contract.deliver("M1")
    state = await contract.state()
    assert len(state.milestone("M1").reports) == 2 and state.tranche("T2").status is TrancheStatus.instructed  # type: ignore[union-attr]


async def test_who_may_act_on_a_contract(skipping: Skipping) -> None:
    contract = await single_source(skipping)
    no = contract.contract_no
    service = contract.service
    today = await contract.today()
    await refused(contract, service.propose_plan(contract.actor("dept-jy"), no, plan(today)), "not_found")
    message = await refused(contract, service.propose_plan(contract.actor(BUYER), no, plan(today, amount=AMOUNT - 100)), "invalid")
    assert "与合同金额" in message
    late = plan(today).model_copy(update={"end_date": today + timedelta(days=20)})
    message = await refused(contract, service.propose_plan(contract.actor(BUYER), no, late), "invalid")
    assert "不在合同期限内" in message and f"应至{today.year + 1}年" in message
    for months in (3, 13):  # shorter or longer than the 12 months approved
        message = await refused(contract, service.propose_plan(contract.actor(BUYER), no, plan(today, months=months)), "invalid")
        end = term_end(today, 12)
        assert f"经批准的单一来源采购的服务期限12个月一致：自{today.year}年{today.month}月{today.day}日开始的，应至{end.year}年{end.month}月{end.day}日结束" in message
    yesterday = today - timedelta(days=1)
    message = await refused(contract, service.propose_plan(contract.actor(BUYER), no, plan(yesterday)), "invalid")
    assert f"合同开始日期{yesterday.year}年{yesterday.month}月{yesterday.day}日已过" in message
    await contract.plan()
    await contract.until(lambda s: s.phase is ContractPhase.signing)
    await refused(contract, service.sign(contract.actor("org-yangguang"), no, views.SigningInput(party="supplier")), "not_found")
    await refused(contract, service.sign(contract.actor(SUPPLIER), no, views.SigningInput(party="buyer")), "forbidden")
    await service.sign(contract.actor(SUPPLIER), no, views.SigningInput(party="supplier"))
    await refused(contract, service.sign(contract.actor(SUPPLIER), no, views.SigningInput(party="supplier")), "conflict")

    await contract.plan(plan(today + timedelta(days=1)))  # a redraft needs new signatures
    state = await contract.until(lambda s: s.version == 2)
    assert not state.signed_by("supplier") and state.phase is ContractPhase.signing
    await contract.sign()
    await refused(contract, service.submit_delivery(contract.actor(SUPPLIER), no, "M2", REPORT), "conflict")
    await refused(contract, service.submit_delivery(contract.actor(BUYER), no, "M1", REPORT), "forbidden")
    await refused(
        contract, service.record_disbursement(contract.actor("mz-chen"), no, views.DisbursementInput(tranche_id="T1", voucher="X-1")), "forbidden"
    )
    await refused(
        contract, service.record_disbursement(contract.actor(FINANCE), no, views.DisbursementInput(tranche_id="T2", voucher="X-1")), "conflict"
    )
    await contract.deliver("M1")
    await contract.until(lambda s: any(t.step == "evaluation" for t in s.open_tasks))
    message = await refused(
        contract, service.submit_evaluation(contract.actor(EVALUATOR), no, evaluation({"output": 41, "effect": 20})), "invalid"
    )
    assert "管理" in message and "超出" in message
    await refused(contract, service.submit_evaluation(contract.actor(BUYER), no, evaluation(PASSING)), "forbidden")



async def test_a_voucher_number_already_in_the_ledger_is_refused_naming_its_payment(skipping: Skipping) -> None:
    first = await in_force(skipping)
    second = await in_force(skipping)
    await first.disburse("T1", voucher="GK-2026-0100")
    reused = views.DisbursementInput(tranche_id="T1", voucher="GK-2026-0100")
    message = await refused(second, second.service.record_disbursement(second.actor(FINANCE), second.contract_no, reused), "conflict")
    assert f"已用于合同 {first.contract_no} 的T1" in message
    assert ledger(second)["T1"].status == "instructed" and ledger(second)["T1"].voucher is None
    await second.disburse("T1", voucher="GK-2026-0101")


async def test_two_recordings_of_one_voucher_racing_on_two_contracts_pay_only_one(skipping: Skipping) -> None:
    """Finance records the same voucher on two contracts at once: one payment is made, the other is refused
    naming the first and when it was recorded, and its contract waits healthy for the right voucher."""
    first, second = await in_force(skipping), await in_force(skipping)
    voucher = views.DisbursementInput(tranche_id="T1", voucher=f"GK-RACE-{uuid.uuid4().hex[:6]}")
    before = await accepted_updates(second.client, second.contract_no)
    results = await asyncio.gather(
        first.service.record_disbursement(first.actor(FINANCE), first.contract_no, voucher),
        second.service.record_disbursement(second.actor(FINANCE), second.contract_no, voucher),
        return_exceptions=True,
    )
    assert isinstance(results[1], ServiceError) and results[1].kind == "conflict", results
    assert f"凭证号 {voucher.voucher} 已用于合同 {first.contract_no} 的T1（" in results[1].message
    recorded = ledger(first)["T1"].voucher_recorded_at
    assert recorded is not None and local_text(recorded) in results[1].message
    await first.until(lambda s: s.tranche("T1").status is TrancheStatus.paid)
    assert await accepted_updates(second.client, second.contract_no) == before
    assert ledger(second)["T1"].status == "instructed" and ledger(second)["T1"].voucher is None
    state = await second.disburse("T1", voucher=f"{voucher.voucher}-2")
    assert state.tranche("T1").voucher == f"{voucher.voucher}-2" and ledger(second)["T1"].status == "paid"


async def test_a_payment_recorded_twice_at_once_is_paid_once_under_its_voucher(skipping: Skipping) -> None:
    """A double submission: one recording pays, the other is refused, and the ledger keeps the voucher."""
    contract = await in_force(skipping)
    entry = views.DisbursementInput(tranche_id="T1", voucher="GK-TWICE-0001")
    results = await asyncio.gather(
        *(contract.service.record_disbursement(contract.actor(FINANCE), contract.contract_no, entry) for _ in range(2)),
        return_exceptions=True,
    )
    refusals = [r for r in results if isinstance(r, ServiceError)]
    assert len(refusals) == 1 and refusals[0].kind == "conflict", results
    state = await contract.until(lambda s: s.tranche("T1").status is TrancheStatus.paid)
    assert state.tranche("T1").voucher == "GK-TWICE-0001"
    assert ledger(contract)["T1"].status == "paid" and ledger(contract)["T1"].voucher == "GK-TWICE-0001"


async def test_a_refused_recording_gives_its_voucher_back(skipping: Skipping) -> None:
    """A recording the workflow refuses (the wrong office) leaves the voucher free for the right one."""
    contract = await in_force(skipping)
    entry = views.DisbursementInput(tranche_id="T1", voucher="GK-BACK-0001")
    await refused(contract, contract.service.record_disbursement(contract.actor(BUYER), contract.contract_no, entry), "forbidden")
    assert ledger(contract)["T1"].voucher is None
    state = await contract.disburse("T1", voucher="GK-BACK-0001")
    assert state.tranche("T1").voucher == "GK-BACK-0001"


def test_the_ledger_holds_a_voucher_number_once(database_url: str) -> None:
    """The database itself refuses a second entry with the same voucher, whatever wrote it; unpaid entries have none."""
    engine = make_engine(database_url)
    migrate(engine)
    at = datetime(2026, 12, 1, tzinfo=UTC)

    def entry(contract_no: str, voucher: str | None) -> LedgerRecord:
        return LedgerRecord(
            contract_no=contract_no, entry="T1", kind="tranche", amount_fen=100, status="paid" if voucher else "instructed",
            document_id="D1", instructed_at=at, paid_at=at if voucher else None, voucher=voucher,
        )

    with Session(engine) as session:
        session.add_all([entry("C1", "GK-1"), entry("C2", None), entry("C3", None)])
        session.commit()
    with pytest.raises(IntegrityError), Session(engine) as session:
        session.add(entry("C4", "GK-1"))
        session.commit()
    engine.dispose()


async def test_amendments_need_both_parties_and_keep_the_past(skipping: Skipping) -> None:
    contract = await in_force(skipping)
    await contract.disburse("T1")
    await contract.deliver("M1")
    await contract.evaluate(PASSING)
    state = await contract.state()
    amended = amended_plan(state, 0, ["服务期延长一个月"])
    touching_the_past = amended.model_copy(update={"plan": amended.plan.model_copy(update={
        "milestones": [amended.plan.milestones[0].model_copy(update={"title": "改写已验收的节点"}), amended.plan.milestones[1]]
    })})
    message = await refused(contract, contract.service.propose_amendment(contract.actor(BUYER), contract.contract_no, touching_the_past), "invalid")
    assert "已验收的节点M1" in message
    await contract.service.propose_amendment(contract.actor(BUYER), contract.contract_no, amended)
    await refused(
        contract, contract.service.answer_amendment(contract.actor(BUYER_B), contract.contract_no, 1, views.AmendmentAnswerInput(agree=True)), "forbidden"
    )
    await contract.service.answer_amendment(contract.actor(SUPPLIER), contract.contract_no, 1, views.AmendmentAnswerInput(agree=True))
    state = await contract.until(lambda s: s.version == 2)
    assert state.amount_fen == AMOUNT and state.milestone("M1").status is MilestoneStatus.accepted  # type: ignore[union-attr]
    assert state.tranche("T1").status is TrancheStatus.paid and state.plan.end_date == amended.plan.end_date  # type: ignore[union-attr]
    assert [d.kind.value for d in state.documents].count("contract") == 3
    assert any(e.action == "amended" for e in state.timeline)
    assert not any(t.step == "amendment_approval" for t in state.tasks), "an amendment within the award needs no approval"

    await contract.service.propose_amendment(
        contract.actor(SUPPLIER), contract.contract_no, amended.model_copy(update={"reasons": ["再次延期"]})
    )
    await contract.service.answer_amendment(
        contract.actor(BUYER), contract.contract_no, 2, views.AmendmentAnswerInput(agree=False, reasons=["无正当理由"])
    )
    state = await contract.until(lambda s: s.amendments[-1].status.value == "refused")
    assert state.version == 2


async def test_an_increase_beyond_the_award_needs_the_organizers_approval_up_to_the_cap(skipping: Skipping) -> None:
    """Both parties agreeing is not enough to pay more than was awarded: the organizer's A post approves with
    reasons (its B post once A's deadline passed), and no approval reaches past the policy's 10%."""
    contract = await in_force(skipping)
    await contract.disburse("T1")
    await contract.deliver("M1")
    await contract.evaluate(PASSING)
    state = await contract.state()
    no, service = contract.contract_no, contract.service
    cap = AMOUNT // 10
    beyond = amended_plan(state, cap + 1, ["服务对象增加"])
    message = await refused(contract, service.propose_amendment(contract.actor(BUYER), no, beyond), "invalid")
    assert f"超过经批准的金额{yuan(AMOUNT)}的10%上限（最多{yuan(AMOUNT + cap)}）" in message

    increase = amended_plan(state, cap, ["经街道复核新增10名失能老人纳入服务范围", "服务量相应增加，追加金额不超过原合同金额的10%"])
    await service.propose_amendment(contract.actor(BUYER), no, increase)
    await service.answer_amendment(contract.actor(SUPPLIER), no, 1, views.AmendmentAnswerInput(agree=True))
    state = await contract.until(lambda s: any(t.step == "amendment_approval" for t in s.open_tasks))
    task = next(t for t in state.open_tasks if t.step == "amendment_approval")
    assert state.amendments[0].status is AmendmentStatus.awaiting_approval and state.version == 1 and state.amount_fen == AMOUNT
    assert task.holder.user_id == ORGANIZER and task.b.user_id == "mz-lin"
    assert any(e.action == "amendment_awaiting_approval" and "报组织单位审批" in e.summary for e in state.timeline)

    approve = views.ApprovalInput(approve=True, reasons=["新增服务对象经街道复核属实，追加金额在10%以内"])
    for party in (BUYER, SUPPLIER):  # the two parties alone cannot put it in force
        await refused(contract, service.approve_amendment(contract.actor(party), no, 1, approve), "forbidden")
    await refused(contract, service.approve_amendment(contract.actor(ORGANIZER), no, 1, views.ApprovalInput(approve=True)), "invalid")
    message = await refused(contract, service.propose_amendment(contract.actor(SUPPLIER), no, increase), "conflict")
    assert "待组织单位审批" in message

    now = await skipping.env.get_current_time()
    await contract.sleep(task.deadline.due_at - now + timedelta(minutes=1))
    state = await contract.until(lambda s: next(t for t in s.open_tasks if t.step == "amendment_approval").escalated)
    await service.approve_amendment(contract.actor("mz-lin"), no, 1, approve)
    state = await contract.until(lambda s: any(e.action == "amended" for e in s.timeline))
    assert state.amount_fen == AMOUNT + cap and state.version == 2 and state.amendments[0].status is AmendmentStatus.agreed
    assert state.amendments[0].approval is not None and state.amendments[0].approval.by.user_id == "mz-lin"
    assert "经组织单位审批" in next(e.summary for e in state.timeline if e.action == "amended")
    assert [d.kind.value for d in state.documents].count("contract") == 3

    await contract.disburse("T2")
    await contract.deliver("M2")
    await contract.evaluate(PASSING)
    await contract.until(lambda s: s.tranche("T3").status is TrancheStatus.instructed)
    assert sum(e.amount_fen for e in ledger(contract).values() if e.kind == "tranche") == AMOUNT + cap
    await keep_golden(contract.client, no, "contract_increase_approved")


async def test_the_organizer_may_refuse_an_increase_and_the_contract_goes_on_as_signed(skipping: Skipping) -> None:
    contract = await in_force(skipping)
    state = await contract.state()
    no, service = contract.contract_no, contract.service
    increase = amended_plan(state, AMOUNT // 20, ["服务对象增加"])
    await service.propose_amendment(contract.actor(SUPPLIER), no, increase)
    await service.answer_amendment(contract.actor(BUYER), no, 1, views.AmendmentAnswerInput(agree=True))
    await contract.until(lambda s: any(t.step == "amendment_approval" for t in s.open_tasks))
    await service.approve_amendment(contract.actor(ORGANIZER), no, 1, views.ApprovalInput(approve=False, reasons=["新增服务对象未经街道复核"]))
    state = await contract.until(lambda s: s.amendments[0].status is AmendmentStatus.disapproved)
    assert state.version == 1 and state.amount_fen == AMOUNT and state.plan.end_date == plan(state.plan.start_date).end_date  # type: ignore[union-attr]
    assert any(e.action == "amendment_disapproved" and "新增服务对象未经街道复核" in e.summary for e in state.timeline)
    told = await notified(skipping, no, "amendment_decided", 2)
    assert {n.recipient_id for n in told} == {BUYER, SUPPLIER}
    assert all("延吉市民政局不同意合同变更（第1号）追加合同金额，理由：新增服务对象未经街道复核" in n.body for n in told)
    await contract.deliver("M1")  # the contract goes on under the version both signed
    assert (await contract.state()).tranche("T2").status is TrancheStatus.instructed


async def test_suspension_and_early_termination_withhold_what_was_not_earned(skipping: Skipping) -> None:
    contract = await in_force(skipping)
    no = contract.contract_no
    service = contract.service
    await refused(contract, service.suspend(contract.actor(BUYER), no, views.SuspensionInput(suspend=True)), "invalid")
    await service.suspend(contract.actor(BUYER), no, views.SuspensionInput(suspend=True, reasons=["服务场地改造，暂停三周"]))
    state = await contract.until(lambda s: s.phase is ContractPhase.suspended)
    await refused(contract, service.submit_delivery(contract.actor(SUPPLIER), no, "M1", REPORT), "conflict")
    await contract.disburse("T1")  # an instructed payment goes on while suspended
    await service.suspend(contract.actor(BUYER), no, views.SuspensionInput(suspend=False))
    await contract.until(lambda s: s.phase is ContractPhase.in_force)
    await contract.deliver("M1")
    await contract.until(lambda s: any(t.step == "evaluation" for t in s.open_tasks))

    await refused(contract, service.terminate(contract.actor(SUPPLIER), no, views.TerminationInput(reasons=["不想做了"])), "forbidden")
    await service.terminate(contract.actor(BUYER), no, views.TerminationInput(reasons=["服务对象已整体搬迁"]))
    state = await contract.until(lambda s: s.phase is ContractPhase.terminated)
    assert not any(t.step == "evaluation" for t in state.open_tasks)
    assert state.tranche("T2").status is TrancheStatus.instructed and state.tranche("T3").status is TrancheStatus.withheld
    assert "服务对象已整体搬迁" in state.result.reasons  # type: ignore[union-attr]
    await contract.disburse("T2")
    entries = ledger(contract)
    assert entries["T2"].status == "paid" and entries["T3"].status == "withheld"
    shown = {e.entry: e for e in service.contract(contract.actor(BUYER), no).ledger}
    assert shown["T3"].status_name == "不再拨付" and shown["T3"].withheld_at is not None
    assert shown["T3"].instructed_at is None and shown["T3"].document_id is None, "a withheld tranche was never instructed"
    assert shown["T2"].instructed_at is not None and state.tranche("T3").instructed_at is None
    actions = [e.action for e in (await contract.state()).timeline]
    assert actions.index("suspended") < actions.index("resumed") < actions.index("terminated")
    await refused(contract, service.suspend(contract.actor(BUYER), no, views.SuspensionInput(suspend=True, reasons=["x"])), "conflict")
    with Session(skipping.engine) as session:
        paid = session.exec(select(LedgerRecord.amount_fen).where(col(LedgerRecord.contract_no) == no, LedgerRecord.status == "paid")).all()
    assert sum(paid) == AMOUNT * 7 // 10


async def test_the_organizer_may_refuse_a_single_source_purchase(skipping: Skipping) -> None:
    contract = await single_source(skipping, approve=False)
    no = contract.contract_no
    await refused(
        contract, contract.service.approve_single_source(contract.actor(ORGANIZER), no, views.ApprovalInput(approve=False)), "invalid"
    )
    await refused(contract, contract.service.approve_single_source(contract.actor(BUYER), no, views.ApprovalInput(approve=True)), "forbidden")
    await contract.service.approve_single_source(
        contract.actor(ORGANIZER), no, views.ApprovalInput(approve=False, reasons=["该服务有多家社会组织可以承接，应通过社洽会竞争"])
    )
    state = await contract.until(lambda s: s.phase is ContractPhase.terminated)
    assert state.plan is None and "社洽会竞争" in state.result.reasons[0]  # type: ignore[union-attr]


@contextlib.asynccontextmanager
async def own_worker(skipping: Skipping, replace: dict[str, Any] | None = None, **settings: Any) -> AsyncIterator[Settings]:
    """A worker on its own task queue, with other settings or some activities replaced."""
    own = skipping.settings.model_copy(update={"task_queue": f"shezu-contract-{uuid.uuid4().hex[:8]}", **settings})
    chosen = [replace.get(activity_name(a), a) if replace else a for a in activities(own, skipping.engine, skipping.env.client)]
    async with Worker(
        skipping.env.client, task_queue=own.task_queue, workflows=WORKFLOWS, activities=chosen,
        activity_executor=ThreadPoolExecutor(max_workers=4),
    ):
        yield own


def activity_name(function: Any) -> str:
    return function.__temporal_activity_definition.name


async def test_a_suspension_during_the_main_line_holds_the_next_step_until_resumed(skipping: Skipping) -> None:
    """The buyer suspends while the accepted milestone's payment is being instructed: the mid-term
    evaluation that comes next must wait for the resumption, not override the suspension."""
    real = ContractActivities(skipping.engine, skipping.settings.policies_dir)
    instructing, release = threading.Event(), threading.Event()

    @activity.defn(name="instruct_payment")
    def instruct_slowly(instruction: LedgerInstruction) -> None:
        if instruction.entry == "T2":
            instructing.set()
            release.wait(20)
        real.instruct_payment(instruction)

    async with own_worker(skipping, replace={"instruct_payment": instruct_slowly}) as settings:
        contract = await in_force(skipping, settings)
        no, service = contract.contract_no, contract.service
        await service.submit_delivery(contract.actor(SUPPLIER), no, "M1", REPORT)
        await contract.until(lambda s: any(t.step == "acceptance" for t in s.open_tasks))
        review = asyncio.create_task(
            service.review_delivery(contract.actor(BUYER), no, "M1", views.DeliveryReviewInput(accept=True))
        )
        assert await asyncio.to_thread(instructing.wait, 20), "the payment for M1 is being instructed"
        updates = await accepted_updates(contract.client, no)
        suspension = asyncio.create_task(
            service.suspend(contract.actor(BUYER), no, views.SuspensionInput(suspend=True, reasons=["服务场地改造"]))
        )
        while await accepted_updates(contract.client, no) == updates:
            await asyncio.sleep(0.05)
        release.set()
        await review
        await suspension

        state = await contract.until(lambda s: s.tranche("T2").status is TrancheStatus.instructed)
        assert state.phase is ContractPhase.suspended
        assert not any(t.step == "evaluation" for t in state.open_tasks), "no evaluation opens while suspended"

        await service.suspend(contract.actor(BUYER), no, views.SuspensionInput(suspend=False))
        state = await contract.until(lambda s: any(t.step == "evaluation" for t in s.open_tasks))
        assert state.phase is ContractPhase.evaluation
        state = await contract.evaluate(PASSING)
        assert state.phase is ContractPhase.in_force and state.phase_before_suspension is None
        await keep_golden(contract.client, no, "contract_suspended_while_instructing")


async def test_a_payment_is_instructed_once_when_the_instruction_is_retried(skipping: Skipping) -> None:
    """The ledger write succeeds but its completion is lost (the worker dies); the retry must not pay again."""
    real = ContractActivities(skipping.engine, skipping.settings.policies_dir)
    attempts: list[str] = []

    @activity.defn(name="instruct_payment")
    def instruct_then_lose_the_reply(instruction: LedgerInstruction) -> None:
        real.instruct_payment(instruction)
        attempts.append(instruction.entry)
        if activity.info().attempt == 1:
            raise RuntimeError("worker lost before reporting the instruction")

    async with own_worker(skipping, replace={"instruct_payment": instruct_then_lose_the_reply}) as settings:
        contract = await in_force(skipping, settings)
        await contract.disburse("T1")
        state = await contract.deliver("M1")
        # its worker stops with the test: a case left waiting on a queue nobody polls would hold the test server's clock
        await contract.client.get_workflow_handle(contract.contract_no).terminate("test over")
    assert attempts == ["T1", "T1", "T2", "T2"]
    with Session(skipping.engine) as session:
        rows = session.exec(select(LedgerRecord).where(LedgerRecord.contract_no == contract.contract_no)).all()
    assert sorted((r.entry, r.amount_fen) for r in rows) == [("T1", AMOUNT * 3 // 10), ("T2", AMOUNT * 4 // 10)]
    assert [e.action for e in state.timeline].count("payment_instructed") == 2
    assert [t.step for t in state.tasks].count("disbursement") == 2


def test_the_ledger_refuses_a_tranche_beyond_the_contract_amount(skipping: Skipping) -> None:
    ledger_activities = ContractActivities(skipping.engine, skipping.settings.policies_dir)
    contract_no = f"YJ-TEST-{uuid.uuid4().hex[:6]}"

    def instruct(entry: str, amount: int) -> None:
        ActivityEnvironment().run(
            ledger_activities.instruct_payment,
            LedgerInstruction(
                contract_no=contract_no, entry=entry, kind="tranche", amount_fen=amount, cap_fen=1_000_000,
                document_id=f"{contract_no}-{entry}", instructed_at=datetime.now(UTC),
            ),
        )

    instruct("T1", 600_000)
    instruct("T1", 600_000)  # a retry writes nothing
    with pytest.raises(ApplicationError) as beyond:
        instruct("T2", 400_001)
    assert beyond.value.non_retryable and "超过合同金额10,000.00元" in beyond.value.message
    with pytest.raises(ApplicationError) as changed:
        instruct("T1", 700_000)
    assert changed.value.type == "ledger_conflict"
    instruct("T2", 400_000)
    with Session(skipping.engine) as session:
        total = sum(session.exec(select(LedgerRecord.amount_fen).where(LedgerRecord.contract_no == contract_no)).all())
    assert total == 1_000_000


async def test_a_tranche_the_ledger_refuses_is_not_paid_and_the_contract_says_why(skipping: Skipping) -> None:
    """Money already booked against the contract in the 专帐 (here by hand) leaves no room for the advance."""
    contract = await single_source(skipping)
    with Session(skipping.engine) as session:
        session.add(
            LedgerRecord(
                contract_no=contract.contract_no, entry="T0", kind="tranche", amount_fen=AMOUNT * 8 // 10, status="paid",
                document_id="", instructed_at=datetime.now(UTC), note="系统上线前已拨付",
            )
        )
        session.commit()
    await contract.plan()
    await contract.until(lambda s: s.phase is ContractPhase.signing)
    state = await contract.sign()
    state = await contract.until(lambda s: any(e.action == "payment_refused" for e in s.timeline))
    assert state.tranche("T1").status is TrancheStatus.pending and not any(t.step == "disbursement" for t in state.tasks)
    assert "超过合同金额" in next(e.summary for e in state.timeline if e.action == "payment_refused")
    assert sum(r.amount_fen for r in ledger(contract).values()) == AMOUNT * 8 // 10


async def test_a_long_contract_continues_as_new_and_still_completes(skipping: Skipping, tmp_path: Path) -> None:
    async with own_worker(skipping, contract_history_limit=60) as settings:
        contract = await in_force(skipping, settings)
        await contract.deliver("M1")
        await contract.evaluate(PASSING)
        state = await contract.until(lambda s: s.runs >= 2)
        assert any(e.action == "continued" for e in state.timeline)
        assert state.tranche("T1").status is TrancheStatus.instructed and state.tranche("T2").status is TrancheStatus.instructed
        carried = [t for t in state.open_tasks if t.step == "disbursement"]
        assert [t.subject for t in carried] == ["T1", "T2"]
        await contract.disburse("T1")
        await contract.disburse("T2")
        await contract.deliver("M2")
        await contract.evaluate(PASSING)
        await contract.until(lambda s: s.reward is not None and s.reward.status is TrancheStatus.instructed)
        await contract.disburse("T3")
        await contract.disburse("R1")
        state = await contract.until(lambda s: s.phase is ContractPhase.completed)
    assert state.runs >= 2 and [t.task_id for t in state.tasks if t.step == "disbursement"] == [
        "disbursement-1", "disbursement-2", "disbursement-3", "disbursement-4"
    ]
    assert sum(e.amount_fen for e in ledger(contract).values() if e.kind == "tranche") == AMOUNT
    last_run = await contract.client.get_workflow_handle(contract.contract_no).fetch_history()
    assert len(last_run.events) < 400
    await keep_golden(contract.client, contract.contract_no, "contract_continued")

    # an auditor's bundle carries every run, first to last, and verifies offline
    [case] = await fetch_case_tree(contract.client, contract.contract_no)
    assert len(case.runs) == state.runs and case.runs[0].continued_from is None
    assert [run.continued_from for run in case.runs[1:]] == [run.run_id for run in case.runs[:-1]]
    write_bundle(build_bundle([case], settings.documents_dir, {}), tmp_path / "bundle")
    report = await verify_bundle(tmp_path / "bundle")
    assert report.passed, report.text()
    assert sum(c.section == "重放" for c in report.checks) == state.runs


def test_a_term_of_n_months_ends_the_day_before_the_same_day_n_months_later() -> None:
    assert term_end(date(2026, 12, 5), 12) == date(2027, 12, 4)
    assert term_end(date(2026, 12, 1), 1) == date(2026, 12, 31)
    assert term_end(date(2027, 1, 31), 1) == date(2027, 2, 28)  # no 31 February: to the end of the month
    assert term_end(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert term_end(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_a_plan_for_a_lot_names_the_awarded_term_and_price() -> None:
    """A 90-day plan for a 12-month award is refused, and the refusal says to what the dates must change."""
    policy = policy_in_force(PROJECT_ROOT / "policies", ["YJ"], date(2026, 12, 15))[0].contracts
    assert policy is not None
    basis = ContractBasis.model_validate(
        {"contract_no": "C1", "origin": "lot", "lot_no": "L1", "title": "x", "service_content": "x", "buyer_office": "卫生健康局",
         "buyer": {"user_id": "dept-wj", "name": "王", "role": "department"}, "buyer_jurisdiction": "YJ",
         "supplier": SUPPLIER_ORG, "supplier_name": "夕阳红", "amount_fen": AMOUNT, "duration_months": 12,
         "awarded_at": "2026-12-01T00:00:00Z"}
    )
    short = plan(date(2026, 12, 15), months=3)
    problems = plan_problems(short, AMOUNT + 100, basis, policy)
    assert "合同期限须与成交项目的服务期限12个月一致：自2026年12月15日开始的，应至2027年12月14日结束（现为2027年3月14日）" in problems[0]
    assert any(f"与合同金额（成交金额）{yuan(AMOUNT + 100)}不一致" in p for p in problems)
    assert plan_problems(plan(date(2026, 12, 15)), AMOUNT, basis, policy) == []
