"""社洽会 documents as a procurement officer checks them: the demand catalogue, the evaluation report,
the result publication, the award notice, the notices to the other bidders and the 流标 notice.

One fair of 延吉市民政局 with one lot for 延吉市卫生健康局, three bids (one screened out for its
评估等级), five experts drawn (one left out for a registered conflict, one replaced after missing
the scoring deadline) and a ranking computed by the real rules."""

from __future__ import annotations

import asyncio
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from sqlalchemy.engine import Engine
from temporalio.testing import ActivityEnvironment

from activities.documents import DocumentActivities, render_html
from activities.rendering import cn_date, cn_datetime
from rules.eligibility import screen
from rules.evaluation import rank
from schemas.case import Outcome, TaskDecision
from schemas.document_request import DocumentRequest
from schemas.documents import DocumentKind, DocumentRef, NoticePeriod
from schemas.people import Actor, Jurisdiction, Level, Locality, Office, Role
from schemas.policy import Citation, PolicyRef, ProcurementPolicy, RubricDimension
from schemas.procurement import (
    Bid,
    ContractFacts,
    Demand,
    DemandStatus,
    Eligibility,
    FairPhase,
    FairSchedule,
    FairState,
    LotPhase,
    LotState,
    Offer,
    OfferResponse,
    OrganizationFacts,
    ScoreSheet,
    Seat,
    SeatStatus,
)
from store.files import content_path
from tests.helpers import at, deadline, misplaced_seals

# --- the fair --------------------------------------------------------------------------------

YANJI = Jurisdiction(
    code="YJ",
    name="延吉市",
    full_name="延吉市",
    level=Level.district,
    offices={Role.civil_affairs: "延吉市民政局"},
    reconsideration_body="延吉市人民政府",
    court="延吉市人民法院",
)
LOCALITY = Locality(chain=[YANJI])
BUREAU = Office(jurisdiction="YJ", jurisdiction_name="延吉市", role=Role.civil_affairs, name="延吉市民政局")
STAFF = Actor(user_id="mz-chen", name="陈洁", role=Role.civil_affairs, jurisdiction="YJ")
HEALTH = Actor(user_id="dept-wj", name="金海燕", role=Role.department, jurisdiction="YJ", office="延吉市卫生健康局")
EDUCATION = Actor(user_id="dept-jy", name="李文博", role=Role.department, jurisdiction="YJ", office="延吉市教育局")
STREET = Actor(
    user_id="dept-jg", name="朴秀英", role=Role.department, jurisdiction="YJ-JG", office="延吉市建工街道办事处"
)

FAIR_NO = "SZH-YJ-2026-01"
FAIR_TITLE = "2026年延吉市社会组织成果展示暨社洽会"
LOT_NO = f"{FAIR_NO}-L01"

POLICY = ProcurementPolicy(
    rubric=[
        RubricDimension(id="plan", name="服务方案", weight=40),
        RubricDimension(id="capacity", name="服务能力（团队与经验）", weight=30),
        RubricDimension(id="budget", name="预算合理性", weight=20),
        RubricDimension(id="reputation", name="信誉与业绩", weight=10),
    ],
    experts_per_panel=5,
    drop_extremes_from_experts=5,
    minimum_eligible_bids=2,
    scoring_working_days=3,
    expert_replacement_working_days=2,
    result_notice_working_days=5,
    challenge_answer_working_days=7,
    award_response_working_days=3,
    failed_lot_decision_working_days=5,
    failed_lot_basis=Citation(source="《中华人民共和国政府采购法》", clause="第三十六条第一款第（一）项"),
    tie_break="最终得分相同的，按报价由低到高排列；报价也相同的，按服务方案平均得分由高到低排列；仍相同的，按投标提交时间先后排列",
    citations=[Citation(source="《政府采购货物和服务招标投标管理办法》（财政部令第87号）", clause="第六十五条")],
)
POLICY_REF = PolicyRef(
    id="yanji-procurement",
    version="2026.1",
    jurisdiction="YJ",
    title="延吉市社洽会实施办法",
    path="policies/YJ/2026-01.yaml",
    sha256="0" * 64,
)

ELDERLY_CARE = Demand(
    demand_id="XQ01",
    title="社区居家养老上门服务",
    service_content=(
        "为辖区内60周岁以上独居、空巢、失能半失能老年人提供助餐、助洁、助浴、助医等上门服务，"
        "每名服务对象每月上门服务不少于4次；建立服务对象档案，开展定期探访和紧急呼叫响应；"
        "组织志愿者开展陪伴和精神慰藉活动，每季度向购买单位报送服务进度和服务对象满意度。"
    ),
    target_group="建工街道、河南街道60周岁以上独居、空巢、失能半失能老年人，约300人",
    location="延吉市建工街道、河南街道各社区",
    budget_ceiling_fen=30_000_000,
    duration_months=12,
    requirements=Eligibility(registered_only=True, minimum_grade="3A", jurisdiction="YJ"),
    department=HEALTH,
    department_office="延吉市卫生健康局",
    submitted_at=at("2026-10-20", "10:00"),
    status=DemandStatus.approved,
    review=TaskDecision(outcome=Outcome.approve, by=STAFF, at=at("2026-10-31", "10:00")),
    lot_no=LOT_NO,
)
COUNSELLING = Demand(
    demand_id="XQ02",
    title="中小学生课后心理健康辅导服务",
    service_content="在辖区6所中小学开展课后团体心理辅导和个案咨询，每校每周不少于2次，建立学生心理健康档案并做好转介。",
    target_group="辖区中小学在校学生及其家长",
    location="延吉市河南街道辖区中小学",
    budget_ceiling_fen=15_000_000,
    duration_months=10,
    department=EDUCATION,
    department_office="延吉市教育局",
    submitted_at=at("2026-10-22", "15:00"),
    status=DemandStatus.approved,
    review=TaskDecision(outcome=Outcome.approve, by=STAFF, at=at("2026-10-31", "10:30")),
    lot_no=f"{FAIR_NO}-L02",
)
CLEANING = Demand(
    demand_id="XQ03",
    title="街道办公楼物业保洁服务",
    service_content="街道办事处办公楼日常保洁、绿化养护和安保值守。",
    target_group="街道办事处机关",
    location="延吉市建工街道办事处办公楼",
    budget_ceiling_fen=8_000_000,
    duration_months=12,
    department=STREET,
    department_office="延吉市建工街道办事处",
    submitted_at=at("2026-10-25", "09:00"),
    status=DemandStatus.rejected,
    review=TaskDecision(
        outcome=Outcome.refuse,
        reasons=["机关物业保洁属于政府自身需要的后勤服务，不属于向社会组织购买的公共服务"],
        by=STAFF,
        at=at("2026-10-31", "11:00"),
    ),
)

FAIR = FairState(
    fair_no=FAIR_NO,
    title=FAIR_TITLE,
    organizer=BUREAU,
    locality=LOCALITY,
    schedule=FairSchedule(
        demands_due=at("2026-10-30", "17:00"), fair_day=date(2026, 11, 6), bids_close=at("2026-11-20", "17:00")
    ),
    created_by=STAFF,
    created_at=at("2026-10-08", "09:00"),
    policy=POLICY,
    policy_ref=POLICY_REF,
    phase=FairPhase.published,
    demands=[ELDERLY_CARE, CLEANING, COUNSELLING],
)

# --- the lot: bids and screening -------------------------------------------------------------

CHUNHUI, XIYANGHONG, HEMEI = "延吉市春晖社会工作服务中心", "延吉市夕阳红养老服务协会", "延吉市和美家庭服务中心"
REGISTER = {
    "YJ-REG-0001": OrganizationFacts(
        key="YJ-REG-0001",
        name=CHUNHUI,
        track="service_institution",
        community_full_name="延吉市建工街道春光社区",
        jurisdiction_chain=["YJ-JG-CG", "YJ-JG", "YJ"],
        valid_until=at("2027-03-14", "23:59"),
        standing="good",
        grade="4A",
    ),
    "YJ-REG-0002": OrganizationFacts(
        key="YJ-REG-0002",
        name=XIYANGHONG,
        track="association",
        community_full_name="延吉市建工街道民安社区",
        jurisdiction_chain=["YJ-JG-MA", "YJ-JG", "YJ"],
        valid_until=at("2026-12-31", "23:59"),
        standing="good",
        grade="3A",
    ),
    "YJ-REG-0005": OrganizationFacts(
        key="YJ-REG-0005",
        name=HEMEI,
        track="service_institution",
        community_full_name="延吉市河南街道幸福社区",
        jurisdiction_chain=["YJ-HN-XF", "YJ-HN", "YJ"],
        valid_until=at("2029-03-31", "23:59"),
        standing="good",
        grade="2A",
    ),
}
HEMEI_FAILURE = f"本项目要求评估等级3A以上，“{HEMEI}”为2A"


def bidder(user_id: str, name: str) -> Actor:
    return Actor(user_id=user_id, name=name, role=Role.bidder, jurisdiction="YJ")


BIDS = [
    Bid(
        bid_id="B01",
        organization="YJ-REG-0001",
        organization_name=CHUNHUI,
        price_fen=28_600_000,
        proposal="组建12人上门服务队，按片区分组包干，建立“一人一档”服务台账和24小时紧急响应机制。",
        team=["朴春花（项目负责人，中级社会工作师）", "李明（护理员）", "张丽（护理员）"],
        past_projects=["2025年建工街道失能老人照护项目"],
        bidder=bidder("org-chunhui", "朴春花"),
        submitted_at=at("2026-11-12", "10:20"),
    ),
    Bid(
        bid_id="B02",
        organization="YJ-REG-0002",
        organization_name=XIYANGHONG,
        price_fen=27_950_000,
        proposal="依托协会会员和低龄老人志愿者开展互助式上门服务，配备专职护理员8名。",
        team=["王德福（项目负责人）", "赵春梅（护理员）"],
        past_projects=["2024年民安社区老年食堂运营"],
        bidder=bidder("org-xiyanghong", "王德福"),
        submitted_at=at("2026-11-15", "15:05"),
        amended_at=at("2026-11-19", "11:40"),
    ),
    Bid(
        bid_id="B03",
        organization="YJ-REG-0005",
        organization_name=HEMEI,
        price_fen=25_800_000,
        proposal="以家政服务员为主体提供上门助洁、助浴服务，结合家庭照护者培训。",
        team=["李红梅（项目负责人）"],
        bidder=bidder("org-hemei", "李红梅"),
        submitted_at=at("2026-11-18", "16:30"),
    ),
]
SCREENINGS = [
    screen(
        bid, REGISTER[bid.organization], ELDERLY_CARE.requirements, 2026, date(2026, 11, 23), jurisdiction_name="延吉市"
    )
    for bid in BIDS
]

# --- the panel ------------------------------------------------------------------------------


def expert(user_id: str, name: str) -> Actor:
    return Actor(user_id=user_id, name=name, role=Role.expert, jurisdiction="YJ")


DRAWN_AT = at("2026-11-23", "10:00")
SCORING = deadline(DRAWN_AT, 3, "2026-11-26")
REPLACED_AT = at("2026-11-26", "23:59")
REPLACEMENT = deadline(REPLACED_AT, 2, "2026-11-30")
SCORED_AT = at("2026-11-30", "14:00")

# Points per bid and dimension (plan/40, capacity/30, budget/20, reputation/10), by seat.
POINTS = {
    1: ("崔明哲", {"B01": (36, 26, 16, 9), "B02": (33, 25, 18, 8)}),
    2: ("韩雪梅", {"B01": (35, 27, 17, 9), "B02": (34, 24, 17, 8)}),
    3: ("金美兰", {"B01": (34, 25, 15, 8), "B02": (35, 26, 18, 9)}),
    5: ("刘春燕", {"B01": (37, 28, 17, 9), "B02": (32, 23, 16, 7)}),
    6: ("孙立新", {"B01": (33, 24, 16, 8), "B02": (34, 25, 17, 8)}),
}
EXPERT_IDS = {
    "崔明哲": "exp-01",
    "韩雪梅": "exp-02",
    "金美兰": "exp-04",
    "赵国庆": "exp-05",
    "刘春燕": "exp-06",
    "孙立新": "exp-07",
}
DIMENSIONS = [d.id for d in POLICY.rubric]
COMMENTS = {
    1: "方案完整，服务标准明确。",
    2: f"“{CHUNHUI}”应急响应机制具体；“{XIYANGHONG}”志愿者比例偏高，建议加强专职护理员配置。",
    3: "两份方案均可行，预算测算依据充分。",
    6: "同意。",
}
"""Each expert's written comment on their sheet; 刘春燕 (seat 5) wrote none."""


def scored_seat(seat_no: int) -> Seat:
    name, points = POINTS[seat_no]
    actor = expert(EXPERT_IDS[name], name)
    replacement = seat_no == 6
    submitted = SCORED_AT if replacement else at("2026-11-25", f"1{seat_no}:00")
    return Seat(
        seat_no=seat_no,
        expert=actor,
        drawn_at=REPLACED_AT if replacement else DRAWN_AT,
        deadline=REPLACEMENT if replacement else SCORING,
        status=SeatStatus.scored,
        sheet=ScoreSheet(
            scores={bid_id: dict(zip(DIMENSIONS, given, strict=True)) for bid_id, given in points.items()},
            comment=COMMENTS.get(seat_no),
            expert=actor,
            submitted_at=submitted,
        ),
        ended_at=submitted,
    )


SEATS = [
    scored_seat(1),
    scored_seat(2),
    scored_seat(3),
    Seat(
        seat_no=4,
        expert=expert("exp-05", "赵国庆"),
        drawn_at=DRAWN_AT,
        deadline=SCORING,
        status=SeatStatus.replaced,
        ended_at=REPLACED_AT,
        reason="未在评分期限内评分",
        successor=6,
    ),
    scored_seat(5),
    scored_seat(6),
]
RECUSAL = f"许志刚（与YJ-REG-0001、{CHUNHUI}存在登记的利害关系）"
EXPERT_NAMES = ["崔明哲", "韩雪梅", "金美兰", "赵国庆", "刘春燕", "孙立新", "许志刚"]

EVALUATED = LotState(
    lot_no=LOT_NO,
    fair_no=FAIR_NO,
    fair_title=FAIR_TITLE,
    demand=ELDERLY_CARE,
    organizer=BUREAU,
    locality=LOCALITY,
    policy=POLICY,
    policy_ref=POLICY_REF,
    fair_day=FAIR.schedule.fair_day,
    bids_close=FAIR.schedule.bids_close,
    opened_at=at("2026-11-02", "09:00"),
    phase=LotPhase.evaluation,
    bids=BIDS,
    screenings=SCREENINGS,
    seats=SEATS,
    recusals=[RECUSAL],
)
EVALUATED.ranking = rank(
    EVALUATED.eligible_bids, [s.sheet for s in SEATS if s.status is SeatStatus.scored and s.sheet], POLICY
)

NOTICE_START = SCORED_AT
RESULT_NOTICE = NoticePeriod(
    starts_at=NOTICE_START, ends=deadline(NOTICE_START, 5, "2026-12-07"), channel="社洽会公告栏及组织单位门户网站"
)
PUBLISHED = EVALUATED.model_copy(update={"phase": LotPhase.result_notice, "result_notice": RESULT_NOTICE})

OFFERED_AT = at("2026-12-08", "09:00")
AWARD_DEADLINE = deadline(OFFERED_AT, 3, "2026-12-11")
OFFER = Offer(
    bid_id="B01",
    organization="YJ-REG-0001",
    organization_name=CHUNHUI,
    price_fen=28_600_000,
    offered_at=OFFERED_AT,
    deadline=AWARD_DEADLINE,
    document_id=f"{LOT_NO}-D03",
)
AWARDING = PUBLISHED.model_copy(update={"phase": LotPhase.awarding, "offers": [OFFER]})

AWARDED_AT = at("2026-12-10", "10:00")
AWARDED = AWARDING.model_copy(
    update={
        "phase": LotPhase.awarded,
        "offers": [OFFER.model_copy(update={"response": OfferResponse.accepted, "responded_at": AWARDED_AT})],
        "contract": ContractFacts(
            contract_no=f"{LOT_NO}-HT",
            lot_no=LOT_NO,
            fair_no=FAIR_NO,
            title=ELDERLY_CARE.title,
            service_content=ELDERLY_CARE.service_content,
            buyer_office="延吉市卫生健康局",
            buyer=HEALTH,
            supplier="YJ-REG-0001",
            supplier_name=CHUNHUI,
            amount_fen=28_600_000,
            duration_months=12,
            awarded_at=AWARDED_AT,
        ),
    }
)

# B01 declines; the award passes to B02, which accepts.
DECLINED = OFFER.model_copy(
    update={
        "response": OfferResponse.declined,
        "responded_at": at("2026-12-09", "10:00"),
        "reasons": ["服务团队人员变动，无法按期履约"],
    }
)
NEXT_OFFERED_AT = at("2026-12-09", "10:00")
NEXT_DEADLINE = deadline(NEXT_OFFERED_AT, 3, "2026-12-14")
NEXT_OFFER = Offer(
    bid_id="B02",
    organization="YJ-REG-0002",
    organization_name=XIYANGHONG,
    price_fen=27_950_000,
    offered_at=NEXT_OFFERED_AT,
    deadline=NEXT_DEADLINE,
    document_id=f"{LOT_NO}-D04",
)
PASSED_DOWN = AWARDING.model_copy(update={"offers": [DECLINED, NEXT_OFFER]})
AWARDED_TO_NEXT = PASSED_DOWN.model_copy(
    update={
        "phase": LotPhase.awarded,
        "offers": [
            DECLINED,
            NEXT_OFFER.model_copy(
                update={"response": OfferResponse.accepted, "responded_at": at("2026-12-11", "15:00")}
            ),
        ],
        "contract": AWARDED.contract.model_copy(
            update={
                "supplier": "YJ-REG-0002",
                "supplier_name": XIYANGHONG,
                "amount_fen": 27_950_000,
                "awarded_at": at("2026-12-11", "15:00"),
            }
        ),
    }
)

# Nobody accepts: B01 declines, B02 lets its deadline pass.
NOBODY_ACCEPTED = "排名在前的投标人均放弃成交或被取消成交资格，没有可以成交的投标"
FAILED = PASSED_DOWN.model_copy(
    update={
        "phase": LotPhase.failed,
        "offers": [
            DECLINED,
            NEXT_OFFER.model_copy(update={"response": OfferResponse.expired, "responded_at": NEXT_DEADLINE.due_at}),
        ],
    }
)


RETENDERED = FAILED.model_copy(deep=True)
RETENDERED.previous_rounds.append(RETENDERED.round_record())
RETENDERED.start_round(at("2026-12-28", "17:00"))
RETENDERED.phase = LotPhase.bidding


def lot_request(
    name: str, lot: LotState, kind: DocumentKind, number: int, issued_at: datetime, **facts: object
) -> DocumentRequest:
    return DocumentRequest(
        document_id=f"{LOT_NO}-D{number:02d}:{name}",
        kind=kind,
        title=kind.default_title,
        number=f"{LOT_NO}-{number:02d}",
        issued_at=issued_at,
        issuer=BUREAU,
        lot=lot,
        **facts,
    )


REQUESTS: dict[str, DocumentRequest] = {
    "catalogue": DocumentRequest(
        document_id=f"{FAIR_NO}-D01",
        kind=DocumentKind.demand_catalogue,
        title=DocumentKind.demand_catalogue.default_title,
        number=f"{FAIR_NO}-01",
        issued_at=at("2026-11-02", "09:00"),
        issuer=BUREAU,
        fair=FAIR,
    ),
    "report": lot_request("report", EVALUATED, DocumentKind.evaluation_report, 1, SCORED_AT),
    "publication": lot_request(
        "publication", PUBLISHED, DocumentKind.result_publication, 2, NOTICE_START, notice=RESULT_NOTICE
    ),
    "award": lot_request(
        "award", AWARDING, DocumentKind.award_notice, 3, OFFERED_AT, addressee_bid="B01", deadline=AWARD_DEADLINE,
        signing_due=date(2027, 1, 7),
    ),
    "ranked_loser": lot_request(
        "ranked_loser", AWARDED, DocumentKind.result_notification, 4, AWARDED_AT, addressee_bid="B02"
    ),
    "screened_out": lot_request(
        "screened_out", AWARDED, DocumentKind.result_notification, 5, AWARDED_AT, addressee_bid="B03"
    ),
    "failed": lot_request(
        "failed", FAILED, DocumentKind.failed_lot_notice, 5, at("2026-12-15", "09:00"), items=[NOBODY_ACCEPTED]
    ),
    "award_next": lot_request(
        "award_next",
        PASSED_DOWN,
        DocumentKind.award_notice,
        4,
        NEXT_OFFERED_AT,
        addressee_bid="B02",
        deadline=NEXT_DEADLINE,
    ),
    "retender": lot_request(
        "retender", RETENDERED, DocumentKind.retender_notice, 6, at("2026-12-16", "10:00"), items=[NOBODY_ACCEPTED]
    ),
    "declined": lot_request(
        "declined", AWARDED_TO_NEXT, DocumentKind.result_notification, 5, at("2026-12-11", "15:00"), addressee_bid="B01"
    ),
}


def squash(text: str) -> str:
    """pdftotext wraps lines where the PDF does; compare without any whitespace."""
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path, mode: str = "-layout") -> str:
    return subprocess.run(["pdftotext", mode, str(path), "-"], check=True, capture_output=True, text=True).stdout


def assert_contains(text: str, *needles: str) -> None:
    for needle in needles:
        assert squash(needle) in text, needle


def assert_in_order(text: str, *needles: str) -> None:
    positions = [text.index(squash(needle)) for needle in needles]
    assert positions == sorted(positions), needles


@pytest.fixture(scope="module")
async def rendered(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> tuple[Path, dict[str, DocumentRef]]:
    documents_dir = tmp_path_factory.mktemp("procurement-documents")
    activities = DocumentActivities(documents_dir, engine)
    refs = await asyncio.gather(*(ActivityEnvironment().run(activities.render_document, r) for r in REQUESTS.values()))
    return documents_dir, dict(zip(REQUESTS, refs, strict=True))


@pytest.fixture(scope="module")
def texts(rendered: tuple[Path, dict[str, DocumentRef]]) -> dict[str, str]:
    documents_dir, refs = rendered
    return {name: squash(pdf_text(content_path(documents_dir, ref.pdf_sha256, "pdf"))) for name, ref in refs.items()}


@pytest.fixture(scope="module")
def rows(rendered: tuple[Path, dict[str, DocumentRef]]) -> dict[str, str]:
    """The text in drawing order: a table row's cells follow each other even when a cell wraps,
    which the layout text interleaves line by line."""
    documents_dir, refs = rendered
    return {
        name: squash(pdf_text(content_path(documents_dir, ref.pdf_sha256, "pdf"), "-raw")) for name, ref in refs.items()
    }


# --- the scenario itself ----------------------------------------------------------------------


def test_the_scenario_is_what_the_documents_describe() -> None:
    """Guards the fixtures: if the rules change, the expectations below must be revisited."""
    assert [s.eligible for s in SCREENINGS] == [True, True, False]
    assert SCREENINGS[2].failures == [HEMEI_FAILURE]
    ranking = EVALUATED.ranking
    assert ranking is not None
    assert [(e.bid_id, e.rank, e.final_score_x100) for e in ranking.entries] == [("B01", 1, 8567), ("B02", 2, 8367)]
    assert ranking.entries[0].expert_totals == [87, 88, 82, 91, 81]
    assert ranking.entries[0].dropped == [91, 81]


# --- what every document carries ---------------------------------------------------------------


def test_every_document_names_number_issuer_date_and_seal(rendered: tuple[Path, dict[str, DocumentRef]], texts: dict[str, str]) -> None:
    _, refs = rendered
    for name, text in texts.items():
        request = REQUESTS[name]
        label = "项目编号" if request.lot else "社洽会编号"
        number = refs[name].issuance.document_number
        assert number and number.startswith("延民") and request.case_no not in number
        assert_contains(
            text,
            request.title,
            number,
            "延吉市民政局",
            "（盖章）",
            cn_date(request.issued_at),
            f"{label}：{request.case_no}",
            "联系人：陈洁，联系电话：0433-2512345",
            "—1—",
        )
        for internal in ("None", "shezu", "本文书由", "「", "」"):
            assert internal not in text, (name, internal)
        assert "Undefined" not in text, name


def test_lot_documents_name_the_project(texts: dict[str, str]) -> None:
    for name in ("report", "publication", "award", "award_next", "ranked_loser", "screened_out", "declined", "failed"):
        assert_contains(texts[name], "社区居家养老上门服务", LOT_NO, "延吉市卫生健康局")


# --- 政府购买服务需求公告 ----------------------------------------------------------------------


def test_demand_catalogue_publishes_approved_demands(texts: dict[str, str]) -> None:
    text = texts["catalogue"]
    assert_contains(
        text,
        FAIR_TITLE,
        "政府购买服务需求公告",
        "延吉市民政局组织举办2026年延吉市社会组织成果展示暨社洽会",
        "共有2个政府购买服务项目",
        "预算合计450,000.00元",
        "举办日期2026年11月6日",
        f"投标截止时间{cn_datetime(FAIR.schedule.bids_close)}",
        "投标截止时间2026年11月20日 17时00分",
        # the elderly-care lot
        f"项目编号{LOT_NO}",
        "项目名称社区居家养老上门服务",
        "购买单位延吉市卫生健康局",
        "服务内容为辖区内60周岁以上独居、空巢、失能半失能老年人提供助餐",
        "服务对象建工街道、河南街道60周岁以上独居",
        "服务地点延吉市建工街道、河南街道各社区",
        "预算上限300,000.00元",
        "服务期限12个月",
        "仅限登记的社会组织（社会团体、社会服务机构），备案的社区社会组织不可投标",
        "社会组织评估等级3A以上（含3A）",
        "须在延吉市（含下属街道、社区）备案或登记",
        # the counselling lot has no special requirements
        f"项目编号{FAIR_NO}-L02",
        "购买单位延吉市教育局",
        "预算上限150,000.00元",
        "资格条件无特别要求",
    )
    assert_in_order(text, LOT_NO, f"{FAIR_NO}-L02")


def test_demand_catalogue_states_rubric_tie_break_and_how_to_bid(texts: dict[str, str], rows: dict[str, str]) -> None:
    assert_contains(
        rows["catalogue"],
        f"{LOT_NO}社区居家养老上门服务延吉市卫生健康局300,000.00元12个月",
        f"{FAIR_NO}-L02中小学生课后心理健康辅导服务延吉市教育局150,000.00元10个月",
        "1服务方案40分",
        "2服务能力（团队与经验）30分",
        "3预算合理性20分",
        "4信誉与业绩10分",
        "合计100分",
    )
    assert_contains(
        texts["catalogue"],
        "随机抽取5名评审专家",
        "去掉一个最高分和一个最低分",
        POLICY.tie_break,
        "通过资格审查的投标不足2份的，该项目流标",
        "请于2026年11月20日 17时00分前登录延吉市社会组织服务平台，按项目编号选择所投项目",
        "投标报价超过所投项目预算上限的，系统不予接收",
    )


def test_rejected_demand_is_not_in_the_catalogue(texts: dict[str, str]) -> None:
    text = texts["catalogue"]
    for absent in ("街道办公楼物业保洁服务", "延吉市建工街道办事处", "80,000.00元", "后勤服务"):
        assert squash(absent) not in text, absent


# --- 评审报告 --------------------------------------------------------------------------------


def test_evaluation_report_records_bids_and_screening(texts: dict[str, str], rows: dict[str, str]) -> None:
    assert_contains(
        texts["report"],
        "社区居家养老上门服务项目评审报告",
        "预算上限300,000.00元",
        "共收到有效投标3份",
        "通过资格审查的投标2份，不少于规定的2份，进入专家评审",
    )
    assert_contains(
        rows["report"],
        f"1{CHUNHUI}286,000.00元2026年11月12日10时20分合格",
        f"2{XIYANGHONG}279,500.00元2026年11月19日11时40分合格",  # the amended bid: its last change counts
        f"3{HEMEI}258,000.00元2026年11月18日16时30分不合格：{HEMEI_FAILURE}",
    )


def test_evaluation_report_records_the_panel(texts: dict[str, str], rows: dict[str, str]) -> None:
    text = texts["report"]
    for name in EXPERT_NAMES:
        assert_contains(text, name)
    assert_contains(
        text,
        f"组织单位于{cn_datetime(DRAWN_AT)}从延吉市评审专家库中随机抽取5名评审专家",
        f"1.{RECUSAL}",
        "实际完成评分的评审专家5名：崔明哲、韩雪梅、金美兰、刘春燕、孙立新",
    )
    assert_contains(
        rows["report"],
        "第1席崔明哲2026年11月23日10时00分2026年11月26日已评分",
        "第4席赵国庆2026年11月23日10时00分2026年11月26日逾期被替换未在评分期限内评分，由第6席接替",
        "第6席孙立新2026年11月26日23时59分2026年11月30日已评分随机抽取，接替第4席赵国庆",
    )


def test_evaluation_report_shows_each_experts_totals_and_the_ranking(
    texts: dict[str, str], rows: dict[str, str]
) -> None:
    table = rows["report"]
    # the matrix: experts in seat order of the scored seats, each bid's totals, dropped scores, final score
    assert_contains(table, "投标人崔明哲韩雪梅金美兰刘春燕孙立新去掉的最高分、最低分最终得分")
    assert_contains(table, f"{CHUNHUI}87 88 82 91 81 91、81 85.67", f"{XIYANGHONG}84 83 88 78 84 88、78 83.67")
    # dimension means in two decimals, e.g. plan for 春晖: (36+35+34+37+33)/5 = 35.00
    assert_contains(
        table,
        "服务方案（满分40分）服务能力（团队与经验）（满分30分）预算合理性（满分20分）信誉与业绩（满分10分）",
        f"{CHUNHUI}35.00 26.00 16.20 8.60",
        f"{XIYANGHONG}33.60 24.60 17.20 8.00",
    )
    # the ranking, best first, with the rules that produced it
    ranking = EVALUATED.ranking
    assert ranking is not None
    assert_contains(texts["report"], f"计分规则：{ranking.aggregation}", POLICY.tie_break)
    assert_in_order(table, "计分规则", f"1{CHUNHUI}286,000.00元85.67", f"2{XIYANGHONG}279,500.00元83.67")
    assert_contains(texts["report"], f"排名第1的“{CHUNHUI}”（投标报价286,000.00元，最终得分85.67）为拟成交投标人")


def test_evaluation_report_gives_each_experts_written_comments(texts: dict[str, str], rows: dict[str, str]) -> None:
    assert_in_order(
        rows["report"],
        "评审专家书面意见",
        f"第1席崔明哲{COMMENTS[1]}",
        f"第2席韩雪梅{COMMENTS[2]}",
        f"第3席金美兰{COMMENTS[3]}",
        f"第6席孙立新{COMMENTS[6]}",
        "评审结论",
    )
    assert_contains(texts["report"], "刘春燕未提交书面意见")


def test_evaluation_report_without_comments_says_so() -> None:
    silent = [s.model_copy(update={"sheet": s.sheet.model_copy(update={"comment": None})}) if s.sheet else s for s in SEATS]
    html = render_html(REQUESTS["report"].model_copy(update={"lot": EVALUATED.model_copy(update={"seats": silent})}))
    assert "评审专家均未提交书面意见" in html and COMMENTS[2] not in html


def test_evaluation_report_has_places_to_sign(texts: dict[str, str], rows: dict[str, str]) -> None:
    assert_contains(texts["report"], "评审小组成员和组织单位对本报告所载资格审查、评分和排名结果确认无误")
    assert_in_order(
        rows["report"],
        "签字确认",
        "第1席崔明哲年月日",
        "第6席孙立新年月日",
        "组织单位经办人年月日",
        "组织单位负责人年月日",
    )
    assert "第4席赵国庆年月日" not in rows["report"]  # replaced before scoring: nothing to sign


# --- 评审结果公示 ------------------------------------------------------------------------------


def test_result_publication_names_the_panel_but_not_its_scores(texts: dict[str, str], rows: dict[str, str]) -> None:
    """财政部87号令 第六十九条: the published result lists the experts; each expert's scores stay in the report."""
    text = texts["publication"]
    assert_contains(
        text,
        "社区居家养老上门服务项目评审结果公示",
        f"排名第1的“{CHUNHUI}”为拟成交投标人，拟成交金额286,000.00元",
        f"1.{HEMEI}：{HEMEI_FAILURE}",
        "由随机抽取的5名评审专家",
        POLICY.tie_break,
    )
    assert_in_order(rows["publication"], f"1{CHUNHUI}286,000.00元85.67", f"2{XIYANGHONG}279,500.00元83.67")
    scored = [seat.expert.name for seat in REQUESTS["publication"].lot.seats if seat.sheet]
    assert len(scored) == 5 and all(name in text for name in scored)
    for total in ("91、81", "88、78"):
        assert total not in text


def test_result_publication_states_period_and_challenge_route(texts: dict[str, str]) -> None:
    assert_contains(
        texts["publication"],
        "自2026年11月30日起至2026年12月7日止，共5个工作日，在社洽会公告栏及组织单位门户网站公示",
        "可以在公示期内（2026年12月7日（含当日）前）以书面形式提出质疑",
        f"登录延吉市社会组织服务平台，凭项目编号{LOT_NO}在线提交",
        "自收到质疑之日起7个工作日内作出书面答复",
        "特此公示",
    )


# --- 成交通知书 -------------------------------------------------------------------------------


def test_award_notice_tells_the_winner_what_to_do_by_when(texts: dict[str, str]) -> None:
    assert_contains(
        texts["award"],
        "成交通知书",
        f"{CHUNHUI}：",
        "你单位于2026年11月12日 10时20分提交的",
        "你单位排名第1（最终得分85.67），确定为本项目的成交供应商",
        "购买单位延吉市卫生健康局",
        "成交金额286,000.00元",
        "服务期限12个月",
        "请你单位于2026年12月11日（含当日）前",
        "确认接受成交或者放弃成交",
        "自本通知书发出之日起3个工作日",
        "逾期未确认的，视为放弃成交",
        "按排名顺序向下一位投标人发出成交通知书",
        "与延吉市卫生健康局签订政府购买服务合同",
        "合同应当自本通知书发出之日起30日内签订，签订期限至2027年1月7日（含当日）",
    )
    assert squash(XIYANGHONG) not in texts["award"]


def test_award_notice_issued_before_signing_deadlines_were_stated_renders_as_it_was() -> None:
    """An award notice recorded without a signing deadline is rendered again, for an audit, exactly as issued."""
    html = render_html(REQUESTS["award"].model_copy(update={"signing_due": None}))
    assert "与延吉市卫生健康局签订政府购买服务合同。" in html and "签订期限" not in html


def test_award_passes_down_the_ranking(texts: dict[str, str]) -> None:
    assert_contains(
        texts["award_next"],
        f"{XIYANGHONG}：",
        "因排名在前的投标人放弃成交或者被取消成交资格，按排名顺序递补，你单位排名第2（最终得分83.67）",
        "成交金额279,500.00元",
        "请你单位于2026年12月14日（含当日）前",
    )


def test_award_notice_to_a_bid_the_lot_does_not_have_refuses_to_render() -> None:
    stray = REQUESTS["award"].model_copy(update={"addressee_bid": "B99"})
    with pytest.raises(UndefinedError):
        render_html(stray)


# --- 成交结果通知书 ----------------------------------------------------------------------------


def test_result_notification_to_a_ranked_bidder(texts: dict[str, str]) -> None:
    text = texts["ranked_loser"]
    assert_contains(
        text,
        "成交结果通知书",
        f"{XIYANGHONG}：",
        f"成交供应商为“{CHUNHUI}”，成交金额286,000.00元",
        "你单位投标报价279,500.00元，通过资格审查",
        "最终得分83.67，在2份参加评审的投标中排名第2",
        "你单位未获成交",
        "感谢你单位",
        f"凭项目编号{LOT_NO}查看",
        "可以向延吉市民政局咨询",
    )
    assert squash(HEMEI) not in text


def test_result_notification_to_a_bidder_screened_out(texts: dict[str, str]) -> None:
    text = texts["screened_out"]
    assert_contains(
        text,
        f"{HEMEI}：",
        f"成交供应商为“{CHUNHUI}”，成交金额286,000.00元",
        "你单位投标报价258,000.00元",
        "未进入专家评审",
        f"1.{HEMEI_FAILURE}",
    )
    assert "最终得分" not in text


def test_result_notification_to_the_bidder_that_declined(texts: dict[str, str]) -> None:
    assert_contains(
        texts["declined"],
        f"{CHUNHUI}：",
        f"成交供应商为“{XIYANGHONG}”，成交金额279,500.00元，由其与延吉市卫生健康局签订政府购买服务合同",
        "最终得分85.67，在2份参加评审的投标中排名第1",
        "本机关曾于2026年12月8日向你单位发出成交通知书，结果为：放弃成交（服务团队人员变动，无法按期履约）",
    )
    assert "你单位未获成交" not in texts["declined"]


# --- 流标公告 --------------------------------------------------------------------------------


def test_failed_lot_notice_gives_reasons_and_what_happens_next(texts: dict[str, str]) -> None:
    assert_contains(
        texts["failed"],
        "社区居家养老上门服务项目流标公告",
        "投标已于2026年11月20日 17时00分截止，共收到有效投标3份",
        "本项目流标",
        f"1.{NOBODY_ACCEPTED}",
        "依据《中华人民共和国政府采购法》第三十六条第一款第（一）项，本项目流标",
        "预算上限300,000.00元",
        "5个工作日内决定重新组织投标或者终止本项目",
        "另行公布新的投标截止时间",
        "通过延吉市社会组织服务平台重新提交投标",
        "特此公告",
    )


# --- 重新组织投标公告 ---------------------------------------------------------------------------


def test_retender_notice_announces_the_new_deadline(texts: dict[str, str]) -> None:
    assert_contains(
        texts["retender"],
        "社区居家养老上门服务项目重新组织投标公告",
        f"“社区居家养老上门服务”项目（项目编号：{LOT_NO}）第1轮投标流标",
        "现将第2轮投标有关事项公告如下",
        "预算上限300,000.00元",
        f"1.{NOBODY_ACCEPTED}",
        "第2轮投标截止时间为2026年12月28日 17时00分",
        f"凭项目编号{LOT_NO}提交投标",
        "上一轮已提交的投标不再有效",
        f"通过资格审查的投标少于{POLICY.minimum_eligible_bids}份的，本项目流标",
        "特此公告",
    )


def test_an_expired_registration_is_screened_out_with_its_date_in_words() -> None:
    """Screening reasons are printed in the 评审报告 and the notices: Chinese quotation marks, dates in words."""
    bid = BIDS[0]
    expired = REGISTER[bid.organization].model_copy(update={"valid_until": datetime(2026, 9, 30, 16, 30, tzinfo=UTC)})
    screening = screen(bid, expired, ELDERLY_CARE.requirements, 2026, date(2026, 11, 23), jurisdiction_name="延吉市")
    assert f"“{expired.name}”的备案或登记已于2026年10月1日到期" in screening.failures


def test_a_deadline_in_a_table_counts_its_last_day(texts: dict[str, str]) -> None:
    """The column of due dates says the day itself counts (pdftotext sets a header's two lines apart)."""
    assert_contains(texts["report"], "评分期限", "（含当日）")


def test_the_seals_place_stays_clear_of_the_footer(rendered: tuple[Path, dict[str, DocumentRef]]) -> None:
    assert misplaced_seals(*rendered) == {}


# --- reproducibility ---------------------------------------------------------------------------


async def test_rendering_again_gives_the_same_documents(rendered: tuple[Path, dict[str, DocumentRef]], engine: Engine) -> None:
    documents_dir, refs = rendered
    activities = DocumentActivities(documents_dir, engine)
    again = await asyncio.gather(*(ActivityEnvironment().run(activities.render_document, r) for r in REQUESTS.values()))
    assert dict(zip(REQUESTS, again, strict=True)) == refs


def test_bidder_text_is_escaped() -> None:
    hostile = "<script>alert(1)</script>互助会"
    lot = AWARDING.model_copy(update={"bids": [BIDS[0].model_copy(update={"organization_name": hostile}), *BIDS[1:]]})
    html = render_html(REQUESTS["award"].model_copy(update={"lot": lot}))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;互助会：" in html
