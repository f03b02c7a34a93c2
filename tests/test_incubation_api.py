"""孵化 through the HTTP API, as a group, the base's staff, its mentors and civil affairs meet it: who sees which
case, refusals in Chinese that leave no trace, a filing from inside incubation, and a base's free places."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio

from api.app import create_app
from schemas.case import Phase
from schemas.incubation_case import IncubationPhase, IncubationState
from service.incubation import IncubationService
from store import bases
from tests import factories
from tests.conftest import GATEWAY, Skipping
from tests.helpers import accepted_updates, until_incubation, until_state
from workflows.incubation import IncubationWorkflow

PIAO = "fh-piao"  # A岗 of the headquarters and of 建工 branch
CUI = "fh-cui"  # A岗 of 河南 branch
MENTOR = "ds-cui"  # the headquarters' first mentor
OTHER_MENTOR = "ds-han"  # the headquarters' other mentor
CIVIL_AFFAIRS = "mz-chen"
OTHER_DISTRICT = "xq-mz-feng"
CRITERIA = ["filed_or_registered", "governance", "finance", "services"]


def as_user(user_id: str) -> dict[str, str]:
    return {"X-User-Id": user_id}


def representative() -> str:
    return f"rep-{uuid.uuid4().hex[:8]}"


def application(base_code: str, group: str, **overrides: Any) -> dict[str, Any]:
    return {
        "base_code": base_code, "group_name": group, "plan": "开展老年人读书会和邻里互助活动，学习备案和财务管理",
        "term_months": 6, **overrides,
    }  # fmt: skip


@pytest_asyncio.fixture
async def api(skipping: Skipping) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service=skipping.service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shezu.test", headers=GATEWAY) as http:
        yield http


def pending(state: IncubationState, step: str) -> bool:
    return any(t.step == step and t.status.value == "open" for t in state.tasks)


async def settled(skipping: Skipping, case_no: str, condition: Any = lambda s: True) -> IncubationState:
    """The case once the workflow has projected what it decided (the API reads the read model)."""
    return await until_incubation(
        skipping.env.client, case_no, lambda s: s.settled_revision == s.revision and condition(s)
    )


async def apply(api: httpx.AsyncClient, rep: str, base_code: str, group: str) -> str:
    answer = await api.post("/api/incubations", json=application(base_code, group), headers=as_user(rep))
    assert answer.status_code == 201, answer.text
    return answer.json()["case_no"]


async def admit(api: httpx.AsyncClient, skipping: Skipping, case_no: str, staff: str = PIAO) -> IncubationState:
    await settled(skipping, case_no, lambda s: pending(s, "admission"))
    answer = await api.post(f"/api/incubations/{case_no}/admission", json={"admit": True}, headers=as_user(staff))
    assert answer.status_code == 200, answer.text
    return await settled(skipping, case_no, lambda s: s.phase is not IncubationPhase.applied)


async def base(api: httpx.AsyncClient, code: str) -> dict[str, Any]:
    answer = await api.get(f"/api/bases/{code}")
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_group_enters_files_from_inside_and_is_assessed(api: httpx.AsyncClient, skipping: Skipping) -> None:
    client = skipping.env.client
    rep, group = representative(), factories.unique("春光社区银发合唱团")
    case_no = await apply(api, rep, "YJ-FH", group)
    assert case_no.startswith("YJ-FH-"), "numbered in the base's series"
    again = await api.post("/api/incubations", json=application("YJ-FH", "另一个名字的团队"), headers=as_user(rep))
    assert again.status_code == 409 and case_no in again.json()["message"], "one open incubation per base"

    own = (await api.get(f"/api/incubations/{case_no}", headers=as_user(rep))).json()
    assert own["audience"] == "group" and own["phase_name"] == "入孵审核中"
    assert own["actions"] == ["leave"] and own["late_reports"] is None
    for stranger in (representative(), OTHER_DISTRICT, OTHER_MENTOR, CUI):
        hidden = await api.get(f"/api/incubations/{case_no}", headers=as_user(stranger))
        assert hidden.status_code == 404 and "不存在" in hidden.json()["message"], stranger
    assert (await api.get("/api/incubations", headers=as_user(OTHER_DISTRICT))).json()["total"] == 0
    listed = (await api.get("/api/incubations", params={"base": "YJ-FH"}, headers=as_user(CIVIL_AFFAIRS))).json()
    assert case_no in [i["case_no"] for i in listed["items"]], "civil affairs sees its district's bases"

    await settled(skipping, case_no, lambda s: pending(s, "admission"))
    before = await accepted_updates(client, case_no)
    for outsider in (OTHER_MENTOR, CUI):
        refused = await api.post(f"/api/incubations/{case_no}/admission", json={"admit": True}, headers=as_user(outsider))
        assert refused.status_code == 404, refused.text
    by_group = await api.post(f"/api/incubations/{case_no}/admission", json={"admit": True}, headers=as_user(rep))
    assert by_group.status_code == 403 and "朴美玲" in by_group.json()["message"]
    wrong_mentor = await api.post(
        f"/api/incubations/{case_no}/admission", json={"admit": True, "mentor_id": "ds-li"}, headers=as_user(PIAO)
    )
    assert wrong_mentor.status_code == 422 and "不是延吉市社会组织孵化及创新服务基地的导师" in wrong_mentor.json()["message"]
    no_reason = await api.post(f"/api/incubations/{case_no}/admission", json={"admit": False}, headers=as_user(PIAO))
    assert no_reason.status_code == 422 and "理由" in no_reason.json()["message"]
    assert await accepted_updates(client, case_no) == before, "a refused action leaves no trace in the history"

    staff_view = (await api.get(f"/api/incubations/{case_no}", headers=as_user(PIAO))).json()
    assert staff_view["actions"] == ["decide_admission", "leave"]
    inbox = (await api.get("/api/tasks", params={"scope": "mine"}, headers=as_user(PIAO))).json()
    assert (case_no, "admission") in [(t["case_no"], t["step"]) for t in inbox["items"]], "the base's A岗 finds it in 待办"
    await admit(api, skipping, case_no)
    state = await settled(skipping, case_no, lambda s: pending(s, "check_in"))
    assert state.mentor is not None and state.mentor.user_id == MENTOR

    mentor_inbox = (await api.get("/api/tasks", headers=as_user(MENTOR))).json()
    assert (case_no, "check_in") in [(t["case_no"], t["step"]) for t in mentor_inbox["items"]], "the mentor's 待办"
    mentor_view = (await api.get(f"/api/incubations/{case_no}", headers=as_user(MENTOR))).json()
    assert mentor_view["phase_name"] == "孵化中" and mentor_view["actions"] == ["report"]
    assert (await api.get(f"/api/incubations/{case_no}", headers=as_user(OTHER_MENTOR))).status_code == 404
    assert case_no in [i["case_no"] for i in (await api.get("/api/incubations", headers=as_user(MENTOR))).json()["items"]]
    not_mentor = await api.post(f"/api/incubations/{case_no}/reports", json={"summary": "本月开展读书会两次，学习记账"}, headers=as_user(rep))
    assert not_mentor.status_code == 403 and "导师崔明哲" in not_mentor.json()["message"]
    reported = await api.post(
        f"/api/incubations/{case_no}/reports", json={"summary": "本月开展读书会两次，完成章程草稿"}, headers=as_user(MENTOR)
    )
    assert reported.status_code == 200, reported.text

    filing = factories.filing(organization_name=group, applicant_name="王芳").model_dump(mode="json")
    by_staff = await api.post(f"/api/incubations/{case_no}/filings", json=filing, headers=as_user(PIAO))
    assert by_staff.status_code == 403 and "负责人" in by_staff.json()["message"]
    started = await api.post(f"/api/incubations/{case_no}/filings", json=filing, headers=as_user(rep))
    assert started.status_code == 201, started.text
    filing_no = started.json()["case_no"]
    twice = await api.post(f"/api/incubations/{case_no}/filings", json=filing, headers=as_user(rep))
    assert twice.status_code == 409 and filing_no in twice.json()["message"]
    mine = (await api.get("/api/cases", headers=as_user(rep))).json()["items"]
    assert [c["case_no"] for c in mine] == [filing_no], "the filing is the applicant's own case"
    linked = (await api.get(f"/api/incubations/{case_no}", headers=as_user(rep))).json()["filings"]
    assert [(f["case_no"], f["url"]) for f in linked] == [(filing_no, f"/api/cases/{filing_no}")]
    incubations = IncubationService(skipping.settings, skipping.engine, client)
    back = incubations.incubation_of_filing(skipping.service.actor(rep), filing_no)
    assert back is not None and back.case_no == case_no, "linked both ways"
    assert incubations.incubation_of_filing(skipping.service.actor(OTHER_DISTRICT), filing_no) is None

    await approve_filing(api, skipping, filing_no)
    reached = await settled(skipping, case_no, lambda s: s.organization is not None)
    assert reached.organization == filing_no, "the approved filing is the incubation's milestone"

    await report_until_assessment(api, skipping, case_no)
    unmet = {"outcome": "graduate", "criteria_met": CRITERIA[1:]}
    answer = await api.post(f"/api/incubations/{case_no}/assessment", json=unmet, headers=as_user(PIAO))
    assert answer.status_code == 422 and "尚未达到出壳标准：已完成备案或登记" in answer.json()["message"]
    unknown = await api.post(
        f"/api/incubations/{case_no}/assessment", json={"outcome": "graduate", "criteria_met": ["cake"]}, headers=as_user(PIAO)
    )
    assert unknown.status_code == 422 and "出壳标准 cake 不存在" in unknown.json()["message"]
    by_mentor = await api.post(f"/api/incubations/{case_no}/assessment", json=unmet, headers=as_user(MENTOR))
    assert by_mentor.status_code == 403 and "出壳评估由" in by_mentor.json()["message"]
    graduate = {"outcome": "graduate", "criteria_met": CRITERIA}
    assert (await api.post(f"/api/incubations/{case_no}/assessment", json=graduate, headers=as_user(PIAO))).status_code == 200

    if hasattr(IncubationWorkflow, "review_assessment"):  # civil affairs confirms 出壳评估 (the workflow helper's update)
        await settled(skipping, case_no, lambda s: pending(s, "assessment_review"))
        review = {"agree": True}
        other = await api.post(f"/api/incubations/{case_no}/assessment/review", json=review, headers=as_user(OTHER_DISTRICT))
        assert other.status_code == 404
        by_base = await api.post(f"/api/incubations/{case_no}/assessment/review", json=review, headers=as_user(PIAO))
        assert by_base.status_code == 403 and "民政局" in by_base.json()["message"]
        reviewer = (await api.get(f"/api/incubations/{case_no}", headers=as_user(CIVIL_AFFAIRS))).json()
        assert reviewer["actions"] == ["review_assessment", "leave"]
        ok = await api.post(f"/api/incubations/{case_no}/assessment/review", json=review, headers=as_user(CIVIL_AFFAIRS))
        assert ok.status_code == 200, ok.text
    await settled(skipping, case_no, lambda s: s.phase is IncubationPhase.graduated)
    final = (await api.get(f"/api/incubations/{case_no}", headers=as_user(rep))).json()
    assert final["phase_name"] == "已出壳" and final["actions"] == []


async def approve_filing(api: httpx.AsyncClient, skipping: Skipping, filing_no: str) -> None:
    """The filing's own procedure, by the community, the street and (after 公示) the street again."""
    for user, step in (("cg-zhao", "preliminary_review"), ("jg-zhou", "authority_review")):
        decided = await api.post(
            f"/api/cases/{filing_no}/decisions", json={"step": step, "outcome": "approve"}, headers=as_user(user)
        )
        assert decided.status_code == 200, decided.text
    await skipping.sleep(timedelta(days=9))
    await until_state(skipping.env.client, filing_no, lambda s: s.phase is Phase.decision)
    decided = await api.post(
        f"/api/cases/{filing_no}/decisions", json={"step": "decision", "outcome": "approve"}, headers=as_user("jg-zhou")
    )
    assert decided.status_code == 200, decided.text


async def report_until_assessment(api: httpx.AsyncClient, skipping: Skipping, case_no: str) -> None:
    """The mentor reports through the API whenever a report is asked for, a week passing in between, until the
    term ends and the assessment opens."""
    for _ in range(60):
        state = await settled(skipping, case_no)
        if pending(state, "assessment"):
            return
        if pending(state, "check_in"):
            summary = {"summary": "本月开展读书会两次，学习财务管理"}
            answer = await api.post(f"/api/incubations/{case_no}/reports", json=summary, headers=as_user(MENTOR))
            assert answer.status_code == 200, answer.text
        else:
            await skipping.sleep(timedelta(days=7))
    raise AssertionError("the assessment never opened")


async def test_the_public_sees_free_places_fall_and_the_waiting_list_grow_and_move(
    api: httpx.AsyncClient, skipping: Skipping
) -> None:
    """建工 branch has two places: the third group admitted waits, and takes the place the first one frees."""
    listed = (await api.get("/api/bases", params={"jurisdiction": "YJ"})).json()
    assert [b["code"] for b in listed] == ["YJ-FH", "YJ-HN-FH", "YJ-JG-FH"], "headquarters first"
    assert (await api.get("/api/bases", params={"jurisdiction": "XQ"})).json() == []
    branch = await base(api, "YJ-JG-FH")
    assert (branch["capacity"], branch["free_places"], branch["waiting"]) == (2, 2, 0)
    assert branch["operator_name"] == "延吉市春晖社会工作服务中心" and branch["services"] == ["办公场地", "导师辅导", "备案登记指导"]
    assert branch["mentors"] == [{"name": "崔明哲", "specialties": ["社会工作"]}]
    unknown = await api.get("/api/bases/YJ-NONE")
    assert unknown.status_code == 404 and "孵化基地 YJ-NONE 不存在" in unknown.json()["message"]

    reps = [representative() for _ in range(3)]
    cases = [await apply(api, rep, "YJ-JG-FH", f"建工团队{n}") for n, rep in enumerate(reps)]
    await admit(api, skipping, cases[0])
    assert (await base(api, "YJ-JG-FH"))["free_places"] == 1
    await admit(api, skipping, cases[1])
    waiting = await admit(api, skipping, cases[2])
    assert waiting.phase is IncubationPhase.waiting
    full = await base(api, "YJ-JG-FH")
    assert (full["free_places"], full["waiting"]) == (0, 1)
    third = (await api.get(f"/api/incubations/{cases[2]}", headers=as_user(reps[2]))).json()
    assert (third["phase_name"], third["waiting_position"]) == ("候补中", 1)

    no_reason = await api.post(f"/api/incubations/{cases[0]}/exit", json={"reasons": []}, headers=as_user(reps[0]))
    assert no_reason.status_code == 422 and no_reason.json()["message"]
    left = await api.post(f"/api/incubations/{cases[0]}/exit", json={"reasons": ["成员外出务工，活动暂停"]}, headers=as_user(reps[0]))
    assert left.status_code == 200, left.text
    await settled(skipping, cases[2], lambda s: s.phase is IncubationPhase.incubating)
    moved = await base(api, "YJ-JG-FH")
    assert (moved["free_places"], moved["waiting"]) == (0, 0), "the freed place went to the head of the list"
    assert bases.places_taken(skipping.engine, "YJ-JG-FH") == 2
    gone = await api.post(f"/api/incubations/{cases[0]}/exit", json={"reasons": ["再次退出"]}, headers=as_user(reps[0]))
    assert gone.status_code == 409 and "已退出孵化" in gone.json()["message"]


async def test_oversized_malformed_and_misdirected_applications_are_refused_in_chinese(api: httpx.AsyncClient) -> None:
    rep = as_user(representative())
    cases = {
        "plan": ({"plan": "读" * 2001}, 422, "2000"),
        "group_name": ({"group_name": "春光\u202e读书会"}, 422, "字符"),
        "term_months": ({"term_months": 0}, 422, ""),
        "base_code": ({"base_code": "YJ-NONE"}, 404, "孵化基地 YJ-NONE 不存在"),
        "organization": ({"organization": "YJ-REG-0001"}, 422, "不是它登记的负责人"),
    }
    for field, (change, status, says) in cases.items():
        answer = await api.post("/api/incubations", json={**application("YJ-HN-FH", "河南读书会"), **change}, headers=rep)
        assert answer.status_code == status, (field, answer.text)
        body = answer.json()
        assert says in body["message"] + "".join(body["details"]), field
        assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), "said in Chinese"
    malformed = await api.post("/api/incubations", content=b"{not json", headers={**rep, "Content-Type": "application/json"})
    assert malformed.status_code == 422 and malformed.json()["message"]
    anonymous = await api.post("/api/incubations", json=application("YJ-HN-FH", "河南读书会"))
    assert anonymous.status_code == 401
    by_staff = await api.post("/api/incubations", json=application("YJ-HN-FH", "河南读书会"), headers=as_user(CIVIL_AFFAIRS))
    assert by_staff.status_code == 403 and "申请人账号" in by_staff.json()["message"]
    bad_path = await api.get("/api/incubations/YJ FH", headers=rep)
    assert bad_path.status_code in (404, 422)
    assert (await api.get("/api/incubations/YJ-FH-2026-99999", headers=rep)).status_code == 404
