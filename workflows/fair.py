"""社会组织成果展示暨社洽会: one fair organized by a civil-affairs bureau.

Departments submit service-purchase demands until the collection deadline; the organizer reviews
each and publishes the catalogue (需求公告); every approved demand becomes a lot (a child
workflow) that is tendered and awarded on its own. Organizations add their public-interest
projects to the showcase (展示公益服务项目) until the fair ends, when every lot has.

Like a filing, a lot or a contract, a fair continues as new when its history grows long (collecting,
reviewing, or waiting for its lots), carrying its whole state. Its lots are started with
``ParentClosePolicy.ABANDON``, so a fair's run that continues as new leaves them running, and each lot
signals its fair when it ends (to the workflow id, hence the current run) instead of being awaited as a
child, whose result a new run could not await. Fairs published before this (patch
``lots-report-to-fair``) still await their lots as children, and never continue as new after publication.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

from workflows.base import ProcessWorkflow, refuse_if
from workflows.lot import LotWorkflow

with workflow.unsafe.imports_passed_through():
    from rules import procurement_permissions as permissions
    from schemas.case import ActionReceipt, Outcome, TaskDecision
    from schemas.checklist import StepPlan
    from schemas.document_request import DocumentRequest
    from schemas.documents import DocumentKind
    from schemas.localtime import local_date, local_text
    from schemas.money import yuan
    from schemas.notifications import NotificationKind
    from schemas.procurement import (
        CataloguePublication,
        Demand,
        DemandReview,
        DemandStatus,
        DemandSubmission,
        FairPhase,
        FairRequest,
        FairState,
        LotEnded,
        LotRequest,
        LotResult,
        LotSummary,
        PolicyLookup,
        ProcurementRules,
        ShowcaseProject,
        ShowcaseSubmission,
    )

FAIRS_CONTINUE = "fairs-continue-as-new"
"""Patch: runs recorded before it never continued as new, so replaying them must not either."""

LOTS_REPORT_TO_FAIR = "lots-report-to-fair"
"""Patch: fairs published before it started their lots to be awaited as children (closing with the fair)."""


@workflow.defn
class FairWorkflow(ProcessWorkflow):
    PROJECTION = "project_fair"

    @workflow.init
    def __init__(self, request: FairRequest) -> None:
        self.case = request.carried_over or FairState(
            fair_no=request.fair_no,
            title=request.title,
            organizer=request.organizer,
            locality=request.locality,
            schedule=request.schedule,
            created_by=request.created_by,
            created_at=workflow.now(),
        )
        self._publication: CataloguePublication | None = request.publication

    @workflow.run
    async def run(self, request: FairRequest) -> FairState:
        """Each phase is skipped once passed, so a run carried over resumes where the last one stopped."""
        schedule = self.case.schedule
        if request.carried_over is not None:
            self.case.runs += 1
            self._record(None, "continued", f"社洽会办理记录较长，转入第{self.case.runs}段继续办理，需求、展示项目和各项目进展均延续")
        else:
            self._record(
                request.created_by,
                "fair_created",
                f"{self.case.organizer.name}创建「{self.case.title}」，征集购买服务需求至{local_text(schedule.demands_due)}，"
                f"社洽会于{schedule.fair_day.isoformat()}举办，投标截止{local_text(schedule.bids_close)}",
                FairPhase.collecting,
            )
            lookup = PolicyLookup(jurisdiction_chain=[j.code for j in self.case.locality.chain], on=local_date(workflow.now()))
            rules = await self._call("procurement_policy", lookup, ProcurementRules)
            self.case.policy, self.case.policy_ref = rules.policy, rules.ref
            self._touch()

        if self.case.phase is FairPhase.collecting:
            await self._serve_while(lambda: workflow.now() < schedule.demands_due, until=schedule.demands_due)
            self._record(None, "demands_closed", f"需求征集截止，共收到需求{len(self.case.demands)}项", FairPhase.reviewing)
        if self.case.phase is FairPhase.reviewing:
            await self._serve_while(lambda: self._publication is None, until=None)
            children = await self._publish()
            following = asyncio.gather(*(self._follow(lot, handle) for lot, handle in children))
            while not following.done():
                await self._main_wait(lambda: following.done() or self.case.revision > self._projected_revision, until=None)
            await following
        await self._serve_while(lambda: not all(lot.ended for lot in self.case.lots), until=None)
        awarded = sum(1 for lot in self.case.lots if lot.winner)
        self._record(
            None, "fair_closed",
            f"全部{len(self.case.lots)}个项目办结：成交{awarded}个，终止{len(self.case.lots) - awarded}个",
            FairPhase.closed,
        )
        await self._settle()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.case

    async def _serve_while(self, waiting: Callable[[], bool], until: datetime | None) -> None:
        """Answer updates (each settles the read model) while ``waiting()`` and before ``until``; a history grown
        long with them continues as new at the top of the loop, where a new run resumes."""
        while waiting() and (until is None or workflow.now() < until):
            await self._continue_as_new_if_long(FAIRS_CONTINUE)
            await self._main_wait(
                lambda: not waiting() or self.case.revision > self._projected_revision or self._history_long(), until=until
            )

    async def _publish(self) -> list[tuple[LotSummary, workflow.ChildWorkflowHandle]]:
        """The catalogue names each approved demand's lot; each lot then runs as its own workflow, which
        outlives this run and reports its end (the children to await, only for fairs recorded before that)."""
        assert self._publication is not None and self.case.policy and self.case.policy_ref
        approved = [d for d in self.case.demands if d.status is DemandStatus.approved]
        for number, demand in enumerate(approved, start=1):
            demand.lot_no = f"{self.case.fair_no}-L{number:02d}"
        await self._render(
            DocumentRequest(
                document_id=f"{self.case.fair_no}-D01",
                kind=DocumentKind.demand_catalogue,
                title=DocumentKind.demand_catalogue.default_title,
                number=f"{self.case.fair_no}-01",
                issued_at=workflow.now(),
                issuer=self.case.organizer,
                fair=self.case,
            )
        )
        self._record(
            self._publication.actor,
            "catalogue_published",
            f"发布政府购买服务需求公告，共{len(approved)}个项目，投标截止{local_text(self.case.schedule.bids_close)}",
            FairPhase.published,
        )
        await self._notify(NotificationKind.catalogue_published, [d.department for d in approved])
        reporting = workflow.patched(LOTS_REPORT_TO_FAIR)
        started = []
        for demand in approved:
            assert demand.lot_no
            summary = LotSummary(lot_no=demand.lot_no, demand_id=demand.demand_id, title=demand.title, phase="bidding")
            self.case.lots.append(summary)
            handle = await workflow.start_child_workflow(
                LotWorkflow.run,
                LotRequest(
                    lot_no=demand.lot_no,
                    fair_no=self.case.fair_no,
                    fair_title=self.case.title,
                    demand=demand,
                    fair_day=self.case.schedule.fair_day,
                    bids_close=self.case.schedule.bids_close,
                    policy=self.case.policy,
                    policy_ref=self.case.policy_ref,
                    organizer=self.case.organizer,
                    locality=self.case.locality,
                    reports_to_fair=reporting,
                ),
                id=demand.lot_no,
                parent_close_policy=ParentClosePolicy.ABANDON if reporting else ParentClosePolicy.TERMINATE,
            )
            if not reporting:
                started.append((summary, handle))
        self._touch()
        return started

    async def _follow(self, summary: LotSummary, handle: workflow.ChildWorkflowHandle) -> None:
        self._lot_ended(summary, await handle)
        await self._settle()

    def _lot_ended(self, summary: LotSummary, result: LotResult | None) -> None:
        summary.phase = result.phase.value if result else "closed"
        summary.winner = result.winner_name if result else None
        self._touch()

    @workflow.signal
    def lot_ended(self, ended: LotEnded) -> None:
        """A lot's end, sent by the lot itself; the fair's loop settles it and closes the fair after the last."""
        summary = next((lot for lot in self.case.lots if lot.lot_no == ended.lot_no), None)
        if summary is not None and not summary.ended:
            self._lot_ended(summary, ended.result)

    # --- human actions ---------------------------------------------------------------------------

    @workflow.query
    def status(self) -> FairState:
        return self._reported()

    @workflow.update
    async def submit_demand(self, submission: DemandSubmission) -> ActionReceipt:
        demand = Demand(
            **submission.demand.model_dump(),
            demand_id=f"D{len(self.case.demands) + 1:02d}",
            department=submission.actor,
            department_office=submission.office,
            submitted_at=workflow.now(),
        )
        self.case.demands.append(demand)
        self._record(
            submission.actor,
            "demand_submitted",
            f"{submission.office}提交购买服务需求 {demand.demand_id}「{demand.title}」，预算上限{yuan(demand.budget_ceiling_fen)}",
        )
        return await self._receipt(f"需求已提交，编号 {demand.demand_id}，待组织单位审核")

    @submit_demand.validator
    def _validate_submit_demand(self, submission: DemandSubmission) -> None:
        refuse_if(permissions.refuse_demand(self.case, submission, workflow.now()))

    @workflow.update
    async def review_demand(self, review: DemandReview) -> ActionReceipt:
        demand = self.case.demand(review.demand_id)
        assert demand is not None
        demand.status = DemandStatus.approved if review.approve else DemandStatus.rejected
        demand.review = TaskDecision(
            outcome=Outcome.approve if review.approve else Outcome.refuse, reasons=review.reasons, by=review.actor,
            at=workflow.now(),
        )
        reasons = f"：{'；'.join(review.reasons)}" if review.reasons else ""
        self._record(review.actor, "demand_reviewed", f"需求 {demand.demand_id}「{demand.title}」审核{demand.status.label}{reasons}")
        await self._notify(NotificationKind.demand_reviewed, [demand.department], demand_title=demand.title, outcome=demand.status.label)
        return await self._receipt(f"需求 {demand.demand_id} {demand.status.label}")

    @review_demand.validator
    def _validate_review_demand(self, review: DemandReview) -> None:
        refuse_if(permissions.refuse_demand_review(self.case, review))

    @workflow.update
    async def publish_catalogue(self, publication: CataloguePublication) -> ActionReceipt:
        self._publication = publication
        self._touch()
        return await self._receipt("需求公告已发布，各项目开始接受投标")

    @publish_catalogue.validator
    def _validate_publish_catalogue(self, publication: CataloguePublication) -> None:
        refuse_if(permissions.refuse_publication(self.case, publication))

    @workflow.update
    async def add_showcase_project(self, submission: ShowcaseSubmission) -> ActionReceipt:
        project = ShowcaseProject(
            **submission.project.model_dump(),
            project_id=f"S{len(self.case.showcase) + 1:02d}",
            organization_name=submission.organization_name,
            added_by=submission.actor,
            added_at=workflow.now(),
        )
        self.case.showcase.append(project)
        self._record(submission.actor, "showcase_added", f"「{project.organization_name}」登记展示项目「{project.title}」")
        return await self._receipt(f"展示项目已登记，编号 {project.project_id}")

    @add_showcase_project.validator
    def _validate_add_showcase_project(self, submission: ShowcaseSubmission) -> None:
        refuse_if(permissions.refuse_showcase(self.case, submission))

    # --- how this process names itself --------------------------------------------------------

    @property
    def case_key(self) -> str:
        return self.case.fair_no

    def _enter(self, phase: str, step: StepPlan | None) -> None:
        self.case.phase = FairPhase(phase)

    def _phase_names(self) -> tuple[str, str]:
        return self.case.phase.label, self.case.phase.label

    def _history_events_limit(self) -> int:
        assert self.case.policy is not None
        return self.case.policy.history_events_limit

    def _carried_over(self) -> FairRequest:
        case = self.case
        return FairRequest(
            fair_no=case.fair_no, title=case.title, organizer=case.organizer, locality=case.locality,
            schedule=case.schedule, created_by=case.created_by, carried_over=case, publication=self._publication,
        )

    def _notification_context(self) -> dict[str, str]:
        return {"case_no": self.case.fair_no, "subject": self.case.title, "fair_title": self.case.title}
