"""The page links every paged console table shares (templates/_pager.html)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import jinja2

import govflow.http.console

TEMPLATES = Path(govflow.http.console.__file__).parent / "templates"


def _pager(page: int, total_pages: int) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    found = SimpleNamespace(request=SimpleNamespace(page=page), total_pages=total_pages)
    macro = environment.get_template("_pager.html").module.pager  # type: ignore[attr-defined]
    return " ".join(str(macro(found, "/ui/executions?status=RUNNING&")).split())


def test_one_page_has_no_links() -> None:
    assert _pager(1, 1) == ""


def test_the_first_page_links_to_the_next() -> None:
    html = _pager(1, 3)
    assert "Page 1 of 3" in html
    assert 'href="/ui/executions?status=RUNNING&amp;page=2">Next page' in html
    assert "Previous page" not in html


def test_a_middle_page_links_both_ways_and_the_last_only_back() -> None:
    middle = _pager(2, 3)
    assert 'page=1">Previous page' in middle
    assert 'page=3">Next page' in middle
    last = _pager(3, 3)
    assert 'page=2">Previous page' in last
    assert "Next page" not in last
