"""A plugin whose import fails, registered with ``GOVFLOW_PLUGINS_MODULES`` (tests only)."""

from __future__ import annotations

raise ImportError("libfoo is not installed")
