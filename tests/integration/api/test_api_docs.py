"""``/schema`` is Swagger UI from this server's own files; the JSON stays at
``/schema/openapi.json``."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.integration.api.conftest import ApiHarness


def referenced(html: str) -> list[str]:
    """Every ``src`` and ``href`` of the page."""
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


async def test_schema_page_is_swagger_ui_from_local_assets(api: ApiHarness) -> None:
    page = await api.client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "swagger-ui-bundle.js" in html
    assert "<script>" not in html.replace(" ", ""), "no inline script"
    links = referenced(html)
    assert links
    for link in links:
        parts = urlsplit(link)
        assert not parts.scheme, f"{link} is not local"
        assert not parts.netloc, f"{link} is not local"
        assert link.startswith("/schema/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy


async def test_every_asset_of_the_page_is_served(api: ApiHarness) -> None:
    html = (await api.client.get("/schema")).text
    expected_types = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "json"}
    for link in referenced(html):
        served = await api.client.get(link)
        assert served.status_code == 200, link
        suffix = link[link.rindex(".") :]
        assert expected_types[suffix] in served.headers["content-type"], link
        assert served.content


async def test_the_started_ui_reads_the_json_document(api: ApiHarness) -> None:
    html = (await api.client.get("/schema")).text
    match = re.search(r'data-spec-url="([^"]+)"', html)
    assert match
    assert match.group(1) == "/schema/openapi.json"
    document = await api.client.get(match.group(1))
    assert document.status_code == 200
    assert document.json()["info"]["title"] == "GovFlow API"
    script = (await api.client.get("/schema/assets/docs.js")).text
    assert "data-spec-url" in script
    assert "SwaggerUIBundle(" in script


async def test_unknown_schema_paths_are_not_found(api: ApiHarness) -> None:
    assert (await api.client.get("/schema/assets/nothing.js")).status_code == 404
    assert (await api.client.get("/schema/swagger.json")).status_code == 404
