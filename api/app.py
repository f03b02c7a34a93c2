"""The HTTP JSON API (OpenAPI at /docs): one router per area (``api/routes``), the services and the
caller's identity as dependencies (``api/deps.py``), every refusal as a Chinese ``ErrorBody``
(``api/errors.py``). Who calls is decided in one place (``api/deps.py``): a session cookie, a bearer
token, or — only in trusted-gateway mode — the gateway's ``X-User-Id``; otherwise the public."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

import pages
from api import errors
from api.deps import caller
from api.errors import ErrorBody
from api.routes import accounts as account_routes
from api.routes import audit, documents, filings, lots, notifications, overview, ratings, system, verify
from api.routes import contracts as contract_routes
from api.routes import fairs as fair_routes
from api.routes import incubation as incubation_routes
from service.accounts import AccountService
from service.cases import CaseService
from service.connection import connect_temporal, read_model
from service.contracts import ContractService
from service.fairs import FairService
from service.incubation import IncubationService
from service.oidc import SingleSignOn
from settings import Settings, get_settings

__all__ = ["AREAS", "ErrorBody", "app", "create_app"]

DOCS_ASSETS = "/api/docs-assets"
"""Where Swagger UI (/docs) and ReDoc (/redoc) load their scripts and styles from: this app, never a CDN,
so the documentation works on an isolated government network."""

AREAS = (
    system, account_routes, filings, notifications, ratings, documents, fair_routes, lots, contract_routes,
    incubation_routes, audit, verify, overview,
)
"""The router modules, one per area, in the order their routes are matched."""


def create_app(
    settings: Settings | None = None,
    service: CaseService | None = None,
    fairs: FairService | None = None,
    contracts: ContractService | None = None,
    incubations: IncubationService | None = None,
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
            app.state.incubations = IncubationService(config, engine, client)
            app.state.accounts = AccountService(config, engine)
            app.state.sso = SingleSignOn(config) if config.single_sign_on else None
        yield

    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="shezu 社会组织备案登记 API",
        description=(
            "社区社会组织备案、社会团体和社会服务机构登记（\"一口审批\"绿色通道）。"
            "**登录**：网页和脚本用 `POST /api/session`（用户名、密码）登录，得到 HttpOnly 会话 Cookie 和 `csrf_token`，"
            "此后修改数据的请求须在 `X-CSRF-Token` 头中带上它；命令行和系统对接用接口令牌："
            "`Authorization: Bearer <令牌>`（`POST /api/tokens` 创建，`shezu login` 为命令行保存一个）。"
            "只有在可信网关模式下（配置了网关密钥），带有正确 `X-Shezu-Gateway` 头的请求才可用 `X-User-Id` 指明用户；"
            "其他情况下 `X-User-Id` 被忽略。不带凭据的请求即为公众。"
            "工作人员按人员名录确定角色与辖区，其他用户为申请人。"
            "\n\n列表一律分页：`limit`（每页条数，默认 50，最多 200）与 `offset`（从第几条开始，从 0 起），"
            "返回 `{items, total, limit, offset}`，顺序固定，下一页为 `offset + limit`。"
            "\n\n所有错误都以 `ErrorBody`（`error`、`message`、`details`）的中文说明返回。"
            "\n\n文字字段的 `format`：`single-line`（单行：不得含换行、制表符）与 `multi-line`（可换行）都经 Unicode NFC 规范化、"
            "去掉首尾空白，并拒绝控制字符、零宽与方向控制等不可见字符、私用区、未分配和代理字符，错误说明会指出是哪个字符、在第几位。"
        ),
        version="1.0",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.fairs = fairs
    app.state.contracts = contracts
    app.state.incubations = incubations or (IncubationService(service.settings, service.engine, service._client) if service else None)
    app.state.accounts = AccountService(service.settings, service.engine) if service else None
    app.state.sso = SingleSignOn(service.settings) if service and service.settings.single_sign_on else None
    errors.install(app)
    for area in AREAS:
        for route in area.router.routes:
            if isinstance(route, APIRoute) and _asks_who(route.dependant):
                route.responses.setdefault(401, errors.errors(401)[401])
        app.include_router(area.router)
    pages.install(app)
    return app


def _asks_who(dependant: Dependant) -> bool:
    """Whether a route depends on the caller's identity, so it can answer 401 for bad credentials."""
    return any(d.call is caller or _asks_who(d) for d in dependant.dependencies)


app = create_app()
