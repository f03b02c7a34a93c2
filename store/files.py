"""Write-once files stored under their SHA-256: rendered documents and uploaded attachments.

A retried writer finds its file already there and writes nothing; readers find files by hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

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
