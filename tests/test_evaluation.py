"""The ranking rules as a procurement officer would check them by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.evaluation import rank, sheet_problems
from schemas.people import Actor, Role
from schemas.policy import ProcurementPolicy, RubricDimension
from schemas.procurement import Bid, ScoreInput, ScoreSheet

POLICY = ProcurementPolicy(
    rubric=[
        RubricDimension(id="plan", name="服务方案", weight=40),
        RubricDimension(id="capacity", name="服务能力", weight=30),
        RubricDimension(id="budget", name="预算合理性", weight=20),
        RubricDimension(id="reputation", name="信誉与业绩", weight=10),
    ],
    experts_per_panel=5,
    drop_extremes_from_experts=5,
    minimum_eligible_bids=3,
    scoring_working_days=3,
    expert_replacement_working_days=2,
    result_notice_working_days=5,
    challenge_answer_working_days=7,
    award_response_working_days=3,
    failed_lot_decision_working_days=5,
    tie_break="报价低者在前，再比服务方案得分，再比提交时间",
)
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def bid(bid_id: str, price_fen: int, minutes: int = 0) -> Bid:
    return Bid(
        bid_id=bid_id, organization=f"ORG-{bid_id}", organization_name=f"组织{bid_id}", price_fen=price_fen,
        proposal="服务方案说明文字，足够长。", team=["社工"], bidder=Actor(user_id=bid_id, name=bid_id, role=Role.bidder),
        submitted_at=T0 + timedelta(minutes=minutes),
    )


def sheet(expert: str, scores: dict[str, tuple[int, int, int, int]]) -> ScoreSheet:
    return ScoreSheet(
        scores={b: dict(zip(("plan", "capacity", "budget", "reputation"), s, strict=True)) for b, s in scores.items()},
        expert=Actor(user_id=expert, name=expert, role=Role.expert), submitted_at=T0,
    )


def test_five_experts_drop_the_highest_and_lowest_and_average_the_rest() -> None:
    totals = [95, 60, 80, 81, 82]  # kept: 80, 81, 82 → 81.00
    sheets = [sheet(f"e{n}", {"B01": (t - 30, 15, 10, 5)}) for n, t in enumerate(totals)]
    entry = rank([bid("B01", 100)], sheets, POLICY).entries[0]
    assert entry.expert_totals == totals
    assert entry.dropped == [95, 60] and entry.final_score_x100 == 8100


def test_fewer_than_five_experts_keep_every_score_and_round_half_up() -> None:
    sheets = [sheet("e1", {"B01": (30, 20, 10, 5)}), sheet("e2", {"B01": (30, 20, 10, 6)}), sheet("e3", {"B01": (30, 20, 10, 6)})]
    entry = rank([bid("B01", 100)], sheets, POLICY).entries[0]
    assert entry.dropped == [] and entry.final_score_x100 == 6567  # (65 + 66 + 66) / 3 = 65.666… → 65.67


def test_equal_scores_are_ordered_by_price_then_plan_then_submission_time() -> None:
    bids = [bid("B01", 200, 0), bid("B02", 100, 5), bid("B03", 100, 1), bid("B04", 100, 2)]
    same = {"B01": (30, 20, 10, 5), "B02": (30, 20, 10, 5), "B03": (28, 22, 10, 5), "B04": (30, 20, 10, 5)}
    ranking = rank(bids, [sheet("e1", same), sheet("e2", same)], POLICY)
    assert [e.bid_id for e in ranking.entries] == ["B04", "B02", "B03", "B01"]
    notes = {e.bid_id: e.tie_note for e in ranking.entries}
    assert notes["B04"] is None
    assert "提交时间较晚" in notes["B02"]
    assert "服务方案得分较低" in notes["B03"]
    assert "报价较高" in notes["B01"]
    assert ranking.tie_break == POLICY.tie_break


def test_a_sheet_must_score_every_eligible_bid_on_every_dimension_within_its_weight() -> None:
    bids = [bid("B01", 100), bid("B02", 100)]
    problems = sheet_problems(ScoreInput(scores={"B01": {"plan": 41, "capacity": 20, "budget": 10, "unknown": 1}, "B09": {}}), bids, POLICY)
    text = "；".join(problems)
    assert "B09 不在本次评审范围内" in text
    assert "缺少对投标 B02" in text
    assert "评分 41 超出 0–40 分" in text
    assert "缺少「信誉与业绩」" in text
    assert "unknown 不在评分标准中" in text
    assert sheet_problems(ScoreInput(scores={b.bid_id: {"plan": 40, "capacity": 0, "budget": 20, "reputation": 10} for b in bids}), bids, POLICY) == []


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(0, 100), min_size=3, max_size=3), min_size=3, max_size=7), st.lists(st.integers(1, 9), min_size=3, max_size=3))
def test_ranking_is_a_total_order_consistent_with_final_scores(totals: list[list[int]], prices: list[int]) -> None:
    """Whatever the sheets: every bid ranked once, scores never increase down the ranking, and the final
    score lies between the lowest and highest total an expert gave."""
    bids = [bid(f"B0{n}", price * 1000, n) for n, price in enumerate(prices, start=1)]
    sheets = [
        sheet(f"e{e}", {b.bid_id: (min(t, 40), min(max(t - 40, 0), 30), min(max(t - 70, 0), 20), min(max(t - 90, 0), 10)) for b, t in zip(bids, expert, strict=True)})
        for e, expert in enumerate(totals)
    ]
    ranking = rank(bids, sheets, POLICY)
    assert sorted(e.bid_id for e in ranking.entries) == sorted(b.bid_id for b in bids)
    assert [e.rank for e in ranking.entries] == list(range(1, len(bids) + 1))
    finals = [e.final_score_x100 for e in ranking.entries]
    assert finals == sorted(finals, reverse=True)
    for entry in ranking.entries:
        assert 100 * min(entry.expert_totals) <= entry.final_score_x100 <= 100 * max(entry.expert_totals)
        assert bool(entry.dropped) == (len(sheets) >= POLICY.drop_extremes_from_experts)
