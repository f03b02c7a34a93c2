"""Audit: a case exported from a real server into a bundle, verified offline, tampered by hand and
caught; its 办理过程 and deadlines rebuilt from the history alone; the replay gate."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from activities.documents import DocumentActivities
from audit.bundle import build_bundle, bundle_cases, read_bundle, verify_bundle, write_bundle
from audit.history import RecordedCase, RecordedRun
from audit.ocds import validate_release_package
from audit.replay import replay_all
from audit.source import fetch_case_tree, folder_runs
from audit.timeline import reconstruct
from service import views
from service.cases import CaseService
from store.files import content_path
from tests import factories
from tests.helpers import shezu

GOLDEN = Path(__file__).parent / "golden"
REASONS = ["拟任负责人张伟不具备完全民事行为能力证明", "章程草案未载明会员退会程序"]


async def refused_registration(service: CaseService) -> str:
    """A registration the community committee passed and the bureau refused: two documents."""
    applicant = service.actor(factories.applicant_id(), "王芳")
    case_no = (await service.submit(applicant, factories.association())).case_no
    await service.decide(service.actor("ma-sun"), case_no, views.DecisionInput(step="preliminary_review", outcome="approve"))
    await service.decide(
        service.actor("mz-chen"), case_no, views.DecisionInput(step="authority_review", outcome="refuse", reasons=REASONS)
    )
    return case_no


async def export(service: CaseService, case_no: str, target: Path) -> str:
    cases = await fetch_case_tree(service.client, case_no)
    return write_bundle(build_bundle(cases, service.settings.documents_dir, {"temporal_address": "test"}), target)


@pytest.fixture
async def bundle(service: CaseService, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    await export(service, await refused_registration(service), target)
    return target


def manifest(bundle: Path) -> dict[str, Any]:
    return json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))


def reseal(bundle: Path, path: str) -> None:
    """What a careful forger does after editing a file: put its new hash into the manifest."""
    data = manifest(bundle)
    digest = hashlib.sha256((bundle / path).read_bytes()).hexdigest()
    for entry in data["histories"]:
        if entry["file"] == path:
            entry["sha256"] = digest
    for document in data["documents"]:
        for file in document["files"].values():
            if file["file"] == path:
                file["sha256"] = digest
    (bundle / "manifest.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def failed_subjects(report: Any) -> set[str]:
    return {check.subject for check in report.failures}


# --- export and verify ---------------------------------------------------------------------------


async def test_an_exported_case_verifies_offline_with_its_documents_regenerated(bundle: Path) -> None:
    data = manifest(bundle)
    assert data["process"] == "FilingWorkflow" and data["code"]["workflows_sha256"]
    kinds = sorted(d["kind"] for d in data["documents"])
    assert kinds == ["acceptance_notice", "refusal_decision"]
    assert all(set(d["files"]) == {"pdf", "html"} for d in data["documents"])
    assert data["policies"] and data["policies"][0]["jurisdiction"]

    report = await verify_bundle(bundle)
    assert report.passed, report.text()
    sections = {check.section for check in report.checks}
    assert sections >= {"清单", "历史", "重放", "文书", "政策"}
    regenerated = [c for c in report.checks if c.section == "文书"]
    assert len(regenerated) == 2 and all("重新生成一致" in c.message for c in regenerated)
    assert "结论：通过" in report.text()


async def test_a_zip_bundle_verifies_like_a_folder(service: CaseService, tmp_path: Path) -> None:
    target = tmp_path / "case.zip"
    digest = await export(service, await refused_registration(service), target)
    report = await verify_bundle(target, expected_manifest_sha256=digest)
    assert report.passed, report.text()


async def test_an_edited_document_is_named(bundle: Path) -> None:
    pdf = next((bundle / "documents").glob("*-D02.pdf"))
    content = bytearray(pdf.read_bytes())
    content[len(content) // 2] ^= 0xFF
    pdf.write_bytes(bytes(content))

    report = await verify_bundle(bundle)
    assert not report.passed
    assert f"documents/{pdf.name}" in failed_subjects(report)
    assert pdf.stem in failed_subjects(report), "the document check names the document too"


async def test_a_replaced_document_with_a_resealed_manifest_is_still_caught(bundle: Path) -> None:
    """The forger swaps the refusal decision for the acceptance notice and fixes the manifest's hash:
    history still says which document the workflow produced."""
    refusal = next((bundle / "documents").glob("*-D02.pdf"))
    shutil.copy(next((bundle / "documents").glob("*-D01.pdf")), refusal)
    reseal(bundle, f"documents/{refusal.name}")

    report = await verify_bundle(bundle)
    assert not report.passed
    [failure] = [c for c in report.failures if c.section == "文书"]
    assert failure.subject == refusal.stem and "不是流程当时生成的那份" in failure.message


async def test_an_altered_reason_in_history_is_caught_by_replay_even_when_resealed(bundle: Path) -> None:
    """The refusal's reason is changed inside the recorded update: the workflow replays, but what it
    then asks of its activities no longer matches what history says it asked."""
    [history] = (bundle / "histories").rglob("*.json")
    events = json.loads(history.read_text(encoding="utf-8"))
    changed = 0
    for event in events["events"]:
        accepted = event.get("workflowExecutionUpdateAcceptedEventAttributes")
        if accepted:
            for payload in accepted["acceptedRequest"]["input"]["args"]["payloads"]:
                text = base64.b64decode(payload["data"]).decode()
                if REASONS[0] in text:
                    payload["data"] = base64.b64encode(text.replace(REASONS[0], "材料齐全但不予登记").encode()).decode()
                    changed += 1
    assert changed == 1
    history.write_text(json.dumps(events), encoding="utf-8")
    reseal(bundle, str(history.relative_to(bundle)))

    report = await verify_bundle(bundle)
    assert not report.passed
    [failure] = [c for c in report.failures if c.section == "重放"]
    assert "被改动" in failure.message


async def test_a_deleted_event_is_named(bundle: Path) -> None:
    [history] = (bundle / "histories").rglob("*.json")
    events = json.loads(history.read_text(encoding="utf-8"))
    del events["events"][len(events["events"]) // 2]
    history.write_text(json.dumps(events), encoding="utf-8")
    reseal(bundle, str(history.relative_to(bundle)))

    report = await verify_bundle(bundle)
    assert any(c.section == "历史" and "事件编号不连续" in c.message for c in report.failures), report.text()


async def test_a_tampered_manifest_is_named(bundle: Path, service: CaseService) -> None:
    original = (bundle / "manifest.json").read_bytes()
    digest = hashlib.sha256(original).hexdigest()
    data = manifest(bundle)
    removed = data["documents"].pop()
    data["policies"][0]["version"] = "1999"
    (bundle / "manifest.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    report = await verify_bundle(bundle, expected_manifest_sha256=digest)
    failures = {(c.section, c.subject) for c in report.failures}
    assert ("清单", "manifest.json") in failures, "the manifest no longer matches the digest kept apart"
    assert ("政策", "manifest.json") in failures
    assert any(path.startswith(f"documents/{removed['document_id']}") for _, path in failures), "unlisted files are named"


def store_as_recorded(documents: Path, run: RecordedRun, engine: Engine) -> None:
    """A document store for a golden history, whose documents were rendered by the templates of their day: each
    is rendered now and filed under the hash the history recorded, so the bundle is whole (these tests are about
    other parts of the bundle than the documents' text)."""
    activities = DocumentActivities(documents, engine)
    for document in run.documents:
        fresh = activities._render_and_store(document.request)
        for extension, sha256, recorded in (
            ("html", fresh.html_sha256, document.ref.html_sha256),
            ("pdf", fresh.pdf_sha256, document.ref.pdf_sha256),
        ):
            target = content_path(documents, recorded, extension)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content_path(documents, sha256, extension).read_bytes())


async def test_a_bundle_missing_a_child_case_is_incomplete(tmp_path: Path, engine: Engine) -> None:
    """A fair's bundle must carry its lots: the fair's history says which it started."""
    fair = RecordedRun.from_json("YJ-SQH-2026-00001", (GOLDEN / "fair_closed.json").read_text(encoding="utf-8"))
    documents = tmp_path / "store"
    store_as_recorded(documents, fair, engine)
    target = tmp_path / "fair"
    write_bundle(build_bundle([RecordedCase([fair])], documents, {}), target)

    report = await verify_bundle(target)
    assert any("子案件 YJ-SQH-2026-00001-L01" in c.message for c in report.failures), report.text()


# --- the command line ----------------------------------------------------------------------------


async def test_auditor_exports_and_verifies_from_the_command_line(
    service: CaseService, cli_env: dict[str, str], tmp_path: Path
) -> None:
    case_no = await refused_registration(service)
    target = tmp_path / "audit"
    code, out, err = await shezu(cli_env, "audit", "export", case_no, "--output", str(target))
    assert code == 0, err
    assert "清单 SHA-256" in out and "2 份文书" in out
    code, _, err = await shezu(cli_env, "audit", "export", case_no, "--output", str(target))
    assert code == 1 and "已存在且不为空" in err, "an earlier bundle is never overwritten"

    offline = {**cli_env, "SHEZU_TEMPORAL_ADDRESS": "127.0.0.1:9"}
    code, out, err = await shezu(offline, "audit", "verify", str(target))
    assert code == 0, out + err
    assert "结论：通过" in out

    pdf = next((target / "documents").glob("*.pdf"))
    pdf.write_bytes(pdf.read_bytes() + b"%")
    code, out, _ = await shezu(offline, "audit", "verify", str(target))
    assert code == 1 and pdf.name in out and "结论：未通过" in out

    code, out, err = await shezu(offline, "audit", "timeline", str(target), "--json")
    assert code == 0, err
    timeline = json.loads(out)
    assert timeline["case_no"] == case_no and timeline["phase"] == "refused"

    code, out, err = await shezu(offline, "audit", "diagram", str(target))
    assert code == 0, err
    assert out.startswith("flowchart TD") and case_no in out and "class ph_refused current" in out

    code, _, err = await shezu(cli_env, "audit", "export", "YJ-NO-SUCH-CASE")
    assert code == 1 and "没有案件 YJ-NO-SUCH-CASE" in err


# --- timeline ------------------------------------------------------------------------------------


async def test_the_timeline_says_who_did_what_in_which_role_and_the_state_at_any_time(bundle: Path) -> None:
    [case] = bundle_cases(read_bundle(bundle))
    final = reconstruct(case)
    assert final.phase == "refused" and final.status == "已办结"
    refusal = next(e for e in final.events if e.phase_after == "refused")
    assert (refusal.who, refusal.user_id, refusal.role) == ("陈洁", "mz-chen", "民政局")
    assert (refusal.phase_before_name, refusal.phase_after_name) == ("民政局审查", "不予登记")
    assert REASONS[0] in refusal.summary
    preliminary = next(d for d in final.deadlines if "初审" in d.what)
    assert preliminary.outcome == "met" and preliminary.done_at is not None

    before = reconstruct(case, refusal.at - timedelta(microseconds=1))
    assert before.phase == "authority_review" and before.status == "进行中"
    assert all(e.seq < refusal.seq for e in before.events)
    assert any(d.outcome == "pending" and "民政局" in d.what for d in before.deadlines)
    assert "authority_review_refuse" not in json.dumps(before.as_json(), ensure_ascii=False)


def test_an_escalated_task_shows_the_missed_deadline_and_the_backup_one() -> None:
    case = RecordedCase([RecordedRun.from_json("e", (GOLDEN / "escalated_to_backup.json").read_text(encoding="utf-8"))])
    deadlines = [d for d in reconstruct(case).deadlines if "居委会初审" in d.what]
    assert [(d.outcome, "A岗" in d.what) for d in deadlines] == [("missed", True), ("met", False)]
    assert "转B岗" in deadlines[0].note


# --- the replay gate -----------------------------------------------------------------------------


async def test_every_golden_history_passes_the_replay_gate_from_the_command_line(cli_env: dict[str, str]) -> None:
    code, out, err = await shezu(cli_env, "audit", "replay-all", "--from", str(GOLDEN))
    assert code == 0, out + err
    assert f"重放 {len(list(GOLDEN.glob('*.json')))} 次运行" in out and "0 次不一致" in out


async def test_the_replay_gate_fails_on_a_history_the_code_would_not_make(tmp_path: Path, cli_env: dict[str, str]) -> None:
    events = json.loads((GOLDEN / "filing_approved.json").read_text(encoding="utf-8"))
    for event in events["events"]:
        completed = event.get("activityTaskCompletedEventAttributes")
        if completed and "result" in completed:
            payload = completed["result"]["payloads"][0]
            result = json.loads(base64.b64decode(payload["data"]))
            if isinstance(result, dict) and "due_date" in result:  # a deadline the calendar computed: a day later
                result["due_date"] = (date.fromisoformat(result["due_date"]) + timedelta(days=1)).isoformat()
                payload["data"] = base64.b64encode(json.dumps(result).encode()).decode()
                break
    (tmp_path / "filing_approved.json").write_text(json.dumps(events), encoding="utf-8")

    [outcome] = await replay_all(r for r in folder_runs(tmp_path) if isinstance(r, RecordedRun))
    assert outcome.failure is not None and "被改动" in outcome.failure
    code, out, _ = await shezu(cli_env, "audit", "replay-all", "--from", str(tmp_path))
    assert code == 1 and "filing_approved" in out


async def test_the_replay_gate_replays_the_cases_on_a_server(service: CaseService, cli_env: dict[str, str]) -> None:
    case_no = await refused_registration(service)
    code, out, err = await shezu(cli_env, "audit", "replay-all", "--query", f"WorkflowId = '{case_no}'")
    assert code == 0, out + err
    assert "重放 1 次运行：1 次一致" in out


async def test_the_ocds_package_is_written_and_validated_from_the_command_line(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    histories = tmp_path / "histories"
    histories.mkdir()
    for name in ("fair_closed", "lot_awarded", "contract_rewarded", "contract_terminated"):
        shutil.copy(GOLDEN / f"{name}.json", histories)
    target = tmp_path / "ocds.json"
    code, out, err = await shezu(cli_env, "audit", "ocds", "--from", str(histories), "--output", str(target),
                                 "--prefix", "ocds-yj2026")
    assert code == 0, out + err
    package = json.loads(target.read_text(encoding="utf-8"))
    assert validate_release_package(package) == []
    ocids = {release["ocid"] for release in package["releases"]}
    assert ocids == {"ocds-yj2026-YJ-SQH-2026-00001-L01", "ocds-yj2026-YJ-DY-2026-00001", "ocds-yj2026-YJ-DY-2026-00003"}
    assert package["publisher"]["name"] == "延吉市民政局"
    suppliers = {p["id"]: p.get("identifier") for r in package["releases"] for p in r["parties"] if "supplier" in p["roles"]}
    assert suppliers["YJ-REG-0002"] == {"scheme": "CN-USCC", "id": "51222401MJ0000002X", "legalName": "延吉市夕阳红养老服务协会"}, suppliers

    code, _, err = await shezu(cli_env, "audit", "ocds", "--from", str(tmp_path / "nothing-here"))
    assert code == 1 and "找不到" in err


async def test_verify_json_is_the_only_thing_on_stdout_when_the_sdk_logs(tmp_path: Path, engine: Engine) -> None:
    """A history whose replay fails makes the SDK's core log a warning of its own; a program reading
    ``--json`` must still get one JSON document on stdout, and the warning stays visible on stderr."""
    filing = RecordedRun.from_json("YJ-BA-2026-00001", (GOLDEN / "filing_approved.json").read_text(encoding="utf-8"))
    documents = tmp_path / "store"
    store_as_recorded(documents, filing, engine)
    target = tmp_path / "filing"
    write_bundle(build_bundle([RecordedCase([filing])], documents, {}), target)
    [history] = (target / "histories").rglob("*.json")
    events = json.loads(history.read_text(encoding="utf-8"))
    scheduled = next(e for e in events["events"] if "activityTaskScheduledEventAttributes" in e)
    scheduled["activityTaskScheduledEventAttributes"]["activityType"]["name"] = "an_activity_the_code_never_ran"
    history.write_text(json.dumps(events), encoding="utf-8")
    reseal(target, str(history.relative_to(target)))

    offline = {**os.environ, "SHEZU_TEMPORAL_ADDRESS": "127.0.0.1:9", "SHEZU_DATA_DIR": str(tmp_path / "data")}
    code, out, err = await shezu(offline, "audit", "verify", str(target), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["passed"] is False
    assert any(c["section"] == "重放" and not c["passed"] for c in report["checks"]), report
    assert "Nondeterminism" in err, "the SDK's own warning goes to stderr, not nowhere"
