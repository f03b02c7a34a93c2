"""电子证照: anyone checks a certificate, award notice or contract by the verification code printed on it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from api.deps import IDENTIFIER, Service
from api.errors import errors
from service.verification import VerificationService, VerificationView

router = APIRouter()

VerificationCode = Annotated[
    str,
    Path(
        min_length=1, max_length=40, pattern=IDENTIFIER, description="文件上的验证码，如 ABCD-EFGH-JKMN（可不带横线）"
    ),
]


def verification_service(service: Service) -> VerificationService:
    """Judged by the case service's clock, as every deadline is (a time-skipping server's in tests)."""
    return VerificationService(service.engine, service.now)


Verifications = Annotated[VerificationService, Depends(verification_service)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get(
    "/api/verify/{code}",
    tags=["公众"],
    summary="电子证照核验：凭验证码查询备案证明、成交通知书或合同的签发机关、字号、持有人、日期和现行状态",
    description="无需登录。状态为 valid（有效）、expired（已过期）、revoked（已失效：撤销或终止）或 superseded（已重新签发）。"
    "同一网络地址短时间内多次查询不存在的验证码，须等待后再查。",
    responses=errors(404, 422, 429),
)
async def verify(code: VerificationCode, request: Request, verifications: Verifications) -> VerificationView:
    return verifications.verify(code, client_address(request))
