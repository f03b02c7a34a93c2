"""What an auditor asks and is shown: a search over every process's cases, a case's 办理过程 with the policy in
force at each step, its documents against their recorded SHA-256, and the record of auditors' own views."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from schemas.text import RequestModel, SingleLine

PROCESS_NAMES = {
    "filing": "备案/登记",
    "fair": "社洽会",
    "lot": "购买服务项目",
    "contract": "政府购买服务合同",
    "incubation": "孵化",
}
"""The processes an auditor searches, by the key a search names them with."""
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
"""The dates a search may name: well around any case this system holds."""


class AuditSearch(RequestModel):
    number: str = Field(
        default="",
        max_length=64,
        pattern=r"^[A-Za-z0-9-]*$",
        title="编号",
        description="案号、社洽会、项目、合同或孵化案件编号的全部或一部分",
    )
    organization: SingleLine = Field(
        default="", max_length=50, title="组织名称", description="申请组织、承接组织或孵化的组织、团队名称的一部分"
    )
    office: SingleLine = Field(
        default="", max_length=50, title="办理单位", description="办理、组织或购买单位名称，或孵化基地名称的一部分"
    )
    since: date | None = Field(default=None, title="最近办理日期从", description="2000年至2099年间的日期")
    until: date | None = Field(default=None, title="最近办理日期到", description="2000年至2099年间的日期")
    status: str = Field(
        default="",
        max_length=40,
        pattern=r"^([a-z]+(:[a-z_]+)?)?$",
        title="流程和阶段",
        description="流程（filing、fair、lot、contract、incubation），或流程:阶段，如 lot:bidding",
    )

    @model_validator(mode="after")
    def _range_in_order(self) -> AuditSearch:
        # a rule of the search, not a limit JSON Schema can state for a date
        if any(day and not EARLIEST <= day <= LATEST for day in (self.since, self.until)):
            raise ValueError("日期须在2000年1月1日至2099年12月31日之间")
        if self.since and self.until and self.until < self.since:
            raise ValueError("“最近办理日期到”不能早于“从”，请调换两个日期")
        return self


class AuditCaseRow(BaseModel):
    number: str
    process: str = Field(description="filing, fair, lot, contract or incubation")
    process_name: str
    organization: str
    office: str
    phase: str
    phase_name: str
    updated_at: AwareDatetime


class AuditCasesView(BaseModel):
    items: list[AuditCaseRow]
    total: int = Field(ge=0)
    limit: int
    offset: int


class AuditEvent(BaseModel):
    """One step of a case as its recorded history tells it, with the policy the case was under then."""

    seq: int
    at: AwareDatetime
    who: str
    role: str
    summary: str
    phase_before: str
    phase_after: str
    policy: str = Field(description="政策文件：辖区、版本和标题；无则为空")


class AuditDocument(BaseModel):
    document_id: str
    title: str
    reference: str
    issued_at: AwareDatetime
    pdf_sha256: str
    html_sha256: str


class DocumentCheck(BaseModel):
    """A document's stored files hashed again and compared with what its rendering recorded."""

    document_id: str
    title: str
    matches: bool
    files: dict[str, str] = Field(description="per file (PDF, HTML): 一致, 不一致 or 存储中找不到")


class AuditViewRow(BaseModel):
    user_id: str
    user_name: str
    viewed_at: AwareDatetime
    page: str
    page_name: str
    case_no: str | None
    note: str = Field(default="", description="what a document check found, in words")


class AuditViewsView(BaseModel):
    items: list[AuditViewRow]
    total: int = Field(ge=0)
    limit: int
    offset: int
