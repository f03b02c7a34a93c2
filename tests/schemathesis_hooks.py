"""Schemathesis hooks for tests/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import schemathesis


@schemathesis.check
def schema_valid_requests_pass_request_validation(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A request generated as valid from the document is never refused as not matching the document
    (a limit, type or format the document does not state); a rule of the process may still refuse it."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code not in (400, 413, 422):
        return
    body = response.json()
    if body.get("error") in ("invalid_request", "too_large"):
        raise AssertionError(f"a request the OpenAPI document allows was refused as not matching it: {body['message']}")
