"""Each file in ``corpus/`` holds one mistake; ``corpus/expected.txt`` holds the exact report."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from govflow.core.spec_errors import SpecError
from govflow.core.validation import validate_workflow

from .actions import TEST_ACTIONS

CORPUS = Path(__file__).parent / "corpus"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
"""The moment the corpus is checked at (a literal ``until`` is checked against it)."""


def _expected() -> dict[str, list[str]]:
    lines: dict[str, list[str]] = defaultdict(list)
    for line in (CORPUS / "expected.txt").read_text().splitlines():
        if line.strip():
            lines[line.split(":", 1)[0]].append(line)
    return lines


EXPECTED = _expected()
FILES = sorted(path.name for path in CORPUS.glob("*.yaml"))


def test_corpus_is_large_and_complete() -> None:
    assert len(FILES) >= 35
    assert sorted(EXPECTED) == FILES


@pytest.mark.parametrize("name", FILES)
def test_broken_workflow_reports_exactly(name: str) -> None:
    text = (CORPUS / name).read_text()
    with pytest.raises(SpecError) as caught:
        validate_workflow(text, name, TEST_ACTIONS, now=NOW)
    assert caught.value.format().splitlines() == EXPECTED[name]
