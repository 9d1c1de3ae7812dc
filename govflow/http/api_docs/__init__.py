"""The API's documentation page: Swagger UI at ``/schema``, its assets from ``/schema/assets``.

Litestar's own :class:`~litestar.openapi.plugins.SwaggerRenderPlugin` serves the page; GovFlow
renders it without inline scripts or CDN links (the page loads the vendored bundle and
``docs.js``, which reads the document from ``/schema/openapi.json``), so a browser fetches
nothing from elsewhere and the page can run under a strict Content-Security-Policy
(:data:`DOCS_CSP`). The vendored files and their version are listed in ``static/PROVENANCE.md``.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

STATIC = Path(__file__).parent / "static"
ASSETS = "/assets"
"""Where the vendored files are served, under the OpenAPI router's path (``/schema``)."""

DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""The policy of everything under ``/schema``: only this origin's scripts, styles and requests
(Swagger UI sets element styles, hence ``'unsafe-inline'`` for styles alone)."""


class LocalSwaggerUI(SwaggerRenderPlugin):
    """Swagger UI from the vendored files, started by ``docs.js`` (no inline script)."""

    def __init__(self, path: str = "/") -> None:
        super().__init__(path=path, favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema["info"]["title"]))
        json_route = self.get_openapi_json_route(request)
        spec_url = escape(json_route)
        assets = escape(json_route.rpartition("/")[0] + ASSETS)
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="stylesheet" href="{assets}/docs.css">
</head>
<body>
<main id="swagger-ui" data-spec-url="{spec_url}"></main>
<noscript><p>The API documentation needs JavaScript; the OpenAPI document itself is at
<a href="{spec_url}">{spec_url}</a>.</p></noscript>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/docs.js"></script>
</body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        """Serve the vendored files beside the page (no OAuth2 redirect page: bearer tokens)."""
        router.register(
            create_static_files_router(
                path=ASSETS,
                directories=[STATIC],
                include_in_schema=False,
                cache_control=CacheControlHeader(max_age=86400),
            )
        )
