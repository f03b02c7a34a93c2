"""政府购买服务合同 pages: 我的合同 for every party and overseer, one contract page showing its progress,
milestones, payments, the ledger (专帐), timeline and documents, with the forms of whoever may act now
(the buyer's plan editor, checked live; signing; delivery reports and their acceptance; payments recorded by
finance; the evaluation; the organizer's approvals; suspension and termination), and the public 定期公开.
Every action goes through ``ContractService`` as the API's does: a contract the caller may not see is "not
found" here too, and who may act is decided by the service and the workflow, not by the page."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api.deps import ContractNo, Contracts, ItemId, Service, Who, signed_in
from api.routes.documents import chunks
from pages.common import TASK_PAGES, Form, back_to, page_count, page_number, parsed, render
from schemas.contracts import MEASURE_LABELS, ContractPlan, DeliveryInput, EvaluationInput, MilestoneStatus, term_end
from schemas.localtime import local_date
from schemas.people import Actor
from service import views
from service.common import ServiceError
from service.contracts import Audience

router = APIRouter()
TASK_PAGES.update(
    dict.fromkeys(("single_source_approval", "acceptance", "disbursement", "evaluation", "amendment_approval"), "/contracts/")
)

CONTRACTS_PER_PAGE = 20
MILESTONE_ROWS = 4
TRANCHE_ROWS = 5
"""Rows of the plan editor: enough for the policy's usual plans; blank rows are left out."""
TRIGGERS = {"signing": "签约后预付", "milestone": "节点验收后", "final_evaluation": "终期评价后"}
PROGRESS = (
    ("drafting", "起草履约计划"),
    ("signing", "双方签署"),
    ("in_force", "履约与验收"),
    ("evaluation", "绩效评价"),
    ("completed", "履约完毕"),
)
"""The contract's way from drafting to completion, as its parties follow it."""
DONE = {
    "plan": "履约计划已提交，等待双方签署。",
    "signed": "已签署合同。",
    "reported": "履约报告已提交，等待购买方验收。",
    "reviewed": "验收意见已提交。",
    "paid": "拨付已登记，正在记入专帐。",
    "evaluated": "绩效评价已提交。",
    "rectified": "整改报告已提交，等待复评。",
    "approved": "审批意见已提交。",
    "suspended": "合同中止或恢复已办理。",
    "terminated": "合同已终止。",
}
AmendmentNo = Annotated[int, Path(ge=1, le=10_000, description="变更序号")]
YUAN = re.compile(r"(\d{1,9})(?:\.(\d{1,2}))?")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _fen(text: str, what: str) -> int:
    """An amount typed in 元 (at most two decimals, thousands separators allowed) in integer fen."""
    found = YUAN.fullmatch(text.replace(",", "").replace("，", "").strip().removesuffix("元"))
    if not found:
        raise ServiceError("invalid", f"{what}应填写以元为单位的金额，最多两位小数，如 36000 或 36000.50")
    return int(found[1]) * 100 + int((found[2] or "0").ljust(2, "0"))


def _yuan_text(fen: int) -> str:
    """An amount in fen as the plan editor shows it in its 元 field."""
    return f"{fen // 100}.{fen % 100:02d}"


def _typed(form: FormData) -> dict[str, str]:
    """The form's text fields as typed, each cut to a bound (the page shows them again on a refusal)."""
    return {k: str(v)[:5000] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _plan_typed(contract: views.ContractView, today: Any) -> dict[str, str]:
    """The plan editor's fields: the plan proposed so far, or the awarded term from today and blank rows."""
    plan = contract.plan
    if plan is None:
        return {"start_date": today.isoformat(), "end_date": term_end(today, contract.duration_months).isoformat()}
    typed = {"start_date": plan.start_date.isoformat(), "end_date": plan.end_date.isoformat()}
    for n, m in enumerate(plan.milestones):
        typed |= {
            f"m{n}_title": m.title,
            f"m{n}_deliverables": "\n".join(m.deliverables),
            f"m{n}_due": m.due_date.isoformat(),
        }
        typed |= {f"m{n}_mid": "on"} if m.mid_term_evaluation else {}
        if target := m.deliverable:
            typed |= {f"m{n}_measure": target.measure, f"m{n}_count": str(target.count), f"m{n}_bases": " ".join(target.bases)}
    for n, t in enumerate(plan.tranches):
        typed |= {f"t{n}_amount": _yuan_text(t.amount_fen), f"t{n}_on": t.on, f"t{n}_milestone": str(t.milestone or "")}
    return typed


def _deliverable(typed: dict[str, str], n: int) -> dict[str, Any] | None:
    """A milestone row's incubation target, if a measure is chosen: the count as typed (the model says what is
    wrong with it) and the base codes separated by spaces or commas."""
    measure = typed.get(f"m{n}_measure", "")
    if not measure:
        return None
    codes = re.split(r"[\s,，、]+", typed.get(f"m{n}_bases", "").strip().upper())
    return {"measure": measure, "count": typed.get(f"m{n}_count", "").strip() or None, "bases": [c for c in codes if c]}


def _plan(typed: dict[str, str]) -> ContractPlan:
    """The plan the editor's rows describe; a row left blank is not part of it."""
    milestones = []
    for n in range(MILESTONE_ROWS):
        title, deliverables, due = (typed.get(f"m{n}_{k}", "").strip() for k in ("title", "deliverables", "due"))
        if title or deliverables or due:
            milestones.append(
                {
                    "title": title,
                    "deliverables": _lines(deliverables),
                    "due_date": due or None,
                    "mid_term_evaluation": typed.get(f"m{n}_mid") == "on",
                    "deliverable": _deliverable(typed, n),
                }
            )
    tranches = []
    for n in range(TRANCHE_ROWS):
        amount, on = typed.get(f"t{n}_amount", "").strip(), typed.get(f"t{n}_on", "")
        if amount:
            milestone = typed.get(f"t{n}_milestone", "")
            tranches.append(
                {
                    "amount_fen": _fen(amount, f"第{len(tranches) + 1}笔拨付金额"),
                    "on": on,
                    "milestone": int(milestone) if milestone.isdigit() and on == "milestone" else None,
                }
            )
    plan = {"start_date": typed.get("start_date") or None, "end_date": typed.get("end_date") or None}
    return parsed(ContractPlan, {**plan, "milestones": milestones, "tranches": tranches})


def _contract_page(
    request: Request,
    who: Who,
    contracts: Contracts,
    contract_no: str,
    status_code: int = 200,
    typed: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """The contract as the caller may see it, with the forms of what they may do in its present phase."""
    actor = contracts.actor(signed_in(who))
    contract = contracts.contract(actor, contract_no)
    tasks = {h.step: h for h in contract.holders if h.task_id in contract.your_tasks}
    current = next((m for m in contract.milestones if m.status is not MilestoneStatus.accepted), None)
    to_sign = (
        contract.phase == "signing"
        and contract.audience in (Audience.buyer, Audience.supplier)
        and not any(s.party == contract.audience and s.version == contract.version for s in contract.signatures)
    )
    phases = [p for p, _ in PROGRESS]
    phase = "evaluation" if contract.phase == "rectification" else contract.phase
    at = phases.index(phase) if phase in phases else None
    return render(
        request,
        "contract.html",
        who,
        status_code=status_code,
        contract=contract,
        tasks=tasks,
        current=current,
        to_sign=to_sign,
        progress=PROGRESS,
        at=at,
        typed=typed
        or (_plan_typed(contract, local_date(datetime.now(UTC))) if contract.audience == Audience.buyer else {}),
        milestone_rows=MILESTONE_ROWS,
        measures=MEASURE_LABELS,
        tranche_rows=TRANCHE_ROWS,
        triggers=TRIGGERS,
        done=DONE.get(request.query_params.get("done", "")),
        **context,
    )


async def _act(
    request: Request,
    form: FormData,
    who: Who,
    contracts: Contracts,
    contract_no: str,
    act: Callable[[Actor], Awaitable[Any]],
    done: str,
    section: str,
) -> Response:
    """Do one action; a refusal shows the contract page again at the form, with what was typed."""
    actor = contracts.actor(signed_in(who))
    try:
        await act(actor)
    except ServiceError as problem:
        if problem.kind == "not_found":
            raise
        typed = _typed(form)
        return _contract_page(
            request,
            who,
            contracts,
            contract_no,
            problem.status_code,
            typed=typed if section == "plan" else None,
            problem=problem,
            section=section,
            kept=typed,
        )
    return back_to(f"/contracts/{contract_no}?done={done}")


@router.get("/contracts")
async def my_contracts(request: Request, who: Who, contracts: Contracts, page: int = 1) -> Response:
    actor = contracts.actor(signed_in(who))
    page = page_number(page)
    found = contracts.contracts(actor, CONTRACTS_PER_PAGE, (page - 1) * CONTRACTS_PER_PAGE)
    return render(
        request,
        "contract_list.html",
        who,
        contracts=found,
        page=page,
        pages=page_count(found.total, CONTRACTS_PER_PAGE),
    )


@router.get("/contracts/{contract_no}")
async def contract_page(request: Request, who: Who, contracts: Contracts, contract_no: ContractNo) -> Response:
    return _contract_page(request, who, contracts, contract_no)


@router.post("/contracts/{contract_no}/plan/check")
async def check_plan(request: Request, form: Form, who: Who, contracts: Contracts, contract_no: ContractNo) -> Response:
    """The plan editor's 检查: the problems the workflow would refuse the plan for, nothing proposed. The page's
    script posts here as the plan is typed and shows the problems it finds."""
    actor = contracts.actor(signed_in(who))
    typed = _typed(form)
    try:
        problems = contracts.check_plan(actor, contract_no, _plan(typed)).problems
    except ServiceError as problem:
        if problem.kind in ("not_found", "forbidden"):
            raise
        problems = problem.details or [problem.message]
    return _contract_page(request, who, contracts, contract_no, typed=typed, plan_problems=problems, checked=True)


@router.post("/contracts/{contract_no}/plan")
async def propose_plan(
    request: Request, form: Form, who: Who, contracts: Contracts, contract_no: ContractNo
) -> Response:
    plan = _typed(form)
    return await _act(
        request,
        form,
        who,
        contracts,
        contract_no,
        lambda actor: contracts.propose_plan(actor, contract_no, _plan(plan)),
        "plan",
        "plan",
    )


@router.post("/contracts/{contract_no}/signature")
async def sign(request: Request, form: Form, who: Who, contracts: Contracts, contract_no: ContractNo) -> Response:
    """The caller signs for the side they are on (the service knows which)."""

    async def signing(actor: Actor) -> Any:
        party = contracts.contract(actor, contract_no).audience
        if party not in (Audience.buyer, Audience.supplier):
            raise ServiceError("forbidden", "合同由购买方和承接方签署")
        return await contracts.sign(actor, contract_no, views.SigningInput(party=party))

    return await _act(request, form, who, contracts, contract_no, signing, "signed", "sign")


async def _report(service: Service, actor: Actor, form: FormData) -> DeliveryInput:
    """A report typed on the page with its attachments, each stored as the API's upload stores it."""
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if len(files) > 5:
        raise ServiceError("invalid", "一次最多上传5个附件，请合并或分次提交")
    summary = str(form.get("summary") or "")
    parsed(DeliveryInput, {"summary": summary})  # typed text is checked before any file is stored
    stored = [await run_in_threadpool(service.save_attachment, actor, f.filename or "", chunks(f.file)) for f in files]
    return parsed(DeliveryInput, {"summary": summary, "attachments": [s.sha256 for s in stored]})


@router.post("/contracts/{contract_no}/milestones/{milestone_id}/report")
async def submit_delivery(
    request: Request,
    form: Form,
    who: Who,
    service: Service,
    contracts: Contracts,
    contract_no: ContractNo,
    milestone_id: ItemId,
) -> Response:
    async def reporting(actor: Actor) -> Any:
        contracts.contract(actor, contract_no)
        return await contracts.submit_delivery(actor, contract_no, milestone_id, await _report(service, actor, form))

    return await _act(request, form, who, contracts, contract_no, reporting, "reported", "report")


@router.post("/contracts/{contract_no}/rectification")
async def submit_rectification(
    request: Request, form: Form, who: Who, service: Service, contracts: Contracts, contract_no: ContractNo
) -> Response:
    async def reporting(actor: Actor) -> Any:
        contracts.contract(actor, contract_no)
        return await contracts.submit_rectification(actor, contract_no, await _report(service, actor, form))

    return await _act(request, form, who, contracts, contract_no, reporting, "rectified", "rectification")


def _decision(form: FormData, field: str) -> dict[str, Any]:
    """A yes/no radio named ``field`` and the reasons typed one per line."""
    answer = str(form.get(field) or "")
    return {field: {"yes": True, "no": False}.get(answer), "reasons": _lines(str(form.get("reasons") or ""))}


@router.post("/contracts/{contract_no}/milestones/{milestone_id}/review")
async def review_delivery(
    request: Request, form: Form, who: Who, contracts: Contracts, contract_no: ContractNo, milestone_id: ItemId
) -> Response:
    return await _act(
        request,
        form,
        who,
        contracts,
        contract_no,
        lambda actor: contracts.review_delivery(
            actor, contract_no, milestone_id, parsed(views.DeliveryReviewInput, _decision(form, "accept"))
        ),
        "reviewed",
        "review",
    )


@router.post("/contracts/{contract_no}/disbursement")
async def record_disbursement(
    request: Request, form: Form, who: Who, contracts: Contracts, contract_no: ContractNo
) -> Response:
    entry = {k: str(form.get(k) or "").strip() for k in ("tranche_id", "voucher")}
    return await _act(
        request,
        form,
        who,
        contracts,
        contract_no,
        lambda actor: contracts.record_disbursement(actor, contract_no, parsed(views.DisbursementInput, entry)),
        "paid",
        "pay-" + entry["tranche_id"][:10],
    )


@router.post("/contracts/{contract_no}/evaluation")
async def submit_evaluation(
    request: Request, form: Form, who: Who, contracts: Contracts, contract_no: ContractNo
) -> Response:
    def evaluation(actor: Actor) -> EvaluationInput:
        rubric = contracts.contract(actor, contract_no).rubric
        scores = {d.id: str(form.get(f"score_{d.id}") or "").strip() for d in rubric}
        typed = {k: str(form.get(k) or "").strip() for k in ("satisfaction_rate", "respondents", "comment")}
        return parsed(EvaluationInput, {"scores": {k: v for k, v in scores.items() if v}, **typed})

    return await _act(
        request,
        form,
        who,
        contracts,
        contract_no,
        lambda actor: contracts.submit_evaluation(actor, contract_no, evaluation(actor)),
        "evaluated",
        "evaluation",
    )


@router.post("/contracts/{contract_no}/approval")
async def approve_single_source(
    request: Request, form: Form, who: Who, contracts: Contracts, contract_no: ContractNo
) -> Response:
    return await _act(
        request,
        form,
        who,
        contracts,
        contract_no,
        lambda actor: contracts.approve_single_source(
            actor, contract_no, parsed(views.ApprovalInput, _decision(form, "approve"))
        ),
        "approved",
        "approval",
    )


@router.post("/contracts/{contract_no}/amendments/{amendment_no}/approval")
async def approve_amendment(
    request: Request, form: Form, who: Who, contracts: Contracts, contract_no: ContractNo, amendment_no: AmendmentNo
) -> Response:
    return await _act(
        request,
        form,
        who,
        contracts,
        contract_no,
        lambda actor: contracts.approve_amendment(
            actor,
            contract_no,
            amendment_no,
            parsed(views.ApprovalInput, _decision(form, "approve")),
        ),
        "approved",
        f"amendment-{amendment_no}",
    )


@router.post("/contracts/{contract_no}/suspension")
async def suspend(request: Request, form: Form, who: Who, contracts: Contracts, contract_no: ContractNo) -> Response:
    return await _act(
        request,
        form,
        who,
        contracts,
        contract_no,
        lambda actor: contracts.suspend(actor, contract_no, parsed(views.SuspensionInput, _decision(form, "suspend"))),
        "suspended",
        "suspension",
    )


@router.post("/contracts/{contract_no}/termination")
async def terminate(request: Request, form: Form, who: Who, contracts: Contracts, contract_no: ContractNo) -> Response:
    reasons = {"reasons": _lines(str(form.get("reasons") or ""))}
    return await _act(
        request,
        form,
        who,
        contracts,
        contract_no,
        lambda actor: contracts.terminate(actor, contract_no, parsed(views.TerminationInput, reasons)),
        "terminated",
        "termination",
    )


@router.get("/disclosure/contracts")
async def disclosure(request: Request, who: Who, contracts: Contracts, page: int = 1) -> Response:
    """定期公开, for anyone, signed in or not: what the service discloses and nothing more."""
    page = page_number(page)
    found = contracts.disclosure(CONTRACTS_PER_PAGE, (page - 1) * CONTRACTS_PER_PAGE)
    return render(
        request,
        "contract_disclosure.html",
        who,
        contracts=found,
        page=page,
        pages=page_count(found.total, CONTRACTS_PER_PAGE),
    )
