"""专家评审: checking a score sheet and turning the panel's sheets into a ranking.

Integer arithmetic throughout: points are whole numbers, averages are kept in hundredths and
rounded half up, so the same sheets always give the same ranking on every machine.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.policy import ProcurementPolicy
from schemas.procurement import Bid, RankedBid, Ranking, ScoreInput, ScoreSheet, Screening


def sheet_problems(sheet: ScoreInput, bids: list[Bid], policy: ProcurementPolicy) -> list[str]:
    """Everything wrong with a score sheet: each eligible bid scored on each dimension within its weight."""
    expected = {b.bid_id: b for b in bids}
    problems = [f"投标 {bid_id} 不在本次评审范围内" for bid_id in sheet.scores if bid_id not in expected]
    for bid_id, bid in expected.items():
        given = sheet.scores.get(bid_id)
        if given is None:
            problems.append(f"缺少对投标 {bid_id}（{bid.organization_name}）的评分")
            continue
        for dimension in policy.rubric:
            points = given.get(dimension.id)
            if points is None:
                problems.append(f"投标 {bid_id} 缺少「{dimension.name}」（{dimension.id}）的评分")
            elif not 0 <= points <= dimension.weight:
                problems.append(f"投标 {bid_id} 的「{dimension.name}」评分 {points} 超出 0–{dimension.weight} 分")
        unknown = set(given) - {d.id for d in policy.rubric}
        problems.extend(f"投标 {bid_id} 的评分维度 {d} 不在评分标准中" for d in sorted(unknown))
    return problems


def _mean_x100(values: list[int]) -> int:
    """Mean in hundredths, rounded half up."""
    return (200 * sum(values) + len(values)) // (2 * len(values))


def aggregation_rule(policy: ProcurementPolicy, experts: int) -> str:
    if experts >= policy.drop_extremes_from_experts:
        return f"每个投标取{experts}名专家评分合计，去掉一个最高分和一个最低分后取平均值（保留两位小数）"
    return f"每个投标取{experts}名专家评分合计的平均值（保留两位小数）"


def rank(bids: list[Bid], sheets: list[ScoreSheet], policy: ProcurementPolicy, screenings: Sequence[Screening] = ()) -> Ranking:
    """Final score per bid, ordered by the policy's tie-break: price, then the plan score, then time; first of
    all a graduate of incubation where the policy prefers graduates (the screenings say who graduated)."""
    drop = len(sheets) >= policy.drop_extremes_from_experts
    rules = policy.incubation_rules
    graduates = {s.bid_id for s in screenings if s.graduated} if rules and rules.prefer_graduates else set()
    first_dimension = policy.rubric[0].id
    entries = []
    for bid in bids:
        totals = [sum(sheet.scores[bid.bid_id].values()) for sheet in sheets]
        ordered = sorted(totals)
        kept, dropped = (ordered[1:-1], [ordered[-1], ordered[0]]) if drop else (ordered, [])
        entries.append(
            RankedBid(
                bid_id=bid.bid_id,
                organization=bid.organization,
                organization_name=bid.organization_name,
                price_fen=bid.price_fen,
                expert_totals=totals,
                dropped=dropped,
                final_score_x100=_mean_x100(kept),
                dimension_means_x100={
                    d.id: _mean_x100([sheet.scores[bid.bid_id][d.id] for sheet in sheets]) for d in policy.rubric
                },
                submitted_at=bid.amended_at or bid.submitted_at,
                rank=0,
                graduate=bid.bid_id in graduates,
            )
        )

    def key(entry: RankedBid) -> tuple[int, bool, int, int, float]:
        return (
            -entry.final_score_x100,
            not entry.graduate,
            entry.price_fen,
            -entry.dimension_means_x100[first_dimension],
            entry.submitted_at.timestamp(),
        )

    entries.sort(key=key)
    for position, entry in enumerate(entries, start=1):
        entry.rank = position
        previous = entries[position - 2] if position > 1 else None
        if previous and previous.final_score_x100 == entry.final_score_x100:
            entry.tie_note = _tie_note(previous, entry, first_dimension, rules.basis if rules else "")
    tie_break = policy.tie_break
    if rules and rules.prefer_graduates:
        tie_break = f"最终得分相同的，孵化出壳的社会组织排前（依据{rules.basis}）；其余{tie_break}"
    return Ranking(entries=entries, aggregation=aggregation_rule(policy, len(sheets)), tie_break=tie_break)


def _tie_note(ahead: RankedBid, behind: RankedBid, first_dimension: str, basis: str) -> str:
    if ahead.graduate and not behind.graduate:
        return f"与第{ahead.rank}名得分相同，第{ahead.rank}名为孵化出壳的社会组织，依据{basis}优先，排其后"
    if ahead.price_fen != behind.price_fen:
        return f"与第{ahead.rank}名得分相同，报价较高，排其后"
    if ahead.dimension_means_x100[first_dimension] != behind.dimension_means_x100[first_dimension]:
        return f"与第{ahead.rank}名得分、报价均相同，服务方案得分较低，排其后"
    return f"与第{ahead.rank}名得分、报价、服务方案得分均相同，投标提交时间较晚，排其后"
