"""The API docs at ``/schema`` render in a real browser from this server's files alone."""

from __future__ import annotations

from tests.browser.console import Console
from tests.support.api_server import ApiServer


def test_swagger_ui_renders_the_document_from_local_assets(
    console: Console, api_server: ApiServer
) -> None:
    console.visit("/schema")
    console.wait(lambda: "GovFlow API" in console.find(".swagger-ui .info .title").text)
    operations = console.wait(lambda: console.all(".swagger-ui .opblock"))
    assert len(operations) > 20
    assert console.find(".swagger-ui .btn.authorize")  # bearer tokens can be pasted
    loaded: list[str] = console.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert any(url.endswith("/schema/openapi.json") for url in loaded), loaded
    foreign = [url for url in loaded if not url.startswith(api_server.url)]
    assert not foreign, foreign
    console.shot("api-docs")
