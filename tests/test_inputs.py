"""What a caller sends is bounded and normalized before it reaches a case: every limit is in the
OpenAPI document, invisible and direction characters are refused by name and place, look-alike
names count as one, dates are plausible, and an oversized request never reaches Temporal."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import BaseModel, ValidationError

from api.app import create_app
from schemas.application import Application
from schemas.calendar import CalendarYear
from schemas.case import FilingRequest, Phase
from schemas.contracts import AmendmentInput, AmendmentProposal, ContractPlan
from schemas.procurement import Demand, FairSchedule
from schemas.text import name_key
from service import views
from service.cases import CaseService
from service.common import PAYLOAD_BUDGET, ServiceError
from service.validation import describe_validation_error
from store.register import RegisterEntry, RegisterFile, load_register
from tests import factories
from tests.conftest import GATEWAY
from tests.helpers import history_length


@pytest_asyncio.fixture
async def api(service: CaseService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(service=service))
    async with httpx.AsyncClient(transport=transport, base_url="http://shezu.test", headers=GATEWAY) as client:
        yield client


def refusals(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as error:
        model.model_validate(data)
    return describe_validation_error(error.value, model)


# --- A. every limit is stated -------------------------------------------------------------------


def _unbounded(node: dict[str, Any], where: str, schemas: dict[str, Any], seen: frozenset[str]) -> list[str]:
    """Strings without maxLength, arrays without maxItems, maps without maxProperties (or with
    unbounded keys) and integers without both ends, anywhere below ``node``. Dates are bounded by
    their validators (JSON Schema has no way to say so); an uploaded file (``contentMediaType``)
    is bytes, bounded by the upload's own size limit."""
    if ref := node.get("$ref"):
        name = ref.rsplit("/", 1)[-1]
        return [] if name in seen else _unbounded(schemas[name], name, schemas, seen | {name})
    found = []
    for combined in ("anyOf", "oneOf", "allOf"):
        for part in node.get(combined, []):
            found += _unbounded(part, where, schemas, seen)
    kind = node.get("type")
    if kind == "string" and not ({"maxLength", "enum", "const", "contentMediaType"} & node.keys()):
        if node.get("format") not in ("date", "date-time", "binary"):
            found.append(f"{where}: string without maxLength")
    elif kind == "integer" and not ({"enum", "const"} & node.keys()):
        if not {"maximum", "exclusiveMaximum"} & node.keys() or not {"minimum", "exclusiveMinimum"} & node.keys():
            found.append(f"{where}: integer without minimum and maximum")
    elif kind == "array":
        if "maxItems" not in node:
            found.append(f"{where}: array without maxItems")
        found += _unbounded(node.get("items", {}), f"{where}[]", schemas, seen)
    elif kind == "object":
        for field, sub in node.get("properties", {}).items():
            found += _unbounded(sub, f"{where}.{field}", schemas, seen)
        values = node.get("additionalProperties")
        if isinstance(values, dict):
            if "maxProperties" not in node:
                found.append(f"{where}: map without maxProperties")
            keys = node.get("propertyNames", {})
            if "maxLength" not in keys and keys.get("format") != "date":
                found.append(f"{where}: map keys without maxLength")
            found += _unbounded(values, f"{where}{{}}", schemas, seen)
    return found


def test_every_request_body_states_its_limits_in_openapi() -> None:
    document = create_app().openapi()
    schemas = document["components"]["schemas"]
    bodies = [
        (f"{method.upper()} {path}", media["schema"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for media in operation.get("requestBody", {}).get("content", {}).values()
    ]
    assert len(bodies) > 30, "the walk reaches the request bodies"
    problems = [p for route, schema in bodies for p in _unbounded(schema, route, schemas, frozenset())]
    assert problems == []


def test_the_walk_catches_an_unbounded_field() -> None:
    class Loose(BaseModel):
        reasons: list[str]

    assert _unbounded(Loose.model_json_schema(), "Loose", {}, frozenset()) == [
        "Loose.reasons: array without maxItems", "Loose.reasons[]: string without maxLength"
    ]


async def test_a_million_character_reason_is_refused_at_the_door_and_the_case_decides_after(
    api: httpx.AsyncClient, service: CaseService
) -> None:
    applicant = service.actor(factories.applicant_id(), "王芳")
    receipt = await service.submit(applicant, factories.filing())
    before = await history_length(service.client, receipt.case_no)
    decision = {"step": "preliminary_review", "outcome": "refuse", "reasons": ["理" * 1_500_000]}
    response = await api.post(f"/api/cases/{receipt.case_no}/decisions", json=decision, headers={"X-User-Id": "cg-zhao"})
    assert response.status_code == 413 and response.json()["error"] == "too_large", response.text
    decision = {"step": "preliminary_review", "outcome": "refuse", "reasons": ["理" * 501]}
    response = await api.post(f"/api/cases/{receipt.case_no}/decisions", json=decision, headers={"X-User-Id": "cg-zhao"})
    assert response.status_code == 422 and response.json()["details"] == ["理由或补正事项（reasons） › 第1项：不能超过500个字符"]
    assert await history_length(service.client, receipt.case_no) == before
    decision = {"step": "preliminary_review", "outcome": "approve"}
    response = await api.post(f"/api/cases/{receipt.case_no}/decisions", json=decision, headers={"X-User-Id": "cg-zhao"})
    assert response.status_code == 200, response.text
    assert service.case(applicant, receipt.case_no).phase is Phase.authority_review


# --- B. normalization ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("春光\u200b社区舞蹈队", "第3个字符是零宽空格 U+200B"),
        ("春光社区\u202e队蹈舞", "第5个字符是从右到左覆盖 U+202E"),
        ("\ufeff春光社区舞蹈队", "第1个字符是零宽不换行空格（BOM） U+FEFF"),
        ("春光社区\n舞蹈队", "第5个字符是换行符 U+000A"),
        ("春光社区舞蹈\x07队", "第7个字符是控制字符 U+0007"),
        ("春光社区\ue000舞蹈队", "第5个字符是私用区字符 U+E000"),
        ("春光社区\u2066舞蹈队", "第5个字符是从左到右隔离 U+2066"),
    ],
)
def test_invisible_and_direction_characters_in_a_name_are_refused_by_name_and_place(name: str, words: str) -> None:
    data = factories.filing().model_dump(mode="json") | {"organization_name": name}
    details = refusals(Application, data)
    assert len(details) == 1 and details[0].startswith("组织名称（organization_name）：") and words in details[0]


def test_names_are_stored_in_one_form_and_free_text_keeps_its_lines() -> None:
    data = factories.filing().model_dump(mode="json")
    application = Application.model_validate(
        data | {"organization_name": "Cafe\u0301社区读书会\u3000", "business_scope": "  读书\r\n分享\t交流  "}
    )
    assert application.organization_name == "Café社区读书会"  # precomposed é, no ideographic space
    assert application.business_scope == "读书\n分享\t交流"
    assert "第3个字符是零宽连接符" in refusals(views.ObjectionInput, {"name": "邻居", "content": "扰民\u200d"})[0]
    assert refusals(views.ObjectionInput, {"name": "   ", "content": "扰民"}) == ["异议人姓名（name）：至少需要1个字符"]


def test_what_an_earlier_release_recorded_still_loads_as_it_was() -> None:
    """The checks guard the door; a case recorded before them (a zero-width name, a fair in 9999,
    a long amendment reason) still loads unchanged, or its workflow and read model would break."""
    application = factories.filing().model_dump(mode="json")
    application["organization_name"] = "春光\u200b社区舞蹈队 "
    application["people"][1]["name"] = "王 芳"  # beside 王芳: the same person's name, folded
    applicant = {"user_id": "applicant-old", "name": "王芳", "role": "applicant"}
    recorded = FilingRequest.model_validate_json(json.dumps({"case_no": "YJ-JG-BA-2025-00001", "applicant": applicant, "application": application}))
    assert recorded.application.organization_name == "春光\u200b社区舞蹈队 "
    assert recorded.application.people[1].name == "王 芳"
    assert "零宽空格" in refusals(Application, application)[0], "the same application is refused at the door"
    assert "两人同名（王 芳）" in refusals(Application, application | {"organization_name": "春光社区舞蹈队"})[0]

    class Kept(BaseModel):  # a schedule as FairRequest and FairState hold it
        schedule: FairSchedule

    schedule = {"demands_due": "9999-01-01T09:00:00+08:00", "fair_day": "9999-02-01", "bids_close": "9999-03-01T17:00:00+08:00"}
    assert Kept.model_validate({"schedule": schedule}).schedule.fair_day.year == 9999
    assert refusals(FairSchedule, schedule)

    old_reason = "理" * 800
    plan = {"start_date": "2027-01-01", "end_date": "2027-12-31", "milestones": [{"title": "节点一", "deliverables": ["报告" * 60], "due_date": "2027-06-30"}], "tranches": [{"amount_fen": 100, "on": "signing"}]}
    proposal = AmendmentProposal.model_validate({"actor": applicant, "amendment": {"plan": plan, "reasons": [old_reason]}})
    assert proposal.amendment.reasons == [old_reason] and proposal.amendment.plan.milestones[0].deliverables == ["报告" * 60]
    with pytest.raises(ValidationError):
        AmendmentInput.model_validate({"plan": plan, "reasons": [old_reason]})
    demand = Demand(
        title="旧\u202e项目", service_content="内容", target_group="老人", location="社区", budget_ceiling_fen=100,
        duration_months=12, demand_id="D01", department=applicant, department_office="卫健局", submitted_at="2025-01-01T00:00:00Z",
    )
    assert demand.title == "旧\u202e项目", "a workflow builds its own recorded state from what it recorded"


def test_names_from_a_register_import_are_normalized_too() -> None:
    entry = {
        "key": "YJ-REG-9001", "name": " 延吉市（春晖）社工站\u3000", "track": "filing", "community": "YJ-JG-CG",
        "certificate_number": "YJ-REG-9001", "approved_on": "2025-01-01", "representative_id": "org-x",
        "representative_name": "朴春花",
    }
    assert RegisterFile.model_validate({"organizations": [entry]}).organizations[0].name == "延吉市（春晖）社工站"
    details = refusals(RegisterFile, {"organizations": [entry | {"name": "春晖\u200d社工站"}]})
    assert len(details) == 1 and details[0].endswith("（name）：第3个字符是零宽连接符 U+200D，不能使用，请删除后重新输入")


def test_look_alike_names_fold_to_one_key() -> None:
    original = name_key("延吉市（春晖）社会工作服务中心")
    for variant in (
        "延吉市(春晖)社会工作服务中心", "延吉市【春晖】社会工作服务中心", "延吉市 （春晖） 社会工作服务中心　",
    ):
        assert name_key(variant) == original
    assert name_key("ＡＢＣ　社工站") == name_key("abc社工站")
    assert name_key("延吉市春晖社会工作服务中心") != name_key("延吉市春辉社会工作服务中心")


async def test_refusal_names_the_character_through_the_api(api: httpx.AsyncClient) -> None:
    body = factories.filing().model_dump(mode="json") | {"organization_name": "春光\u200b社区舞蹈队"}
    response = await api.post("/api/cases", json=body, headers={"X-User-Id": factories.applicant_id()})
    assert response.status_code == 422
    assert response.json()["details"] == [
        "组织名称（organization_name）：第3个字符是零宽空格 U+200B，不能使用，请删除后重新输入"
    ]


async def test_a_look_alike_of_a_registered_name_is_refused_as_a_duplicate(service: CaseService) -> None:
    tag = uuid.uuid4().hex[:6]
    load_register(service.engine, RegisterFile(organizations=[RegisterEntry(
        key=f"YJ-T-{tag}", name=f"延吉市（春晖{tag}）社工站", track="filing", community="YJ-JG-CG",
        certificate_number=f"YJ-T-{tag}", approved_on=date(2025, 1, 1), representative_id=f"org-{tag}",
        representative_name="朴春花",
    )]))
    applicant = service.actor(factories.applicant_id(), "王芳")
    for variant in (f"延吉市(春晖{tag})社工站", f"延吉市【春晖{tag}】社工站　", f"延吉市 （春晖{tag}） 社工站"):
        with pytest.raises(ServiceError) as duplicate:
            await service.submit(applicant, factories.filing(organization_name=variant))
        assert duplicate.value.kind == "conflict"
        assert f"「延吉市（春晖{tag}）社工站」同名" in duplicate.value.message
    assert service.my_cases(applicant).items == []


async def test_a_look_alike_of_an_open_case_is_refused_with_its_case_number(service: CaseService) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    applicant = service.actor(factories.applicant_id(), "王芳")
    first = await service.submit(applicant, factories.filing(organization_name=f"春光社区{tag}Café舞蹈队"))
    for variant in (f"春光社区{tag.lower()}Cafe\u0301舞蹈队", f"春光社区　{tag} Café舞蹈队　"):
        with pytest.raises(ServiceError) as duplicate:
            await service.submit(applicant, factories.filing(organization_name=variant))
        assert duplicate.value.kind == "conflict" and first.case_no in duplicate.value.message
    assert [c.case_no for c in service.my_cases(applicant).items] == [first.case_no]


# --- C. plausible dates -------------------------------------------------------------------------


def test_a_fair_in_year_9999_is_refused() -> None:
    schedule = {"demands_due": "9999-01-01T09:00:00+08:00", "fair_day": "9999-02-01", "bids_close": "9999-03-01T17:00:00+08:00"}
    details = refusals(views.FairInput, {"title": "未来的社洽会", "schedule": schedule})
    assert any(d.startswith("日程（schedule） › 需求征集截止时间（demands_due）") and "2099-12-31" in d for d in details)


def test_a_fair_planned_decades_ahead_is_refused_with_the_window() -> None:
    schedule = {"demands_due": "2060-01-01T09:00:00+08:00", "fair_day": "2060-02-01", "bids_close": "2060-03-01T17:00:00+08:00"}
    details = refusals(views.FairInput, {"title": "遥远的社洽会", "schedule": schedule})
    assert len(details) == 1 and details[0].startswith("日程（schedule）：需求征集截止时间（2060-01-01）应在")
    details = refusals(views.FailedLotInput, {"retender": True, "bids_close": "2060-01-01T17:00:00+08:00"})
    assert len(details) == 1 and details[0].startswith("重新组织时的投标截止时间（bids_close）：")


def test_a_contract_plan_from_1900_and_a_calendar_for_3000_are_refused() -> None:
    plan = {
        "start_date": "1900-01-01", "end_date": "1900-12-31",
        "milestones": [{"title": "节点一", "deliverables": ["报告"], "due_date": "1900-06-30"}],
        "tranches": [{"amount_fen": 100, "on": "signing"}],
    }
    details = refusals(ContractPlan, plan)
    assert any(d.startswith("合同开始日期（start_date）：日期 1900-01-01 不在合理范围内") for d in details)
    assert refusals(CalendarYear, {"year": 3000, "title": "3000年日历", "holidays": {}}) == ["year：不能大于2100"]


# --- D. payload budget --------------------------------------------------------------------------


def _bulky_materials() -> list[dict[str, str]]:
    """Within every model limit (200 materials, 500 characters of note each), over the budget in all."""
    return [{"material": "supplementary", "note": f"第{n}份补充材料：" + "说明" * 240} for n in range(200)]


async def test_an_oversized_update_is_refused_before_it_reaches_the_case(service: CaseService) -> None:
    applicant = service.actor(factories.applicant_id(), "王芳")
    receipt = await service.submit(applicant, factories.filing())
    before = await history_length(service.client, receipt.case_no)
    correction = views.CorrectionInput.model_validate({"materials": _bulky_materials()})
    with pytest.raises(ServiceError) as oversized:
        await service.correct(applicant, receipt.case_no, correction)
    assert oversized.value.kind == "invalid" and oversized.value.status_code == 422
    assert "KiB" in oversized.value.message and f"最多 {PAYLOAD_BUDGET // 1024} KiB" in oversized.value.message
    assert await history_length(service.client, receipt.case_no) == before
    await service.decide(service.actor("cg-zhao"), receipt.case_no, views.DecisionInput(step="preliminary_review", outcome="approve"))
    assert service.case(applicant, receipt.case_no).phase is Phase.authority_review


async def test_an_oversized_application_takes_no_case_number(api: httpx.AsyncClient) -> None:
    body = factories.filing().model_dump(mode="json")
    body["materials"] = [*body["materials"], *_bulky_materials()[: 200 - len(body["materials"])]]
    applicant = factories.applicant_id()
    response = await api.post("/api/cases", json=body, headers={"X-User-Id": applicant})
    assert response.status_code == 422 and "提交的内容太大" in response.json()["message"]
    assert (await api.get("/api/cases", headers={"X-User-Id": applicant})).json()["items"] == []
