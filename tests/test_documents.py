"""Official documents as a civil-affairs officer checks them: wording, numbers, dates, appeal routes,
the embedded CJK font, and byte-for-byte reproducible PDFs for auditors."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.documents import (
    DocumentActivities,
    IncompleteDocumentRequest,
    OfficeNotInDirectory,
    render_html,
    render_pdf,
)
from activities.rendering import cn_date, cn_datetime, yuan
from rules.policy_files import policy_in_force
from schemas.application import Track
from schemas.checklist import Checklist, FeeItem, MaterialItem, MaterialStatus, RuleRef
from schemas.document_request import DocumentRequest
from schemas.documents import CaseParty, CertificateFacts, DocumentKind, DocumentRef, NoticePeriod
from schemas.people import Office, Role
from schemas.policy import Appeal, Citation, Policy, PolicyRef
from settings import PROJECT_ROOT, get_settings
from store.directory import DirectoryFile, load_directory, read_directory_file
from store.files import content_path
from tests.conftest import SAMPLE_DIRECTORY, migrated_engine
from tests.helpers import at, deadline, misplaced_seals

STREET_OFFICE = Office(
    jurisdiction="YJ-JG", jurisdiction_name="建工街道", role=Role.street_office, name="延吉市建工街道办事处"
)
BUREAU = Office(jurisdiction="YJ", jurisdiction_name="延吉市", role=Role.civil_affairs, name="延吉市民政局")

GREEN_CHANNEL = Citation(source="《延吉市社区建设工作报告》", clause="第三部分第（三）项")
APPEAL = Appeal(
    reconsideration_days=60,
    litigation_months=6,
    citation=Citation(source="《中华人民共和国行政许可法》", clause="第三十八条第二款"),
)


def dance_team(**changes: object) -> CaseParty:
    party = CaseParty(
        case_no="SZ-YJ-2026-00017",
        applicant_name="金美玉",
        organization_name="柳青社区阿里郎舞蹈队",
        track_name="社区社会组织备案",
        business_scope="组织社区居民开展朝鲜族民族舞蹈排练、演出和交流活动，丰富社区文化生活",
        community_name="延吉市建工街道柳青社区",
        venue="柳青社区党群服务中心二楼活动室（共享场所）",
        responsible_people=["金美玉", "朴成浩"],
        submitted_at=at("2026-11-16", "10:20"),
    )
    return party.model_copy(update=changes)


def rule(rule_id: str, name: str) -> RuleRef:
    return RuleRef(rule_id=rule_id, group="四免", name=name, citation=GREEN_CHANNEL)


def material(
    material_id: str,
    title: str,
    status: MaterialStatus,
    person: str | None = None,
    waived_by: RuleRef | None = None,
) -> MaterialItem:
    return MaterialItem(
        material=material_id,
        title=title,
        person=person,
        status=status,
        waived_by=waived_by,
        citation=Citation(source="《延吉市社区社会组织备案办法》", clause="第八条"),
        explanation=f"{title}:{status.label}",
    )


def fee(fee_id: str, name: str, amount_fen: int, waived_by: RuleRef) -> FeeItem:
    return FeeItem(
        fee=fee_id,
        name=name,
        amount_fen=amount_fen,
        due_fen=0,
        waived_by=waived_by,
        citation=Citation(source="《延吉市社区社会组织备案办法》", clause="第十五条"),
        jurisdiction_default=True,
        explanation=f"{name}免收",
    )


def filing_checklist() -> Checklist:
    provided = MaterialStatus.provided
    return Checklist(
        policy=PolicyRef(
            id="yanji-community-organizations",
            version="2026.1",
            jurisdiction="YJ",
            title="延吉市社区社会组织备案和登记办理规则",
            path="policies/yanji.yaml",
            sha256="0" * 64,
        ),
        track=Track.filing,
        green_channel=True,
        green_channel_explanation="社区社会组织，适用“一口审批”绿色通道",
        materials=[
            material("application_form", "备案申请表", provided),
            material("charter", "组织章程", provided),
            material("member_roster", "成员名册", provided),
            material("id_proof", "身份证明", provided, person="朴成浩"),
            material(
                "id_proof",
                "身份证明",
                MaterialStatus.waived,
                person="金美玉",
                waived_by=rule("local-id", "免本社区户籍的发起人和拟任负责人身份证明"),
            ),
            material(
                "venue_proof",
                "活动场所使用权证明",
                MaterialStatus.waived,
                waived_by=rule("venue", "免独立场所使用权证明"),
            ),
        ],
        thresholds=[],
        fees=[
            fee("registration_fee", "登记费", 123_450, rule("fee", "免收登记费")),
            fee("announcement_fee", "公告费", 5_000, rule("notice-fee", "免收公告费")),
        ],
        fees_due_fen=0,
        defaults_note="本规则中的数值为默认值，须由辖区确认。",
    )


def filing_request(kind: DocumentKind, number: str, issued_at: datetime, **facts: object) -> DocumentRequest:
    party = facts.pop("party", None) or dance_team()
    return DocumentRequest(
        document_id=f"SZ-YJ-2026-00017:{kind.value}",
        kind=kind,
        title=facts.pop("title", None) or kind.default_title,
        number=number,
        issued_at=issued_at,
        issuer=STREET_OFFICE,
        party=party,
        **facts,
    )


CORRECTION_ITEMS = [
    "成员名册仅列8人，备案要求成员不少于10人，请补充至10人以上并由本人签名确认",
    "章程未载明负责人的产生程序和任期，请参照示范文本补充",
    "拟任负责人朴成浩户籍不在本社区，不适用免交政策，请提交其居民身份证复印件",
]
NON_ACCEPTANCE_REASONS = [
    "拟开展的活动为收费的学科类培训，属于经营性活动，不属于社区社会组织备案范围",
    "申请人未能提供拟任负责人名单",
]
REFUSAL_REASONS = [
    "个人会员32人，不足《社会团体登记管理条例》第十条第（二）项规定的50个，亦无30个以上单位会员",
    "未提交业务主管单位同意成立的批准文件",
]


def requests() -> dict[DocumentKind, DocumentRequest]:
    accepted_at = at("2026-11-20", "15:30")
    notice_start = at("2026-11-30")
    return {
        DocumentKind.acceptance_notice: filing_request(
            DocumentKind.acceptance_notice,
            "建工街民备受字〔2026〕第17号",
            accepted_at,
            checklist=filing_checklist(),
            legal_time_limit_working_days=20,
            deadline=deadline(accepted_at, 20, "2026-12-18"),
        ),
        DocumentKind.correction_notice: filing_request(
            DocumentKind.correction_notice,
            "建工街民备补字〔2026〕第9号",
            at("2026-11-17", "11:05"),
            items=CORRECTION_ITEMS,
            deadline=deadline(at("2026-11-17", "11:05"), 5, "2026-11-24"),
        ),
        DocumentKind.non_acceptance_decision: filing_request(
            DocumentKind.non_acceptance_decision,
            "建工街民备不受字〔2026〕第2号",
            at("2026-11-18", "16:00"),
            party=dance_team(case_no="SZ-YJ-2026-00021", applicant_name="李文静", organization_name="建工街道少儿英语兴趣班"),
            items=NON_ACCEPTANCE_REASONS,
            legal_basis=Citation(source="社区社会组织备案管理办法", clause="第八条"),
            appeal=APPEAL,
            reconsideration_body="延吉市人民政府",
            court="延吉市人民法院",
        ),
        DocumentKind.refusal_decision: DocumentRequest(
            document_id="SZ-YJ-2026-00009:refusal",
            kind=DocumentKind.refusal_decision,
            title="不予登记决定书",
            number="延民社登不字〔2026〕第3号",
            issued_at=at("2026-12-04", "10:00"),
            issuer=BUREAU,
            party=CaseParty(
                case_no="SZ-YJ-2026-00009",
                applicant_name="崔永哲",
                organization_name="延吉市社区邻里互助协会",
                track_name="社会团体登记",
                business_scope="组织会员开展邻里互助、助老助残志愿服务",
                community_name="延吉市建工街道柳青社区",
                venue="",
                responsible_people=["崔永哲"],
                submitted_at=at("2026-11-02", "14:00"),
            ),
            items=REFUSAL_REASONS,
            legal_basis=Citation(source="《社会团体登记管理条例》", clause="第十三条"),
            appeal=APPEAL,
            reconsideration_body="延吉市人民政府",
            court="延吉市人民法院",
        ),
        DocumentKind.public_notice: filing_request(
            DocumentKind.public_notice,
            "建工街民备公字〔2026〕第11号",
            notice_start,
            notice=NoticePeriod(
                starts_at=notice_start,
                ends=deadline(notice_start, 5, "2026-12-07"),
                channel="柳青社区公示栏及延吉市社会组织服务平台",
            ),
        ),
        DocumentKind.certificate: filing_request(
            DocumentKind.certificate,
            "建工街民备证字〔2026〕第11号",
            at("2026-12-10", "10:00"),
            certificate=CertificateFacts(
                number="延建社备第2026011号", valid_from=at("2026-12-10", "10:00"), valid_until=at("2029-12-09", "23:59")
            ),
        ),
    }


REQUESTS = requests()


def squash(text: str) -> str:
    """pdftotext wraps lines where the PDF does; compare without any whitespace."""
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def stored_files(directory: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in directory.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
async def rendered(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> tuple[Path, dict[DocumentKind, DocumentRef]]:
    """All six kinds at once, as a worker would run concurrent activities."""
    documents_dir = tmp_path_factory.mktemp("documents")
    activities = DocumentActivities(documents_dir, engine)
    refs = await asyncio.gather(*(ActivityEnvironment().run(activities.render_document, r) for r in REQUESTS.values()))
    return documents_dir, dict(zip(REQUESTS, refs, strict=True))


@pytest.fixture(scope="module")
def texts(rendered: tuple[Path, dict[DocumentKind, DocumentRef]]) -> dict[DocumentKind, str]:
    documents_dir, refs = rendered
    return {kind: squash(pdf_text(content_path(documents_dir, ref.pdf_sha256, "pdf"))) for kind, ref in refs.items()}


def assert_contains(text: str, *needles: str) -> None:
    for needle in needles:
        assert squash(needle) in text, needle


def assert_in_order(text: str, *needles: str) -> None:
    positions = [text.index(squash(needle)) for needle in needles]
    assert positions == sorted(positions), needles


# --- filters ---------------------------------------------------------------------------------


def test_filters_speak_chinese_office_formats() -> None:
    late_evening_utc = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
    assert cn_date(late_evening_utc) == "2026年11月21日"
    assert cn_date(date(2027, 1, 5)) == "2027年1月5日"
    assert cn_datetime(datetime(2026, 11, 21, 6, 5, tzinfo=UTC)) == "2026年11月21日 14时05分"
    assert yuan(123_450) == "1,234.50元"
    assert yuan(5) == "0.05元"
    with pytest.raises(TypeError):
        yuan(12.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cn_date(datetime(2026, 11, 21, 9, 0))


# --- what an officer reads -------------------------------------------------------------------


def test_every_document_is_issued_as_the_office_prints_it(
    rendered: tuple[Path, dict[DocumentKind, DocumentRef]], texts: dict[DocumentKind, str]
) -> None:
    """发文字号 of the office (apart from the case number), its contact details, the seal's place, page numbers
    "— 1 —", and nothing that speaks of the software or of the form behind the document."""
    _, refs = rendered
    for kind, text in texts.items():
        request = REQUESTS[kind]
        issuance = refs[kind].issuance
        number, contact = issuance.document_number, issuance.contact
        assert contact.contact_person in {"周静", "陈洁"}  # the directory's, for the street office or the bureau
        assert number and number.endswith("号") and "〔2026〕" in number and request.party.case_no not in number
        assert_contains(
            text,
            number,
            request.party.organization_name,
            request.issuer.name,
            "（盖章）",
            f"案号：{request.party.case_no}",
            "—1—",
            cn_date(request.issued_at),
        )
        if kind is not DocumentKind.public_notice:  # a notice is posted: its issuer signs at the bottom only
            assert_in_order(text, request.issuer.name, number, request.title)
        contact_line = f"联系人：{contact.contact_person}，联系电话：{contact.telephone}，地址：{contact.address}"
        if kind is DocumentKind.certificate:  # held, not answered: one page without the notices' contact line
            assert squash(contact_line) not in text
        else:
            assert_contains(text, contact_line)
        for internal in ("None", "shezu", "本文书由", "类型", "「", "」"):
            assert internal not in text, (kind, internal)
        assert not re.search(r"\d{4}-\d{2}-\d{2}", text), kind  # dates in words, never ISO


def test_a_certificate_is_one_page(rendered: tuple[Path, dict[DocumentKind, DocumentRef]]) -> None:
    documents_dir, refs = rendered
    pdf = content_path(documents_dir, refs[DocumentKind.certificate].pdf_sha256, "pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info


def test_the_seals_place_stays_clear_of_the_footer(rendered: tuple[Path, dict[DocumentKind, DocumentRef]]) -> None:
    assert misplaced_seals(*rendered) == {}


def test_letters_address_the_applicant_by_name(texts: dict[DocumentKind, str]) -> None:
    for kind in (
        DocumentKind.acceptance_notice,
        DocumentKind.correction_notice,
        DocumentKind.non_acceptance_decision,
        DocumentKind.refusal_decision,
    ):
        request = REQUESTS[kind]
        assert_contains(
            texts[kind],
            request.title,
            f"{request.party.applicant_name}：",
            f"你于{cn_date(request.party.submitted_at)}提交的",
        )


def test_acceptance_notice(texts: dict[DocumentKind, str]) -> None:
    assert_contains(
        texts[DocumentKind.acceptance_notice],
        "受理通知书",
        "“柳青社区阿里郎舞蹈队”社区社会组织备案申请",
        "申请材料齐全、符合法定形式，决定予以受理",
        "受理日期为2026年11月20日",
        "自受理之日起20个工作日内作出决定",
        "公示期间不计入办理时限",
        "补正期间办理时限暂停计算",
        "办结期限暂定为2026年12月18日",
        "1.备案申请表",
        "4.身份证明（朴成浩）",
        "1.身份证明（金美玉）：依据“四免·免本社区户籍的发起人和拟任负责人身份证明”（《延吉市社区建设工作报告》第三部分第（三）项）免于提交",
        "2.活动场所使用权证明：依据“四免·免独立场所使用权证明”",
        "1.登记费：依据“四免·免收登记费”",
        "本事项无需缴纳任何费用",
        "凭案号随时查询办理进度",
    )


def test_correction_notice_lists_every_item_at_once(texts: dict[DocumentKind, str]) -> None:
    text = texts[DocumentKind.correction_notice]
    assert_contains(text, "补正材料通知书", "一次性告知")
    for number, item in enumerate(CORRECTION_ITEMS, start=1):
        assert_contains(text, f"{number}.{item}")
    assert_contains(
        text,
        "请于2026年11月24日（含当日）前补正",
        "补正期限为5个工作日",
        "补正期间，办理时限暂停计算",
        "逾期未补正的，本申请自动失效",
    )


@pytest.mark.parametrize(
    ("kind", "reasons", "conclusion"),
    [
        (
            DocumentKind.non_acceptance_decision,
            NON_ACCEPTANCE_REASONS,
            "根据上述情况，依据《社区社会组织备案管理办法》第八条，本机关决定不予受理",
        ),
        (
            DocumentKind.refusal_decision,
            REFUSAL_REASONS,
            "根据上述情况，依据《社会团体登记管理条例》第十三条，本机关决定不予社会团体登记",
        ),
    ],
)
def test_decisions_state_numbered_reasons_and_appeal_route(
    texts: dict[DocumentKind, str], kind: DocumentKind, reasons: list[str], conclusion: str
) -> None:
    text = texts[kind]
    for number, reason in enumerate(reasons, start=1):
        assert_contains(text, f"{number}.{reason}")
    assert_contains(
        text,
        conclusion,
        "自收到本决定书之日起60日内向延吉市人民政府申请行政复议",
        "自收到本决定书之日起6个月内向延吉市人民法院提起行政诉讼",
        "依据《中华人民共和国行政许可法》第三十八条第二款",
    )


def test_refusal_decision_takes_its_title_from_the_request(texts: dict[DocumentKind, str]) -> None:
    assert_contains(texts[DocumentKind.refusal_decision], "延吉市民政局", "不予登记决定书", "不符合社会团体登记的条件")
    assert "不予备案决定书" not in texts[DocumentKind.refusal_decision]


def test_public_notice(texts: dict[DocumentKind, str]) -> None:
    assert_contains(
        texts[DocumentKind.public_notice],
        "关于拟准予“柳青社区阿里郎舞蹈队”社区社会组织备案的公示",
        "组织名称柳青社区阿里郎舞蹈队",
        "业务范围组织社区居民开展朝鲜族民族舞蹈排练",
        "负责人金美玉、朴成浩",
        "所在社区延吉市建工街道柳青社区",
        "活动场所柳青社区党群服务中心二楼活动室（共享场所）",
        "自2026年11月30日起至2026年12月7日止，共5个工作日",
        "柳青社区公示栏及延吉市社会组织服务平台",
        "请于2026年12月7日（含当日）前以书面形式向延吉市建工街道办事处（地址：延吉市建工街道长白路88号建工街道便民服务中心"
        "（邮编133000）；联系人：周静，电话：0433-2623456）提出",
        "也可以在延吉市社会组织服务平台凭案号SZ-YJ-2026-00017在线提交书面异议",
        "联系方式",
        "特此公示",
    )


def test_certificate(texts: dict[DocumentKind, str]) -> None:
    assert_contains(
        texts[DocumentKind.certificate],
        "备案证明",
        "证书编号延建社备第2026011号",
        "组织名称柳青社区阿里郎舞蹈队",
        "负责人金美玉、朴成浩",
        "有效期限自2026年12月10日至2029年12月9日",
        "发证日期2026年12月10日",
    )


def test_pdfs_embed_a_cjk_font(rendered: tuple[Path, dict[DocumentKind, DocumentRef]]) -> None:
    documents_dir, refs = rendered
    for ref in refs.values():
        fonts = subprocess.run(
            ["pdffonts", str(content_path(documents_dir, ref.pdf_sha256, "pdf"))],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows = [line for line in fonts.splitlines() if "Noto-Serif-CJK-SC" in line]  # serif, as offices print
        assert rows, fonts
        assert all(" yes " in row for row in rows), fonts  # embedded


# --- storage and reproducibility -------------------------------------------------------------


def test_documents_are_stored_by_content_hash(rendered: tuple[Path, dict[DocumentKind, DocumentRef]]) -> None:
    documents_dir, refs = rendered
    for kind, ref in refs.items():
        assert (ref.document_id, ref.kind, ref.title, ref.number) == (
            REQUESTS[kind].document_id,
            kind,
            REQUESTS[kind].title,
            REQUESTS[kind].number,
        )
        html = content_path(documents_dir, ref.html_sha256, "html")
        assert html == documents_dir / ref.html_sha256[:2] / f"{ref.html_sha256}.html"
        assert html.read_text(encoding="utf-8") == render_html(REQUESTS[kind], ref.issuance)
        assert content_path(documents_dir, ref.pdf_sha256, "pdf").read_bytes().startswith(b"%PDF-")
    assert not [path for path in documents_dir.rglob("*.tmp")]
    with pytest.raises(ValueError):
        content_path(documents_dir, "../../etc/passwd", "pdf")


async def test_rendering_again_gives_the_same_hashes_and_writes_nothing(
    rendered: tuple[Path, dict[DocumentKind, DocumentRef]], engine: Engine
) -> None:
    documents_dir, refs = rendered
    before = stored_files(documents_dir)
    activities = DocumentActivities(documents_dir, engine)
    again = await asyncio.gather(*(ActivityEnvironment().run(activities.render_document, r) for r in REQUESTS.values()))
    assert dict(zip(REQUESTS, again, strict=True)) == refs
    assert stored_files(documents_dir) == before


def test_an_auditor_process_reproduces_the_pdf(rendered: tuple[Path, dict[DocumentKind, DocumentRef]]) -> None:
    """A fresh interpreter (no shared caches, another day) must produce the same bytes."""
    _, refs = rendered
    request = REQUESTS[DocumentKind.certificate]
    script = (
        "import hashlib, sys\n"
        "from activities.documents import render_html, render_pdf\n"
        "from schemas.document_request import DocumentRequest\n"
        "from schemas.documents import DocumentRef\n"
        "request_json, ref_json = sys.stdin.read().split('\\n')\n"
        "request = DocumentRequest.model_validate_json(request_json)\n"
        "issuance = DocumentRef.model_validate_json(ref_json).issuance\n"
        "print(hashlib.sha256(render_pdf(render_html(request, issuance), request.document_id)).hexdigest())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=request.model_dump_json() + "\n" + refs[DocumentKind.certificate].model_dump_json(),
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.stdout.strip() == refs[DocumentKind.certificate].pdf_sha256


# --- robustness ------------------------------------------------------------------------------


def test_user_text_is_escaped() -> None:
    hostile = "<script>alert(1)</script>舞蹈队"
    request = filing_request(
        DocumentKind.public_notice,
        "建工街民备公字〔2026〕第12号",
        at("2026-11-30"),
        party=dance_team(organization_name=hostile),
        notice=REQUESTS[DocumentKind.public_notice].notice,
    )
    html = render_html(request)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;舞蹈队" in html


def test_optional_facts_missing_still_read_well() -> None:
    bare = dance_team(venue="", responsible_people=[])
    decision = render_html(
        filing_request(
            DocumentKind.refusal_decision,
            "建工街民备不字〔2026〕第1号",
            at("2026-12-04"),
            party=bare,
            items=["成员不足10人"],
            appeal=APPEAL,
        )
    )
    assert "有管辖权的行政复议机关申请行政复议" in decision
    assert "有管辖权的人民法院提起行政诉讼" in decision
    certificate = render_html(
        filing_request(
            DocumentKind.certificate,
            "延民社登证字〔2026〕第1号",
            at("2026-12-10"),
            title="登记证书",
            party=bare,
            certificate=CertificateFacts(number="5122240100000001", valid_from=at("2026-12-10")),
        )
    )
    assert "生效日期" in certificate and "有效期限" not in certificate
    assert "活动场所" not in certificate and "负责人" not in certificate
    for html in (decision, certificate):
        assert "None" not in html


def test_provisional_calendar_is_disclosed() -> None:
    start = at("2026-12-28")
    html = render_html(
        filing_request(
            DocumentKind.correction_notice,
            "建工街民备补字〔2026〕第30号",
            start,
            items=["请补充成员名册"],
            deadline=deadline(start, 10, "2027-01-12", provisional=True),
        )
    )
    assert "请于2027年1月12日（含当日）前补正" in html
    assert "法定节假日安排尚未正式公布" in html
    assert "法定节假日安排尚未正式公布" not in render_html(REQUESTS[DocumentKind.correction_notice])


async def test_a_request_missing_required_facts_fails_without_retry(tmp_path: Path, engine: Engine) -> None:
    request = REQUESTS[DocumentKind.refusal_decision].model_copy(update={"appeal": None})
    with pytest.raises(ApplicationError) as failure:
        await ActivityEnvironment().run(DocumentActivities(tmp_path, engine).render_document, request)
    assert failure.value.non_retryable
    assert "appeal" in str(failure.value)
    assert not list(tmp_path.iterdir())


# --- 发文字号 ------------------------------------------------------------------------------------


def test_document_numbers_run_per_office_kind_and_year_without_gaps_or_duplicates(database_url: str, tmp_path: Path) -> None:
    """Concurrent renders get distinct consecutive numbers; a retried render keeps its number; a request that
    cannot be rendered takes none; each office, kind and year counts on its own (SQLite and PostgreSQL)."""
    engine = migrated_engine(database_url)
    load_directory(engine, read_directory_file(SAMPLE_DIRECTORY))
    activities = DocumentActivities(tmp_path, engine)
    acceptance = REQUESTS[DocumentKind.acceptance_notice]

    def issue(request: DocumentRequest, document_id: str) -> str | None:
        return activities._issue(request.model_copy(update={"document_id": document_id})).document_number

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(lambda n: issue(acceptance, f"YJ-JG-BA-2026-{n:05d}:acceptance"), range(1, 13)))
    assert sorted(numbers, key=lambda number: int(re.findall(r"(\d+)号", number)[0])) == [
        f"延建受〔2026〕{n}号" for n in range(1, 13)
    ]
    assert issue(acceptance, "YJ-JG-BA-2026-00003:acceptance") == numbers[2], "a retried render keeps its number"

    with pytest.raises(IncompleteDocumentRequest):
        activities._render_and_store(acceptance.model_copy(update={"document_id": "incomplete", "checklist": None}))
    assert issue(acceptance, "YJ-JG-BA-2026-00013:acceptance") == "延建受〔2026〕13号", "the incomplete request took no number"

    assert issue(REQUESTS[DocumentKind.correction_notice], "c1") == "延建补〔2026〕1号"
    assert issue(acceptance.model_copy(update={"issuer": BUREAU}), "b1") == "延民受〔2026〕1号"
    new_year = acceptance.model_copy(update={"issued_at": datetime(2026, 12, 31, 16, 30, tzinfo=UTC)})  # 2027-01-01 in Shanghai
    assert issue(new_year, "y1") == "延建受〔2027〕1号"


def test_an_office_missing_from_the_directory_issues_nothing(engine: Engine, tmp_path: Path) -> None:
    """Without its 代字 and contact details an office cannot issue: the render waits (retries) for the directory."""
    stranger = Office(jurisdiction="YJ-JG-CG", jurisdiction_name="春光社区", role=Role.community_committee, name="春光社区居委会")
    with pytest.raises(OfficeNotInDirectory):
        DocumentActivities(tmp_path, engine)._render_and_store(REQUESTS[DocumentKind.acceptance_notice].model_copy(update={"issuer": stranger}))
    assert not list(tmp_path.iterdir())


def test_a_directory_without_an_issuing_offices_contacts_is_refused() -> None:
    data = yaml.safe_load(SAMPLE_DIRECTORY.read_text(encoding="utf-8"))
    del data["jurisdictions"][0]["children"][0]["contacts"]
    with pytest.raises(ValidationError, match="YJ-JG: street_office issues documents and needs contacts"):
        DirectoryFile.model_validate(data)


def test_a_buying_department_without_contacts_is_refused() -> None:
    """A department issues its contracts' payment instructions, so it needs contacts under its name."""
    data = yaml.safe_load(SAMPLE_DIRECTORY.read_text(encoding="utf-8"))
    del data["jurisdictions"][0]["contacts"]["延吉市教育局"]
    with pytest.raises(ValidationError, match="YJ: departments 延吉市教育局 issue payment instructions and need contacts"):
        DirectoryFile.model_validate(data)


def test_each_office_prints_its_own_contacts(tmp_path: Path) -> None:
    """A department by its name, a department that is a street office by that office's contacts, the
    evaluator by its role: each document carries the 代字 and telephone of the office that issues it."""
    engine = migrated_engine(f"sqlite:///{tmp_path / 'readmodel.db'}")
    load_directory(engine, read_directory_file(SAMPLE_DIRECTORY))
    activities = DocumentActivities(tmp_path, engine)
    offices = [
        (Office(jurisdiction="YJ", jurisdiction_name="延吉市", role=Role.department, name="延吉市教育局"), "延教", "0433-2567890"),
        (Office(jurisdiction="YJ-JG", jurisdiction_name="建工街道", role=Role.department, name="延吉市建工街道办事处"), "延建", "0433-2623456"),
        (Office(jurisdiction="YJ", jurisdiction_name="延吉市", role=Role.evaluator, name="延吉市社会组织评估中心"), "延社评", "0433-2545678"),
    ]
    for n, (office, abbreviation, telephone) in enumerate(offices):
        issuance = activities._issue(REQUESTS[DocumentKind.acceptance_notice].model_copy(update={"issuer": office, "document_id": f"o{n}"}))
        assert issuance.document_number.startswith(f"{abbreviation}受〔2026〕"), office.name
        assert issuance.contact.telephone == telephone, office.name


def test_official_fonts_are_configurable_without_changing_the_stored_html(
    rendered: tuple[Path, dict[DocumentKind, DocumentRef]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An office licensed for 方正小标宋/仿宋_GB2312 names its fonts in settings (here another installed font
    stands in for them): the PDF uses them, the stored HTML is the same."""
    documents_dir, refs = rendered
    html = content_path(documents_dir, refs[DocumentKind.certificate].html_sha256, "html").read_text(encoding="utf-8")
    monkeypatch.setenv("SHEZU_DOCUMENT_TITLE_FONTS", '"WenQuanYi Micro Hei", serif')
    monkeypatch.setenv("SHEZU_DOCUMENT_BODY_FONTS", '"WenQuanYi Micro Hei", serif')
    get_settings.cache_clear()
    try:
        pdf = tmp_path / "licensed.pdf"
        pdf.write_bytes(render_pdf(html, refs[DocumentKind.certificate].document_id))
    finally:
        get_settings.cache_clear()
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert "WenQuanYi" in fonts and "Noto" not in fonts, fonts


# --- legal basis of refusals -------------------------------------------------------------------


def test_a_policy_must_give_every_refusal_its_legal_basis() -> None:
    """Whatever refuses under a policy (不予受理, 不予备案/登记, 流标, termination) cites a clause of it: the
    shipped policies do, and a policy file without one is refused."""
    policy, _ = policy_in_force(PROJECT_ROOT / "policies", ["YJ-JG-CG", "YJ-JG", "YJ"], date(2026, 12, 1))
    for track in policy.tracks.values():
        assert track.refusal_basis and track.non_acceptance_basis
    assert policy.procurement and policy.procurement.failed_lot_basis
    assert policy.contracts and policy.contracts.termination_basis
    raw = yaml.safe_load((PROJECT_ROOT / "policies" / "national" / "2026-01.yaml").read_text(encoding="utf-8"))
    del raw["tracks"]["association"]["refusal_basis"]
    del raw["procurement"]["failed_lot_basis"]
    with pytest.raises(ValidationError, match="association.refusal_basis, procurement.failed_lot_basis"):
        Policy.model_validate(raw)
