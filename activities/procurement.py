"""Fair and lot activities: the procurement policy in force, eligibility screening against the
register, the expert pool and the contract record. The register, the pool and the policy change
over time, so their answers are recorded in history."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from rules.eligibility import screen
from rules.policy_files import PolicyNotFound, policy_in_force
from schemas.procurement import (
    ContractFacts,
    ExpertPool,
    PolicyLookup,
    PoolRequest,
    ProcurementRules,
    ScreeningRequest,
    ScreeningResult,
    conflicts_of,
)
from store import directory, register
from store.db import session_scope
from store.models import ContractRecord


class ProcurementActivities:
    def __init__(self, engine: Engine, policies_dir: Path, history_limit: int | None = None) -> None:
        self.engine = engine
        self.policies_dir = policies_dir
        self.history_limit = history_limit

    @activity.defn(name="procurement_policy")
    def procurement_policy(self, lookup: PolicyLookup) -> ProcurementRules:
        try:
            policy, ref = policy_in_force(self.policies_dir, lookup.jurisdiction_chain, lookup.on)
        except PolicyNotFound as error:
            raise ApplicationError(str(error), type="policy", non_retryable=True) from error
        if policy.procurement is None:
            raise ApplicationError(f"{policy.title}没有社洽会（政府购买服务）规则", type="policy", non_retryable=True)
        procurement = policy.procurement
        if policy.incubation and policy.incubation.fair_rules:
            procurement = procurement.model_copy(update={"incubation_rules": policy.incubation.fair_rules})
        if self.history_limit:
            procurement = procurement.model_copy(update={"history_events_limit": self.history_limit})
        return ProcurementRules(policy=procurement, ref=ref)

    @activity.defn(name="screen_bids")
    def screen_bids(self, request: ScreeningRequest) -> ScreeningResult:
        place = directory.jurisdiction(self.engine, request.requirements.jurisdiction or "")
        name = place.full_name if place else request.requirements.jurisdiction
        return ScreeningResult(
            screenings=[
                screen(
                    bid, register.facts(self.engine, bid.organization), request.requirements, request.fair_year, request.on, name,
                    request.incubation_rules,
                )
                for bid in request.bids
            ]
        )

    @activity.defn(name="expert_pool")
    def expert_pool(self, request: PoolRequest) -> ExpertPool:
        """Retried until the pool has enough experts without a conflict, so an administrator can add some."""
        pool = directory.experts(self.engine, request.jurisdiction)
        free = [e for e in pool if not conflicts_of(e, set(request.organizations))]
        if len(free) < request.minimum:
            raise ApplicationError(
                f"{request.jurisdiction} 专家库中与投标人无利益冲突的专家只有{len(free)}名，少于评审所需的{request.minimum}名，请补充专家库",
                type="expert_pool_too_small",
            )
        return ExpertPool(experts=pool)

    @activity.defn(name="record_contract")
    def record_contract(self, contract: ContractFacts) -> None:
        with session_scope(self.engine) as session:
            record = session.get(ContractRecord, contract.contract_no) or ContractRecord(contract_no=contract.contract_no)  # type: ignore[call-arg]
            record.sqlmodel_update(
                {
                    "lot_no": contract.lot_no,
                    "fair_no": contract.fair_no,
                    "title": contract.title,
                    "buyer_office": contract.buyer_office,
                    "buyer_id": contract.buyer.user_id,
                    "supplier": contract.supplier,
                    "supplier_name": contract.supplier_name,
                    "amount_fen": contract.amount_fen,
                    "duration_months": contract.duration_months,
                    "awarded_at": contract.awarded_at,
                }
            )
            session.add(record)
