"""Workflow files on disk: the files and folders named on a command line, and the step templates
their ``uses:`` read.

A folder gives its ``*.yaml``/``*.yml`` files (not those of its subfolders, where step templates
live); a file is taken as given. Each workflow file has a *root*, the folder it was found in (for
a file named directly, its own folder): the step templates it uses must resolve inside that root,
symbolic links included, be regular files and hold at most
:data:`~govflow.core.step_templates.MAX_TEMPLATE_BYTES` bytes of UTF-8.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from govflow.core.step_templates import MAX_TEMPLATE_BYTES, TemplateRefused

SUFFIXES = (".yaml", ".yml")


def discover(paths: Iterable[Path]) -> dict[Path, Path]:
    """Workflow file -> its root, in the order given (a folder's files sorted), each file once."""
    found: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file()):
                found.setdefault(file, path)
        else:
            found.setdefault(path, path.parent)
    return found


class TemplateFiles:
    """Reads step templates beside workflow files, confined to each file's root."""

    def __init__(self, roots: Mapping[str, Path]) -> None:
        """:param roots: workflow file (as its problems name it) -> the folder it may read in."""
        self._roots = dict(roots)

    def __call__(self, workflow: str, ref: str) -> tuple[str, str]:
        root = self._roots.get(workflow)
        if root is None:
            raise TemplateRefused(f"step template {ref!r}: this file has no workflows folder")
        target = Path(workflow).parent / ref
        shown = os.path.normpath(target)
        try:
            real = target.resolve(strict=True)
            inside = real.is_relative_to(root.resolve(strict=True))
        except (OSError, RuntimeError):
            raise TemplateRefused(f"step template {ref!r} not found ({shown})") from None
        if not inside:
            raise TemplateRefused(
                f"step template {ref!r} resolves outside the workflows folder ({root})"
            )
        if not real.is_file():
            raise TemplateRefused(f"step template {ref!r} is not a file ({shown})")
        try:
            with real.open("rb") as handle:
                raw = handle.read(MAX_TEMPLATE_BYTES + 1)
        except OSError as exc:
            raise TemplateRefused(f"step template {ref!r} cannot be read: {exc.strerror}") from None
        if len(raw) > MAX_TEMPLATE_BYTES:
            raise TemplateRefused(
                f"step template {ref!r} is larger than {MAX_TEMPLATE_BYTES} bytes"
            )
        try:
            return shown, raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TemplateRefused(f"step template {ref!r} is not UTF-8 text") from None
