"""Applications and people for tests, in the shapes users send them."""

from __future__ import annotations

import uuid
from typing import Any

from schemas.application import Application

LOCAL = "YJ-JG-CG"


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


def filing(**overrides: Any) -> Application:
    """A green-channel filing of a community dance team: one founder from the community, one not."""
    data: dict[str, Any] = {
        "track": "filing",
        "community": LOCAL,
        "organization_name": unique("春光社区舞蹈队"),
        "business_scope": "组织社区居民开展广场舞等文体活动",
        "community_based": True,
        "members": 15,
        "venue": {"kind": "shared", "address": "春光社区活动室"},
        "people": [
            {"name": "王芳", "role": "founder_and_leader", "household_registration": LOCAL},
            {"name": "李明", "role": "founder", "household_registration": "吉林省长春市"},
        ],
        "materials": [
            {"material": "filing_form"},
            {"material": "charter"},
            {"material": "member_list"},
            {"material": "identity_proof", "person": "李明"},
        ],
        "applicant_name": "王芳",
        "contact_phone": "13800000000",
    }
    data.update(overrides)
    return Application.model_validate(data)


def association(**overrides: Any) -> Application:
    """An association registering under the ordinary rules (not a community organization)."""
    data: dict[str, Any] = {
        "track": "association",
        "community": "YJ-JG-MA",
        "organization_name": unique("延吉市民安书画协会"),
        "business_scope": "开展书画交流、培训和展览",
        "community_based": False,
        "members": 60,
        "funds_fen": 5_000_000,
        "venue": {"kind": "own", "address": "民安路8号"},
        "supervising_unit": "延吉市文化广电和旅游局",
        "people": [
            {"name": "张伟", "role": "founder_and_leader", "household_registration": "YJ-JG-MA"},
            {"name": "刘洋", "role": "founder", "household_registration": "YJ-JG-MA"},
        ],
        "materials": [
            {"material": m}
            for m in (
                "registration_form",
                "supervising_unit_approval",
                "capital_verification_report",
                "venue_proof",
                "charter",
                "founding_meeting_minutes",
            )
        ]
        + [{"material": "identity_proof", "person": p} for p in ("张伟", "刘洋")],
        "applicant_name": "张伟",
        "contact_phone": "13900000000",
    }
    data.update(overrides)
    return Application.model_validate(data)


def applicant_id() -> str:
    return f"applicant-{uuid.uuid4().hex[:8]}"
