"""The operations of a 社洽会 and its lots, shared by the HTTP API and the CLI.

Who sees what is decided here: bidders never see other bids or any score before the result
notice; experts see only the lots they sit on; the buying department sees its own lot; the
organizer sees everything; the public sees what is published.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from rules.eligibility import incubation_history_text
from schemas.case import ActionReceipt
from schemas.documents import DocumentKind, DocumentRef
from schemas.localtime import local_date
from schemas.people import Actor, Role
from schemas.procurement import (
    LOT_PHASE_NAMES,
    AwardResponse,
    Bid,
    BidAmendment,
    BidInput,
    BidSubmission,
    BidWithdrawal,
    CataloguePublication,
    ChallengeAnswer,
    ChallengeFiling,
    ConflictDeclaration,
    Demand,
    DemandInput,
    DemandReview,
    DemandStatus,
    DemandSubmission,
    Disqualification,
    FailedLotDecision,
    FairPhase,
    FairRequest,
    FairState,
    LotPhase,
    LotState,
    NegotiationEntry,
    NegotiationInput,
    ScoreInput,
    ScoreSubmission,
    ShowcaseInput,
    ShowcaseSubmission,
)
from service import views
from service.common import Service, ServiceError, check_attachments, document_view, holder_view, paged, timeline_view
from store import directory, register
from store.files import content_path
from store.models import AttachmentRecord, DocumentRecord, FairRecord, LotRecord, OrganizationRecord, ShowcaseRecord
from workflows.fair import FairWorkflow
from workflows.lot import LotWorkflow

PUBLIC_LOT_EVENTS = frozenset(
    {"lot_opened", "bids_closed", "result_published", "result_notice_ended", "awarded", "failed", "retendered", "closed"}
)
BID_EVENTS = frozenset({"bid_submitted", "bid_amended", "bid_withdrawn"})
PUBLIC_DOCUMENTS = frozenset(
    {DocumentKind.demand_catalogue, DocumentKind.result_publication, DocumentKind.failed_lot_notice, DocumentKind.retender_notice}
)


class Audience:
    organizer = "organizer"
    department = "department"
    expert = "expert"
    bidder = "bidder"
    public = "public"


class FairService(Service):
    """Fairs (社洽会) and their lots."""

    # --- fairs -------------------------------------------------------------------------------------

    @staticmethod
    def may_create_fair(actor: Actor | None) -> bool:
        """社洽会 are organized by 民政局."""
        return actor is not None and actor.role is Role.civil_affairs

    async def create_fair(self, actor: Actor, fair: views.FairInput) -> views.FairSummary:
        if not self.may_create_fair(actor):
            raise ServiceError("forbidden", "社洽会由民政局组织，只有民政局工作人员可以创建")
        now = datetime.now(UTC)
        if fair.schedule.demands_due <= now:
            raise ServiceError("invalid", "需求征集截止时间须晚于当前时间")
        locality = directory.locality(self.engine, actor.jurisdiction or "")
        if locality is None:
            raise ServiceError("invalid", f"辖区 {actor.jurisdiction} 不在名录中")
        organizer = locality.office(Role.civil_affairs, locality.chain[0].level)
        series = f"{locality.chain[0].code}-SQH-{local_date(now).year}"
        fair_no = await self._start_numbered(
            series, None, "社洽会", FairWorkflow.run,
            lambda number: FairRequest(
                fair_no=number, title=fair.title, organizer=organizer, locality=locality, schedule=fair.schedule,
                created_by=actor,
            ),
        )
        await self._readable_after_start(fair_no, FairWorkflow.status, "社洽会")
        return self._fair_summary(self._fair_state(fair_no))

    def fairs(self, limit: int = views.PAGE_LIMIT, offset: int = 0) -> views.Page[views.FairSummary]:
        """Newest fair first."""
        with Session(self.engine) as session:
            records, total = paged(session, select(FairRecord).order_by(col(FairRecord.fair_no).desc()), limit, offset)
        items = [self._fair_summary(FairState.model_validate(r.state)) for r in records]
        return views.Page[views.FairSummary](items=items, total=total, limit=limit, offset=offset)

    def _stored(self, table: type[FairRecord] | type[LotRecord], key: str, what: str) -> dict[str, Any]:
        """A fair's or a lot's state as last projected, or a not-found answer naming it."""
        with Session(self.engine) as session:
            record = session.get(table, key)
        if record is None or record.state is None:
            raise ServiceError("not_found", f"{what} {key} 不存在")
        return record.state

    def _fair_state(self, fair_no: str) -> FairState:
        return FairState.model_validate(self._stored(FairRecord, fair_no, "社洽会"))

    @staticmethod
    def _fair_summary(state: FairState) -> views.FairSummary:
        return views.FairSummary(
            fair_no=state.fair_no, title=state.title, organizer=state.organizer.name, phase=state.phase.value,
            phase_name=state.phase.label, demands_due=state.schedule.demands_due, fair_day=state.schedule.fair_day,
            bids_close=state.schedule.bids_close,
        )

    def _organizes(self, actor: Actor | None, state: FairState | LotState) -> bool:
        return bool(actor and actor.role is Role.civil_affairs and state.locality.contains(actor.jurisdiction))

    def fair(self, actor: Actor | None, fair_no: str) -> views.FairView:
        state = self._fair_state(fair_no)
        organizer = self._organizes(actor, state)
        published = state.phase in (FairPhase.published, FairPhase.closed)
        phases = self._lot_phases(fair_no)
        catalogue = [
            _catalogue_entry(d, phases.get(d.lot_no or ""))
            for d in state.demands
            if published and d.status is DemandStatus.approved
        ]
        demands = [d for d in state.demands if organizer or (actor and d.department.user_id == actor.user_id)]
        timeline = state.timeline if organizer else [e for e in state.timeline if e.action in ("fair_created", "demands_closed", "catalogue_published", "fair_closed")]
        if organizer:
            audience = Audience.organizer
        else:
            audience = Audience.department if actor and actor.role is Role.department else Audience.public
        return views.FairView(
            **self._fair_summary(state).model_dump(),
            audience=audience,
            catalogue=catalogue,
            demands=demands,
            showcase=state.showcase,
            lots=state.lots,
            rubric=state.policy.rubric if state.policy else [],
            timeline=[timeline_view(e) for e in timeline],
            documents=[document_view(d) for d in state.documents],
        )

    def _lot_phases(self, fair_no: str) -> dict[str, str]:
        with Session(self.engine) as session:
            return {r.lot_no: r.phase for r in session.exec(select(LotRecord).where(LotRecord.fair_no == fair_no))}

    def showcase(self, fair_no: str, limit: int = views.PAGE_LIMIT, offset: int = 0) -> views.Page[views.ShowcaseView]:
        """展示公益服务项目: public."""
        self._fair_state(fair_no)
        query = select(ShowcaseRecord).where(ShowcaseRecord.fair_no == fair_no).order_by(col(ShowcaseRecord.project_id))
        with Session(self.engine) as session:
            records, total = paged(session, query, limit, offset)
        items = [views.ShowcaseView(**r.model_dump(exclude={"fair_no"})) for r in records]
        return views.Page[views.ShowcaseView](items=items, total=total, limit=limit, offset=offset)

    async def _fair_update(self, fair_no: str, update: Any, argument: Any) -> ActionReceipt:
        self._fair_state(fair_no)
        return await self._update(fair_no, update, argument, lambda: f"社洽会 {fair_no} 已结束")

    async def submit_demand(self, actor: Actor, fair_no: str, demand: DemandInput) -> ActionReceipt:
        if actor.role is not Role.department:
            raise ServiceError("forbidden", "只有购买服务的政府部门可以提交需求")
        if demand.requirements.jurisdiction and directory.jurisdiction(self.engine, demand.requirements.jurisdiction) is None:
            raise ServiceError("not_found", f"资格条件中的辖区代码 {demand.requirements.jurisdiction} 不存在")
        submission = DemandSubmission(actor=actor, office=actor.office or actor.name, demand=demand)
        return await self._fair_update(fair_no, FairWorkflow.submit_demand, submission)

    async def review_demand(self, actor: Actor, fair_no: str, demand_id: str, review: views.DemandReviewInput) -> ActionReceipt:
        payload = DemandReview(actor=actor, demand_id=demand_id, approve=review.approve, reasons=review.reasons)
        return await self._fair_update(fair_no, FairWorkflow.review_demand, payload)

    async def publish_catalogue(self, actor: Actor, fair_no: str) -> ActionReceipt:
        return await self._fair_update(fair_no, FairWorkflow.publish_catalogue, CataloguePublication(actor=actor))

    async def add_showcase_project(self, actor: Actor, fair_no: str, project: ShowcaseInput) -> ActionReceipt:
        bidder, name = self.representative(actor, project.organization)
        submission = ShowcaseSubmission(actor=bidder, organization_name=name, project=project)
        return await self._fair_update(fair_no, FairWorkflow.add_showcase_project, submission)

    # --- who acts for an organization -----------------------------------------------------------

    def representative(self, actor: Actor, organization: str) -> tuple[Actor, str]:
        """The caller as the representative of ``organization`` in the register, or a refusal saying why."""
        record = register.organization(self.engine, organization)
        if record is None:
            raise ServiceError("not_found", f"社会组织 {organization} 不在社会组织名录中（请填写登记证书号或备案案号对应的名录编号）")
        if record.representative_id != actor.user_id:
            raise ServiceError("forbidden", f"您不是「{record.name}」在名录中登记的负责人或代表，不能以该组织名义办理")
        return Actor(user_id=actor.user_id, name=record.representative_name or actor.name, role=Role.bidder), record.name

    def my_organizations(
        self, actor: Actor, limit: int = views.PAGE_LIMIT, offset: int = 0
    ) -> views.Page[views.OrganizationView]:
        query = (
            select(OrganizationRecord)
            .where(OrganizationRecord.representative_id == actor.user_id)
            .order_by(col(OrganizationRecord.case_no))
        )
        with Session(self.engine) as session:
            records, total = paged(session, query, limit, offset)
        items = [
            views.OrganizationView(
                key=r.case_no, name=r.name, track=r.track, grade=r.grade or "",
                incubations=[
                    views.IncubationHistoryView(**h.model_dump(), status=h.label, text=incubation_history_text(h))
                    for h in register.incubation_history(self.engine, r.case_no)
                ],
            )
            for r in records
        ]
        return views.Page[views.OrganizationView](items=items, total=total, limit=limit, offset=offset)

    # --- lots --------------------------------------------------------------------------------------

    def _lot_state(self, lot_no: str) -> LotState:
        return LotState.model_validate(self._stored(LotRecord, lot_no, "项目"))

    async def _lot_update(self, lot_no: str, update: Any, argument: Any) -> ActionReceipt:
        self._lot_state(lot_no)
        return await self._update(lot_no, update, argument, lambda: f"项目 {lot_no} 已办结")

    async def submit_bid(self, actor: Actor, lot_no: str, bid: BidInput) -> ActionReceipt:
        bidder, name = self.representative(actor, bid.organization)
        check_attachments(self.engine, actor, dict.fromkeys(bid.attachments, "投标"))
        return await self._lot_update(lot_no, LotWorkflow.submit_bid, BidSubmission(actor=bidder, organization_name=name, bid=bid))

    async def amend_bid(self, actor: Actor, lot_no: str, bid_id: str, bid: BidInput) -> ActionReceipt:
        bidder, _ = self.representative(actor, bid.organization)
        self._own_bid(actor, lot_no, bid_id)
        check_attachments(self.engine, actor, dict.fromkeys(bid.attachments, "投标"))
        return await self._lot_update(lot_no, LotWorkflow.amend_bid, BidAmendment(actor=bidder, bid_id=bid_id, bid=bid))

    async def withdraw_bid(self, actor: Actor, lot_no: str, bid_id: str) -> ActionReceipt:
        bid = self._own_bid(actor, lot_no, bid_id)
        bidder = self.representative(actor, bid.organization)[0]
        return await self._lot_update(lot_no, LotWorkflow.withdraw_bid, BidWithdrawal(actor=bidder, bid_id=bid_id))

    def _own_bid(self, actor: Actor, lot_no: str, bid_id: str) -> Bid:
        """The caller's own bid; another bidder's is answered exactly like a bid that does not exist,
        so no one learns which organizations bid."""
        bid = self._lot_state(lot_no).bid(bid_id)
        if bid is None or bid.bidder.user_id != actor.user_id:
            raise ServiceError("not_found", f"项目 {lot_no} 没有您提交的投标 {bid_id}，请核对投标编号")
        return bid

    def bid_file(self, actor: Actor | None, lot_no: str, bid_id: str, sha256: str) -> tuple[Path, AttachmentRecord]:
        """A file attached to a bid, for whoever the lot shows that bid to (its bidder, the organizer, the
        panel while it scores); any other is answered as not found, so nothing is confirmed to exist."""
        bid = next((b for b in self.lot(actor, lot_no).bids if b.bid_id == bid_id), None)
        record = None
        if bid is not None and sha256 in bid.attachments:
            with Session(self.engine) as session:
                record = session.get(AttachmentRecord, (sha256, bid.bidder.user_id))
        path = content_path(self.settings.attachments_dir, sha256, "bin")
        if record is None or not path.exists():
            raise ServiceError("not_found", f"项目 {lot_no} 没有这份投标附件，请从项目页面的投标中打开")
        return path, record

    def attachment_names(self, bids: list[Bid]) -> dict[str, str]:
        """The file names the bidders gave their attachments, by SHA-256 (for listing a bid's files)."""
        wanted = [(h, b.bidder.user_id) for b in bids for h in b.attachments]
        with Session(self.engine) as session:
            found = (session.get(AttachmentRecord, key) for key in wanted)
            return {r.sha256: r.filename for r in found if r is not None}

    async def record_negotiation(self, actor: Actor, lot_no: str, negotiation: NegotiationInput) -> ActionReceipt:
        record = register.organization(self.engine, negotiation.organization)
        if record is None:
            raise ServiceError("not_found", f"社会组织 {negotiation.organization} 不在社会组织名录中")
        entry = NegotiationEntry(actor=actor, organization_name=record.name, negotiation=negotiation)
        return await self._lot_update(lot_no, LotWorkflow.record_negotiation, entry)

    async def score(self, actor: Actor, lot_no: str, sheet: ScoreInput) -> ActionReceipt:
        return await self._lot_update(lot_no, LotWorkflow.score, ScoreSubmission(actor=actor, sheet=sheet))

    async def declare_conflict(self, actor: Actor, lot_no: str, conflict: views.ConflictInput) -> ActionReceipt:
        return await self._lot_update(lot_no, LotWorkflow.declare_conflict, ConflictDeclaration(actor=actor, reason=conflict.reason))

    async def file_challenge(self, actor: Actor, lot_no: str, challenge: views.ChallengeInput) -> ActionReceipt:
        bidder, name = self.representative(actor, challenge.organization)
        filing = ChallengeFiling(actor=bidder, organization=challenge.organization, organization_name=name, content=challenge.content)
        return await self._lot_update(lot_no, LotWorkflow.file_challenge, filing)

    async def answer_challenge(
        self, actor: Actor, lot_no: str, challenge_id: str, answer: views.ChallengeAnswerInput
    ) -> ActionReceipt:
        payload = ChallengeAnswer(actor=actor, challenge_id=challenge_id, **answer.model_dump())
        return await self._lot_update(lot_no, LotWorkflow.answer_challenge, payload)

    async def respond_to_award(self, actor: Actor, lot_no: str, response: views.AwardResponseInput) -> ActionReceipt:
        bidder, _ = self.representative(actor, response.organization)
        payload = AwardResponse(actor=bidder, **response.model_dump())
        return await self._lot_update(lot_no, LotWorkflow.respond_to_award, payload)

    async def disqualify(self, actor: Actor, lot_no: str, disqualification: views.DisqualificationInput) -> ActionReceipt:
        payload = Disqualification(actor=actor, **disqualification.model_dump())
        return await self._lot_update(lot_no, LotWorkflow.disqualify, payload)

    async def decide_failed_lot(self, actor: Actor, lot_no: str, decision: views.FailedLotInput) -> ActionReceipt:
        payload = FailedLotDecision(actor=actor, **decision.model_dump())
        return await self._lot_update(lot_no, LotWorkflow.decide_failed_lot, payload)

    # --- who sees what -----------------------------------------------------------------------------

    def audience(self, actor: Actor | None, state: LotState) -> str:
        if actor is None:
            return Audience.public
        if self._organizes(actor, state):
            return Audience.organizer
        if actor.role is Role.department and actor.user_id == state.demand.department.user_id:
            return Audience.department
        if actor.role is Role.expert and any(s.expert.user_id == actor.user_id for s in state.seats):
            return Audience.expert
        if any(b.bidder.user_id == actor.user_id for b in state.bids):
            return Audience.bidder
        return Audience.public

    def lot(self, actor: Actor | None, lot_no: str) -> views.LotView:
        state = self._lot_state(lot_no)
        audience = self.audience(actor, state)
        staff = audience in (Audience.organizer, Audience.department)
        published = state.result_notice is not None or state.phase in (LotPhase.awarding, LotPhase.awarded)
        mine = actor.user_id if actor else None
        if audience is Audience.organizer:
            bids = state.bids
        elif audience is Audience.expert and state.phase is LotPhase.evaluation:
            bids = state.eligible_bids
        else:
            bids = [b for b in state.bids if b.bidder.user_id == mine]
        own_orgs = {b.organization for b in bids}
        ranking = state.ranking if (staff and state.ranking) or published else None
        if ranking and not staff:
            ranking = ranking.model_copy(update={"entries": [e.model_copy(update={"expert_totals": [], "dropped": []}) for e in ranking.entries]})
        panel = state.seats if audience is Audience.organizer else [s for s in state.seats if s.expert.user_id == mine]
        timeline = self._timeline(audience, state, mine)
        return views.LotView(
            audience=audience,
            lot_no=state.lot_no,
            fair_no=state.fair_no,
            fair_title=state.fair_title,
            demand=_catalogue_entry(state.demand, state.phase.value),
            phase=state.phase.value,
            phase_name=state.phase_names[1] if staff else state.phase_names[0],
            round=state.round,
            bids_close=state.bids_close,
            fair_day=state.fair_day,
            bid_count=len(state.active_bids) if audience is Audience.organizer or state.phase is not LotPhase.bidding else None,
            bids=bids,
            screenings=[s for s in state.screenings if audience is Audience.organizer or s.organization in own_orgs],
            negotiations=state.negotiations if staff else [n for n in state.negotiations if n.organization in own_orgs],
            panel=panel,
            recusals=state.recusals if audience is Audience.organizer else [],
            ranking=ranking,
            result_notice_until=state.result_notice.ends.due_date if state.result_notice else None,
            challenges=[c for c in state.challenges if staff or c.bidder.user_id == mine],
            offers=[o for o in state.offers if staff or o.organization in own_orgs],
            contract=state.contract,
            rubric=state.policy.rubric,
            tasks=[holder_view(t) for t in state.open_tasks] if audience is Audience.organizer else [],
            timeline=timeline,
            documents=[document_view(d) for d in state.documents if self._may_read(audience, state, d, own_orgs)],
        )

    @staticmethod
    def _timeline(audience: str, state: LotState, mine: str | None) -> list[views.TimelineView]:
        """The organizer sees the whole timeline. Anyone else sees a part of it, numbered anew: the lot's own
        sequence numbers count every bid, amendment and withdrawal, so they would tell how many bids came in;
        while bids are open the buying department sees no bid events either."""
        if audience == Audience.organizer:
            return [timeline_view(e) for e in state.timeline]
        if audience == Audience.department:
            hidden = BID_EVENTS if state.phase is LotPhase.bidding else frozenset()
            shown = [e for e in state.timeline if e.action not in hidden]
        else:
            shown = [e for e in state.timeline if e.action in PUBLIC_LOT_EVENTS or (e.actor and e.actor.user_id == mine)]
        return [timeline_view(e).model_copy(update={"seq": n}) for n, e in enumerate(shown, start=1)]

    @staticmethod
    def _may_read(audience: str, state: LotState, document: DocumentRef, own_orgs: set[str]) -> bool:
        if document.kind in PUBLIC_DOCUMENTS or audience == Audience.organizer:
            return True
        if document.kind is DocumentKind.evaluation_report:
            return audience == Audience.department
        if document.kind is DocumentKind.award_notice and audience == Audience.department:
            return True
        return document.addressee is not None and document.addressee in own_orgs

    def may_read_document(self, actor: Actor | None, record: DocumentRecord) -> bool:
        """A fair's catalogue is public; a lot's documents follow who may see what in the lot."""
        with Session(self.engine) as session:
            if session.get(FairRecord, record.case_no):
                return True
            if session.get(LotRecord, record.case_no) is None:
                return False
        state = self._lot_state(record.case_no)
        mine = actor.user_id if actor else None
        own_orgs = {b.organization for b in state.bids if b.bidder.user_id == mine}
        document = next((d for d in state.documents if d.document_id == record.document_id), None)
        return bool(document and self._may_read(self.audience(actor, state), state, document, own_orgs))

    def lots(self, fair_no: str) -> list[views.LotSummary]:
        return self._fair_state(fair_no).lots



def _catalogue_entry(demand: Demand, phase: str | None) -> views.CatalogueEntry:
    return views.CatalogueEntry(
        lot_no=demand.lot_no or "", title=demand.title, department_office=demand.department_office,
        service_content=demand.service_content, target_group=demand.target_group, location=demand.location,
        budget_ceiling_fen=demand.budget_ceiling_fen, duration_months=demand.duration_months,
        requirements=demand.requirements, lot_phase=LOT_PHASE_NAMES[LotPhase(phase)][0] if phase else None,
    )


