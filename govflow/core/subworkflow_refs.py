"""The child workflows a workflow file's ``workflow`` steps name, checked against the workflows
known when it is loaded.

:func:`sub_workflow_references` finds every ``workflow`` step whose ``with.name`` is written
literally (a template is only known at run time, where the step fails naming the problem), with
its ``version`` and the input names its literal ``inputs`` mapping gives. :func:`check_references`
reports, each at its spec path: a name no known workflow has (only where every workflow is known,
i.e. against the database), a version the workflow does not have, an input the child workflow
does not declare, and a required input of the child's that the step leaves out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from govflow.core.expressions import is_template
from govflow.core.spec import InputSpec
from govflow.core.struct_check import suggest

WORKFLOW_ACTION = "workflow"
"""The action of a sub-workflow step."""


@dataclass(frozen=True, slots=True)
class SubWorkflowRef:
    """One ``workflow`` step's literal reference to its child workflow."""

    step: str
    """The step's spec path, ``steps[i]``."""
    name: str
    version: int | None
    inputs: tuple[str, ...] | None
    """The input names its ``inputs`` gives (``None``: not a literal mapping, unknowable)."""


@dataclass(frozen=True, slots=True)
class WorkflowSignature:
    """What a reference is checked against: a workflow's versions and declared inputs.

    :ivar versions: the version numbers that exist (empty: not known yet, as for a file of the
        same load that is not saved).
    """

    inputs: Mapping[str, InputSpec]
    versions: frozenset[int] = frozenset()


def sub_workflow_references(data: object) -> list[SubWorkflowRef]:
    """The literal child references of the ``workflow`` steps of a workflow file's data."""
    steps = data.get("steps") if isinstance(data, Mapping) else None
    if not isinstance(steps, list):
        return []
    found: list[SubWorkflowRef] = []
    for index, step in enumerate(steps):
        if not isinstance(step, Mapping) or step.get("action") != WORKFLOW_ACTION:
            continue
        with_ = step.get("with")
        if not isinstance(with_, Mapping):
            continue
        name = with_.get("name")
        if not isinstance(name, str) or is_template(name):
            continue
        version = with_.get("version")
        inputs = with_.get("inputs", {})
        found.append(
            SubWorkflowRef(
                step=f"steps[{index}]",
                name=name,
                version=version if isinstance(version, int) else None,
                inputs=tuple(str(k) for k in inputs) if isinstance(inputs, Mapping) else None,
            )
        )
    return found


def check_references(
    refs: Iterable[SubWorkflowRef],
    known: Mapping[str, WorkflowSignature],
    *,
    every_workflow_known: bool,
) -> list[tuple[str, str]]:
    """The problems of ``refs`` against the ``known`` workflows, as (spec path, message).

    :param every_workflow_known: ``known`` holds every workflow there is, so a name it lacks
        is unknown (``False``: such a name is left for the database to answer).
    """
    problems: list[tuple[str, str]] = []
    for ref in refs:
        signature = known.get(ref.name)
        if signature is None:
            if every_workflow_known:
                hint = suggest(ref.name, set(known)) or ""
                problems.append((f"{ref.step}.with.name", f"no workflow {ref.name!r}{hint}"))
            continue
        if ref.version is not None and signature.versions and ref.version not in signature.versions:
            have = ", ".join(str(v) for v in sorted(signature.versions))
            problems.append(
                (
                    f"{ref.step}.with.version",
                    f"workflow {ref.name!r} has no version {ref.version} (it has {have})",
                )
            )
        if ref.inputs is None:
            continue
        for name in ref.inputs:
            if name not in signature.inputs:
                hint = suggest(name, set(signature.inputs)) or ""
                problems.append(
                    (
                        f"{ref.step}.with.inputs.{name}",
                        f"workflow {ref.name!r} declares no input {name!r}{hint}",
                    )
                )
        missing = [
            name
            for name, spec in signature.inputs.items()
            if spec.is_required and name not in ref.inputs
        ]
        if missing:
            where = f"{ref.step}.with.inputs" if ref.inputs else f"{ref.step}.with"
            problems.append(
                (where, f"workflow {ref.name!r} requires the input {', '.join(missing)}")
            )
    return problems
