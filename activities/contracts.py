"""Contract activities: the contract policy in force, the 专帐 ledger (instruct once, never beyond
the contract amount; record disbursements; withhold), and what the register learns about an
organization's performance."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from rules.policy_files import PolicyNotFound, policy_in_force
from schemas.contracts import (
    BankAccount,
    ContractLookup,
    ContractRules,
    LedgerDisbursement,
    LedgerInstruction,
    LedgerWithholding,
    PerformanceRecord,
)
from schemas.money import yuan
from store import register
from store.db import session_scope
from store.models import LedgerRecord


class ContractActivities:
    def __init__(self, engine: Engine, policies_dir: Path, history_limit: int | None = None) -> None:
        self.engine = engine
        self.policies_dir = policies_dir
        self.history_limit = history_limit

    @activity.defn(name="contract_policy")
    def contract_policy(self, lookup: ContractLookup) -> ContractRules:
        try:
            policy, ref = policy_in_force(self.policies_dir, lookup.jurisdiction_chain, lookup.on)
        except PolicyNotFound as error:
            raise ApplicationError(str(error), type="policy", non_retryable=True) from error
        if policy.contracts is None:
            raise ApplicationError(f"{policy.title}没有政府购买服务合同规则", type="policy", non_retryable=True)
        return ContractRules(policy=policy.contracts, ref=ref, history_limit=self.history_limit or policy.contracts.history_events_limit)

    @activity.defn(name="instruct_payment")
    def instruct_payment(self, instruction: LedgerInstruction) -> None:
        """Idempotent: a retried call finds its entry and writes nothing. A tranche that would take the
        contract's payments beyond its amount is refused, whatever the workflow thought."""
        with session_scope(self.engine) as session:
            existing = session.get(LedgerRecord, (instruction.contract_no, instruction.entry))
            if existing is not None:
                if existing.amount_fen != instruction.amount_fen:
                    raise ApplicationError(
                        f"专帐中{instruction.entry}已按{yuan(existing.amount_fen)}下达，不能改为{yuan(instruction.amount_fen)}",
                        type="ledger_conflict", non_retryable=True,
                    )
                return
            if instruction.cap_fen is not None:
                released = session.exec(
                    select(func.coalesce(func.sum(LedgerRecord.amount_fen), 0)).where(
                        LedgerRecord.contract_no == instruction.contract_no,
                        LedgerRecord.kind == "tranche",
                        LedgerRecord.status != "withheld",
                    )
                ).one()
                if released + instruction.amount_fen > instruction.cap_fen:
                    raise ApplicationError(
                        f"拨付{instruction.entry} {yuan(instruction.amount_fen)}后累计{yuan(released + instruction.amount_fen)}，"
                        f"超过合同金额{yuan(instruction.cap_fen)}，已拒绝",
                        type="over_contract_amount", non_retryable=True,
                    )
            session.add(
                LedgerRecord(
                    contract_no=instruction.contract_no, entry=instruction.entry, kind=instruction.kind,
                    amount_fen=instruction.amount_fen, status="instructed", document_id=instruction.document_id,
                    instructed_at=instruction.instructed_at,
                )
            )

    @activity.defn(name="record_disbursement")
    def record_disbursement(self, disbursement: LedgerDisbursement) -> None:
        with session_scope(self.engine) as session:
            record = session.get(LedgerRecord, (disbursement.contract_no, disbursement.entry))
            if record is None:
                raise ApplicationError(f"专帐中没有{disbursement.entry}的支付指令", type="ledger_missing", non_retryable=True)
            if record.status == "paid":
                return
            record.status, record.paid_at, record.voucher = "paid", disbursement.paid_at, disbursement.voucher
            record.voucher_recorded_at = record.voucher_recorded_at or disbursement.paid_at
            session.add(record)

    @activity.defn(name="withhold_payments")
    def withhold_payments(self, withholding: LedgerWithholding) -> None:
        """Entries never instructed are recorded as withheld, so the ledger shows what will not be paid."""
        with session_scope(self.engine) as session:
            for entry, amount in withholding.entries.items():
                if session.get(LedgerRecord, (withholding.contract_no, entry)) is None:
                    session.add(
                        LedgerRecord(
                            contract_no=withholding.contract_no, entry=entry, kind="tranche", amount_fen=amount,
                            status="withheld", document_id="", withheld_at=withholding.at, note=withholding.reason,
                        )
                    )

    @activity.defn(name="payee_account")
    def payee_account(self, organization: str) -> BankAccount | None:
        """The supplier's receiving account as the register holds it now (recorded in history, so a later
        change of the register does not change a signed contract)."""
        return register.account(self.engine, organization)

    @activity.defn(name="record_performance")
    def record_performance(self, record: PerformanceRecord) -> None:
        try:
            register.record_performance(self.engine, record)
        except ValueError as error:
            raise ApplicationError(str(error), type="register", non_retryable=True) from error
