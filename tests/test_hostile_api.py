"""A hostile caller's malformed requests: every answer is the JSON ErrorBody, in Chinese, saying what to change."""

from __future__ import annotations

import re
import typing
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from pydantic_core.core_schema import ErrorType
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from service.cases import CaseService
from service.contracts import ContractService
from service.fairs import FairService
from service.validation import _MESSAGES
from tests import factories
from tests.conftest import GATEWAY, binary

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(
    r"Input should|Field required|Not Found|Method Not Allowed|Content Too Large|JSON decode error|"
    r"There was an error|Internal Server Error|value is not|Value error|Expecting|Traceback|detail",
)


@pytest_asyncio.fixture
async def api(service: CaseService) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        service=service,
        fairs=FairService(service.settings, service.engine, service.client),
        contracts=ContractService(service.settings, service.engine, service.client),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shezu.test", headers=GATEWAY) as client:
        yield client


def assert_chinese_error(response: httpx.Response, status: int) -> dict[str, typing.Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "message", "details"}, body
    assert CJK.search(body["message"]), body
    text = body["message"] + "".join(body["details"])
    assert not ENGLISH.search(text), body
    return body


JSON = {"content-type": "application/json", "X-User-Id": "hostile-1"}
DECISION = "/api/cases/YJ-JG-BA-2026-99999/decisions"

HOSTILE: list[tuple[str, str, dict[str, str], bytes | None, int]] = [
    ("GET", "/nope", {}, None, 404),
    ("GET", "/api/cases/YJ-1/nothing-here", {}, None, 404),
    ("PATCH", "/api/health", {}, None, 405),
    ("DELETE", "/api/cases", JSON, None, 405),
    ("PUT", "/api/tasks", JSON, b"{}", 405),
    ("POST", "/api/cases", JSON, b'{"track": "filing",\n  "members": 15,,}', 422),
    ("POST", "/api/cases", JSON, b"[" * 50_000 + b"]" * 50_000, 400),
    ("POST", "/api/cases", JSON, b'{"a": "\xff\xfe"}', 400),
    ("POST", "/api/cases", JSON, b"[1, 2, 3]", 422),
    ("POST", "/api/cases", JSON, b'"just a string"', 422),
    ("POST", "/api/cases", JSON, b"", 422),
    ("POST", "/api/cases", {"content-type": "text/plain", "X-User-Id": "hostile-1"}, b"hello", 422),
    ("POST", "/api/cases", JSON, b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}', 413),
    ("POST", DECISION, JSON, b'{"step": "preliminary_review", "outcome": "maybe"}', 422),
    ("POST", DECISION, JSON, b'{"step": 5, "outcome": null, "reasons": "no", "extra": {}}', 422),
    ("POST", DECISION, {**JSON, "X-User-Id": "x" * 65}, b'{"step": "a", "outcome": "approve"}', 422),
    ("GET", "/api/tasks?limit=0", {"X-User-Id": "cg-zhao"}, None, 422),
    ("GET", "/api/tasks?limit=100000", {"X-User-Id": "cg-zhao"}, None, 422),
    ("GET", "/api/tasks?limit=abc&offset=-1", {"X-User-Id": "cg-zhao"}, None, 422),
    ("GET", "/api/tasks?role=emperor", {"X-User-Id": "cg-zhao"}, None, 422),
    ("GET", "/api/tasks?jurisdiction=" + "Y" * 65, {"X-User-Id": "cg-zhao"}, None, 422),
    ("GET", "/api/requirements?community=YJ-JG-CG&track=charity", {}, None, 422),
    ("GET", "/api/requirements", {}, None, 422),
    ("GET", "/api/cases/%00%01", {"X-User-Id": "hostile-1"}, None, 422),
    ("GET", "/api/cases/YJ-JG-BA-2026-99999", {"X-User-Id": "hostile-1"}, None, 404),
    ("GET", "/api/cases", {}, None, 401),
    ("GET", "/api/documents/x.exe", {}, None, 404),
    ("GET", "/api/contracts/X/amendments/abc/answer", {}, None, 405),
    ("POST", "/api/contracts/X/amendments/abc/answer", JSON, b'{"agree": true}', 422),
    ("POST", "/api/attachments", {"X-User-Id": "hostile-1"}, None, 422),
    ("POST", "/api/attachments", {"X-User-Id": "hostile-1", "content-type": "multipart/form-data; boundary=zz"},
     b"--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.7", 422),
    ("POST", "/api/attachments", {"X-User-Id": "hostile-1", "content-type": "multipart/form-data"}, b"garbage", 400),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "status"), HOSTILE, ids=[f"{m} {p[:40]}" for m, p, *_ in HOSTILE])
async def test_every_malformed_request_is_refused_in_chinese_json(
    api: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], body: bytes | None, status: int
) -> None:
    assert_chinese_error(await api.request(method, path, headers=headers, content=body), status)


async def test_malformed_json_is_placed_by_line_and_column(api: httpx.AsyncClient) -> None:
    body = assert_chinese_error(await api.post("/api/cases", headers=JSON, content=b'{"track": "filing",\n  "members": 15,,}'), 422)
    assert "第2行第17列" in body["message"] and "item" not in body["message"]


async def test_a_wrong_method_names_every_method_the_path_allows(api: httpx.AsyncClient) -> None:
    for path, allowed in [
        ("/api/cases", {"GET", "HEAD", "POST"}),
        ("/api/lots/L1/bids/B01", {"PUT", "DELETE"}),
        ("/api/fairs/F1/showcase", {"GET", "HEAD", "POST"}),
        ("/api/health", {"GET", "HEAD"}),
    ]:
        response = await api.request("PATCH", path)
        assert_chinese_error(response, 405)
        assert {m.strip() for m in response.headers["allow"].split(",")} == allowed, path


async def test_an_unexpected_failure_answers_a_generic_500_that_leaks_nothing(
    api: httpx.AsyncClient, service: CaseService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("secret table readmodel.cases at /srv/shezu")

    monkeypatch.setattr(service, "communities", broken)
    body = assert_chinese_error(await api.get("/api/communities"), 500)
    assert "secret" not in str(body) and "RuntimeError" not in str(body)


async def test_temporal_unavailable_answers_503_in_chinese(service: CaseService) -> None:
    offline = CaseService(service.settings, service.engine, None)
    app = create_app(service=offline, fairs=FairService(service.settings, service.engine), contracts=ContractService(service.settings, service.engine))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shezu.test", headers=GATEWAY) as api:
        response = await api.post("/api/cases", headers=JSON, json=factories.filing().model_dump(mode="json"))
    assert_chinese_error(response, 503)


async def test_a_temporal_server_that_does_not_answer_is_503_in_chinese(api: httpx.AsyncClient, service: CaseService) -> None:
    case_no = (await api.post("/api/cases", headers=JSON, json=factories.filing().model_dump(mode="json"))).json()["case_no"]
    gone = await WorkflowEnvironment.start_local(dev_server_existing_path=binary("temporal"))
    await gone.shutdown()  # connected, then the server stops: every call fails as in an outage
    app = create_app(service=CaseService(service.settings, service.engine, gone.client))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shezu.test", headers=GATEWAY) as offline:
        response = await offline.get(f"/api/cases/{case_no}", params={"live": True}, headers=JSON)
    assert_chinese_error(response, 503)


def test_every_pydantic_error_type_has_a_chinese_message() -> None:
    kinds = set(typing.get_args(ErrorType))
    assert kinds - set(_MESSAGES) == set(), "error types without a Chinese message"
    assert all(CJK.search(message) for message in _MESSAGES.values())


async def test_every_operation_refuses_broken_input_in_chinese(api: httpx.AsyncClient) -> None:
    """Walk the whole document: broken JSON to every body, a method each path lacks, an overlong user id
    and a malformed path key to every operation that takes them."""
    document = (await api.get("/openapi.json")).json()
    checked = 0
    fill = {"amendment_no": "1", "extension": "pdf"}

    def filled(template: str, broken_key: str | None = None) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: "a%20b" if m.group(1) == broken_key else fill.get(m.group(1), "X1"), template)

    for template, operations in document["paths"].items():
        path = filled(template)
        missing = {"GET", "POST", "PUT", "DELETE", "PATCH"} - {m.upper() for m in operations}
        assert_chinese_error(await api.request(sorted(missing)[0], path), 405)
        for method, operation in operations.items():
            where = {p["name"]: p["in"] for p in operation.get("parameters", [])}
            if "requestBody" in operation and "application/json" in operation["requestBody"]["content"]:
                broken = await api.request(method, path, headers=JSON, content=b'{"reason": "x",}')
                assert "行" in assert_chinese_error(broken, 422)["message"], (method, path)
                checked += 1
            if where.get("X-User-Id") == "header":
                overlong = await api.request(method, path, headers={**JSON, "X-User-Id": "u" * 65}, content=b"{}")
                assert_chinese_error(overlong, 422)
                checked += 1
            keys = [name for name, place in where.items() if place == "path" and name not in fill]
            if keys:
                assert_chinese_error(await api.request(method, filled(template, keys[0])), 422)
                checked += 1
    assert checked > 80
