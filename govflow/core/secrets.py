"""Secret references: ``secret('NAME')`` in a step's templates, resolved when the step runs.

A secret's value exists only in the worker's memory during one attempt: the attempt's
:class:`SecretSession` resolves names through the providers (a lookup function given by the
caller) and remembers what it resolved, and :func:`redact` / :func:`redact_event` replace every
occurrence of those values, wherever the attempt's results would be stored (the rendered
parameters kept for recovery, the output, the error, a human task's payload), by
``[secret:NAME]``. A name no provider knows is an :class:`UnknownSecret`, which fails the step
with ``UNKNOWN_SECRET``.

Pure: the lookup is passed in; nothing here reads the environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from govflow.core.engine import (
    AttemptFailedBusiness,
    AttemptFailedTechnical,
    AttemptOutcomeUnknown,
    AttemptSucceeded,
    AttemptSuspended,
    Event,
    StepError,
)
from govflow.core.expression_limits import ExpressionError

SECRET_FUNCTION = "secret"  # noqa: S105 -- a function name, not a password
"""The name templates call: ``secret('NAME')``."""

SECRET_NAME_PATTERN = r"^[A-Z][A-Z0-9_]{0,127}$"  # noqa: S105 -- a pattern
"""A secret's name: an uppercase letter, then uppercase letters, digits and underscores."""

_NAME = re.compile(SECRET_NAME_PATTERN)

SecretLookup = Callable[[str], str | None]
"""The providers, asked in order: the value of a secret, ``None`` when none knows it."""


def no_secrets(name: str) -> str | None:
    """The lookup that knows no secret."""
    return None


class UnknownSecret(ExpressionError):
    """No secret provider knows the secret a template asked for."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"unknown secret {name!r}: no secret provider knows it (the environment's "
            f"GOVFLOW_SECRET_{name}, then the plugins' providers)"
        )
        self.name = name


def redacted(name: str) -> str:
    """What stands for the secret ``name`` wherever its value would be stored."""
    return f"[secret:{name}]"


class SecretSession:
    """The ``secret`` function of one step attempt: resolves and remembers what it resolved.

    :param lookup: the secret providers, asked in order.
    """

    def __init__(self, lookup: SecretLookup) -> None:
        self._lookup = lookup
        self.resolved: dict[str, str] = {}
        """Name -> value of every secret this attempt read."""

    def __call__(self, name: object) -> str:
        if not isinstance(name, str) or _NAME.match(name) is None:
            raise ExpressionError(
                f"secret() takes a name of uppercase letters, digits and underscores, got {name!r}"
            )
        value = self.resolved.get(name)
        if value is None:
            value = self._lookup(name)
            if value is None:
                raise UnknownSecret(name)
            self.resolved[name] = value
        return value


def redact(value: Any, secrets: Mapping[str, str]) -> Any:
    """``value`` (JSON-like data) with each secret's value replaced by ``[secret:NAME]`` in
    every string and mapping key; longer values first, empty ones left alone."""
    pairs = sorted(
        ((secret, redacted(name)) for name, secret in secrets.items() if secret),
        key=lambda pair: -len(pair[0]),
    )
    if not pairs:
        return value
    return _redact(value, pairs)


def _redact(value: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for secret, mark in pairs:
            value = value.replace(secret, mark)
        return value
    if isinstance(value, Mapping):
        return {_redact(key, pairs): _redact(item, pairs) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item, pairs) for item in value]
    return value


def _error(error: StepError, secrets: Mapping[str, str]) -> StepError:
    return StepError(
        error.code, redact(error.message, secrets), redact(dict(error.details), secrets)
    )


def redact_event(event: Event, secrets: Mapping[str, str]) -> Event:
    """``event`` with the secrets' values redacted from what it carries to storage (an output,
    an error, a suspension's payload); other events are returned as they are."""
    if not secrets:
        return event
    match event:
        case AttemptSucceeded(output=output):
            return AttemptSucceeded(redact(output, secrets))
        case AttemptFailedBusiness(error=error):
            return AttemptFailedBusiness(_error(error, secrets))
        case AttemptFailedTechnical(error=error, rand=rand, retry_after=retry_after):
            return AttemptFailedTechnical(_error(error, secrets), rand, retry_after)
        case AttemptOutcomeUnknown(error=error, rand=rand):
            return AttemptOutcomeUnknown(_error(error, secrets), rand)
        case AttemptSuspended(payload=payload, reason=reason):
            return AttemptSuspended(redact(payload, secrets), reason)
    return event
