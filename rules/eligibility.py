"""资格审查: whether a bidding organization may take part in a lot, with every condition stated."""

from __future__ import annotations

from datetime import date

from schemas.application import Track
from schemas.contracts import term_end
from schemas.incubation import IncubationFairRules, IncubationHistory
from schemas.localtime import date_in_words, local_date
from schemas.procurement import Bid, Check, Eligibility, OrganizationFacts, Screening, grade_value


def _check(condition: str, met: bool, when_met: str, when_not: str) -> Check:
    return Check(condition=condition, met=met, detail=when_met if met else when_not)


def screen(
    bid: Bid,
    organization: OrganizationFacts | None,
    requirements: Eligibility,
    fair_year: int,
    on: date,
    jurisdiction_name: str | None = None,
    incubation_rules: IncubationFairRules | None = None,
) -> Screening:
    """Pure: the same register facts always give the same screening, every failed condition named."""
    if organization is None:
        checks = [_check("在册", False, "", f"“{bid.organization_name}”未在社会组织名录中备案或登记")]
        return Screening(bid_id=bid.bid_id, organization=bid.organization, organization_name=bid.organization_name, checks=checks)
    checks = organization_checks(organization, requirements, fair_year, on, jurisdiction_name)
    checks.extend(incubation_checks(organization, on, incubation_rules))
    return Screening(
        bid_id=bid.bid_id, organization=bid.organization, organization_name=organization.name, checks=checks,
        graduated=organization.graduated,
    )


def incubation_history_text(history: IncubationHistory) -> str:
    """One incubation as the register entry states it."""
    text = f"{date_in_words(local_date(history.admitted_at))}入孵{history.base_name}"
    if history.filed_at:
        text += f"，孵化期间于{date_in_words(local_date(history.filed_at))}完成备案或登记（{history.filing_case_no}）"
    if history.outcome == "graduated" and history.ended_at:
        certificate = f"，出壳证书{history.certificate_number}" if history.certificate_number else ""
        return f"{text}，{date_in_words(local_date(history.ended_at))}已出壳{certificate}"
    if history.outcome == "exited" and history.ended_at:
        reasons = f"（{'；'.join(history.reasons)}）" if history.reasons else ""
        return f"{text}，{date_in_words(local_date(history.ended_at))}已退出{reasons}"
    return f"{text}，孵化中"


def incubation_checks(organization: OrganizationFacts, on: date, rules: IncubationFairRules | None) -> list[Check]:
    """The register's incubation history for the experts to see, and the policy's bar on an organization that
    exited a base (not graduated) within the bar's months before the bid deadline."""
    if not organization.incubations:
        return []
    name = organization.name
    checks = [
        Check(condition="孵化经历", met=True, detail=f"“{name}”" + "；".join(incubation_history_text(h) for h in organization.incubations))
    ]
    if rules and rules.exited_bar_months:
        months = rules.exited_bar_months
        recent = [
            h for h in organization.incubations
            if h.outcome == "exited" and h.ended_at and on <= term_end(local_date(h.ended_at), months)
        ]
        left = f"于{date_in_words(local_date(recent[-1].ended_at))}退出{recent[-1].base_name}孵化" if recent and recent[-1].ended_at else ""
        checks.append(
            _check(
                "退出孵化限制", not recent,
                f"“{name}”投标截止前{months}个月内没有退出孵化的记录",
                f"“{name}”{left}（未出壳），距投标截止不足{months}个月，依据{rules.basis}，不得参加本次投标",
            )
        )
    return checks


def organization_checks(
    organization: OrganizationFacts, requirements: Eligibility, fair_year: int, on: date, jurisdiction_name: str | None = None
) -> list[Check]:
    """Whether a registered organization may take on a government purchase this year: for a bid, and for a
    single-source purchase with no further requirements."""
    name = organization.name
    expires = local_date(organization.valid_until) if organization.valid_until else None
    barred = organization.barred_until_year
    checks = [
        _check("在册", True, f"“{name}”已在名录中（{Track(organization.track).label}）", ""),
        _check(
            "有效期", expires is None or expires >= on,
            f"“{name}”的备案或登记在有效期内", f"“{name}”的备案或登记已于{date_in_words(expires) if expires else ''}到期",
        ),
        _check(
            "信用状态", organization.standing == "good",
            f"“{name}”信用状态良好", f"“{name}”未按规定报送年度工作报告或存在违规记录，信用状态不良",
        ),
        _check(
            "未被限制参加", not barred or barred < fair_year,
            f"“{name}”未被限制参加社洽会",
            f"“{name}”因购买服务项目绩效评价不合格，{barred}年度及以前不得参加社洽会",
        ),
    ]
    if requirements.registered_only:
        checks.append(
            _check(
                "登记类型", organization.track != Track.filing.value,
                "本项目仅限登记的社会组织，该组织已登记",
                f"本项目仅限登记的社会团体或社会服务机构，“{name}”为备案的社区社会组织",
            )
        )
    if requirements.minimum_grade:
        actual = f"为{organization.grade}" if organization.grade else "尚未参加评估"
        text = f"本项目要求评估等级{requirements.minimum_grade}以上，“{name}”{actual}"
        checks.append(
            _check("评估等级", grade_value(organization.grade) >= grade_value(requirements.minimum_grade), text, text)
        )
    if requirements.jurisdiction:
        text = f"本项目要求在{jurisdiction_name or requirements.jurisdiction}内备案或登记，“{name}”在{organization.community_full_name}"
        checks.append(_check("所在辖区", requirements.jurisdiction in organization.jurisdiction_chain, text, text))
    if organization.performance_grade:
        checks.append(
            Check(
                condition="履约绩效", met=True,
                detail=f"“{name}”{organization.performance_year}年度政府购买服务项目绩效评价为{organization.performance_grade}，供评审“信誉与业绩”参考",
            )
        )
    return checks
