"""Use case: load a set of workflow files, all or nothing.

Every file is validated against the installed actions' input Structs and every problem of every
file is collected; two files may not define the same workflow name, and each department a
workflow names (its own, and those its steps assign work to) must exist. If anything is wrong,
nothing is saved and :class:`SpecError` carries every problem (``file:line:col: path:
message``). Otherwise each workflow is saved through the
:class:`~govflow.usecases.ports_workflows.WorkflowStore` inside one unit of work; unchanged
content is a no-op, changed content adds a version.

Reading the files is the caller's business: this module receives ``(path, text)`` pairs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from govflow.core.department_refs import department_references, user_references
from govflow.core.output_refs import workflow_outputs
from govflow.core.spec import WorkflowSpec
from govflow.core.spec_errors import SpecError, SpecProblem
from govflow.core.step_templates import TemplateReader, expand_uses
from govflow.core.struct_check import suggest
from govflow.core.subworkflow_refs import (
    SubWorkflowRef,
    WorkflowSignature,
    check_references,
    sub_workflow_references,
)
from govflow.core.validation import validate_source
from govflow.core.versioning import content_hash
from govflow.core.yaml_source import YamlSource, load_yaml
from govflow.usecases.audit import SYSTEM, Actor
from govflow.usecases.ports_workflows import SaveResult, WorkflowStore

__all__ = [
    "SourceFile",
    "ValidWorkflow",
    "load_workflow_files",
    "save_workflows",
    "unknown_departments",
    "unknown_sub_workflows",
    "unknown_users",
    "validate_workflow_files",
]


class SourceFile(msgspec.Struct, frozen=True):
    """One workflow file: the name problems are reported under, and its text."""

    path: str
    text: str


@dataclass(frozen=True, slots=True)
class ValidWorkflow:
    """A file that passed validation, with its spec and version hash.

    :ivar departments: (spec path, code) of every department it names: its own, then those its
        steps' inputs name literally (``assignee: {department: ...}``).
    :ivar users: (spec path, email) of every user its steps' inputs name literally
        (``assignee: {user: ...}``).
    """

    file: SourceFile
    spec: WorkflowSpec
    content_hash: str
    source: YamlSource
    departments: tuple[tuple[str, str], ...] = ()
    users: tuple[tuple[str, str], ...] = ()
    sub_workflows: tuple[SubWorkflowRef, ...] = ()
    """The child workflows its ``workflow`` steps name literally."""


def _validate_one(
    file: SourceFile,
    source: YamlSource,
    actions: Mapping[str, type[msgspec.Struct]],
    children: Mapping[str, frozenset[str]],
    now: datetime | None = None,
) -> ValidWorkflow:
    spec = validate_source(source, actions, children, now=now)
    named = (("department", spec.department), *department_references(source.data, actions))
    return ValidWorkflow(
        file=file,
        spec=spec,
        content_hash=content_hash(spec),
        source=source,
        departments=named,
        users=tuple(user_references(source.data, actions)),
        sub_workflows=tuple(sub_workflow_references(source.data)),
    )


def _duplicate_names(valid: Sequence[ValidWorkflow]) -> list[SpecProblem]:
    first: dict[str, str] = {}
    problems = []
    for item in valid:
        name = item.spec.name
        if name in first:
            message = f"workflow {name!r} is also defined in {first[name]}"
            problems.append(item.source.problem("name", message))
        else:
            first[name] = item.file.path
    return problems


def validate_workflow_files(
    files: Sequence[SourceFile],
    actions: Mapping[str, type[msgspec.Struct]],
    templates: TemplateReader | None = None,
    now: datetime | None = None,
) -> list[ValidWorkflow]:
    """Validate every file; the workflows in file order.

    :param actions: action name -> the action's input Struct.
    :param templates: reads the step templates ``uses:`` names beside a file; without it (an
        upload) a step with ``uses:`` is refused.
    :param now: the moment a ``wait`` step's literal ``until`` is checked against (the clock
        when not given).
    :raises SpecError: with every problem of every file (a workflow name used twice too).
    """
    valid: list[ValidWorkflow] = []
    problems: list[SpecProblem] = []
    moment = now or datetime.now(UTC)
    loaded: list[YamlSource | SpecError] = []
    for file in files:
        try:
            loaded.append(expand_uses(load_yaml(file.text, file.path), templates))
        except SpecError as error:
            loaded.append(error)
    # a workflow step's child among these files: its outputs: are what the step gives
    children = workflow_outputs(s.data for s in loaded if isinstance(s, YamlSource))
    for file, source in zip(files, loaded, strict=True):
        try:
            if isinstance(source, SpecError):
                raise source
            valid.append(_validate_one(file, source, actions, children, moment))
        except SpecError as error:
            problems.extend(error.problems)
    problems.extend(_duplicate_names(valid))
    problems.extend(unknown_sub_workflows(valid, {}, every_workflow_known=False))
    if problems:
        raise SpecError(problems)
    return valid


def unknown_sub_workflows(
    valid: Sequence[ValidWorkflow],
    stored: Mapping[str, WorkflowSignature],
    *,
    every_workflow_known: bool,
) -> list[SpecProblem]:
    """A problem, at its position, for each child workflow a ``workflow`` step names that
    neither ``stored`` nor ``valid`` has (when ``every_workflow_known``), each version it lacks,
    and each input that does not fit its declared inputs (checked against the child's current
    definition: the one in ``valid`` if it is loaded with it; a step pinning a version is
    checked for the version only)."""
    known = dict(stored)
    for item in valid:
        versions = stored[item.spec.name].versions if item.spec.name in stored else frozenset()
        known[item.spec.name] = WorkflowSignature(inputs=item.spec.inputs, versions=versions)
    problems: list[SpecProblem] = []
    for item in valid:
        refs = [
            ref if ref.version is None else dataclasses.replace(ref, inputs=None)
            for ref in item.sub_workflows
        ]
        for path, message in check_references(
            refs, known, every_workflow_known=every_workflow_known
        ):
            # an input the child does not declare: at its key, as an unknown key is
            at_key = ".with.inputs." in path
            problems.append(item.source.problem(path, message, at_key=at_key))
    return problems


def unknown_departments(valid: Sequence[ValidWorkflow], known: set[str]) -> list[SpecProblem]:
    """A problem, at its position, for each department a workflow names that is not ``known``
    (its own department, and those its steps assign work to)."""
    problems = []
    for item in valid:
        for path, code in item.departments or (("department", item.spec.department),):
            if code not in known:
                hint = suggest(code, known) or (
                    f" (known departments: {', '.join(sorted(known)) or 'none'})"
                )
                problems.append(item.source.problem(path, f"unknown department {code!r}{hint}"))
    return problems


def unknown_users(valid: Sequence[ValidWorkflow], active: set[str]) -> list[SpecProblem]:
    """A problem, at its position, for each user a workflow names by email that no ``active``
    user has (``active`` lowercased: emails match case-insensitively, as logins do)."""
    return [
        item.source.problem(path, f"no active user has the email {email!r}")
        for item in valid
        for path, email in item.users
        if email.lower() not in active
    ]


async def load_workflow_files(
    files: Sequence[SourceFile],
    actions: Mapping[str, type[msgspec.Struct]],
    store: WorkflowStore,
    actor: Actor = SYSTEM,
    templates: TemplateReader | None = None,
) -> list[SaveResult]:
    """Validate ``files`` and save every workflow in them, or save none.

    :param files: the workflow files, in the order results are wanted (usually sorted by path).
    :param actions: action name -> the action's input Struct.
    :param store: where workflows are kept.
    :param actor: who loads them (recorded as ``created_by`` and in the audit log).
    :param templates: reads the step templates ``uses:`` names (see
        :func:`validate_workflow_files`).
    :returns: one result per file, in file order.
    :raises SpecError: a file is invalid or names an unknown department; nothing was saved.
    :raises UnknownDepartmentError: a department vanished while loading; nothing was saved.
    """
    return await save_workflows(validate_workflow_files(files, actions, templates), store, actor)


async def save_workflows(
    valid: Sequence[ValidWorkflow], store: WorkflowStore, actor: Actor = SYSTEM
) -> list[SaveResult]:
    """Save workflows :func:`validate_workflow_files` accepted, all or none.

    :returns: one result per workflow, in the order given.
    :raises SpecError: a workflow names an unknown department; nothing was saved.
    :raises UnknownDepartmentError: a department vanished while saving; nothing was saved.
    """
    results: dict[str, SaveResult] = {}
    async with store.atomic():
        problems = unknown_departments(valid, await store.department_codes())
        if any(item.sub_workflows for item in valid):
            stored = await store.workflow_signatures()
            problems += unknown_sub_workflows(valid, stored, every_workflow_known=True)
        if problems:
            raise SpecError(problems)
        # Saving in name order takes the per-workflow locks in one order in every loader.
        for item in sorted(valid, key=lambda v: v.spec.name):
            results[item.spec.name] = await store.save(
                item.spec, item.file.text, item.file.path, actor
            )
    return [results[item.spec.name] for item in valid]
