"""A case drawn on its process: every phase and every move the workflow code can make between them
(the process map, kept here as data), with the path this case took and where it stood at a moment.

The map is read off the workflows (each ``_record(..., phase)`` and what leads to it), so a case
that moved in a way the map does not declare is drawn anyway, dashed and marked, never hidden:
either the map has drifted from the code or the case did something the procedure does not allow.
A filing's map follows its own procedure, since the policy decides its review steps and who may refuse.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from audit.history import RecordedCase
from schemas.case import PHASE_NAMES, Phase
from schemas.checklist import Procedure
from schemas.contracts import CONTRACT_PHASE_NAMES, ContractPhase
from schemas.incubation_case import IncubationPhase
from schemas.localtime import local_text
from schemas.procurement import LOT_PHASE_NAMES, FairPhase, LotPhase

START = "start"
"""Where every map begins: not a phase, the moment the case was opened."""


@dataclass(frozen=True)
class Stage:
    """A phase as staff call it; ``final`` when the case ends there."""

    phase: str
    name: str
    final: bool = False


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    cause: str


@dataclass(frozen=True)
class ProcessMap:
    """The phases of one process and every move between them the workflow code can make."""

    stages: tuple[Stage, ...]
    transitions: tuple[Transition, ...]

    def stage(self, phase: str) -> Stage | None:
        return next((s for s in self.stages if s.phase == phase), None)

    def declares(self, source: str, target: str) -> bool:
        return any(t.source == source and t.target == target for t in self.transitions)


def _map(stages: list[Stage], moves: list[tuple[str, str, str]]) -> ProcessMap:
    transitions = (Transition(str(source), str(target), cause) for source, target, cause in moves)
    return ProcessMap(tuple(stages), tuple(transitions))


FAIR_MAP = _map(
    [Stage(p.value, p.label, p is FairPhase.closed) for p in FairPhase],
    [
        (START, FairPhase.collecting, "创建社洽会，征集需求"),
        (FairPhase.collecting, FairPhase.reviewing, "需求征集截止"),
        (FairPhase.reviewing, FairPhase.published, "发布需求公告，各项目开始投标"),
        (FairPhase.published, FairPhase.closed, "全部项目成交或终止"),
    ],
)

LOT_MAP = _map(
    [Stage(p.value, LOT_PHASE_NAMES[p][1], p.terminal) for p in LotPhase],
    [
        (START, LotPhase.bidding, "需求公告发布，开始投标"),
        (LotPhase.bidding, LotPhase.screening, "投标截止"),
        (LotPhase.screening, LotPhase.evaluation, "合格投标足数，随机抽取专家"),
        (LotPhase.evaluation, LotPhase.result_notice, "评审完成，公示结果"),
        (LotPhase.result_notice, LotPhase.awarding, "公示期满，发出成交通知书"),
        (LotPhase.awarding, LotPhase.awarded, "投标人确认成交"),
        (LotPhase.screening, LotPhase.failed, "合格投标不足"),
        (LotPhase.evaluation, LotPhase.failed, "专家均未评分且无可替换"),
        (LotPhase.result_notice, LotPhase.failed, "投标均被取消成交资格"),
        (LotPhase.awarding, LotPhase.failed, "均放弃、逾期或被取消成交资格"),
        (LotPhase.failed, LotPhase.bidding, "重新组织投标"),
        (LotPhase.failed, LotPhase.closed, "终止项目"),
    ],
)

_RUNNING = (ContractPhase.in_force, ContractPhase.evaluation, ContractPhase.rectification)
"""The phases a buyer may suspend (rules/contract_permissions.py); resuming returns to the same one."""

CONTRACT_MAP = _map(
    [Stage(p.value, CONTRACT_PHASE_NAMES[p][1], p.terminal) for p in ContractPhase],
    [
        (START, ContractPhase.approval, "单一来源采购，报组织单位审批"),
        (START, ContractPhase.drafting, "项目成交"),
        (ContractPhase.approval, ContractPhase.drafting, "同意单一来源采购"),
        (ContractPhase.drafting, ContractPhase.signing, "购买方提交履约计划"),
        (ContractPhase.signing, ContractPhase.in_force, "双方签署，合同生效"),
        (ContractPhase.in_force, ContractPhase.evaluation, "中期或终期绩效评价"),
        (ContractPhase.evaluation, ContractPhase.in_force, "评价合格"),
        (ContractPhase.evaluation, ContractPhase.rectification, "评价不合格，限期整改"),
        (ContractPhase.rectification, ContractPhase.evaluation, "提交整改报告或整改期满，复评"),
        (ContractPhase.in_force, ContractPhase.completed, "终期评价合格，款项拨付完毕"),
        (ContractPhase.approval, ContractPhase.terminated, "不同意单一来源采购，或提前终止"),
        (ContractPhase.evaluation, ContractPhase.terminated, "复评仍不合格，或提前终止"),
        *((phase, ContractPhase.terminated, "提前终止") for phase in ContractPhase
          if phase not in (ContractPhase.approval, ContractPhase.evaluation) and not phase.terminal),
        *((phase, ContractPhase.suspended, "购买方中止合同") for phase in _RUNNING),
        *((ContractPhase.suspended, phase, "恢复履行") for phase in _RUNNING),
    ],
)


_ENDED = (IncubationPhase.graduated, IncubationPhase.exited, IncubationPhase.refused)

INCUBATION_MAP = _map(
    [Stage(p.value, p.label, p in _ENDED) for p in IncubationPhase],
    [
        (START, IncubationPhase.applied, "申请入孵"),
        (IncubationPhase.applied, IncubationPhase.refused, "基地不予入孵"),
        (IncubationPhase.applied, IncubationPhase.incubating, "准予入孵，入驻基地"),
        (IncubationPhase.applied, IncubationPhase.waiting, "准予入孵，基地已满，列入候补"),
        (IncubationPhase.waiting, IncubationPhase.incubating, "席位空出，按候补顺序递补入孵"),
        (IncubationPhase.incubating, IncubationPhase.assessing, "孵化期满，出壳评估"),
        (IncubationPhase.assessing, IncubationPhase.incubating, "经民政局审核同意，延期出壳"),
        (IncubationPhase.assessing, IncubationPhase.graduated, "经民政局审核同意，准予出壳"),
        (IncubationPhase.assessing, IncubationPhase.exited, "经民政局审核同意退出孵化，或中途退出"),
        *((phase, IncubationPhase.exited, "中途退出孵化") for phase in
          (IncubationPhase.applied, IncubationPhase.waiting, IncubationPhase.incubating)),
    ],
)
"""Read off workflows/incubation.py: a refusal ends at admission; an extension (once, by policy) goes back to
incubating; the group, the base or civil affairs may end it early in any open phase (``leave``)."""


def filing_map(procedure: Procedure | None) -> ProcessMap:
    """Review steps in the procedure's order; a refusal ends the case only at a step of the authority's role
    (a 居委会初审 that disagrees passes the case on with its opinion). Without a procedure (the case was not
    yet assessed) the usual two review steps are drawn under generic names."""
    if procedure is None:
        reviews = [
            (Phase.preliminary_review, "初审", False),
            (Phase.authority_review, "审核", True),
            (Phase.decision, "作出决定", True),
        ]
        approved, refused = "准予", "不予"
    else:
        authority = procedure.authority_role
        reviews = [
            *((Phase(s.id), s.staff_name, s.role is authority) for s in procedure.review_steps),
            (Phase.decision, procedure.decision_step.staff_name, procedure.decision_step.role is authority),
        ]
        approved, refused = procedure.approved_name, procedure.refused_name
    steps = reviews[:-1]

    def fixed(phase: Phase) -> Stage:
        return Stage(phase.value, PHASE_NAMES[phase].staff, phase.terminal)

    stages = [
        fixed(Phase.submitted),
        fixed(Phase.correction),
        *(Stage(phase.value, name) for phase, name, _ in steps),
        fixed(Phase.public_notice),
        Stage(Phase.decision.value, reviews[-1][1]),
        Stage(Phase.approved.value, approved, final=True),
        Stage(Phase.refused.value, refused, final=True),
        fixed(Phase.lapsed),
        fixed(Phase.withdrawn),
    ]
    moves: list[tuple[str, str, str]] = [
        (START, Phase.submitted, "提交申请"),
        (Phase.submitted, steps[0][0], "材料齐全，受理"),
    ]
    following = [phase for phase, _, _ in steps[1:]] + [Phase.public_notice]
    moves += [
        (phase, after, "同意" if decides else "出具意见（同意或不同意）")
        for (phase, _, decides), after in zip(steps, following, strict=True)
    ]
    moves += [
        (Phase.public_notice, Phase.decision, "公示期满，异议均已处理"),
        (Phase.decision, Phase.approved, "同意，发放证书"),
        (Phase.submitted, Phase.correction, "材料不全，一次性告知补正"),
        (Phase.correction, Phase.lapsed, "补正期限届满未补正"),
    ]
    for index, (phase, _, decides) in enumerate(reviews):
        moves.append((phase, Phase.correction, "要求补正"))
        moves.append((Phase.correction, phase, "补正后受理，或补正后恢复审查" if index == 0 else "补正后恢复审查"))
        if decides:
            moves.append((phase, Phase.refused, "不同意"))
    moves += [
        (phase, Phase.withdrawn, "申请人撤回")
        for phase in [Phase.correction, *(phase for phase, _, _ in steps), Phase.public_notice, Phase.decision]
    ]
    return _map(stages, moves)


def process_map(case: RecordedCase) -> ProcessMap:
    """The map of the case's process; a filing's is drawn from its procedure (the last the case had)."""
    if case.process.workflow_type == "FilingWorkflow":
        final = case.final_state
        return filing_map(final.procedure if final is not None else None)
    fixed = {
        "FairWorkflow": FAIR_MAP,
        "LotWorkflow": LOT_MAP,
        "ContractWorkflow": CONTRACT_MAP,
        "IncubationWorkflow": INCUBATION_MAP,
    }
    return fixed[case.process.workflow_type]


@dataclass(frozen=True)
class ExecutedPath:
    """Where a case had been and where it stood at one moment, in phase values, for views and checks."""

    case_no: str
    at: datetime | None
    """The moment shown: ``as_of``, or the case's last projection."""
    phases: tuple[str, ...]
    """START, then every phase in the order the case entered it (a phase entered twice appears twice);
    empty when the case had not been projected yet."""
    entered_at: datetime | None
    """When the case entered its current phase."""

    @property
    def current(self) -> str | None:
        return self.phases[-1] if self.phases else None

    @property
    def visited(self) -> frozenset[str]:
        return frozenset(self.phases[1:])

    @property
    def taken(self) -> Counter[tuple[str, str]]:
        """Each move the case made, with how often, in the order first made."""
        return Counter(zip(self.phases, self.phases[1:], strict=False))


def executed_path(case: RecordedCase, as_of: datetime | None = None) -> ExecutedPath:
    """The path along the timeline the read model showed at ``as_of`` (default: the case as it was left).
    Both sides of each event count, so a phase change that no event announced still shows as a move."""
    snapshots = case.snapshots
    snapshot = case.state_at(as_of) if as_of is not None else (snapshots[-1] if snapshots else None)
    if snapshot is None:
        return ExecutedPath(case.workflow_id, as_of, (), None)
    state = snapshot.state
    phases, entered_at = [START], None
    for event in state.timeline:
        for phase in (event.phase_before, event.phase_after):
            if phase != phases[-1]:
                phases.append(str(phase))
                entered_at = event.at
    if state.phase != phases[-1]:
        phases.append(str(state.phase))
        entered_at = snapshot.at
    return ExecutedPath(case.process.case_no(state), as_of or snapshot.at, tuple(phases), entered_at)


NODE_CLASSES = {
    "visited": "fill:#e8f5e9,stroke:#2e7d32,color:#1b5e20",
    "current": "fill:#fff3e0,stroke:#e65100,stroke-width:3px,color:#bf360c",
    "untouched": "fill:#fafafa,stroke:#bdbdbd,color:#9e9e9e",
    "unexpected": "fill:#ffebee,stroke:#c62828,stroke-dasharray:4 3,color:#b71c1c",
}
LINK_STYLES = {
    "taken": "stroke:#2e7d32,stroke-width:3px",
    "untaken": "stroke:#bdbdbd,stroke-width:1px",
    "unexpected": "stroke:#c62828,stroke-width:3px",
}
UNDECLARED = "（流程图未声明）"


def process_diagram(case: RecordedCase, as_of: datetime | None = None) -> str:
    """The case's process as a Mermaid flowchart: the moves it made bold, its current phase marked, the rest muted."""
    chart, path = process_map(case), executed_path(case, as_of)
    taken = path.taken
    stages = list(chart.stages)
    stages += [Stage(p, p + UNDECLARED) for p in dict.fromkeys(path.phases[1:]) if chart.stage(p) is None]
    links = [(t, taken[t.source, t.target], False) for t in chart.transitions]
    links += [(Transition(s, t, "未声明的流转"), n, True) for (s, t), n in taken.items() if not chart.declares(s, t)]

    lines = ["flowchart TD", f"%% {_caption(case, chart, path)}", f'    {_node(START)}(("开始"))']
    for stage in stages:
        opening, closing = ("([", "])") if stage.final else ("[", "]")
        lines.append(f'    {_node(stage.phase)}{opening}"{_quoted(stage.name)}"{closing}')
    for transition, times, undeclared in links:
        cause = transition.cause + (f"（{times}次）" if times > 1 else "")
        arrow = "-.->" if undeclared else "-->"
        lines.append(f'    {_node(transition.source)} {arrow}|"{_quoted(cause)}"| {_node(transition.target)}')

    classes: dict[str, list[str]] = {name: [] for name in NODE_CLASSES}
    for phase in [START, *(s.phase for s in stages)]:
        if phase == path.current:
            kind = "current"
        elif phase != START and chart.stage(phase) is None:
            kind = "unexpected"
        elif phase in path.phases:
            kind = "visited"
        else:
            kind = "untouched"
        classes[kind].append(_node(phase))
    lines += [f"    classDef {name} {style}" for name, style in NODE_CLASSES.items()]
    lines += [f"    class {','.join(nodes)} {name}" for name, nodes in classes.items() if nodes]

    styled: dict[str, list[str]] = {name: [] for name in LINK_STYLES}
    for index, (_, times, undeclared) in enumerate(links):
        styled["unexpected" if undeclared else "taken" if times else "untaken"].append(str(index))
    lines += [f"    linkStyle {','.join(indices)} {LINK_STYLES[name]}" for name, indices in styled.items() if indices]
    return "\n".join(lines) + "\n"


def _caption(case: RecordedCase, chart: ProcessMap, path: ExecutedPath) -> str:
    head = f"{path.case_no} · {case.process.label}"
    if path.current is None:
        return f"{head} · {local_text(path.at)}（北京时间）尚未开始办理" if path.at else f"{head} · 尚无办理记录"
    stage = chart.stage(path.current)
    name = stage.name if stage else path.current + UNDECLARED
    return f"{head} · {local_text(path.at)}（北京时间）处于「{name}」，自{local_text(path.entered_at)}起"


def _node(phase: str) -> str:
    """Mermaid-safe ids: a prefix keeps phase values clear of keywords such as ``end``."""
    return START if phase == START else "ph_" + re.sub(r"[^A-Za-z0-9_]", "_", phase)


def _quoted(label: str) -> str:
    return label.replace('"', "#quot;")
