"""孵化 (incubation) operations, shared by the HTTP API, the pages and the CLI: the public list of bases, a group's
application and its filing from inside incubation, and what the base, the mentor and civil affairs do.

Every action is checked here first (rules/incubation_permissions.py gives the reason), so a page can offer only
what the caller may do and a refusal never reaches the workflow; the workflow's validators still judge the
update itself. A case the caller may not see is answered exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from activities.calendar import working_calendar
from rules import incubation_permissions as rules
from rules.incubation_permissions import Audience
from rules.permissions import Refusal
from rules.policy_files import PolicyNotFound, policy_in_force
from rules.workdays import working_days_left
from schemas.application import Application
from schemas.case import ActionReceipt, TaskStatus
from schemas.incubation import IncubationBase, IncubationPolicy
from schemas.incubation_case import (
    AssessmentOutcome,
    AssessmentReview,
    CheckInReport,
    FilingStart,
    IncubationApplication,
    IncubationAssessment,
    IncubationDecision,
    IncubationExit,
    IncubationPhase,
    IncubationRequest,
    IncubationState,
)
from schemas.localtime import local_date
from schemas.people import Actor, Role
from service import incubation_views as iv
from service import views
from service.cases import CaseService
from service.common import Service, ServiceError, document_view, holder_view, paged, timeline_view
from store import bases as base_store
from store import directory, register
from store.case_numbers import release
from store.models import (
    AccountRecord,
    IncubationBaseRecord,
    IncubationFilingRecord,
    IncubationQueueRecord,
    IncubationRecord,
)
from workflows.filing import FilingWorkflow
from workflows.incubation import IncubationWorkflow

Check = Callable[[IncubationState, IncubationBase, Actor], Refusal | None]


def incubation_not_found(case_no: str) -> ServiceError:
    return ServiceError("not_found", f"孵化案件 {case_no} 不存在，请核对案号（案号见入孵申请的回执或“我的孵化”列表）")


def base_not_found(code: str) -> ServiceError:
    return ServiceError("not_found", f"孵化基地 {code} 不存在，请从孵化基地列表（GET /api/bases）中选择")


def _refuse(refusal: Refusal | None) -> None:
    if refusal is not None:
        raise ServiceError(refusal.kind.value, refusal.message)


class IncubationService(Service):
    """Bases and incubations."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cases = CaseService(self.settings, self.engine, self._client)

    # --- the bases (public) -------------------------------------------------------------------------

    def _base(self, code: str) -> IncubationBase:
        found = base_store.base(self.engine, code)
        if found is None:
            raise base_not_found(code)
        return found

    def _base_view(self, base: IncubationBase, session: Session) -> iv.BaseView:
        taken = base_store.places_taken(self.engine, base.code)
        waiting = session.exec(select(func.count()).where(IncubationQueueRecord.base_code == base.code)).one()
        operator = register.organization(self.engine, base.operator)
        rules_now = self._rules_today(base)
        return iv.BaseView(
            code=base.code, name=base.name, kind=base.kind.value, kind_label=base.kind.label,
            jurisdiction=base.jurisdiction, address=base.address, operator=base.operator,
            operator_name=operator.name if operator else base.operator, contract_no=base.contract_no,
            contract_url=f"/api/contracts/{base.contract_no}" if base.contract_no else None,
            services=[s.label for s in base.services],
            mentors=[iv.MentorView(name=m.name, specialties=list(m.specialties)) for m in base.mentors],
            capacity=base.capacity, free_places=max(base.capacity - taken, 0), waiting=int(waiting),
            url=f"/api/bases/{base.code}",
            min_term_months=rules_now.min_term_months if rules_now else None,
            max_term_months=rules_now.max_term_months if rules_now else None,
        )  # fmt: skip

    def _rules_today(self, base: IncubationBase) -> IncubationPolicy | None:
        """The incubation rules in force today where the base is, for forms to state the term allowed; a case
        is still judged by the rules it recorded when it began."""
        place = directory.locality(self.engine, base.jurisdiction)
        try:
            policy, _ = policy_in_force(
                self.settings.policies_dir, [j.code for j in place.chain] if place else [], local_date(self.now())
            )
        except PolicyNotFound:
            return None
        return policy.incubation

    def _report_due(self, state: IncubationState, now: datetime) -> iv.ReportDue | None:
        task = next((t for t in state.tasks if t.step == "check_in" and t.status is TaskStatus.open), None)
        if task is None:
            return None
        due = task.deadline.due_at
        if task.escalated or now >= due:
            return iv.ReportDue(
                due_date=task.deadline.due_date, late=True, working_days_left=None, due_soon=False,
                holder=task.holder.name,
            )  # fmt: skip
        calendar = working_calendar(self.engine, range(local_date(now).year, local_date(due).year + 1))
        left = working_days_left(now, task.deadline.due_date, calendar)
        return iv.ReportDue(
            due_date=task.deadline.due_date, late=False, working_days_left=left,
            due_soon=left <= views.DUE_SOON_WORKING_DAYS, holder=task.holder.name,
        )  # fmt: skip

    def bases(self, jurisdiction: str | None = None) -> list[iv.BaseView]:
        """The bases of a jurisdiction and below (all when None), headquarters first, with free places."""
        found = [b for b in base_store.bases_in(self.engine, jurisdiction or "") if not jurisdiction or rules.within(b.jurisdiction, jurisdiction)]
        with Session(self.engine) as session:
            return [self._base_view(b, session) for b in found]

    def base(self, code: str) -> iv.BaseView:
        with Session(self.engine) as session:
            return self._base_view(self._base(code), session)

    # --- who sees a case ----------------------------------------------------------------------------

    def _record(self, case_no: str) -> IncubationRecord | None:
        with Session(self.engine) as session:
            return session.get(IncubationRecord, case_no)

    def _visible(self, actor: Actor | None, case_no: str) -> tuple[IncubationState, IncubationBase, Audience]:
        """The case, its base and how the caller sees it; "not found" to anyone who may not see it."""
        record = self._record(case_no)
        if record is None or record.state is None:
            raise incubation_not_found(case_no)
        state = IncubationState.model_validate(record.state)
        base = state.base or base_store.base(self.engine, record.base_code)
        seen = rules.audience(state, base, actor) if base is not None else None
        if base is None or seen is None:
            raise incubation_not_found(case_no)
        return state, base, seen

    def may_read_document(self, actor: Actor | None, case_no: str) -> bool:
        """An incubation's documents (入孵协议, certificate) follow the case's access."""
        try:
            self._visible(actor, case_no)
        except ServiceError:
            return False
        return True

    # --- the group's application --------------------------------------------------------------------

    def _named(self, actor: Actor) -> Actor:
        """An applicant acts under their account's name (the identity carries only an id)."""
        if actor.role is not Role.applicant:
            return actor
        with Session(self.engine) as session:
            account = session.get(AccountRecord, actor.user_id)
        return actor.model_copy(update={"name": account.name}) if account and account.name else actor

    def _open_incubation(self, user_id: str, base_code: str) -> str | None:
        with Session(self.engine) as session:
            return session.exec(
                select(IncubationRecord.case_no).where(
                    IncubationRecord.representative_id == user_id, IncubationRecord.base_code == base_code,
                    col(IncubationRecord.phase).in_([p.value for p in rules.OPEN_PHASES]),
                )
            ).first()  # fmt: skip

    async def apply(self, actor: Actor, application: IncubationApplication) -> iv.IncubationReceipt:
        """A group's application, by its representative; one open incubation per representative and base."""
        if actor.role is not Role.applicant:
            raise ServiceError(
                "forbidden", f"入孵申请由组织或团队的负责人用申请人账号提交，您当前的身份是{actor.role.label}"
            )
        base = self._base(application.base_code)
        if application.organization:
            entry = register.organization(self.engine, application.organization)
            if entry is None or entry.representative_id != actor.user_id:
                raise ServiceError(
                    "invalid",
                    f"名录编号 {application.organization} 不在社会组织名录中，或您不是它登记的负责人；"
                    "尚未备案或登记的团队请不填名录编号",
                )
        if existing := self._open_incubation(actor.user_id, base.code):
            raise ServiceError("conflict", f"您在{base.name}已有办理中的入孵申请或孵化（案号 {existing}），请勿重复申请")
        representative = self._named(actor)
        recorded = IncubationApplication.model_validate(application.model_dump())
        series = f"{base.code}-{local_date(datetime.now(UTC)).year}"
        case_no = await self._start_numbered(
            series, None, "入孵申请", IncubationWorkflow.run,
            lambda number: IncubationRequest(case_no=number, application=recorded, representative=representative),
        )  # fmt: skip
        await self._readable_after_start(case_no, IncubationWorkflow.status, "入孵申请")
        state, _, _ = self._visible(actor, case_no)
        return iv.IncubationReceipt(
            case_no=case_no, phase=state.phase, phase_name=state.phase.label,
            message=f"入孵申请已提交，{base.name}将在{state.policy.admission_working_days}个工作日内审核"
            if state.policy else f"入孵申请已提交，等待{base.name}审核",
            status_url=f"/api/incubations/{case_no}",
        )  # fmt: skip

    # --- actions ------------------------------------------------------------------------------------

    def _closed(self, case_no: str) -> str | None:
        record = self._record(case_no)
        if record is None or record.phase in {p.value for p in rules.OPEN_PHASES}:
            return None
        return f"孵化案件 {case_no} 已结束（{IncubationPhase(record.phase).label}），不能再办理"

    async def _act(self, actor: Actor, case_no: str, check: Check, update: Any, payload: Any) -> ActionReceipt:
        """An update sent only once the caller is known to see the case and the check finds nothing to refuse."""
        state, base, _ = self._visible(actor, case_no)
        _refuse(check(state, base, actor))
        return await self._update(case_no, update, payload, lambda: self._closed(case_no))

    async def decide_admission(
        self, actor: Actor, case_no: str, admit: bool, reasons: list[str], mentor_id: str | None = None,
        services: list[Any] | None = None, service_plan: str | None = None,
    ) -> ActionReceipt:  # fmt: skip
        """入孵审核 by the base's A岗 (or B岗): admit with a mentor and services from the base's, or refuse with reasons."""
        state, base, _ = self._visible(actor, case_no)
        _refuse(rules.refuse_admission(state, base, actor))
        if mentor_id and mentor_id not in {m.user_id for m in base.mentors}:
            names = "、".join(f"{m.user_id}（{m.name}）" for m in base.mentors)
            raise ServiceError("invalid", f"导师 {mentor_id} 不是{base.name}的导师，可选：{names}")
        if extra := [s for s in services or [] if s not in base.services]:
            offered = "、".join(s.label for s in base.services)
            raise ServiceError(
                "invalid", f"{base.name}不提供{'、'.join(s.label for s in extra)}，可选的服务内容：{offered}"
            )
        decision = IncubationDecision(
            admit=admit, reasons=reasons, mentor_id=mentor_id, services=list(services or []),
            service_plan=service_plan, actor=actor,
        )  # fmt: skip
        return await self._update(case_no, IncubationWorkflow.decide_admission, decision, lambda: self._closed(case_no))

    async def report(self, actor: Actor, case_no: str, summary: str) -> ActionReceipt:
        """The mentor's periodic report (or the base's B岗 once a late one is handed over)."""
        return await self._act(
            actor, case_no, rules.refuse_report, IncubationWorkflow.report_check_in,
            CheckInReport(summary=summary, actor=actor),
        )  # fmt: skip

    async def assess(
        self, actor: Actor, case_no: str, outcome: AssessmentOutcome, criteria_met: list[str], reasons: list[str],
        extension_months: int | None = None,
    ) -> ActionReceipt:  # fmt: skip
        """出壳评估 by the base: graduate, extend once, or exit."""
        state, base, _ = self._visible(actor, case_no)
        if state.policy is not None and (unknown := [c for c in criteria_met if c not in {g.id for g in state.policy.graduation_criteria}]):
            known = "、".join(f"{g.id}（{g.label}）" for g in state.policy.graduation_criteria)
            raise ServiceError("invalid", f"出壳标准 {'、'.join(unknown)} 不存在，可选：{known}")
        assessment = IncubationAssessment(
            outcome=outcome, criteria_met=criteria_met, reasons=reasons, extension_months=extension_months, actor=actor
        )
        return await self._act(actor, case_no, rules.refuse_assessment, IncubationWorkflow.assess, assessment)

    async def review_assessment(self, actor: Actor, case_no: str, agree: bool, reasons: list[str]) -> ActionReceipt:
        """Civil affairs confirms the base's 出壳评估, or sends it back with reasons."""
        review = AssessmentReview(agree=agree, reasons=reasons, actor=actor)
        state, base, _ = self._visible(actor, case_no)
        _refuse(rules.refuse_assessment_review(state, base, actor))
        update = IncubationWorkflow.review_assessment  # type: ignore[attr-defined]
        return await self._update(case_no, update, review, lambda: self._closed(case_no))

    async def leave(self, actor: Actor, case_no: str, reasons: list[str]) -> ActionReceipt:
        """Ending early, with reasons: the group itself, the base's staff or civil affairs; the place goes on."""
        exit_ = IncubationExit(reasons=reasons, actor=self._named(actor))
        return await self._act(actor, case_no, rules.refuse_leave, IncubationWorkflow.leave, exit_)

    async def start_filing(self, actor: Actor, case_no: str, application: Application) -> iv.FilingReceipt:
        """备案/登记 from inside incubation: checked and numbered exactly as a filing submitted on its own
        (``POST /api/cases``), then started by the incubation as its child case; it is the applicant's case."""
        state, _, _ = self._visible(actor, case_no)
        _refuse(rules.refuse_filing(state, actor))
        applicant = actor.model_copy(update={"name": application.applicant_name})
        filing_no = self.cases.allocate_case_number(applicant, application)
        start = FilingStart(case_no=filing_no, application=application, actor=applicant)
        try:
            await self._update(case_no, IncubationWorkflow.start_filing, start, lambda: self._closed(case_no))
        except BaseException:
            release(self.engine, filing_no)
            raise
        await self._readable_after_start(filing_no, FilingWorkflow.status, "备案/登记申请")
        return iv.FilingReceipt(
            case_no=filing_no, incubation_case_no=case_no,
            message=f"{application.track.label}申请已提交，案号 {filing_no}；可在“我的申请”中查看办理进度",
            status_url=f"/api/cases/{filing_no}",
        )  # fmt: skip

    # --- reading ------------------------------------------------------------------------------------

    def view(self, actor: Actor | None, case_no: str) -> iv.IncubationView:
        state, base, seen = self._visible(actor, case_no)
        assert actor is not None
        with Session(self.engine) as session:
            waiting = base_store.waiting_position(session, case_no) if state.phase is IncubationPhase.waiting else None
        criteria = state.policy.graduation_criteria if state.policy else []
        assessed = state.assessment
        staff_side = seen is not Audience.group
        now = self.now()
        return iv.IncubationView(
            case_no=state.case_no, audience=seen.value, base_code=base.code, base_name=base.name,
            base_url=f"/api/bases/{base.code}", group_name=state.application.group_name,
            organization=state.organization or state.application.organization, representative=state.representative.name,
            plan=state.application.plan, term_months=state.application.term_months, phase=state.phase,
            phase_name=state.phase.label, submitted_at=state.submitted_at, admitted_at=state.admitted_at,
            term_ends=state.term_ends,
            term_range=f"{state.policy.min_term_months}至{state.policy.max_term_months}个月" if state.policy else None,
            extensions=state.extensions, mentor=state.mentor.name if state.mentor else None,
            services=[s.label for s in state.services], service_plan=state.service_plan, reports=state.reports,
            late_reports=state.late_reports if staff_side else None,
            criteria=[
                iv.CriterionView(id=c.id, label=c.label, met=(c.id in assessed.criteria_met) if assessed else None)
                for c in criteria
            ],
            assessment=assessed.outcome.label if assessed else None, reasons=state.reasons,
            filings=[
                iv.FilingView(
                    case_no=f.case_no, track_label=f.track_label, started_at=f.started_at, outcome=f.outcome,
                    decided_at=f.decided_at, url=f"/api/cases/{f.case_no}",
                )
                for f in state.filings
            ],
            waiting_position=waiting,
            holders=[holder_view(t, now) for t in state.tasks if t.status is TaskStatus.open],
            documents=[document_view(d) for d in state.documents],
            timeline=[timeline_view(e) for e in state.timeline],
            ended_at=state.ended_at,
            actions=(actions := rules.actions(state, base, actor)),
            mentor_choices=[
                iv.MentorChoice(user_id=m.user_id, name=m.name, specialties=list(m.specialties)) for m in base.mentors
            ] if "decide_admission" in actions else [],
            service_choices=[
                iv.ServiceChoice(value=s.value, label=s.label) for s in base.services
            ] if "decide_admission" in actions else [],
            extensions_allowed=state.policy.extensions_allowed if state.policy else None,
            max_extension_months=state.policy.max_extension_months if state.policy else None,
            report_due=self._report_due(state, now) if "report" in actions else None,
        )  # fmt: skip

    def _bases_served(self, actor: Actor) -> list[str]:
        with Session(self.engine) as session:
            records = session.exec(select(IncubationBaseRecord)).all()
        return [r.code for r in records if actor.user_id in ((r.staff_a or {}).get("user_id"), (r.staff_b or {}).get("user_id"))]

    def list(
        self, actor: Actor, base: str | None = None, phase: IncubationPhase | None = None,
        limit: int = views.PAGE_LIMIT, offset: int = 0,
    ) -> views.Page[iv.IncubationSummary]:  # fmt: skip
        """The caller's incubations, newest change first: the group's own, a base's (its staff), a mentor's,
        a jurisdiction's (civil affairs, street offices); filterable by base and phase."""
        record = IncubationRecord
        if actor.role in rules.OVERSIGHT_ROLES and actor.jurisdiction:
            who = (col(record.jurisdiction) == actor.jurisdiction) | col(record.jurisdiction).startswith(f"{actor.jurisdiction}-")
        elif actor.role is Role.incubator or actor.role is Role.mentor:
            who = col(record.base_code).in_(self._bases_served(actor)) | (col(record.mentor_id) == actor.user_id)
        else:
            who = col(record.representative_id) == actor.user_id
        query = select(record).where(who)
        if base:
            query = query.where(record.base_code == base)
        if phase:
            query = query.where(record.phase == phase.value)
        query = query.order_by(col(record.updated_at).desc(), col(record.case_no))
        with Session(self.engine) as session:
            rows, total = paged(session, query, limit, offset)
            names = {b.code: b.name for b in session.exec(select(IncubationBaseRecord))}
        items = [
            iv.IncubationSummary(
                case_no=r.case_no, base_code=r.base_code, base_name=names.get(r.base_code, r.base_code),
                group_name=r.group_name, phase=IncubationPhase(r.phase), phase_name=IncubationPhase(r.phase).label,
                mentor_id=r.mentor_id, filing_case_no=r.filing_case_no, admitted_at=r.admitted_at, ended_at=r.ended_at,
                updated_at=r.updated_at, url=f"/api/incubations/{r.case_no}",
            )
            for r in rows
        ]  # fmt: skip
        return views.Page[iv.IncubationSummary](items=items, total=total, limit=limit, offset=offset)

    def incubation_of_filing(self, actor: Actor | None, filing_case_no: str) -> iv.IncubationLink | None:
        """The incubation a filing was started from, if the caller may see it (the filing's pages link back)."""
        with Session(self.engine) as session:
            link = session.get(IncubationFilingRecord, filing_case_no)
        if link is None:
            return None
        try:
            state, base, _ = self._visible(actor, link.incubation_case_no)
        except ServiceError:
            return None
        return iv.IncubationLink(
            case_no=state.case_no, group_name=state.application.group_name, base_name=base.name,
            phase_name=state.phase.label, url=f"/api/incubations/{state.case_no}",
        )  # fmt: skip
