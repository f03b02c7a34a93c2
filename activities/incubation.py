"""Incubation activities: a base and the policy in force for it, claiming and releasing places, and
projecting an incubation to the read model."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import heartbeating
from activities.read_model import _project_documents, _project_tasks, _project_timeline
from rules.policy_files import PolicyNotFound, policy_in_force
from schemas.incubation import IncubationBase, IncubationPolicy
from schemas.incubation_case import BaseAsk, BaseParties, IncubationState, PlaceClaim, PlaceOutcome
from schemas.localtime import local_date
from schemas.people import Level, Role
from store import bases, directory, register
from store.db import exclusive_scope
from store.models import IncubationFilingRecord, IncubationRecord


class IncubationActivities:
    def __init__(self, engine: Engine, policies_dir: Path, history_limit: int | None = None) -> None:
        self.engine = engine
        self.policies_dir = policies_dir
        self.history_limit = history_limit

    @activity.defn(name="incubation_base")
    def incubation_base(self, code: str) -> IncubationBase:
        found = bases.base(self.engine, code)
        if found is None:
            raise ApplicationError(f"孵化基地 {code} 不存在", type="not_found", non_retryable=True)
        return found

    @activity.defn(name="incubation_policy")
    def incubation_policy(self, ask: BaseAsk) -> IncubationPolicy:
        base = self.incubation_base(ask.base_code)
        place = directory.locality(self.engine, base.jurisdiction)
        chain = [j.code for j in place.chain] if place else []
        try:
            policy, _ = policy_in_force(self.policies_dir, chain, local_date(ask.at))
        except PolicyNotFound as error:
            raise ApplicationError(str(error), type="policy", non_retryable=True) from error
        if policy.incubation is None:
            raise ApplicationError(f"{policy.title}没有孵化规则", type="policy", non_retryable=True)
        if self.history_limit:
            return policy.incubation.model_copy(update={"history_events_limit": self.history_limit})
        return policy.incubation

    @activity.defn(name="incubation_parties")
    def incubation_parties(self, code: str) -> BaseParties:
        """The operator's name as the register has it and the district 民政局 over the base, as documents name them."""
        base = self.incubation_base(code)
        operator = register.organization(self.engine, base.operator)
        locality = directory.locality(self.engine, base.jurisdiction)
        if operator is None or locality is None:
            missing = base.operator if operator is None else base.jurisdiction
            raise ApplicationError(f"孵化基地 {code}：{missing} 不在名录中", type="not_found", non_retryable=True)
        return BaseParties(operator_name=operator.name, authority=locality.office(Role.civil_affairs, Level.district))

    @activity.defn(name="claim_incubation_place")
    def claim_incubation_place(self, claim: PlaceClaim) -> PlaceOutcome:
        return PlaceOutcome(waiting_position=bases.claim_place(self.engine, claim.base_code, claim.case_no, claim.at))

    @activity.defn(name="release_incubation_place")
    def release_incubation_place(self, claim: PlaceClaim) -> PlaceOutcome:
        return PlaceOutcome(moved_in=bases.release_place(self.engine, claim.base_code, claim.case_no, claim.at))

    @activity.defn(name="project_incubation")
    def project_incubation(self, state: IncubationState) -> None:
        with heartbeating(), exclusive_scope(self.engine) as session:
            project_incubation(session, state)


def project_incubation(session: Session, state: IncubationState) -> None:
    existing = session.get(IncubationRecord, state.case_no, with_for_update=True)
    if existing is not None and existing.revision > state.revision:
        return
    record = existing or IncubationRecord(case_no=state.case_no)  # type: ignore[call-arg]
    record.sqlmodel_update(
        {
            "base_code": state.application.base_code,
            "jurisdiction": state.base.jurisdiction if state.base else "",
            "group_name": state.application.group_name,
            "organization": state.organization or state.application.organization,
            "filing_case_no": state.filings[-1].case_no if state.filings else None,
            "representative_id": state.representative.user_id,
            "mentor_id": state.mentor.user_id if state.mentor else None,
            "phase": state.phase.value,
            "revision": state.revision,
            "admitted_at": state.admitted_at,
            "filed_at": next((f.decided_at for f in state.filings if f.outcome == "approved"), None),
            "ended_at": state.ended_at,
            "outcome": state.phase.value if state.ended_at else None,
            "updated_at": state.timeline[-1].at if state.timeline else state.submitted_at,
            "state": state.model_dump(mode="json"),
        }
    )
    session.add(record)
    for filing in state.filings:
        session.merge(IncubationFilingRecord(filing_case_no=filing.case_no, incubation_case_no=state.case_no))
    _project_tasks(session, state.case_no, state.tasks, state.application.group_name, state.phase.label)
    _project_timeline(session, state.case_no, state.timeline)
    _project_documents(session, state.case_no, state.documents)
