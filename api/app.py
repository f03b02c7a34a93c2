"""The HTTP JSON API (OpenAPI at /docs). Identity comes from the ``X-User-Id`` header, which in a
deployment is set by the government's unified identity gateway in front of this service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, File, Header, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel

from schemas.application import Application, Track
from schemas.case import ActionReceipt
from schemas.checklist import Assessment
from schemas.contracts import AmendmentInput, ContractPlan, DeliveryInput, EvaluationInput
from schemas.people import Role
from schemas.procurement import BidInput, DemandInput, NegotiationInput, ScoreInput, ShowcaseInput
from service import views
from service.cases import CaseService
from service.common import ServiceError
from service.connection import connect_temporal, read_model
from service.contracts import ContractService
from service.documents import document_file
from service.fairs import FairService
from service.validation import describe
from settings import Settings, get_settings


class ErrorBody(BaseModel):
    error: str
    message: str
    details: list[str] = []


ERRORS = {code: {"model": ErrorBody} for code in (403, 404, 409, 422, 503)}


def cases(request: Request) -> CaseService:
    return request.app.state.service


def fair_service(request: Request) -> FairService:
    return request.app.state.fairs


def contract_service(request: Request) -> ContractService:
    return request.app.state.contracts


Service = Annotated[CaseService, Depends(cases)]
Fairs = Annotated[FairService, Depends(fair_service)]
Contracts = Annotated[ContractService, Depends(contract_service)]
UserId = Annotated[str | None, Header(alias="X-User-Id", description="用户标识")]


def create_app(
    settings: Settings | None = None,
    service: CaseService | None = None,
    fairs: FairService | None = None,
    contracts: ContractService | None = None,
) -> FastAPI:
    """The app; tests pass ready services, production builds them from settings at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "service", None) is None:
            config = settings or get_settings()
            engine, client = read_model(config), await connect_temporal(config)
            app.state.service = CaseService(config, engine, client)
            app.state.fairs = FairService(config, engine, client)
            app.state.contracts = ContractService(config, engine, client)
        yield

    app = FastAPI(
        title="shezu 社会组织备案登记 API",
        description=(
            "社区社会组织备案、社会团体和社会服务机构登记（\"一口审批\"绿色通道）。"
            "请求须带 `X-User-Id` 头标识用户：工作人员按人员名录确定角色与辖区，其他用户为申请人或公众。"
        ),
        version="1.0",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.fairs = fairs
    app.state.contracts = contracts

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, error: ServiceError) -> JSONResponse:
        body = ErrorBody(error=error.kind, message=error.message, details=error.details)
        return JSONResponse(body.model_dump(), status_code=error.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        body = getattr(request.scope.get("route"), "body_field", None)
        details = describe(error.errors(), body.field_info.annotation if body else None)
        answer = ErrorBody(error="invalid", message="提交的内容有误：" + "；".join(details), details=details)
        return JSONResponse(answer.model_dump(), status_code=422)

    @app.get("/api/health", tags=["系统"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/communities", tags=["申请人"], summary="可申请的社区及其代码")
    async def communities(service: Service) -> list[views.CommunityView]:
        return service.communities()

    @app.get("/api/requirements", tags=["申请人"], summary="某社区某办理类型的材料、条件、费用、期限和绿色通道规则", responses=ERRORS)
    async def requirements(
        service: Service,
        community: str = Query(description="社区代码，如 YJ-JG-CG"),
        track: Track = Query(description="filing / association / service_institution"),
    ) -> views.RequirementsView:
        return service.requirements(community, track)

    @app.post("/api/checklist", tags=["申请人"], summary="预审：按政策生成材料清单（不提交）", responses=ERRORS)
    async def checklist(application: Application, service: Service) -> Assessment:
        return service.assess(application)

    @app.post("/api/attachments", tags=["申请人"], summary="上传附件，返回 SHA-256 供材料引用", responses=ERRORS)
    async def upload(service: Service, user: UserId = None, file: UploadFile = File(...)) -> views.AttachmentView:
        actor = service.actor(user)
        data = await file.read()
        return service.save_attachment(actor, file.filename or "附件", file.content_type or "application/octet-stream", data)

    @app.post("/api/cases", tags=["申请人"], summary="提交备案/登记申请", status_code=201, responses=ERRORS)
    async def submit(application: Application, service: Service, user: UserId = None) -> views.SubmissionReceipt:
        return await service.submit(service.actor(user, application.applicant_name), application)

    @app.get("/api/cases", tags=["申请人"], summary="我的申请", responses=ERRORS)
    async def my_cases(service: Service, user: UserId = None) -> list[views.CaseSummary]:
        return service.my_cases(service.actor(user))

    @app.get("/api/cases/{case_no}", tags=["申请人", "工作人员"], summary="案件状态", responses=ERRORS)
    async def case_status(
        case_no: str, service: Service, user: UserId = None, live: bool = Query(False, description="直接查询流程状态")
    ) -> views.CaseView:
        actor = service.actor(user)
        return await service.live_case(actor, case_no) if live else service.case(actor, case_no)

    @app.post("/api/cases/{case_no}/correction", tags=["申请人"], summary="补正材料", responses=ERRORS)
    async def correct(case_no: str, correction: views.CorrectionInput, service: Service, user: UserId = None) -> ActionReceipt:
        return await service.correct(service.actor(user), case_no, correction)

    @app.post("/api/cases/{case_no}/withdrawal", tags=["申请人"], summary="撤回申请", responses=ERRORS)
    async def withdraw(case_no: str, withdrawal: views.WithdrawalInput, service: Service, user: UserId = None) -> ActionReceipt:
        return await service.withdraw(service.actor(user), case_no, withdrawal)

    @app.post("/api/cases/{case_no}/decisions", tags=["工作人员"], summary="办理当前环节（同意/不同意/要求补正）", responses=ERRORS)
    async def decide(case_no: str, decision: views.DecisionInput, service: Service, user: UserId = None) -> ActionReceipt:
        return await service.decide(service.actor(user), case_no, decision)

    @app.post("/api/cases/{case_no}/objections", tags=["公众"], summary="公示期内提出异议", responses=ERRORS)
    async def object_(case_no: str, objection: views.ObjectionInput, service: Service, user: UserId = None) -> ActionReceipt:
        return await service.file_objection(service.actor(user, objection.name, Role.public), case_no, objection)

    @app.post(
        "/api/cases/{case_no}/objections/{objection_id}/resolution",
        tags=["工作人员"],
        summary="处理公示异议",
        responses=ERRORS,
    )
    async def resolve(
        case_no: str, objection_id: str, resolution: views.ObjectionResolutionInput, service: Service, user: UserId = None
    ) -> ActionReceipt:
        return await service.resolve_objection(service.actor(user), case_no, objection_id, resolution)

    @app.get("/api/tasks", tags=["工作人员"], summary="待办任务（按角色和辖区）", responses=ERRORS)
    async def inbox(
        service: Service,
        user: UserId = None,
        role: Role | None = None,
        jurisdiction: str | None = None,
        include_closed: bool = False,
    ) -> list[views.TaskView]:
        return service.inbox(service.actor(user), role, jurisdiction, include_closed)

    @app.get("/api/notifications", tags=["申请人", "工作人员"], summary="我的消息", responses=ERRORS)
    async def notifications(service: Service, user: UserId = None) -> list[views.NotificationView]:
        return service.notifications(service.actor(user))

    @app.get("/api/public-notices", tags=["公众"], summary="正在公示的申请")
    async def public_notices(service: Service) -> list[views.PublicNoticeView]:
        return service.public_notices()

    @app.get("/api/documents/{document_id}.{extension}", tags=["文书"], summary="下载文书（pdf 或 html）", responses=ERRORS)
    async def document(
        document_id: str, extension: str, service: Service, fairs: Fairs, contracts: Contracts, user: UserId = None
    ) -> FileResponse:
        if extension not in ("pdf", "html"):
            raise ServiceError("not_found", "文书格式只有 pdf 和 html")
        actor = service.actor(user) if user else None
        path, filename = document_file(service, fairs, contracts, actor, document_id, extension)
        media = "application/pdf" if extension == "pdf" else "text/html; charset=utf-8"
        return FileResponse(path, media_type=media, filename=filename)

    # --- 社洽会: fairs and their lots ----------------------------------------------------------------

    @app.post("/api/fairs", tags=["社洽会"], summary="组织单位创建社洽会", status_code=201, responses=ERRORS)
    async def create_fair(fair: views.FairInput, fairs: Fairs, user: UserId = None) -> views.FairSummary:
        return await fairs.create_fair(fairs.actor(user), fair)

    @app.get("/api/fairs", tags=["社洽会"], summary="社洽会列表")
    async def list_fairs(fairs: Fairs) -> list[views.FairSummary]:
        return fairs.fairs()

    @app.get("/api/fairs/{fair_no}", tags=["社洽会"], summary="社洽会详情与需求目录", responses=ERRORS)
    async def fair(fair_no: str, fairs: Fairs, user: UserId = None) -> views.FairView:
        return fairs.fair(fairs.actor(user) if user else None, fair_no)

    @app.post("/api/fairs/{fair_no}/demands", tags=["社洽会"], summary="购买服务部门提交需求", responses=ERRORS)
    async def submit_demand(fair_no: str, demand: DemandInput, fairs: Fairs, user: UserId = None) -> ActionReceipt:
        return await fairs.submit_demand(fairs.actor(user), fair_no, demand)

    @app.post("/api/fairs/{fair_no}/demands/{demand_id}/review", tags=["社洽会"], summary="组织单位审核需求", responses=ERRORS)
    async def review_demand(
        fair_no: str, demand_id: str, review: views.DemandReviewInput, fairs: Fairs, user: UserId = None
    ) -> ActionReceipt:
        return await fairs.review_demand(fairs.actor(user), fair_no, demand_id, review)

    @app.post("/api/fairs/{fair_no}/catalogue", tags=["社洽会"], summary="组织单位发布需求公告", responses=ERRORS)
    async def publish_catalogue(fair_no: str, fairs: Fairs, user: UserId = None) -> ActionReceipt:
        return await fairs.publish_catalogue(fairs.actor(user), fair_no)

    @app.get("/api/fairs/{fair_no}/showcase", tags=["社洽会"], summary="展示公益服务项目（公开）", responses=ERRORS)
    async def showcase(fair_no: str, fairs: Fairs) -> list[views.ShowcaseView]:
        return fairs.showcase(fair_no)

    @app.post("/api/fairs/{fair_no}/showcase", tags=["社洽会"], summary="社会组织登记展示项目", responses=ERRORS)
    async def add_showcase(fair_no: str, project: ShowcaseInput, fairs: Fairs, user: UserId = None) -> ActionReceipt:
        return await fairs.add_showcase_project(fairs.actor(user), fair_no, project)

    @app.get("/api/my/organizations", tags=["投标人"], summary="我代表的社会组织（名录编号）", responses=ERRORS)
    async def my_organizations(fairs: Fairs, user: UserId = None) -> list[dict[str, str]]:
        return fairs.my_organizations(fairs.actor(user))

    @app.get("/api/lots/{lot_no}", tags=["社洽会"], summary="项目详情（按身份显示可见内容）", responses=ERRORS)
    async def lot(lot_no: str, fairs: Fairs, user: UserId = None) -> views.LotView:
        return fairs.lot(fairs.actor(user) if user else None, lot_no)

    @app.post("/api/lots/{lot_no}/bids", tags=["投标人"], summary="投标", responses=ERRORS)
    async def submit_bid(lot_no: str, bid: BidInput, fairs: Fairs, user: UserId = None) -> ActionReceipt:
        return await fairs.submit_bid(fairs.actor(user), lot_no, bid)

    @app.put("/api/lots/{lot_no}/bids/{bid_id}", tags=["投标人"], summary="修改投标（截止前）", responses=ERRORS)
    async def amend_bid(lot_no: str, bid_id: str, bid: BidInput, fairs: Fairs, user: UserId = None) -> ActionReceipt:
        return await fairs.amend_bid(fairs.actor(user), lot_no, bid_id, bid)

    @app.delete("/api/lots/{lot_no}/bids/{bid_id}", tags=["投标人"], summary="撤回投标（截止前）", responses=ERRORS)
    async def withdraw_bid(lot_no: str, bid_id: str, fairs: Fairs, user: UserId = None) -> ActionReceipt:
        return await fairs.withdraw_bid(fairs.actor(user), lot_no, bid_id)

    @app.post("/api/lots/{lot_no}/negotiations", tags=["社洽会"], summary="记录洽谈（组织单位或需求部门）", responses=ERRORS)
    async def record_negotiation(
        lot_no: str, negotiation: NegotiationInput, fairs: Fairs, user: UserId = None
    ) -> ActionReceipt:
        return await fairs.record_negotiation(fairs.actor(user), lot_no, negotiation)

    @app.post("/api/lots/{lot_no}/scores", tags=["评审专家"], summary="专家提交评分", responses=ERRORS)
    async def score(lot_no: str, sheet: ScoreInput, fairs: Fairs, user: UserId = None) -> ActionReceipt:
        return await fairs.score(fairs.actor(user), lot_no, sheet)

    @app.post("/api/lots/{lot_no}/recusal", tags=["评审专家"], summary="专家申请回避", responses=ERRORS)
    async def recuse(lot_no: str, conflict: views.ConflictInput, fairs: Fairs, user: UserId = None) -> ActionReceipt:
        return await fairs.declare_conflict(fairs.actor(user), lot_no, conflict)

    @app.post("/api/lots/{lot_no}/challenges", tags=["投标人"], summary="公示期内提出质疑", responses=ERRORS)
    async def challenge(lot_no: str, challenge: views.ChallengeInput, fairs: Fairs, user: UserId = None) -> ActionReceipt:
        return await fairs.file_challenge(fairs.actor(user), lot_no, challenge)

    @app.post("/api/lots/{lot_no}/challenges/{challenge_id}/answer", tags=["社洽会"], summary="组织单位答复质疑", responses=ERRORS)
    async def answer_challenge(
        lot_no: str, challenge_id: str, answer: views.ChallengeAnswerInput, fairs: Fairs, user: UserId = None
    ) -> ActionReceipt:
        return await fairs.answer_challenge(fairs.actor(user), lot_no, challenge_id, answer)

    @app.post("/api/lots/{lot_no}/award-response", tags=["投标人"], summary="确认或放弃成交", responses=ERRORS)
    async def respond_to_award(
        lot_no: str, response: views.AwardResponseInput, fairs: Fairs, user: UserId = None
    ) -> ActionReceipt:
        return await fairs.respond_to_award(fairs.actor(user), lot_no, response)

    @app.post("/api/lots/{lot_no}/disqualifications", tags=["社洽会"], summary="取消成交资格", responses=ERRORS)
    async def disqualify(
        lot_no: str, disqualification: views.DisqualificationInput, fairs: Fairs, user: UserId = None
    ) -> ActionReceipt:
        return await fairs.disqualify(fairs.actor(user), lot_no, disqualification)

    @app.post("/api/lots/{lot_no}/failed-lot-decision", tags=["社洽会"], summary="流标后重新组织或终止", responses=ERRORS)
    async def decide_failed_lot(
        lot_no: str, decision: views.FailedLotInput, fairs: Fairs, user: UserId = None
    ) -> ActionReceipt:
        return await fairs.decide_failed_lot(fairs.actor(user), lot_no, decision)

    # --- 政府购买服务合同 ---------------------------------------------------------------------------

    @app.get("/api/contracts", tags=["合同"], summary="我能看到的合同", responses=ERRORS)
    async def list_contracts(contracts: Contracts, user: UserId = None) -> list[views.ContractRecordView]:
        return contracts.contracts(contracts.actor(user))

    @app.get("/api/disclosure/contracts", tags=["合同"], summary="定期公开：合同与拨付情况（公开）")
    async def disclosure(contracts: Contracts) -> list[views.DisclosureView]:
        return contracts.disclosure()

    @app.post("/api/contracts/single-source", tags=["合同"], summary="购买服务部门申请单一来源采购", status_code=201, responses=ERRORS)
    async def single_source(request: views.SingleSourceInput, contracts: Contracts, user: UserId = None) -> views.ContractView:
        return await contracts.single_source(contracts.actor(user), request)

    @app.get("/api/contracts/{contract_no}", tags=["合同"], summary="合同详情（合同双方、组织单位、财政、评估机构）", responses=ERRORS)
    async def contract(contract_no: str, contracts: Contracts, user: UserId = None) -> views.ContractView:
        return contracts.contract(contracts.actor(user) if user else None, contract_no)

    @app.post("/api/contracts/{contract_no}/single-source-approval", tags=["合同"], summary="组织单位审批单一来源采购", responses=ERRORS)
    async def approve_single_source(
        contract_no: str, approval: views.ApprovalInput, contracts: Contracts, user: UserId = None
    ) -> ActionReceipt:
        return await contracts.approve_single_source(contracts.actor(user), contract_no, approval)

    @app.post("/api/contracts/{contract_no}/plan", tags=["合同"], summary="购买方提交履约计划（节点与拨付）", responses=ERRORS)
    async def propose_plan(contract_no: str, plan: ContractPlan, contracts: Contracts, user: UserId = None) -> ActionReceipt:
        return await contracts.propose_plan(contracts.actor(user), contract_no, plan)

    @app.post("/api/contracts/{contract_no}/signatures", tags=["合同"], summary="签署合同", responses=ERRORS)
    async def sign(contract_no: str, signing: views.SigningInput, contracts: Contracts, user: UserId = None) -> ActionReceipt:
        return await contracts.sign(contracts.actor(user), contract_no, signing)

    @app.post("/api/contracts/{contract_no}/milestones/{milestone_id}/report", tags=["合同"], summary="承接方提交履约报告", responses=ERRORS)
    async def submit_delivery(
        contract_no: str, milestone_id: str, report: DeliveryInput, contracts: Contracts, user: UserId = None
    ) -> ActionReceipt:
        return await contracts.submit_delivery(contracts.actor(user), contract_no, milestone_id, report)

    @app.post("/api/contracts/{contract_no}/milestones/{milestone_id}/review", tags=["合同"], summary="购买方验收或退回", responses=ERRORS)
    async def review_delivery(
        contract_no: str, milestone_id: str, review: views.DeliveryReviewInput, contracts: Contracts, user: UserId = None
    ) -> ActionReceipt:
        return await contracts.review_delivery(contracts.actor(user), contract_no, milestone_id, review)

    @app.post("/api/contracts/{contract_no}/disbursements", tags=["合同"], summary="财政部门登记拨付", responses=ERRORS)
    async def record_disbursement(
        contract_no: str, disbursement: views.DisbursementInput, contracts: Contracts, user: UserId = None
    ) -> ActionReceipt:
        return await contracts.record_disbursement(contracts.actor(user), contract_no, disbursement)

    @app.post("/api/contracts/{contract_no}/evaluations", tags=["合同"], summary="评估机构提交绩效评价", responses=ERRORS)
    async def submit_evaluation(
        contract_no: str, evaluation: EvaluationInput, contracts: Contracts, user: UserId = None
    ) -> ActionReceipt:
        return await contracts.submit_evaluation(contracts.actor(user), contract_no, evaluation)

    @app.post("/api/contracts/{contract_no}/rectification", tags=["合同"], summary="承接方提交整改报告", responses=ERRORS)
    async def submit_rectification(
        contract_no: str, report: DeliveryInput, contracts: Contracts, user: UserId = None
    ) -> ActionReceipt:
        return await contracts.submit_rectification(contracts.actor(user), contract_no, report)

    @app.post("/api/contracts/{contract_no}/amendments", tags=["合同"], summary="提出合同变更", responses=ERRORS)
    async def propose_amendment(
        contract_no: str, amendment: AmendmentInput, contracts: Contracts, user: UserId = None
    ) -> ActionReceipt:
        return await contracts.propose_amendment(contracts.actor(user), contract_no, amendment)

    @app.post("/api/contracts/{contract_no}/amendments/{amendment_no}/answer", tags=["合同"], summary="确认合同变更", responses=ERRORS)
    async def answer_amendment(
        contract_no: str, amendment_no: int, answer: views.AmendmentAnswerInput, contracts: Contracts, user: UserId = None
    ) -> ActionReceipt:
        return await contracts.answer_amendment(contracts.actor(user), contract_no, amendment_no, answer)

    @app.post("/api/contracts/{contract_no}/suspension", tags=["合同"], summary="购买方中止或恢复合同", responses=ERRORS)
    async def suspend(
        contract_no: str, suspension: views.SuspensionInput, contracts: Contracts, user: UserId = None
    ) -> ActionReceipt:
        return await contracts.suspend(contracts.actor(user), contract_no, suspension)

    @app.post("/api/contracts/{contract_no}/termination", tags=["合同"], summary="提前终止合同", responses=ERRORS)
    async def terminate(
        contract_no: str, termination: views.TerminationInput, contracts: Contracts, user: UserId = None
    ) -> ActionReceipt:
        return await contracts.terminate(contracts.actor(user), contract_no, termination)

    return app


app = create_app()
