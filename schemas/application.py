"""What an applicant submits: the organization, its people and its materials."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator

from schemas.text import MultiLine, RequestModel, Sha256, SingleLine, at_the_door, name_key


class Track(StrEnum):
    filing = "filing"
    association = "association"
    service_institution = "service_institution"

    @property
    def label(self) -> str:
        return TRACK_LABELS[self]

    @property
    def is_registration(self) -> bool:
        return self is not Track.filing


TRACK_LABELS: dict[Track, str] = {
    Track.filing: "社区社会组织备案",
    Track.association: "社会团体登记",
    Track.service_institution: "社会服务机构（民办非企业单位）登记",
}


class PersonRole(StrEnum):
    founder = "founder"
    leader = "leader"
    founder_and_leader = "founder_and_leader"

    @property
    def label(self) -> str:
        return {"founder": "发起人", "leader": "拟任负责人", "founder_and_leader": "发起人兼拟任负责人"}[self.value]

    @property
    def is_founder(self) -> bool:
        return self in (PersonRole.founder, PersonRole.founder_and_leader)

    @property
    def is_leader(self) -> bool:
        return self in (PersonRole.leader, PersonRole.founder_and_leader)


class Person(RequestModel):
    name: SingleLine = Field(min_length=1, max_length=50, title="姓名")
    role: PersonRole = Field(title="身份（发起人/拟任负责人）")
    household_registration: SingleLine | None = Field(
        default=None,
        max_length=100,
        title="户籍所在地",
        description="户籍在本系统辖区内的社区时填写社区代码（如 YJ-JG-CG），否则填写地名",
    )


class VenueKind(StrEnum):
    own = "own"
    shared = "shared"
    none = "none"

    @property
    def label(self) -> str:
        return {"own": "独立场所", "shared": "共享场所（如社区活动室）", "none": "暂无场所"}[self.value]


class Venue(RequestModel):
    kind: VenueKind = Field(title="活动场所类型")
    address: SingleLine | None = Field(default=None, max_length=200, title="活动场所地址")


class MaterialSubmission(RequestModel):
    material: SingleLine = Field(min_length=1, max_length=64, title="材料代码")
    person: SingleLine | None = Field(default=None, max_length=50, title="材料所属人员姓名")
    attachment: Sha256 | None = Field(default=None, title="附件（上传后得到的 SHA-256）")
    note: MultiLine | None = Field(default=None, max_length=500, title="说明")


class Application(RequestModel):
    track: Track = Field(title="办理类型")
    community: SingleLine = Field(min_length=1, max_length=64, title="所在社区代码")
    organization_name: SingleLine = Field(min_length=2, max_length=60, title="组织名称")
    business_scope: MultiLine = Field(min_length=2, max_length=500, title="业务范围/宗旨")
    community_based: bool = Field(
        default=True, title="是否社区社会组织", description="在社区内活动、服务本社区居民"
    )
    members: int = Field(default=0, ge=0, le=1_000_000, title="个人会员人数")
    unit_members: int = Field(default=0, ge=0, le=100_000, title="单位会员数")
    funds_fen: int = Field(default=0, ge=0, le=10**12, title="活动资金（分）")
    venue: Venue = Field(title="活动场所")
    supervising_unit: SingleLine | None = Field(default=None, max_length=100, title="业务主管单位")
    people: list[Person] = Field(min_length=1, max_length=50, title="发起人和拟任负责人")
    materials: list[MaterialSubmission] = Field(default_factory=list, max_length=200, title="已提交材料")
    applicant_name: SingleLine = Field(min_length=1, max_length=50, title="申请人姓名")
    contact_phone: str = Field(
        min_length=5, max_length=20, pattern=r"^[0-9+\- ]{5,20}$", title="联系电话", description="数字、空格、+ 和 -"
    )

    @field_validator("people")
    @classmethod
    def _people_distinguishable(cls, people: list[Person]) -> list[Person]:
        """Materials name their person, so two people may not share a name (一人一证), even folded.
        (A field validator, so that it runs inside the door check: see ``RequestModel``.)"""
        if not at_the_door():
            return people
        seen: set[str] = set()
        for person in people:
            if name_key(person.name) in seen:
                raise ValueError(f"有两人同名（{person.name}），请在姓名后加注以区分，如「{person.name}（长春）」")
            seen.add(name_key(person.name))
        return people

    @property
    def founders(self) -> list[Person]:
        return [p for p in self.people if p.role.is_founder]

    @property
    def leaders(self) -> list[Person]:
        return [p for p in self.people if p.role.is_leader]

    def provided(self, material: str, person: str | None = None) -> MaterialSubmission | None:
        for item in self.materials:
            if item.material == material and (person is None or item.person == person):
                return item
        return None
