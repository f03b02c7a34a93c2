"""The API documentation works on an isolated network: /docs and /redoc load every script, style and
icon from this app, none from a CDN."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from api.app import create_app
from service.cases import CaseService
from tests.conftest import make_settings, prepared_engine

BASE = "http://shezu.test"
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_documentation_needs_no_other_host(page: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    app = create_app(service=CaseService(settings, prepared_engine(settings)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        html = (await http.get(page)).text
        references = [a or b for a, b in REFERENCE.findall(html)]
        assert len(references) >= 3, html  # the script, the stylesheet or favicon, the OpenAPI document
        assert not re.search(r"(?<![\w.])(?:https?:)?//[\w.-]+", html.replace("http://www.w3.org", "")), html
        for reference in references:
            assert not urlsplit(reference).netloc, f"{page} loads {reference} from another host"
            answer = await http.get(reference)
            assert answer.status_code == 200, f"{page} needs {reference}: {answer.status_code}"
            assert answer.content
