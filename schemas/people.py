"""Who acts, in which role, and where: roles, jurisdictions, offices and actors."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Role(StrEnum):
    applicant = "applicant"
    public = "public"
    community_committee = "community_committee"
    street_office = "street_office"
    civil_affairs = "civil_affairs"
    department = "department"
    expert = "expert"
    bidder = "bidder"
    supplier = "supplier"
    finance = "finance"
    evaluator = "evaluator"
    administrator = "administrator"
    auditor = "auditor"
    incubator = "incubator"
    mentor = "mentor"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.applicant: "申请人",
    Role.public: "公众",
    Role.community_committee: "社区居委会",
    Role.street_office: "街道办事处",
    Role.civil_affairs: "民政局",
    Role.department: "购买服务部门",
    Role.expert: "评审专家",
    Role.bidder: "投标人",
    Role.supplier: "承接服务的社会组织",
    Role.finance: "财政部门",
    Role.evaluator: "第三方评估机构",
    Role.administrator: "系统管理员",
    Role.auditor: "审计人员",
    Role.incubator: "孵化基地",
    Role.mentor: "孵化导师",
}

STAFF_ROLES = frozenset({Role.community_committee, Role.street_office, Role.civil_affairs})


class Level(StrEnum):
    district = "district"
    street = "street"
    community = "community"

    @property
    def label(self) -> str:
        return {"district": "区/县/市", "street": "街道/镇", "community": "社区"}[self.value]


class Actor(BaseModel):
    """A person acting on a case. Staff actors come from the directory, never from the caller."""

    user_id: str = Field(min_length=1, max_length=64, title="用户标识")
    name: str = Field(min_length=1, max_length=50, title="姓名")
    role: Role = Field(title="角色")
    jurisdiction: str | None = Field(default=None, title="所属辖区")
    office: str | None = Field(default=None, title="所在单位", description="for departments: which one")
    organization: str | None = Field(default=None, description="for an organization's representative: its register key")

    @property
    def display(self) -> str:
        return f"{self.name}({self.role.label})"


class Office(BaseModel):
    """A government office acting for a jurisdiction, as it is named on documents."""

    jurisdiction: str
    jurisdiction_name: str
    role: Role
    name: str = Field(description="e.g. 延吉市建工街道办事处")


class OfficeContact(BaseModel):
    """What an issuing office prints on what it issues: its 发文机关代字 and how the public reaches it."""

    abbreviation: str = Field(min_length=1, max_length=10, description="发文机关代字, e.g. 延建 in 延建备〔2026〕3号")
    contact_person: str = Field(min_length=1, max_length=50, description="联系人")
    telephone: str = Field(min_length=1, max_length=40)
    address: str = Field(min_length=1, max_length=120, description="postal address, where written objections go")
    online: str = Field(min_length=1, max_length=120, description="where to apply, object or follow a case online")


class Jurisdiction(BaseModel):
    code: str
    name: str
    full_name: str
    level: Level
    parent: str | None = None
    offices: dict[Role, str] = Field(default_factory=dict)
    contacts: dict[str, OfficeContact] = Field(
        default_factory=dict, description="per office, from the directory: its role, or a department's name"
    )

    def contact_of(self, office: Office) -> OfficeContact | None:
        """The contacts an office prints: found by its role here, by its name when it is a department (a
        department may be a street office itself, 延吉市建工街道办事处, found through the offices' names)."""
        for role, name in self.offices.items():
            if name == office.name and role in self.contacts:
                return self.contacts[role]
        return self.contacts.get(office.name) or (self.contacts.get(office.role) if office.role is not Role.department else None)
    reconsideration_body: str | None = None
    court: str | None = None


class Locality(BaseModel):
    """A community and its ancestors (community first), as recorded when a case starts."""

    chain: list[Jurisdiction] = Field(min_length=1)

    @property
    def community(self) -> Jurisdiction:
        return self.chain[0]

    def at_level(self, level: Level) -> Jurisdiction:
        for jurisdiction in self.chain:
            if jurisdiction.level is level:
                return jurisdiction
        raise LookupError(f"{self.community.full_name}: no {level.label} above it")

    def office(self, role: Role, level: Level) -> Office:
        place = self.at_level(level)
        return Office(
            jurisdiction=place.code,
            jurisdiction_name=place.full_name,
            role=role,
            name=place.offices.get(role) or f"{place.full_name}{role.label}",
        )

    @property
    def reconsideration_body(self) -> str:
        return next((j.reconsideration_body for j in self.chain if j.reconsideration_body), "上一级人民政府")

    @property
    def court(self) -> str:
        return next((j.court for j in self.chain if j.court), "有管辖权的人民法院")

    def contains(self, jurisdiction: str | None) -> bool:
        return any(j.code == jurisdiction for j in self.chain)


class Post(BaseModel):
    """An AB岗 post: a role in a jurisdiction (for departments, in one office), held by A with B as the backup."""

    role: Role
    jurisdiction: str
    office: str = ""
    a: Actor
    b: Actor


class PostRequest(BaseModel):
    role: Role
    jurisdiction: str
    office: str = Field(default="", description="for departments: which one (several share a role and jurisdiction)")
