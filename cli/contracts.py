"""``shezu contract …``: purchase-of-service contracts, through the same service as the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from cli.common import (
    As,
    JsonOut,
    Limit,
    Offset,
    emit,
    fail,
    print_history,
    print_page,
    print_receipt,
    read_model_file,
    validated,
    with_service,
)
from schemas.contracts import (
    CONTRACT_PHASE_NAMES,
    AmendmentInput,
    ContractPlan,
    DeliveryInput,
    EvaluationInput,
    Tranche,
)
from schemas.localtime import local_text
from schemas.money import yuan
from service import views
from service.contracts import ContractService

T = TypeVar("T")

contract_app = typer.Typer(
    help="购买服务合同：单一来源采购、履约计划、签署、履约报告与验收、拨付、绩效评价、整改、变更、中止与终止",
    no_args_is_help=True,
)
Reasons = Annotated[list[str] | None, typer.Option("--reason", help="理由，可重复")]
ContractNo = Annotated[str, typer.Argument(help="合同编号")]
InputFile = Annotated[Path, typer.Argument(help="JSON 或 YAML 文件")]

APPROVAL = {"approve": (True, "同意"), "refuse": (False, "不同意")}
REVIEW = {"accept": (True, "验收通过"), "return": (False, "退回")}
AGREEMENT = {"agree": (True, "同意变更"), "refuse": (False, "不同意变更")}
PARTIES = {"buyer": ("buyer", "购买方"), "supplier": ("supplier", "承接方")}
TRIGGERS = {"signing": "签约预付", "milestone": "节点验收", "final_evaluation": "终期评价后"}
PARTY_NAMES = {key: label for key, (_, label) in PARTIES.items()}


def contracts(action: Any) -> Any:
    return with_service(action, ContractService)


def act(user: str, action: Callable[..., Awaitable[Any]], *args: Any) -> None:
    """One contract action as ``user`` (a ContractService method taking the actor first), and its receipt."""

    async def run(service: ContractService) -> Any:
        return await action(service, service.actor(user), *args)

    print_receipt(contracts(run))


def choose(word: str, what: str, choices: dict[str, tuple[T, str]]) -> T:
    """An outcome word from the command line; an unknown word is refused in Chinese, never guessed."""
    found = choices.get(word.strip().lower())
    if found is None:
        allowed = " 或 ".join(f"{key}（{label}）" for key, (_, label) in choices.items())
        fail(f"{what}「{word}」无法识别，请用 {allowed}")
        raise AssertionError("unreachable")
    return found[0]


def metavar(choices: dict[str, Any]) -> str:
    return "|".join(choices)


# --- printing --------------------------------------------------------------------------------------


def print_records(page: views.Page[views.ContractRecordView]) -> None:
    def line(row: views.ContractRecordView) -> None:
        typer.echo(f"{row.contract_no}  {row.title}  {row.supplier_name}  {yuan(row.amount_fen)}  {row.status_name}")

    print_page(page, line, "没有可查看的合同")


def tranche_text(tranche: Tranche) -> str:
    trigger = f"节点{tranche.milestone_id}验收" if tranche.on == "milestone" else TRIGGERS[tranche.on]
    paid = f"，{local_text(tranche.paid_at)} 拨付，凭证 {tranche.voucher}" if tranche.paid_at else ""
    return f"{tranche.tranche_id}  {yuan(tranche.amount_fen)}  {trigger}  {tranche.status.label}{paid}"


def print_contract(view: views.ContractView) -> None:
    typer.echo(f"{view.contract_no}  {view.title}  {view.phase_name}  [{view.audience}]")
    lot = f"（项目 {view.lot_no}）" if view.lot_no else ""
    typer.echo(f"来源：{view.origin}{lot}")
    typer.echo(f"购买方 {view.buyer_office}；承接方 {view.supplier_name}（{view.supplier}）")
    typer.echo(f"合同金额 {yuan(view.amount_fen)}；合同版本 第{view.version}版")
    typer.echo(f"服务内容：{view.service_content}")
    if view.plan:
        typer.echo(f"合同期限：{view.plan.start_date} 至 {view.plan.end_date}")
    if view.signatures:
        typer.echo("签署：")
        for signature in view.signatures:
            typer.echo(f"  {PARTY_NAMES[signature.party]} {signature.by.name}  {local_text(signature.at)}  第{signature.version}版")
    if view.milestones:
        typer.echo("服务节点：")
        for milestone in view.milestones:
            mid = "，完成后中期评价" if milestone.mid_term_evaluation else ""
            typer.echo(
                f"  {milestone.milestone_id}  {milestone.title}  {milestone.status.label}  完成日期 {milestone.due_date}  "
                f"履约报告 {len(milestone.reports)} 份{mid}"
            )
            for deliverable in milestone.deliverables:
                typer.echo(f"      - {deliverable}")
    if view.tranches:
        typer.echo("拨付计划：")
        for tranche in view.tranches:
            typer.echo(f"  {tranche_text(tranche)}")
    if view.reward:
        typer.echo(f"以奖代补：{tranche_text(view.reward)}")
    if view.evaluations:
        typer.echo("绩效评价：")
        for evaluation in view.evaluations:
            verdict = "合格" if evaluation.passed else "不合格"
            typer.echo(
                f"  {evaluation.evaluation_id}  {evaluation.kind.label}  总分 {evaluation.total}（满意率{evaluation.satisfaction_rate}%）  "
                f"等级 {evaluation.grade}（{evaluation.grade_label}），{verdict}  {evaluation.evaluator.name} {local_text(evaluation.submitted_at)}"
            )
    if view.rectification:
        rectification = view.rectification
        reported = f"，整改报告已于 {local_text(rectification.report.submitted_at)} 提交" if rectification.report else "，整改报告未提交"
        typer.echo(f"整改：{rectification.stage.label}不合格，限 {rectification.due_date} 前完成{reported}")
        for item in rectification.items:
            typer.echo(f"  - {item}")
    if view.amendments:
        typer.echo("合同变更：")
        for amendment in view.amendments:
            amount = f"，金额变更为 {yuan(amendment.amount_fen)}" if amendment.amount_fen else ""
            version = f"，形成第{amendment.version}版" if amendment.version else ""
            typer.echo(
                f"  变更{amendment.amendment_no}  {amendment.proposed_by.name} 提出  {amendment.status.label}{amount}{version}：{'；'.join(amendment.reasons)}"
            )
            if amendment.answer_reasons:
                typer.echo(f"      答复理由：{'；'.join(amendment.answer_reasons)}")
    if view.holders:
        typer.echo("待办：")
        for holder in view.holders:
            late = "（已超期）" if holder.overdue else ""
            typer.echo(
                f"  {holder.title} — {holder.office} {holder.holder}（{holder.post}岗；A岗{holder.a}/B岗{holder.b}），"
                f"期限 {holder.deadline.due_date}{late}"
            )
    if view.ledger:
        typer.echo("专帐：")
        for entry in view.ledger:
            if entry.status == "withheld":
                typer.echo(f"  {entry.entry}  {yuan(entry.amount_fen)}  {entry.status_name}（{local_text(entry.withheld_at)} 登记）")
                continue
            paid = f"，{local_text(entry.paid_at)} 拨付，凭证 {entry.voucher}" if entry.paid_at else ""
            typer.echo(f"  {entry.entry}  {yuan(entry.amount_fen)}  {entry.status_name}（{local_text(entry.instructed_at)} 下达）{paid}  文书 {entry.document_id}")
    if view.result:
        result = view.result
        typer.echo(f"结果：{CONTRACT_PHASE_NAMES[result.phase][1]}（{local_text(result.decided_at)}）")
        if result.final_grade:
            typer.echo(f"  最终评价等级：{result.final_grade}")
        if result.reward_fen:
            typer.echo(f"  以奖代补：{yuan(result.reward_fen)}")
        if result.barred_until_year:
            typer.echo(f"  {result.barred_until_year}年度及以前不得参加社洽会")
        for reason in result.reasons:
            typer.echo(f"  理由：{reason}")
    print_history(view.timeline, view.documents)


def print_disclosure(page: views.Page[views.DisclosureView]) -> None:
    def entry(row: views.DisclosureView) -> None:
        term = f"{row.start_date} 至 {row.end_date}" if row.start_date and row.end_date else "履约计划未定"
        typer.echo(f"{row.contract_no}  {row.title}（{row.origin}）  {row.status_name}")
        typer.echo(f"  {row.buyer_office} 向 {row.supplier_name} 购买服务  {yuan(row.amount_fen)}  期限 {term}  已拨付 {yuan(row.paid_fen)}")
        for payment in row.payments:
            typer.echo(f"  拨付 {payment.entry}  {yuan(payment.amount_fen)}  {local_text(payment.paid_at)}")
        for grade in row.grades:
            typer.echo(f"  评价 {grade}")

    print_page(page, entry, "暂无公开的合同")


# --- reading ---------------------------------------------------------------------------------------


@contract_app.command("list")
def list_contracts(user: As, as_json: JsonOut = False, limit: Limit = views.PAGE_LIMIT, offset: Offset = 0) -> None:
    """我能看到的合同（组织单位、财政、评估机构看本辖区的，购买部门看自己的，社会组织看自己承接的）。"""

    async def run(service: ContractService) -> views.Page[views.ContractRecordView]:
        return service.contracts(service.actor(user), limit, offset)

    emit(contracts(run), as_json, print_records)


@contract_app.command("show")
def show(contract_no: ContractNo, user: As, as_json: JsonOut = False) -> None:
    """合同详情：计划、节点、拨付、评价、变更、待办、专帐、办理过程与文书（合同双方、组织单位、财政、评估机构）。"""

    async def run(service: ContractService) -> views.ContractView:
        return service.contract(service.actor(user), contract_no)

    emit(contracts(run), as_json, print_contract)


@contract_app.command("disclosure")
def disclosure(as_json: JsonOut = False, limit: Limit = views.PAGE_LIMIT, offset: Offset = 0) -> None:
    """定期公开：合同双方、金额、期限、状态、拨付和评价等级（公开，无需身份）。"""

    async def run(service: ContractService) -> views.Page[views.DisclosureView]:
        return service.disclosure(limit, offset)

    emit(contracts(run), as_json, print_disclosure)


# --- before the contract runs ----------------------------------------------------------------------


@contract_app.command("single-source")
def single_source(file: InputFile, user: As, as_json: JsonOut = False) -> None:
    """购买服务部门申请单一来源采购（JSON/YAML：title, service_content, supplier, amount_fen, duration_months, reasons）。"""
    request = read_model_file(file, views.SingleSourceInput)

    async def run(service: ContractService) -> views.ContractView:
        return await service.single_source(service.actor(user), request)

    emit(contracts(run), as_json, print_contract)


@contract_app.command("approve")
def approve(
    contract_no: ContractNo,
    outcome: Annotated[str, typer.Argument(metavar=metavar(APPROVAL), help="approve（同意）/ refuse（不同意，须写明理由）")],
    user: As,
    reason: Reasons = None,
) -> None:
    """组织单位审批单一来源采购。"""
    approval = validated(views.ApprovalInput, approve=choose(outcome, "审批结果", APPROVAL), reasons=reason or [])
    act(user, ContractService.approve_single_source, contract_no, approval)


@contract_app.command("plan")
def plan(contract_no: ContractNo, file: InputFile, user: As) -> None:
    """购买方提交（或重新提交）履约计划（JSON/YAML：start_date, end_date, milestones, tranches）。"""
    payload = read_model_file(file, ContractPlan)
    act(user, ContractService.propose_plan, contract_no, payload)


@contract_app.command("sign")
def sign(
    contract_no: ContractNo,
    party: Annotated[str, typer.Argument(metavar=metavar(PARTIES), help="buyer（购买方）/ supplier（承接方）")],
    user: As,
) -> None:
    """签署当前版本的合同。"""
    signing = validated(views.SigningInput, party=choose(party, "签署方", PARTIES))
    act(user, ContractService.sign, contract_no, signing)


# --- delivery and money ----------------------------------------------------------------------------


@contract_app.command("report")
def report(
    contract_no: ContractNo,
    milestone_id: Annotated[str, typer.Argument(help="节点编号，如 M1")],
    file: InputFile,
    user: As,
) -> None:
    """承接方提交节点履约报告（JSON/YAML：summary, attachments 为已上传附件的 SHA-256）。"""
    payload = read_model_file(file, DeliveryInput)
    act(user, ContractService.submit_delivery, contract_no, milestone_id, payload)


@contract_app.command("review")
def review(
    contract_no: ContractNo,
    milestone_id: Annotated[str, typer.Argument(help="节点编号，如 M1")],
    outcome: Annotated[str, typer.Argument(metavar=metavar(REVIEW), help="accept（验收通过）/ return（退回，须写明理由）")],
    user: As,
    reason: Reasons = None,
) -> None:
    """购买方验收或退回履约报告。"""
    decision = validated(views.DeliveryReviewInput, accept=choose(outcome, "验收结果", REVIEW), reasons=reason or [])
    act(user, ContractService.review_delivery, contract_no, milestone_id, decision)


@contract_app.command("disburse")
def disburse(
    contract_no: ContractNo,
    tranche_id: Annotated[str, typer.Argument(help="拨付编号，如 T1；以奖代补为 R1")],
    voucher: Annotated[str, typer.Option(help="拨付凭证号")],
    user: As,
) -> None:
    """财政部门按支付指令拨付后登记凭证。"""
    payload = validated(views.DisbursementInput, tranche_id=tranche_id, voucher=voucher)
    act(user, ContractService.record_disbursement, contract_no, payload)


# --- evaluation and rectification --------------------------------------------------------------


@contract_app.command("evaluate")
def evaluate(contract_no: ContractNo, file: InputFile, user: As) -> None:
    """评估机构提交绩效评价（JSON/YAML：scores: {维度: 分数}, satisfaction_rate, respondents, comment）。"""
    payload = read_model_file(file, EvaluationInput)
    act(user, ContractService.submit_evaluation, contract_no, payload)


@contract_app.command("rectify")
def rectify(contract_no: ContractNo, file: InputFile, user: As) -> None:
    """承接方在整改期内提交整改报告（JSON/YAML：summary, attachments）。"""
    payload = read_model_file(file, DeliveryInput)
    act(user, ContractService.submit_rectification, contract_no, payload)


# --- amendments, suspension, termination -------------------------------------------------------


@contract_app.command("amend")
def amend(contract_no: ContractNo, file: InputFile, user: As) -> None:
    """购买方或承接方提出合同变更（JSON/YAML：amount_fen 可省略, plan 变更后的履约计划, reasons）。"""
    payload = read_model_file(file, AmendmentInput)
    act(user, ContractService.propose_amendment, contract_no, payload)


@contract_app.command("answer")
def answer(
    contract_no: ContractNo,
    amendment_no: Annotated[int, typer.Argument(help="变更序号，如 1")],
    outcome: Annotated[str, typer.Argument(metavar=metavar(AGREEMENT), help="agree（同意）/ refuse（不同意，须写明理由）")],
    user: As,
    reason: Reasons = None,
) -> None:
    """提出方以外的另一方确认或拒绝合同变更。"""
    payload = validated(views.AmendmentAnswerInput, agree=choose(outcome, "答复", AGREEMENT), reasons=reason or [])
    act(user, ContractService.answer_amendment, contract_no, amendment_no, payload)


@contract_app.command("approve-amendment")
def approve_amendment(
    contract_no: ContractNo,
    amendment_no: Annotated[int, typer.Argument(help="变更序号，如 1")],
    outcome: Annotated[str, typer.Argument(metavar=metavar(APPROVAL), help="approve（同意）/ refuse（不同意）")],
    user: As,
    reason: Reasons = None,
) -> None:
    """组织单位审批追加合同金额的变更（须写明理由）。"""
    approval = validated(views.ApprovalInput, approve=choose(outcome, "审批结果", APPROVAL), reasons=reason or [])
    act(user, ContractService.approve_amendment, contract_no, amendment_no, approval)


@contract_app.command("suspend")
def suspend(contract_no: ContractNo, user: As, reason: Annotated[list[str] | None, typer.Option("--reason", help="中止理由，必填，可重复")] = None) -> None:
    """购买方中止合同。"""
    payload = validated(views.SuspensionInput, suspend=True, reasons=reason or [])
    act(user, ContractService.suspend, contract_no, payload)


@contract_app.command("resume")
def resume(contract_no: ContractNo, user: As, reason: Reasons = None) -> None:
    """购买方恢复履行已中止的合同。"""
    payload = validated(views.SuspensionInput, suspend=False, reasons=reason or [])
    act(user, ContractService.suspend, contract_no, payload)


@contract_app.command("terminate")
def terminate(contract_no: ContractNo, user: As, reason: Annotated[list[str] | None, typer.Option("--reason", help="终止理由，至少一条，可重复")] = None) -> None:
    """购买方或组织单位提前终止合同；未到拨付条件的款项不再拨付。"""
    payload = validated(views.TerminationInput, reasons=reason or [])
    act(user, ContractService.terminate, contract_no, payload)
