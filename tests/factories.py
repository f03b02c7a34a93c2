"""Applications for tests: the README's examples, with a unique organization name per test."""

from __future__ import annotations

import uuid
from typing import Any

from cli.demo import example
from schemas.application import Application


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


def _application(name: str, overrides: dict[str, Any]) -> Application:
    data = example(name)
    data["organization_name"] = unique(data["organization_name"])
    return Application.model_validate(data | overrides)


def filing(**overrides: Any) -> Application:
    """A complete green-channel filing of a community dance team: 王芳 is registered in the
    community (her ID proof is waived), 李明 in 长春 (his is provided)."""
    return _application("filing", overrides)


def association(**overrides: Any) -> Application:
    """A complete association registration under the ordinary rules (not a community organization)."""
    return _application("association-ordinary", overrides)


def applicant_id() -> str:
    return f"applicant-{uuid.uuid4().hex[:8]}"
