"""The policy files and the pure evaluator: 三简、四免、五宽 as data, explained checklists, and
properties that hold for every application (determinism, partition of materials, the green
channel only ever relaxes, fees add up, thresholds are explained with their numbers)."""

from __future__ import annotations

import functools
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.checklist import DEFAULT_MARK, assess, facts, green_channel_applies
from rules.policy_files import PolicyNotFound, all_policies, policy_in_force
from schemas.application import Application, Person, PersonRole, Track, VenueKind
from schemas.checklist import Assessment, MaterialStatus, RuleRef, ThresholdItem
from schemas.money import yuan
from schemas.policy import (
    Fact,
    Policy,
    PolicyRef,
    RelaxThreshold,
    ShortenTimeLimit,
    SimplifyPublicNotice,
    TrackPolicy,
    WaiveFee,
    WaiveMaterial,
)
from settings import PROJECT_ROOT
from tests import factories

POLICIES = PROJECT_ROOT / "policies"
ON = date(2026, 3, 2)
YJ_COMMUNITY = "YJ-JG-CG"
XQ_COMMUNITY = "XQ-DF-HP"
CHAINS: dict[str, tuple[str, ...]] = {
    "YJ": (YJ_COMMUNITY, "YJ-JG", "YJ"),
    "XQ": (XQ_COMMUNITY, "XQ-DF", "XQ"),
}
COMMUNITY = {"YJ": YJ_COMMUNITY, "XQ": XQ_COMMUNITY}

TWELVE_RULES = {
    ("三简", "简化程序"),
    ("三简", "简化材料"),
    ("三简", "简化公示"),
    ("四免", "免收登记费"),
    ("四免", "免收公告费"),
    ("四免", "免独立场所使用权证明"),
    ("四免", "免本社区户籍的发起人和拟任负责人身份证明"),
    ("五宽", "资金放宽"),
    ("五宽", "会员数量放宽"),
    ("五宽", "办公场所放宽"),
    ("五宽", "业务主管单位放宽"),
    ("五宽", "验资放宽"),
}

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def policy_for(jurisdiction: str) -> tuple[Policy, PolicyRef]:
    return policy_in_force(POLICIES, list(CHAINS[jurisdiction]), ON)


def assess_in(jurisdiction: str, application: Application) -> Assessment:
    policy, ref = policy_for(jurisdiction)
    return assess(application, policy, ref)


def track_policy(jurisdiction: str, track: Track) -> TrackPolicy:
    return policy_for(jurisdiction)[0].tracks[track]


def rule_effects(jurisdiction: str, track: Track, kind: type) -> list[tuple[str, Any]]:
    """(rule name, effect) for every green-channel effect of ``kind`` on ``track`` — read from the policy."""
    channel = policy_for(jurisdiction)[0].green_channel
    if channel is None:
        return []
    return [(r.name, e) for r in channel.rules for e in r.effects if isinstance(e, kind) and e.applies_to(track)]


def all_steps(assessment: Assessment) -> dict[str, int]:
    p = assessment.procedure
    return {s.id: s.time_limit_working_days for s in [*p.review_steps, p.decision_step, p.objection_step]}


def cites(ref: RuleRef | None) -> bool:
    return ref is not None and bool(ref.citation.source.strip()) and bool(ref.citation.clause.strip())


def application(track: Track | str, community: str, **overrides: Any) -> Application:
    """A plain application in ``community``; tests override what they examine."""
    data: dict[str, Any] = {
        "track": str(track),
        "community": community,
        "organization_name": "春光社区志愿服务队",
        "business_scope": "组织社区居民开展志愿服务",
        "community_based": True,
        "members": 60,
        "unit_members": 0,
        "funds_fen": 5_000_000,
        "venue": {"kind": "own", "address": "春光路1号"},
        "supervising_unit": "市民政局",
        "people": [
            {"name": "王芳", "role": "founder_and_leader", "household_registration": community},
            {"name": "李明", "role": "founder", "household_registration": "吉林省长春市"},
        ],
        "materials": [],
        "applicant_name": "王芳",
        "contact_phone": "13800000000",
    }
    data.update(overrides)
    return Application.model_validate(data)


def threshold(assessment: Assessment, threshold_id: str) -> ThresholdItem:
    (item,) = [t for t in assessment.checklist.thresholds if t.threshold == threshold_id]
    return item


# --------------------------------------------------------------------------------------------
# 1. The shipped policy files
# --------------------------------------------------------------------------------------------


def test_every_policy_file_loads_validates_and_is_the_one_in_force_on_its_date() -> None:
    """A typo in any shipped file (bad key, stricter green channel, broken base) fails here, not in production."""
    files = all_policies(POLICIES)
    assert {f.parent.name for f in files} >= {"national", "YJ"}
    for path in files:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        on = date.fromisoformat(str(raw["effective_from"]))
        policy, ref = policy_in_force(POLICIES, [path.parent.name], on)
        assert ref.path.split(" + ")[0] == str(path.relative_to(POLICIES))
        assert policy.jurisdiction == raw["jurisdiction"]
        assert set(policy.tracks) == set(Track), f"{path}: every track must be offered (own or via base)"
        assert policy.defaults_note.strip()
        assert len(ref.sha256) == 64


def test_citation_mappings_are_parsed_whole() -> None:
    """A citation written as a YAML flow mapping must not be cut at an ASCII comma inside its clause
    (the rest would become a stray key that pydantic silently drops)."""
    broken: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "source" in node and "clause" in node:
                stray = set(node) - {"source", "clause", "text"}
                clause = str(node["clause"])
                opened = clause.count("(") + clause.count("\uff08")
                closed = clause.count(")") + clause.count("\uff09")
                if stray or opened != closed:
                    broken.append(f"{where}: {node}")
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    for path in all_policies(POLICIES):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), str(path.relative_to(POLICIES)))
    assert not broken, "truncated citations:\n" + "\n".join(broken)


def test_fallback_to_national_and_yanji_inherits_its_tracks() -> None:
    """XQ has no policy folder → national rules; Yanji's file names national as its base."""
    national, national_ref = policy_for("XQ")
    yanji, yanji_ref = policy_for("YJ")
    assert national.jurisdiction == "national" and national.green_channel is None
    assert yanji.jurisdiction == "YJ" and yanji.green_channel is not None
    assert yanji_ref.path.startswith("YJ/") and "national/" in yanji_ref.path
    assert yanji.tracks == national.tracks
    assert yanji_ref.sha256 != national_ref.sha256


def test_newest_version_in_force_decides(tmp_path: Path) -> None:
    """Policies are versioned: a case is decided by the newest version in force on its date, and the
    reference recorded for auditors changes with the file."""
    source = POLICIES / "national" / "2026-01.yaml"
    (tmp_path / "national").mkdir()
    (tmp_path / "national" / "2026-01.yaml").write_bytes(source.read_bytes())
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    raw.update(version="2026.7", effective_from="2026-07-01")
    (tmp_path / "national" / "2026-07.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    before, before_ref = policy_in_force(tmp_path, list(CHAINS["XQ"]), date(2026, 6, 30))
    after, after_ref = policy_in_force(tmp_path, list(CHAINS["XQ"]), date(2026, 7, 1))
    assert (before.version, after.version) == ("2026.1", "2026.7")
    assert before_ref.path == "national/2026-01.yaml" and after_ref.path == "national/2026-07.yaml"
    assert before_ref.sha256 != after_ref.sha256


def test_a_policy_whose_decision_is_not_the_authoritys_is_refused(tmp_path: Path) -> None:
    """A refusal ends a case only at the authority's step, so a decision step held by anyone else would
    certify after its 不同意: such a policy file does not load."""
    source = POLICIES / "national" / "2026-01.yaml"
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    track = next(iter(raw["tracks"].values()))
    track["decision_step"]["role"] = "community_committee"
    (tmp_path / "national").mkdir()
    (tmp_path / "national" / "2026-01.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="作出决定的环节.*须由办理机关"):
        policy_in_force(tmp_path, list(CHAINS["XQ"]), date(2026, 6, 30))


def test_no_policy_before_it_takes_effect() -> None:
    """A case filed before any policy is in force must not be decided by a future rule."""
    with pytest.raises(PolicyNotFound):
        policy_in_force(POLICIES, list(CHAINS["YJ"]), date(2025, 12, 31))


def test_national_statutory_numbers() -> None:
    """Numbers not marked as defaults are statutory: 50 individual or 30 unit members and 30,000 yuan
    for a local association (《社会团体登记管理条例》第十条)."""
    association = track_policy("XQ", Track.association)
    members = next(t for t in association.thresholds if t.id == "members")
    funds = next(t for t in association.thresholds if t.id == "funds")
    assert (members.minimum, members.alternative and members.alternative.minimum) == (50, 30)
    assert members.alternative is not None and members.alternative.fact is Fact.unit_members
    assert funds.fact is Fact.funds_fen and funds.minimum == 3_000_000 and funds.unit == "分"
    assert "社会团体登记管理条例" in members.citation.source and "社会团体登记管理条例" in funds.citation.source


def test_unmarked_numbers_cite_a_named_regulation() -> None:
    """A number that is not a jurisdiction default must come from a named regulation (《…》)."""
    for jurisdiction in CHAINS:
        policy, _ = policy_for(jurisdiction)
        for track_id, track in policy.tracks.items():
            numbered = [(t.id, t.jurisdiction_default, t.citation) for t in track.thresholds if t.minimum is not None]
            numbered += [(f.id, f.jurisdiction_default, f.citation) for f in track.fees]
            for item_id, is_default, citation in numbered:
                if not is_default:
                    assert "《" in citation.source, f"{jurisdiction}/{track_id}/{item_id} is unmarked but cites {citation}"


def test_yanji_implements_all_twelve_named_rules_with_citations() -> None:
    """三简、四免、五宽: each of the twelve rules exists once, cites its clause and has an effect."""
    channel = policy_for("YJ")[0].green_channel
    assert channel is not None
    assert channel.citation.source.strip() and channel.citation.clause.strip()
    assert set(channel.tracks) == set(Track)
    named = Counter((r.group, r.name) for r in channel.rules)
    assert set(named) == TWELVE_RULES
    assert all(n == 1 for n in named.values())
    for rule in channel.rules:
        assert rule.citation.source.strip() and rule.citation.clause.strip(), rule.id
        assert rule.name in rule.citation.clause, f"{rule.id}: clause {rule.citation.clause!r} does not name the rule"
        assert rule.effects, rule.id


def test_yanji_rules_have_the_effect_their_name_says() -> None:
    """The data matches the words: 免收登记费 waives the registration fee, 验资放宽 the verified-capital report, …"""
    rules = {r.name: r for r in policy_for("YJ")[0].green_channel.rules}  # type: ignore[union-attr]

    def kinds(name: str, kind: type) -> list[Any]:
        return [e for e in rules[name].effects if isinstance(e, kind)]

    assert kinds("简化程序", ShortenTimeLimit)
    assert kinds("简化材料", WaiveMaterial)
    assert kinds("简化公示", SimplifyPublicNotice)
    assert {e.fee for e in kinds("免收登记费", WaiveFee)} == {"registration_fee"}
    assert {e.fee for e in kinds("免收公告费", WaiveFee)} == {"announcement_fee"}
    assert {e.material for e in kinds("免独立场所使用权证明", WaiveMaterial)} == {"venue_proof"}
    (local_id,) = kinds("免本社区户籍的发起人和拟任负责人身份证明", WaiveMaterial)
    assert local_id.material == "identity_proof" and local_id.only_for_local_household
    assert {e.threshold for e in kinds("资金放宽", RelaxThreshold)} == {"funds"}
    assert {e.threshold for e in kinds("会员数量放宽", RelaxThreshold)} == {"members"}
    assert {e.threshold for e in kinds("办公场所放宽", RelaxThreshold)} <= {"venue", "independent_venue"}
    assert "supervising_unit" in {e.threshold for e in kinds("业务主管单位放宽", RelaxThreshold)}
    assert "capital_verification_report" in {e.material for e in kinds("验资放宽", WaiveMaterial)}


def test_every_yanji_rule_takes_effect_for_some_community_application() -> None:
    """No rule is a dead letter: each of the twelve is cited by at least one checklist or procedure."""
    cited: set[str] = set()
    for track in Track:
        a = assess_in("YJ", application(track, YJ_COMMUNITY))
        c, p = a.checklist, a.procedure
        refs = [m.waived_by for m in c.materials] + [t.relaxed_by for t in c.thresholds] + [f.waived_by for f in c.fees]
        refs += [s.shortened_by for s in [*p.review_steps, p.decision_step, p.objection_step]]
        refs += [p.public_notice_simplified_by, p.legal_time_limit_shortened_by]
        cited |= {r.name for r in refs if r is not None}
    assert cited == {name for _, name in TWELVE_RULES}


def test_numbers_set_by_the_green_channel_are_marked_as_defaults() -> None:
    """The seed names the rules but not the numbers: every relaxed minimum, shortened time limit and
    shorter notice period is a jurisdiction default; the checklist says so and carries the defaults note."""
    channel = policy_for("YJ")[0].green_channel
    assert channel is not None
    for rule in channel.rules:
        numeric = [
            e
            for e in rule.effects
            if isinstance(e, (ShortenTimeLimit, SimplifyPublicNotice)) or (isinstance(e, RelaxThreshold) and e.minimum is not None)
        ]
        if numeric:
            assert rule.jurisdiction_default, f"{rule.id} sets numbers but is not marked jurisdiction_default"
    for track in Track:
        a = assess_in("YJ", application(track, YJ_COMMUNITY, members=0, funds_fen=0))
        assert a.checklist.defaults_note.strip()
        for t in a.checklist.thresholds:
            if t.relaxed_by is not None and t.required_minimum is not None:
                assert t.jurisdiction_default and DEFAULT_MARK in t.explanation, t.explanation
        for f in a.checklist.fees:
            assert (DEFAULT_MARK in f.explanation) == f.jurisdiction_default
        p = a.procedure
        for s in [*p.review_steps, p.decision_step, p.objection_step]:
            assert s.shortened_by is None or s.shortened_by.jurisdiction_default
        assert p.legal_time_limit_shortened_by is None or p.legal_time_limit_shortened_by.jurisdiction_default
        assert p.public_notice_simplified_by is None or p.public_notice_simplified_by.jurisdiction_default
    assert assess_in("XQ", application(Track.filing, XQ_COMMUNITY)).checklist.defaults_note.strip()


# --------------------------------------------------------------------------------------------
# 2. Examples a reviewer would recognise
# --------------------------------------------------------------------------------------------


def test_local_founder_identity_proof_waived_by_four_waivers_other_founder_still_needs_it() -> None:
    """四免之四: 王芳 (户籍 in 春光社区) needs no ID proof; 李明 (户籍 长春) does, and it is listed as missing."""
    app = factories.filing(materials=[{"material": m} for m in ("filing_form", "charter", "member_list")])
    checklist = assess_in("YJ", app).checklist
    assert checklist.green_channel
    ids = {m.person: m for m in checklist.materials if m.material == "identity_proof"}
    assert set(ids) == {"王芳", "李明"}
    wang, li = ids["王芳"], ids["李明"]
    assert wang.status is MaterialStatus.waived
    assert wang.waived_by is not None and wang.waived_by.group == "四免"
    assert wang.waived_by.name == "免本社区户籍的发起人和拟任负责人身份证明" and cites(wang.waived_by)
    assert "户籍在本社区" in wang.explanation and "王芳" in wang.explanation
    assert li.status is MaterialStatus.missing and li.waived_by is None
    assert not checklist.complete
    assert [d for d in checklist.defects if "李明" in d] == [li.explanation]
    assert not any("王芳" in d for d in checklist.defects)

    provided = app.model_copy(update={"materials": [*app.materials, *factories.filing().materials[3:]]})
    assert assess_in("YJ", provided).checklist.complete


def test_local_household_in_the_same_city_but_another_community_is_not_local() -> None:
    """'本社区户籍' means this community, not merely the same street or city."""
    app = application(Track.filing, YJ_COMMUNITY, people=[
        {"name": "王芳", "role": "founder_and_leader", "household_registration": "YJ-JG-MA"},
        {"name": "李明", "role": "founder", "household_registration": None},
    ])
    items = [m for m in assess_in("YJ", app).checklist.materials if m.material == "identity_proof"]
    assert [m.status for m in items] == [MaterialStatus.missing, MaterialStatus.missing]


def test_fees_waived_under_green_channel_and_due_in_fen_otherwise() -> None:
    """四免: registration and announcement fees are 0 for a community organization, due in full otherwise."""
    community = assess_in("YJ", factories.association(community_based=True)).checklist
    assert community.green_channel and community.fees_due_fen == 0
    assert {f.fee: f.waived_by.name for f in community.fees if f.waived_by} == {
        "registration_fee": "免收登记费",
        "announcement_fee": "免收公告费",
    }
    assert all("免收" in f.explanation and yuan(f.amount_fen) in f.explanation for f in community.fees)

    ordinary = assess_in("YJ", factories.association()).checklist
    expected = sum(f.amount_fen for f in track_policy("YJ", Track.association).fees)
    assert not ordinary.green_channel
    assert expected > 0 and ordinary.fees_due_fen == expected and isinstance(ordinary.fees_due_fen, int)
    for fee in ordinary.fees:
        assert fee.waived_by is None and fee.due_fen == fee.amount_fen
        assert "应缴" in fee.explanation and yuan(fee.amount_fen) in fee.explanation

    filing = assess_in("YJ", factories.filing()).checklist
    assert filing.fees_due_fen == 0 and all(f.waived_by and f.waived_by.group == "四免" for f in filing.fees)


def _thresholds_cases() -> list[Any]:
    cases = []
    for jurisdiction, community_based, label in (("YJ", True, "relaxed"), ("YJ", False, "ordinary"), ("XQ", True, "ordinary-XQ")):
        for threshold_id in ("members", "funds"):
            for delta in (-1, 0, 1):
                cases.append(pytest.param(jurisdiction, community_based, threshold_id, delta, id=f"{label}-{threshold_id}{delta:+d}"))
    return cases


@pytest.mark.parametrize(("jurisdiction", "community_based", "threshold_id", "delta"), _thresholds_cases())
def test_association_members_and_funds_just_under_and_over(
    jurisdiction: str, community_based: bool, threshold_id: str, delta: int
) -> None:
    """One member or one fen short fails, exactly the minimum passes; the explanation shows both numbers."""
    ordinary = next(t for t in track_policy(jurisdiction, Track.association).thresholds if t.id == threshold_id)
    assert ordinary.minimum is not None
    minimum = ordinary.minimum
    relaxation = [e for _, e in rule_effects(jurisdiction, Track.association, RelaxThreshold) if e.threshold == threshold_id]
    if community_based and relaxation:
        minimum = relaxation[0].minimum
    actual = minimum + delta
    field = "members" if threshold_id == "members" else "funds_fen"
    app = application(Track.association, COMMUNITY[jurisdiction], community_based=community_based, **{field: actual})
    item = threshold(assess_in(jurisdiction, app), threshold_id)
    assert item.required_minimum == minimum and item.actual == actual
    assert item.met is (delta >= 0)
    assert item.explanation.endswith("不符合") is (delta < 0)
    shown = yuan(actual) if threshold_id == "funds" else f"{actual}人"
    required = yuan(minimum) if threshold_id == "funds" else f"{minimum}人"
    assert f"申报{shown}" in item.explanation and required in item.explanation
    if jurisdiction == "YJ" and community_based:
        assert item.relaxed_by is not None and item.relaxed_by.group == "五宽" and cites(item.relaxed_by)
        assert minimum < ordinary.minimum
        ordinary_text = yuan(ordinary.minimum) if threshold_id == "funds" else f"{ordinary.minimum}人"
        assert ordinary_text in item.explanation and item.relaxed_by.name in item.explanation
    else:
        assert item.relaxed_by is None


def test_relaxed_numbers_for_a_yanji_community_association() -> None:
    """The reviewer-facing numbers: 10 members instead of 50, 2,000 yuan instead of 30,000 yuan (defaults)."""
    a = assess_in("YJ", application(Track.association, YJ_COMMUNITY, members=10, funds_fen=200_000))
    members, funds = threshold(a, "members"), threshold(a, "funds")
    assert members.met and "不少于10人" in members.explanation and "不少于50人" in members.explanation
    assert funds.met and "2,000.00元" in funds.explanation and "30,000.00元" in funds.explanation


@pytest.mark.parametrize(("unit_members", "met"), [(29, False), (30, True), (31, True)])
def test_thirty_unit_members_satisfy_the_association_member_threshold(unit_members: int, met: bool) -> None:
    """《社会团体登记管理条例》: 50 individual members or 30 unit members."""
    app = application(Track.association, XQ_COMMUNITY, members=0, unit_members=unit_members)
    item = threshold(assess_in("XQ", app), "members")
    assert item.actual == 0 and item.alternative_met is met and item.met is met
    assert re.search(f"申报{unit_members}[)）]", item.explanation) and "单位会员" in item.explanation


def test_district_without_green_channel_gets_ordinary_rules_and_says_so() -> None:
    """XQ has no policy of its own: a community organization there is assessed under the national rules."""
    app = application(
        Track.association, XQ_COMMUNITY, members=12, funds_fen=200_000, venue={"kind": "shared"}, supervising_unit=None
    )
    a = assess_in("XQ", app)
    c, p = a.checklist, a.procedure
    assert c.policy.jurisdiction == "national"
    assert not c.green_channel
    assert "未设立绿色通道" in c.green_channel_explanation and "一般规定" in c.green_channel_explanation
    assert not c.waived_materials and all(f.waived_by is None for f in c.fees)
    assert all(t.relaxed_by is None for t in c.thresholds)
    assert {t.threshold for t in c.unmet_thresholds} == {"members", "funds", "independent_venue", "supervising_unit"}
    assert c.fees_due_fen == sum(f.amount_fen for f in track_policy("XQ", Track.association).fees) > 0
    ordinary = track_policy("XQ", Track.association)
    assert p.public_notice_working_days == ordinary.public_notice_working_days
    assert p.legal_time_limit_working_days == ordinary.legal_time_limit_working_days
    assert p.public_notice_simplified_by is None and p.legal_time_limit_shortened_by is None

    yanji = assess_in("YJ", app.model_copy(update={"community": YJ_COMMUNITY})).checklist
    assert yanji.green_channel and not yanji.unmet_thresholds


def test_non_community_organization_in_yanji_is_told_why_no_green_channel() -> None:
    policy, _ = policy_for("YJ")
    applies, text = green_channel_applies(policy, factories.association())
    assert not applies and "不属于社区社会组织" in text and "一般规定" in text
    applies, text = green_channel_applies(policy, factories.filing())
    assert applies and policy.green_channel is not None and policy.green_channel.citation.source in text


@pytest.mark.parametrize("track", list(Track))
def test_yanji_community_organization_gets_shorter_notice_and_time_limits(track: Track) -> None:
    """三简: public notice of 3 working days in the community, and shorter review/decision time limits."""
    yanji = assess_in("YJ", application(track, YJ_COMMUNITY)).procedure
    ordinary = assess_in("XQ", application(track, XQ_COMMUNITY)).procedure
    assert yanji.public_notice_working_days == 3 < ordinary.public_notice_working_days
    assert yanji.public_notice_simplified_by is not None and yanji.public_notice_simplified_by.name == "简化公示"
    assert cites(yanji.public_notice_simplified_by)
    assert "社区" in yanji.public_notice_channel
    assert yanji.legal_time_limit_working_days < ordinary.legal_time_limit_working_days
    assert yanji.legal_time_limit_shortened_by is not None and yanji.legal_time_limit_shortened_by.name == "简化程序"
    for step in ("authority_review", "decision"):
        shortened, plain = yanji.step(step), ordinary.step(step)
        assert shortened.time_limit_working_days < plain.time_limit_working_days
        assert shortened.shortened_by is not None and shortened.shortened_by.name == "简化程序"
        assert plain.shortened_by is None
    assert yanji.step("preliminary_review").shortened_by is None
    assert yanji.step("preliminary_review").time_limit_working_days == ordinary.step("preliminary_review").time_limit_working_days


def test_people_sharing_a_name_do_not_share_one_identity_proof() -> None:
    """Two different founders called 王芳 (neither registered in the community) submit one ID proof:
    the other person's proof must not count as provided (or the application must be refused as ambiguous)."""
    data = dict(
        people=[
            {"name": "王芳", "role": "founder_and_leader", "household_registration": "吉林省长春市"},
            {"name": "王芳", "role": "founder", "household_registration": "吉林省吉林市"},
        ],
        materials=[{"material": "identity_proof", "person": "王芳"}],
    )
    try:
        app = application(Track.filing, YJ_COMMUNITY, **data)
    except ValueError:
        return  # rejecting the ambiguity is also correct
    ids = [m for m in assess_in("YJ", app).checklist.materials if m.material == "identity_proof"]
    assert len(ids) == 2
    assert [m.status for m in ids].count(MaterialStatus.provided) <= 1, "one submission counted for two people"


# --------------------------------------------------------------------------------------------
# 3. Properties over generated applications
# --------------------------------------------------------------------------------------------

NAMES = ["王芳", "李明", "张伟", "刘洋", "陈静", "赵磊", "孙丽"]
ALL_MATERIAL_IDS = sorted(
    {m.id for track in policy_for("XQ")[0].tracks.values() for m in track.materials} | {"unrelated_document"}
)


def near(*points: int, low: int = 0, high: int) -> st.SearchStrategy[int]:
    """Integers, often exactly at or one off a threshold."""
    edges = sorted({max(0, p + d) for p in points for d in (-1, 0, 1)})
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


@st.composite
def applications(draw: st.DrawFn, jurisdiction: str | None = None, community_based: bool | None = None) -> tuple[str, Application]:
    jurisdiction = jurisdiction or draw(st.sampled_from(sorted(CHAINS)))
    community = COMMUNITY[jurisdiction]
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    households = st.sampled_from([community, community, "YJ-JG-MA", "XQ-DF-HP", "吉林省长春市", None])
    people = [
        Person(name=n, role=draw(st.sampled_from(list(PersonRole))), household_registration=draw(households))
        for n in names
    ]
    submitted = draw(st.lists(st.sampled_from(ALL_MATERIAL_IDS), unique=True))
    proofs = draw(st.lists(st.sampled_from([*names, "周杰"]), unique=True))
    materials = [{"material": m} for m in submitted] + [{"material": "identity_proof", "person": p} for p in proofs]
    app = Application(
        track=draw(st.sampled_from(list(Track))),
        community=community,
        organization_name="测试社区社会组织",
        business_scope="服务本社区居民",
        community_based=draw(st.booleans()) if community_based is None else community_based,
        members=draw(near(10, 50, high=120)),
        unit_members=draw(near(30, high=60)),
        funds_fen=draw(near(200_000, 3_000_000, high=4_000_000)),
        venue={"kind": draw(st.sampled_from(list(VenueKind)))},
        supervising_unit=draw(st.sampled_from([None, "", "   ", "市民政局"])),
        people=people,
        materials=materials,
        applicant_name=names[0],
        contact_phone="13800000000",
    )
    return jurisdiction, app


def submitted(app: Application, material: str, person: str | None) -> bool:
    return any(s.material == material and (person is None or s.person == person) for s in app.materials)


def independent_facts(app: Application) -> dict[Fact, int | bool]:
    """The facts, computed here from the application without the evaluator's ``facts``."""
    return {
        Fact.founders: sum(p.role in (PersonRole.founder, PersonRole.founder_and_leader) for p in app.people),
        Fact.leaders: sum(p.role in (PersonRole.leader, PersonRole.founder_and_leader) for p in app.people),
        Fact.members: app.members,
        Fact.unit_members: app.unit_members,
        Fact.funds_fen: app.funds_fen,
        Fact.has_venue: app.venue.kind is not VenueKind.none,
        Fact.has_independent_venue: app.venue.kind is VenueKind.own,
        Fact.has_supervising_unit: bool((app.supervising_unit or "").strip()),
    }


@PROPERTY
@given(applications())
def test_assessment_is_deterministic_and_does_not_mutate_the_application(case: tuple[str, Application]) -> None:
    """Replaying a case must give the same checklist, and assessing must not change what was submitted."""
    jurisdiction, app = case
    before = app.model_dump()
    first = assess_in(jurisdiction, app)
    second = assess_in(jurisdiction, Application.model_validate(before))
    assert first == second
    assert first.model_dump_json() == second.model_dump_json()
    assert app.model_dump() == before
    assert facts(app) == independent_facts(app)


@PROPERTY
@given(applications())
def test_every_required_material_appears_once_with_a_justified_status(case: tuple[str, Application]) -> None:
    """Partition: one line per material (per person where per_person), provided only if submitted,
    missing only if not, waived only under the green channel and always with its citation."""
    jurisdiction, app = case
    checklist = assess_in(jurisdiction, app).checklist
    track = track_policy(jurisdiction, app.track)
    expected = Counter(
        (m.id, p) for m in track.materials for p in ([x.name for x in app.people] if m.per_person else [None])
    )
    assert Counter((m.material, m.person) for m in checklist.materials) == expected
    assert Counter(m.key for m in checklist.materials) == Counter(
        f"{k}:{p}" if p else k for k, p in expected.elements()
    )
    for item in checklist.materials:
        assert item.status in set(MaterialStatus)
        if item.status is MaterialStatus.waived:
            assert checklist.green_channel, item.explanation
            assert cites(item.waived_by), item.explanation
            assert item.waived_by is not None and item.waived_by.name in item.explanation
        else:
            assert item.waived_by is None, item.explanation
        if item.status is MaterialStatus.provided:
            assert submitted(app, item.material, item.person)
        if item.status is MaterialStatus.missing:
            assert not submitted(app, item.material, item.person)
            assert item.title in item.explanation and (item.person or "") in item.explanation
        if not checklist.green_channel:
            assert item.status is (MaterialStatus.provided if submitted(app, item.material, item.person) else MaterialStatus.missing)


@PROPERTY
@given(applications())
def test_complete_exactly_when_nothing_missing_and_all_thresholds_met(case: tuple[str, Application]) -> None:
    """一次性告知: ``defects`` lists every missing material and unmet threshold, and nothing else."""
    jurisdiction, app = case
    checklist = assess_in(jurisdiction, app).checklist
    missing = [m for m in checklist.materials if m.status is MaterialStatus.missing]
    unmet = [t for t in checklist.thresholds if not t.met]
    assert checklist.complete is (not missing and not unmet)
    assert Counter(checklist.defects) == Counter([m.explanation for m in missing] + [t.explanation for t in unmet])
    assert (checklist.defects == []) is checklist.complete
    fine = {m.explanation for m in checklist.materials if m.status is not MaterialStatus.missing}
    fine |= {t.explanation for t in checklist.thresholds if t.met}
    assert not fine & set(checklist.defects)
    dumped = checklist.model_dump()
    assert dumped["complete"] is checklist.complete and dumped["defects"] == checklist.defects


@PROPERTY
@given(applications(jurisdiction="YJ", community_based=True))
def test_green_channel_never_makes_anything_stricter(case: tuple[str, Application]) -> None:
    """宽审批: the same application as a community organization is never worse off than as an ordinary one."""
    _, app = case
    green = assess_in("YJ", app)
    plain = assess_in("YJ", app.model_copy(update={"community_based": False}))
    assert green.checklist.green_channel and not plain.checklist.green_channel

    def missing(a: Assessment) -> set[str]:
        return {m.key for m in a.checklist.missing_materials}

    def unmet(a: Assessment) -> set[str]:
        return {t.threshold for t in a.checklist.unmet_thresholds}

    assert missing(green) <= missing(plain)
    assert unmet(green) <= unmet(plain)
    assert green.checklist.fees_due_fen <= plain.checklist.fees_due_fen
    assert green.procedure.public_notice_working_days <= plain.procedure.public_notice_working_days
    assert green.procedure.legal_time_limit_working_days <= plain.procedure.legal_time_limit_working_days
    green_steps, plain_steps = all_steps(green), all_steps(plain)
    assert green_steps.keys() == plain_steps.keys()
    assert all(green_steps[s] <= plain_steps[s] for s in green_steps)
    assert green.procedure.correction_window_working_days >= plain.procedure.correction_window_working_days
    for g, p in zip(green.checklist.thresholds, plain.checklist.thresholds, strict=True):
        assert g.threshold == p.threshold
        if g.required_minimum is not None:
            assert p.required_minimum is not None and g.required_minimum <= p.required_minimum
        else:
            assert not (g.required and not p.required)


@PROPERTY
@given(applications(jurisdiction="XQ"))
def test_without_a_green_channel_community_based_changes_nothing(case: tuple[str, Application]) -> None:
    """Where no green channel exists, claiming to be a community organization gains nothing."""
    _, app = case
    a = assess_in("XQ", app.model_copy(update={"community_based": True}))
    b = assess_in("XQ", app.model_copy(update={"community_based": False}))
    assert a == b and not a.checklist.green_channel


@PROPERTY
@given(applications())
def test_fees_add_up_and_are_either_due_in_full_or_waived(case: tuple[str, Application]) -> None:
    """The amount the applicant is told to pay is exactly the sum of the fees due, in integer fen."""
    jurisdiction, app = case
    checklist = assess_in(jurisdiction, app).checklist
    track = track_policy(jurisdiction, app.track)
    assert [f.fee for f in checklist.fees] == [f.id for f in track.fees]
    assert type(checklist.fees_due_fen) is int and checklist.fees_due_fen >= 0
    assert checklist.fees_due_fen == sum(f.due_fen for f in checklist.fees)
    for fee, ordinary in zip(checklist.fees, track.fees, strict=True):
        assert fee.amount_fen == ordinary.amount_fen
        assert type(fee.due_fen) is int
        if fee.waived_by is None:
            assert fee.due_fen == fee.amount_fen and "应缴" in fee.explanation
        else:
            assert fee.due_fen == 0 and checklist.green_channel and cites(fee.waived_by)
            assert fee.waived_by.name in fee.explanation
        assert yuan(fee.amount_fen) in fee.explanation
    if not checklist.green_channel:
        assert checklist.fees_due_fen == sum(f.amount_fen for f in track.fees)


@PROPERTY
@given(applications())
def test_thresholds_are_met_exactly_when_the_numbers_say_so(case: tuple[str, Application]) -> None:
    """Each threshold compares the applicant's own number with the ordinary or relaxed minimum from the
    policy (or the alternative), and the explanation shows that number (money as 元 text)."""
    jurisdiction, app = case
    checklist = assess_in(jurisdiction, app).checklist
    track = track_policy(jurisdiction, app.track)
    values = independent_facts(app)
    relaxations = rule_effects(jurisdiction, app.track, RelaxThreshold) if checklist.green_channel else []
    assert [t.threshold for t in checklist.thresholds] == [t.id for t in track.thresholds]
    for item, rule in zip(checklist.thresholds, track.thresholds, strict=True):
        relax = [e for _, e in relaxations if e.threshold == rule.id]
        actual = values[rule.fact]
        assert item.actual == actual
        verdict = "不符合" if not item.met else "符合"
        assert re.search(f"[,，]{verdict}$", item.explanation), item.explanation
        if rule.minimum is None:
            required = bool(rule.required) and not any(e.required is False for e in relax)
            assert item.required is required
            assert item.met is (bool(actual) or not required)
            continue
        minimum = min([rule.minimum, *(e.minimum for e in relax if e.minimum is not None)])
        assert item.required_minimum == minimum <= rule.minimum
        assert (item.relaxed_by is not None) is (minimum < rule.minimum)
        alternative = rule.alternative is not None and values[rule.alternative.fact] >= rule.alternative.minimum
        assert item.alternative_met is alternative
        assert item.met is (actual >= minimum or alternative)
        assert item.met is (item.actual >= item.required_minimum or item.alternative_met)
        shown = yuan(int(actual)) if rule.unit == "分" else f"{actual}{rule.unit}"
        assert f"申报{shown}" in item.explanation
        if rule.unit == "分":
            assert re.search(r"申报\d{1,3}(,\d{3})*\.\d{2}元", item.explanation)
        if rule.alternative is not None:
            assert re.search(f"申报{values[rule.alternative.fact]}[)）]", item.explanation), item.explanation


@PROPERTY
@given(applications())
def test_identity_proof_follows_household_registration(case: tuple[str, Application]) -> None:
    """四免之四: a person registered in this community is never asked for ID under the green channel;
    anyone registered elsewhere never has it waived."""
    jurisdiction, app = case
    checklist = assess_in(jurisdiction, app).checklist
    people = {p.name: p for p in app.people}
    ids = [m for m in checklist.materials if m.material == "identity_proof"]
    assert {m.person for m in ids} == set(people)
    waiver_exists = any(
        e.material == "identity_proof" for _, e in rule_effects(jurisdiction, app.track, WaiveMaterial)
    )
    for item in ids:
        assert item.person is not None
        local = people[item.person].household_registration == app.community
        if not local:
            assert item.status is not MaterialStatus.waived, item.explanation
        elif checklist.green_channel and waiver_exists:
            assert item.status is MaterialStatus.waived, item.explanation
            assert item.waived_by is not None and item.waived_by.group == "四免"
        if not checklist.green_channel:
            assert item.status is not MaterialStatus.waived


@PROPERTY
@given(applications())
def test_procedure_time_limits_follow_the_policy_for_this_track(case: tuple[str, Application]) -> None:
    """Each time limit and the notice period are the ordinary ones, or the green-channel value set for
    this very track when it is shorter — never another track's value — and the shortening is cited."""
    jurisdiction, app = case
    procedure = assess_in(jurisdiction, app).procedure
    track = track_policy(jurisdiction, app.track)
    green = green_channel_applies(policy_for(jurisdiction)[0], app)[0]
    shortenings = rule_effects(jurisdiction, app.track, ShortenTimeLimit) if green else []
    notices = rule_effects(jurisdiction, app.track, SimplifyPublicNotice) if green else []

    def expected(ordinary: int, step: str | None) -> int:
        return min([ordinary, *(e.working_days for _, e in shortenings if e.step == step)])

    legal = expected(track.legal_time_limit_working_days, None)
    assert procedure.legal_time_limit_working_days == legal
    assert (procedure.legal_time_limit_shortened_by is not None) is (legal < track.legal_time_limit_working_days)
    for ordinary_step in [*track.review_steps, track.decision_step, track.objection_step]:
        plan = procedure.step(ordinary_step.id)
        days = expected(ordinary_step.time_limit_working_days, ordinary_step.id)
        assert plan.time_limit_working_days == days
        assert (plan.shortened_by is not None) is (days < ordinary_step.time_limit_working_days)
        assert plan.shortened_by is None or cites(plan.shortened_by)
    notice = min([track.public_notice_working_days, *(e.working_days for _, e in notices)])
    assert procedure.public_notice_working_days == notice
    assert (procedure.public_notice_simplified_by is not None) is bool(notices)
    assert procedure.correction_window_working_days == track.correction_window_working_days


@pytest.mark.parametrize(
    ("registration", "local"),
    [
        ("YJ-JG-CG", True),
        ("春光社区", True),
        ("延吉市建工街道春光社区", True),
        ("建工街道春光社区", True),
        ("吉林省延边朝鲜族自治州延吉市建工街道春光社区", True),
        ("吉林省延边朝鲜族自治州延吉市建工街道春光社区光明路12号3单元501室", True),
        ("延吉市建工街道春光社区居民委员会", True),
        ("建工街道 春光社区 光明路12号", True),
        ("延吉市河南街道春光社区", False),
        ("吉林省长春市建工街道春光社区光明路12号", False),
        ("延吉市建工街道民安社区", False),
        ("吉林省长春市", False),
    ],
)
def test_household_registration_names_the_community_however_it_is_written(registration: str, local: bool) -> None:
    """四免: 户籍 copied from a household register (a full address) or the community's full name is local."""
    names = ["春光社区", "延吉市建工街道春光社区"]
    app = application(Track.filing, YJ_COMMUNITY, people=[
        {"name": "王芳", "role": "founder_and_leader", "household_registration": registration},
        {"name": "李明", "role": "founder", "household_registration": "吉林省长春市"},
    ])
    policy, ref = policy_for("YJ")
    materials = assess(app, policy, ref, community_names=names).checklist.materials
    (wang,) = [m for m in materials if m.material == "identity_proof" and m.person == "王芳"]
    assert (wang.status is MaterialStatus.waived) is local, wang.explanation


def test_a_new_version_amends_the_one_before_without_touching_its_file() -> None:
    """Yanji's 2026.12 adds the incubation rules by naming 2026.1 as its base: cases decided before it keep
    their recorded file (and digest), and the green channel carries over unchanged."""
    before, before_ref = policy_in_force(POLICIES, list(CHAINS["YJ"]), date(2026, 11, 30))
    after, after_ref = policy_in_force(POLICIES, list(CHAINS["YJ"]), date(2026, 12, 1))
    assert (before.version, after.version) == ("2026.1", "2026.12")
    assert before.incubation is None and after.incubation is not None
    assert after_ref.path == "YJ/2026-12.yaml + YJ/2026-01.yaml + national/2026-01.yaml"
    assert before_ref.path == "YJ/2026-01.yaml + national/2026-01.yaml"
    assert after.green_channel == before.green_channel and after.tracks == before.tracks
