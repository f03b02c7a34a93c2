"""What routes depend on: the services built at start-up, the caller's identity, and list windows."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request

from service.cases import CaseService
from service.contracts import ContractService
from service.fairs import FairService
from service.views import PAGE_LIMIT, PAGE_LIMIT_MAX


def case_service(request: Request) -> CaseService:
    return request.app.state.service


def fair_service(request: Request) -> FairService:
    return request.app.state.fairs


def contract_service(request: Request) -> ContractService:
    return request.app.state.contracts


def current_user(
    x_user_id: Annotated[
        str | None,
        Header(
            alias="X-User-Id", max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$",
            description="用户标识（不超过64个字符）。部署时由统一身份认证网关设置；以后由登录取代。",
        ),
    ] = None,
) -> str | None:
    """The one place that reads who is calling."""
    return x_user_id


Service = Annotated[CaseService, Depends(case_service)]
Fairs = Annotated[FairService, Depends(fair_service)]
Contracts = Annotated[ContractService, Depends(contract_service)]
UserId = Annotated[str | None, Depends(current_user)]

Limit = Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX, description=f"每页条数（1–{PAGE_LIMIT_MAX}，默认 {PAGE_LIMIT}）")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="从第几条开始（从 0 起）；下一页为 offset + limit")]

IDENTIFIER = r"^[A-Za-z0-9-]+$"


def key(description: str) -> object:
    """A case, fair, lot, contract, task or document number in a path: letters, digits and hyphens."""
    return Path(min_length=1, max_length=64, pattern=IDENTIFIER, description=description)


CaseNo = Annotated[str, key("案件编号，如 YJ-JG-BA-2026-00001")]
FairNo = Annotated[str, key("社洽会编号")]
LotNo = Annotated[str, key("项目编号")]
ContractNo = Annotated[str, key("合同编号")]
ItemId = Annotated[str, key("编号（异议、需求、投标、质疑、节点）")]
