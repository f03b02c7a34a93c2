"""Every refusal the API answers, as one JSON body in Chinese that says what to change.

Refusals from the services (``ServiceError``), request validation, Starlette's own answers (unknown
route, wrong method, body too large, unparseable body) and unexpected failures all end here, so no
caller ever sees FastAPI's English ``{"detail": ...}``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.service import RPCError

from service.common import ServiceError
from service.validation import describe
from store.files import ATTACHMENT_LIMIT

log = logging.getLogger("shezu.api")

JSON_BODY_LIMIT = 1024 * 1024
"""The largest JSON request body (1 MiB): every request model's own limits fit well inside it."""
UPLOAD_PATH = "/api/attachments"
UPLOAD_BODY_LIMIT = ATTACHMENT_LIMIT + 64 * 1024
"""An upload's body: the attachment itself plus room for the multipart headers."""
TOO_LARGE = "请求内容过大：JSON 请求不能超过 1MB，附件不能超过 20MB，请精简后重新提交"


class BodyTooLarge(Exception):
    """Raised while reading a request body that passes its limit, so the rest is never read."""


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer: a kind, a message in Chinese saying what to change, and one line per problem."""

    error: str = Field(
        description="invalid_request：请求不符合本接口文档（字段、类型、长度、格式）；invalid：内容不符合办理规则；"
        "unauthenticated、forbidden、not_found、conflict、too_many、method_not_allowed、too_large、unavailable、internal"
    )
    message: str = Field(description="原因及如何修改")
    details: list[str] = Field(default_factory=list, description="逐项说明")


_DESCRIPTIONS = {
    400: "请求内容无法解析",
    401: "未登录或登录已过期（会话 Cookie 或 Bearer 令牌无效）",
    403: "无权办理（身份不符，或缺少防伪令牌 X-CSRF-Token）",
    404: "不存在",
    409: "与案件当前状态冲突",
    413: "请求内容过大",
    422: "提交的内容有误",
    429: "登录失败次数过多，暂时锁定",
    503: "流程服务暂时不可用",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: each refusal it can answer, all as ``ErrorBody``."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


def _answer(status: int, kind: str, message: str, details: list[str] | None = None, **headers: str) -> JSONResponse:
    body = ErrorBody(error=kind, message=message, details=details or [])
    return JSONResponse(body.model_dump(), status_code=status, headers=headers or None)


def _json_position(document: str | bytes | None, position: int) -> str:
    """Line and column (from 1) of a character offset in the request body."""
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else (document or "")
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    return f"第{line}行第{column}列"


def _allowed_methods(request: Request, error: HTTPException) -> list[str]:
    """Every method the API documents at this path (Starlette's own Allow names only the first route's)."""
    paths: dict[str, dict[str, object]] = request.app.openapi()["paths"]
    path = request.url.path
    # OpenAPI matches a literal path before a templated one (/api/contracts/single-source before {contract_no})
    matched = [paths[path]] if path in paths else [
        operations for template, operations in paths.items()
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), path)
    ]
    methods = {method.upper() for operations in matched for method in operations}
    if "GET" in methods:
        methods.add("HEAD")
    if not methods and error.headers:
        methods = {m.strip() for m in error.headers.get("Allow", "").split(",") if m.strip()}
    return sorted(methods)


def _parse_failure(error: HTTPException) -> str:
    cause = error.__cause__
    if isinstance(cause, RecursionError):
        return "JSON 嵌套层数过多，请减少嵌套后重新提交"
    if isinstance(cause, MultiPartException):
        return "上传内容不是有效的 multipart/form-data：请以表单方式上传，文件放在字段 file 中"
    if isinstance(cause, UnicodeDecodeError):
        return "请求内容不是有效的 UTF-8 文本，请以 UTF-8 编码提交"
    return "请求内容无法解析：JSON 请以 Content-Type: application/json 提交，文件请以 multipart/form-data 上传（字段名 file）"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every refusal into an ``ErrorBody``."""

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, error: ServiceError) -> JSONResponse:
        if error.status_code == 401:
            return _answer(401, error.kind, error.message, error.details, **{"WWW-Authenticate": 'Bearer realm="shezu"'})
        return _answer(error.status_code, error.kind, error.message, error.details)

    @app.exception_handler(RPCError)
    async def _temporal_unreachable(request: Request, error: RPCError) -> JSONResponse:
        """Temporal answered with an error or not at all where no service expected it: the case is
        untouched, so the caller may simply try again."""
        log.warning("Temporal error on %s %s: %s", request.method, request.url.path, error)
        return _answer(503, "unavailable", "流程服务暂时不可用，请稍后重试；您的案件没有受到影响")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        if problems and problems[0].get("type") == "json_invalid":
            place = _json_position(error.body, int(problems[0]["loc"][-1]))
            reason = str((problems[0].get("ctx") or {}).get("error", ""))
            message = f"请求内容不是有效的 JSON：{place}有误（{_JSON_REASONS.get(reason, '格式错误')}），请修改后重新提交"
            return _answer(422, "invalid_request", message, [message])
        if [tuple(p.get("loc", ())) for p in problems] == [("body",)] and isinstance(problems[0].get("input"), bytes):
            message = "请求内容应为 JSON 对象：请以 Content-Type: application/json 提交"
            return _answer(422, "invalid_request", message, [message])
        body = getattr(request.scope.get("route"), "body_field", None)
        details = describe(problems, body.field_info.annotation if body else None)
        # A model's own cross-field rules (value_error) are rules of the process no JSON Schema states;
        # every other problem breaks a limit, type or format the OpenAPI document states.
        rules_only = all(p.get("type") in ("value_error", "assertion_error") for p in problems)
        return _answer(422, "invalid" if rules_only else "invalid_request", "提交的内容有误：" + "；".join(details), details)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        status = error.status_code
        if status == 404:
            return _answer(404, "not_found", f"没有这个地址：{request.url.path}。可用的接口见 /docs")
        if status == 405:
            allowed = _allowed_methods(request, error)
            return _answer(
                405, "method_not_allowed",
                f"地址 {request.url.path} 不支持 {request.method} 请求，可用的方法：{'、'.join(allowed)}",
                Allow=", ".join(allowed),
            )
        if status == 400 and isinstance(error.__cause__, BodyTooLarge):
            return _answer(413, "too_large", TOO_LARGE)
        if status == 400:
            return _answer(400, "invalid_request", _parse_failure(error))
        log.warning("unexpected HTTP %s on %s %s: %s", status, request.method, request.url.path, error.detail)
        return _answer(status, "invalid_request", "请求无法处理，请检查请求地址、方法和内容后重试")

    app.add_middleware(_BodyLimit)
    app.add_middleware(_Unexpected)


class _BodyLimit:
    """Refuse a request body past its limit while it is read: at once when Content-Length says so,
    else as soon as the bytes received pass it. Nothing past the limit is read or kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = UPLOAD_BODY_LIMIT if scope.get("path") == UPLOAD_PATH else JSON_BODY_LIMIT
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _answer(413, "too_large", TOO_LARGE)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await _answer(413, "too_large", TOO_LARGE)(scope, receive, send)


class _Unexpected:
    """A failure no handler expected: logged with its details, answered with a generic 500 that leaks nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            answer = _answer(500, "internal", "系统内部错误，请稍后重试；如仍不能办理，请联系区民政局并告知办理时间")
            await answer(scope, receive, send)


_JSON_REASONS = {
    "Expecting value": "此处应为一个值",
    "Expecting property name enclosed in double quotes": "字段名须用英文双引号括起",
    "Expecting ',' delimiter": "缺少英文逗号",
    "Expecting ':' delimiter": "缺少英文冒号",
    "Unterminated string starting at": "字符串缺少结尾的双引号",
    "Extra data": "JSON 结束后还有多余内容",
    "Invalid control character at": "字符串中有未转义的控制字符",
    "Invalid \\escape": "无效的转义符",
    "Invalid \\uXXXX escape": "无效的 \\u 转义",
    "Illegal trailing comma before end of object": "对象末尾多了逗号",
    "Illegal trailing comma before end of array": "数组末尾多了逗号",
}
"""json.JSONDecodeError's own reasons, in words a user understands."""
