"""A single-source contract through the HTTP API, as the department, the organizer, the supplier and
finance meet it: clear refusals in Chinese, one payment per tranche, and the public disclosure."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from api.app import create_app
from schemas.contracts import ContractPhase, TrancheStatus
from schemas.localtime import local_date
from service.contracts import ContractService
from service.fairs import FairService
from tests.conftest import GATEWAY, Skipping
from tests.contract_helpers import (
    AMOUNT,
    BUYER,
    FINANCE,
    ORGANIZER,
    SUPPLIER,
    SUPPLIER_ORG,
    plan,
    single_source,
)
from tests.helpers import until_contract

STRANGER = "org-yangguang"

REQUEST = {
    "title": "独居老人居家养老上门服务",
    "service_content": "为建工街道80岁以上独居老人提供每周两次上门探访、助洁和健康监测",
    "supplier": SUPPLIER_ORG,
    "amount_fen": AMOUNT,
    "duration_months": 12,
    "reasons": ["该协会是本街道唯一具备医养结合服务能力的社会组织"],
}


def as_user(user_id: str) -> dict[str, str]:
    return {"X-User-Id": user_id}


@pytest_asyncio.fixture
async def api(skipping: Skipping) -> AsyncIterator[httpx.AsyncClient]:
    client = skipping.env.client
    app = create_app(
        service=skipping.service,
        fairs=FairService(skipping.settings, skipping.engine, client),
        contracts=ContractService(skipping.settings, skipping.engine, client),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shezu.test", headers=GATEWAY) as http:
        yield http


async def test_a_single_source_contract_through_the_api(api: httpx.AsyncClient, skipping: Skipping) -> None:
    client = skipping.env.client
    bad = await api.post(
        "/api/contracts/single-source", json={**REQUEST, "amount_fen": 0, "reasons": []}, headers=as_user(BUYER)
    )
    assert bad.status_code == 422
    assert any("金额" in d for d in bad.json()["details"]) and any("理由" in d for d in bad.json()["details"])
    lost_standing = await api.post("/api/contracts/single-source", json={**REQUEST, "supplier": "YJ-REG-0007"}, headers=as_user(BUYER))
    assert lost_standing.status_code == 422 and "不能承接单一来源采购" in lost_standing.json()["message"]
    assert "信用状态不良" in lost_standing.json()["message"]
    unknown = await api.post("/api/contracts/single-source", json={**REQUEST, "supplier": "YJ-REG-9999"}, headers=as_user(BUYER))
    assert unknown.status_code == 404 and "不在社会组织名录中" in unknown.json()["message"]
    by_supplier = await api.post("/api/contracts/single-source", json=REQUEST, headers=as_user(SUPPLIER))
    assert by_supplier.status_code == 403 and by_supplier.json()["message"]

    created = await api.post("/api/contracts/single-source", json=REQUEST, headers=as_user(BUYER))
    assert created.status_code == 201, created.text
    contract_no = created.json()["contract_no"]
    await until_contract(client, contract_no, lambda s: s.phase is ContractPhase.approval and s.open_tasks)

    refused = await api.post(
        f"/api/contracts/{contract_no}/single-source-approval", json={"approve": True}, headers=as_user(SUPPLIER)
    )
    assert refused.status_code == 403 and "组织单位" in refused.json()["message"]
    no_reason = await api.post(
        f"/api/contracts/{contract_no}/single-source-approval", json={"approve": False}, headers=as_user(ORGANIZER)
    )
    assert no_reason.status_code == 422 and "理由" in no_reason.text
    approved = await api.post(
        f"/api/contracts/{contract_no}/single-source-approval", json={"approve": True}, headers=as_user(ORGANIZER)
    )
    assert approved.status_code == 200, approved.text
    await until_contract(client, contract_no, lambda s: s.phase is ContractPhase.drafting)

    today = local_date(await skipping.env.get_current_time())
    good = plan(today).model_dump(mode="json")
    short = {**good, "tranches": [{**good["tranches"][0], "amount_fen": 1}, *good["tranches"][1:]]}
    unbalanced = await api.post(f"/api/contracts/{contract_no}/plan", json=short, headers=as_user(BUYER))
    assert unbalanced.status_code in (409, 422) and "与合同金额（经批准的单一来源采购金额）120,000.00元不一致" in unbalanced.text
    by_stranger = await api.post(f"/api/contracts/{contract_no}/plan", json=good, headers=as_user(STRANGER))
    assert by_stranger.status_code == 404, "a stranger is answered as if the contract did not exist"
    assert (await api.post(f"/api/contracts/{contract_no}/plan", json=good, headers=as_user(BUYER))).status_code == 200
    await until_contract(client, contract_no, lambda s: s.phase is ContractPhase.signing)

    wrong_party = await api.post(f"/api/contracts/{contract_no}/signatures", json={"party": "buyer"}, headers=as_user(SUPPLIER))
    assert wrong_party.status_code == 403
    for user, party in ((BUYER, "buyer"), (SUPPLIER, "supplier")):
        signed = await api.post(f"/api/contracts/{contract_no}/signatures", json={"party": party}, headers=as_user(user))
        assert signed.status_code == 200, signed.text
    await until_contract(client, contract_no, lambda s: s.tranche("T1").status is TrancheStatus.instructed)

    early = await api.post(
        f"/api/contracts/{contract_no}/disbursements", json={"tranche_id": "T2", "voucher": "GK-0002"}, headers=as_user(FINANCE)
    )
    assert early.status_code == 409 and "T2" in early.json()["message"]
    by_buyer = await api.post(
        f"/api/contracts/{contract_no}/disbursements", json={"tranche_id": "T1", "voucher": "GK-0001"}, headers=as_user(BUYER)
    )
    assert by_buyer.status_code == 403
    paid = await api.post(
        f"/api/contracts/{contract_no}/disbursements", json={"tranche_id": "T1", "voucher": "GK-0001"}, headers=as_user(FINANCE)
    )
    assert paid.status_code == 200, paid.text
    await until_contract(client, contract_no, lambda s: s.tranche("T1").status is TrancheStatus.paid)
    again = await api.post(
        f"/api/contracts/{contract_no}/disbursements", json={"tranche_id": "T1", "voucher": "GK-0001"}, headers=as_user(FINANCE)
    )
    assert again.status_code == 409, "a tranche is recorded as paid once"

    view = (await api.get(f"/api/contracts/{contract_no}", headers=as_user(SUPPLIER))).json()
    assert view["audience"] == "supplier" and [e["entry"] for e in view["ledger"]] == ["T1"]
    assert (await api.get(f"/api/contracts/{contract_no}", headers=as_user(STRANGER))).status_code == 404
    mine = (await api.get("/api/contracts", params={"limit": 200}, headers=as_user(SUPPLIER))).json()["items"]
    assert contract_no in [c["contract_no"] for c in mine]
    assert all(c["supplier"] == SUPPLIER_ORG for c in mine), "a supplier sees only its own contracts"
    assert (await api.get("/api/contracts", headers=as_user(STRANGER))).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}

    disclosed = next(d for d in (await api.get("/api/disclosure/contracts", params={"limit": 200})).json()["items"] if d["contract_no"] == contract_no)
    assert disclosed["amount_fen"] == AMOUNT and disclosed["paid_fen"] == AMOUNT * 3 // 10
    assert [p["entry"] for p in disclosed["payments"]] == ["T1"]

    contract_document = next(d for d in view["documents"] if d["kind"] == "contract")
    pdf = await api.get(f"/api/documents/{contract_document['document_id']}.pdf", headers=as_user(SUPPLIER))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    hidden = await api.get(f"/api/documents/{contract_document['document_id']}.pdf", headers=as_user(STRANGER))
    assert hidden.status_code == 404


async def test_the_buyer_checks_a_plan_before_proposing_it_and_nothing_is_proposed(
    api: httpx.AsyncClient, skipping: Skipping
) -> None:
    """The plan editor's check through the API: the workflow's own problems, to the buyer only, and no trace."""
    contract = await single_source(skipping)
    today = await contract.today()
    good = plan(today).model_dump(mode="json")
    short = {**good, "tranches": [{**good["tranches"][0]}, {**good["tranches"][2]}]}
    checked = await api.post(f"/api/contracts/{contract.contract_no}/plan/check", json=short, headers=as_user(BUYER))
    assert checked.status_code == 200
    assert checked.json()["problems"] == ["拨付计划合计72,000.00元，与合同金额（经批准的单一来源采购金额）120,000.00元不一致，请调整各笔拨付金额"]
    fine = await api.post(f"/api/contracts/{contract.contract_no}/plan/check", json=good, headers=as_user(BUYER))
    assert fine.status_code == 200 and fine.json()["problems"] == []
    by_supplier = await api.post(f"/api/contracts/{contract.contract_no}/plan/check", json=good, headers=as_user(SUPPLIER))
    assert by_supplier.status_code == 403 and "购买方" in by_supplier.json()["message"]
    by_stranger = await api.post(f"/api/contracts/{contract.contract_no}/plan/check", json=good, headers=as_user(STRANGER))
    assert by_stranger.status_code == 404
    state = await contract.state()
    assert state.phase is ContractPhase.drafting and state.plan is None, "a check proposes nothing"
