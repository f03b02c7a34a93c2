"""Nothing leaks: on every route, a caller who may not see a filing, a contract, a document or a bid
gets exactly the answer they would get for one that does not exist — so a stranger cannot tell which
case numbers exist, who applied, or how a case ended.

The routes are walked from the app itself: a new route with a case, contract, document or bid in its
path is covered (and one with a path parameter this test does not know fails, until it is classified)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi.routing import APIRoute

from api.app import AREAS, create_app
from schemas.application import Application
from schemas.contracts import AmendmentInput, ContractPlan, DeliveryInput, EvaluationInput
from schemas.procurement import BidInput, LotPhase
from schemas.ratings import RatingInput
from service import incubation_views as iv
from service import views
from service.contracts import ContractService
from service.fairs import PUBLIC_DOCUMENTS, FairService
from service.incubation import IncubationService
from service.incubation_views import IncubationApplicationInput
from settings import PROJECT_ROOT
from tests import factories
from tests.conftest import GATEWAY, Skipping
from tests.contract_helpers import PASSING, REPORT, evaluation, in_force, plan
from tests.fair_helpers import published_fair
from tests.helpers import until_lot, until_state

# What a path parameter names: hidden things are compared (existing but not visible vs missing);
# the others are either public (fairs and lots are published) or only name a part of a hidden thing.
HIDDEN = {"case_no", "contract_no", "document_id", "bid_id", "challenge_id", "incubation_no"}
OTHER = {"fair_no", "lot_no", "objection_id", "demand_id", "milestone_id", "amendment_no", "extension",
         # a file of a case's materials or of a bid: looked up only within the (hidden) case or bid
         "sha256",
         # the administrator's routes (anyone else is refused before the id is looked at); another user's
         # token is answered as missing (tests/test_accounts.py)
         "user_id", "token_id",
         # 电子证照 verification codes are public by design, unguessable and throttled (tests/test_verification.py)
         "code"}
MISSING = {
    "case_no": "YJ-JG-BA-2026-99999",
    "contract_no": "YJ-DY-2026-99999",
    "document_id": "0123456789abcdef0123456789abcdef",
    "bid_id": "B99",
    "challenge_id": "ZY99",
    "incubation_no": "YJ-FH-2026-99999",
}

ROUTES = [r for area in AREAS for r in area.router.routes if isinstance(r, APIRoute)]
COMPARED = [
    (method, route) for route in ROUTES for method in sorted(route.methods) if HIDDEN & set(route.param_convertors)
]


def example(name: str) -> dict[str, Any]:
    return json.loads((PROJECT_ROOT / "examples" / name).read_text(encoding="utf-8"))


def bodies(world: World) -> dict[type, Any]:
    """A valid body for every request model a compared route takes (so the comparison is not two 422s)."""
    return {
        views.CorrectionInput: {"materials": [{"material": "supplementary", "note": "补充说明"}]},
        views.WithdrawalInput: {"reason": "不办了"},
        views.DecisionInput: {"step": "preliminary_review", "outcome": "approve"},
        views.ObjectionInput: {"name": "路人", "content": "该组织活动扰民"},
        views.ObjectionResolutionInput: {"outcome": "dismiss", "reasons": ["经核查不属实"]},
        views.ObjectionAnswerInput: {"content": "该组织在活动室内活动，不扰民"},
        views.ApprovalInput: {"approve": True},
        ContractPlan: plan(world.today).model_dump(mode="json"),
        views.SigningInput: {"party": "supplier"},
        DeliveryInput: REPORT.model_dump(mode="json"),
        views.DeliveryReviewInput: {"accept": True},
        views.DisbursementInput: {"tranche_id": "T1", "voucher": "GK-0001"},
        EvaluationInput: evaluation(PASSING).model_dump(mode="json"),
        AmendmentInput: AmendmentInput.model_validate(example("amendment.json")).model_dump(mode="json"),
        views.AmendmentAnswerInput: {"agree": True},
        views.SuspensionInput: {"suspend": True, "reasons": ["暂停"]},
        views.TerminationInput: {"reasons": ["终止"]},
        BidInput: {**example("bid.json"), "organization": "YJ-REG-0003"},  # the stranger's own organization
        views.ChallengeAnswerInput: {"upheld": False, "reasons": ["经核查不属实"]},
        RatingInput: {"score": 5, "comment": "办得快"},
        iv.AdmissionInput: {"admit": True},
        iv.ReportInput: {"summary": "本月开展读书会两次，学习记账"},
        iv.AssessmentInput: {"outcome": "exit", "reasons": ["活动停止"]},
        iv.AssessmentReviewInput: {"agree": True},
        iv.ExitInput: {"reasons": ["活动停止"]},
        Application: factories.filing().model_dump(mode="json"),
    }


@dataclass
class World:
    """Existing things a stranger may not see, and the strangers."""

    http: httpx.AsyncClient
    today: Any
    existing: dict[str, list[str]]
    lot_no: str
    strangers: dict[str, list[str | None]]


@pytest_asyncio.fixture(scope="module")
async def world(skipping: Skipping) -> AsyncIterator[World]:
    client = skipping.env.client
    cases = skipping.service
    fairs = FairService(skipping.settings, skipping.engine, client)
    contracts = ContractService(skipping.settings, skipping.engine, client)

    application = factories.filing()
    applicant = cases.actor(factories.applicant_id(), application.applicant_name)
    open_case = (await cases.submit(applicant, application)).case_no
    closing = factories.filing()
    closed_case = (await cases.submit(applicant, closing)).case_no
    await cases.withdraw(applicant, closed_case, views.WithdrawalInput(reason="另有安排"))
    await until_state(client, closed_case, lambda s: s.phase.terminal)
    case_documents = [d.document_id for d in cases.case(applicant, open_case).documents]
    incubations = IncubationService(skipping.settings, skipping.engine, client)
    incubation = IncubationApplicationInput(
        base_code="YJ-FH", group_name="春光读书会", plan="开展老年人读书会和邻里互助活动", term_months=6
    )
    incubation_no = (await incubations.apply(cases.actor(factories.applicant_id()), incubation)).case_no

    contract = await in_force(skipping)
    contract_view = contracts.contract(contracts.actor("dept-wj"), contract.contract_no)

    fair = await published_fair(skipping)
    lot_no = fair.lots[0]
    for organization, price in (("YJ-REG-0001", 28_000_000), ("YJ-REG-0002", 26_500_000), ("YJ-REG-0003", 29_000_000)):
        await fair.bid(lot_no, organization, price)
    await fair.close_bidding(lot_no)
    await until_lot(client, lot_no, lambda s: s.phase is LotPhase.evaluation)
    await fair.score_all(lot_no)
    lot = await until_lot(client, lot_no, lambda s: s.phase is LotPhase.result_notice)
    await fair.service.file_challenge(
        fair.actor("org-xiyanghong"), lot_no, views.ChallengeInput(organization="YJ-REG-0002", content="第一名的评分偏高")
    )
    await until_lot(client, lot_no, lambda s: bool(s.challenges) and s.challenges[0].task_id is not None)
    # the evaluation report (for the department) and the notifications addressed to each bidder
    lot_documents = [d.document_id for d in lot.documents if d.kind not in PUBLIC_DOCUMENTS]
    assert lot_documents

    app = create_app(service=cases, fairs=fairs, contracts=contracts)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shezu.test", headers=GATEWAY) as http:
        yield World(
            http=http,
            today=await contract.today(),
            existing={
                "case_no": [open_case, closed_case],
                "contract_no": [contract.contract_no],
                "document_id": case_documents + [d.document_id for d in contract_view.documents] + lot_documents,
                "bid_id": [lot.bid_of("YJ-REG-0001").bid_id],  # org-chunhui's
                "challenge_id": ["ZY01"],
                "incubation_no": [incubation_no],
            },
            lot_no=lot_no,
            strangers={
                # a member of the public, staff of another street, and no identity at all
                "case_no": ["someone-else", "hn-zheng", None],
                # another organization, another department, and no identity at all
                "contract_no": ["org-yangguang", "dept-jy", None],
                "document_id": ["someone-else", "org-qiming", "hn-zheng", None],
                # another bidder (org-yangguang represents YJ-REG-0003, which also bid)
                "bid_id": ["org-yangguang"],
                # a bidder who did not file it, a member of the public, a department
                "challenge_id": ["org-yangguang", "someone-else", "dept-jy"],
                # another group, another district's civil affairs, another base's staff, a mentor not assigned
                "incubation_no": ["someone-else", "xq-mz-feng", "fh-cui", "ds-han", None],
            },
        )


def test_every_path_parameter_is_classified() -> None:
    unknown = {p for route in ROUTES for p in route.param_convertors} - HIDDEN - OTHER
    assert not unknown, f"classify these path parameters in tests/test_privacy.py: {unknown}"
    assert len(COMPARED) >= 22, "the walk finds the case, contract, document and bid routes"


def _path(route: APIRoute, hidden: str, value: str, world: World) -> str:
    fixed = {
        "lot_no": world.lot_no, "fair_no": "YJ-SQH-2026-00001", "objection_id": "YY01", "challenge_id": "ZY01",
        "demand_id": "D01", "milestone_id": "M1", "amendment_no": "1", "extension": "pdf", "sha256": "0" * 64,
        "incubation_no": MISSING["incubation_no"],
        hidden: value,
    }
    return route.path_format.format(**{p: fixed[p] for p in route.param_convertors})


async def _answer(
    world: World, method: str, route: APIRoute, hidden: str, value: str, user: str | None, params: dict[str, str]
) -> tuple[int, str]:
    body = None
    if route.body_field is not None:
        model = route.body_field.field_info.annotation
        assert model in bodies(world), f"give tests/test_privacy.py a valid {model} body for {method} {route.path}"
        body = bodies(world)[model]
    headers = {"X-User-Id": user} if user else {}
    response = await world.http.request(
        method, _path(route, hidden, value, world), json=body, headers=headers, params=params
    )
    return response.status_code, response.text.replace(value, "<编号>")


@pytest.mark.parametrize(("method", "route"), COMPARED, ids=[f"{m} {r.path}" for m, r in COMPARED])
async def test_a_stranger_cannot_tell_an_existing_case_from_a_missing_one(world: World, method: str, route: APIRoute) -> None:
    hidden = next(
        p for p in ("bid_id", "challenge_id", "document_id", "contract_no", "case_no", "incubation_no") if p in route.param_convertors
    )
    variants = [{}, {"live": "true"}] if method == "GET" and hidden == "case_no" else [{}]
    for params in variants:
        for user in world.strangers[hidden]:
            missing = await _answer(world, method, route, hidden, MISSING[hidden], user, params)
            assert missing[0] in (401, 403, 404), f"{method} {route.path} as {user}: {missing}"
            for value in world.existing[hidden]:
                seen = await _answer(world, method, route, hidden, value, user, params)
                assert seen == missing, f"{method} {route.path} as {user} tells {value} exists: {seen[1]} vs {missing[1]}"
