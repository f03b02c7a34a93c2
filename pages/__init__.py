"""Server-rendered pages in Simplified Chinese, beside the JSON API: one router module per process and
user group, templates in ``templates/pages``, assets served from ``pages/static`` (nothing from a CDN).
Pages call the same services with the same caller (``api.deps.caller``) as the API, so every permission
rule holds alike; a page's form carries its CSRF token in a hidden field checked by the same code."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from pages import (
    accounts,
    admin,
    applicant,
    application,
    audit,
    bidding,
    contracts,
    fairs,
    incubation,
    messages,
    notices,
    overview,
    ratings,
    reviewer,
    verify,
)
from pages.common import STATIC_DIR, VENDOR_DIR, install_errors

ROUTERS = (
    accounts,
    admin,
    applicant,
    application,
    contracts,
    incubation,
    messages,
    ratings,
    reviewer,
    notices,
    fairs,
    bidding,
    audit,
    verify,
    overview,
)
"""The page modules, one per user group and process."""


def install(app: FastAPI) -> None:
    """Mount the pages, their assets and their error pages on the app (after the API's handlers)."""
    mermaid = VENDOR_DIR / "node_modules" / "mermaid" / "dist"
    if mermaid.is_dir():  # installed by scripts/setup (npm ci); without it a diagram stays as its text
        app.mount("/static/vendor/mermaid", StaticFiles(directory=mermaid), name="vendor-mermaid")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_errors(app)
    for module in ROUTERS:
        app.include_router(module.router, include_in_schema=False)
