"""Contract documents as a finance officer reads them: the contract, the payment instructions for each
tranche, the evaluation reports, the rectification notice, the reward decision and the termination notices.

延吉市卫生健康局 buys 社区居家养老上门服务 from 延吉市夕阳红养老服务中心 (YJ-REG-0002) for 260,000.00元:
three tranches of 30% / 40% / 30% (签约预付, 节点M1验收, 终期评价后) over two milestones. The mid-term
evaluation fails, the organization rectifies and passes the re-evaluation, the final evaluation is 优 and
earns the 以奖代补 reward. In the other endings the re-evaluation fails (termination with a bar) or the
buyer ends the contract early; an amendment makes a second version of the contract. Each state is the
state the workflow holds when it issues the document (see workflows/contract.py ``_issue``)."""

from __future__ import annotations

import asyncio
import re
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from sqlalchemy.engine import Engine
from temporalio.testing import ActivityEnvironment

from activities.documents import DocumentActivities, IncompleteDocumentRequest, render_html
from activities.rendering import cn_date, yuan_upper
from rules.contracts import grade, issuing_office, milestones_of, tranches_of
from rules.policy_files import policy_in_force
from schemas.case import Outcome, Task, TaskDecision, TaskStatus
from schemas.contracts import (
    Amendment,
    AmendmentStatus,
    BankAccount,
    ContractBasis,
    ContractPhase,
    ContractPlan,
    ContractState,
    Evaluation,
    EvaluationInput,
    EvaluationKind,
    MilestoneInput,
    MilestoneStatus,
    Signature,
    Tranche,
    TrancheInput,
    TrancheStatus,
)
from schemas.document_request import DocumentRequest
from schemas.documents import DocumentKind, DocumentRef
from schemas.money import yuan
from schemas.people import Actor, Jurisdiction, Level, Locality, Office, Role
from schemas.policy import Citation, ContractPolicy, GradeBand, RewardTier, RubricDimension
from settings import PROJECT_ROOT
from store.files import content_path
from tests.helpers import at, deadline, misplaced_seals

# --- the parties ------------------------------------------------------------------------------

YANJI = Jurisdiction(
    code="YJ",
    name="延吉市",
    full_name="延吉市",
    level=Level.district,
    offices={Role.civil_affairs: "延吉市民政局", Role.finance: "延吉市财政局", Role.evaluator: "延边众合社会工作评估中心"},
)
LOCALITY = Locality(chain=[YANJI])
BUREAU = Office(jurisdiction="YJ", jurisdiction_name="延吉市", role=Role.civil_affairs, name="延吉市民政局")
STAFF = Actor(user_id="mz-chen", name="陈洁", role=Role.civil_affairs, jurisdiction="YJ")
BUYER = Actor(user_id="dept-wj", name="金海燕", role=Role.department, jurisdiction="YJ", office="延吉市卫生健康局")
SUPPLIER = Actor(user_id="org-xyh", name="崔明姬", role=Role.supplier, organization="YJ-REG-0002")
EVALUATOR = Actor(user_id="pg-wang", name="王立新", role=Role.evaluator, office="延边众合社会工作评估中心")

CONTRACT_NO = "SZH-YJ-2026-01-L01-HT"
SUPPLIER_NAME = "延吉市夕阳红养老服务中心"
AMOUNT = 26_000_000  # 260,000.00元

POLICY = ContractPolicy(
    max_term_months=36,
    acceptance_working_days=10,
    disbursement_working_days=5,
    report_reminder_days=7,
    evaluation_by_third_party=True,
    evaluation_working_days=15,
    evaluation_dimensions=[
        RubricDimension(id="output", name="产出（服务数量与质量）", weight=40),
        RubricDimension(id="effect", name="效果（服务对象受益情况）", weight=30),
        RubricDimension(id="management", name="管理（项目管理与资金使用）", weight=20),
    ],
    satisfaction_weight=10,
    grade_bands=[
        GradeBand(grade="优", label="优秀", minimum=90),
        GradeBand(grade="良", label="良好", minimum=80),
        GradeBand(grade="中", label="合格", minimum=60),
        GradeBand(grade="差", label="不合格", minimum=0),
    ],
    failing_grades=["差"],
    rectification_working_days=20,
    rewards=[RewardTier(grade="优", amount_fen=2_000_000), RewardTier(grade="良", amount_fen=1_000_000)],
    bar_years_after_failure=1,
    termination_basis=Citation(source="中华人民共和国民法典", clause="第五百六十三条及本合同的约定"),
    citations=[
        Citation(source="《政府购买服务管理办法》（财政部令第102号）", clause="第二十六条、第二十九条、第三十条"),
        Citation(source="延吉市社会组织培育发展以奖代补办法", clause="第八条（奖励档次）"),
    ],
)

BASIS = ContractBasis(
    contract_no=CONTRACT_NO,
    origin="lot",
    lot_no="SZH-YJ-2026-01-L01",
    fair_no="SZH-YJ-2026-01",
    title="社区居家养老上门服务",
    service_content="为建工街道、河南街道60周岁以上独居、空巢、失能半失能老年人提供助餐、助洁、助浴、助医等上门服务，每名服务对象每月上门服务不少于4次。",
    buyer_office="延吉市卫生健康局",
    buyer=BUYER,
    buyer_jurisdiction="YJ",
    supplier="YJ-REG-0002",
    supplier_name=SUPPLIER_NAME,
    amount_fen=AMOUNT,
    duration_months=12,
    awarded_at=at("2026-12-11", "15:00"),
)

PLAN = ContractPlan(
    start_date=date(2027, 1, 1),
    end_date=date(2027, 12, 31),
    milestones=[
        MilestoneInput(
            title="服务对象需求评估与建档",
            deliverables=["300名服务对象需求评估表", "服务对象档案"],
            due_date=date(2027, 6, 30),
            mid_term_evaluation=True,
        ),
        MilestoneInput(title="全年上门服务与总结", deliverables=["上门服务记录", "年度服务总结报告"], due_date=date(2027, 12, 20)),
    ],
    tranches=[
        TrancheInput(amount_fen=7_800_000, on="signing"),
        TrancheInput(amount_fen=10_400_000, on="milestone", milestone=1),
        TrancheInput(amount_fen=7_800_000, on="final_evaluation"),
    ],
)

# The plan as the buyer adopted it: version 1, nobody has signed yet.
DRAFTED = ContractState(
    contract_no=CONTRACT_NO,
    basis=BASIS,
    organizer=BUREAU,
    locality=LOCALITY,
    policy=POLICY,
    opened_at=at("2026-12-11", "15:00"),
    phase=ContractPhase.drafting,
    amount_fen=AMOUNT,
    version=1,
    plan=PLAN,
    milestones=milestones_of(PLAN),
    tranches=tranches_of(PLAN),
)

SIGNATURES = [
    Signature(party="buyer", by=BUYER, at=at("2026-12-22", "10:00"), version=1),
    Signature(party="supplier", by=SUPPLIER, at=at("2026-12-23", "16:30"), version=1),
]


def tranches(*statuses: TrancheStatus) -> list[Tranche]:
    updates = []
    for tranche, status in zip(tranches_of(PLAN), statuses, strict=True):
        if status in (TrancheStatus.instructed, TrancheStatus.paid):
            tranche.instructed_at = at("2027-01-04")
        if status is TrancheStatus.paid:
            tranche.paid_at, tranche.voucher = at("2027-01-08"), "YJCZ-2027-0001"
        tranche.status = status
        updates.append(tranche)
    return updates


def milestones(*statuses: MilestoneStatus) -> list:
    result = milestones_of(PLAN)
    for milestone, status in zip(result, statuses, strict=True):
        milestone.status = status
        if status is MilestoneStatus.accepted:
            milestone.accepted_at = at("2027-07-05", "11:00")
    return result


def evaluation(evaluation_id: str, kind: EvaluationKind, stage: EvaluationKind, scores: dict[str, int], rate: int, when: datetime,
               comment: str) -> Evaluation:
    """An evaluation graded by the real rules."""
    submitted = EvaluationInput(scores=scores, satisfaction_rate=rate, respondents=120, comment=comment)
    points, total, band = grade(submitted, POLICY)
    return Evaluation(
        **submitted.model_dump(), evaluation_id=evaluation_id, kind=kind, stage=stage, satisfaction_points=points, total=total,
        grade=band.grade, grade_label=band.label, passed=band.grade not in POLICY.failing_grades, evaluator=EVALUATOR,
        submitted_at=when,
    )


MID_TERM = evaluation(
    "E1", EvaluationKind.mid_term, EvaluationKind.mid_term, {"output": 20, "effect": 15, "management": 10}, 60,
    at("2027-07-20", "16:00"), "服务对象档案不完整，约三分之一服务对象未按月上门服务4次，资金台账未单独建立。",
)
RE_EVALUATION = evaluation(
    "E2", EvaluationKind.re_evaluation, EvaluationKind.mid_term, {"output": 32, "effect": 22, "management": 16}, 80,
    at("2027-08-30", "16:00"), "档案已补齐，上门频次达标，已建立项目专帐台账。",
)
FAILED_AGAIN = evaluation(
    "E2", EvaluationKind.re_evaluation, EvaluationKind.mid_term, {"output": 24, "effect": 16, "management": 10}, 55,
    at("2027-08-30", "16:00"), "上门频次仍未达标，资金台账仍未单独建立。",
)
FINAL = evaluation(
    "E3", EvaluationKind.final, EvaluationKind.final, {"output": 37, "effect": 27, "management": 18}, 95,
    at("2028-01-10", "16:00"), "全年服务312人，上门服务频次和质量均达到合同要求，服务对象评价良好。",
)

PAYEE = BankAccount(bank="延边农村商业银行延吉市建工支行", account_name=SUPPLIER_NAME, number="2300 0310 0000 0002 418")
SIGNED = DRAFTED.model_copy(update={"signatures": SIGNATURES, "phase": ContractPhase.in_force, "payee": PAYEE})

# T1: the two signatures are in, nothing has been released yet.
AT_SIGNING = SIGNED.model_copy(update={"tranches": tranches(TrancheStatus.pending, TrancheStatus.pending, TrancheStatus.pending)})
# T2: M1 accepted, T1 paid.
AT_M1 = SIGNED.model_copy(
    update={
        "milestones": milestones(MilestoneStatus.accepted, MilestoneStatus.pending),
        "tranches": tranches(TrancheStatus.paid, TrancheStatus.pending, TrancheStatus.pending),
    }
)
# The mid-term evaluation failed (the report and the rectification notice are issued in this state).
MID_TERM_FAILED = AT_M1.model_copy(
    update={
        "phase": ContractPhase.evaluation,
        "tranches": tranches(TrancheStatus.paid, TrancheStatus.paid, TrancheStatus.pending),
        "evaluations": [MID_TERM],
    }
)
RECTIFICATION_DUE = deadline(at("2027-07-20", "16:05"), 20, "2027-08-17")
RECTIFICATION_ITEMS = [MID_TERM.comment, "中期绩效评价得分51分（不合格），须整改后复评"]
RE_EVALUATED = MID_TERM_FAILED.model_copy(update={"evaluations": [MID_TERM, RE_EVALUATION]})
# T3 and the reward: the final evaluation is 优; finance has not yet recorded paying T2.
FINAL_DONE = RE_EVALUATED.model_copy(
    update={
        "milestones": milestones(MilestoneStatus.accepted, MilestoneStatus.accepted),
        "tranches": tranches(TrancheStatus.paid, TrancheStatus.instructed, TrancheStatus.pending),
        "evaluations": [MID_TERM, RE_EVALUATION, FINAL],
    }
)
REWARDED = FINAL_DONE.model_copy(
    update={
        "tranches": tranches(TrancheStatus.paid, TrancheStatus.paid, TrancheStatus.instructed),
        "reward": Tranche(tranche_id="R1", amount_fen=2_000_000, on="final_evaluation"),
    }
)
# The re-evaluation failed: T3 withheld, the contract ends, the organization is barred.
FAILED_RECTIFICATION = MID_TERM_FAILED.model_copy(
    update={
        "phase": ContractPhase.rectification,
        "evaluations": [MID_TERM, FAILED_AGAIN],
        "tranches": tranches(TrancheStatus.paid, TrancheStatus.instructed, TrancheStatus.withheld),
    }
)
FAILED_REASONS = ["整改后复评得分56分，等级差（不合格），整改后仍不合格", "未拨付的78,000.00元不再拨付"]
# The buyer ends the contract early after M1: T1 paid, T2 instructed, T3 withheld; nobody is barred.
ENDED_BY_BUYER = AT_M1.model_copy(
    update={"tranches": tranches(TrancheStatus.paid, TrancheStatus.instructed, TrancheStatus.withheld)}
)
EARLY_REASONS = ["因辖区养老服务统筹调整，服务对象转由街道综合养老服务中心统一服务", "未到拨付条件的78,000.00元不再拨付"]

# Amendment 1 adds 60 service users for 26,000.00元 more, carried by T3; T1 had been paid.
AMENDED_PLAN = PLAN.model_copy(
    update={
        "tranches": [
            TrancheInput(amount_fen=7_800_000, on="signing"),
            TrancheInput(amount_fen=10_400_000, on="milestone", milestone=1),
            TrancheInput(amount_fen=10_400_000, on="final_evaluation"),
        ]
    }
)
AMENDMENT = Amendment(
    amount_fen=28_600_000,
    plan=AMENDED_PLAN,
    reasons=["服务对象由300人增加至360人", "增加的服务费用26,000.00元计入终期拨付"],
    amendment_no=1,
    proposed_by=BUYER,
    proposed_at=at("2027-03-01", "10:00"),
    status=AmendmentStatus.agreed,
    answered_by=SUPPLIER,
    answered_at=at("2027-03-03", "15:00"),
    approval=TaskDecision(outcome=Outcome.approve, reasons=["新增服务对象经街道复核属实"], by=STAFF, at=at("2027-03-05", "10:00")),
    version=2,
)
AMENDED = AT_SIGNING.model_copy(
    update={
        "version": 2,
        "plan": AMENDED_PLAN,
        "amount_fen": 28_600_000,
        "amendments": [AMENDMENT],
        "tranches": [
            *tranches(TrancheStatus.paid, TrancheStatus.pending, TrancheStatus.pending)[:1],
            *tranches_of(AMENDED_PLAN)[1:],
        ],
    }
)

# A single-source contract, approved by the bureau.
APPROVAL = Task(
    task_id="T-SS-1",
    step="single_source_approval",
    title="单一来源采购审批",
    role=Role.civil_affairs,
    office=BUREAU,
    a=STAFF,
    b=STAFF,
    holder=STAFF,
    status=TaskStatus.done,
    created_at=at("2026-11-02"),
    deadline=deadline(at("2026-11-02"), 5, "2026-11-09"),
    decision=TaskDecision(outcome=Outcome.approve, by=STAFF, at=at("2026-11-05", "14:00")),
)
SINGLE_SOURCE_REASONS = ["服务对象为原项目延续服务的失能老人，更换服务机构将中断照护", "辖区内仅该机构具备医养结合上门服务资质"]
SINGLE_SOURCE = DRAFTED.model_copy(
    update={
        "contract_no": "YJ-DY-2026-00003",
        "basis": BASIS.model_copy(
            update={
                "contract_no": "YJ-DY-2026-00003", "origin": "single_source", "lot_no": None, "fair_no": None,
                "single_source_reasons": SINGLE_SOURCE_REASONS, "awarded_at": at("2026-11-02"),
            }
        ),
        "tasks": [APPROVAL],
    }
)


def contract_request(name: str, state: ContractState, kind: DocumentKind, number: int, issued_at: datetime, **facts) -> DocumentRequest:
    return DocumentRequest(
        document_id=f"{state.contract_no}-D{number:02d}-{name}",
        kind=kind,
        title=kind.default_title,
        number=f"{state.contract_no}-{number:02d}",
        issued_at=issued_at,
        issuer=issuing_office(state, kind),
        contract=state,
        **facts,
    )


REQUESTS: dict[str, DocumentRequest] = {
    "contract": contract_request("contract", DRAFTED, DocumentKind.contract, 1, at("2026-12-20", "10:00")),
    "signed": contract_request("signed", SIGNED, DocumentKind.contract, 2, at("2026-12-23", "16:30")),
    "pay_t1": contract_request("pay_t1", AT_SIGNING, DocumentKind.payment_instruction, 2, at("2026-12-23", "16:31"), subject="T1"),
    "pay_t2": contract_request("pay_t2", AT_M1, DocumentKind.payment_instruction, 3, at("2027-07-05", "11:00"), subject="T2"),
    "mid_term": contract_request("mid_term", MID_TERM_FAILED, DocumentKind.performance_report, 4, at("2027-07-20", "16:01"), subject="E1"),
    "rectification": contract_request(
        "rectification", MID_TERM_FAILED, DocumentKind.rectification_notice, 5, at("2027-07-20", "16:05"),
        items=RECTIFICATION_ITEMS, deadline=RECTIFICATION_DUE,
    ),
    "re_evaluation": contract_request("re_evaluation", RE_EVALUATED, DocumentKind.performance_report, 6, at("2027-08-30", "16:01"), subject="E2"),
    "final": contract_request("final", FINAL_DONE, DocumentKind.performance_report, 7, at("2028-01-10", "16:01"), subject="E3"),
    "pay_t3": contract_request("pay_t3", FINAL_DONE, DocumentKind.payment_instruction, 8, at("2028-01-10", "16:02"), subject="T3"),
    "reward": contract_request("reward", REWARDED, DocumentKind.reward_decision, 9, at("2028-01-10", "16:03"), subject="R1"),
    "failed_re_evaluation": contract_request(
        "failed_re_evaluation", FAILED_RECTIFICATION, DocumentKind.performance_report, 6, at("2027-08-30", "16:01"), subject="E2"
    ),
    "terminated": contract_request(
        "terminated", FAILED_RECTIFICATION, DocumentKind.termination_notice, 7, at("2027-08-30", "16:02"), items=FAILED_REASONS
    ),
    "ended_early": contract_request(
        "ended_early", ENDED_BY_BUYER, DocumentKind.termination_notice, 4, at("2027-07-15", "10:00"), items=EARLY_REASONS
    ),
    "amended": contract_request("amended", AMENDED, DocumentKind.contract, 3, at("2027-03-03", "15:00")),
    "single_source": contract_request("single_source", SINGLE_SOURCE, DocumentKind.contract, 1, at("2026-11-20", "10:00")),
}


# --- reading the PDFs ---------------------------------------------------------------------------


def squash(text: str) -> str:
    """pdftotext wraps lines where the PDF does; compare without any whitespace."""
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path, mode: str = "-layout") -> str:
    return subprocess.run(["pdftotext", mode, str(path), "-"], check=True, capture_output=True, text=True).stdout


def assert_contains(text: str, *needles: str) -> None:
    for needle in needles:
        assert squash(needle) in text, needle


def assert_in_order(text: str, *needles: str) -> None:
    positions = [text.index(squash(needle)) for needle in needles]
    assert positions == sorted(positions), needles


def section(text: str, start: str, end: str) -> str:
    """The text between two headings, to check a figure is stated where it belongs."""
    return text[text.index(squash(start)) : text.index(squash(end), text.index(squash(start)))]


@pytest.fixture(scope="module")
async def rendered(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> tuple[Path, dict[str, DocumentRef]]:
    documents_dir = tmp_path_factory.mktemp("contract-documents")
    activities = DocumentActivities(documents_dir, engine)
    refs = await asyncio.gather(*(ActivityEnvironment().run(activities.render_document, r) for r in REQUESTS.values()))
    return documents_dir, dict(zip(REQUESTS, refs, strict=True))


@pytest.fixture(scope="module")
def pages(rendered: tuple[Path, dict[str, DocumentRef]]) -> dict[str, list[str]]:
    documents_dir, refs = rendered
    return {
        name: [squash(page) for page in pdf_text(content_path(documents_dir, ref.pdf_sha256, "pdf")).split("\f") if page.strip()]
        for name, ref in refs.items()
    }


@pytest.fixture(scope="module")
def texts(pages: dict[str, list[str]]) -> dict[str, str]:
    return {name: "".join(parts) for name, parts in pages.items()}


@pytest.fixture(scope="module")
def rows(rendered: tuple[Path, dict[str, DocumentRef]]) -> dict[str, str]:
    """The text in drawing order: a table row's cells follow each other even when a cell wraps."""
    documents_dir, refs = rendered
    return {
        name: squash(pdf_text(content_path(documents_dir, ref.pdf_sha256, "pdf"), "-raw")) for name, ref in refs.items()
    }


# --- the scenario itself ----------------------------------------------------------------------


def test_the_scenario_is_what_the_documents_describe() -> None:
    """Guards the fixtures: if the rules change, the expectations below must be revisited."""
    assert [t.amount_fen for t in DRAFTED.tranches] == [7_800_000, 10_400_000, 7_800_000]
    assert sum(t.amount_fen for t in DRAFTED.tranches) == AMOUNT
    assert [(t.tranche_id, t.on, t.milestone_id) for t in DRAFTED.tranches] == [
        ("T1", "signing", None), ("T2", "milestone", "M1"), ("T3", "final_evaluation", None)
    ]
    assert (MID_TERM.satisfaction_points, MID_TERM.total, MID_TERM.grade, MID_TERM.passed) == (6, 51, "差", False)
    assert (RE_EVALUATION.total, RE_EVALUATION.grade, RE_EVALUATION.passed) == (78, "中", True)
    assert (FAILED_AGAIN.total, FAILED_AGAIN.grade, FAILED_AGAIN.passed) == (56, "差", False)
    assert (FINAL.satisfaction_points, FINAL.total, FINAL.grade, FINAL.passed) == (10, 92, "优", True)
    assert AT_M1.committed_fen == 7_800_000
    assert sum(t.amount_fen for t in AMENDED.tranches) == AMENDED.amount_fen == 28_600_000


def test_capital_amounts() -> None:
    assert yuan_upper(26_000_000) == "贰拾陆万元整"
    assert yuan_upper(7_800_000) == "柒万捌仟元整"
    assert yuan_upper(10_400_000) == "壹拾万肆仟元整"
    assert yuan_upper(200_000_500) == "贰佰万零伍元整"
    assert yuan_upper(10_001_000_000) == "壹亿零壹万元整"
    assert yuan_upper(100_550) == "壹仟零伍元伍角整"
    assert yuan_upper(10_005) == "壹佰元零伍分"
    assert yuan_upper(5) == "伍分"
    assert yuan_upper(0) == "零元整"
    with pytest.raises(TypeError):
        yuan_upper(2.5)  # type: ignore[arg-type]


# --- what every document carries ---------------------------------------------------------------


def test_every_page_names_the_contract(pages: dict[str, list[str]]) -> None:
    for name, parts in pages.items():
        request = REQUESTS[name]
        for page in parts:
            assert squash(f"合同编号：{request.case_no}") in page, name
            assert "shezu" not in page and "本文书由" not in page, name


def test_every_document_names_title_number_issuer_date_and_seal(rendered: tuple[Path, dict[str, DocumentRef]], texts: dict[str, str]) -> None:
    """The office's 发文字号 under its name, above the title; a contract is identified by its contract number."""
    _, refs = rendered
    for name, text in texts.items():
        request = REQUESTS[name]
        number = refs[name].issuance.document_number
        assert_contains(text, request.title, request.issuer.name, "（盖章）", cn_date(request.issued_at))
        if request.kind is DocumentKind.contract:
            assert number is None
            assert_in_order(text, request.issuer.name, request.title, f"合同编号{request.case_no}")
        else:
            assert request.case_no not in number
            assert_in_order(text, request.issuer.name, number, request.title)
        assert "None" not in text, name
        assert "Undefined" not in text, name


# --- the contract ------------------------------------------------------------------------------


def test_contract_names_parties_subject_term_and_amount(texts: dict[str, str]) -> None:
    text = texts["contract"]
    assert_contains(
        text,
        "社区居家养老上门服务政府购买服务合同",
        "合同编号SZH-YJ-2026-01-L01-HT",
        "甲方（购买方）延吉市卫生健康局",
        "乙方（承接方）延吉市夕阳红养老服务中心（社会组织名录编号：YJ-REG-0002）",
        "组织单位延吉市民政局",
        "合同版本第1版",
        "社洽会编号：SZH-YJ-2026-01",
        "项目编号：SZH-YJ-2026-01-L01",
        "2026年12月11日确认成交",
        "服务内容为建工街道、河南街道60周岁以上独居",
        "服务期限2027年1月1日至2027年12月31日（共12个月）",
        "合同金额260,000.00元（人民币贰拾陆万元整）",
    )
    assert "第1版）" not in text and "合同变更" not in section(text, "合同编号", "服务事项")


def test_contract_lists_milestones_and_tranches_that_add_up(rows: dict[str, str]) -> None:
    text = rows["contract"]
    assert_contains(
        text,
        "M1服务对象需求评估与建档（完成后进行中期绩效评价）300名服务对象需求评估表；服务对象档案2027年6月30日",
        "M2全年上门服务与总结上门服务记录；年度服务总结报告2027年12月20日",
        "T1签约预付（合同签署后）78,000.00元30%",
        "T2节点M1“服务对象需求评估与建档”验收合格后104,000.00元40%",
        "T3终期绩效评价合格后78,000.00元30%",
        "合计260,000.00元100%",
    )
    assert_contains(text, "自收到履约报告之日起10个工作日内组织验收", "自收到通知书之日起5个工作日内", "累计拨付金额不得超过合同金额")


def test_contract_states_evaluation_rectification_and_reward_terms(texts: dict[str, str], rows: dict[str, str]) -> None:
    text = texts["contract"]
    assert_contains(
        text,
        "节点M1验收合格后进行中期绩效评价，全部节点验收合格后进行终期绩效评价",
        "由甲方委托的第三方评估机构实施",
        "15个工作日内完成",
        "优（优秀，90分及以上）、良（良好，80分及以上、90分以下）、中（合格，60分及以上、80分以下）、差（不合格，60分以下）4个等级，其中差为不合格",
        "20个工作日内完成整改并提交整改报告",
        "整改后复评仍不合格的，甲方终止本合同，尚未拨付的款项不再拨付",
        "合同终止当年及其后1个年度内不得参加社洽会",
        "等级为优（优秀）的，奖励20,000.00元；等级为良（良好）的，奖励10,000.00元",
        "不计入合同金额",
        "专帐管理、专款专用",
        "《政府购买服务管理办法》（财政部令第102号）",
    )
    assert_contains(rows["contract"], "产出（服务数量与质量）40分", "服务对象满意度（按满意率折算）10分", "合计100分")


def test_contract_leaves_seal_places_for_both_parties(texts: dict[str, str], rows: dict[str, str]) -> None:
    text = rows["contract"]
    assert_contains(text, "甲方（购买方）：延吉市卫生健康局", "乙方（承接方）：延吉市夕阳红养老服务中心")
    assert texts["contract"].count("法定代表人或授权代表（签字）") == 2
    assert texts["contract"].count(squash("签署日期：  年  月  日")) == 2
    # the two parties' seals, then the organizer's
    assert texts["contract"].count("（盖章）") == 3
    assert_in_order(texts["contract"], "甲方（购买方）：", "乙方（承接方）：", "组织单位延吉市民政局依据双方确认的履约计划制作")
    assert_contains(texts["contract"], "收款账户开户银行：", "收款账号：")


def test_the_signed_contract_names_who_signed_when_and_the_account_paid_into(texts: dict[str, str], rows: dict[str, str]) -> None:
    text = texts["signed"]
    assert_contains(
        rows["signed"],
        "（双方已签署）",
        "签署人：金海燕签署日期：2026年12月22日",
        "签署人：崔明姬签署日期：2026年12月23日",
        "收款账户开户银行：延边农村商业银行延吉市建工支行户名：延吉市夕阳红养老服务中心收款账号：2300031000000002418",
        "为甲乙双方于2026年12月23日签署完毕后的文本",
        "由甲方向财政部门出具资金拨付通知书",
    )
    assert "法定代表人或授权代表（签字）" not in text and "签署日期：年月日" not in text
    assert "双方已签署" not in texts["contract"] and "签署完毕" not in texts["contract"]


def test_the_stated_service_period_is_counted_from_the_dates() -> None:
    assert PLAN.term_length == (12, 0)
    assert PLAN.model_copy(update={"end_date": date(2028, 1, 30)}).term_length == (12, 30)
    assert PLAN.model_copy(update={"end_date": date(2027, 3, 31)}).term_length == (3, 0)
    assert PLAN.model_copy(update={"end_date": date(2027, 1, 20)}).term_length == (0, 20)


def test_contract_sections_are_numbered_in_chinese(texts: dict[str, str]) -> None:
    assert_in_order(
        texts["contract"], "一、服务事项", "二、履约节点与交付成果", "三、资金拨付", "四、绩效评价", "五、整改与复评",
        "六、以奖代补", "七、专帐管理与信息公开", "八、合同变更、中止与终止", "九、其他",
    )
    assert "〇、" not in texts["contract"]


def test_amended_contract_states_its_version_and_the_amendment(texts: dict[str, str], rows: dict[str, str]) -> None:
    text = texts["amended"]
    assert_contains(
        text,
        "（第2版）",
        "合同版本第2版（经1次合同变更形成）",
        "合同变更1（金海燕于2027年3月1日提出，2027年3月3日双方同意，形成第2版）：服务对象由300人增加至360人；增加的服务费用26,000.00元计入终期拨付；合同金额变更为286,000.00元；追加金额经延吉市民政局于2027年3月5日审批同意（新增服务对象经街道复核属实）",
        "合同金额286,000.00元（人民币贰拾捌万陆仟元整），原合同金额260,000.00元",
        "本合同第2版自甲乙双方签署之日起生效，此前版本同时失效",
    )
    assert_contains(rows["amended"], "T1签约预付（合同签署后）78,000.00元27.27%已拨付", "T3终期绩效评价合格后104,000.00元36.36%未到拨付条件", "合计286,000.00元100%")
    assert "（第2版）" not in texts["contract"] and "原合同金额" not in texts["contract"]


def test_single_source_contract_states_the_approval(texts: dict[str, str]) -> None:
    text = texts["single_source"]
    assert_contains(
        text,
        "合同编号：YJ-DY-2026-00003",
        "采用单一来源方式向乙方购买，延吉市民政局于2026年11月5日审批同意",
        f"1.{SINGLE_SOURCE_REASONS[0]}",
        f"2.{SINGLE_SOURCE_REASONS[1]}",
    )
    assert "社洽会编号" not in text and "确认成交" not in text


def test_contract_from_the_national_policy_file_renders() -> None:
    policy, _ = policy_in_force(PROJECT_ROOT / "policies", ["national"], date(2027, 1, 1))
    assert policy.contracts is not None
    html = render_html(REQUESTS["contract"].model_copy(update={"contract": DRAFTED.model_copy(update={"policy": policy.contracts})}))
    for dimension in policy.contracts.evaluation_dimensions:
        assert dimension.name in html
    for tier in policy.contracts.rewards:
        assert yuan(tier.amount_fen) in html


# --- payment instructions -----------------------------------------------------------------------


def test_payment_instruction_is_addressed_to_finance_and_pays_the_supplier(texts: dict[str, str]) -> None:
    for name in ("pay_t1", "pay_t2", "pay_t3"):
        assert_contains(
            texts[name],
            "延吉市财政局（国库支付）：",
            "收款单位延吉市夕阳红养老服务中心（承接方，社会组织名录编号：YJ-REG-0002）",
            "项目名称社区居家养老上门服务",
            "从本项目专帐拨付",
            "开户银行延边农村商业银行延吉市建工支行户名延吉市夕阳红养老服务中心收款账号2300031000000002418",
            "5个工作日内将上述款项拨付至延吉市夕阳红养老服务中心上述收款账户",
        )
        # issued by the buying department, whose budget pays (the policy's default), under its seal
        assert "延吉市卫生健康局（盖章）" in texts[name][texts[name].index("特此通知。"):]
        assert "延吉市民政局" not in texts[name], name


def test_first_tranche_is_paid_on_signing(texts: dict[str, str]) -> None:
    text = texts["pay_t1"]
    assert_contains(
        text,
        "第T1笔款项的拨付条件已经成就：合同已经双方签署（2026年12月23日签署完毕），按约定签约预付",
        "拨付序号T1（共3笔中的第1笔）",
        "拨付条件签约预付",
        "本次拨付金额78,000.00元（人民币柒万捌仟元整）",
    )
    ledger = section(text, "专帐拨付情况", "本合同拨付计划")
    assert_contains(
        ledger,
        "合同金额260,000.00元",
        "此前已下达拨付0.00元（本次为首笔拨付）",
        "本次拨付78,000.00元",
        "累计拨付78,000.00元（含本次）",
        "合同余额182,000.00元",
    )


def test_milestone_tranche_reconciles_with_the_ledger(texts: dict[str, str], rows: dict[str, str]) -> None:
    text = texts["pay_t2"]
    assert_contains(
        text,
        "节点M1“服务对象需求评估与建档”已于2027年7月5日经甲方验收合格",
        "拨付条件节点M1验收合格",
        "本次拨付金额104,000.00元（人民币壹拾万肆仟元整）",
    )
    ledger = section(text, "专帐拨付情况", "本合同拨付计划")
    # 78,000 before + 104,000 now = 182,000 of 260,000; 78,000 left
    assert_contains(
        ledger,
        "此前已下达拨付78,000.00元（T1 78,000.00元，已拨付）",
        "本次拨付104,000.00元",
        "累计拨付182,000.00元",
        "合同余额78,000.00元",
    )
    assert_contains(rows["pay_t2"], "T1签约预付78,000.00元已拨付", "T2节点M1验收后104,000.00元本次拨付", "T3终期评价后78,000.00元未到拨付条件")
    assert_contains(text, "本次拨付后累计拨付182,000.00元，未超过合同金额260,000.00元")


def test_final_tranche_follows_the_final_evaluation(texts: dict[str, str]) -> None:
    text = texts["pay_t3"]
    assert_contains(
        text,
        "终期绩效评价（E3）总分92分，等级优（优秀），评价合格",
        "拨付条件终期评价合格后拨付",
        "此前已下达拨付182,000.00元（T1 78,000.00元，已拨付；T2 104,000.00元，已下达支付指令）",
        "累计拨付260,000.00元",
        "合同余额0.00元",
    )


def test_payment_instruction_for_an_unknown_tranche_refuses_to_render() -> None:
    with pytest.raises(UndefinedError):
        render_html(REQUESTS["pay_t2"].model_copy(update={"subject": "T9"}))


def test_payment_instruction_without_a_tranche_is_incomplete() -> None:
    with pytest.raises(IncompleteDocumentRequest, match="subject"):
        render_html(REQUESTS["pay_t2"].model_copy(update={"subject": None}))


# --- performance reports -------------------------------------------------------------------------


def test_failed_mid_term_report_shows_scores_grade_and_rectification(texts: dict[str, str], rows: dict[str, str]) -> None:
    text = texts["mid_term"]
    assert_contains(
        text,
        "社区居家养老上门服务绩效评价报告",
        "（中期绩效评价）",
        "受延吉市卫生健康局委托，延边众合社会工作评估中心对延吉市夕阳红养老服务中心的履约情况进行了中期绩效评价",
        "评价人王立新（第三方评估机构，延边众合社会工作评估中心）",
        "评价日期2027年7月20日",
        "10分×60%，四舍五入为6分。总分51分",
        "本次中期绩效评价总分51分，评价等级为差（不合格），评价结论：不合格",
        MID_TERM.comment,
        "承接方须在20个工作日内完成整改并提交整改报告",
    )
    # the evaluator reports under its own seal, not the bureau's
    assert "延边众合社会工作评估中心（盖章）" in text[text.index(squash(MID_TERM.comment)):]
    assert "延吉市民政局" not in text
    assert_contains(
        rows["mid_term"],
        "1产出（服务数量与质量）4020",
        "2效果（服务对象受益情况）3015",
        "3管理（项目管理与资金使用）2010",
        "4服务对象满意度（调查120人，满意率60%）106",
        "合计10051",
        "差（不合格）60分以下不合格本次等级",
    )
    assert "合同继续履行" not in text


def test_passed_re_evaluation_report_refers_to_the_failed_one(texts: dict[str, str]) -> None:
    text = texts["re_evaluation"]
    assert_contains(
        text,
        "（整改后复评·中期绩效评价阶段）",
        "此前，本阶段中期绩效评价（E1，2027年7月20日）得分51分，等级差（不合格），评价不合格",
        "总分78分，评价等级为中（合格），评价结论：合格",
        "中期绩效评价合格，合同继续履行",
    )
    assert "完成整改并提交整改报告" not in text


def test_final_report_announces_the_last_tranche_and_the_reward(texts: dict[str, str]) -> None:
    text = texts["final"]
    assert_contains(
        text,
        "（终期绩效评价）",
        "总分92分，评价等级为优（优秀），评价结论：合格",
        "按合同约定拨付终期款项T3 78,000.00元",
        "给予承接方奖励20,000.00元",
    )


def test_failed_re_evaluation_report_announces_termination(texts: dict[str, str]) -> None:
    text = texts["failed_re_evaluation"]
    assert_contains(text, "评价结论：不合格", "整改后复评仍不合格", "终止本合同，尚未拨付的款项不再拨付", "合同终止当年及其后1个年度内不得参加社洽会")
    assert "完成整改并提交整改报告" not in text


def test_report_for_an_unknown_evaluation_refuses_to_render() -> None:
    with pytest.raises(UndefinedError):
        render_html(REQUESTS["mid_term"].model_copy(update={"subject": "E9"}))


# --- rectification, reward, termination -------------------------------------------------------------


def test_rectification_notice_gives_items_deadline_and_consequences(texts: dict[str, str]) -> None:
    text = texts["rectification"]
    assert_contains(
        text,
        "延吉市夕阳红养老服务中心：",
        "中期绩效评价（E1，2027年7月20日）总分51分，等级为差（不合格），评价不合格",
        f"1.{RECTIFICATION_ITEMS[0]}",
        f"2.{RECTIFICATION_ITEMS[1]}",
        "请于2027年8月17日（含当日）前完成上述全部整改",
        "凭合同编号SZH-YJ-2026-01-L01-HT提交整改报告",
        "自本通知书发出之日起20个工作日",
        "已下达拨付182,000.00元",
        "尚未拨付78,000.00元（T3 78,000.00元）",
        "1.延吉市卫生健康局终止本合同",
        "2.尚未拨付的款项共78,000.00元不再拨付",
        "3.你单位在合同终止当年及其后1个年度内不得参加社洽会",
    )
    assert "法定节假日安排尚未正式公布" not in text


def test_rectification_notice_warns_of_a_provisional_calendar() -> None:
    request = REQUESTS["rectification"].model_copy(update={"deadline": deadline(at("2027-07-20"), 20, "2027-08-17", provisional=True)})
    assert "法定节假日安排尚未正式公布" in render_html(request)


def test_reward_decision_states_grade_amount_and_basis(texts: dict[str, str], rows: dict[str, str]) -> None:
    text = texts["reward"]
    assert_contains(
        text,
        "以奖代补奖励决定书",
        "延吉市夕阳红养老服务中心：",
        "终期绩效评价（E3，2028年1月10日）总分92分，评价等级为优（优秀）",
        "给予延吉市夕阳红养老服务中心以奖代补奖励20,000.00元（人民币贰万元整）",
        "奖励编号R1",
        "合同金额260,000.00元（奖励不计入合同金额）",
        "依据：延吉市社会组织培育发展以奖代补办法第八条（奖励档次）",
        "由延吉市财政局自收到本决定书之日起5个工作日内拨付",
    )
    assert_contains(rows["reward"], "优（优秀）20,000.00元", "良（良好）10,000.00元")
    assert "财政部令第102号" not in text


def test_reward_decision_for_another_entry_refuses_to_render() -> None:
    with pytest.raises(UndefinedError):
        render_html(REQUESTS["reward"].model_copy(update={"subject": "T3"}))


def test_termination_after_failed_rectification_withholds_and_bars(texts: dict[str, str], rows: dict[str, str]) -> None:
    text = texts["terminated"]
    assert_contains(
        text,
        "延吉市夕阳红养老服务中心、延吉市卫生健康局：",
        "因下列原因，自2027年8月30日起终止",
        f"1.{FAILED_REASONS[0]}",
        f"2.{FAILED_REASONS[1]}",
        "依据《中华人民共和国民法典》第五百六十三条及本合同的约定，本合同自2027年8月30日起终止",
        "已拨付78,000.00元",
        "待拨付104,000.00元（已下达支付指令，照常拨付）",
        "不再拨付78,000.00元",
        "经整改后复评（E2，2027年8月30日）总分56分",
        "延吉市夕阳红养老服务中心2028年度及以前不得参加社洽会",
    )
    assert_contains(rows["terminated"], "T1签约预付78,000.00元已拨付", "T2节点M1验收后104,000.00元已下达支付指令", "T3终期评价后78,000.00元不再拨付")


def test_termination_by_the_buyer_does_not_bar(texts: dict[str, str]) -> None:
    text = texts["ended_early"]
    assert_contains(
        text, f"1.{EARLY_REASONS[0]}", "依据《中华人民共和国民法典》第五百六十三条及本合同的约定", "自2027年7月15日起终止", "不再拨付78,000.00元"
    )
    assert "不得参加社洽会" not in text


def test_termination_notice_without_reasons_is_incomplete() -> None:
    with pytest.raises(IncompleteDocumentRequest, match="items"):
        render_html(REQUESTS["ended_early"].model_copy(update={"items": []}))


def test_a_deadline_in_a_table_counts_its_last_day(texts: dict[str, str]) -> None:
    """The column of due dates says the day itself counts (pdftotext sets a header's two lines apart)."""
    assert_contains(texts["contract"], "完成日期", "（含当日）")


def test_the_seals_place_stays_clear_of_the_footer(rendered: tuple[Path, dict[str, DocumentRef]]) -> None:
    assert misplaced_seals(*rendered) == {}


# --- reproducibility and escaping --------------------------------------------------------------------


async def test_rendering_again_gives_the_same_documents(rendered: tuple[Path, dict[str, DocumentRef]], engine: Engine) -> None:
    documents_dir, refs = rendered
    activities = DocumentActivities(documents_dir, engine)
    names = ["contract", "pay_t2", "terminated"]
    again = await asyncio.gather(*(ActivityEnvironment().run(activities.render_document, REQUESTS[n]) for n in names))
    assert [r.pdf_sha256 for r in again] == [refs[n].pdf_sha256 for n in names]


def test_supplier_text_is_escaped() -> None:
    hostile = "<script>alert(1)</script>养老中心"
    state = DRAFTED.model_copy(update={"basis": BASIS.model_copy(update={"supplier_name": hostile})})
    html = render_html(REQUESTS["contract"].model_copy(update={"contract": state}))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;养老中心" in html
