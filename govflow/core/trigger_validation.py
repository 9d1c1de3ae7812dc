"""The checks of a workflow's ``triggers:`` beyond its shape: a cron expression and a time zone
that can be used, a schedule's inputs that fit the workflow's, a webhook's mapping onto
declared inputs. Each problem is (path, message, at_key) for the validator's report."""

from __future__ import annotations

from typing import Any

import msgspec

from govflow.core.inputs import check_value
from govflow.core.schedule import ScheduleError, check_cron, zone
from govflow.core.spec import InputSpec
from govflow.core.struct_check import suggest
from govflow.core.yaml_source import child_path

Problem = tuple[str, str, bool]


def trigger_problems(data: dict[str, Any]) -> list[Problem]:
    """What is wrong with the triggers of the workflow file ``data`` (its structure is checked
    elsewhere: values of the wrong type are left alone here)."""
    block = data.get("triggers")
    if not isinstance(block, dict):
        return []
    declared = _declared_inputs(data)
    problems: list[Problem] = []
    schedule = block.get("schedule")
    if isinstance(schedule, dict):
        problems += _schedule_problems(schedule, declared, "triggers.schedule")
    elif isinstance(schedule, list):
        for index, entry in enumerate(schedule):
            if isinstance(entry, dict):
                path = child_path("triggers.schedule", index)
                problems += _schedule_problems(entry, declared, path)
    webhook = block.get("webhook")
    if isinstance(webhook, dict) and isinstance(webhook.get("inputs"), dict):
        path = "triggers.webhook.inputs"
        for name in webhook["inputs"]:
            if str(name) not in declared:
                problems.append(_unknown(path, str(name), declared))
    return problems


def _declared_inputs(data: dict[str, Any]) -> dict[str, InputSpec | None]:
    """The workflow's inputs by name (``None``: an input whose own declaration is broken)."""
    block = data.get("inputs")
    if not isinstance(block, dict):
        return {}
    declared: dict[str, InputSpec | None] = {}
    for name, raw in block.items():
        try:
            declared[str(name)] = msgspec.convert(raw, InputSpec)
        except msgspec.ValidationError:
            declared[str(name)] = None
    return declared


def _unknown(path: str, name: str, declared: dict[str, InputSpec | None]) -> Problem:
    known = ", ".join(sorted(declared)) or "none"
    hint = suggest(name, set(declared)) or f" (known inputs: {known})"
    return (child_path(path, name), f"unknown input {name!r}{hint}", True)


def _schedule_problems(
    schedule: dict[str, Any], declared: dict[str, InputSpec | None], path: str
) -> list[Problem]:
    problems: list[Problem] = []
    cron = schedule.get("cron")
    if isinstance(cron, str):
        try:
            check_cron(cron)
        except ScheduleError as error:
            problems.append((child_path(path, "cron"), str(error), False))
    timezone = schedule.get("timezone")
    if isinstance(timezone, str):
        try:
            zone(timezone)
        except ScheduleError as error:
            problems.append((child_path(path, "timezone"), str(error), False))
    given = schedule.get("inputs", {})
    if not isinstance(given, dict):
        return problems
    inputs_path = child_path(path, "inputs")
    for name, value in given.items():
        if str(name) not in declared:
            problems.append(_unknown(inputs_path, str(name), declared))
            continue
        spec = declared[str(name)]
        if spec is not None:
            for message in check_value(spec, value):
                problems.append((child_path(inputs_path, str(name)), message, False))
    for name, spec in declared.items():
        if spec is not None and spec.is_required and name not in given:
            problems.append(
                (
                    inputs_path if "inputs" in schedule else path,
                    f"the input {name!r} is required and has no default: give its value "
                    "here (a scheduled execution has no one to ask)",
                    "inputs" in schedule,
                )
            )
    return problems
