"""The HTTP JSON API (OpenAPI at /docs): one router per area (``api/routes``), the services and the
caller's identity as dependencies (``api/deps.py``), every refusal as a Chinese ``ErrorBody``
(``api/errors.py``). Identity comes from the ``X-User-Id`` header, which in a deployment is set by
the government's unified identity gateway in front of this service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.errors import ErrorBody
from api.routes import contracts as contract_routes
from api.routes import documents, filings, lots, system
from api.routes import fairs as fair_routes
from service.cases import CaseService
from service.connection import connect_temporal, read_model
from service.contracts import ContractService
from service.fairs import FairService
from settings import Settings, get_settings

__all__ = ["AREAS", "ErrorBody", "app", "create_app"]

AREAS = (system, filings, documents, fair_routes, lots, contract_routes)
"""The router modules, one per area, in the order their routes are matched."""


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
    errors.install(app)
    for area in AREAS:
        app.include_router(area.router)
    return app


app = create_app()
