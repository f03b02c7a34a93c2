"""政府购买服务合同: single-source purchases, plan and signing, delivery, payments, evaluations,
amendments, suspension and termination; and the public disclosure (定期公开)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from api.deps import ContractNo, Contracts, ItemId, Limit, Offset, UserId
from api.errors import errors
from api.routes.documents import STORED_FILE, Sha256, stored_file
from schemas.case import ActionReceipt
from schemas.contracts import AmendmentInput, ContractPlan, DeliveryInput, EvaluationInput
from service import views
from service.views import PAGE_LIMIT

router = APIRouter(tags=["合同"])

ACT = errors(400, 403, 404, 409, 413, 422, 503)


@router.get("/api/contracts", summary="我能看到的合同（分页，最新成交的在前）", responses=errors(403, 422))
async def list_contracts(
    contracts: Contracts, user: UserId, limit: Limit = PAGE_LIMIT, offset: Offset = 0
) -> views.Page[views.ContractRecordView]:
    return contracts.contracts(contracts.actor(user), limit, offset)


@router.get("/api/disclosure/contracts", summary="定期公开：合同与拨付情况（公开，分页）", responses=errors(422))
async def disclosure(contracts: Contracts, limit: Limit = PAGE_LIMIT, offset: Offset = 0) -> views.Page[views.DisclosureView]:
    return contracts.disclosure(limit, offset)


@router.post(
    "/api/contracts/single-source", summary="购买服务部门申请单一来源采购", status_code=201,
    responses=errors(400, 403, 404, 409, 413, 422, 503),
)
async def single_source(request: views.SingleSourceInput, contracts: Contracts, user: UserId) -> views.ContractView:
    return await contracts.single_source(contracts.actor(user), request)


@router.get(
    "/api/contracts/{contract_no}", summary="合同详情（合同双方、组织单位、财政、评估机构）", responses=errors(403, 404, 422)
)
async def contract(contract_no: ContractNo, contracts: Contracts, user: UserId) -> views.ContractView:
    return contracts.contract(contracts.actor(user) if user else None, contract_no)


@router.post("/api/contracts/{contract_no}/single-source-approval", summary="组织单位审批单一来源采购", responses=ACT)
async def approve_single_source(
    contract_no: ContractNo, approval: views.ApprovalInput, contracts: Contracts, user: UserId
) -> ActionReceipt:
    return await contracts.approve_single_source(contracts.actor(user), contract_no, approval)


@router.post("/api/contracts/{contract_no}/plan", summary="购买方提交履约计划（节点与拨付）", responses=ACT)
async def propose_plan(contract_no: ContractNo, plan: ContractPlan, contracts: Contracts, user: UserId) -> ActionReceipt:
    return await contracts.propose_plan(contracts.actor(user), contract_no, plan)


@router.post(
    "/api/contracts/{contract_no}/plan/check", summary="购买方检查履约计划（不提交，返回问题）", responses=errors(400, 403, 404, 422)
)
async def check_plan(contract_no: ContractNo, plan: ContractPlan, contracts: Contracts, user: UserId) -> views.PlanCheckView:
    return contracts.check_plan(contracts.actor(user), contract_no, plan)


@router.post("/api/contracts/{contract_no}/signatures", summary="签署合同", responses=ACT)
async def sign(contract_no: ContractNo, signing: views.SigningInput, contracts: Contracts, user: UserId) -> ActionReceipt:
    return await contracts.sign(contracts.actor(user), contract_no, signing)


@router.post("/api/contracts/{contract_no}/milestones/{milestone_id}/report", summary="承接方提交履约报告", responses=ACT)
async def submit_delivery(
    contract_no: ContractNo, milestone_id: ItemId, report: DeliveryInput, contracts: Contracts, user: UserId
) -> ActionReceipt:
    return await contracts.submit_delivery(contracts.actor(user), contract_no, milestone_id, report)


@router.post("/api/contracts/{contract_no}/milestones/{milestone_id}/review", summary="购买方验收或退回", responses=ACT)
async def review_delivery(
    contract_no: ContractNo, milestone_id: ItemId, review: views.DeliveryReviewInput, contracts: Contracts, user: UserId
) -> ActionReceipt:
    return await contracts.review_delivery(contracts.actor(user), contract_no, milestone_id, review)


@router.get(
    "/api/contracts/{contract_no}/attachments/{sha256}", summary="查看履约报告或整改报告的附件（原文件）",
    description="只有能查看该合同的人可以查看；PDF 和图片在浏览器中直接显示，其他类型下载。",
    responses={**errors(401, 404, 422), **STORED_FILE},
    response_class=FileResponse,
)
async def report_attachment(
    contract_no: ContractNo,
    sha256: Sha256,
    contracts: Contracts, user: UserId,
) -> FileResponse:
    path, record = contracts.report_file(contracts.actor(user), contract_no, sha256)
    return stored_file(path, record)


@router.post("/api/contracts/{contract_no}/disbursements", summary="财政部门登记拨付", responses=ACT)
async def record_disbursement(
    contract_no: ContractNo, disbursement: views.DisbursementInput, contracts: Contracts, user: UserId
) -> ActionReceipt:
    return await contracts.record_disbursement(contracts.actor(user), contract_no, disbursement)


@router.post("/api/contracts/{contract_no}/evaluations", summary="评估机构提交绩效评价", responses=ACT)
async def submit_evaluation(
    contract_no: ContractNo, evaluation: EvaluationInput, contracts: Contracts, user: UserId
) -> ActionReceipt:
    return await contracts.submit_evaluation(contracts.actor(user), contract_no, evaluation)


@router.post("/api/contracts/{contract_no}/rectification", summary="承接方提交整改报告", responses=ACT)
async def submit_rectification(
    contract_no: ContractNo, report: DeliveryInput, contracts: Contracts, user: UserId
) -> ActionReceipt:
    return await contracts.submit_rectification(contracts.actor(user), contract_no, report)


@router.post("/api/contracts/{contract_no}/amendments", summary="提出合同变更", responses=ACT)
async def propose_amendment(
    contract_no: ContractNo, amendment: AmendmentInput, contracts: Contracts, user: UserId
) -> ActionReceipt:
    return await contracts.propose_amendment(contracts.actor(user), contract_no, amendment)


@router.post("/api/contracts/{contract_no}/amendments/{amendment_no}/answer", summary="确认合同变更", responses=ACT)
async def answer_amendment(
    contract_no: ContractNo,
    amendment_no: Annotated[int, Path(ge=1, le=10_000, description="变更序号")],
    answer: views.AmendmentAnswerInput, contracts: Contracts, user: UserId,
) -> ActionReceipt:
    return await contracts.answer_amendment(contracts.actor(user), contract_no, amendment_no, answer)


@router.post(
    "/api/contracts/{contract_no}/amendments/{amendment_no}/approval", summary="组织单位审批追加合同金额的变更（AB岗）", responses=ACT
)
async def approve_amendment(
    contract_no: ContractNo,
    amendment_no: Annotated[int, Path(ge=1, le=10_000, description="变更序号")],
    approval: views.ApprovalInput, contracts: Contracts, user: UserId,
) -> ActionReceipt:
    return await contracts.approve_amendment(contracts.actor(user), contract_no, amendment_no, approval)


@router.post("/api/contracts/{contract_no}/suspension", summary="购买方中止或恢复合同", responses=ACT)
async def suspend(contract_no: ContractNo, suspension: views.SuspensionInput, contracts: Contracts, user: UserId) -> ActionReceipt:
    return await contracts.suspend(contracts.actor(user), contract_no, suspension)


@router.post("/api/contracts/{contract_no}/termination", summary="提前终止合同", responses=ACT)
async def terminate(
    contract_no: ContractNo, termination: views.TerminationInput, contracts: Contracts, user: UserId
) -> ActionReceipt:
    return await contracts.terminate(contracts.actor(user), contract_no, termination)
