"""The HTTP API as a new user meets it: submit, follow, decide, download, and be told clearly what is wrong."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from api.app import create_app
from service.cases import CaseService
from tests import factories
from tests.conftest import GATEWAY


@pytest_asyncio.fixture
async def api(service: CaseService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(service=service))
    async with httpx.AsyncClient(transport=transport, base_url="http://shezu.test", headers=GATEWAY) as client:
        yield client


def as_user(user_id: str) -> dict[str, str]:
    return {"X-User-Id": user_id}


async def submitted(api: httpx.AsyncClient, **overrides: object) -> tuple[str, str]:
    applicant = factories.applicant_id()
    body = factories.filing(**overrides).model_dump(mode="json")
    response = await api.post("/api/cases", json=body, headers=as_user(applicant))
    assert response.status_code == 201, response.text
    return applicant, response.json()["case_no"]


async def test_openapi_documents_every_operation(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/cases", "/api/cases/{case_no}", "/api/cases/{case_no}/correction", "/api/cases/{case_no}/withdrawal",
        "/api/cases/{case_no}/decisions", "/api/cases/{case_no}/objections", "/api/tasks",
        "/api/documents/{document_id}.{extension}", "/api/checklist",
    ):
        assert path in paths


async def test_applicant_and_staff_see_the_case_in_their_own_words(api: httpx.AsyncClient) -> None:
    applicant, case_no = await submitted(api)
    mine = (await api.get(f"/api/cases/{case_no}", headers=as_user(applicant))).json()
    staff = (await api.get(f"/api/cases/{case_no}", headers=as_user("jg-zhou"))).json()
    assert mine["phase_name"] == "社区居委会初审中" and staff["phase_name"] == "居委会初审"
    assert mine["holders"][0]["holder"] == "赵丽" and mine["holders"][0]["post"] == "A"
    assert mine["next_deadline"]["calendar"], "a deadline says which calendar decided it"
    assert [d["title"] for d in mine["documents"]] == ["受理通知书"]
    listed = (await api.get("/api/cases", headers=as_user(applicant))).json()
    assert [c["case_no"] for c in listed["items"]] == [case_no] and listed["total"] == 1


async def test_strangers_and_other_jurisdictions_cannot_tell_the_case_exists(api: httpx.AsyncClient) -> None:
    applicant, case_no = await submitted(api)
    missing = await api.get("/api/cases/YJ-JG-BA-2026-99999", headers=as_user(applicant))
    assert missing.status_code == 404 and "不存在" in missing.json()["message"]
    for who in ("someone-else", "hn-zheng"):
        hidden = await api.get(f"/api/cases/{case_no}", headers=as_user(who))
        assert hidden.status_code == 404
        assert hidden.json() == {**missing.json(), "message": missing.json()["message"].replace("YJ-JG-BA-2026-99999", case_no)}
    anonymous = await api.get(f"/api/cases/{case_no}")
    assert anonymous.status_code == 401 and "请先登录" in anonymous.json()["message"]


async def test_bad_input_is_explained_field_by_field_in_chinese(api: httpx.AsyncClient) -> None:
    body = factories.filing().model_dump(mode="json")
    body["members"] = "十五"
    body["funds_fen"] = -1
    del body["contact_phone"]
    response = await api.post("/api/cases", json=body, headers=as_user("applicant-x"))
    assert response.status_code == 422
    details = response.json()["details"]
    assert any(d.startswith("个人会员人数") and "整数" in d for d in details)
    assert any(d.startswith("活动资金（分）") and "不能小于0" in d for d in details)
    assert any(d.startswith("联系电话") and "必填" in d for d in details)

    body = factories.filing(community="YJ-NOWHERE").model_dump(mode="json")
    response = await api.post("/api/cases", json=body, headers=as_user("applicant-x"))
    assert response.status_code == 404 and "YJ-JG-CG" in response.json()["message"], "an unknown community is named with the options"


async def test_reviewer_refusals_carry_the_reason(api: httpx.AsyncClient) -> None:
    _, case_no = await submitted(api)
    url = f"/api/cases/{case_no}/decisions"
    wrong_role = await api.post(url, json={"step": "preliminary_review", "outcome": "approve"}, headers=as_user("jg-zhou"))
    assert wrong_role.status_code == 403 and "社区居委会" in wrong_role.json()["message"]
    wrong_step = await api.post(url, json={"step": "decision", "outcome": "approve"}, headers=as_user("cg-zhao"))
    assert wrong_step.status_code == 409
    no_reason = await api.post(url, json={"step": "preliminary_review", "outcome": "refuse"}, headers=as_user("cg-zhao"))
    assert no_reason.status_code == 422 and "理由" in no_reason.json()["message"]
    bad_outcome = await api.post(url, json={"step": "preliminary_review", "outcome": "maybe"}, headers=as_user("cg-zhao"))
    assert bad_outcome.status_code == 422 and "approve" in bad_outcome.json()["message"]
    applicant_tries = await api.post(url, json={"step": "preliminary_review", "outcome": "approve"}, headers=as_user("applicant-x"))
    assert applicant_tries.status_code == 404, "someone who may not see the case is told it does not exist"
    done = await api.post(url, json={"step": "preliminary_review", "outcome": "approve"}, headers=as_user("cg-zhao"))
    assert done.status_code == 200 and done.json()["phase"] == "authority_review"


async def test_task_inbox_by_role_and_jurisdiction(api: httpx.AsyncClient) -> None:
    _, case_no = await submitted(api)
    mine = (await api.get("/api/tasks", params={"limit": 200}, headers=as_user("cg-zhao"))).json()
    assert case_no in [t["case_no"] for t in mine["items"]]
    below = await api.get(
        "/api/tasks", params={"role": "community_committee", "jurisdiction": "YJ-JG-CG", "limit": 200}, headers=as_user("jg-zhou")
    )
    assert below.status_code == 200 and case_no in [t["case_no"] for t in below.json()["items"]]
    elsewhere = await api.get("/api/tasks", params={"jurisdiction": "YJ-HN"}, headers=as_user("jg-zhou"))
    assert elsewhere.status_code == 403
    assert (await api.get("/api/tasks", headers=as_user("applicant-x"))).status_code == 403


async def test_documents_download_as_pdf_and_html_for_those_who_may_see_them(api: httpx.AsyncClient) -> None:
    applicant, case_no = await submitted(api)
    view = (await api.get(f"/api/cases/{case_no}", headers=as_user(applicant))).json()
    notice = view["documents"][0]
    pdf = await api.get(notice["pdf_url"], headers=as_user(applicant))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    html = await api.get(notice["html_url"], headers=as_user("cg-zhao"))
    assert "受理通知书" in html.text and case_no in html.text
    assert (await api.get(notice["pdf_url"], headers=as_user("someone-else"))).status_code == 404
    assert (await api.get(notice["pdf_url"].replace(".pdf", ".exe"), headers=as_user(applicant))).status_code == 404


async def test_attachments_are_uploaded_then_referenced_only_by_their_uploader(api: httpx.AsyncClient) -> None:
    upload = await api.post(
        "/api/attachments", files={"file": ("章程.pdf", b"%PDF-1.7 charter", "application/pdf")}, headers=as_user("applicant-a")
    )
    assert upload.status_code == 200 and upload.json()["content_type"] == "application/pdf"
    digest = upload.json()["sha256"]
    body = factories.filing().model_dump(mode="json")
    body["materials"][1]["attachment"] = digest
    assert (await api.post("/api/cases", json=body, headers=as_user("applicant-a"))).status_code == 201

    def citing(attachment: str) -> dict[str, object]:
        other = factories.filing().model_dump(mode="json")
        other["materials"][1]["attachment"] = attachment
        return other

    never = await api.post("/api/cases", json=citing("0" * 64), headers=as_user("applicant-b"))
    assert never.status_code == 422 and "尚未上传" in never.json()["message"]
    someone_elses = await api.post("/api/cases", json=citing(digest), headers=as_user("applicant-b"))
    assert someone_elses.status_code == 422
    assert someone_elses.json()["message"] == never.json()["message"].replace("0" * 12, digest[:12]), (
        "another user's upload is refused exactly as one never uploaded"
    )
    same_file = await api.post(
        "/api/attachments", files={"file": ("我的章程.pdf", b"%PDF-1.7 charter", "application/pdf")}, headers=as_user("applicant-b")
    )
    assert same_file.json()["sha256"] == digest
    assert (await api.post("/api/cases", json=citing(digest), headers=as_user("applicant-b"))).status_code == 201, (
        "a user who uploads the same file may cite it too"
    )


async def test_the_type_of_an_upload_comes_from_its_content_not_its_name(api: httpx.AsyncClient) -> None:
    disguised = await api.post(
        "/api/attachments", files={"file": ("章程.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")}, headers=as_user("applicant-c")
    )
    assert disguised.status_code == 422 and "PDF" in disguised.json()["message"] and "OFD" in disguised.json()["message"]
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    photo = await api.post("/api/attachments", files={"file": ("说明.txt", png, "text/plain")}, headers=as_user("applicant-c"))
    assert photo.status_code == 200 and photo.json()["content_type"] == "image/png"
    empty = await api.post("/api/attachments", files={"file": ("空.pdf", b"", "application/pdf")}, headers=as_user("applicant-c"))
    assert empty.status_code == 422 and "为空" in empty.json()["message"]


async def test_a_huge_upload_is_refused_while_it_streams_and_memory_stays_flat(api: httpx.AsyncClient) -> None:
    """500 MB offered without a Content-Length: refused with 413 after about 20 MB is read, memory flat."""
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'--cut\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n'
        chunk = b"0" * (1024 * 1024)
        for _ in range(500):
            sent += len(chunk)
            yield chunk
        yield b"\r\n--cut--\r\n"

    tracemalloc.start()
    try:
        response = await api.post(
            "/api/attachments", content=body(),
            headers={**as_user("applicant-big"), "content-type": "multipart/form-data; boundary=cut"},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413 and "20MB" in response.json()["message"]
    assert sent <= 22 * 1024 * 1024, f"the upload was read on past its limit: {sent} bytes"
    assert peak < 12 * 1024 * 1024, f"peak memory {peak / 1e6:.1f} MB while refusing a 500 MB upload"


async def test_checklist_preview_explains_waivers_without_submitting(api: httpx.AsyncClient) -> None:
    body = factories.filing(members=9).model_dump(mode="json")
    response = await api.post("/api/checklist", json=body)
    assert response.status_code == 200
    checklist = response.json()["checklist"]
    assert checklist["complete"] is False
    assert any("会员人数" in d and "9人" in d and "10人" in d for d in checklist["defects"])
    assert (await api.get("/api/cases", headers=as_user("nobody-submitted"))).json()["items"] == []


async def test_household_registration_may_be_given_by_community_name(api: httpx.AsyncClient) -> None:
    people = [
        {"name": "王芳", "role": "founder_and_leader", "household_registration": "春光社区"},
        {"name": "李明", "role": "founder", "household_registration": "延吉市建工街道春光社区"},
        {"name": "赵刚", "role": "founder", "household_registration": "民安社区"},
    ]
    body = factories.filing(people=people).model_dump(mode="json")
    checklist = (await api.post("/api/checklist", json=body)).json()["checklist"]
    status = {m["person"]: m["status"] for m in checklist["materials"] if m["material"] == "identity_proof"}
    assert status == {"王芳": "waived", "李明": "waived", "赵刚": "missing"}


async def test_materials_the_policy_does_not_know_are_refused_with_the_options(api: httpx.AsyncClient) -> None:
    body = factories.filing().model_dump(mode="json")
    body["materials"].append({"material": "charterr"})
    body["materials"].append({"material": "identity_proof"})
    response = await api.post("/api/cases", json=body, headers=as_user("applicant-typo"))
    assert response.status_code == 422
    details = response.json()["details"]
    assert any("charterr" in d and "charter（组织章程" in d for d in details)
    assert any("身份证明须注明" in d for d in details)
    people = [{"name": "王芳", "role": "founder"}, {"name": "王芳", "role": "leader"}]
    twins = factories.filing().model_dump(mode="json") | {"people": people}
    response = await api.post("/api/cases", json=twins, headers=as_user("applicant-typo"))
    assert response.status_code == 422 and "同名" in response.json()["message"]


async def test_a_new_user_can_find_communities_and_what_a_track_requires(api: httpx.AsyncClient) -> None:
    communities = (await api.get("/api/communities")).json()
    assert {"code": "YJ-JG-CG", "full_name": "延吉市建工街道春光社区", "street": "建工街道", "district": "延吉市"} in communities
    response = await api.get("/api/requirements", params={"community": "YJ-JG-CG", "track": "association"})
    assert response.status_code == 200
    body = response.json()
    assert "capital_verification_report" in [m["id"] for m in body["requirements"]["materials"]]
    assert len(body["green_channel"]["rules"]) == 12
    ordinary = (await api.get("/api/requirements", params={"community": "XQ-DF-HP", "track": "association"})).json()
    assert ordinary["green_channel"] is None and ordinary["policy"]["id"] == "national"
    unknown = await api.get("/api/requirements", params={"community": "YJ-JG-CG", "track": "charity"})
    assert unknown.status_code == 422 and "filing" in unknown.json()["message"]


async def test_fair_api_shows_each_audience_only_what_it_may_see(skipping) -> None:  # type: ignore[no-untyped-def]
    from service.fairs import FairService
    from tests.fair_helpers import published_fair

    fair = await published_fair(skipping)
    lot = fair.lots[0]
    app = create_app(service=skipping.service, fairs=FairService(skipping.settings, skipping.engine, skipping.env.client))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shezu.test", headers=GATEWAY) as api:
        catalogue = (await api.get(f"/api/fairs/{fair.fair_no}")).json()["catalogue"]
        assert [c["lot_no"] for c in catalogue] == [lot] and catalogue[0]["budget_ceiling_fen"] == 30_000_000

        bid = {"organization": "YJ-REG-0001", "price_fen": 28_000_000, "proposal": "每周两次上门服务，建立健康档案。", "team": ["社工3名"]}
        impostor = await api.post(f"/api/lots/{lot}/bids", json=bid, headers=as_user("org-xiyanghong"))
        assert impostor.status_code == 403 and "延吉市春晖社会工作服务中心" in impostor.json()["message"]
        bad = await api.post(f"/api/lots/{lot}/bids", json={**bid, "price_fen": -5, "team": []}, headers=as_user("org-chunhui"))
        assert bad.status_code == 422
        assert any(d.startswith("报价（分）") for d in bad.json()["details"]) and any(d.startswith("项目团队") for d in bad.json()["details"])
        assert (await api.post(f"/api/lots/{lot}/bids", json=bid, headers=as_user("org-chunhui"))).status_code == 200
        other = {**bid, "organization": "YJ-REG-0002", "price_fen": 26_000_000}
        assert (await api.post(f"/api/lots/{lot}/bids", json=other, headers=as_user("org-xiyanghong"))).status_code == 200

        mine = (await api.get(f"/api/lots/{lot}", headers=as_user("org-chunhui"))).json()
        assert [b["organization"] for b in mine["bids"]] == ["YJ-REG-0001"] and mine["bid_count"] is None
        public = (await api.get(f"/api/lots/{lot}")).json()
        assert public["bids"] == [] and public["audience"] == "public"
        staff = (await api.get(f"/api/lots/{lot}", headers=as_user("mz-chen"))).json()
        assert len(staff["bids"]) == 2 and staff["audience"] == "organizer"
        assert (await api.get("/api/my/organizations", headers=as_user("org-chunhui"))).json()["items"][0]["key"] == "YJ-REG-0001"
        score = await api.post(f"/api/lots/{lot}/scores", json={"scores": {}}, headers=as_user("exp-01"))
        assert score.status_code == 409, "no scoring before the bids are in"


async def test_lists_come_in_bounded_pages_with_a_total_and_a_stable_order(api: httpx.AsyncClient) -> None:
    applicant = factories.applicant_id()
    submitted_cases = []
    for _ in range(3):
        body = factories.filing().model_dump(mode="json")
        response = await api.post("/api/cases", json=body, headers=as_user(applicant))
        assert response.status_code == 201, response.text
        submitted_cases.append(response.json()["case_no"])
    first = (await api.get("/api/cases", params={"limit": 2}, headers=as_user(applicant))).json()
    rest = (await api.get("/api/cases", params={"limit": 2, "offset": 2}, headers=as_user(applicant))).json()
    assert (first["total"], first["limit"], first["offset"], len(first["items"])) == (3, 2, 0, 2)
    assert (rest["total"], rest["offset"], len(rest["items"])) == (3, 2, 1)
    paged = [c["case_no"] for c in first["items"] + rest["items"]]
    assert paged == list(reversed(submitted_cases)), "newest first, each case on exactly one page"
    too_many = await api.get("/api/cases", params={"limit": 201}, headers=as_user(applicant))
    assert too_many.status_code == 422 and "200" in too_many.json()["message"]

    parameters = (await api.get("/openapi.json")).json()["paths"]["/api/tasks"]["get"]["parameters"]
    limit = next(p for p in parameters if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 200, 50), "the bounds are in the document"
