"""The operations users perform on filing/registration cases, shared by the HTTP API and the CLI.

Reads come from the read model; every change goes to the case's workflow as a validated update,
so the workflow stays the single place where the rules of the process are decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from activities.calendar import working_calendar
from rules import permissions
from rules.checklist import SUPPLEMENTARY, TrackNotOffered, assess, material_problems
from rules.policy_files import PolicyNotFound, policy_in_force
from rules.workdays import DayClassifier, working_days_left
from schemas.application import Application, MaterialSubmission, Track
from schemas.case import (
    PHASE_NAMES,
    ActionReceipt,
    CaseState,
    Correction,
    FilingRequest,
    ObjectionAnswer,
    ObjectionFiling,
    ObjectionResolution,
    Outcome,
    Phase,
    ReviewDecision,
    TaskStatus,
    Withdrawal,
)
from schemas.checklist import Assessment
from schemas.documents import DocumentKind
from schemas.localtime import local_date
from schemas.people import STAFF_ROLES, Actor, Jurisdiction, Level, Locality, Role
from schemas.policy import Policy, PolicyRef
from schemas.procurement import SeatStatus
from schemas.text import name_key
from service import views
from service.common import (
    Service,
    ServiceError,
    check_attachments,
    deadline_view,
    document_view,
    holder_view,
    paged,
)
from store import directory
from store.case_numbers import DuplicateOpenCase, open_case_key
from store.db import session_scope
from store.files import ATTACHMENT_LIMIT, ATTACHMENT_TYPES, PREVIEWS, TooLarge, content_path, put_stream
from store.models import (
    AttachmentRecord,
    CaseRecord,
    DocumentRecord,
    NotificationRecord,
    OrganizationRecord,
    TaskRecord,
)
from workflows.filing import FilingWorkflow


class CaseService(Service):
    """Filing and registration cases."""

    @staticmethod
    def require_staff(actor: Actor) -> None:
        if actor.role not in STAFF_ROLES:
            raise ServiceError("forbidden", f"该操作须由社区居委会、街道办事处或民政局工作人员办理，您的身份是{actor.role.label}")

    # --- checklist preview and submission --------------------------------------------------------

    def _locality(self, community: str) -> Locality:
        found = directory.locality(self.engine, community)
        if found is None or found.community.level is not Level.community:
            known = "、".join(f"{j.code}({j.full_name})" for j in directory.jurisdictions(self.engine, Level.community))
            raise ServiceError("not_found", f"所在社区代码 {community} 不存在。可选社区：{known}")
        return found

    def _policy(self, locality: Locality, day: date) -> tuple[Policy, PolicyRef]:
        try:
            return policy_in_force(self.settings.policies_dir, [j.code for j in locality.chain], day)
        except PolicyNotFound as error:
            raise ServiceError("invalid", str(error)) from error

    def _check_materials(
        self, policy: Policy, application: Application, materials: list[MaterialSubmission]
    ) -> None:
        track = policy.tracks.get(application.track)
        if track is None:
            raise ServiceError("invalid", f"{policy.title}未设立「{application.track.label}」办理类型")
        problems = material_problems(materials, [p.name for p in application.people], track)
        if problems:
            raise ServiceError("invalid", "；".join(problems), problems)

    def communities(self) -> list[views.CommunityView]:
        found = []
        for community in directory.jurisdictions(self.engine, Level.community):
            place = self._locality(community.code)
            found.append(
                views.CommunityView(
                    code=community.code,
                    full_name=community.full_name,
                    street=place.at_level(Level.street).name,
                    district=place.at_level(Level.district).name,
                )
            )
        return found

    def requirements(self, community: str, track: Track) -> views.RequirementsView:
        locality = self._locality(community)
        policy, ref = self._policy(locality, local_date(datetime.now(UTC)))
        if track not in policy.tracks:
            raise ServiceError("invalid", f"{policy.title}未设立「{track.label}」办理类型")
        channel = policy.green_channel if policy.green_channel and track in policy.green_channel.tracks else None
        return views.RequirementsView(
            policy=ref, community=locality.community.full_name, track=track, requirements=policy.tracks[track],
            green_channel=channel, defaults_note=policy.defaults_note,
        )

    def assess(self, application: Application, on: datetime | None = None) -> Assessment:
        """The explained checklist for an application, without submitting it."""
        locality = self._locality(application.community)
        policy, ref = self._policy(locality, local_date(on or datetime.now(UTC)))
        self._check_materials(policy, application, application.materials)
        try:
            return assess(application, policy, ref, [locality.community.name, locality.community.full_name])
        except TrackNotOffered as error:
            raise ServiceError("invalid", str(error)) from error

    def _check_attachments(self, actor: Actor, materials: list[MaterialSubmission]) -> None:
        cited = {item.attachment: f"材料 {item.material} " for item in materials if item.attachment}
        check_attachments(self.engine, actor, cited)

    def _check_name_free(self, application: Application, locality: Locality) -> None:
        """Names are compared folded (``name_key``), so a look-alike of a registered name is refused."""
        district = locality.at_level(Level.district)
        with Session(self.engine) as session:
            for organization in session.exec(
                select(OrganizationRecord).where(OrganizationRecord.name_key == name_key(application.organization_name))
            ):
                other = directory.locality(self.engine, organization.community)
                if other and other.contains(district.code):
                    raise ServiceError(
                        "conflict",
                        f"「{application.organization_name}」与已在{district.full_name}备案或登记的「{organization.name}」同名"
                        f"（证书编号 {organization.certificate_number}），组织名称不能重复",
                    )

    def _checked_submission(self, actor: Actor, application: Application) -> tuple[str, str]:
        """Everything a filing or registration is checked for before it gets a number (also when it is
        started from inside an incubation); its number series and the key that keeps one case open per name."""
        if actor.role in STAFF_ROLES:
            raise ServiceError("forbidden", "工作人员不能以申请人身份提交申请，请使用申请人账号")
        locality = self._locality(application.community)
        assessment = self.assess(application)
        self._check_attachments(actor, application.materials)
        self._check_name_free(application, locality)
        authority = locality.at_level(assessment.procedure.authority_level)
        series = f"{authority.code}-{'BA' if application.track is Track.filing else 'DJ'}-{local_date(datetime.now(UTC)).year}"
        district = locality.at_level(Level.district).code
        return series, open_case_key(district, application.organization_name)

    def allocate_case_number(self, actor: Actor, application: Application) -> str:
        """A checked application's case number, for a filing another process starts as its child (an
        incubation's); ``release`` gives it back if that start is refused."""
        series, open_key = self._checked_submission(actor, application)
        try:
            return self._allocate(series, open_key, datetime.now(UTC), "申请")
        except DuplicateOpenCase as duplicate:
            raise _duplicate(application, duplicate) from duplicate

    async def submit(self, actor: Actor, application: Application) -> views.SubmissionReceipt:
        series, open_key = self._checked_submission(actor, application)
        case_no = await self._start_case(series, open_key, actor, application)
        await self._readable_after_start(case_no, FilingWorkflow.status, "申请")
        view = self._view(self.readable_state(actor, case_no), actor)
        return views.SubmissionReceipt(
            case_no=case_no,
            phase=view.phase,
            phase_name=view.phase_name,
            message="申请已提交" + ("，请按补正通知补正材料" if view.phase is Phase.correction else ""),
            missing=view.missing,
            status_url=f"/api/cases/{case_no}",
        )

    async def _start_case(self, series: str, open_key: str, actor: Actor, application: Application) -> str:
        try:
            return await self._start_numbered(
                series, open_key, "申请", FilingWorkflow.run,
                lambda case_no: FilingRequest(case_no=case_no, applicant=actor, application=application),
            )
        except DuplicateOpenCase as duplicate:
            raise _duplicate(application, duplicate) from duplicate

    # --- human actions -------------------------------------------------------------------------

    async def _case_update(self, case_no: str, update: Any, argument: Any) -> ActionReceipt:
        """Only called once the caller is known to see the case, so a closed case may say how it ended."""

        def when_closed() -> str | None:
            stored = self._record(case_no)
            return f"案件 {case_no} 已办结（{stored.phase_applicant_name}），不能再办理" if stored and stored.closed else None

        return await self._update(case_no, update, argument, when_closed)

    def _as_applicant(self, actor: Actor, case_no: str) -> Actor:
        """The applicant acts under the name they applied with (the identity header carries only an id)."""
        state = self._state(case_no)
        return state.applicant if state and state.applicant.user_id == actor.user_id else actor

    async def correct(self, actor: Actor, case_no: str, correction: views.CorrectionInput) -> ActionReceipt:
        state = self.readable_state(actor, case_no)
        materials = [*correction.materials, *(correction.application.materials if correction.application else [])]
        if state.locality:
            policy, _ = self._policy(state.locality, local_date(state.submitted_at))
            self._check_materials(policy, correction.application or state.application, materials)
        self._check_attachments(actor, materials)
        payload = Correction(actor=self._as_applicant(actor, case_no), **correction.model_dump())
        return await self._case_update(case_no, FilingWorkflow.correct, payload)

    async def withdraw(self, actor: Actor, case_no: str, withdrawal: views.WithdrawalInput) -> ActionReceipt:
        self.readable_state(actor, case_no)
        withdrawal_by = Withdrawal(actor=self._as_applicant(actor, case_no), reason=withdrawal.reason)
        return await self._case_update(case_no, FilingWorkflow.withdraw, withdrawal_by)

    async def decide(self, actor: Actor, case_no: str, decision: views.DecisionInput) -> ActionReceipt:
        self.readable_state(actor, case_no)
        self.require_staff(actor)
        payload = ReviewDecision(
            step=decision.step, outcome=Outcome(decision.outcome), reasons=decision.reasons,
            comment=decision.comment, actor=actor,
        )
        return await self._case_update(case_no, FilingWorkflow.decide, payload)

    async def file_objection(self, actor: Actor, case_no: str, objection: views.ObjectionInput) -> ActionReceipt:
        state = self._state(case_no)
        if state is None or (state.phase is not Phase.public_notice and not self._may_view(actor, state)):
            raise case_not_found(case_no)
        objector = actor.model_copy(update={"name": objection.name}) if actor.role not in STAFF_ROLES else actor
        payload = ObjectionFiling(actor=objector, content=objection.content, contact=objection.contact)
        if self._may_view(actor, state):
            return await self._case_update(case_no, FilingWorkflow.file_objection, payload)
        # A member of the public learns no more than the notice said, even if the case closed meanwhile.
        return await self._update(
            case_no, FilingWorkflow.file_objection, payload, lambda: f"案件 {case_no} 当前不在公示期，不能提出异议"
        )

    async def answer_objection(
        self, actor: Actor, case_no: str, objection_id: str, answer: views.ObjectionAnswerInput
    ) -> ActionReceipt:
        """陈述申辩: the applicant answers an objection before it is resolved."""
        self.readable_state(actor, case_no)
        payload = ObjectionAnswer(objection_id=objection_id, content=answer.content, actor=actor)
        return await self._case_update(case_no, FilingWorkflow.answer_objection, payload)

    async def resolve_objection(
        self, actor: Actor, case_no: str, objection_id: str, resolution: views.ObjectionResolutionInput
    ) -> ActionReceipt:
        self.readable_state(actor, case_no)
        self.require_staff(actor)
        payload = ObjectionResolution(
            objection_id=objection_id, outcome=Outcome(resolution.outcome), reasons=resolution.reasons, actor=actor
        )
        return await self._case_update(case_no, FilingWorkflow.resolve_objection, payload)

    # --- reading -------------------------------------------------------------------------------

    def _record(self, case_no: str) -> CaseRecord | None:
        with Session(self.engine) as session:
            return session.get(CaseRecord, case_no)

    def _state(self, case_no: str) -> CaseState | None:
        record = self._record(case_no)
        return CaseState.model_validate(record.state) if record and record.state else None

    @staticmethod
    def _may_view(actor: Actor, state: CaseState) -> bool:
        return state.locality is not None and permissions.may_view(state.applicant.user_id, state.locality, actor)

    def readable_state(self, actor: Actor, case_no: str) -> CaseState:
        """The case as the caller may see it; a case they may not see is answered exactly like one
        that does not exist, so no case number is confirmed to a stranger."""
        state = self._state(case_no)
        if state is None or not self._may_view(actor, state):
            raise case_not_found(case_no)
        return state

    def case(self, actor: Actor, case_no: str) -> views.CaseView:
        return self._view(self.readable_state(actor, case_no), actor)

    async def live_case(self, actor: Actor, case_no: str) -> views.CaseView:
        """Straight from the workflow (for operators checking the read model)."""
        self.readable_state(actor, case_no)
        state = await self.client.get_workflow_handle(case_no).query(FilingWorkflow.status)
        return self._view(state, actor)

    def _view(self, state: CaseState, actor: Actor) -> views.CaseView:
        staff = actor.role in STAFF_ROLES or actor.role is Role.administrator
        application, procedure = state.application, state.procedure

        holders = [holder_view(t, self.now()) for t in state.open_tasks]
        correction = state.open_correction
        next_deadline = state.next_deadline
        clock = state.legal_clock
        missing = correction.still_missing if correction else []
        if not missing and state.checklist and state.legal_clock is None and not state.phase.terminal:
            missing = state.checklist.defects
        labels = _phase_labels(state, staff)
        return views.CaseView(
            case_no=state.case_no,
            track=application.track.value,
            track_name=procedure.track_name if procedure else application.track.label,
            organization_name=application.organization_name,
            applicant_name=application.applicant_name,
            community=application.community,
            community_name=state.locality.community.full_name if state.locality else application.community,
            authority=state.authority.name if state.authority else None,
            phase=state.phase,
            phase_name=state.phase_staff_name if staff else state.phase_applicant_name,
            phase_applicant_name=state.phase_applicant_name,
            phase_staff_name=state.phase_staff_name,
            closed=state.phase.terminal,
            holders=holders,
            your_tasks=[t.task_id for t in state.open_tasks if permissions.refuse_task_actor(t, actor) is None],
            next_deadline=deadline_view(next_deadline) if next_deadline else None,
            legal_deadline=deadline_view(clock.deadline) if clock and clock.deadline and not clock.paused else None,
            legal_clock_paused=bool(clock and clock.paused),
            legal_deadline_met=(state.result.decided_at <= clock.deadline.due_at)
            if state.result and clock and clock.deadline and not clock.paused
            else None,
            missing=missing,
            correction=views.CorrectionView(
                round=correction.round, items=correction.items, still_missing=correction.still_missing,
                due=deadline_view(correction.window), notice_document_id=correction.notice_document_id,
            )
            if correction
            else None,
            public_notice_until=state.public_notice.ends.due_date if state.public_notice else None,
            objections=[
                views.ObjectionView(
                    objection_id=o.objection_id, filed_at=o.filed_at, content=o.content, status=o.status,
                    status_name=o.status.label,
                    resolution="；".join(o.resolution.reasons) if o.resolution else None,
                    answer=o.answer, answered_at=o.answered_at, task_id=o.task_id if staff else None,
                )
                for o in state.objections
            ],
            application=application,
            checklist=state.checklist,
            materials=self._materials(state),
            timeline=[
                views.TimelineView(
                    seq=e.seq, at=e.at,
                    actor=e.actor.name if e.actor and (staff or e.actor.role is not Role.public) else (
                        "公众" if e.actor else "系统"
                    ),
                    role=e.actor.role.label if e.actor else None,
                    action=e.action, summary=e.summary,
                    phase_before=labels.get(e.phase_before, e.phase_before),
                    phase_after=labels.get(e.phase_after, e.phase_after),
                )
                for e in state.timeline
            ],
            documents=[document_view(d) for d in state.documents],
            result=(state.phase_staff_name if staff else state.phase_applicant_name) if state.result else None,
            result_reasons=state.result.reasons if state.result else [],
            certificate_number=state.result.certificate_number if state.result else None,
            progress=_progress(state, holders),
        )

    def _materials(self, state: CaseState) -> list[views.MaterialFileView]:
        """The submitted materials by their checklist titles, each with its file as the applicant uploaded it."""
        titles = {(m.material, m.person): m.title for m in state.checklist.materials} if state.checklist else {}
        cited = [m.attachment for m in state.application.materials if m.attachment]
        with Session(self.engine) as session:
            files = {
                r.sha256: r
                for r in session.exec(
                    select(AttachmentRecord).where(
                        col(AttachmentRecord.sha256).in_(cited), AttachmentRecord.uploaded_by == state.applicant.user_id
                    )
                )
            }
        found = []
        for item in state.application.materials:
            stored = files.get(item.attachment or "")
            found.append(
                views.MaterialFileView(
                    material=item.material,
                    title=titles.get((item.material, item.person), "其他补充材料" if item.material == SUPPLEMENTARY else item.material),
                    person=item.person, note=item.note,
                    filename=stored.filename if stored else None, content_type=stored.content_type if stored else None,
                    size=stored.size if stored else None,
                    url=f"/api/cases/{state.case_no}/attachments/{stored.sha256}" if stored else None,
                    preview=PREVIEWS.get(stored.content_type) if stored else None,
                )
            )
        return found

    def material_file(self, actor: Actor, case_no: str, sha256: str) -> tuple[Path, AttachmentRecord]:
        """A file the case's applicant cited as a material, for those who may see the case; any other file
        (another case's, one never cited) is answered as not found, so nothing is confirmed to exist."""
        state = self.readable_state(actor, case_no)
        record = None
        if sha256 in {m.attachment for m in state.application.materials}:
            with Session(self.engine) as session:
                record = session.get(AttachmentRecord, (sha256, state.applicant.user_id))
        path = content_path(self.settings.attachments_dir, sha256, "bin")
        if record is None or not path.exists():
            raise ServiceError("not_found", f"案件 {case_no} 没有这份材料，请从案件页面的材料列表中打开")
        return path, record

    def my_cases(self, actor: Actor, limit: int = views.PAGE_LIMIT, offset: int = 0) -> views.Page[views.CaseSummary]:
        query = (
            select(CaseRecord)
            .where(CaseRecord.applicant_id == actor.user_id)
            .order_by(col(CaseRecord.submitted_at).desc(), col(CaseRecord.case_no))
        )
        with Session(self.engine) as session:
            records, total = paged(session, query, limit, offset)
        items = [
            views.CaseSummary(
                case_no=r.case_no, organization_name=r.organization_name,
                track_name=Track(r.track).label, phase=Phase(r.phase), phase_name=r.phase_applicant_name,
                holders=r.holders, next_deadline=r.next_deadline, submitted_at=r.submitted_at, closed=r.closed,
            )
            for r in records
        ]
        return views.Page[views.CaseSummary](items=items, total=total, limit=limit, offset=offset)

    def inbox(
        self, actor: Actor, role: Role | None = None, jurisdiction: str | None = None, include_closed: bool = False,
        limit: int = views.PAGE_LIMIT, offset: int = 0, *, scope: views.InboxScope = "group", step: str | None = None,
        sort: views.InboxSort | None = None,
    ) -> views.InboxPage:
        """Tasks by scope (see ``InboxScope``), in the caller's jurisdiction and those below it (or one of
        them), by step; soonest due first, or newest first (已办: latest closed first). An expert sees
        their own scoring tasks."""
        now = self.now()
        places: list[Jurisdiction] = []
        if actor.role is Role.expert:
            query = select(TaskRecord).where(TaskRecord.role == Role.expert.value, TaskRecord.holder_id == actor.user_id)
        elif actor.role in (Role.incubator, Role.mentor):
            # a base's staff and mentors hold posts named by the bases file, not the directory: their tasks are
            # those they hold or back up, whatever the jurisdiction
            query = select(TaskRecord).where(
                TaskRecord.holder_id == actor.user_id
                if scope in ("mine", "escalated")
                else or_(
                    TaskRecord.holder_id == actor.user_id,
                    TaskRecord.a_user_id == actor.user_id,
                    TaskRecord.b_user_id == actor.user_id,
                )
            )
            if scope == "escalated":
                query = query.where(col(TaskRecord.escalated), TaskRecord.b_user_id == actor.user_id)
        else:
            self.require_staff(actor)
            places = self._jurisdictions_below(actor, jurisdiction)
            query = select(TaskRecord).where(col(TaskRecord.jurisdiction).in_([p.code for p in places]))
            if scope == "group" or role:
                query = query.where(TaskRecord.role == (role or actor.role).value)
            if scope in ("mine", "escalated"):
                query = query.where(TaskRecord.holder_id == actor.user_id)
            if scope == "escalated":
                query = query.where(col(TaskRecord.escalated), TaskRecord.b_user_id == actor.user_id)
            if scope == "done":
                query = query.where(or_(TaskRecord.a_user_id == actor.user_id, TaskRecord.b_user_id == actor.user_id))
        if scope == "done":
            query = query.where(TaskRecord.status != TaskStatus.open.value)
        elif not include_closed or scope != "group":
            query = query.where(TaskRecord.status == TaskStatus.open.value)
        steps = self._steps_of(query)
        if step:
            query = query.where(TaskRecord.step == step)
        order = (
            [col(TaskRecord.due_at), col(TaskRecord.case_no)]
            if (sort or ("newest" if scope == "done" else "deadline")) == "deadline"
            else [col(TaskRecord.closed_at if scope == "done" else TaskRecord.created_at).desc(), col(TaskRecord.case_no).desc()]
        )
        with Session(self.engine) as session:
            records, total = paged(session, query.order_by(*order, col(TaskRecord.task_id)), limit, offset)
        last_year = max((r.due_at.year + 1 for r in records), default=now.year)
        calendar = working_calendar(self.engine, range(local_date(now).year, last_year + 1))
        return views.InboxPage(
            items=[_task_view(r, now, calendar) for r in records], total=total, limit=limit, offset=offset, steps=steps,
            jurisdictions=[views.InboxChoice(value=p.code, name=p.name) for p in places],
        )

    def _jurisdictions_below(self, actor: Actor, jurisdiction: str | None) -> list[Jurisdiction]:
        """The jurisdiction asked for (the caller's own by default) and those below it; only the caller's
        own and those below it may be asked for."""
        code = jurisdiction or actor.jurisdiction or ""
        place = directory.locality(self.engine, code)
        if place is None:
            raise ServiceError("not_found", f"辖区代码 {code[:64]} 不存在")
        if not place.contains(actor.jurisdiction):
            raise ServiceError("forbidden", f"您只能查看本辖区（{actor.jurisdiction}）及下属辖区的待办")
        return directory.within(self.engine, code)

    def _steps_of(self, query: Any) -> list[views.InboxChoice]:
        """The steps among a query's tasks, to filter by."""
        chosen = select(TaskRecord.step, TaskRecord.title).where(query.whereclause).distinct().order_by(col(TaskRecord.step))
        with Session(self.engine) as session:
            found = dict(session.exec(chosen).all())
        return [views.InboxChoice(value=value, name=name) for value, name in found.items()]

    def notifications(
        self, actor: Actor, limit: int = views.PAGE_LIMIT, offset: int = 0, unread_only: bool = False
    ) -> views.NotificationPage:
        """A person's messages, newest first, with their unread count (for the pages' badge)."""
        mine = NotificationRecord.recipient_id == actor.user_id
        unread = col(NotificationRecord.read_at).is_(None)
        query = select(NotificationRecord).where(mine, unread) if unread_only else select(NotificationRecord).where(mine)
        query = query.order_by(col(NotificationRecord.created_at).desc(), col(NotificationRecord.key))
        with Session(self.engine) as session:
            records, total = paged(session, query, limit, offset)
            unread_count = session.exec(_unread(actor.user_id)).one()
        items = [
            views.NotificationView(
                key=r.key, case_no=r.case_no, kind=r.kind, subject=r.subject, body=r.body, created_at=r.created_at, read_at=r.read_at
            )
            for r in records
        ]
        return views.NotificationPage(items=items, total=total, limit=limit, offset=offset, unread=unread_count)

    def mark_read(self, actor: Actor, keys: list[str] | None) -> int:
        """Marks the person's own messages read (the given ones, or all); returns how many are still unread.
        Another person's message key is refused as if it did not exist."""
        mine = NotificationRecord.recipient_id == actor.user_id
        with session_scope(self.engine) as session:
            if keys is not None:
                found = set(session.exec(select(NotificationRecord.key).where(mine, col(NotificationRecord.key).in_(keys))).all())
                if missing := [k for k in keys if k not in found]:
                    raise ServiceError("not_found", f"没有这条消息：{missing[0]}（请从“我的消息”中选择）", missing)
            chosen = update(NotificationRecord).where(mine, col(NotificationRecord.read_at).is_(None))
            if keys is not None:
                chosen = chosen.where(col(NotificationRecord.key).in_(keys))
            session.exec(chosen.values(read_at=datetime.now(UTC)))
            return session.exec(_unread(actor.user_id)).one()

    def unread(self, user_id: str) -> int:
        """How many of a person's messages are unread: one COUNT, cheap enough for every page's header."""
        with Session(self.engine) as session:
            return session.exec(_unread(user_id)).one()

    def public_notices(self, limit: int = views.PAGE_LIMIT, offset: int = 0) -> views.Page[views.PublicNoticeView]:
        """Cases now in 公示, with their notice: anyone may read them and object. A case enters the 公示
        phase and gets its notice in one projection, so the phase alone selects them."""
        query = (
            select(CaseRecord)
            .where(CaseRecord.phase == Phase.public_notice.value)
            .order_by(col(CaseRecord.submitted_at), col(CaseRecord.case_no))
        )
        with Session(self.engine) as session:
            records, total = paged(session, query, limit, offset)
        notices = []
        for record in records:
            state = CaseState.model_validate(record.state)
            document = next((d for d in state.documents if d.kind is DocumentKind.public_notice), None)
            notices.append(
                views.PublicNoticeView(
                    case_no=state.case_no, organization_name=state.application.organization_name,
                    track_name=state.procedure.track_name if state.procedure else state.application.track.label,
                    community_name=state.locality.community.full_name if state.locality else "",
                    until=state.public_notice.ends.due_date,  # type: ignore[union-attr]  # set before the phase
                    document=document_view(document) if document else None,
                )
            )
        return views.Page[views.PublicNoticeView](items=notices, total=total, limit=limit, offset=offset)

    def may_read_document(self, actor: Actor | None, record: DocumentRecord) -> bool:
        """Public notices are public; the other documents of a case follow the case's access."""
        if record.kind == DocumentKind.public_notice.value:
            return True
        state = self._state(record.case_no)
        return actor is not None and state is not None and self._may_view(actor, state)

    def save_attachment(self, actor: Actor, filename: str, content: Iterable[bytes]) -> views.AttachmentView:
        """Store an upload as it arrives (refused past 20 MB while reading), typed by its content alone."""
        try:
            digest, size, kind = put_stream(self.settings.attachments_dir, content, "bin", ATTACHMENT_LIMIT)
        except TooLarge as error:
            raise ServiceError("too_large", "附件不能超过 20MB，请压缩或分成几个文件后再上传") from error
        if not size:
            raise ServiceError("invalid", "附件为空，请选择要上传的文件")
        if kind is None:
            raise ServiceError(
                "invalid", f"附件「{filename[:50]}」的内容不是可接受的类型，只接受：{'、'.join(ATTACHMENT_TYPES.values())}"
            )
        with Session(self.engine) as session:
            if session.get(AttachmentRecord, (digest, actor.user_id)) is None:
                session.add(
                    AttachmentRecord(
                        sha256=digest, filename=filename[:200], content_type=kind, size=size,
                        uploaded_by=actor.user_id, uploaded_at=datetime.now(UTC),
                    )
                )
                session.commit()
        return views.AttachmentView(sha256=digest, filename=filename, size=size, content_type=kind)


def _unread(user_id: str) -> Any:
    return select(func.count()).select_from(NotificationRecord).where(
        NotificationRecord.recipient_id == user_id, col(NotificationRecord.read_at).is_(None))


def _duplicate(application: Application, duplicate: DuplicateOpenCase) -> ServiceError:
    return ServiceError(
        "conflict", f"「{application.organization_name}」已有办理中的申请（案号 {duplicate.case_no}），请勿重复提交"
    )


def case_not_found(case_no: str) -> ServiceError:
    """The one answer for a case that does not exist and for a case the caller may not see."""
    return ServiceError("not_found", f"案号 {case_no} 不存在或您无权查看，请核对案号")


def _task_view(record: TaskRecord, now: datetime, calendar: DayClassifier) -> views.TaskView:
    """A task with its due date and the working days left, counted on the working calendar."""
    due_date = local_date(record.due_at - timedelta(microseconds=1))
    is_open = record.status == TaskStatus.open.value
    overdue = is_open and now >= record.due_at
    left = working_days_left(now, due_date, calendar) if is_open and not overdue else None
    urgency: views.Urgency = (
        "closed" if not is_open else "overdue" if overdue
        else "due_soon" if left is not None and left <= views.DUE_SOON_WORKING_DAYS else "on_time"
    )
    return views.TaskView(
        case_no=record.case_no, task_id=record.task_id, step=record.step, title=record.title,
        organization_name=record.organization_name, office=record.office, jurisdiction=record.jurisdiction,
        holder=record.holder_name, post="B" if record.escalated else "A", a=record.a_name, b=record.b_name,
        status=record.status, due_at=record.due_at, due_date=due_date, working_days_left=left, urgency=urgency,
        overdue=overdue, escalated=record.escalated, created_at=record.created_at, closed_at=record.closed_at,
        outcome_name=_outcome_name(record.outcome),
    )


def _outcome_name(value: str | None) -> str | None:
    """How a task ended, by name: a decision, or the status of an expert's seat on a lot."""
    if value in Outcome.__members__:
        return Outcome(value).label
    if value in SeatStatus.__members__:
        return SeatStatus(value).label
    return value


def _phase_labels(state: CaseState, staff: bool) -> dict[Phase, str]:
    """Names of the phases this case went through, for its timeline."""
    labels = {phase: (n.staff if staff else n.applicant) for phase, n in PHASE_NAMES.items()}
    procedure = state.procedure
    if procedure:
        for step in [*procedure.review_steps, procedure.decision_step]:
            labels[Phase(step.id)] = step.staff_name if staff else step.applicant_name
        labels[Phase.approved] = procedure.approved_name
        labels[Phase.refused] = procedure.refused_name
    return labels


def _progress(state: CaseState, holders: list[views.HolderView]) -> list[views.StepView]:
    """The applicant's line of steps: submission, the review steps, 公示 and the decision, then the
    outcome. A step is done once the case has moved past it; 补正 appears where it was asked for."""
    procedure = state.procedure
    if procedure is None:
        return [views.StepView(name=PHASE_NAMES[Phase.submitted].future, status="ended" if state.phase.terminal else "current")]
    steps = [*procedure.review_steps, procedure.decision_step]
    order: list[tuple[str, str, str]] = [(Phase.submitted.value, PHASE_NAMES[Phase.submitted].future, PHASE_NAMES[Phase.submitted].applicant)]
    order += [(s.id, s.future_name or s.staff_name, s.applicant_name) for s in steps[:-1]]
    order.append((Phase.public_notice.value, PHASE_NAMES[Phase.public_notice].future, PHASE_NAMES[Phase.public_notice].applicant))
    order.append((steps[-1].id, steps[-1].future_name or steps[-1].staff_name, steps[-1].applicant_name))
    ids = [o[0] for o in order]
    seen = [e.phase_after for e in state.timeline if e.phase_after in ids]
    reached = max((ids.index(p) for p in seen), default=0)
    if state.phase.value in ids:
        reached = ids.index(state.phase.value)
    line: list[views.StepView] = []
    for index, (step_id, future, current) in enumerate(order):
        if index < reached or (state.phase is Phase.approved):
            line.append(views.StepView(name=future, status="done"))
        elif index == reached and state.phase.value == step_id:
            due = state.next_deadline
            line.append(views.StepView(
                name=current, status="current", holders=[h for h in holders if h.step == step_id],
                due=deadline_view(due) if due else None,
            ))
            continue
        elif state.phase is Phase.correction and index == reached:
            correction = state.open_correction
            line.append(views.StepView(
                name=PHASE_NAMES[Phase.correction].applicant, status="current",
                due=deadline_view(correction.window) if correction else None,
            ))
            line.append(views.StepView(name=future, status="to_come"))
        elif not state.phase.terminal:
            line.append(views.StepView(name=future, status="to_come"))
    if state.phase is Phase.approved:
        line.append(views.StepView(name=procedure.approved_name, status="done"))
    elif state.phase.terminal:
        name = procedure.refused_name if state.phase is Phase.refused else PHASE_NAMES[state.phase].applicant
        line.append(views.StepView(name=name, status="ended"))
    return line
