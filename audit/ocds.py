"""Open Contracting Data Standard 1.1 release packages of the 社洽会 lots and the contracts, for publication.

A contracting process is one lot (ocid ``{prefix}-{lot_no}``) together with the contract it awarded, or one
single-source contract (``{prefix}-{contract_no}``). A fair is not one: it only contributes its published catalogue
(需求公告) to the tender of each of its lots.

The releases are read off the recorded histories: every state the lot and its contract projected, in time order, is
turned into what the public may know about the process at that moment, and a release is emitted whenever that changes.
What the public may know follows the procedure, not the data at hand: no bid, price, score or tenderer before the lot's
result notice (公示) starts, only the documents the lot service shows anyone, and no person's name anywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from audit.history import RecordedCase
from schemas.case import TimelineEvent
from schemas.contracts import AmendmentStatus, ContractPhase, ContractState, EvaluationKind, Milestone
from schemas.documents import DocumentKind, DocumentRef
from schemas.localtime import SHANGHAI
from schemas.money import yuan
from schemas.people import Role
from schemas.procurement import Eligibility, FairState, LotPhase, LotState, Offer, OfferResponse

OCDS_VERSION = "1.1"
SCHEMA_DIR = Path(__file__).parent / "ocds_schema" / "1.1.5"
RELEASE_SCHEMA_URI = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
CC_BY_4 = "https://creativecommons.org/licenses/by/4.0/"

PUBLISHED_DOCUMENTS: dict[DocumentKind, str] = {
    DocumentKind.demand_catalogue: "tenderNotice",
    DocumentKind.result_publication: "evaluationReports",
    DocumentKind.failed_lot_notice: "cancellationDetails",
    DocumentKind.retender_notice: "tenderNotice",
}
"""The documents anyone may read in the lot service (service/fairs.py), with their OCDS documentType. Award notices
and result letters are addressed to one bidder, and contract documents only to the parties, so none is listed."""

LOT_TENDER_STATUS: dict[LotPhase, str] = {
    LotPhase.bidding: "active",
    LotPhase.screening: "active",
    LotPhase.evaluation: "active",
    LotPhase.result_notice: "active",
    LotPhase.awarding: "active",
    LotPhase.awarded: "complete",
    LotPhase.failed: "unsuccessful",
    LotPhase.closed: "cancelled",
}
"""A 流标 round is unsuccessful (the organizer may still tender again); closing the lot afterwards cancels it."""

AWARD_STATUS: dict[OfferResponse | None, str] = {
    None: "pending",
    OfferResponse.accepted: "active",
    OfferResponse.declined: "unsuccessful",
    OfferResponse.expired: "unsuccessful",
    OfferResponse.disqualified: "cancelled",
}
"""An offer the bidder let go could not be awarded; one the organizer withdrew was cancelled."""

END_OF_DAY = time(23, 59, 59)
"""A plan's dates are whole days; OCDS wants moments, so a period or due date runs to the day's end."""

ROLE_ORDER = ("buyer", "procuringEntity", "tenderer", "supplier", "payer", "payee")


# --- money and time ---------------------------------------------------------------------------------


def cny(fen: int) -> dict[str, Any]:
    """An OCDS value from integer fen, exactly: ``26000000`` → 260000 yuan, ``12345`` → 123.45 yuan.

    Whole yuan stay an int. Otherwise the float is made from the exact Decimal: below 10^13 yuan an amount has at most
    15 significant digits, which a float keeps, and ``repr`` (so ``json.dumps``) prints the shortest text that reads
    back as the same float — the decimal itself, never 123.45000000000002.
    """
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"amount must be integer fen, got {fen!r}")
    if abs(fen) >= 10**15:
        raise ValueError(f"{fen} fen has too many digits to be published exactly as a JSON number")
    whole, cents = divmod(fen, 100)
    return {"amount": whole if cents == 0 else float(Decimal(fen).scaleb(-2)), "currency": "CNY"}


def _when(moment: datetime) -> str:
    """A moment as OCDS wants it (RFC 3339 with an offset), in the bureau's time."""
    return moment.astimezone(SHANGHAI).isoformat()


def _day(day: date, at: time) -> str:
    return datetime.combine(day, at, SHANGHAI).isoformat()


# --- the contracting processes -----------------------------------------------------------------------


@dataclass
class _Process:
    """One contracting process: a lot and the contract it awarded, or a single-source contract alone."""

    ocid: str
    lot: RecordedCase | None = None
    contract: RecordedCase | None = None


@dataclass(frozen=True)
class _Moment:
    """The process as it stood after one projected state of its lot or contract."""

    at: datetime
    release_id: str
    lot: LotState | None
    contract: ContractState | None


def _processes(cases: Iterable[RecordedCase], prefix: str) -> tuple[dict[str, FairState], list[_Process]]:
    fairs: dict[str, FairState] = {}
    processes: dict[str, _Process] = {}
    for case in cases:
        state = case.final_state
        if state is None:  # nothing was ever projected, so nothing was ever public
            continue
        kind = case.process.workflow_type
        if kind == "FairWorkflow":
            fairs[state.fair_no] = state
        elif kind == "LotWorkflow":
            _claim(processes, f"{prefix}-{state.lot_no}", "lot", case)
        elif kind == "ContractWorkflow":
            key = state.basis.lot_no if state.basis.origin == "lot" else state.contract_no
            _claim(processes, f"{prefix}-{key}", "contract", case)
    for process in processes.values():
        contract = process.contract.final_state if process.contract else None
        if contract is not None and contract.basis.origin == "lot" and process.lot is None:
            raise ValueError(f"合同 {contract.contract_no} 由项目 {contract.basis.lot_no} 成交产生，请一并导出该项目的历史")
    return fairs, [processes[ocid] for ocid in sorted(processes)]


def _claim(processes: dict[str, _Process], ocid: str, part: str, case: RecordedCase) -> None:
    process = processes.setdefault(ocid, _Process(ocid))
    held = getattr(process, part)
    if held is not None:
        raise ValueError(f"{ocid} 有两份{case.process.label}历史：{held.workflow_id}、{case.workflow_id}")
    setattr(process, part, case)


def _moments(process: _Process) -> Iterator[_Moment]:
    """The lot's and the contract's projected states merged in time order (the lot first at the same instant)."""
    steps = [
        (snapshot.at, source, n, snapshot)
        for source, case in enumerate((process.lot, process.contract))
        if case is not None
        for n, snapshot in enumerate(case.snapshots)
    ]
    lot: LotState | None = None
    contract: ContractState | None = None
    for at, source, _, snapshot in sorted(steps, key=lambda step: step[:3]):
        state = snapshot.state
        if source == 0:
            lot, case_no = state, state.lot_no
        else:
            contract, case_no = state, state.contract_no
        yield _Moment(at, f"{case_no}-r{state.revision}", lot, contract)


# --- releases -----------------------------------------------------------------------------------------


def release_package(
    cases: Iterable[RecordedCase],
    *,
    publisher_name: str,
    prefix: str,
    published_at: datetime,
    uri: str,
    documents_url: str,
    credit_codes: Mapping[str, str] | None = None,
    license: str | None = CC_BY_4,
    publication_policy: str | None = None,
    publisher_scheme: str | None = None,
    publisher_uid: str | None = None,
) -> dict[str, Any]:
    """The OCDS release package of every lot and contract among ``cases`` (fairs give context, filings are ignored).

    Releases are grouped by ocid in ocid order and, within a process, in time order; their ids come from the case and
    its revision, so exporting the same histories again gives the same releases. ``documents_url`` is where the public
    downloads documents (the API's ``/api/documents``); each listed document carries its address there.
    ``credit_codes`` gives the 统一社会信用代码 the register holds for an organization (register key → code); such an
    organization is identified by it (scheme ``CN-USCC``).
    """
    if published_at.tzinfo is None:
        raise ValueError("published_at must carry a time zone")
    fairs, processes = _processes(cases, prefix)
    publisher: dict[str, str] = {"name": publisher_name}
    if publisher_scheme:
        publisher["scheme"] = publisher_scheme
    if publisher_uid:
        publisher["uid"] = publisher_uid
    package: dict[str, Any] = {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": _when(published_at),
        "publisher": publisher,
    }
    if license:
        package["license"] = license
    if publication_policy:
        package["publicationPolicy"] = publication_policy
    package["releases"] = [release for process in processes for release in _releases(process, fairs, documents_url, credit_codes or {})]
    return package


def _releases(
    process: _Process, fairs: dict[str, FairState], documents_url: str, credit_codes: Mapping[str, str]
) -> list[dict[str, Any]]:
    award_id = _contract_award_id(process)
    releases: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    for moment in _moments(process):
        view = _view(moment, fairs, award_id, last.get("awards", []) if last else [], documents_url, credit_codes)
        if view == last:
            continue
        releases.append(
            {
                "ocid": process.ocid,
                "id": moment.release_id,
                "date": _when(moment.at),
                "tag": _tags(last, view),
                "initiationType": "tender",
                "language": "zh",
                **view,
            }
        )
        last = view
    return releases


def _contract_award_id(process: _Process) -> str | None:
    """The award the process's contract carries out: a single-source approval, or for a lot's contract the last
    offer to its supplier (the one it accepted)."""
    contract = process.contract.final_state if process.contract else None
    if contract is None:
        return None
    if contract.basis.origin == "single_source":
        return f"{contract.contract_no}-award"
    assert process.lot is not None  # _processes refuses a lot's contract without its lot
    lot: LotState = process.lot.final_state
    offers = [o for r in lot.previous_rounds for o in r.offers] + lot.offers
    to_supplier = [o for o in offers if o.organization == contract.basis.supplier]
    if not to_supplier:
        raise ValueError(f"项目 {lot.lot_no} 的历史中没有向「{contract.basis.supplier_name}」发出的成交通知书")
    return _award_id(lot.lot_no, to_supplier[-1])


def _view(
    moment: _Moment, fairs: dict[str, FairState], award_id: str | None, published: list[dict[str, Any]],
    documents_url: str, credit_codes: Mapping[str, str],
) -> dict[str, Any]:
    """What the public may know about the process at this moment (everything of a release but its id, date and tag)."""
    parties = _Parties(credit_codes)
    if moment.lot is not None:
        lot = moment.lot
        buyer = parties.ref(lot.demand.department_office, lot.demand.department_office, "buyer")
        tender = _lot_tender(lot, fairs.get(lot.fair_no), parties, documents_url)
        awards = _lot_awards(lot, parties)
    else:
        assert moment.contract is not None and award_id is not None
        basis = moment.contract.basis
        buyer = parties.ref(basis.buyer_office, basis.buyer_office, "buyer")
        tender, awards = _single_source(moment.contract, award_id, parties)
    awards = _still_published(published, awards, parties)
    contract = _contract(moment.contract, award_id, parties) if moment.contract and award_id else None
    view: dict[str, Any] = {"parties": parties.listed(), "buyer": buyer, "tender": tender}
    if awards:
        view["awards"] = awards
    if contract:
        view["contracts"] = [contract]
    return view


class _Parties:
    """The organizations a release names, each once with every role it plays; ids are stable across releases
    (an office's name, an organization's register key) so a compiled record merges them."""

    def __init__(self, credit_codes: Mapping[str, str]) -> None:
        self._parties: dict[str, dict[str, Any]] = {}
        self._credit_codes = credit_codes

    def ref(self, party_id: str, name: str, role: str) -> dict[str, str]:
        party = self._parties.setdefault(party_id, self._party(party_id, name))
        if role not in party["roles"]:
            party["roles"].append(role)
        return {"id": party_id, "name": name}

    def _party(self, party_id: str, name: str) -> dict[str, Any]:
        party: dict[str, Any] = {"id": party_id, "name": name}
        if code := self._credit_codes.get(party_id):
            party["identifier"] = {"scheme": "CN-USCC", "id": code, "legalName": name}
        party["roles"] = []
        return party

    def listed(self) -> list[dict[str, Any]]:
        return [{**party, "roles": sorted(party["roles"], key=ROLE_ORDER.index)} for party in self._parties.values()]


# --- a lot: tender and awards ----------------------------------------------------------------------------


def _lot_tender(lot: LotState, fair: FairState | None, parties: _Parties, documents_url: str) -> dict[str, Any]:
    """The lot as the catalogue announced it; how many bid once the window closed; who bid once the result is public."""
    demand = lot.demand
    round_opened = max((e.at for e in lot.timeline if e.action == "retendered"), default=lot.opened_at)
    tender: dict[str, Any] = {
        "id": lot.lot_no,
        "title": demand.title,
        "description": demand.service_content,
        "status": LOT_TENDER_STATUS[lot.phase],
        "procuringEntity": parties.ref(lot.organizer.name, lot.organizer.name, "procuringEntity"),
        "value": cny(demand.budget_ceiling_fen),
        "procurementMethod": "open",
        "procurementMethodDetails": f"社洽会（{lot.fair_title}）",
        "mainProcurementCategory": "services",
        "awardCriteria": "ratedCriteria",
        "eligibilityCriteria": _eligibility(demand.requirements, lot),
        "tenderPeriod": {"startDate": _when(round_opened), "endDate": _when(lot.bids_close)},
    }
    if lot.phase is not LotPhase.bidding:
        tender["numberOfTenderers"] = len(lot.active_bids)
    elif lot.round > 1:
        tender["numberOfTenderers"] = None  # a new bid window: clears the last round's count in a compiled record
    if lot.result_notice is not None:
        bidders = {b.organization: b.organization_name for b in lot.active_bids}
        tender["tenderers"] = [parties.ref(key, name, "tenderer") for key, name in bidders.items()]
    catalogue = [d for d in fair.documents if d.kind in PUBLISHED_DOCUMENTS] if fair else []
    documents = [_document(d, documents_url) for d in catalogue + [d for d in lot.documents if d.kind in PUBLISHED_DOCUMENTS]]
    if documents:
        tender["documents"] = documents
    return tender


def _eligibility(requirements: Eligibility, lot: LotState) -> str:
    """In the words of the published catalogue (templates/documents/_macros.html)."""
    parts = []
    if requirements.registered_only:
        parts.append("仅限登记的社会组织（社会团体、社会服务机构），备案的社区社会组织不可投标")
    if requirements.minimum_grade:
        parts.append(f"社会组织评估等级{requirements.minimum_grade}以上（含{requirements.minimum_grade}）")
    if requirements.jurisdiction:
        code = requirements.jurisdiction
        place = next((j.full_name for j in lot.locality.chain if j.code == code), code)
        parts.append(f"须在{place}（含下属街道、社区）备案或登记")
    return "；".join(parts) or "无特别要求"


def _lot_awards(lot: LotState, parties: _Parties) -> list[dict[str, Any]]:
    """Nothing before the result notice; during it the first-ranked bid as the proposed award; then every
    成交通知书 of every round, as its bidder answered it."""
    offers = [o for r in lot.previous_rounds for o in r.offers] + lot.offers
    awards = [_offer_award(lot.lot_no, offer, parties) for offer in offers]
    if lot.phase is LotPhase.result_notice and lot.result_notice and lot.ranking and lot.ranking.standing:
        top = lot.ranking.standing[0]
        awards.append(
            {
                "id": f"{lot.lot_no}-{top.bid_id}",
                "description": "评审结果公示中，排名第一",
                "status": "pending",
                "date": _when(lot.result_notice.starts_at),
                "value": cny(top.price_fen),
                "suppliers": [parties.ref(top.organization, top.organization_name, "supplier")],
            }
        )
    return awards


def _award_id(lot_no: str, offer: Offer) -> str:
    return f"{lot_no}-{offer.bid_id}"


def _offer_award(lot_no: str, offer: Offer, parties: _Parties) -> dict[str, Any]:
    return {
        "id": _award_id(lot_no, offer),
        "description": offer.response.label if offer.response else "已发出成交通知书，待确认",
        "status": AWARD_STATUS[offer.response],
        "date": _when(offer.responded_at or offer.offered_at),
        "value": cny(offer.price_fen),
        "suppliers": [parties.ref(offer.organization, offer.organization_name, "supplier")],
    }


def _still_published(
    published: list[dict[str, Any]], awards: list[dict[str, Any]], parties: _Parties
) -> list[dict[str, Any]]:
    """An award once published never silently disappears: one the state no longer shows (a proposed winner
    disqualified during the notice) stays, cancelled."""
    current = {award["id"]: award for award in awards}
    withdrawn = {"status": "cancelled", "description": OfferResponse.disqualified.label}
    kept = [current.pop(award["id"], None) or {**award, **withdrawn} for award in published]
    for award in kept:
        for supplier in award["suppliers"]:
            parties.ref(supplier["id"], supplier["name"], "supplier")
    return kept + list(current.values())


def _document(ref: DocumentRef, documents_url: str) -> dict[str, str]:
    return {
        "id": ref.number,
        "documentType": PUBLISHED_DOCUMENTS[ref.kind],
        "title": ref.title,
        "url": f"{documents_url.rstrip('/')}/{ref.document_id}.pdf",
        "format": "application/pdf",
        "datePublished": _when(ref.issued_at),
        "language": "zh",
    }


# --- a single-source purchase: tender and award --------------------------------------------------------


def _single_source(
    contract: ContractState, award_id: str, parties: _Parties
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Planned while the organizer decides, then awarded to the named organization (or cancelled if refused)."""
    basis = contract.basis
    approved = _event(contract, "single_source_approved")
    status = "cancelled" if _event(contract, "single_source_refused") else "complete" if approved else "planning"
    tender = {
        "id": basis.contract_no,
        "title": basis.title,
        "description": basis.service_content,
        "status": status,
        "procuringEntity": parties.ref(contract.organizer.name, contract.organizer.name, "procuringEntity"),
        "value": cny(basis.amount_fen),
        "procurementMethod": "limited",
        "procurementMethodDetails": "单一来源采购",
        "procurementMethodRationale": "；".join(basis.single_source_reasons),
        "mainProcurementCategory": "services",
    }
    if approved is None:
        return tender, []
    award = {
        "id": award_id,
        "description": "组织单位同意单一来源采购",
        "status": "active",
        "date": _when(approved.at),
        "value": cny(basis.amount_fen),
        "suppliers": [parties.ref(basis.supplier, basis.supplier_name, "supplier")],
    }
    return tender, [award]


def _event(contract: ContractState, action: str) -> TimelineEvent | None:
    return next((e for e in contract.timeline if e.action == action), None)


# --- the contract and its implementation ---------------------------------------------------------------


def _contract(contract: ContractState, award_id: str, parties: _Parties) -> dict[str, Any] | None:
    """Terms once there is a contract to sign; milestones as accepted, evaluations as graded (both public in
    定期公开), and only payments finance actually made."""
    if contract.phase is ContractPhase.approval or _event(contract, "single_source_refused"):
        return None
    signed_at = _signed_at(contract)
    ended = contract.phase in (ContractPhase.completed, ContractPhase.terminated)
    if contract.phase in (ContractPhase.drafting, ContractPhase.signing):
        status = "pending"
    elif ended:
        status = "terminated" if signed_at else "cancelled"
    else:
        status = "active"
    terms: dict[str, Any] = {
        "id": contract.contract_no,
        "awardID": award_id,
        "title": contract.basis.title,
        "status": status,
    }
    if contract.plan:
        plan = contract.plan
        terms["period"] = {"startDate": _day(plan.start_date, time(0)), "endDate": _day(plan.end_date, END_OF_DAY)}
    terms["value"] = cny(contract.amount_fen)
    if signed_at:
        terms["dateSigned"] = _when(signed_at)
    milestones = [_delivery(m, ended) for m in contract.milestones] + _evaluations(contract)
    if milestones:
        terms["milestones"] = milestones
    amendments = [
        {
            "id": str(a.amendment_no),
            "date": _when(a.answered_at or a.proposed_at),
            "rationale": "；".join(a.reasons),
            "description": f"双方同意，形成第{a.version}版合同" + (f"，合同金额变更为{yuan(a.amount_fen)}" if a.amount_fen else ""),
        }
        for a in contract.amendments
        if a.status is AmendmentStatus.agreed
    ]
    if amendments:
        terms["amendments"] = amendments
    transactions = _transactions(contract, parties)
    if transactions:
        terms["implementation"] = {"transactions": transactions}
    return terms


def _signed_at(contract: ContractState) -> datetime | None:
    """When the first version both parties signed took effect: its later signature."""
    for version in sorted({s.version for s in contract.signatures}):
        signatures = [s for s in contract.signatures if s.version == version]
        if {s.party for s in signatures} == {"buyer", "supplier"}:
            return max(s.at for s in signatures)
    return None


def _delivery(milestone: Milestone, ended: bool) -> dict[str, Any]:
    delivered: dict[str, Any] = {
        "id": milestone.milestone_id,
        "title": milestone.title,
        "type": "delivery",
        "dueDate": _day(milestone.due_date, END_OF_DAY),
        "status": "met" if milestone.accepted_at else "notMet" if ended else "scheduled",
    }
    if milestone.accepted_at:
        delivered["dateMet"] = _when(milestone.accepted_at)
    return delivered


def _evaluations(contract: ContractState) -> list[dict[str, Any]]:
    """Each performance evaluation as an assessment milestone with its grade; the final one names the 以奖代补
    reward it earned, which is paid outside the contract amount."""
    finals = [e for e in contract.evaluations if e.stage is EvaluationKind.final and e.passed]
    assessed = []
    for evaluation in contract.evaluations:
        description = f"{evaluation.grade}（{evaluation.grade_label}）"
        if contract.reward and finals and evaluation is finals[-1]:
            description += f"；以奖代补奖励{yuan(contract.reward.amount_fen)}，在合同金额之外拨付（{contract.reward.tranche_id}）"
        assessed.append(
            {
                "id": evaluation.evaluation_id,
                "title": evaluation.kind.label,
                "type": "assessment",
                "description": description,
                # a failed evaluation is a milestone not met, though the evaluation itself took place
                **({"status": "met", "dateMet": _when(evaluation.submitted_at)} if evaluation.passed else {"status": "notMet"}),
            }
        )
    return assessed


def _transactions(contract: ContractState, parties: _Parties) -> list[dict[str, Any]]:
    """Paid tranches and the paid reward, from 财政局 (who records every disbursement) to the supplier."""
    entries = [*contract.tranches, *([contract.reward] if contract.reward else [])]
    paid = [(entry, entry.paid_at) for entry in entries if entry.paid_at is not None]
    if not paid:
        return []
    finance = contract.locality.office(Role.finance, contract.locality.chain[0].level).name
    payer = parties.ref(finance, finance, "payer")
    payee = parties.ref(contract.basis.supplier, contract.basis.supplier_name, "payee")
    return [
        {
            "id": f"{entry.tranche_id}-{entry.voucher}",
            "date": _when(paid_at),
            "value": cny(entry.amount_fen),
            "payer": payer,
            "payee": payee,
        }
        for entry, paid_at in paid
    ]


# --- tags: what changed ------------------------------------------------------------------------------------


def _tags(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    before = before or {}
    return (
        _tender_tags(before.get("tender"), after["tender"])
        + _award_tags(before.get("awards", []), after.get("awards", []))
        + _contract_tags(before.get("contracts", [None])[0], after.get("contracts", [None])[0])
    )


def _tender_tags(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    if before == after:
        return []
    if after["status"] == "planning":
        return ["planningUpdate" if before else "planning"]
    if after["status"] == "cancelled":
        return ["tenderCancellation"]
    return ["tender"] if before is None or before["status"] == "planning" else ["tenderUpdate"]


def _award_tags(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    if before == after:
        return []
    if not before:
        return ["award"]
    was = {award["id"]: award for award in before}
    cancelled = {
        a["id"] for a in after if a["status"] == "cancelled" and was.get(a["id"], {}).get("status") != "cancelled"
    }
    updated = any(a != was.get(a["id"]) for a in after if a["id"] not in cancelled)
    return (["awardCancellation"] if cancelled else []) + (["awardUpdate"] if updated else [])


def _contract_tags(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    if after is None or before == after:
        return []
    if before is None:
        return ["contract", "implementation"] if _progress(after) else ["contract"]
    tags = []
    if _terms(before) != _terms(after):
        if len(after.get("amendments", [])) > len(before.get("amendments", [])):
            tags.append("contractAmendment")
        elif after["status"] == "terminated" and before["status"] != "terminated":
            tags.append("contractTermination")
        else:
            tags.append("contractUpdate")
    if _progress(before) != _progress(after):
        tags.append("implementationUpdate" if _progress(before) else "implementation")
    return tags


def _terms(contract: dict[str, Any]) -> dict[str, Any]:
    """What the parties agreed: the contract without what happened under it."""
    milestones = contract.get("milestones", [])
    planned = [{k: m[k] for k in ("id", "title", "dueDate")} for m in milestones if m["type"] == "delivery"]
    return {**{k: v for k, v in contract.items() if k not in ("milestones", "implementation")}, "milestones": planned}


def _progress(contract: dict[str, Any]) -> list[Any]:
    """What happened under the contract: milestones met or missed, evaluations, payments."""
    reached = [m for m in contract.get("milestones", []) if m["status"] != "scheduled"]
    return reached + contract.get("implementation", {}).get("transactions", [])


# --- validation against the official schema ----------------------------------------------------------------

_FORMATS = FormatChecker(formats=Draft4Validator.FORMAT_CHECKER.checkers)
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE)


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """RFC 3339 with an offset. jsonschema checks date-time and uri only with optional packages, so here they are."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # an impossible date raises
    return True


@_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path)) and not any(c.isspace() for c in value)


@cache
def _package_validator() -> Draft4Validator:
    """The vendored OCDS 1.1.5 package schema, its release schema served from disk under its official URI."""
    release = json.loads((SCHEMA_DIR / "release-schema.json").read_text(encoding="utf-8"))
    package = json.loads((SCHEMA_DIR / "release-package-schema.json").read_text(encoding="utf-8"))
    resource = Resource.from_contents(release, default_specification=DRAFT4)
    registry = Registry().with_resource(RELEASE_SCHEMA_URI, resource)
    return Draft4Validator(package, registry=registry, format_checker=_FORMATS)


def validate_release_package(package: dict[str, Any]) -> list[str]:
    """Every way ``package`` breaks the official OCDS 1.1.5 schema, as ``$.path.to.field: problem``; none if valid."""
    errors = sorted(_package_validator().iter_errors(package), key=lambda error: (error.json_path, error.message))
    return [f"{error.json_path}: {_problem(error)}" for error in errors]


def _problem(error: ValidationError) -> str:
    """jsonschema's message, except that a long codelist is not spelled out in full."""
    if error.validator == "enum" and len(error.validator_value) > 20:
        return f"{error.instance!r} is not one of the {len(error.validator_value)} codes the codelist allows"
    return str(error.message)
