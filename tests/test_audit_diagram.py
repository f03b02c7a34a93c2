"""`shezu audit diagram`: the process drawn with a case's path and position, offline from golden histories."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from audit.diagram import (
    CONTRACT_MAP,
    FAIR_MAP,
    LINK_STYLES,
    LOT_MAP,
    START,
    ExecutedPath,
    ProcessMap,
    executed_path,
    filing_map,
    process_diagram,
    process_map,
)
from audit.history import RecordedCase, RecordedRun
from schemas.case import Phase
from schemas.contracts import ContractPhase
from schemas.localtime import SHANGHAI
from schemas.procurement import FairPhase, LotPhase

GOLDEN = Path(__file__).parent / "golden"
NAMES = sorted(p.stem for p in GOLDEN.glob("*.json"))


def recorded(name: str) -> RecordedCase:
    return RecordedCase([RecordedRun.from_json(name, (GOLDEN / f"{name}.json").read_text(encoding="utf-8"))])


class Drawing:
    """What a reader of the rendered flowchart sees: boxes, arrows, which arrows are bold, how each box looks."""

    EDGE = re.compile(r'^ {4}(\w+) (-->|-\.->)\|"([^"]*)"\| (\w+)$')
    NODE = re.compile(r'^ {4}(\w+)(\(\(|\(\[|\[)"([^"]*)"(\)\)|\]\)|\])$')

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.nodes = {m[1]: m[3] for m in map(self.NODE.match, self.lines) if m}
        self.edges = [(m[1], m[4], m[3], m[2] == "-.->") for m in map(self.EDGE.match, self.lines) if m]
        self.looks: list[tuple[str, str]] = []
        self.link_styles: list[tuple[int, str]] = []
        for words in (line.split() for line in self.lines):
            if words and words[0] == "class":
                self.looks += [(node, words[2]) for node in words[1].split(",")]
            elif words and words[0] == "linkStyle":
                self.link_styles += [(int(i), " ".join(words[2:])) for i in words[1].split(",")]

    def look(self, phase: str) -> str:
        return dict(self.looks)[node(phase)]

    def edge(self, source: str, target: str) -> int:
        return next(i for i, (s, t, _, _) in enumerate(self.edges) if (s, t) == (node(source), node(target)))

    def style(self, source: str, target: str) -> str:
        return dict(self.link_styles)[self.edge(source, target)]

    def bold(self, source: str, target: str) -> bool:
        return self.style(source, target) in (LINK_STYLES["taken"], LINK_STYLES["unexpected"])

    def label(self, source: str, target: str) -> str:
        return self.edges[self.edge(source, target)][2]


def node(phase: str) -> str:
    return START if phase == START else f"ph_{phase}"


# --- the map agrees with what the workflows did ------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_move_a_golden_case_made_is_declared_in_its_process_map(name: str) -> None:
    case = recorded(name)
    path, chart = executed_path(case), process_map(case)
    assert len(path.phases) > 2, "the history shows the case moving"
    undeclared = [move for move in path.taken if not chart.declares(*move)]
    assert undeclared == [], f"{name}: moves the workflow made that the map lacks: {undeclared}"
    assert all(chart.stage(phase) for phase in path.visited)


@pytest.mark.parametrize(
    ("chart", "phases"),
    [
        (FAIR_MAP, FairPhase),
        (LOT_MAP, LotPhase),
        (CONTRACT_MAP, ContractPhase),
        (filing_map(recorded("registration_refused").final_state.procedure), Phase),
        (filing_map(None), Phase),
    ],
)
def test_each_map_has_every_phase_once_and_moves_only_between_them(chart: ProcessMap, phases: type) -> None:
    names = [stage.phase for stage in chart.stages]
    assert sorted(names) == sorted(p.value for p in phases)
    assert all(t.source in {START, *names} and t.target in names for t in chart.transitions)
    assert len({(t.source, t.target) for t in chart.transitions}) == len(chart.transitions)
    finals = {stage.phase for stage in chart.stages if stage.final}
    assert not any(t.source in finals for t in chart.transitions), "a case does not move on once it ended"
    reachable = {START}
    for _ in names:
        reachable |= {t.target for t in chart.transitions if t.source in reachable}
    assert reachable >= set(names), "every phase can be reached from the start"


def test_a_filing_map_uses_the_cases_own_step_names_and_lets_only_the_authority_refuse() -> None:
    chart = process_map(recorded("registration_refused"))
    assert chart.stage("authority_review").name == "民政局审查"
    assert chart.stage("decision").name == "作出登记决定"
    assert (chart.stage("approved").name, chart.stage("refused").name) == ("已准予登记", "不予登记")
    assert chart.declares("authority_review", "refused") and chart.declares("decision", "refused")
    assert not chart.declares("preliminary_review", "refused"), "居委会初审 passes its opinion on"
    assert chart.declares("preliminary_review", "authority_review")


# --- the case's path on the drawing ----------------------------------------------------------


def test_a_corrected_filing_shows_the_correction_round_and_stands_where_the_history_ends() -> None:
    case = recorded("filing_corrected")
    drawing = Drawing(process_diagram(case))
    assert drawing.look("correction") == "visited"
    assert drawing.bold("submitted", "correction")
    assert drawing.bold("correction", "preliminary_review")
    # the golden history stops while 居委会初审 is pending: that is the current phase, not an ending
    assert drawing.look("preliminary_review") == "current"
    assert executed_path(case).current == "preliminary_review"
    for later in ("authority_review", "public_notice", "approved", "refused", "lapsed", "withdrawn"):
        assert drawing.look(later) == "untouched"
    assert not drawing.bold("submitted", "preliminary_review"), "the case was not accepted without correction"


def test_a_refused_registration_shows_the_refusal_path_and_not_the_approval() -> None:
    drawing = Drawing(process_diagram(recorded("registration_refused")))
    for move in [(START, "submitted"), ("submitted", "preliminary_review"), ("preliminary_review", "authority_review"),
                 ("authority_review", "refused")]:
        assert drawing.bold(*move)
    assert drawing.look("refused") == "current"
    assert drawing.nodes[node("refused")] == "不予登记"
    assert drawing.look("approved") == "untouched"
    assert not drawing.bold("decision", "approved")
    assert not drawing.bold("authority_review", "public_notice")


def test_a_retendered_lot_shows_the_loop_and_how_often_it_went_round() -> None:
    case = recorded("lot_failed_retendered_closed")
    drawing = Drawing(process_diagram(case))
    assert drawing.bold("failed", "bidding") and drawing.bold("failed", "closed")
    assert drawing.label("bidding", "screening").endswith("（2次）")
    assert drawing.label("failed", "bidding") == "重新组织投标"
    assert drawing.look("closed") == "current"
    assert drawing.look("awarded") == "untouched"
    assert executed_path(case).taken[("screening", "failed")] == 2


def test_a_contract_ended_after_failed_rectification_shows_re_evaluation_then_termination() -> None:
    drawing = Drawing(process_diagram(recorded("contract_terminated")))
    assert drawing.bold("evaluation", "rectification") and drawing.bold("rectification", "evaluation")
    assert drawing.bold("evaluation", "terminated")
    assert drawing.look("terminated") == "current"
    assert drawing.look("completed") == "untouched" and drawing.look("suspended") == "untouched"


def test_a_move_the_map_does_not_declare_is_drawn_dashed_not_hidden() -> None:
    case = recorded("filing_approved")
    for event in case.final_state.timeline:  # as if the case had skipped 街道审核
        event.phase_before = "preliminary_review" if event.phase_before == "authority_review" else event.phase_before
        event.phase_after = "preliminary_review" if event.phase_after == "authority_review" else event.phase_after
    drawing = Drawing(process_diagram(case))
    index = drawing.edge("preliminary_review", "public_notice")
    assert drawing.edges[index][3], "dashed"
    assert drawing.style("preliminary_review", "public_notice") == LINK_STYLES["unexpected"]
    assert "未声明" in drawing.edges[index][2]
    assert drawing.look("authority_review") == "untouched"


# --- as of a moment ----------------------------------------------------------------------------


def test_as_of_a_moment_in_the_middle_marks_the_phase_the_case_was_in_then() -> None:
    case = recorded("review_requested_correction")
    in_correction = next(s for s in case.snapshots if s.state.phase is Phase.correction)
    moment = in_correction.at  # the golden run is time-skipped: the next projection follows within 0.1 s
    path = executed_path(case, moment)
    assert path.current == "correction"
    assert path.taken[("authority_review", "correction")] == 1
    assert ("correction", "authority_review") not in path.taken

    drawing = Drawing(process_diagram(case, moment))
    assert drawing.look("correction") == "current"
    assert drawing.look("authority_review") == "visited"
    assert drawing.bold("authority_review", "correction")
    assert not drawing.bold("correction", "authority_review")
    assert drawing.lines[1].startswith("%% ") and "待申请人补正" in drawing.lines[1]

    assert Drawing(process_diagram(case)).bold("correction", "authority_review"), "later, the case went back to review"


def test_the_caption_names_the_case_the_process_and_the_moment_in_beijing_time() -> None:
    case = recorded("registration_refused")
    caption = process_diagram(case).splitlines()[1]
    path = executed_path(case)
    assert case.final_state.case_no in caption and "备案/登记案件" in caption
    local = path.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert f"{local}（北京时间）处于「不予登记」" in caption


def test_before_the_case_began_nothing_is_highlighted() -> None:
    case = recorded("fair_closed")
    moment = case.started_at - timedelta(days=1)
    assert executed_path(case, moment) == ExecutedPath(case.workflow_id, moment, (), None)
    drawing = Drawing(process_diagram(case, moment))
    assert {look for _, look in drawing.looks} == {"untouched"}
    assert {style for _, style in drawing.link_styles} == {LINK_STYLES["untaken"]}
    assert "尚未开始办理" in drawing.lines[1]


# --- the Mermaid text itself ----------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_the_mermaid_text_is_well_formed_and_the_same_every_time(name: str) -> None:
    text = process_diagram(recorded(name))
    assert text == process_diagram(recorded(name))
    drawing = Drawing(text)
    assert drawing.lines[0] == "flowchart TD"
    statements = [line for line in drawing.lines[2:] if line.strip()]
    assert all(
        drawing.NODE.match(line) or drawing.EDGE.match(line) or line.split()[0] in ("classDef", "class", "linkStyle")
        for line in statements
    ), "every line is a node, an edge or a style"
    assert drawing.edges
    assert {s for s, _, _, _ in drawing.edges} | {t for _, t, _, _ in drawing.edges} <= drawing.nodes.keys()
    styled = sorted(i for i, _ in drawing.link_styles)
    assert styled == list(range(len(drawing.edges))), "each edge styled once, no index past the last edge"
    assert sorted(n for n, _ in drawing.looks) == sorted(drawing.nodes), "each node has exactly one look"
    assert [look for _, look in drawing.looks].count("current") == 1
    assert all(label and '"' not in label for label in drawing.nodes.values())
