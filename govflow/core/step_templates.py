"""``uses:``: a step built on a shared step template file.

A step may name a template file relative to its workflow file, ``uses: ./steps/notify.yaml``.
The template is a mapping of step keys (``action``, ``with``, ``retry``, ``timeout``, ``if``,
``description``...); the step's own keys override the template's, and ``with:`` is merged key by
key (the step's keys win). A template sets no ``id`` (each step names itself) and uses no other
template (one level only).

The reference is checked here, purely: relative, no ``..`` segment, no backslash, ending in
``.yaml`` or ``.yml``. Reading it is the caller's :class:`TemplateReader`, which confines it to
the workflows folder (symbolic links included) and bounds its size; the template is then loaded
as safely as a workflow file (:func:`~govflow.core.yaml_source.load_yaml`: no anchors, no tags,
bounded depth). Every value the template brings keeps its position in the template file, so a
mistake in it is reported there, under the spec path of the step that uses it.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from govflow.core.spec_errors import SpecError, SpecProblem
from govflow.core.yaml_source import YamlSource, child_path, load_yaml

USES = "uses"
MAX_TEMPLATE_BYTES = 64 * 1024
"""The largest step template file accepted, in bytes."""
MAX_TEMPLATES = 32
"""The most distinct template files one workflow may use."""
MAX_REF_LENGTH = 255
_SUFFIXES = (".yaml", ".yml")
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_EXAMPLE = "like ./steps/notify-applicant.yaml"


class TemplateRefused(Exception):
    """A step template cannot be read (missing, outside the workflows folder, too big...)."""


class TemplateReader(Protocol):
    """Reads the template ``ref`` names for the workflow file ``workflow``.

    :returns: (the name problems in it are reported under, its text).
    :raises TemplateRefused: it cannot be read; the message says why.
    """

    def __call__(self, workflow: str, ref: str) -> tuple[str, str]: ...


def check_reference(ref: str) -> str | None:
    """Why ``ref`` is refused as a template reference, or ``None`` when its form is fine."""
    if not ref or len(ref) > MAX_REF_LENGTH:
        return f"expected the path of a step template file, {_EXAMPLE}"
    if ref.startswith(("/", "~")) or "\\" in ref or ":" in ref:
        return f"a step template is named relative to the workflow file, {_EXAMPLE}; got {ref!r}"
    segments = [s for s in ref.split("/") if s not in ("", ".")]
    if ".." in segments:
        return f"a step template must be inside the workflows folder ('..' is not allowed): {ref!r}"
    if not segments or not all(_SEGMENT.match(s) for s in segments):
        return f"expected the path of a step template file, {_EXAMPLE}; got {ref!r}"
    if not ref.endswith(_SUFFIXES):
        return f"a step template is a .yaml or .yml file, got {ref!r}"
    return None


class _Expansion:
    """The workflow's data and positions, with each ``uses:`` replaced by its template."""

    def __init__(self, source: YamlSource, read: TemplateReader | None) -> None:
        self.source = source
        self.read = read
        self.nodes = dict(source.nodes)
        self.keys = dict(source.keys)
        self.scalars = set(source.scalars)
        self.booleans = dict(source.yaml11_booleans)
        self.origins = dict(source.origins)
        self.problems: list[SpecProblem] = []
        self.templates: dict[str, YamlSource | None] = {}

    def template(self, path: str, ref: str) -> YamlSource | None:
        if ref in self.templates:
            return self.templates[ref]
        if len(self.templates) >= MAX_TEMPLATES:
            self.problems.append(
                self.source.problem(path, f"a workflow uses at most {MAX_TEMPLATES} templates")
            )
            return None
        self.templates[ref] = None
        if self.read is None:
            self.problems.append(
                self.source.problem(
                    path,
                    "uses: reads a file beside the workflow: it works for files in a workflows "
                    "folder (govflow workflows validate/load), not for an upload",
                )
            )
            return None
        try:
            filename, text = self.read(self.source.filename, ref)
            if len(text.encode("utf-8", errors="replace")) > MAX_TEMPLATE_BYTES:
                raise TemplateRefused(
                    f"step template {ref!r} is larger than {MAX_TEMPLATE_BYTES} bytes"
                )
            loaded = load_yaml(text, filename)
        except TemplateRefused as refused:
            self.problems.append(self.source.problem(path, str(refused)))
            return None
        except SpecError as error:
            self.problems.extend(error.problems)
            return None
        own = [
            loaded.problem(key, message, at_key=True)
            for key, message in (
                ("id", "a step template sets no id: each step that uses it names itself"),
                (USES, "a step template cannot use another template"),
            )
            if key in loaded.data
        ]
        if own:
            self.problems.extend(own)
            return None
        self.templates[ref] = loaded
        return loaded

    def bring(self, template: YamlSource, step_path: str, top: str) -> None:
        """Copy the positions of ``top`` (a template path) and below, under ``step_path``."""
        prefix = (top, f"{top}.", f"{top}[")
        for table, target in ((template.nodes, self.nodes), (template.keys, self.keys)):
            for path, position in table.items():
                if path == top or path.startswith(prefix[1:]):
                    target[f"{step_path}.{path}"] = position
        for path in template.scalars:
            if path == top or path.startswith(prefix[1:]):
                self.scalars.add(f"{step_path}.{path}")
        for path, text in template.yaml11_booleans.items():
            if path == top or path.startswith(prefix[1:]):
                self.booleans[f"{step_path}.{path}"] = text
        self.origins[f"{step_path}.{top}"] = template.filename

    def step(self, index: int, step: dict[str, Any]) -> dict[str, Any]:
        path = child_path("steps", index)
        uses_path = child_path(path, USES)
        ref = step[USES]
        own = {key: value for key, value in step.items() if key != USES}
        if not isinstance(ref, str):
            self.problems.append(
                self.source.problem(uses_path, f"expected the path of a step template, {_EXAMPLE}")
            )
            return own
        refused = check_reference(ref)
        if refused is not None:
            self.problems.append(self.source.problem(uses_path, refused))
            return own
        template = self.template(uses_path, ref)
        if template is None:
            return own
        merged: dict[str, Any] = {}
        for key, value in template.data.items():
            if key == "with" and isinstance(value, dict) and isinstance(own.get(key), dict):
                with_block = dict(value)
                for name in value:
                    if name not in own[key]:
                        self.bring(template, path, child_path(key, name))
                with_block.update(own[key])
                merged[key] = with_block
            elif key not in own:
                self.bring(template, path, key)
                merged[key] = value
        for key, value in own.items():
            merged.setdefault(key, value)
        return merged


def expand_uses(source: YamlSource, read: TemplateReader | None) -> YamlSource:
    """``source`` with every step's ``uses:`` replaced by its template's keys.

    :param read: reads a template beside the workflow file; ``None`` where there is no folder
        (an upload): a step with ``uses:`` is then a problem.
    :raises SpecError: a reference is refused, a template cannot be read or is not a valid
        template; each problem at its position (in the workflow or in the template).
    """
    steps = source.data.get("steps")
    if not isinstance(steps, list) or not any(
        isinstance(step, dict) and USES in step for step in steps
    ):
        return source
    expansion = _Expansion(source, read)
    expanded = [
        expansion.step(index, step) if isinstance(step, dict) and USES in step else step
        for index, step in enumerate(steps)
    ]
    if expansion.problems:
        raise SpecError(expansion.problems)
    return YamlSource(
        filename=source.filename,
        data={**source.data, "steps": expanded},
        nodes=expansion.nodes,
        keys=expansion.keys,
        scalars=frozenset(expansion.scalars),
        yaml11_booleans=expansion.booleans,
        origins=expansion.origins,
    )


__all__ = [
    "MAX_TEMPLATES",
    "MAX_TEMPLATE_BYTES",
    "TemplateReader",
    "TemplateRefused",
    "check_reference",
    "expand_uses",
]
