"""YAML 1.1 booleans where text is meant: ``values: [on, off]`` must not silently become
``[true, false]``.

The loader reads YAML 1.1, where an unquoted ``on``, ``off``, ``yes`` or ``no`` (in any case) is a
boolean; it remembers each one with its text
(:attr:`~govflow.core.yaml_source.YamlSource.yaml11_booleans`). Here they are turned into
problems wherever text is expected:

* an input's ``values`` and ``default`` (unless the input is a ``boolean``): a boolean there is
  accepted by the schema, so it would pass unnoticed, and is reported on its own;
* anywhere else a problem is already reported at such a value, for instance
  ``expected text, got True`` for ``title: yes`` or a ``with:`` key an action types as text: the
  problem gets the hint to quote it.

``y`` and ``n`` are text for this loader already (PyYAML reads them as strings), and ``true`` and
``false`` are booleans in every YAML version: neither is reported.
"""

from __future__ import annotations

from collections.abc import Iterable

from govflow.core.spec_errors import SpecProblem
from govflow.core.yaml_source import YamlSource, child_path


def _hint(text: str) -> str:
    value = "true" if text.lower() in ("on", "yes") else "false"
    return (
        f"unquoted {text} is the boolean {value} in YAML 1.1: write '{text}' in quotes for the text"
    )


def _text_expected(source: YamlSource) -> list[str]:
    """The paths of YAML 1.1 booleans in places only text (or a number) is meant."""
    inputs = source.data.get("inputs")
    if not isinstance(inputs, dict):
        return []
    found: list[str] = []
    for name, spec in inputs.items():
        if not isinstance(spec, dict) or spec.get("type") == "boolean":
            continue
        base = child_path("inputs", str(name))
        for key in ("values", "default"):
            prefix = child_path(base, key)
            found.extend(
                path
                for path in source.yaml11_booleans
                if path == prefix or path.startswith((f"{prefix}[", f"{prefix}."))
            )
    return found


def with_yaml11_booleans(source: YamlSource, problems: Iterable[SpecProblem]) -> list[SpecProblem]:
    """``problems`` with the hint to quote added to each one about a YAML 1.1 boolean, and a
    problem for each such boolean in an input's ``values`` or ``default`` not yet reported."""
    result: list[SpecProblem] = []
    hinted: set[str] = set()
    for problem in problems:
        text = source.yaml11_booleans.get(problem.path)
        if text is not None:
            message = f"{problem.message} ({_hint(text)})"
            problem = SpecProblem(
                file=problem.file,
                line=problem.line,
                col=problem.col,
                path=problem.path,
                message=message,
            )
            hinted.add(problem.path)
        result.append(problem)
    for path in _text_expected(source):
        if path not in hinted:
            result.append(source.problem(path, _hint(source.yaml11_booleans[path])))
    return result
