"""docs/plugins.md documents every hook, and its marked examples run."""

from __future__ import annotations

import inspect
import re
import sys
import types
from pathlib import Path

import pytest

from govflow.plugins import hookspecs

DOC = Path(__file__).parents[3] / "docs" / "plugins.md"
TESTED_BLOCK = re.compile(r"<!-- test -->\s*```python\n(?P<code>.*?)```", re.DOTALL)


def hooks() -> list[str]:
    return sorted(name for name in vars(hookspecs) if name.startswith("govflow_"))


def signature(name: str) -> str:
    """``govflow_startup(settings: PluginSettings) -> Awaitable[None] | None``."""
    sig = inspect.signature(getattr(hookspecs, name))
    arguments = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({arguments}) -> {sig.return_annotation}"


@pytest.mark.parametrize("hook", hooks())
def test_plugin_hooks_are_documented(hook: str) -> None:
    text = DOC.read_text()
    assert f"### {hook}(" in text, f"docs/plugins.md has no section for {hook}"
    assert f"`{signature(hook)}`" in text, f"docs/plugins.md lacks `{signature(hook)}`"
    for argument in inspect.signature(getattr(hookspecs, hook)).parameters:
        assert f"- `{argument}`:" in text.split(f"### {hook}(")[1].split("###")[0]


def test_hook_arguments_have_param_docs() -> None:
    for hook in hooks():
        doc = getattr(hookspecs, hook).__doc__ or ""
        for argument in inspect.signature(getattr(hookspecs, hook)).parameters:
            assert f":param {argument}:" in doc, f"{hook} does not document {argument}"


def test_marked_examples_run() -> None:
    blocks = [match.group("code") for match in TESTED_BLOCK.finditer(DOC.read_text())]
    assert len(blocks) >= 3
    module = types.ModuleType("docs_plugins_md")
    sys.modules[module.__name__] = module  # msgspec resolves annotations in the module
    try:
        for code in blocks:
            exec(compile(code, str(DOC), "exec"), vars(module))  # noqa: S102 - our own docs
    finally:
        del sys.modules[module.__name__]
