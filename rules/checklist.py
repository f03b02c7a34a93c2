"""The pure evaluator: an application under a policy → the explained checklist and the procedure.

Every requirement is either met, missing or waived, and every waiver and relaxation names the
green-channel rule and clause behind it, so an applicant, a reviewer and an auditor see why.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterator
from typing import TypeVar

from schemas.application import Application, MaterialSubmission, Person
from schemas.checklist import (
    Assessment,
    Checklist,
    FeeItem,
    MaterialItem,
    MaterialStatus,
    Procedure,
    RuleRef,
    StepPlan,
    ThresholdItem,
)
from schemas.money import yuan
from schemas.policy import (
    Effect,
    Fact,
    GreenChannelRule,
    Policy,
    PolicyRef,
    RelaxThreshold,
    ReviewStep,
    ShortenTimeLimit,
    SimplifyPublicNotice,
    Threshold,
    TrackPolicy,
    WaiveFee,
    WaiveMaterial,
)

E = TypeVar("E", bound=Effect)
DEFAULT_MARK = "（辖区默认值）"


class TrackNotOffered(ValueError):
    pass


def facts(application: Application) -> dict[Fact, int | bool]:
    return {
        Fact.founders: len(application.founders),
        Fact.leaders: len(application.leaders),
        Fact.members: application.members,
        Fact.unit_members: application.unit_members,
        Fact.funds_fen: application.funds_fen,
        Fact.has_venue: application.venue.kind != "none",
        Fact.has_independent_venue: application.venue.kind == "own",
        Fact.has_supervising_unit: bool(application.supervising_unit and application.supervising_unit.strip()),
    }


def green_channel_applies(policy: Policy, application: Application) -> tuple[bool, str]:
    channel = policy.green_channel
    if channel is None:
        return False, "本辖区政策未设立绿色通道，按一般规定办理。"
    if application.track not in channel.tracks:
        return False, f"{channel.title}不适用于{application.track.label}，按一般规定办理。"
    if channel.requires_community_based and not application.community_based:
        return False, f"本组织不属于社区社会组织，不适用{channel.title}，按一般规定办理。"
    return True, f"本组织为社区社会组织，适用{channel.title}（依据：{channel.citation}）。"


def _rule_ref(rule: GreenChannelRule) -> RuleRef:
    return RuleRef(
        rule_id=rule.id,
        group=rule.group,
        name=rule.name,
        citation=rule.citation,
        jurisdiction_default=rule.jurisdiction_default,
    )


class _Effects:
    """The green-channel effects that apply to one application's track."""

    def __init__(self, policy: Policy, application: Application, applies: bool) -> None:
        rules = policy.green_channel.rules if policy.green_channel and applies else []
        self._items = [(rule, e) for rule in rules for e in rule.effects if e.applies_to(application.track)]

    def of(self, kind: type[E]) -> Iterator[tuple[RuleRef, E]]:
        for rule, effect in self._items:
            if isinstance(effect, kind):
                yield _rule_ref(rule), effect


def registered_locally(registration: str | None, community: str, community_names: Collection[str]) -> bool:
    """户籍 given as the community's code or name, or as any address that names it: its full name or
    the tail of it (建工街道春光社区), with the province before it or the street address after it
    (吉林省延边朝鲜族自治州延吉市建工街道春光社区光明路12号). An address naming another street or city
    with a community of the same name (延吉市河南街道春光社区) is not this community."""
    if not registration:
        return False
    value = "".join(unicodedata.normalize("NFKC", registration).split())
    if value == community or value in community_names:
        return True
    return any(
        _names_community(value, name, full[: -len(name)])
        for name in community_names
        for full in community_names
        if len(full) > len(name) and full.endswith(name)
    )


def _names_community(value: str, name: str, above: str) -> bool:
    """``value`` names the community ``name`` where what precedes the name is the tail of the places
    above it (``above``: 延吉市建工街道) or all of them with more before (the province)."""
    start = value.find(name)
    while start >= 0:
        before = value[:start]
        if before and (above.endswith(before) or before.endswith(above)):
            return True
        start = value.find(name, start + 1)
    return False


SUPPLEMENTARY = "supplementary"
"""Any other material (e.g. what a reviewer asked for in a correction), described in its note."""


def material_problems(materials: list[MaterialSubmission], people: list[str], track: TrackPolicy) -> list[str]:
    """Submitted materials the policy cannot recognise: unknown codes, or per-person proofs without their person."""
    known = {m.id: m for m in track.materials}
    problems = []
    for item in materials:
        material = known.get(item.material)
        if item.material == SUPPLEMENTARY:
            if not (item.note and item.note.strip()):
                problems.append(f"补充材料（{SUPPLEMENTARY}）须在说明（note）中写明是什么材料")
        elif material is None:
            options = "、".join([*(f"{m.id}（{m.title}）" for m in track.materials), f"{SUPPLEMENTARY}（其他补充材料）"])
            problems.append(f"材料代码 {item.material} 不属于本类型申请，可选：{options}")
        elif material.per_person and item.person not in people:
            who = f"「{item.person}」不在发起人和拟任负责人名单中" if item.person else "未注明所属人员（person）"
            problems.append(f"{material.title}须注明是哪位发起人或拟任负责人的：{who}")
    return problems


def _material_items(
    track: TrackPolicy, application: Application, effects: _Effects, community_names: Collection[str]
) -> list[MaterialItem]:
    items = []
    for material in track.materials:
        waivers = [(ref, e) for ref, e in effects.of(WaiveMaterial) if e.material == material.id]
        people: list[Person | None] = list(application.people) if material.per_person else [None]
        for person in people:
            name = person.name if person else None
            local = person is not None and registered_locally(
                person.household_registration, application.community, community_names
            )
            waiver = next((ref for ref, e in waivers if not e.only_for_local_household or local), None)
            label = f"{material.title}（{name}）" if name else material.title
            if waiver:
                reason = "户籍在本社区，" if person and local else ""
                status, text = MaterialStatus.waived, f"免交：{label}，{reason}依据{waiver.display}"
            elif application.provided(material.id, name):
                status, text = MaterialStatus.provided, f"已提交：{label}"
            else:
                status, text = MaterialStatus.missing, f"缺少：{label}（依据{material.citation}）"
            items.append(
                MaterialItem(
                    material=material.id,
                    title=material.title,
                    person=name,
                    status=status,
                    waived_by=waiver,
                    citation=material.citation,
                    explanation=text,
                )
            )
    return items


def _amount(value: int | bool, unit: str) -> str:
    return yuan(int(value)) if unit == "分" else f"{value}{unit}"


def _threshold_item(threshold: Threshold, values: dict[Fact, int | bool], effects: _Effects) -> ThresholdItem:
    relaxed_by, effect = next(
        ((ref, e) for ref, e in effects.of(RelaxThreshold) if e.threshold == threshold.id), (None, None)
    )
    actual = values[threshold.fact]
    common = dict(threshold=threshold.id, label=threshold.label, citation=threshold.citation, unit=threshold.unit)
    if threshold.fact.is_boolean:
        required = bool(threshold.required)
        if not (effect and effect.required is False and required):
            relaxed_by = None
        required = required and relaxed_by is None
        met = bool(actual) or not required
        default = DEFAULT_MARK if (relaxed_by or threshold).jurisdiction_default else ""
        requirement = f"经{relaxed_by.display}放宽为不作要求" if relaxed_by else ("要求具备" if required else "不作要求")
        text = f"{threshold.label}：{requirement}{default}，申报{'具备' if actual else '不具备'}，{'符合' if met else '不符合'}"
        return ThresholdItem(
            **common, actual=bool(actual), required=required, ordinary_required=threshold.required, met=met,
            relaxed_by=relaxed_by, jurisdiction_default=bool(default), explanation=text,
        )
    ordinary = threshold.minimum or 0
    if not (effect and effect.minimum is not None and effect.minimum < ordinary):
        relaxed_by = None
    minimum = effect.minimum if relaxed_by and effect and effect.minimum is not None else ordinary
    alternative = threshold.alternative
    alternative_met = bool(alternative and values[alternative.fact] >= alternative.minimum)
    met = actual >= minimum or alternative_met
    default = DEFAULT_MARK if (relaxed_by or threshold).jurisdiction_default else ""
    relaxed = f"（经{relaxed_by.display}由不少于{_amount(ordinary, threshold.unit)}放宽）" if relaxed_by else ""
    alt = (
        f"；或{alternative.label}不少于{alternative.minimum}（申报{values[alternative.fact]}）" if alternative else ""
    )
    text = (
        f"{threshold.label}：要求不少于{_amount(minimum, threshold.unit)}{relaxed}{alt}{default}，"
        f"申报{_amount(actual, threshold.unit)}，{'符合' if met else '不符合'}"
    )
    return ThresholdItem(
        **common, actual=int(actual), required_minimum=minimum, ordinary_minimum=threshold.minimum,
        alternative_met=alternative_met, met=met, relaxed_by=relaxed_by,
        jurisdiction_default=bool(default), explanation=text,
    )


def _fee_items(track: TrackPolicy, effects: _Effects) -> list[FeeItem]:
    items = []
    for fee in track.fees:
        waiver = next((ref for ref, e in effects.of(WaiveFee) if e.fee == fee.id), None)
        due = 0 if waiver else fee.amount_fen
        mark = DEFAULT_MARK if fee.jurisdiction_default else ""
        text = (
            f"{fee.name}{yuan(fee.amount_fen)}{mark}，免收，依据{waiver.display}"
            if waiver
            else f"{fee.name}{yuan(fee.amount_fen)}{mark}，应缴"
        )
        items.append(
            FeeItem(
                fee=fee.id, name=fee.name, amount_fen=fee.amount_fen, due_fen=due, waived_by=waiver,
                citation=fee.citation, jurisdiction_default=fee.jurisdiction_default, explanation=text,
            )
        )
    return items


def _time_limit(effects: _Effects, step_id: str | None, ordinary: int) -> tuple[int, RuleRef | None]:
    """The working days that apply to a step (None: the whole case), and the rule that shortened them."""
    for ref, effect in effects.of(ShortenTimeLimit):
        if effect.step == step_id and effect.working_days < ordinary:
            return effect.working_days, ref
    return ordinary, None


def _step_plan(step: ReviewStep, effects: _Effects) -> StepPlan:
    days, shortened_by = _time_limit(effects, step.id, step.time_limit_working_days)
    return StepPlan(
        id=step.id,
        applicant_name=step.applicant_name,
        staff_name=step.staff_name,
        future_name=step.future_name,
        role=step.role,
        level=step.level,
        time_limit_working_days=days,
        reminder_working_days_before=step.reminder_working_days_before,
        backup_time_limit_working_days=step.backup_time_limit_working_days,
        shortened_by=shortened_by,
    )


def _procedure(application: Application, policy: Policy, track: TrackPolicy, effects: _Effects) -> Procedure:
    notice = next(effects.of(SimplifyPublicNotice), None)
    legal_days, legal_shortened_by = _time_limit(effects, None, track.legal_time_limit_working_days)
    return Procedure(
        track=application.track,
        track_name=track.name,
        authority_role=track.authority_role,
        authority_level=track.authority_level,
        approved_name=track.approved_name,
        refused_name=track.refused_name,
        certificate_title=track.certificate_title,
        refusal_title=track.refusal_title,
        validity_years=track.validity_years,
        review_steps=[_step_plan(s, effects) for s in track.review_steps],
        decision_step=_step_plan(track.decision_step, effects),
        objection_step=_step_plan(track.objection_step, effects),
        public_notice_working_days=min(notice[1].working_days, track.public_notice_working_days)
        if notice
        else track.public_notice_working_days,
        public_notice_channel=notice[1].channel if notice else track.public_notice_channel,
        public_notice_simplified_by=notice[0] if notice else None,
        public_notice_counts_toward_time_limit=track.public_notice_counts_toward_time_limit,
        correction_window_working_days=track.correction_window_working_days,
        legal_time_limit_working_days=legal_days,
        legal_time_limit_shortened_by=legal_shortened_by,
        appeal=track.appeal,
        refusal_basis=track.refusal_basis,
        non_acceptance_basis=track.non_acceptance_basis,
        objection_limits=policy.objection_limits,
        corrections_per_round=policy.corrections_per_round,
        history_events_limit=policy.history_events_limit,
    )


def assess(
    application: Application, policy: Policy, ref: PolicyRef, community_names: Collection[str] = ()
) -> Assessment:
    """Deterministic: the same application and policy always give the same assessment.
    ``community_names`` are the community's name and full name, so 户籍 may be given either way."""
    track = policy.tracks.get(application.track)
    if track is None:
        raise TrackNotOffered(f"{policy.title}未设立「{application.track.label}」办理类型")
    applies, explanation = green_channel_applies(policy, application)
    effects = _Effects(policy, application, applies)
    values = facts(application)
    fees = _fee_items(track, effects)
    checklist = Checklist(
        policy=ref,
        track=application.track,
        green_channel=applies,
        green_channel_explanation=explanation,
        materials=_material_items(track, application, effects, community_names),
        thresholds=[_threshold_item(t, values, effects) for t in track.thresholds],
        fees=fees,
        fees_due_fen=sum(f.due_fen for f in fees),
        defaults_note=policy.defaults_note,
    )
    return Assessment(checklist=checklist, procedure=_procedure(application, policy, track, effects))
