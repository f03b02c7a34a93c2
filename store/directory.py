"""The directory: jurisdictions, staff, AB岗 posts and the expert pool, loaded from a YAML file by an administrator."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from schemas.people import Actor, Jurisdiction, Level, Locality, OfficeContact, Post, Role
from schemas.procurement import Expert
from schemas.text import RequestModel, SingleLine
from store.db import session_scope
from store.models import ExpertRecord, IncubationBaseRecord, JurisdictionRecord, PostRecord, StaffRecord

_CHILD_LEVEL = {Level.district: Level.street, Level.street: Level.community}

ISSUING_ROLES = frozenset({Role.street_office, Role.civil_affairs, Role.evaluator})
"""Offices that issue documents (filing decisions, fair and contract documents, performance reports): each
needs its 发文机关代字 and contact details in the directory, which every document it issues prints. So does
every buying department, which issues its contracts' payment instructions: its contacts are keyed by its name."""


class JurisdictionNode(BaseModel):
    code: str = Field(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
    name: SingleLine = Field(min_length=1, max_length=60)
    level: Level
    offices: dict[Role, str] = Field(default_factory=dict)
    contacts: dict[str, OfficeContact] = Field(
        default_factory=dict, description="per office: its role (street_office…), or a department's name (延吉市卫生健康局)"
    )
    reconsideration_body: str | None = None
    court: str | None = None
    children: list[JurisdictionNode] = Field(default_factory=list)

    @model_validator(mode="after")
    def _issuing_offices_reachable(self) -> JurisdictionNode:
        if missing := sorted(role for role in self.offices if role in ISSUING_ROLES and role not in self.contacts):
            raise ValueError(f"{self.code}: {', '.join(missing)} issues documents and needs contacts (代字, 联系人, 电话, 地址, 网上办理)")
        return self


class StaffEntry(BaseModel):
    user_id: str = Field(min_length=1, max_length=64)
    name: SingleLine = Field(min_length=1, max_length=50)
    role: Role
    jurisdiction: str
    office: SingleLine | None = Field(default=None, max_length=100, description="a department's name, e.g. 延吉市卫生健康局")


class ExpertEntry(BaseModel):
    user_id: str = Field(min_length=1, max_length=64)
    name: SingleLine = Field(min_length=1, max_length=50)
    jurisdiction: str
    specialties: list[SingleLine] = Field(default_factory=list)
    conflicts: list[SingleLine] = Field(default_factory=list, description="organizations (register key or name)")


class PostEntry(BaseModel):
    role: Role
    jurisdiction: str
    office: str = Field(default="", description="for departments: which one")
    a: str
    b: str


class DirectoryFile(RequestModel):
    jurisdictions: list[JurisdictionNode]
    staff: list[StaffEntry]
    posts: list[PostEntry]
    experts: list[ExpertEntry] = Field(default_factory=list)

    def flattened(self) -> list[Jurisdiction]:
        out: list[Jurisdiction] = []

        def walk(node: JurisdictionNode, parent: Jurisdiction | None) -> None:
            if parent and _CHILD_LEVEL.get(parent.level) is not node.level:
                raise ValueError(f"{node.code}: a {parent.level.label} cannot contain a {node.level.label}")
            here = Jurisdiction(
                code=node.code,
                name=node.name,
                full_name=f"{parent.full_name}{node.name}" if parent else node.name,
                level=node.level,
                parent=parent.code if parent else None,
                offices=node.offices,
                contacts=node.contacts,
                reconsideration_body=node.reconsideration_body,
                court=node.court,
            )
            out.append(here)
            for child in node.children:
                walk(child, here)

        for root in self.jurisdictions:
            walk(root, None)
        return out

    @model_validator(mode="after")
    def _consistent(self) -> DirectoryFile:
        codes = [j.code for j in self.flattened()]
        if len(codes) != len(set(codes)):
            raise ValueError("jurisdiction codes must be unique")
        staff = {s.user_id: s for s in self.staff}
        if len(staff) != len(self.staff):
            raise ValueError("staff user_id must be unique")
        for entry in [*self.staff, *self.experts]:
            if entry.jurisdiction not in codes:
                raise ValueError(f"{entry.user_id}: unknown jurisdiction {entry.jurisdiction}")
        for node in self.flattened():
            departments = {s.office for s in self.staff if s.role is Role.department and s.jurisdiction == node.code and s.office}
            if stray := sorted(set(node.contacts) - set(node.offices) - departments):
                raise ValueError(f"{node.code}: contacts for offices it does not have: {', '.join(stray)}")
            named = set(node.offices.values()) | set(node.contacts)
            if missing := sorted(departments - named):
                raise ValueError(f"{node.code}: departments {', '.join(missing)} issue payment instructions and need contacts (代字, 联系人, 电话, 地址, 网上办理)")
        if set(staff) & {e.user_id for e in self.experts}:
            raise ValueError("a user is either staff or an expert, not both")
        for post in self.posts:
            for user_id in (post.a, post.b):
                person = staff.get(user_id)
                if person is None or person.role != post.role or person.jurisdiction != post.jurisdiction or (post.office and person.office != post.office):
                    raise ValueError(f"post {post.role}@{post.jurisdiction}: {user_id} does not hold that role there")
            if post.a == post.b:
                raise ValueError(f"post {post.role}@{post.jurisdiction}: A and B must be different people")
        return self


def read_directory_file(path: Path) -> DirectoryFile:
    return DirectoryFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def load_directory(engine: Engine, directory: DirectoryFile) -> None:
    """Replace the whole directory in one transaction."""
    with session_scope(engine) as session:
        for table in (JurisdictionRecord, StaffRecord, PostRecord, ExpertRecord):
            session.exec(delete(table))  # type: ignore[call-overload]
        for j in directory.flattened():
            session.add(
                JurisdictionRecord(
                    **j.model_dump(exclude={"offices", "contacts"}),
                    offices={str(k): v for k, v in j.offices.items()},
                    contacts={str(k): v.model_dump() for k, v in j.contacts.items()},
                )
            )
        for s in directory.staff:
            session.add(
                StaffRecord(user_id=s.user_id, name=s.name, role=s.role.value, jurisdiction=s.jurisdiction, office=s.office)
            )
        for e in directory.experts:
            session.add(ExpertRecord(**e.model_dump()))
        for p in directory.posts:
            session.add(PostRecord(role=p.role.value, jurisdiction=p.jurisdiction, office=p.office, a_user_id=p.a, b_user_id=p.b))


def directory_is_empty(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(JurisdictionRecord).limit(1)).first() is None


def _jurisdiction(record: JurisdictionRecord) -> Jurisdiction:
    return Jurisdiction(
        code=record.code,
        name=record.name,
        full_name=record.full_name,
        level=Level(record.level),
        parent=record.parent,
        offices={Role(k): v for k, v in (record.offices or {}).items()},
        contacts={k: OfficeContact.model_validate(v) for k, v in (record.contacts or {}).items()},
        reconsideration_body=record.reconsideration_body,
        court=record.court,
    )


def jurisdiction(engine: Engine, code: str) -> Jurisdiction | None:
    with Session(engine) as session:
        record = session.get(JurisdictionRecord, code)
        return _jurisdiction(record) if record else None


def jurisdictions(engine: Engine, level: Level | None = None) -> list[Jurisdiction]:
    with Session(engine) as session:
        query = select(JurisdictionRecord).order_by(JurisdictionRecord.code)
        if level:
            query = query.where(JurisdictionRecord.level == level.value)
        return [_jurisdiction(r) for r in session.exec(query)]


def within(engine: Engine, code: str) -> list[Jurisdiction]:
    """The jurisdiction and all those below it, top first (a reviewer sees tasks in all of them)."""
    found: list[Jurisdiction] = []
    with Session(engine) as session:
        level = [r for r in [session.get(JurisdictionRecord, code)] if r is not None]
        while level:
            found += [_jurisdiction(r) for r in level]
            codes = [r.code for r in level]
            level = list(session.exec(select(JurisdictionRecord).where(col(JurisdictionRecord.parent).in_(codes)).order_by(JurisdictionRecord.code)))
    return found


def locality(engine: Engine, code: str) -> Locality | None:
    """The jurisdiction and all its ancestors, nearest first."""
    chain = []
    with Session(engine) as session:
        record = session.get(JurisdictionRecord, code)
        while record is not None:
            chain.append(_jurisdiction(record))
            record = session.get(JurisdictionRecord, record.parent) if record.parent else None
    return Locality(chain=chain) if chain else None


def _actor(record: StaffRecord) -> Actor:
    return Actor(
        user_id=record.user_id, name=record.name, role=Role(record.role), jurisdiction=record.jurisdiction,
        office=record.office,
    )


def staff_member(engine: Engine, user_id: str) -> Actor | None:
    """A member of staff or an expert, as the directory knows them; or someone of an incubation base's
    staff or its mentors, as the bases file knows them."""
    with Session(engine) as session:
        record = session.get(StaffRecord, user_id)
        if record:
            return _actor(record)
        expert = session.get(ExpertRecord, user_id)
        return _expert(expert).actor if expert else _base_person(session, user_id)


def _base_person(session: Session, user_id: str) -> Actor | None:
    """Base staff act as 孵化基地 (``incubator``), mentors as 孵化导师; one who serves several bases (a hub
    running the headquarters and a branch) has the widest of their jurisdictions. What they may do on a
    case is decided by the base they serve (rules/incubation_permissions.py), not by this jurisdiction."""
    found: list[tuple[Role, str, str]] = []
    for base in session.exec(select(IncubationBaseRecord)):
        staff = [p for p in (base.staff_a, base.staff_b) if p and p.get("user_id") == user_id]
        mentors = [m for m in base.mentors or [] if m.get("user_id") == user_id]
        for person, role in [*((p, Role.incubator) for p in staff), *((m, Role.mentor) for m in mentors)]:
            found.append((role, base.jurisdiction, person["name"]))
    if not found:
        return None
    role = Role.incubator if any(r is Role.incubator for r, _, _ in found) else Role.mentor
    _, jurisdiction, name = min((f for f in found if f[0] is role), key=lambda f: (len(f[1]), f[1]))
    return Actor(user_id=user_id, name=name, role=role, jurisdiction=jurisdiction)


def base_people(engine: Engine) -> dict[str, str]:
    """Everyone of the bases' staff and mentors (user id → name), for demo accounts."""
    with Session(engine) as session:
        return {
            person["user_id"]: person["name"]
            for base in session.exec(select(IncubationBaseRecord))
            for person in [base.staff_a, base.staff_b, *(base.mentors or [])]
            if person
        }


def _expert(record: ExpertRecord) -> Expert:
    return Expert(
        user_id=record.user_id, name=record.name, jurisdiction=record.jurisdiction,
        specialties=record.specialties or [], conflicts=record.conflicts or [],
    )


def experts(engine: Engine, jurisdiction: str) -> list[Expert]:
    """The expert pool of a jurisdiction, in a stable order."""
    with Session(engine) as session:
        query = select(ExpertRecord).where(ExpertRecord.jurisdiction == jurisdiction).order_by(ExpertRecord.user_id)
        return [_expert(r) for r in session.exec(query)]


def post(engine: Engine, role: Role, jurisdiction_code: str, office: str = "") -> Post | None:
    with Session(engine) as session:
        record = session.get(PostRecord, (role.value, jurisdiction_code, office))
        if record is None:
            return None
        a, b = session.get(StaffRecord, record.a_user_id), session.get(StaffRecord, record.b_user_id)
        if a is None or b is None:
            return None
        return Post(role=role, jurisdiction=jurisdiction_code, office=office, a=_actor(a), b=_actor(b))
