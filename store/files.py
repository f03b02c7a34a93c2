"""Write-once files stored under their SHA-256: rendered documents and uploaded attachments.

A retried writer finds its file already there and writes nothing; readers find files by hash.
Uploads are written as they arrive (hashed, counted and refused past their limit on the way), so
no upload is ever held in memory whole.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

_SHA256 = re.compile(r"[0-9a-f]{64}")
EXTENSIONS = frozenset({"html", "pdf", "bin"})


def content_path(root: Path, sha256: str, extension: str) -> Path:
    """Where a stored file lives; validates its inputs because the HTTP API passes them from URLs."""
    if not _SHA256.fullmatch(sha256) or extension not in EXTENSIONS:
        raise ValueError(f"not a stored file: {sha256!r}.{extension!r}")
    return root / sha256[:2] / f"{sha256}.{extension}"


def put(root: Path, content: bytes, extension: str) -> str:
    """Write once under the content's SHA-256 (temp file, then atomic rename); return the hash."""
    sha256 = hashlib.sha256(content).hexdigest()
    path = content_path(root, sha256, extension)
    if path.exists():
        return sha256
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("xb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return sha256


ATTACHMENT_LIMIT = 20 * 1024 * 1024
"""The largest attachment (20 MB)."""
CHUNK = 64 * 1024

ATTACHMENT_TYPES = {
    "application/pdf": "PDF",
    "application/ofd": "OFD 版式文件",
    "image/jpeg": "JPEG 图片",
    "image/png": "PNG 图片",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word 文档（.docx）",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel 表格（.xlsx）",
}
"""What government materials come as: scans and photos, PDF and OFD (国家版式文档标准), and Office files."""
PREVIEWS: dict[str, Literal["pdf", "image"]] = {"application/pdf": "pdf", "image/jpeg": "image", "image/png": "image"}
"""The types a browser shows by itself (pages preview them inline); the others are downloaded."""


class TooLarge(Exception):
    """The upload passed its limit while it was being written."""


def _sniff(path: Path, head: bytes) -> str | None:
    """The type of a stored file, from its content alone (its name and the client's claim are not trusted)."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        if "OFD.xml" in names:
            return "application/ofd"
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return None


def put_stream(root: Path, chunks: Iterable[bytes], extension: str, limit: int) -> tuple[str, int, str | None]:
    """Write chunks to a temporary file in the store, hashing and counting them, and refuse (``TooLarge``)
    as soon as they pass ``limit``; then move the file atomically to its content-addressed name.
    Returns the hash, the size and the type sniffed from the content (None: not an allowed type;
    then nothing is kept)."""
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f".upload-{uuid.uuid4().hex}.tmp"
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with temporary.open("xb") as file:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge
                digest.update(chunk)
                if len(head) < 16:
                    head += chunk[:16]
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        kind = _sniff(temporary, head)
        sha256 = digest.hexdigest()
        if kind is not None and size:
            path = content_path(root, sha256, extension)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temporary, path)
        return sha256, size, kind
    finally:
        temporary.unlink(missing_ok=True)
