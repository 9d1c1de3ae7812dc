"""Errors of the embedded-server launcher."""

from __future__ import annotations


class EmbeddedServerError(Exception):
    """An embedded server could not be started, reached or stopped."""
