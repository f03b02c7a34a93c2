"""Projection of each process's state into the read model (cases, fairs, lots, tasks inbox,
timeline, documents, organizations register, showcase). Idempotent: the whole state is upserted,
an older revision never overwrites a newer one, and rebuilding from workflow state gives the same rows."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity

from activities.heartbeat import heartbeating
from schemas.case import CaseState, Phase, Task, TimelineEvent
from schemas.contracts import ContractState, TrancheStatus
from schemas.documents import DocumentRef
from schemas.people import Level
from schemas.procurement import FairState, LotState, SeatStatus
from schemas.text import name_key
from store.case_numbers import open_case_key, record_case
from store.db import exclusive_scope
from store.models import (
    CaseRecord,
    ContractRecord,
    DocumentRecord,
    FairRecord,
    LotRecord,
    OrganizationRecord,
    ShowcaseRecord,
    TaskRecord,
    TimelineRecord,
)


def project(session: Session, state: CaseState) -> bool:
    """Write ``state`` into the session; False (and nothing written) if a newer revision is already there."""
    existing = session.get(CaseRecord, state.case_no, with_for_update=True)
    if existing is not None and existing.revision > state.revision:
        return False
    application = state.application
    now = state.timeline[-1].at if state.timeline else state.submitted_at
    clock = state.legal_clock
    record = existing or CaseRecord(case_no=state.case_no, submitted_at=state.submitted_at)  # type: ignore[call-arg]
    record.sqlmodel_update(
        {
            "process": "filing",
            "track": application.track.value,
            "revision": state.revision,
            "phase": state.phase.value,
            "phase_applicant_name": state.phase_applicant_name,
            "phase_staff_name": state.phase_staff_name,
            "closed": state.phase.terminal,
            "applicant_id": state.applicant.user_id,
            "applicant_name": application.applicant_name,
            "organization_name": application.organization_name,
            "community": application.community,
            "authority_jurisdiction": state.authority.jurisdiction if state.authority else None,
            "holders": "、".join(dict.fromkeys(t.holder.name for t in state.open_tasks)),
            "next_deadline": state.next_deadline.due_at if state.next_deadline else None,
            "legal_deadline": clock.deadline.due_at if clock and clock.deadline and not clock.paused else None,
            "updated_at": now,
            "state": state.model_dump(mode="json"),
        }
    )
    session.add(record)

    _project_tasks(session, state.case_no, state.tasks, application.organization_name, state.phase_staff_name)
    _project_timeline(session, state.case_no, state.timeline)
    _project_documents(session, state.case_no, state.documents)

    result = state.result
    if result and result.phase is Phase.approved and result.certificate_number:
        organization = session.get(OrganizationRecord, state.case_no) or OrganizationRecord(case_no=state.case_no)  # type: ignore[call-arg]
        organization.sqlmodel_update(
            {
                "name": application.organization_name,
                "name_key": name_key(application.organization_name),
                "track": application.track.value,
                "community": application.community,
                "authority_jurisdiction": state.authority.jurisdiction if state.authority else "",
                "certificate_number": result.certificate_number,
                "approved_at": result.decided_at,
                "valid_until": result.valid_until,
                "representative_id": state.applicant.user_id,
                "representative_name": application.applicant_name,
            }
        )
        session.add(organization)

    if state.locality:
        district = state.locality.at_level(Level.district).code
        key = None if state.phase.terminal else open_case_key(district, application.organization_name)
        record_case(session, state.case_no, key, state.submitted_at)
    return True


def _project_tasks(session: Session, key: str, tasks: list[Task], subject: str, phase_staff_name: str) -> None:
    """Every task of a case (open and closed) as a row of the inbox."""
    for task in tasks:
        row = session.get(TaskRecord, (key, task.task_id)) or TaskRecord(case_no=key, task_id=task.task_id)  # type: ignore[call-arg]
        row.sqlmodel_update(
            {
                "step": task.step,
                "title": task.title,
                "role": task.role.value,
                "jurisdiction": task.office.jurisdiction,
                "office": task.office.name,
                "a_user_id": task.a.user_id,
                "a_name": task.a.name,
                "b_user_id": task.b.user_id,
                "b_name": task.b.name,
                "holder_id": task.holder.user_id,
                "holder_name": task.holder.name,
                "status": task.status.value,
                "escalated": task.escalated,
                "created_at": task.created_at,
                "due_at": task.deadline.due_at,
                "closed_at": task.closed_at,
                "outcome": task.decision.outcome.value if task.decision else None,
                "organization_name": subject,
                "phase_staff_name": phase_staff_name,
            }
        )
        session.add(row)


def _project_timeline(session: Session, key: str, timeline: list[TimelineEvent]) -> None:
    """Timeline rows are written once each; a retried projection adds only the new ones."""
    known = set(session.exec(select(TimelineRecord.seq).where(TimelineRecord.case_no == key)))
    for event in timeline:
        if event.seq in known:
            continue
        session.add(
            TimelineRecord(
                case_no=key,
                seq=event.seq,
                at=event.at,
                actor_id=event.actor.user_id if event.actor else None,
                actor_name=event.actor.name if event.actor else None,
                actor_role=event.actor.role.value if event.actor else None,
                action=event.action,
                summary=event.summary,
                phase_before=str(event.phase_before),
                phase_after=str(event.phase_after),
            )
        )


def _project_documents(session: Session, key: str, documents: list[DocumentRef]) -> None:
    for document in documents:
        if session.get(DocumentRecord, document.document_id) is None:
            session.add(DocumentRecord(case_no=key, **document.model_dump()))


def project_fair(session: Session, state: FairState) -> None:
    existing = session.get(FairRecord, state.fair_no, with_for_update=True)
    if existing is not None and existing.revision > state.revision:
        return
    record = existing or FairRecord(fair_no=state.fair_no)  # type: ignore[call-arg]
    record.sqlmodel_update(
        {
            "title": state.title,
            "organizer_jurisdiction": state.organizer.jurisdiction,
            "phase": state.phase.value,
            "revision": state.revision,
            "updated_at": state.timeline[-1].at if state.timeline else state.created_at,
            "state": state.model_dump(mode="json"),
        }
    )
    session.add(record)
    _project_timeline(session, state.fair_no, state.timeline)
    _project_documents(session, state.fair_no, state.documents)
    for project in state.showcase:
        if session.get(ShowcaseRecord, (state.fair_no, project.project_id)) is None:
            session.add(
                ShowcaseRecord(
                    fair_no=state.fair_no, project_id=project.project_id, organization=project.organization,
                    organization_name=project.organization_name, title=project.title, summary=project.summary,
                    beneficiaries=project.beneficiaries, added_at=project.added_at,
                )
            )


def project_lot(session: Session, state: LotState) -> None:
    existing = session.get(LotRecord, state.lot_no, with_for_update=True)
    if existing is not None and existing.revision > state.revision:
        return
    record = existing or LotRecord(lot_no=state.lot_no)  # type: ignore[call-arg]
    record.sqlmodel_update(
        {
            "fair_no": state.fair_no,
            "title": state.demand.title,
            "department_id": state.demand.department.user_id,
            "phase": state.phase.value,
            "revision": state.revision,
            "updated_at": state.timeline[-1].at if state.timeline else state.opened_at,
            "state": state.model_dump(mode="json"),
        }
    )
    session.add(record)
    _project_tasks(session, state.lot_no, state.tasks, state.demand.title, state.phase_names[1])
    _project_seats(session, state)
    _project_timeline(session, state.lot_no, state.timeline)
    _project_documents(session, state.lot_no, state.documents)


def project_contract(session: Session, state: ContractState) -> None:
    existing = session.get(ContractRecord, state.contract_no, with_for_update=True)
    if existing is not None and existing.revision > state.revision:
        return
    basis = state.basis
    record = existing or ContractRecord(contract_no=state.contract_no)  # type: ignore[call-arg]
    by_status = {s: sum(t.amount_fen for t in state.tranches if t.status is s) for s in TrancheStatus}
    record.sqlmodel_update(
        {
            "lot_no": basis.lot_no,
            "fair_no": basis.fair_no,
            "title": basis.title,
            "buyer_office": basis.buyer_office,
            "buyer_id": basis.buyer.user_id,
            "supplier": basis.supplier,
            "supplier_name": basis.supplier_name,
            "amount_fen": state.amount_fen,
            "duration_months": basis.duration_months,
            "awarded_at": basis.awarded_at,
            "status": state.phase.value,
            "version": state.version,
            "start_date": state.plan.start_date if state.plan else None,
            "end_date": state.plan.end_date if state.plan else None,
            "paid_fen": by_status[TrancheStatus.paid],
            "committed_fen": state.committed_fen,
            "withheld_fen": by_status[TrancheStatus.withheld],
            "latest_grade": state.evaluations[-1].grade if state.evaluations else None,
            "revision": state.revision,
            "updated_at": state.timeline[-1].at if state.timeline else state.opened_at,
            "state": state.model_dump(mode="json"),
        }
    )
    session.add(record)
    _project_tasks(session, state.contract_no, state.tasks, basis.title, state.phase_names[1])
    _project_timeline(session, state.contract_no, state.timeline)
    _project_documents(session, state.contract_no, state.documents)


SEAT_TASK_STATUS = {SeatStatus.scoring: "open", SeatStatus.scored: "done", SeatStatus.recused: "cancelled", SeatStatus.replaced: "cancelled"}


def _project_seats(session: Session, state: LotState) -> None:
    """Each expert's seat is a scoring task in that expert's inbox."""
    for seat in state.seats:
        key = (state.lot_no, f"scoring-{seat.seat_no}")
        row = session.get(TaskRecord, key) or TaskRecord(case_no=key[0], task_id=key[1])  # type: ignore[call-arg]
        expert = seat.expert
        row.sqlmodel_update(
            {
                "step": "scoring", "title": "专家评分", "role": expert.role.value,
                "jurisdiction": state.organizer.jurisdiction, "office": state.organizer.name,
                "a_user_id": expert.user_id, "a_name": expert.name, "b_user_id": expert.user_id, "b_name": expert.name,
                "holder_id": expert.user_id, "holder_name": expert.name, "status": SEAT_TASK_STATUS[seat.status],
                "escalated": False, "created_at": seat.drawn_at, "due_at": seat.deadline.due_at,
                "closed_at": seat.ended_at, "outcome": seat.status.value,
                "organization_name": state.demand.title, "phase_staff_name": state.phase_names[1],
            }
        )
        session.add(row)


class ReadModelActivities:
    """Each projection heartbeats: it may wait a long while for a locked read model, but a worker that
    dies during one is noticed within seconds."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="project_case")
    def project_case(self, state: CaseState) -> None:
        with heartbeating(), exclusive_scope(self.engine) as session:
            project(session, state)

    @activity.defn(name="project_fair")
    def project_fair(self, state: FairState) -> None:
        with heartbeating(), exclusive_scope(self.engine) as session:
            project_fair(session, state)

    @activity.defn(name="project_lot")
    def project_lot(self, state: LotState) -> None:
        with heartbeating(), exclusive_scope(self.engine) as session:
            project_lot(session, state)

    @activity.defn(name="project_contract")
    def project_contract(self, state: ContractState) -> None:
        with heartbeating(), exclusive_scope(self.engine) as session:
            project_contract(session, state)
