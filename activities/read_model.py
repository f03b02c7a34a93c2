"""Projection of a case's state into the read model (cases, tasks inbox, timeline, documents,
organizations register). Idempotent: the whole state is upserted, an older revision never
overwrites a newer one, and rebuilding from workflow state gives the same rows."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity

from schemas.case import CaseState, Phase
from schemas.people import Level
from store.case_numbers import open_case_key, record_case
from store.db import session_scope
from store.models import CaseRecord, DocumentRecord, OrganizationRecord, TaskRecord, TimelineRecord


def project(session: Session, state: CaseState) -> bool:
    """Write ``state`` into the session; False (and nothing written) if a newer revision is already there."""
    existing = session.get(CaseRecord, state.case_no)
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

    for task in state.tasks:
        row = session.get(TaskRecord, (state.case_no, task.task_id)) or TaskRecord(
            case_no=state.case_no, task_id=task.task_id  # type: ignore[call-arg]
        )
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
                "organization_name": application.organization_name,
                "phase_staff_name": state.phase_staff_name,
            }
        )
        session.add(row)

    known_events = set(session.exec(select(TimelineRecord.seq).where(TimelineRecord.case_no == state.case_no)))
    for event in state.timeline:
        if event.seq in known_events:
            continue
        session.add(
            TimelineRecord(
                case_no=state.case_no,
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

    for document in state.documents:
        if session.get(DocumentRecord, document.document_id) is None:
            session.add(DocumentRecord(case_no=state.case_no, **document.model_dump()))

    result = state.result
    if result and result.phase is Phase.approved and result.certificate_number:
        organization = session.get(OrganizationRecord, state.case_no) or OrganizationRecord(case_no=state.case_no)  # type: ignore[call-arg]
        organization.sqlmodel_update(
            {
                "name": application.organization_name,
                "track": application.track.value,
                "community": application.community,
                "authority_jurisdiction": state.authority.jurisdiction if state.authority else "",
                "certificate_number": result.certificate_number,
                "approved_at": result.decided_at,
                "valid_until": result.valid_until,
            }
        )
        session.add(organization)

    if state.locality:
        district = state.locality.at_level(Level.district).code
        key = None if state.phase.terminal else open_case_key(district, application.organization_name)
        record_case(session, state.case_no, key, state.submitted_at)
    return True


class ReadModelActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="project_case")
    def project_case(self, state: CaseState) -> None:
        with session_scope(self.engine) as session:
            project(session, state)
