"""Finding the policy in force: the nearest jurisdiction with a policy folder, the newest version in effect.

Layout: ``policies/<jurisdiction code>/<version>.yaml``; ``policies/national/`` is the fallback.
A file may say ``base: <folder>`` to inherit what it does not define (whole sections, and tracks
one by one) from that folder's version in force on the same date, or ``base: <folder>/<version>`` to
amend one named version: a new version then states only what it adds or changes, and the files already
recorded by earlier cases stay as they were.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from rules.checklist import assess
from schemas.checklist import Assessment, AssessmentRequest
from schemas.policy import Policy, PolicyRef

FALLBACK = "national"


class PolicyNotFound(LookupError):
    pass


@dataclass(frozen=True)
class _PolicyFile:
    path: Path
    raw: dict[str, Any]
    digest: str


@lru_cache(maxsize=256)
def _parse(digest: str, data: bytes) -> dict[str, Any]:
    """Parsed once per content: a file edited by an administrator has a new digest and is parsed again."""
    return yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _versions(folder: Path) -> list[_PolicyFile]:
    files = []
    for path in sorted(folder.glob("*.yaml")):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        files.append(_PolicyFile(path, _parse(digest, data), digest))
    return files


def _in_force(folder: Path, on: date) -> _PolicyFile | None:
    candidates = [f for f in _versions(folder) if date.fromisoformat(str(f.raw["effective_from"])) <= on]
    return max(candidates, key=lambda f: str(f.raw["effective_from"]), default=None)


def _named(policies_dir: Path, name: str, on: date) -> _PolicyFile | None:
    """``<folder>/<version>``: that very file, if it has taken effect by ``on``."""
    folder, _, version = name.partition("/")
    found = next((f for f in _versions(policies_dir / folder) if f.path.stem == version), None)
    if found is None or date.fromisoformat(str(found.raw["effective_from"])) > on:
        return None
    return found


def _resolve(policies_dir: Path, folder: str, on: date, seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[_PolicyFile]]:
    if folder in seen:
        raise PolicyNotFound(f"policy base cycle: {' → '.join((*seen, folder))}")
    found = _named(policies_dir, folder, on) if "/" in folder else _in_force(policies_dir / folder, on)
    if found is None:
        raise PolicyNotFound(f"{folder}：没有在 {on.isoformat()} 生效的政策文件")
    raw = dict(found.raw)
    if base := raw.get("base"):
        base_raw, base_files = _resolve(policies_dir, base, on, (*seen, folder))
        tracks = {**base_raw.get("tracks", {}), **(raw.get("tracks") or {})}
        return {**base_raw, **raw, "tracks": tracks}, [found, *base_files]
    return raw, [found]


def policy_in_force(policies_dir: Path, jurisdiction_chain: list[str], on: date) -> tuple[Policy, PolicyRef]:
    """The policy of the nearest jurisdiction in ``jurisdiction_chain`` (community first) that has one."""
    for code in [*jurisdiction_chain, FALLBACK]:
        if (policies_dir / code).is_dir() and _in_force(policies_dir / code, on):
            raw, files = _resolve(policies_dir, code, on)
            policy = Policy.model_validate(raw)
            digest = hashlib.sha256("".join(f.digest for f in files).encode()).hexdigest()
            ref = PolicyRef(
                id=policy.id,
                version=policy.version,
                jurisdiction=policy.jurisdiction,
                title=policy.title,
                path=" + ".join(str(f.path.relative_to(policies_dir)) for f in files),
                sha256=digest,
            )
            return policy, ref
    raise PolicyNotFound(f"{' / '.join(jurisdiction_chain)}：没有可用的政策文件")


def assess_request(policies_dir: Path, request: AssessmentRequest) -> Assessment:
    """The policy in force for the request's place and date, applied to its application."""
    policy, ref = policy_in_force(policies_dir, request.jurisdiction_chain, request.on)
    return assess(request.application, policy, ref, request.community_names)


def all_policies(policies_dir: Path) -> list[Path]:
    """Every policy file, for validation in tests and by administrators."""
    return sorted(policies_dir.glob("*/*.yaml"))
