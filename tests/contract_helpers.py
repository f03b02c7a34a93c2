"""Building contracts for tests: a single-source purchase of 延吉市卫生健康局 from 延吉市夕阳红养老服务协会,
a plan of two milestones (mid-term evaluation after the first) paid 30% on signing, 40% on the first
milestone and 30% after the final evaluation, and the people who act on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from temporalio.client import Client

from rules.contracts import term_end
from schemas.contracts import (
    AmendmentInput,
    ContractPhase,
    ContractPlan,
    ContractState,
    DeliveryInput,
    EvaluationInput,
    TrancheStatus,
)
from schemas.localtime import local_date
from service import views
from service.contracts import ContractService
from settings import Settings
from tests.conftest import Skipping
from tests.helpers import until_contract
from workflows.contract import ContractWorkflow

ORGANIZER = "mz-chen"
BUYER = "dept-wj"
BUYER_B = "dept-wj2"
SUPPLIER = "org-xiyanghong"
SUPPLIER_ORG = "YJ-REG-0002"
FINANCE = "fin-01"
EVALUATOR = "eval-01"
AMOUNT = 12_000_000

PASSING = {"output": 37, "effect": 27, "management": 18}
"""With 95% satisfaction (10 points × 95%, rounded: 10) a total of 92: 优."""
GOOD = {"output": 34, "effect": 24, "management": 16}
"""With 90% satisfaction (9 points) a total of 83: 良."""
FAILING = {"output": 22, "effect": 14, "management": 10}
"""With 50% satisfaction (5 points) a total of 51: 差."""


def plan(start: date, amount: int = AMOUNT, months: int = 12) -> ContractPlan:
    """The awarded term of ``months`` from ``start``; two milestones, a third into the term and just before
    its end; 30% / 40% / 30%."""
    signing = amount * 3 // 10
    milestone = amount * 4 // 10
    end = term_end(start, months)
    days = (end - start).days
    return ContractPlan.model_validate(
        {
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "milestones": [
                {
                    "title": "建立服务档案并开展首轮上门服务",
                    "deliverables": ["80名老人服务档案", "首轮上门服务记录"],
                    "due_date": (start + timedelta(days=days // 3)).isoformat(),
                    "mid_term_evaluation": True,
                },
                {
                    "title": "完成全年上门服务并总结",
                    "deliverables": ["服务记录汇编", "项目总结报告"],
                    "due_date": (start + timedelta(days=days - 5)).isoformat(),
                },
            ],
            "tranches": [
                {"amount_fen": signing, "on": "signing"},
                {"amount_fen": milestone, "on": "milestone", "milestone": 1},
                {"amount_fen": amount - signing - milestone, "on": "final_evaluation"},
            ],
        }
    )


def evaluation(scores: dict[str, int], satisfaction: int = 95) -> EvaluationInput:
    return EvaluationInput(
        scores=scores, satisfaction_rate=satisfaction, respondents=60, comment="服务记录完整，老人反馈良好。"
    )


def amended_plan(state: ContractState, extra: int, reasons: list[str]) -> AmendmentInput:
    """The signed plan a month longer, its last milestone with more to deliver and its last tranche raised by ``extra``."""
    old = state.plan
    assert old is not None
    milestones = [m.model_dump(mode="json") for m in old.milestones]
    milestones[1]["due_date"] = (old.end_date + timedelta(days=25)).isoformat()
    milestones[1]["deliverables"] = [*milestones[1]["deliverables"], "新增10名老人的服务记录"]
    tranches = [t.model_dump(mode="json") for t in old.tranches]
    tranches[2]["amount_fen"] += extra
    return AmendmentInput.model_validate(
        {
            "amount_fen": state.amount_fen + extra,
            "plan": {
                "start_date": old.start_date.isoformat(),
                "end_date": (old.end_date + timedelta(days=30)).isoformat(),
                "milestones": milestones,
                "tranches": tranches,
            },
            "reasons": reasons,
        }
    )


REPORT = DeliveryInput(summary="本节点共上门服务320人次，建立服务档案80份，详见附件服务记录。")


@dataclass
class Contract:
    service: ContractService
    client: Client
    skipping: Skipping
    contract_no: str

    def actor(self, user_id: str):  # type: ignore[no-untyped-def]
        return self.service.actor(user_id)

    async def state(self) -> ContractState:
        return await self.client.get_workflow_handle(self.contract_no).query(ContractWorkflow.status)

    async def until(self, condition: Any, seconds: float = 30) -> ContractState:
        return await until_contract(self.client, self.contract_no, condition, seconds)

    async def today(self) -> date:
        return local_date(await self.skipping.env.get_current_time())

    async def plan(self, contract_plan: ContractPlan | None = None) -> None:
        await self.service.propose_plan(self.actor(BUYER), self.contract_no, contract_plan or plan(await self.today()))

    async def sign(self) -> ContractState:
        await self.service.sign(self.actor(BUYER), self.contract_no, views.SigningInput(party="buyer"))
        await self.service.sign(self.actor(SUPPLIER), self.contract_no, views.SigningInput(party="supplier"))
        return await self.until(lambda s: s.phase is ContractPhase.in_force)

    async def disburse(self, tranche_id: str, voucher: str | None = None) -> ContractState:
        await self.service.record_disbursement(
            self.actor(FINANCE),
            self.contract_no,
            views.DisbursementInput(tranche_id=tranche_id, voucher=voucher or f"GK-{self.contract_no}-{tranche_id}"),
        )
        return await self.until(lambda s: s.payment(tranche_id).status is TrancheStatus.paid)

    async def deliver(self, milestone_id: str) -> ContractState:
        """The supplier reports, the buyer accepts."""
        await self.service.submit_delivery(self.actor(SUPPLIER), self.contract_no, milestone_id, REPORT)
        await self.until(lambda s: any(t.step == "acceptance" and t.subject == milestone_id for t in s.open_tasks))
        await self.service.review_delivery(
            self.actor(BUYER), self.contract_no, milestone_id, views.DeliveryReviewInput(accept=True)
        )
        return await self.until(lambda s: s.milestone(milestone_id).status.value == "accepted")

    async def evaluate(self, scores: dict[str, int], satisfaction: int = 95) -> ContractState:
        before = len((await self.state()).evaluations)
        await self.until(lambda s: any(t.step == "evaluation" for t in s.open_tasks))
        await self.service.submit_evaluation(self.actor(EVALUATOR), self.contract_no, evaluation(scores, satisfaction))
        return await self.until(lambda s: len(s.evaluations) > before and s.evaluations[-1].document_id is not None)

    async def sleep(self, delta: timedelta) -> None:
        await self.skipping.sleep(delta)


async def single_source(
    skipping: Skipping, settings: Settings | None = None, amount: int = AMOUNT, approve: bool = True
) -> Contract:
    """A single-source contract approved by the organizer, in drafting (or still waiting for approval)."""
    service = ContractService(settings or skipping.settings, skipping.engine, skipping.env.client)
    request = views.SingleSourceInput(
        title="独居老人居家养老上门服务",
        service_content="为建工街道80岁以上独居老人提供每周两次上门探访、助洁和健康监测",
        supplier=SUPPLIER_ORG,
        amount_fen=amount,
        duration_months=12,
        reasons=["该协会是本街道唯一具备医养结合服务能力的社会组织", "服务须与既有服务档案衔接"],
    )
    view = await service.single_source(service.actor(BUYER), request)
    contract = Contract(service, skipping.env.client, skipping, view.contract_no)
    await contract.until(lambda s: s.phase is ContractPhase.approval and s.open_tasks)
    if not approve:
        return contract
    await service.approve_single_source(service.actor(ORGANIZER), view.contract_no, views.ApprovalInput(approve=True))
    await contract.until(lambda s: s.phase is ContractPhase.drafting)
    return contract


async def in_force(skipping: Skipping, settings: Settings | None = None, amount: int = AMOUNT) -> Contract:
    """Signed by both parties, the advance instructed."""
    contract = await single_source(skipping, settings, amount)
    await contract.plan(plan(await contract.today(), amount))
    await contract.until(lambda s: s.phase is ContractPhase.signing)
    await contract.sign()
    await contract.until(lambda s: s.tranche("T1").status is TrancheStatus.instructed)
    return contract
