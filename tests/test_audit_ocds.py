"""The OCDS export, offline, from the golden histories: it validates against the official 1.1.5 schema, tells each
lot's and contract's story one change at a time, and publishes nothing before the procedure makes it public."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel

from audit.history import RecordedCase, RecordedRun
from audit.ocds import PUBLISHED_DOCUMENTS, SCHEMA_DIR, cny, release_package, validate_release_package
from schemas.contracts import Amendment, AmendmentStatus, ContractPhase, ContractState
from schemas.people import Actor
from schemas.procurement import Expert, LotState
from service.fairs import PUBLIC_DOCUMENTS

GOLDEN = Path(__file__).parent / "golden"
PREFIX = "ocds-yj0001"
PUBLISHED = [
    "fair_closed", "lot_awarded", "lot_failed_retendered_closed",
    "contract_rewarded", "contract_terminated", "contract_continued",
]
AWARDED_LOT = f"{PREFIX}-YJ-SQH-2026-00001-L01"
FAILED_LOT = f"{PREFIX}-YJ-SQH-2026-00002-L01"


def recorded(name: str) -> RecordedCase:
    return RecordedCase([RecordedRun.from_json(name, (GOLDEN / f"{name}.json").read_text(encoding="utf-8"))])


def export(cases: list[Any], published_at: datetime = datetime(2027, 3, 1, tzinfo=UTC)) -> dict[str, Any]:
    return release_package(
        cases, publisher_name="延吉市民政局", prefix=PREFIX, published_at=published_at,
        uri="https://mz.yanji.gov.cn/ocds/2027-03-01.json", documents_url="https://mz.yanji.gov.cn/api/documents",
    )


@pytest.fixture(scope="module")
def cases() -> dict[str, RecordedCase]:
    return {name: recorded(name) for name in [*PUBLISHED, "lot_awarded_contract_started", "filing_approved"]}


@pytest.fixture(scope="module")
def package(cases: dict[str, RecordedCase]) -> dict[str, Any]:
    return export([cases[name] for name in PUBLISHED])


def releases(package: dict[str, Any], ocid: str) -> list[dict[str, Any]]:
    return [r for r in package["releases"] if r["ocid"] == ocid]


def content(release: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in release.items() if k not in ("id", "date", "tag")}


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- the package as a whole ----------------------------------------------------------------------------


def test_the_package_of_the_golden_fair_lots_and_contracts_validates_against_the_official_schema(package) -> None:
    assert validate_release_package(package) == []
    assert package["version"] == "1.1"
    assert package["publishedDate"] == "2027-03-01T08:00:00+08:00"
    assert package["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert json.loads(json.dumps(package, ensure_ascii=False)) == package


def test_each_lot_and_each_single_source_contract_is_one_contracting_process_and_the_fair_is_none(package) -> None:
    single_source = [f"{PREFIX}-YJ-DY-2026-{n}" for n in ("00001", "00003", "00012")]
    assert sorted({r["ocid"] for r in package["releases"]}) == [*single_source, AWARDED_LOT, FAILED_LOT]
    assert all(r["tender"]["id"] != "YJ-SQH-2026-00001" for r in package["releases"])


def test_releases_of_a_process_are_in_date_order_with_unique_ids_and_each_one_changes_something(package) -> None:
    for ocid in {r["ocid"] for r in package["releases"]}:
        story = releases(package, ocid)
        dates = [moment(r["date"]) for r in story]
        assert dates == sorted(dates), ocid
        assert len({r["id"] for r in story}) == len(story), ocid
        assert all(content(a) != content(b) for a, b in zip(story, story[1:], strict=False)), ocid
        assert story[0]["tag"][0] in ("planning", "tender"), ocid
        assert all(r["date"].endswith("+08:00") for r in story)


def test_exporting_again_in_any_order_gives_the_same_releases_and_filings_are_not_published(cases, package) -> None:
    histories = [cases["filing_approved"], *(cases[name] for name in reversed(PUBLISHED))]
    again = export(histories, published_at=datetime(2027, 4, 1, tzinfo=UTC))
    assert again["releases"] == package["releases"]


def test_two_histories_of_the_same_lot_are_refused_rather_than_merged(cases) -> None:
    with pytest.raises(ValueError, match="YJ-SQH-2026-00001-L01"):
        export([cases["lot_awarded"], cases["lot_awarded_contract_started"]])


# --- a lot ---------------------------------------------------------------------------------------------


def test_the_awarded_lot_tells_tender_result_notice_a_declined_offer_and_the_award(package) -> None:
    story = releases(package, AWARDED_LOT)
    assert [r["tag"] for r in story] == [
        ["tender"],  # catalogue published, bids invited
        ["tenderUpdate"],  # bid window closed: 4 tenderers
        ["tenderUpdate", "award"],  # result notice: who bid, the first-ranked as the proposed award
        ["awardUpdate"],  # 成交通知书 to the first-ranked
        ["awardUpdate"],  # it declined, the second is offered
        ["tenderUpdate", "awardUpdate"],  # the second accepted: tender complete, award active
    ]
    first = story[0]["tender"]
    assert first["status"] == "active" and first["value"] == {"amount": 300000, "currency": "CNY"}
    assert first["tenderPeriod"]["endDate"] == "2026-11-29T08:27:28.731000+08:00"
    assert [d["documentType"] for d in first["documents"]] == ["tenderNotice"]  # the fair's 需求公告

    declined = {a["id"]: a for a in story[4]["awards"]}
    assert declined["YJ-SQH-2026-00001-L01-B01"]["status"] == "unsuccessful"
    assert declined["YJ-SQH-2026-00001-L01-B02"]["status"] == "pending"

    last = story[-1]
    assert last["tender"]["status"] == "complete"
    award = next(a for a in last["awards"] if a["status"] == "active")
    assert award["value"] == {"amount": 260000, "currency": "CNY"}
    assert award["suppliers"] == [{"id": "YJ-REG-0002", "name": "延吉市夕阳红养老服务协会"}]
    assert award["date"] == "2026-12-11T00:01:00.579000+08:00"  # when the bidder accepted
    roles = {p["id"]: p["roles"] for p in last["parties"]}
    assert roles["延吉市卫生健康局"] == ["buyer"] and last["buyer"]["id"] == "延吉市卫生健康局"
    assert roles["延吉市民政局"] == ["procuringEntity"]
    assert roles["YJ-REG-0002"] == ["tenderer", "supplier"]
    assert roles["YJ-REG-0005"] == ["tenderer"]  # bid, failed 资格审查


def test_no_bid_price_or_bidder_is_public_before_the_result_notice_starts(cases, package) -> None:
    lot: LotState = cases["lot_awarded"].final_state
    assert lot.result_notice is not None
    notice = lot.result_notice.starts_at
    bidders = {b.organization for b in lot.bids} | {b.organization_name for b in lot.bids}
    prices = {cny(b.price_fen)["amount"] for b in lot.bids}
    story = releases(package, AWARDED_LOT)
    before = [r for r in story if moment(r["date"]) < notice]
    assert len(before) == 2
    for release in before:
        text = json.dumps(release, ensure_ascii=False)
        assert not any(bidder in text for bidder in bidders)
        assert not prices & set(amounts(release))
        assert "awards" not in release and "tenderers" not in release["tender"]
    assert "numberOfTenderers" not in before[0]["tender"]  # bid window still open
    assert before[1]["tender"]["numberOfTenderers"] == 4  # closed: how many, not who
    at_notice = story[len(before)]
    assert len(at_notice["tender"]["tenderers"]) == 4
    assert [a["status"] for a in at_notice["awards"]] == ["pending"]


def amounts(node: Any) -> list[Any]:
    if isinstance(node, dict):
        own = [node["amount"]] if "amount" in node else []
        return own + [a for v in node.values() for a in amounts(v)]
    if isinstance(node, list):
        return [a for v in node for a in amounts(v)]
    return []


def test_the_lot_that_failed_twice_and_was_closed_ends_cancelled_without_naming_a_bidder(cases, package) -> None:
    lot: LotState = cases["lot_failed_retendered_closed"].final_state
    story = releases(package, FAILED_LOT)
    assert [(r["tag"], r["tender"]["status"]) for r in story] == [
        (["tender"], "active"),
        (["tenderUpdate"], "unsuccessful"),  # 流标: one eligible bid of the three required
        (["tenderUpdate"], "active"),  # tendered again with a new bid window
        (["tenderUpdate"], "unsuccessful"),  # 流标 again
        (["tenderCancellation"], "cancelled"),  # the organizer closed the lot
    ]
    retender = story[2]["tender"]
    assert retender["tenderPeriod"]["endDate"] == "2026-12-23T00:02:01.345000+08:00"
    assert retender["numberOfTenderers"] is None  # the first round's count no longer holds
    assert story[3]["tender"]["numberOfTenderers"] == 1
    assert [d["documentType"] for d in story[-1]["tender"]["documents"]] == ["cancellationDetails"] * 2  # 流标公告
    text = json.dumps(story, ensure_ascii=False)
    assert not any(b.organization in text or b.organization_name in text for b in lot.bids)  # never a result notice
    assert all("awards" not in r for r in story)


# --- contracts ------------------------------------------------------------------------------------------


def test_a_single_source_contract_is_planned_approved_signed_delivered_paid_and_completed(cases, package) -> None:
    contract: ContractState = cases["contract_rewarded"].final_state
    story = releases(package, f"{PREFIX}-YJ-DY-2026-00001")
    assert story[0]["tag"] == ["planning"]
    tender = story[0]["tender"]
    assert tender["status"] == "planning" and tender["procurementMethod"] == "limited"
    assert tender["procurementMethodRationale"] == "；".join(contract.basis.single_source_reasons)
    assert story[1]["tag"] == ["tender", "award", "contract"]  # approved by 民政局
    assert story[1]["contracts"][0]["status"] == "pending"
    signed = next(r for r in story[1:] if r["contracts"][0]["status"] == "active")
    assert signed["tag"] == ["contractUpdate"]
    assert signed["contracts"][0]["dateSigned"] == "2026-11-22T10:07:12.005000+08:00"
    assert "implementation" in [t for r in story for t in r["tag"]]
    assert story[-1]["tag"] == ["contractTermination"]  # completed: OCDS calls any contract come to a close terminated

    final = story[-1]["contracts"][0]
    assert final["status"] == "terminated" and final["value"] == {"amount": 120000, "currency": "CNY"}
    delivered = [(m["id"], m["status"]) for m in final["milestones"] if m["type"] == "delivery"]
    assert delivered == [("M1", "met"), ("M2", "met")]
    assert final["milestones"][0]["dateMet"] == "2026-11-22T10:07:12.404000+08:00"
    assert final["milestones"][0]["dueDate"] == "2026-12-22T23:59:59+08:00"
    assert [m["description"] for m in final["milestones"] if m["type"] == "assessment"][-1].startswith("优（优秀）；以奖代补奖励")
    assert {p["id"]: p["roles"] for p in story[-1]["parties"]}["延吉市财政局"] == ["payer"]


def test_paid_tranches_and_the_reward_are_transactions_in_exact_yuan(cases, package) -> None:
    for name, ocid in [("contract_rewarded", "YJ-DY-2026-00001"), ("contract_terminated", "YJ-DY-2026-00003"),
                       ("contract_continued", "YJ-DY-2026-00012")]:
        state: ContractState = cases[name].final_state
        paid = [t for t in [*state.tranches, *([state.reward] if state.reward else [])] if t.paid_at]
        contract = releases(package, f"{PREFIX}-{ocid}")[-1]["contracts"][0]
        transactions = contract["implementation"]["transactions"]
        assert [(t["id"], Decimal(str(t["value"]["amount"])), t["value"]["currency"]) for t in transactions] == [
            (f"{t.tranche_id}-{t.voucher}", Decimal(t.amount_fen) / 100, "CNY") for t in paid
        ]
        assert all(t["payer"]["id"] == "延吉市财政局" and t["payee"]["id"] == state.basis.supplier for t in transactions)
        tranches_paid = sum(Decimal(str(t["value"]["amount"])) for t in transactions if not t["id"].startswith("R"))
        assert tranches_paid * 100 == sum(t.amount_fen for t in state.tranches if t.paid_at)
    rewarded = releases(package, f"{PREFIX}-YJ-DY-2026-00001")[-1]["contracts"][0]
    reward = [t for t in rewarded["implementation"]["transactions"] if t["id"].startswith("R1-")]
    assert [t["value"]["amount"] for t in reward] == [20000]  # outside the contract value of 120000
    assert sum(t["value"]["amount"] for t in rewarded["implementation"]["transactions"]) == 140000


def test_a_terminated_contract_ends_with_its_termination_and_payments_made_afterwards(package) -> None:
    story = releases(package, f"{PREFIX}-YJ-DY-2026-00003")
    ending = next(i for i, r in enumerate(story) if "contractTermination" in r["tag"])
    contract = story[ending]["contracts"][0]
    assert contract["status"] == "terminated"
    delivered = {m["id"]: m["status"] for m in contract["milestones"] if m["type"] == "delivery"}
    assert delivered == {"M1": "met", "M2": "notMet"}
    assert [r["tag"] for r in story[ending + 1:]] == [["implementationUpdate"]] * 2  # instructed tranches still paid
    transactions = story[-1]["contracts"][0]["implementation"]["transactions"]
    assert [t["id"].split("-")[0] for t in transactions] == ["T1", "T2"]  # T3 withheld: never a transaction
    assessed = [(m["description"], m["status"], "dateMet" in m) for m in contract["milestones"] if m["type"] == "assessment"]
    assert assessed == [("差（不合格）", "notMet", False)] * 2, "a failed evaluation is not a milestone met"


def test_a_lots_contract_continues_the_lots_contracting_process(cases) -> None:
    lot: LotState = cases["lot_awarded"].final_state
    contract = as_contract_of(cases["contract_rewarded"], lot)
    package = export([cases["fair_closed"], cases["lot_awarded"], contract])
    assert validate_release_package(package) == []
    assert {r["ocid"] for r in package["releases"]} == {AWARDED_LOT}
    story = releases(package, AWARDED_LOT)
    signing = next(r for r in story if "contract" in r["tag"])
    assert signing["tag"] == ["contract"]
    awarded = next(a for a in signing["awards"] if a["status"] == "active")
    assert signing["contracts"][0]["awardID"] == awarded["id"] == "YJ-SQH-2026-00001-L01-B02"
    assert signing["contracts"][0]["id"] == "YJ-SQH-2026-00001-L01-HT"
    assert story[-1]["tag"] == ["contractTermination"]
    roles = {p["id"]: p["roles"] for p in story[-1]["parties"]}
    assert roles["YJ-REG-0002"] == ["tenderer", "supplier", "payee"]


def as_contract_of(contract: RecordedCase, lot: LotState) -> SimpleNamespace:
    """contract_rewarded as if lot L01 had awarded it, starting a minute after the award: no golden history
    records a lot's contract (lot_awarded_contract_started only records that the lot started one)."""
    assert lot.contract is not None and lot.result is not None
    facts = lot.contract
    shift = lot.result.decided_at + timedelta(minutes=1) - contract.snapshots[0].at

    def of_the_lot(state: ContractState) -> ContractState:
        basis = state.basis.model_copy(
            update={"contract_no": facts.contract_no, "origin": "lot", "lot_no": facts.lot_no, "fair_no": facts.fair_no}
        )
        phase = ContractPhase.drafting if state.phase is ContractPhase.approval else state.phase
        return state.model_copy(update={"contract_no": facts.contract_no, "basis": basis, "phase": phase})

    snapshots = [replace(s, at=s.at + shift, state=of_the_lot(s.state)) for s in contract.snapshots]
    return SimpleNamespace(
        process=contract.process, workflow_id=facts.contract_no, snapshots=snapshots, final_state=snapshots[-1].state
    )


def test_a_lots_contract_without_its_lot_is_refused(cases) -> None:
    contract = as_contract_of(cases["contract_rewarded"], cases["lot_awarded"].final_state)
    with pytest.raises(ValueError, match="请一并导出该项目的历史"):
        export([contract])


# --- publication rules -------------------------------------------------------------------------------------


def test_no_person_is_named_anywhere(cases, package) -> None:
    people = {name for name in PUBLISHED for s in cases[name].snapshots for name in names_in(s.state)}
    assert {"金海燕", "王德福", "陈洁", "赵国庆", "全永哲", "南宫明"} <= people  # staff, bidders, experts, finance, evaluator
    text = json.dumps(package, ensure_ascii=False)
    assert [person for person in people if person in text] == []


def names_in(node: Any) -> set[str]:
    if isinstance(node, Actor | Expert):
        return {node.name}
    if isinstance(node, BaseModel):
        return {n for field in type(node).model_fields for n in names_in(getattr(node, field))}
    if isinstance(node, list | tuple):
        return {n for item in node for n in names_in(item)}
    if isinstance(node, dict):
        return {n for item in node.values() for n in names_in(item)}
    return set()


def test_only_documents_the_lot_service_shows_anyone_are_listed(package) -> None:
    assert set(PUBLISHED_DOCUMENTS) == PUBLIC_DOCUMENTS
    documents = [d for r in package["releases"] for d in r["tender"].get("documents", [])]
    assert {d["title"] for d in documents} == {"政府购买服务需求公告", "评审结果公示", "流标公告"}
    assert all(re.fullmatch(r"https://mz\.yanji\.gov\.cn/api/documents/[\w-]+\.pdf", d["url"]) for d in documents), documents
    assert all("documents" not in c for r in package["releases"] for c in r.get("contracts", []))


def test_organizations_are_identified_by_their_unified_social_credit_code_where_the_register_has_one(cases) -> None:
    codes = {"YJ-REG-0001": "52222401MJ0000001X", "YJ-REG-0002": "51222401MJ0000002X"}
    package = release_package(
        [cases[name] for name in PUBLISHED], publisher_name="延吉市民政局", prefix=PREFIX,
        published_at=datetime(2027, 3, 1, tzinfo=UTC), uri="https://mz.yanji.gov.cn/ocds/2027-03-01.json",
        documents_url="https://mz.yanji.gov.cn/api/documents", credit_codes=codes,
    )
    assert validate_release_package(package) == []
    parties = {p["id"]: p for r in package["releases"] for p in r["parties"]}
    assert parties["YJ-REG-0002"]["identifier"] == {"scheme": "CN-USCC", "id": "51222401MJ0000002X", "legalName": "延吉市夕阳红养老服务协会"}
    assert parties["YJ-REG-0001"]["identifier"]["id"] == "52222401MJ0000001X"
    assert "identifier" not in parties["YJ-REG-0003"], "no code in the register, no identifier invented"


def test_amounts_are_exact_yuan_from_integer_fen() -> None:
    assert cny(26000000) == {"amount": 260000, "currency": "CNY"}
    assert type(cny(26000000)["amount"]) is int
    assert json.dumps(cny(12345)["amount"]) == "123.45"
    assert json.dumps(cny(1)["amount"]) == "0.01"
    assert json.dumps(cny(10**11 + 7)["amount"]) == "1000000000.07"
    assert Decimal(repr(cny(99999999999)["amount"])) == Decimal("999999999.99")
    with pytest.raises(TypeError):
        cny(123.45)  # type: ignore[arg-type]


# --- validation ---------------------------------------------------------------------------------------------


def test_a_broken_package_is_reported_invalid_naming_the_field(package) -> None:
    broken = copy.deepcopy(package)
    award_release = next(i for i, r in enumerate(broken["releases"]) if r.get("awards"))
    broken["releases"][award_release]["awards"][0]["value"]["amount"] = "260000"
    broken["releases"][0]["tag"] = ["awarded"]
    broken["releases"][1]["date"] = "2026-11-22 10:07"
    broken["releases"][2]["tender"]["value"]["currency"] = "RMB"
    del broken["releases"][3]["ocid"]
    broken["uri"] = "package 2027"
    errors = validate_release_package(broken)
    assert f"$.releases[{award_release}].awards[0].value.amount: '260000' is not of type 'number', 'null'" in errors
    assert any(e.startswith("$.releases[0].tag[0]: 'awarded' is not one of") for e in errors)
    assert "$.releases[1].date: '2026-11-22 10:07' is not a 'date-time'" in errors
    assert any(e.startswith("$.releases[2].tender.value.currency: 'RMB' is not one of the") for e in errors)
    assert "$.releases[3]: 'ocid' is a required property" in errors
    assert "$.uri: 'package 2027' is not a 'uri'" in errors
    assert len(errors) == 6


def test_the_vendored_schema_is_the_official_ocds_1_1_5_schema() -> None:
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(SCHEMA_DIR.glob("*.json"))}
    assert digests == {
        "release-package-schema.json": "06577cec73cc16eca0cac331a7ea9ee9cd684b21c55f5f0711f7442623153698",
        "release-schema.json": "fac192e1ccfb061f5164bdb2d64c29e517c0f81661996b97de40cebc55a2c1bc",
    }


def test_an_amendment_both_parties_agreed_is_a_contract_amendment(cases) -> None:
    contract = cases["contract_rewarded"]
    signed = next(s for s in contract.snapshots if s.state.phase is ContractPhase.in_force)
    state: ContractState = signed.state
    assert state.plan is not None
    buyer, supplier = (s.by for s in state.signatures)
    amendment = Amendment(
        amount_fen=13000000, plan=state.plan, reasons=["服务对象增加10人"], amendment_no=1, proposed_by=buyer,
        proposed_at=signed.at, status=AmendmentStatus.agreed, answered_by=supplier,
        answered_at=signed.at + timedelta(days=1), version=2,
    )
    amended = state.model_copy(
        update={"amendments": [amendment], "amount_fen": 13000000, "version": 2, "revision": state.revision + 1}
    )
    before = contract.snapshots[: contract.snapshots.index(signed) + 1]
    history = [*before, replace(signed, at=amendment.answered_at, state=amended)]
    case = SimpleNamespace(process=contract.process, workflow_id="amended", snapshots=history, final_state=amended)
    package = export([case])
    assert validate_release_package(package) == []
    last = package["releases"][-1]
    assert last["tag"] == ["contractAmendment"]
    assert last["contracts"][0]["value"] == {"amount": 130000, "currency": "CNY"}
    assert last["contracts"][0]["amendments"] == [
        {
            "id": "1",
            "date": "2026-11-23T10:07:12.261000+08:00",
            "rationale": "服务对象增加10人",
            "description": "双方同意，形成第2版合同，合同金额变更为130,000.00元",
        }
    ]
    assert "王德福" not in json.dumps(package, ensure_ascii=False)  # who agreed stays private
