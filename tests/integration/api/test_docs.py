"""Every route of the app is documented in docs/api.md as ``METHOD /path``."""

from __future__ import annotations

from pathlib import Path

from tests.integration.api.routes import route_cases

DOC = Path(__file__).parents[3] / "docs" / "api.md"


def test_every_route_is_documented() -> None:
    text = DOC.read_text()
    missing = [
        str(case)
        for case in route_cases()
        if not case.path.startswith("/schema") and str(case) not in text
    ]
    assert not missing, f"routes missing from docs/api.md: {missing}"
