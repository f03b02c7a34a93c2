"""The audit bundle: one case (with its child cases) as evidence an auditor can check without the
running system — the Temporal histories, every document the case produced, and a manifest of their
SHA-256 hashes and of the code and policy versions in force.

``verify`` trusts nothing in the bundle on its own word. Each file is checked against the manifest,
the manifest against the histories, each history is replayed with the current workflow code, and
each document is rendered again from the request recorded in history and compared with the hash
the rendering activity recorded when it ran.

Layout::

    manifest.json
    histories/<workflow id>/<run id>.json
    documents/<document id>.pdf  and  .html
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import subprocess
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.service import RPCError

from activities.documents import IncompleteDocumentRequest, render_html, render_pdf
from audit.history import RecordedCase, RecordedRun, UnreadableHistory, chain_runs
from audit.replay import broken_sequence, replay_all
from audit.source import CaseNotFound, fetch_runs, group_runs
from schemas.policy import PolicyRef
from settings import PROJECT_ROOT, get_settings
from store.files import content_path

FORMAT = "shezu-audit-bundle/1"
MANIFEST = "manifest.json"


# --- what was in force -------------------------------------------------------------------------


def _tree_digest(paths: Iterable[Path]) -> str:
    """One hash over files' relative names and contents, so any change to them changes it."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def code_version() -> dict[str, Any]:
    """The code that decides replay (workflows, shared types) and documents (templates, renderer)."""
    sources = lambda folder, pattern="*.py": (PROJECT_ROOT / folder).rglob(pattern)  # noqa: E731
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "shezu": importlib.metadata.version("shezu"),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_modified": bool(status) if status is not None else None,
        "workflows_sha256": _tree_digest([*sources("workflows"), *sources("schemas")]),
        "documents_sha256": _tree_digest(
            [*(p for p in sources("templates", "*") if p.is_file()), PROJECT_ROOT / "activities" / "documents.py",
             PROJECT_ROOT / "activities" / "rendering.py"]
        ),
        "temporalio": importlib.metadata.version("temporalio"),
        "weasyprint": importlib.metadata.version("weasyprint"),
    }


def policies_in_force(cases: Iterable[RecordedCase]) -> list[dict[str, Any]]:
    """Every policy file a case's recorded state cites, once each."""
    found: dict[tuple[str, str], PolicyRef] = {}
    for case in cases:
        for snapshot in case.snapshots:
            for ref in policy_refs(snapshot.state):
                found.setdefault((ref.path, ref.sha256), ref)
    return [ref.model_dump(mode="json") for _, ref in sorted(found.items())]


def policy_refs(value: Any) -> Iterable[PolicyRef]:
    """Every policy a recorded state cites, wherever in it."""
    if isinstance(value, PolicyRef):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from policy_refs(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from policy_refs(item)


# --- export ------------------------------------------------------------------------------------


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def history_path(run: RecordedRun) -> str:
    return f"histories/{run.workflow_id}/{run.run_id}.json"


async def export_cases(client: Client, case_no: str) -> tuple[list[RecordedCase], list[str]]:
    """The case and, depth first, every child case it started (a fair's lots, a lot's contract). A
    child whose history cannot be read is named with its error and the others are still exported;
    the case asked for itself must be readable."""
    cases: list[RecordedCase] = []
    unreadable: list[str] = []

    async def walk(workflow_id: str, root: bool) -> None:
        try:
            case = RecordedCase(await fetch_runs(client, workflow_id))
        except (RPCError, UnreadableHistory, CaseNotFound) as error:
            if root:
                raise
            unreadable.append(f"{workflow_id}：{error}")
            return
        cases.append(case)
        for child in case.children:
            await walk(child.workflow_id, False)

    await walk(case_no, True)
    return cases, unreadable


def build_bundle(cases: list[RecordedCase], documents_dir: Path, source: dict[str, str],
                 unreadable: Iterable[str] = ()) -> dict[str, bytes]:
    """The bundle's files by path. A document whose file is missing from storage is an error: a
    bundle that silently lacks evidence would mislead its reader; so is a child case whose history
    could not be read, which the manifest names under ``unreadable``."""
    root = cases[0]
    files: dict[str, bytes] = {}
    histories, documents, missing = [], [], []
    for case in cases:
        for run in case.runs:
            path = history_path(run)
            files[path] = run.history.to_json().encode("utf-8")
            histories.append({
                "workflow_id": run.workflow_id, "workflow_type": run.workflow_type, "run_id": run.run_id,
                "parent": run.parent_workflow_id, "continued_from": run.continued_from, "status": run.status,
                "events": len(run.events), "file": path, "sha256": _sha256(files[path]),
            })
            for document in run.documents:
                if document.ref is None:
                    continue
                entry = {"document_id": document.ref.document_id, "workflow_id": run.workflow_id,
                         "kind": document.ref.kind.value, "title": document.ref.title, "number": document.ref.number,
                         "issued_at": document.ref.issued_at.isoformat(), "files": {}}
                for extension, digest in (("pdf", document.ref.pdf_sha256), ("html", document.ref.html_sha256)):
                    stored = content_path(documents_dir, digest, extension)
                    if not stored.exists():
                        missing.append(f"{document.ref.document_id}.{extension}（{stored}）")
                        continue
                    path = f"documents/{document.ref.document_id}.{extension}"
                    files[path] = stored.read_bytes()
                    entry["files"][extension] = {"file": path, "sha256": _sha256(files[path])}
                documents.append(entry)
    if missing:
        raise FileNotFoundError("文书存储中找不到以下文件：" + "、".join(missing))
    manifest = {
        "format": FORMAT,
        "case_no": root.workflow_id,
        "process": root.process.workflow_type,
        "process_label": root.process.label,
        "exported_at": datetime.now(UTC).isoformat(),
        "source": source,
        "code": code_version(),
        "policies": policies_in_force(cases),
        "cases": [case.workflow_id for case in cases],
        "unreadable": list(unreadable),
        "histories": histories,
        "documents": documents,
    }
    files[MANIFEST] = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    return files


def write_bundle(files: dict[str, bytes], target: Path) -> str:
    """Write the bundle as a folder, or as a zip file when ``target`` ends in ``.zip``; returns the
    manifest's SHA-256, which the exporter should keep apart from the bundle (a forger who rewrites
    a history, its documents and the manifest consistently can only be caught by that hash)."""
    if target.suffix == ".zip":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(zipped(files))
    else:
        if target.exists() and any(target.iterdir()):
            raise FileExistsError(f"{target} 已存在且不为空，请换一个位置或先移走它")
        for path, content in files.items():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            (target / path).write_bytes(content)
    return _sha256(files[MANIFEST])


def zipped(files: dict[str, bytes]) -> bytes:
    """The bundle as one zip file (what a download or ``write_bundle`` to ``*.zip`` gives)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in sorted(files.items()):
            archive.writestr(path, content)
    return buffer.getvalue()


def read_bundle(source: Path) -> dict[str, bytes]:
    """A bundle's files by path, from a folder or a zip file."""
    if source.is_file():
        try:
            with zipfile.ZipFile(source) as archive:
                return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
        except zipfile.BadZipFile as error:
            raise ValueError(f"{source} 不是审计包（既不是文件夹，也不是 zip 文件）") from error
    if not source.is_dir():
        raise FileNotFoundError(f"找不到审计包 {source}")
    return {
        PurePosixPath(*path.relative_to(source).parts).as_posix(): path.read_bytes()
        for path in sorted(source.rglob("*"))
        if path.is_file()
    }


def bundle_cases(files: dict[str, bytes]) -> list[RecordedCase]:
    """The cases in a bundle, the exported case first, read from the histories its manifest lists."""
    try:
        manifest = json.loads(files[MANIFEST])
        entries = manifest["histories"]
    except (KeyError, ValueError, TypeError) as error:
        raise UnreadableHistory("审计包的清单无法读取") from error
    runs = []
    for entry in entries:
        if entry["file"] not in files:
            raise UnreadableHistory(f"审计包中缺少 {entry['file']}")
        runs.append(RecordedRun.from_json(entry["workflow_id"], files[entry["file"]].decode("utf-8")))
    return group_runs(runs)


# --- verify ------------------------------------------------------------------------------------


@dataclass
class Check:
    section: str
    subject: str
    passed: bool
    message: str


@dataclass
class Verification:
    bundle: str
    case_no: str | None = None
    manifest_sha256: str | None = None
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def ok(self, section: str, subject: str, message: str) -> None:
        self.checks.append(Check(section, subject, True, message))

    def fail(self, section: str, subject: str, message: str) -> None:
        self.checks.append(Check(section, subject, False, message))

    def text(self) -> str:
        lines = [f"审计包 {self.bundle}" + (f"（案件 {self.case_no}）" if self.case_no else "")]
        if self.manifest_sha256:
            lines.append(f"清单 SHA-256：{self.manifest_sha256}")
        for section in dict.fromkeys(check.section for check in self.checks):
            checks = [check for check in self.checks if check.section == section]
            failed = [check for check in checks if not check.passed]
            lines.append(f"\n【{section}】{len(checks) - len(failed)}/{len(checks)} 项通过")
            for check in failed or checks:
                mark = "✗" if not check.passed else "✓"
                lines.append(f"  {mark} {check.subject}：{check.message}")
        for note in self.notes:
            lines.append(f"  说明：{note}")
        verdict = "通过：包内历史可在当前代码上重放，文书可由历史重新生成且与记录一致，未发现篡改。"
        if not self.passed:
            verdict = f"未通过：{len(self.failures)} 项不符（见上文 ✗）。"
        lines.append("\n结论：" + verdict)
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle, "case_no": self.case_no, "manifest_sha256": self.manifest_sha256,
            "passed": self.passed, "notes": self.notes,
            "checks": [check.__dict__ for check in self.checks],
        }


async def verify_bundle(source: Path, expected_manifest_sha256: str | None = None) -> Verification:
    report = Verification(str(source))
    try:
        files = read_bundle(source)
    except (OSError, ValueError) as error:
        report.fail("清单", str(source), str(error))
        return report
    manifest = _check_manifest(files, report, expected_manifest_sha256)
    if manifest is None:
        return report
    runs = _check_histories(files, manifest, report)
    await _check_replay(runs, report)
    _check_documents(files, manifest, runs, report)
    _check_policies(manifest, runs, report)
    _note_code(manifest, report)
    return report


def _check_manifest(files: dict[str, bytes], report: Verification, expected: str | None) -> dict[str, Any] | None:
    section = "清单"
    if MANIFEST not in files:
        report.fail(section, MANIFEST, "审计包中没有清单文件")
        return None
    report.manifest_sha256 = _sha256(files[MANIFEST])
    if expected:
        if report.manifest_sha256 != expected.strip().lower():
            report.fail(section, MANIFEST, f"清单的 SHA-256 为 {report.manifest_sha256}，与另行留存的 {expected} 不符：清单被改动过")
        else:
            report.ok(section, MANIFEST, "清单与另行留存的 SHA-256 一致")
    try:
        manifest = json.loads(files[MANIFEST])
        assert isinstance(manifest, dict) and manifest.get("format") == FORMAT
        listed = {entry["file"]: entry["sha256"] for entry in manifest["histories"]}
        for document in manifest["documents"]:
            listed.update({f["file"]: f["sha256"] for f in document["files"].values()})
    except (ValueError, AssertionError, KeyError, TypeError, AttributeError):
        report.fail(section, MANIFEST, f"清单无法读取或不是 {FORMAT} 格式")
        return None
    report.case_no = manifest.get("case_no")
    for problem in manifest.get("unreadable", []):
        report.fail(section, str(problem).split("：", 1)[0], f"导出时无法读取此案件，审计包中没有它的历史：{problem}")
    for path, digest in sorted(listed.items()):
        if path not in files:
            report.fail(section, path, "清单列出的文件在包中缺失")
        elif _sha256(files[path]) != digest:
            report.fail(section, path, f"文件内容与清单记录的哈希不符（清单 {digest[:12]}…，实际 {_sha256(files[path])[:12]}…）：文件或清单被改动过")
        else:
            report.ok(section, path, "哈希一致")
    for path in sorted(set(files) - set(listed) - {MANIFEST}):
        report.fail(section, path, "包中有清单未列出的文件")
    return manifest


def _check_histories(files: dict[str, bytes], manifest: dict[str, Any], report: Verification) -> list[RecordedRun]:
    """Each history must read as a whole, unbroken chain of events, of the case the manifest names."""
    section = "历史"
    runs: list[RecordedRun] = []
    for entry in manifest["histories"]:
        path = entry["file"]
        if path not in files:
            continue
        try:
            run = RecordedRun.from_json(entry["workflow_id"], files[path].decode("utf-8"))
        except (UnreadableHistory, UnicodeDecodeError) as error:
            report.fail(section, path, f"历史无法读取：{error}")
            continue
        problems = _history_problems(run, entry)
        if problems:
            report.fail(section, path, "；".join(problems))
        else:
            report.ok(section, path, f"{run.process.label}，{len(run.events)} 个事件，{run.status}")
        runs.append(run)
    present = {run.workflow_id for run in runs}
    for run in runs:
        for child in run.children:
            if child.workflow_id not in present:
                report.fail(section, run.workflow_id, f"历史显示启动了子案件 {child.workflow_id}，但包中没有它的历史")
    for workflow_id in dict.fromkeys(run.workflow_id for run in runs):
        chain = chain_runs([run for run in runs if run.workflow_id == workflow_id])
        first, last = chain[0], chain[-1]
        if first.continued_from or (last.continued_as_new_to and last.continued_as_new_to not in {r.run_id for r in chain}):
            report.fail(section, workflow_id, "续接运行（continue-as-new）不完整：包中缺少某一段运行的历史")
    return runs


def _history_problems(run: RecordedRun, entry: dict[str, Any]) -> list[str]:
    problems = []
    if run.workflow_type != entry.get("workflow_type") or run.run_id != entry.get("run_id"):
        problems.append(f"历史是 {run.workflow_type} 的运行 {run.run_id}，清单却记为 {entry.get('workflow_type')} 的 {entry.get('run_id')}")
    if broken := broken_sequence(run):
        problems.append(broken)
    return problems


async def _check_replay(runs: list[RecordedRun], report: Verification) -> None:
    """Replay each run on the current workflow code: the decisions in history must be the ones the
    code makes from the recorded inputs, or the history was altered (or the code changed unsafely)."""
    for outcome in await replay_all(runs):
        if outcome.failure is None:
            report.ok("重放", outcome.subject, "按当前流程代码重放一致")
        else:
            report.fail("重放", outcome.subject, f"重放不一致：{outcome.failure}")


def _check_documents(files: dict[str, bytes], manifest: dict[str, Any], runs: list[RecordedRun], report: Verification) -> None:
    """Render every document again from its recorded request and compare with what history recorded
    the renderer produced, with the file in the bundle and with the manifest."""
    section = "文书"
    listed = {entry["document_id"]: entry for entry in manifest["documents"]}
    recorded = set()
    for run in runs:
        for document in run.documents:
            document_id = document.request.document_id
            recorded.add(document_id)
            if document.ref is None:
                report.fail(section, document_id, "历史中这份文书的生成没有完成，却被请求过")
                continue
            try:
                html = render_html(document.request, document.ref.issuance)
                pdf = render_pdf(html, document_id)
            except IncompleteDocumentRequest as error:
                report.fail(section, document_id, f"按历史记录的要素无法重新生成：{error}")
                continue
            problems = []
            entry = listed.get(document_id)
            for extension, content, recorded_hash in (
                ("html", html.encode("utf-8"), document.ref.html_sha256),
                ("pdf", pdf, document.ref.pdf_sha256),
            ):
                regenerated = _sha256(content)
                if regenerated != recorded_hash:
                    problems.append(f"{extension.upper()} 按历史要素重新生成后与历史记录的哈希不符")
                path = f"documents/{document_id}.{extension}"
                if path not in files:
                    problems.append(f"包中缺少 {path}")
                elif _sha256(files[path]) != recorded_hash:
                    problems.append(f"包中的 {path} 不是流程当时生成的那份（内容被改动或替换）")
                listed_hash = ((entry or {}).get("files", {}).get(extension) or {}).get("sha256")
                if listed_hash != recorded_hash:
                    problems.append(f"清单对 {extension.upper()} 的记录与历史不符")
            label = f"{document.ref.title} {document.ref.number}"
            if problems:
                if len(problems) == 1 and problems[0].startswith("PDF 按历史"):
                    problems[0] += "（HTML 一致，可能是排版环境不同：字体或 WeasyPrint 版本）"
                report.fail(section, document_id, f"{label}：" + "；".join(problems))
            else:
                report.ok(section, document_id, f"{label}：重新生成一致，包内文件与历史、清单一致")
    for document_id in sorted(set(listed) - recorded):
        report.fail(section, document_id, "清单列出的文书在历史中没有生成记录")


def _check_policies(manifest: dict[str, Any], runs: list[RecordedRun], report: Verification) -> None:
    recorded = policies_in_force(group_runs(runs))
    if recorded != manifest.get("policies"):
        report.fail("政策", MANIFEST, "清单所列的政策版本与历史中记录的不一致")
        return
    for ref in recorded:
        now = "，与本机政策文件相同" if _policy_digest_now(ref["path"]) == ref["sha256"] else "，本机政策文件已不同或不在"
        report.ok("政策", f"{ref['jurisdiction']} {ref['version']}", f"{ref['title']}（{ref['path']}，sha256 {ref['sha256'][:12]}…）{now}")


def _policy_digest_now(path: str) -> str | None:
    """The digest ``rules.policy_files`` would record for the same files as they are on this machine."""
    files = [get_settings().policies_dir / part for part in path.split(" + ")]
    if not all(file.is_file() for file in files):
        return None
    return _sha256("".join(_sha256(file.read_bytes()) for file in files).encode())


def _note_code(manifest: dict[str, Any], report: Verification) -> None:
    then, now = manifest.get("code") or {}, code_version()
    changed = [name for name in ("workflows_sha256", "documents_sha256", "weasyprint", "temporalio") if then.get(name) != now[name]]
    commit = then.get("git_commit") or "未知"
    if changed:
        report.notes.append(f"导出时的代码（提交 {commit}）与本次核验所用的代码在 {', '.join(changed)} 上不同；重放与重新生成仍以本机代码为准。")
    else:
        report.notes.append(f"本次核验所用的流程与文书代码与导出时（提交 {commit}）相同。")

