"""One lot of a 社洽会: a department's demand, tendered, evaluated and awarded.

bid window (submit, amend, withdraw until the deadline) → 资格审查 against the register → an
expert panel drawn at random (recorded, so a replay draws the same), each expert scoring every
eligible bid, an expert who misses the deadline replaced → ranking and 评审报告 → 结果公示, during
which bidders may file 质疑 the organizer must answer → 成交通知书 down the ranking until a bidder
accepts → contract record. Too few eligible bids, or nobody accepting, is 流标: the organizer
re-tenders (a new bid window) or closes the lot.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import FailureError
from temporalio.workflow import ParentClosePolicy

from workflows.base import CaseClosed, ProcessWorkflow, refuse_if
from workflows.contract import ContractWorkflow

with workflow.unsafe.imports_passed_through():
    from rules import procurement_permissions as permissions
    from rules.evaluation import rank
    from rules.procurement_terms import contract_signing_period
    from schemas.calendar import Deadline
    from schemas.case import ActionReceipt, Outcome
    from schemas.checklist import StepPlan
    from schemas.contracts import ContractBasis, ContractRequest, ContractStart
    from schemas.document_request import DocumentRequest
    from schemas.documents import DocumentKind, DocumentRef, NoticePeriod
    from schemas.localtime import local_date, local_text
    from schemas.money import yuan
    from schemas.notifications import NotificationKind
    from schemas.people import Actor, Role
    from schemas.procurement import (
        AwardResponse,
        Bid,
        BidAmendment,
        BidSubmission,
        BidWithdrawal,
        Challenge,
        ChallengeAnswer,
        ChallengeFiling,
        ChallengeStatus,
        ConflictDeclaration,
        ContractFacts,
        Disqualification,
        Expert,
        ExpertPool,
        FailedLotDecision,
        LotEnded,
        LotPhase,
        LotRequest,
        LotResult,
        LotState,
        Negotiation,
        NegotiationEntry,
        Offer,
        OfferResponse,
        PoolRequest,
        ScoreSheet,
        ScoreSubmission,
        ScreeningRequest,
        ScreeningResult,
        Seat,
        SeatStatus,
        conflicts_of,
        score_text,
    )

LOTS_CONTINUE = "lots-continue-as-new"
"""Patch: runs recorded before it never continued as new, so replaying them must not either."""

AMENDMENTS_COUNTED = "bid-amendments-counted"
"""Patch: lots recorded before it kept no count of a bid's amendments in their state."""

OPAQUE_BID_IDS = "opaque-bid-ids"
"""Patch: lots recorded before it numbered bids B01, B02… in order, which told a bidder how many bids came before."""

SIGNING_DEADLINE_STATED = "award-notice-signing-deadline"
"""Patch: award notices issued before it did not state the last day to sign the contract."""

RETENDER_ANNOUNCED = "retender-announced"
"""Patch: lots re-tendered before it announced the new bid window in their timeline only."""

INCUBATION_FAIR_RULES = "incubation-fair-rules"
"""Patch: lots screened and ranked before it knew nothing of incubation (no exit bar, no preference for graduates)."""

RESULT_NOTICE_CHANNEL = "社洽会公告栏及组织单位门户网站"


@workflow.defn
class LotWorkflow(ProcessWorkflow):
    PROJECTION = "project_lot"

    @workflow.init
    def __init__(self, request: LotRequest) -> None:
        self.case = request.carried_over or LotState(
            lot_no=request.lot_no,
            fair_no=request.fair_no,
            fair_title=request.fair_title,
            demand=request.demand,
            organizer=request.organizer,
            locality=request.locality,
            policy=request.policy,
            policy_ref=request.policy_ref,
            fair_day=request.fair_day,
            bids_close=request.bids_close,
            opened_at=workflow.now(),
        )
        self._failed_lot_decision: FailedLotDecision | None = None
        self._challenge_reviews: list[asyncio.Task[None]] = []
        self._reports_to_fair = request.reports_to_fair

    # --- the procedure ---------------------------------------------------------------------

    @workflow.run
    async def run(self, request: LotRequest) -> LotResult | None:
        demand = self.case.demand
        # a run continues as new while taking bids (and resumes there as a fresh run would) or during
        # the result notice (and resumes there)
        resuming = request.carried_over is not None and self.case.phase is LotPhase.result_notice
        if request.carried_over is not None:
            self.case.runs += 1
            self._record(None, "continued", f"项目办理记录较长，转入第{self.case.runs}段继续办理，状态、待办、期限和质疑均延续")
        else:
            self._record(
                None,
                "lot_opened",
                f"「{demand.title}」（{demand.department_office}）开始接受投标，预算上限{yuan(demand.budget_ceiling_fen)}，"
                f"投标截止{local_text(self.case.bids_close)}",
                LotPhase.bidding,
            )
        try:
            while True:
                if not resuming:
                    await self._take_bids()
                    if not await self._screening():
                        await self._failed(
                            f"通过资格审查的投标{len(self.case.eligible_bids)}份，"
                            f"少于规定的{self.case.policy.minimum_eligible_bids}份"
                        )
                        continue
                    if not await self._evaluation():
                        await self._failed("评审专家均未完成评分，且专家库中已无可替换的专家")
                        continue
                await self._result_notice(resuming)
                resuming = False
                if await self._award():
                    break
                await self._failed("排名在前的投标人均放弃成交或被取消成交资格，没有可以成交的投标")
        except CaseClosed:
            pass
        await asyncio.gather(*self._challenge_reviews)
        await self._settle()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._reports_to_fair:
            await self._report_to_fair()
        return self.case.result

    async def _report_to_fair(self) -> None:
        """A fair that may continue as new learns the result from this signal, not by awaiting the child: it is
        addressed by workflow id, so it reaches whichever run of the fair is current. Only lots whose request
        asks for it (started by fairs that passed the publication patch) send it, so recorded lots replay."""
        parent = workflow.info().parent
        assert parent is not None, "a lot that reports to its fair is started by it"
        fair = workflow.get_external_workflow_handle(parent.workflow_id)
        try:
            await fair.signal("lot_ended", LotEnded(lot_no=self.case.lot_no, result=self.case.result))
        except FailureError as error:
            # an operator ended or deleted the fair: the lot's own result stands, and it is already projected
            workflow.logger.warning("lot %s could not report to fair %s: %s", self.case.lot_no, parent.workflow_id, error)

    async def _take_bids(self) -> None:
        """Answer bids, amendments and withdrawals until the deadline; each organization's are bounded by the
        policy, and a history grown long with them continues as new."""
        while workflow.now() < self.case.bids_close:
            await self._continue_as_new_if_long(LOTS_CONTINUE)
            await self._main_wait(
                lambda: self.case.revision > self._projected_revision or self._history_long(), until=self.case.bids_close
            )

    async def _screening(self) -> bool:
        """资格审查 in an activity: the register may change, the result is recorded."""
        bids = self.case.active_bids
        self._record(None, "bids_closed", f"投标截止，共收到有效投标{len(bids)}份", LotPhase.screening)
        request = ScreeningRequest(
            lot_no=self.case.lot_no,
            requirements=self.case.demand.requirements,
            bids=bids,
            fair_year=local_date(self.case.bids_close).year,
            on=local_date(workflow.now()),
            incubation_rules=self.case.policy.incubation_rules if workflow.patched(INCUBATION_FAIR_RULES) else None,
        )
        self.case.screenings = (await self._call("screen_bids", request, ScreeningResult)).screenings
        failed = [s for s in self.case.screenings if not s.eligible]
        details = "；".join(f"{s.organization_name}：{'，'.join(s.failures)}" for s in failed)
        self._record(
            None,
            "screened",
            f"资格审查：{len(bids) - len(failed)}份合格，{len(failed)}份不合格" + (f"（{details}）" if failed else ""),
        )
        for screening in self.case.screenings:
            bid = self.case.bid(screening.bid_id)
            assert bid is not None
            outcome = "通过" if screening.eligible else "未通过：" + "；".join(screening.failures)
            await self._notify(NotificationKind.screening_result, [bid.bidder], outcome=outcome)
        return len(self.case.eligible_bids) >= self.case.policy.minimum_eligible_bids

    async def _evaluation(self) -> bool:
        """Draw the panel, wait for every sheet (replacing experts who miss the deadline), rank."""
        policy, eligible = self.case.policy, self.case.eligible_bids
        organizations = sorted({b.organization for b in eligible} | {b.organization_name for b in eligible})
        request = PoolRequest(
            jurisdiction=self.case.organizer.jurisdiction, minimum=policy.experts_per_panel, organizations=organizations
        )
        pool = (await self._call("expert_pool", request, ExpertPool)).experts
        free = [e for e in pool if not conflicts_of(e, set(organizations))]
        self.case.recusals = [
            f"{e.name}（与{'、'.join(conflicts_of(e, set(organizations)))}存在登记的利害关系）"
            for e in pool
            if conflicts_of(e, set(organizations))
        ]
        panel = workflow.random().sample(free, policy.experts_per_panel)
        self.case.reserve = [e for e in free if e not in panel]
        deadline = await self._deadline(policy.scoring_working_days)
        self.case.seats = [
            Seat(seat_no=n, expert=e.actor, drawn_at=workflow.now(), deadline=deadline) for n, e in enumerate(panel, start=1)
        ]
        recused = "；回避：" + "、".join(self.case.recusals) if self.case.recusals else ""
        self._record(
            None,
            "panel_drawn",
            f"从专家库{len(pool)}名专家中随机抽取{len(panel)}名评审专家：{'、'.join(e.name for e in panel)}{recused}；"
            f"评分期限至{deadline.due_date.isoformat()}",
            LotPhase.evaluation,
        )
        for seat in self.case.seats:
            await self._notify(NotificationKind.expert_drawn, [seat.expert], due_date=deadline.due_date.isoformat())

        while True:
            for seat in [s for s in self.case.seats if s.status in (SeatStatus.recused, SeatStatus.replaced) and s.successor is None]:
                await self._replace(seat)
            scoring = self.case.open_seats
            if not scoring:
                break
            until = min(s.deadline.due_at for s in scoring)
            await self._main_wait(lambda: self._panel_changed(), until=until)
            for seat in [s for s in self.case.open_seats if workflow.now() >= s.deadline.due_at]:
                seat.status, seat.ended_at, seat.reason = SeatStatus.replaced, workflow.now(), "未在评分期限内评分"
                self._record(None, "expert_overdue", f"评审专家{seat.expert.name}未在{seat.deadline.due_date.isoformat()}前评分，按规定替换")

        sheets = [s.sheet for s in self.case.seats if s.status is SeatStatus.scored and s.sheet]
        if not sheets:
            return False
        self.case.ranking = rank(eligible, sheets, policy, self.case.screenings if workflow.patched(INCUBATION_FAIR_RULES) else [])
        await self._issue(DocumentKind.evaluation_report)
        top = self.case.ranking.entries[0]
        self._record(
            None,
            "evaluated",
            f"专家评审完成（{len(sheets)}名专家评分，{self.case.ranking.aggregation}），"
            f"第一名「{top.organization_name}」，最终得分{score_text(top.final_score_x100)}",
        )
        return True

    def _panel_changed(self) -> bool:
        waiting = [s for s in self.case.seats if s.status in (SeatStatus.recused, SeatStatus.replaced) and s.successor is None]
        return bool(waiting) or not self.case.open_seats or self.case.revision > self._projected_revision

    async def _replace(self, seat: Seat) -> None:
        """AB-style: the next expert is drawn at random from the undrawn, conflict-free reserve."""
        if not self.case.reserve:
            seat.successor = 0
            self._record(None, "no_replacement", f"专家库中已无可替换的专家，{seat.expert.name}的评审席位空缺")
            return
        expert: Expert = workflow.random().choice(self.case.reserve)
        self.case.reserve.remove(expert)
        deadline = await self._deadline(self.case.policy.expert_replacement_working_days)
        successor = Seat(seat_no=len(self.case.seats) + 1, expert=expert.actor, drawn_at=workflow.now(), deadline=deadline)
        seat.successor = successor.seat_no
        self.case.seats.append(successor)
        self._record(
            None,
            "expert_replaced",
            f"随机抽取{expert.name}替换{seat.expert.name}（{seat.reason}），评分期限至{deadline.due_date.isoformat()}",
        )
        await self._notify(NotificationKind.expert_drawn, [successor.expert], due_date=deadline.due_date.isoformat())

    async def _result_notice(self, resuming: bool) -> None:
        if not resuming:
            await self._publish_result()
        assert self.case.result_notice is not None
        ends = self.case.result_notice.ends
        step = self._challenge_step()
        for challenge in self.case.challenges:
            task = self.case.task(challenge.task_id) if challenge.task_id else None
            if task is not None and challenge.status is ChallengeStatus.open:
                self._challenge_reviews.append(asyncio.create_task(self._await_task(task, step, main=False)))

        def unregistered() -> list[Challenge]:
            return [c for c in self.case.challenges if c.task_id is None]

        def all_answered() -> bool:
            return all(c.status is not ChallengeStatus.open for c in self.case.challenges)

        while True:
            for challenge in unregistered():
                await self._start_challenge_review(challenge)
            over = workflow.now() >= ends.due_at
            if over and all_answered():
                break
            await self._continue_as_new_if_long(LOTS_CONTINUE)
            await self._main_wait(
                lambda over=over: bool(unregistered()) or (over and all_answered()) or self.case.revision > self._projected_revision
                or self._history_long(),
                until=None if over else ends.due_at,
            )
        count = len(self.case.challenges)
        upheld = sum(c.status is ChallengeStatus.upheld for c in self.case.challenges)
        self._record(None, "result_notice_ended", f"公示期满，收到质疑{count}件，均已答复（成立{upheld}件）" if count else "公示期满，未收到质疑")

    async def _publish_result(self) -> None:
        ends = await self._deadline(self.case.policy.result_notice_working_days)
        self.case.result_notice = NoticePeriod(starts_at=workflow.now(), ends=ends, channel=RESULT_NOTICE_CHANNEL)
        await self._issue(DocumentKind.result_publication, notice=self.case.result_notice)
        self._record(
            None,
            "result_published",
            f"评审结果公示至{ends.due_date.isoformat()}，公示期间投标人可以提出质疑",
            LotPhase.result_notice,
        )
        bidders = {b.bidder.user_id: b.bidder for b in self.case.active_bids}
        await self._notify(NotificationKind.result_published, list(bidders.values()), due_date=ends.due_date.isoformat())

    def _challenge_step(self) -> StepPlan:
        return self._organizer_step("challenge_answer", "答复质疑", self.case.policy.challenge_answer_working_days)

    async def _start_challenge_review(self, challenge: Challenge) -> None:
        step = self._challenge_step()
        task = await self._open_task(step, step.time_limit_working_days, self.case.organizer, f"答复质疑（{challenge.challenge_id}）", None)
        challenge.task_id = task.task_id
        self._challenge_reviews.append(asyncio.create_task(self._await_task(task, step, main=False)))

    async def _award(self) -> bool:
        """成交通知书 to the best-ranked bid still standing; on a decline, expiry or disqualification, the next."""
        assert self.case.ranking is not None
        while True:
            offered = {o.bid_id for o in self.case.offers}
            standing = [e for e in self.case.ranking.standing if e.bid_id not in offered]
            if not standing:
                return False
            entry = standing[0]
            deadline = await self._deadline(self.case.policy.award_response_working_days)
            signing_due = None
            if workflow.patched(SIGNING_DEADLINE_STATED):
                period = contract_signing_period(workflow.now(), self.case.policy.contract_signing_days)
                signing_due = (await self._call("compute_deadline", period, Deadline)).due_date
            notice = await self._issue(DocumentKind.award_notice, deadline=deadline, addressee_bid=entry.bid_id, signing_due=signing_due)
            offer = Offer(
                bid_id=entry.bid_id, organization=entry.organization, organization_name=entry.organization_name,
                price_fen=entry.price_fen, offered_at=workflow.now(), deadline=deadline, document_id=notice.document_id,
            )
            self.case.offers.append(offer)
            self._record(
                None,
                "award_offered",
                f"向排名第{entry.rank}的「{entry.organization_name}」发出成交通知书，请于{deadline.due_date.isoformat()}前确认",
                LotPhase.awarding,
            )
            bid = self.case.bid(entry.bid_id)
            assert bid is not None
            await self._notify(NotificationKind.award_offered, [bid.bidder], due_date=deadline.due_date.isoformat())
            if not await self._main_wait(lambda offer=offer: offer.response is not None, until=deadline.due_at):
                offer.response, offer.responded_at = OfferResponse.expired, workflow.now()
                self._record(None, "award_expired", f"「{offer.organization_name}」未在{deadline.due_date.isoformat()}前确认成交，视为放弃")
            if offer.response is OfferResponse.accepted:
                await self._awarded(offer, bid)
                return True

    async def _awarded(self, offer: Offer, bid: Bid) -> None:
        demand = self.case.demand
        contract = ContractFacts(
            contract_no=f"{self.case.lot_no}-HT",
            lot_no=self.case.lot_no,
            fair_no=self.case.fair_no,
            title=demand.title,
            service_content=demand.service_content,
            buyer_office=demand.department_office,
            buyer=demand.department,
            supplier=offer.organization,
            supplier_name=offer.organization_name,
            amount_fen=offer.price_fen,
            duration_months=demand.duration_months,
            awarded_at=workflow.now(),
        )
        await self._call("record_contract", contract, type(None))
        self.case.contract = contract
        if workflow.patched("start-contract-process"):
            await self._start_contract(contract)
        others = [b for b in self.case.active_bids if b.organization != offer.organization]
        for other in others:
            await self._issue(DocumentKind.result_notification, addressee_bid=other.bid_id)
        self.case.result = LotResult(
            phase=LotPhase.awarded, decided_at=workflow.now(), winner=offer.organization,
            winner_name=offer.organization_name, contract_no=contract.contract_no,
        )
        self._record(
            bid.bidder,
            "awarded",
            f"项目成交：「{offer.organization_name}」，成交金额{yuan(offer.price_fen)}，合同记录 {contract.contract_no} 待签订",
            LotPhase.awarded,
        )
        await self._notify(NotificationKind.award_result, [b.bidder for b in others] + [demand.department], winner=offer.organization_name)

    async def _start_contract(self, contract: ContractFacts) -> None:
        """The awarded terms become a contract case that outlives the lot."""
        basis = ContractBasis(
            contract_no=contract.contract_no, origin="lot", lot_no=self.case.lot_no, fair_no=self.case.fair_no,
            title=contract.title, service_content=contract.service_content, buyer_office=contract.buyer_office,
            buyer=contract.buyer, buyer_jurisdiction=contract.buyer.jurisdiction or self.case.organizer.jurisdiction,
            supplier=contract.supplier, supplier_name=contract.supplier_name, amount_fen=contract.amount_fen,
            duration_months=contract.duration_months, awarded_at=contract.awarded_at,
        )
        request = ContractRequest(basis=basis, organizer=self.case.organizer, locality=self.case.locality)
        await workflow.start_child_workflow(
            ContractWorkflow.run, ContractStart(request=request), id=contract.contract_no,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )

    async def _failed(self, reason: str) -> None:
        """流标: a notice, then the organizer re-tenders with a new bid window or closes the lot."""
        await self._issue(DocumentKind.failed_lot_notice, items=[reason])
        self._record(None, "failed", f"流标：{reason}", LotPhase.failed)
        await self._notify(
            NotificationKind.lot_failed, [*{b.bidder.user_id: b.bidder for b in self.case.bids}.values(), self.case.demand.department],
            reason=reason,
        )
        step = self._organizer_step("failed_lot_decision", "流标处理（重新组织或终止）", self.case.policy.failed_lot_decision_working_days)
        task = await self._open_task(step, step.time_limit_working_days, self.case.organizer, step.staff_name, None)
        await self._await_task(task, step, main=True)
        decision = self._failed_lot_decision
        assert decision is not None
        self._failed_lot_decision = None
        if not decision.retender:
            self.case.result = LotResult(phase=LotPhase.closed, decided_at=workflow.now(), reasons=[reason, *decision.reasons])
            self._record(decision.actor, "closed", f"终止项目：{'；'.join(decision.reasons)}", LotPhase.closed)
            raise CaseClosed
        assert decision.bids_close is not None
        self.case.previous_rounds.append(self.case.round_record())
        self.case.start_round(decision.bids_close)
        self._record(
            decision.actor,
            "retendered",
            f"重新组织第{self.case.round}轮投标，投标截止{local_text(decision.bids_close)}",
            LotPhase.bidding,
        )
        if workflow.patched(RETENDER_ANNOUNCED):
            await self._announce_retender(reason)

    async def _announce_retender(self, reason: str) -> None:
        """A new bid window is announced like the first (a public notice with the new deadline), and everyone who
        bid before is told, since their earlier bids no longer count."""
        await self._issue(DocumentKind.retender_notice, items=[reason])
        earlier = {b.bidder.user_id: b.bidder for b in self.case.bids if b.round < self.case.round}
        await self._notify(
            NotificationKind.lot_retendered, list(earlier.values()), round=str(self.case.round),
            bids_close=local_text(self.case.bids_close),
        )

    # --- human actions (validated updates) and the status query --------------------------

    @workflow.query
    def status(self) -> LotState:
        return self._reported()

    @workflow.update
    async def submit_bid(self, submission: BidSubmission) -> ActionReceipt:
        bid_id = self._new_bid_id()
        bid = Bid(
            **submission.bid.model_dump(), bid_id=bid_id, organization_name=submission.organization_name,
            bidder=submission.actor, submitted_at=workflow.now(), round=self.case.round,
        )
        self.case.bids.append(bid)
        self._record(submission.actor, "bid_submitted", f"「{bid.organization_name}」提交投标 {bid_id}")
        return await self._receipt(f"投标已提交，编号 {bid_id}；截止前可以修改或撤回")

    def _new_bid_id(self) -> str:
        """A bid's number says nothing about how many bids the lot has: drawn from the workflow's seeded
        randomness (so a replay draws the same), unique within the lot."""
        if not workflow.patched(OPAQUE_BID_IDS):
            return f"B{len(self.case.bids) + 1:02d}"
        taken = {b.bid_id for b in self.case.bids}
        while (bid_id := f"B-{workflow.uuid4().hex[:8].upper()}") in taken:
            pass
        return bid_id

    @submit_bid.validator
    def _validate_submit_bid(self, submission: BidSubmission) -> None:
        refuse_if(permissions.refuse_bid(self.case, submission, workflow.now()))

    @workflow.update
    async def amend_bid(self, amendment: BidAmendment) -> ActionReceipt:
        bid = self.case.bid(amendment.bid_id)
        assert bid is not None
        for field, value in amendment.bid.model_dump().items():
            setattr(bid, field, value)
        bid.amended_at = workflow.now()
        if workflow.patched(AMENDMENTS_COUNTED):
            bid.amendments += 1
        self._record(amendment.actor, "bid_amended", f"「{bid.organization_name}」修改投标 {bid.bid_id}")
        return await self._receipt(f"投标 {bid.bid_id} 已修改")

    @amend_bid.validator
    def _validate_amend_bid(self, amendment: BidAmendment) -> None:
        refuse_if(permissions.refuse_bid_amendment(self.case, amendment, workflow.now()))

    @workflow.update
    async def withdraw_bid(self, withdrawal: BidWithdrawal) -> ActionReceipt:
        bid = self.case.bid(withdrawal.bid_id)
        assert bid is not None
        bid.withdrawn_at = workflow.now()
        self._record(withdrawal.actor, "bid_withdrawn", f"「{bid.organization_name}」撤回投标 {bid.bid_id}")
        return await self._receipt(f"投标 {bid.bid_id} 已撤回")

    @withdraw_bid.validator
    def _validate_withdraw_bid(self, withdrawal: BidWithdrawal) -> None:
        refuse_if(permissions.refuse_bid_withdrawal(self.case, withdrawal, workflow.now()))

    @workflow.update
    async def record_negotiation(self, entry: NegotiationEntry) -> ActionReceipt:
        negotiation = Negotiation(
            negotiation_id=f"QT{len(self.case.negotiations) + 1:02d}",
            organization=entry.negotiation.organization,
            organization_name=entry.organization_name,
            held_on=local_date(workflow.now()),
            summary=entry.negotiation.summary,
            participants=entry.negotiation.participants,
            recorded_by=entry.actor,
            recorded_at=workflow.now(),
        )
        self.case.negotiations.append(negotiation)
        self._record(entry.actor, "negotiation_recorded", f"记录与「{entry.organization_name}」的洽谈（{negotiation.negotiation_id}）")
        return await self._receipt(f"洽谈记录 {negotiation.negotiation_id} 已保存")

    @record_negotiation.validator
    def _validate_record_negotiation(self, entry: NegotiationEntry) -> None:
        refuse_if(permissions.refuse_negotiation(self.case, entry))

    @workflow.update
    async def score(self, submission: ScoreSubmission) -> ActionReceipt:
        seat = self.case.seat_of(submission.actor.user_id)
        assert seat is not None
        seat.sheet = ScoreSheet(**submission.sheet.model_dump(), expert=submission.actor, submitted_at=workflow.now())
        seat.status, seat.ended_at = SeatStatus.scored, workflow.now()
        self._record(submission.actor, "scored", f"评审专家{submission.actor.name}提交评分")
        return await self._receipt("评分已提交")

    @score.validator
    def _validate_score(self, submission: ScoreSubmission) -> None:
        refuse_if(permissions.refuse_score(self.case, submission))

    @workflow.update
    async def declare_conflict(self, declaration: ConflictDeclaration) -> ActionReceipt:
        seat = self.case.seat_of(declaration.actor.user_id)
        assert seat is not None
        seat.status, seat.ended_at, seat.reason = SeatStatus.recused, workflow.now(), f"申请回避：{declaration.reason}"
        self._record(declaration.actor, "expert_recused", f"评审专家{declaration.actor.name}申请回避：{declaration.reason}")
        return await self._receipt("已回避，将随机抽取其他专家替换")

    @declare_conflict.validator
    def _validate_declare_conflict(self, declaration: ConflictDeclaration) -> None:
        refuse_if(permissions.refuse_conflict_declaration(self.case, declaration))

    @workflow.update
    async def file_challenge(self, filing: ChallengeFiling) -> ActionReceipt:
        challenge_id = f"ZY{len(self.case.challenges) + 1:02d}"
        self.case.challenges.append(
            Challenge(
                challenge_id=challenge_id, bidder=filing.actor, organization=filing.organization,
                organization_name=filing.organization_name, content=filing.content.strip(), filed_at=workflow.now(),
            )
        )
        self._record(filing.actor, "challenge_filed", f"「{filing.organization_name}」提出质疑 {challenge_id}")
        return await self._receipt(f"质疑已登记，编号 {challenge_id}；组织单位将在{self.case.policy.challenge_answer_working_days}个工作日内答复")

    @file_challenge.validator
    def _validate_file_challenge(self, filing: ChallengeFiling) -> None:
        refuse_if(permissions.refuse_challenge(self.case, filing, workflow.now()))

    @workflow.update
    async def answer_challenge(self, answer: ChallengeAnswer) -> ActionReceipt:
        challenge = self.case.challenge(answer.challenge_id)
        assert challenge is not None and challenge.task_id is not None and self.case.ranking is not None
        task = self.case.task(challenge.task_id)
        assert task is not None
        challenge.status = ChallengeStatus.upheld if answer.upheld else ChallengeStatus.dismissed
        challenge.answer = self._complete_task(
            task, Outcome.uphold if answer.upheld else Outcome.dismiss, answer.reasons, None, answer.actor,
            label=challenge.status.label,
        )
        if answer.disqualify_bid:
            challenge.disqualified_bid = answer.disqualify_bid
            self._disqualify(answer.disqualify_bid, [f"质疑 {challenge.challenge_id} 成立：{'；'.join(answer.reasons)}"], answer.actor)
        await self._notify(NotificationKind.challenge_answered, [challenge.bidder], outcome=challenge.status.label)
        return await self._receipt(f"质疑 {challenge.challenge_id} 已答复：{challenge.status.label}")

    @answer_challenge.validator
    def _validate_answer_challenge(self, answer: ChallengeAnswer) -> None:
        refuse_if(permissions.refuse_challenge_answer(self.case, answer))

    @workflow.update
    async def respond_to_award(self, response: AwardResponse) -> ActionReceipt:
        offer = self.case.open_offer
        assert offer is not None
        offer.response = OfferResponse.accepted if response.accept else OfferResponse.declined
        offer.responded_at, offer.reasons = workflow.now(), response.reasons
        reasons = f"：{'；'.join(response.reasons)}" if response.reasons else ""
        self._record(response.actor, f"award_{offer.response.value}", f"「{offer.organization_name}」{offer.response.label}{reasons}")
        return await self._receipt(offer.response.label)

    @respond_to_award.validator
    def _validate_respond_to_award(self, response: AwardResponse) -> None:
        refuse_if(permissions.refuse_award_response(self.case, response))

    @workflow.update
    async def disqualify(self, disqualification: Disqualification) -> ActionReceipt:
        self._disqualify(disqualification.bid_id, disqualification.reasons, disqualification.actor)
        return await self._receipt(f"已取消投标 {disqualification.bid_id} 的成交资格")

    @disqualify.validator
    def _validate_disqualify(self, disqualification: Disqualification) -> None:
        refuse_if(permissions.refuse_disqualification(self.case, disqualification))

    @workflow.update
    async def decide_failed_lot(self, decision: FailedLotDecision) -> ActionReceipt:
        task = next(t for t in self.case.open_tasks if t.step == "failed_lot_decision")
        self._failed_lot_decision = decision
        self._complete_task(
            task, Outcome.approve if decision.retender else Outcome.refuse, decision.reasons, None, decision.actor,
            label="重新组织投标" if decision.retender else "终止项目",
        )
        return await self._receipt("已重新组织投标" if decision.retender else "项目已终止")

    @decide_failed_lot.validator
    def _validate_decide_failed_lot(self, decision: FailedLotDecision) -> None:
        refuse_if(permissions.refuse_failed_lot_decision(self.case, decision, workflow.now()))

    def _disqualify(self, bid_id: str, reasons: list[str], actor: Actor) -> None:
        assert self.case.ranking is not None
        entry = next(e for e in self.case.ranking.entries if e.bid_id == bid_id)
        entry.disqualified = "；".join(reasons)
        offer = self.case.open_offer
        if offer and offer.bid_id == bid_id:
            offer.response, offer.responded_at, offer.reasons = OfferResponse.disqualified, workflow.now(), reasons
        self._record(actor, "disqualified", f"取消「{entry.organization_name}」（投标 {bid_id}）的成交资格：{entry.disqualified}")

    # --- how this process names itself --------------------------------------------------------

    def _history_events_limit(self) -> int:
        return self.case.policy.history_events_limit

    def _carried_over(self) -> LotRequest:
        case = self.case
        return LotRequest(
            lot_no=case.lot_no, fair_no=case.fair_no, fair_title=case.fair_title, demand=case.demand, fair_day=case.fair_day,
            bids_close=case.bids_close, policy=case.policy, policy_ref=case.policy_ref, organizer=case.organizer,
            locality=case.locality, carried_over=case, reports_to_fair=self._reports_to_fair,
        )

    @property
    def case_key(self) -> str:
        return self.case.lot_no

    def _enter(self, phase: str, step: StepPlan | None) -> None:
        self.case.phase = LotPhase(phase)

    def _phase_names(self) -> tuple[str, str]:
        return self.case.phase_names

    def _notification_context(self) -> dict[str, str]:
        return {
            "case_no": self.case.lot_no,
            "subject": self.case.demand.title,
            "lot_title": self.case.demand.title,
            "fair_title": self.case.fair_title,
        }

    def _organizer_step(self, step_id: str, name: str, working_days: int) -> StepPlan:
        return StepPlan(
            id=step_id, applicant_name=name, staff_name=name, role=Role.civil_affairs,
            level=self.case.locality.chain[0].level,
            time_limit_working_days=working_days, reminder_working_days_before=1, backup_time_limit_working_days=2,
        )

    async def _issue(self, kind: DocumentKind, **facts: object) -> DocumentRef:
        number = len(self.case.documents) + 1
        request = DocumentRequest(
            document_id=f"{self.case.lot_no}-D{number:02d}",
            kind=kind,
            title=kind.default_title,
            number=f"{self.case.lot_no}-{number:02d}",
            issued_at=workflow.now(),
            issuer=self.case.organizer,
            lot=self.case,
            **facts,
        )
        return await self._render(request)
