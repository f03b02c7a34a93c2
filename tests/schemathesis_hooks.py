"""Schemathesis hooks for tests/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import unicodedata

import schemathesis
from hypothesis import strategies as st

from schemas.text import MULTI_LINE_FORMAT, SINGLE_LINE_FORMAT

# What the two text formats of the document allow (the app's description says what they refuse), in
# the form the server keeps them: NFC, without surrounding whitespace. A text that is not in that form
# is accepted and normalized, so its length is the normalized one.
_REFUSED = ("Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp")


def _kept(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


schemathesis.openapi.format(SINGLE_LINE_FORMAT, st.text(st.characters(exclude_categories=_REFUSED)).map(_kept))
schemathesis.openapi.format(
    MULTI_LINE_FORMAT, st.text(st.characters(exclude_categories=_REFUSED, include_characters="\n\t")).map(_kept)
)


@schemathesis.check
def schema_valid_requests_pass_request_validation(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A request generated as valid from the document is never refused as not matching the document
    (a limit, type or format the document does not state); a rule of the process may still refuse it."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code not in (400, 413, 422):
        return
    body = response.json()
    if body.get("error") in ("invalid_request", "too_large"):
        raise AssertionError(f"a request the OpenAPI document allows was refused as not matching it: {body['message']}")
