"""The operations on purchase-of-service contracts, shared by the HTTP API and the CLI: the buyer,
the supplier (through the representative the register names), finance, the evaluator and the
organizer; and the public disclosure of contract and payment facts (定期公开)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from rules.contract_permissions import (
    is_buyer,
    party_of,
    proposed_plan_problems,
    refuse_delivery,
    refuse_disbursement,
    voucher_taken,
)
from rules.eligibility import organization_checks
from rules.permissions import refuse_task_actor
from schemas.case import ActionReceipt
from schemas.contracts import (
    CONTRACT_PHASE_NAMES,
    LISTED_ORGANIZATIONS,
    MEASURE_LABELS,
    AmendmentAnswer,
    AmendmentApproval,
    AmendmentInput,
    AmendmentProposal,
    ContractBasis,
    ContractPlan,
    ContractRequest,
    ContractStart,
    ContractState,
    DeliveryContent,
    DeliveryInput,
    DeliveryReview,
    DeliverySubmission,
    DisbursementRecord,
    EvaluationInput,
    EvaluationSubmission,
    IncubationProgress,
    Milestone,
    MilestoneStatus,
    PlanProposal,
    RectificationReport,
    SigningAct,
    SingleSourceApproval,
    SuspensionAct,
    TerminationAct,
)
from schemas.localtime import local_date, local_text
from schemas.people import Actor, Level, Role
from schemas.procurement import Eligibility
from service import views
from service.common import (
    Service,
    ServiceError,
    check_attachments,
    document_view,
    holder_view,
    paged,
    timeline_view,
)
from store import bases, directory, register
from store.files import content_path
from store.models import AttachmentRecord, ContractRecord, LedgerRecord
from workflows.contract import ContractWorkflow

LEDGER_STATUS = {"instructed": "已下达支付指令", "paid": "已拨付", "withheld": "不再拨付"}
CONTRACT_STATUS = {"awaiting_contract_process": "已成交，合同即将起草", **{p.value: n[0] for p, n in CONTRACT_PHASE_NAMES.items()}}


class Audience:
    organizer = "organizer"
    buyer = "buyer"
    supplier = "supplier"
    finance = "finance"
    evaluator = "evaluator"
    public = "public"


class ContractService(Service):
    """Contracts: from drafting to completion or termination."""

    # --- who acts -----------------------------------------------------------------------------------

    def party(self, actor: Actor, state: ContractState) -> Actor:
        """The caller as they act on this contract: the supplier's representative acts as the supplier."""
        record = register.organization(self.engine, state.basis.supplier)
        if record is not None and record.representative_id == actor.user_id and actor.role not in (Role.department, Role.civil_affairs):
            return Actor(
                user_id=actor.user_id, name=record.representative_name or actor.name, role=Role.supplier,
                organization=record.case_no,
            )
        return actor

    def audience(self, actor: Actor | None, state: ContractState) -> str:
        if actor is None:
            return Audience.public
        acting = self.party(actor, state)
        side = party_of(state, acting)
        if side:
            return side
        in_jurisdiction = state.locality.contains(actor.jurisdiction)
        roles = {Role.civil_affairs: Audience.organizer, Role.finance: Audience.finance, Role.evaluator: Audience.evaluator}
        return roles.get(actor.role, Audience.public) if in_jurisdiction else Audience.public

    # --- starting a single-source contract ----------------------------------------------------------

    async def single_source(self, actor: Actor, request: views.SingleSourceInput) -> views.ContractView:
        if actor.role is not Role.department or not actor.office:
            raise ServiceError("forbidden", "单一来源采购由购买服务的政府部门申请")
        supplier = register.organization(self.engine, request.supplier)
        facts = register.facts(self.engine, request.supplier)
        if supplier is None or facts is None:
            raise ServiceError("not_found", f"社会组织 {request.supplier} 不在社会组织名录中")
        today = local_date(datetime.now(UTC))
        failed = [c.detail for c in organization_checks(facts, Eligibility(), today.year, today) if not c.met]
        if failed:
            raise ServiceError("invalid", f"「{supplier.name}」不能承接单一来源采购：{'；'.join(failed)}")
        locality = directory.locality(self.engine, actor.jurisdiction or "")
        if locality is None:
            raise ServiceError("invalid", f"辖区 {actor.jurisdiction} 不在名录中")
        district = locality.at_level(Level.district)
        organizer_place = directory.locality(self.engine, district.code)
        assert organizer_place is not None
        now = datetime.now(UTC)
        series = f"{district.code}-DY-{local_date(now).year}"
        organizer = organizer_place.office(Role.civil_affairs, Level.district)

        def start(number: str) -> ContractStart:
            basis = ContractBasis(
                contract_no=number, origin="single_source", title=request.title, service_content=request.service_content,
                buyer_office=actor.office, buyer=actor, buyer_jurisdiction=actor.jurisdiction or district.code,
                supplier=supplier.case_no, supplier_name=supplier.name, amount_fen=request.amount_fen,
                duration_months=request.duration_months, awarded_at=now, single_source_reasons=request.reasons,
            )
            return ContractStart(request=ContractRequest(basis=basis, organizer=organizer, locality=organizer_place))

        contract_no = await self._start_numbered(series, None, "单一来源采购申请", ContractWorkflow.run, start)
        await self._readable_after_start(contract_no, ContractWorkflow.status, "单一来源采购申请")
        return self.contract(actor, contract_no)

    # --- actions --------------------------------------------------------------------------------

    def _stored(self, contract_no: str) -> ContractState | None:
        with Session(self.engine) as session:
            record = session.get(ContractRecord, contract_no)
        return ContractState.model_validate(record.state) if record is not None and record.state is not None else None

    def _state(self, contract_no: str) -> ContractState:
        state = self._stored(contract_no)
        if state is None:
            raise contract_not_found(contract_no)
        return state

    def _may_see(self, actor: Actor | None, state: ContractState | None) -> bool:
        return state is not None and self.audience(actor, state) != Audience.public

    def _visible_state(self, actor: Actor | None, contract_no: str) -> ContractState:
        """The contract, if the caller is one of those who may see it; to anyone else it is answered
        exactly like a contract that does not exist (its public facts are in the disclosure)."""
        state = self._stored(contract_no)
        if state is None or not self._may_see(actor, state):
            raise contract_not_found(contract_no)
        return state

    async def _act(
        self, actor: Actor, contract_no: str, update: Any, argument: Any, when_closed: Any = None
    ) -> ActionReceipt:
        """An update, sent only once the caller is known to see the contract, so the workflow's
        refusals (which name its phase and parties) reach only those who may read them."""
        self._visible_state(actor, contract_no)
        return await self._update(contract_no, update, argument, when_closed or (lambda: self._closed(contract_no)))

    def _closed(self, contract_no: str) -> str | None:
        with Session(self.engine) as session:
            record = session.get(ContractRecord, contract_no)
        if record is None:
            return None
        return f"合同 {contract_no} 已办结（{CONTRACT_STATUS.get(record.status, record.status)}），不能再办理"

    def _acting(self, actor: Actor, contract_no: str) -> Actor:
        return self.party(actor, self._state(contract_no))

    async def approve_single_source(self, actor: Actor, contract_no: str, approval: views.ApprovalInput) -> ActionReceipt:
        payload = SingleSourceApproval(actor=actor, **approval.model_dump())
        return await self._act(actor, contract_no, ContractWorkflow.approve_single_source, payload)

    async def propose_plan(self, actor: Actor, contract_no: str, plan: ContractPlan) -> ActionReceipt:
        state = self._visible_state(actor, contract_no)
        if is_buyer(state, actor) and (problems := self._deliverable_problems(state, plan)):
            raise ServiceError("invalid", "履约计划的孵化成果指标需要修改：" + "；".join(problems), problems)
        return await self._act(actor, contract_no, ContractWorkflow.propose_plan, PlanProposal(actor=self._acting(actor, contract_no), plan=plan))

    def _deliverable_problems(self, state: ContractState, plan: ContractPlan) -> list[str]:
        """A milestone may count only the bases the supplier operates: the hub is paid for its own bases' work."""
        problems = []
        for n, milestone in enumerate(plan.milestones, start=1):
            for code in milestone.deliverable.bases if milestone.deliverable else []:
                found = bases.base(self.engine, code)
                if found is None:
                    problems.append(f"节点{n}：孵化基地 {code} 不存在，请填写基地代码（如 YJ-FH）")
                elif found.operator != state.basis.supplier:
                    problems.append(f"节点{n}：{found.name}（{code}）不由承接方「{state.basis.supplier_name}」运营，不能计入本合同")
        return problems

    def incubation_progress(self, state: ContractState, milestone: Milestone) -> IncubationProgress | None:
        """How far a milestone's incubation target is, counted now in the read model over the contract term."""
        target = milestone.deliverable
        if target is None or state.plan is None:
            return None
        reached = register.incubation_outcomes(self.engine, target.measure, target.bases, state.plan.start_date, state.plan.end_date)
        return IncubationProgress(
            measure=target.measure, target=target.count, reached=len(reached), organizations=reached[:LISTED_ORGANIZATIONS],
            counted_at=self.now(),
        )

    def check_plan(self, actor: Actor, contract_no: str, plan: ContractPlan) -> views.PlanCheckView:
        """What the workflow would refuse the buyer's plan for, without proposing it: the plan editor shows
        the problems while the plan is filled in. Nothing is sent to the workflow."""
        state = self._visible_state(actor, contract_no)
        if not is_buyer(state, actor):
            raise ServiceError("forbidden", f"履约计划由购买方{state.basis.buyer_office}起草")
        return views.PlanCheckView(
            problems=proposed_plan_problems(state, plan, local_date(self.now())) + self._deliverable_problems(state, plan)
        )

    async def sign(self, actor: Actor, contract_no: str, signing: views.SigningInput) -> ActionReceipt:
        payload = SigningAct(actor=self._acting(actor, contract_no), party=signing.party)
        return await self._act(actor, contract_no, ContractWorkflow.sign, payload)

    async def submit_delivery(self, actor: Actor, contract_no: str, milestone_id: str, report: DeliveryInput) -> ActionReceipt:
        """For an incubation milestone the current figures and organizations go with the report, so the buyer
        accepts on facts; short of the target the report is refused, saying how many more are needed."""
        state = self._visible_state(actor, contract_no)
        milestone = state.milestone(milestone_id)
        progress = self.incubation_progress(state, milestone) if milestone else None
        content = DeliveryContent(**report.model_dump(), progress=progress)
        payload = DeliverySubmission(actor=self.party(actor, state), milestone_id=milestone_id, report=content)
        if progress and progress.reached < progress.target and refuse_delivery(state, payload) is None:
            label = MEASURE_LABELS[progress.measure]
            raise ServiceError(
                "conflict",
                f"节点{milestone_id}要求{label}{progress.target}家，合同期内目前{label}{progress.reached}家，"
                f"还差{progress.target - progress.reached}家，达到后再提交履约报告",
            )
        check_attachments(self.engine, actor, {digest: "履约报告" for digest in report.attachments})
        return await self._act(actor, contract_no, ContractWorkflow.submit_delivery, payload)

    async def review_delivery(
        self, actor: Actor, contract_no: str, milestone_id: str, review: views.DeliveryReviewInput
    ) -> ActionReceipt:
        payload = DeliveryReview(actor=actor, milestone_id=milestone_id, **review.model_dump())
        return await self._act(actor, contract_no, ContractWorkflow.review_delivery, payload)

    async def record_disbursement(self, actor: Actor, contract_no: str, disbursement: views.DisbursementInput) -> ActionReceipt:
        """The voucher is claimed on the ledger entry before the workflow is asked, so the database's
        unique voucher decides between two recordings that race; a recording the workflow refuses gives
        its claim back, leaving no trace."""
        payload = DisbursementRecord(actor=actor, **disbursement.model_dump())
        self._visible_state(actor, contract_no)
        claimed = self._claim_voucher(actor, contract_no, payload)

        def when_closed() -> str | None:
            """A closed contract still says why a payment cannot be recorded (already paid, withheld)."""
            refusal = refuse_disbursement(self._state(contract_no), payload)
            return refusal.message if refusal else self._closed(contract_no)

        try:
            return await self._act(actor, contract_no, ContractWorkflow.record_disbursement, payload, when_closed)
        except BaseException:
            if claimed:
                self._release_voucher(contract_no, payload)
            raise

    def _claim_voucher(self, actor: Actor, contract_no: str, record: DisbursementRecord) -> bool:
        """Write the voucher on the instructed, unpaid entry; True when this recording did, so only it gives
        the claim back. False when the entry already has this voucher (a recording repeated while the first
        is being paid) or there is no such entry: the workflow then answers."""
        claim = (
            update(LedgerRecord)
            .where(
                col(LedgerRecord.contract_no) == contract_no, col(LedgerRecord.entry) == record.tranche_id,
                col(LedgerRecord.status) == "instructed", col(LedgerRecord.voucher).is_(None),
            )
            .values(voucher=record.voucher, voucher_recorded_at=datetime.now(UTC))
        )
        try:
            with Session(self.engine) as session:
                claimed = session.exec(claim).rowcount == 1  # type: ignore[call-overload]
                session.commit()
        except IntegrityError:
            raise self._voucher_in_ledger(actor, contract_no, record) from None
        if claimed:
            return True
        with Session(self.engine) as session:
            entry = session.get(LedgerRecord, (contract_no, record.tranche_id))
        if entry is not None and entry.status == "instructed" and entry.voucher not in (None, record.voucher):
            raise ServiceError(
                "conflict",
                f"{record.tranche_id} 的拨付已于{local_text(entry.voucher_recorded_at)}按凭证号 {entry.voucher} 登记，"
                "正在记入专帐，请勿重复登记",
            )
        return False

    def _release_voucher(self, contract_no: str, record: DisbursementRecord) -> None:
        with Session(self.engine) as session:
            session.exec(
                update(LedgerRecord)  # type: ignore[call-overload]
                .where(
                    col(LedgerRecord.contract_no) == contract_no, col(LedgerRecord.entry) == record.tranche_id,
                    col(LedgerRecord.status) == "instructed", col(LedgerRecord.voucher) == record.voucher,
                )
                .values(voucher=None, voucher_recorded_at=None)
            )
            session.commit()

    def _voucher_in_ledger(self, actor: Actor, contract_no: str, record: DisbursementRecord) -> ServiceError:
        """The voucher number is on another ledger entry: the refusal names that entry and when it was
        recorded; another contract is named only to those who may see it."""
        with Session(self.engine) as session:
            holder = session.exec(select(LedgerRecord).where(LedgerRecord.voucher == record.voucher)).first()
        if holder is None:  # the other recording gave its claim back meanwhile
            return ServiceError("conflict", f"凭证号 {record.voucher} 正被另一笔拨付登记，请稍后重试")
        own = holder.contract_no == contract_no
        visible = own or self._may_see(actor, self._stored(holder.contract_no))
        recorded = holder.paid_at or holder.voucher_recorded_at
        refusal = voucher_taken(
            record.voucher, holder.entry if visible else None, recorded, None if own else holder.contract_no, paid=holder.paid_at is not None,
            amount_fen=holder.amount_fen,
        )
        return ServiceError(refusal.kind.value, refusal.message)

    async def submit_evaluation(self, actor: Actor, contract_no: str, evaluation: EvaluationInput) -> ActionReceipt:
        return await self._act(actor, contract_no, ContractWorkflow.submit_evaluation, EvaluationSubmission(actor=actor, evaluation=evaluation))

    async def submit_rectification(self, actor: Actor, contract_no: str, report: DeliveryInput) -> ActionReceipt:
        payload = RectificationReport(actor=self._acting(actor, contract_no), report=report)
        check_attachments(self.engine, actor, {digest: "整改报告" for digest in report.attachments})
        return await self._act(actor, contract_no, ContractWorkflow.submit_rectification, payload)

    async def propose_amendment(self, actor: Actor, contract_no: str, amendment: AmendmentInput) -> ActionReceipt:
        state = self._visible_state(actor, contract_no)
        if party_of(state, self.party(actor, state)) and (problems := self._deliverable_problems(state, amendment.plan)):
            raise ServiceError("invalid", "变更后履约计划的孵化成果指标需要修改：" + "；".join(problems), problems)
        payload = AmendmentProposal(actor=self._acting(actor, contract_no), amendment=amendment)
        return await self._act(actor, contract_no, ContractWorkflow.propose_amendment, payload)

    async def answer_amendment(
        self, actor: Actor, contract_no: str, amendment_no: int, answer: views.AmendmentAnswerInput
    ) -> ActionReceipt:
        payload = AmendmentAnswer(actor=self._acting(actor, contract_no), amendment_no=amendment_no, **answer.model_dump())
        return await self._act(actor, contract_no, ContractWorkflow.answer_amendment, payload)

    async def approve_amendment(
        self, actor: Actor, contract_no: str, amendment_no: int, approval: views.ApprovalInput
    ) -> ActionReceipt:
        """The organizer's post decides on an amendment that raises the amount beyond the award."""
        payload = AmendmentApproval(actor=actor, amendment_no=amendment_no, **approval.model_dump())
        return await self._act(actor, contract_no, ContractWorkflow.approve_amendment, payload)

    async def suspend(self, actor: Actor, contract_no: str, suspension: views.SuspensionInput) -> ActionReceipt:
        return await self._act(actor, contract_no, ContractWorkflow.suspend, SuspensionAct(actor=actor, **suspension.model_dump()))

    async def terminate(self, actor: Actor, contract_no: str, termination: views.TerminationInput) -> ActionReceipt:
        return await self._act(actor, contract_no, ContractWorkflow.terminate, TerminationAct(actor=actor, reasons=termination.reasons))

    # --- reading ----------------------------------------------------------------------------------

    def _ledger(self, contract_no: str) -> list[views.LedgerEntryView]:
        with Session(self.engine) as session:
            rows = session.exec(select(LedgerRecord).where(LedgerRecord.contract_no == contract_no).order_by(func.coalesce(LedgerRecord.instructed_at, LedgerRecord.withheld_at), col(LedgerRecord.entry))).all()
        return [
            views.LedgerEntryView(
                entry=r.entry, kind=r.kind, amount_fen=r.amount_fen, status=r.status, status_name=LEDGER_STATUS[r.status],
                instructed_at=r.instructed_at, withheld_at=r.withheld_at, paid_at=r.paid_at, voucher=r.voucher,
                document_id=r.document_id or None,
            )
            for r in rows
        ]

    def contract(self, actor: Actor | None, contract_no: str) -> views.ContractView:
        state = self._visible_state(actor, contract_no)
        audience = self.audience(actor, state)
        staff = audience != Audience.supplier
        basis = state.basis
        return views.ContractView(
            audience=audience, contract_no=state.contract_no, title=basis.title, service_content=basis.service_content,
            origin="社洽会成交" if basis.origin == "lot" else "单一来源采购", lot_no=basis.lot_no,
            buyer_office=basis.buyer_office, supplier=basis.supplier, supplier_name=basis.supplier_name,
            amount_fen=state.amount_fen, duration_months=basis.duration_months, phase=state.phase.value,
            phase_name=state.phase_names[1] if staff else state.phase_names[0], version=state.version, plan=state.plan,
            milestones=state.milestones, tranches=state.tranches, reward=state.reward, signatures=state.signatures,
            evaluations=state.evaluations, rectification=state.rectification, amendments=state.amendments,
            holders=[holder_view(t) for t in state.open_tasks], ledger=self._ledger(contract_no),
            timeline=[timeline_view(e) for e in state.timeline],
            documents=[document_view(d) for d in state.documents], result=state.result,
            your_tasks=[t.task_id for t in state.open_tasks if refuse_task_actor(t, self.party(actor, state)) is None],
            single_source_reasons=basis.single_source_reasons,
            rubric=state.policy.evaluation_dimensions if state.policy else [],
            satisfaction_weight=state.policy.satisfaction_weight if state.policy else 0,
            progress={
                m.milestone_id: progress
                for m in state.milestones
                if m.status is not MilestoneStatus.accepted and (progress := self.incubation_progress(state, m))
            },
        )

    def contracts(self, actor: Actor, limit: int = views.PAGE_LIMIT, offset: int = 0) -> views.Page[views.ContractRecordView]:
        """Organizers, finance and evaluators see their jurisdiction's contracts, a department its own,
        an organization those it supplies; newest award first."""
        represented = [r.case_no for r in register.represented_by(self.engine, actor.user_id)]
        mine = or_(col(ContractRecord.buyer_id) == actor.user_id, col(ContractRecord.supplier).in_(represented))
        place = directory.locality(self.engine, actor.jurisdiction or "") if actor.jurisdiction else None
        with Session(self.engine) as session:
            if actor.role in (Role.civil_affairs, Role.finance, Role.evaluator) and place is not None:
                # contract_records has no jurisdiction column: the overseer's contracts are picked from
                # the projected localities, then paged by the database like every other list.
                overseen = [
                    contract_no
                    for contract_no, state in session.exec(select(ContractRecord.contract_no, ContractRecord.state))
                    if state is None or ContractState.model_validate(state).locality.contains(actor.jurisdiction)
                ]
                mine = or_(mine, col(ContractRecord.contract_no).in_(overseen))
            query = select(ContractRecord).where(mine).order_by(
                col(ContractRecord.awarded_at).desc(), col(ContractRecord.contract_no)
            )
            records, total = paged(session, query, limit, offset)
        items = [
            views.ContractRecordView(
                **record.model_dump(include=set(views.ContractRecordView.model_fields) - {"status_name"}),
                status_name=CONTRACT_STATUS.get(record.status, record.status),
            )
            for record in records
        ]
        return views.Page[views.ContractRecordView](items=items, total=total, limit=limit, offset=offset)

    def disclosure(self, limit: int = views.PAGE_LIMIT, offset: int = 0) -> views.Page[views.DisclosureView]:
        """定期公开: every contract's parties, amount, term, status, payments and grades, for anyone."""
        query = select(ContractRecord).order_by(col(ContractRecord.awarded_at).desc(), col(ContractRecord.contract_no))
        with Session(self.engine) as session:
            records, total = paged(session, query, limit, offset)
        disclosed = []
        for record in records:
            state = ContractState.model_validate(record.state) if record.state else None
            disclosed.append(
                views.DisclosureView(
                    contract_no=record.contract_no, title=record.title, buyer_office=record.buyer_office,
                    supplier_name=record.supplier_name, amount_fen=record.amount_fen, start_date=record.start_date,
                    end_date=record.end_date, status=record.status,
                    status_name=CONTRACT_STATUS.get(record.status, record.status), paid_fen=record.paid_fen,
                    payments=[e for e in self._ledger(record.contract_no) if e.status == "paid"],
                    grades=[f"{e.kind.label}：{e.grade}（{e.grade_label}）" for e in state.evaluations] if state else [],
                    origin="单一来源采购" if state and state.basis.origin == "single_source" else "社洽会成交",
                )
            )
        return views.Page[views.DisclosureView](items=disclosed, total=total, limit=limit, offset=offset)

    def report_file(self, actor: Actor, contract_no: str, sha256: str) -> tuple[Path, AttachmentRecord]:
        """A file the supplier attached to a delivery or 整改 report, for those who may see the contract (the
        buyer reads it before accepting); any other file is answered as not found, confirming nothing."""
        state = self._visible_state(actor, contract_no)
        reports = [r for m in state.milestones for r in m.reports]
        reports += [state.rectification.report] if state.rectification and state.rectification.report else []
        uploader = next((r.submitted_by.user_id for r in reports if sha256 in r.attachments), None)
        record = None
        if uploader is not None:
            with Session(self.engine) as session:
                record = session.get(AttachmentRecord, (sha256, uploader))
        path = content_path(self.settings.attachments_dir, sha256, "bin")
        if record is None or not path.exists():
            raise ServiceError("not_found", f"合同 {contract_no} 的报告中没有这份附件，请从合同页面的履约报告中打开")
        return path, record

    def may_read_document(self, actor: Actor | None, contract_no: str) -> bool:
        """Contract documents follow who may see the contract."""
        return self._may_see(actor, self._stored(contract_no))


def contract_not_found(contract_no: str) -> ServiceError:
    """The one answer for a contract that does not exist, has not started, or that the caller may not see."""
    return ServiceError(
        "not_found",
        f"合同 {contract_no} 不存在、尚未开始办理或您无权查看；定期公开的信息请查看「合同公开」（网页 /disclosure/contracts，接口 /api/disclosure/contracts）",
    )
