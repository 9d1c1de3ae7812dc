"""Secret providers: where ``secret('NAME')`` in a step's templates finds its value.

GovFlow asks the environment first (``GOVFLOW_SECRET_<NAME>``), then each provider the plugins
offer through ``govflow_secret_providers``, in the order the plugins were registered; the first
value found is used. A provider is called while a step's templates are evaluated, in the
expression thread and within the expression time limit: answer from memory (a cache filled at
startup or refreshed in the background), never with a slow network call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from govflow.core.secrets import SecretLookup

ENV_PREFIX = "GOVFLOW_SECRET_"
"""The environment variables the built-in provider reads: ``GOVFLOW_SECRET_<NAME>``."""


@runtime_checkable
class SecretProvider(Protocol):
    """Gives secret values by name."""

    def get_secret(self, name: str) -> str | None:
        """The value of the secret ``name`` (uppercase letters, digits, underscores), or
        ``None`` when this provider does not know it. Must be fast and thread-safe."""
        ...


class EnvironmentSecrets:
    """The built-in provider: ``GOVFLOW_SECRET_<NAME>`` of the environment it is given (the
    process's, read when the process starts).

    :param env: the environment variables.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self._values = {
            key.removeprefix(ENV_PREFIX): value
            for key, value in env.items()
            if key.startswith(ENV_PREFIX)
        }

    def get_secret(self, name: str) -> str | None:
        return self._values.get(name)


def secret_lookup(providers: Sequence[SecretProvider]) -> SecretLookup:
    """One lookup over ``providers``: the first value one of them knows."""
    chain = tuple(providers)

    def lookup(name: str) -> str | None:
        for provider in chain:
            value = provider.get_secret(name)
            if value is not None:
                return value
        return None

    return lookup
