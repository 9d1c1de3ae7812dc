"""``docs/engine.md`` shows exactly the diagrams the transition tables generate."""

from __future__ import annotations

import re
from pathlib import Path

from govflow.core.machines import MACHINES, to_mermaid

DOC = Path(__file__).resolve().parents[3] / "docs" / "engine.md"
MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)


def test_engine_doc_contains_exactly_the_generated_diagrams() -> None:
    documented = MERMAID_BLOCK.findall(DOC.read_text(encoding="utf-8"))
    generated = [to_mermaid(machine) for machine in MACHINES]
    assert documented == generated, (
        "docs/engine.md drifted from the transition tables; paste these blocks in order:\n\n"
        + "\n".join(f"```mermaid\n{diagram}```\n" for diagram in generated)
    )


def test_mermaid_has_one_labelled_edge_per_transition() -> None:
    for machine in MACHINES:
        diagram = to_mermaid(machine)
        edges = [line for line in diagram.splitlines() if ": " in line]
        assert len(edges) == sum(len(row) for row in machine.table.values())
        assert diagram.startswith(f"stateDiagram-v2\n    [*] --> {machine.initial.value}\n")
