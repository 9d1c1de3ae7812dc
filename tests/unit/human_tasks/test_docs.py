"""``docs/human-tasks.md`` draws exactly the lifecycle the transition table generates."""

from __future__ import annotations

import re
from pathlib import Path

from govflow.core.machines import to_mermaid
from govflow.core.tasks.table import TASK_MACHINE
from govflow.core.tasks.vocabulary import TaskActionName

DOC = Path(__file__).resolve().parents[3] / "docs" / "human-tasks.md"
MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)


def test_the_doc_contains_exactly_the_generated_diagram() -> None:
    documented = MERMAID_BLOCK.findall(DOC.read_text(encoding="utf-8"))
    generated = to_mermaid(TASK_MACHINE)
    assert documented == [generated], (
        f"docs/human-tasks.md drifted from the table; paste:\n\n```mermaid\n{generated}```\n"
    )


def test_the_who_table_has_a_row_per_action() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Who may do what\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([a-z]+)(?: \([a-z]+\))? \|", section, re.MULTILINE)
    assert rows == [action.value.lower() for action in TaskActionName]
