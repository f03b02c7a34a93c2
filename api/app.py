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
from schemas.people import Role
from service import views
from service.cases import CaseService, ServiceError
from service.connection import connect_temporal, read_model
from service.validation import describe
from settings import Settings, get_settings


class ErrorBody(BaseModel):
    error: str
    message: str
    details: list[str] = []


ERRORS = {code: {"model": ErrorBody} for code in (403, 404, 409, 422, 503)}


def cases(request: Request) -> CaseService:
    return request.app.state.service


Service = Annotated[CaseService, Depends(cases)]
UserId = Annotated[str | None, Header(alias="X-User-Id", description="用户标识")]


def create_app(settings: Settings | None = None, service: CaseService | None = None) -> FastAPI:
    """The app; tests pass a ready service, production builds one from settings at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "service", None) is None:
            config = settings or get_settings()
            app.state.service = CaseService(config, read_model(config), await connect_temporal(config))
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

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, error: ServiceError) -> JSONResponse:
        body = ErrorBody(error=error.kind, message=error.message, details=error.details)
        return JSONResponse(body.model_dump(), status_code=error.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        details = describe(error.errors())
        body = ErrorBody(error="invalid", message="提交的内容有误：" + "；".join(details), details=details)
        return JSONResponse(body.model_dump(), status_code=422)

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
    async def document(document_id: str, extension: str, service: Service, user: UserId = None) -> FileResponse:
        if extension not in ("pdf", "html"):
            raise ServiceError("not_found", "文书格式只有 pdf 和 html")
        actor = service.actor(user) if user else None
        path, filename = service.document_file(actor, document_id, extension)
        media = "application/pdf" if extension == "pdf" else "text/html; charset=utf-8"
        return FileResponse(path, media_type=media, filename=filename)

    return app


app = create_app()
