"""The examples of GovFlow's Markdown documents, read the way the docs test runs them.

Conventions a document follows (``tests/integration/test_docs_executed.py`` enforces them):

- Every fenced ``yaml`` block is a complete workflow that is loaded into a real database and
  run by the engine, unless an HTML comment right before it says otherwise:
  ``<!-- example: fragment -->`` (a piece of a workflow, not run) or
  ``<!-- example: refused -->`` (loading it must fail).
- A ``sh`` block right after a workflow gives its runs, one ``govflow executions start NAME
  -i KEY=VALUE ...`` command each; without one, the workflow runs once without inputs.
- A run's expected outcome follows its command as ``# => STATUS step=STATUS ...``: the
  execution's status, then the status of each step that did not complete. Without it the
  execution and every step must be ``COMPLETED``. Steps not named are ``COMPLETED``, except that
  those after the first named step that did not complete must still be ``PENDING``.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\s*$")
_MARKER = re.compile(r"^<!--\s*example:\s*(?P<kind>[\w -]+?)\s*-->$")
_EXPECT = re.compile(r"#\s*=>\s*(?P<expect>.*)$")
_STEP_STATUS = re.compile(r"^(?P<step>[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)=(?P<status>[A-Z_]+)$")
_STATUS_LITERAL = re.compile(
    r"\.status\s*(?:==|!=)\s*['\"](?P<a>[^'\"]*)['\"]"
    r"|['\"](?P<b>[^'\"]*)['\"]\s*(?:==|!=)\s*[\w.]+\.status\b"
    r"|\.status\s+(?:not\s+)?in\s*[\[(](?P<c>[^\])]*)[\])]"
)
_NOT_REACHED = frozenset({"WAITING", "FAILED", "NEEDS_ATTENTION", "CANCELED"})
MARKERS = frozenset({"fragment", "refused"})


@dataclass(frozen=True)
class Block:
    """One fenced block of a document."""

    doc: str
    line: int
    lang: str
    text: str
    marker: str | None
    next: Block | None = None

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


@dataclass(frozen=True)
class Run:
    """One documented start of a workflow and the outcome the document states."""

    workflow: str
    inputs: dict[str, Any]
    status: str = "COMPLETED"
    steps: dict[str, str] = field(default_factory=dict)

    def expected(self, step_keys: list[str]) -> list[tuple[str, str]]:
        """The status of every step, in order, that this run's statement implies."""
        statuses, reached = [], True
        for key in step_keys:
            status = self.steps.get(key, "COMPLETED" if reached else "PENDING")
            statuses.append((key, status))
            if status in _NOT_REACHED:
                reached = False
        return statuses


def blocks(path: Path) -> list[Block]:
    """Every fenced block of the Markdown file ``path``, each knowing the block right after it
    (when only blank lines separate them) and the ``<!-- example: ... -->`` marker before it."""
    doc = str(path.relative_to(ROOT))
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[tuple[int, int, str, str, str | None]] = []
    index = 0
    while index < len(lines):
        opened = _FENCE.match(lines[index])
        if opened is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        before = [line.strip() for line in lines[:index] if line.strip()]
        marked = _MARKER.match(before[-1]) if before else None
        found.append(
            (
                index,
                end,
                opened.group("lang"),
                "\n".join(lines[index + 1 : end]) + "\n",
                marked.group("kind") if marked else None,
            )
        )
        index = end + 1
    result: list[Block] = []
    for start, end, lang, text, marker in reversed(found):
        follower = result[0] if result else None
        adjacent = follower is not None and all(
            not line.strip() for line in lines[end + 1 : follower.line - 1]
        )
        block = Block(doc, start + 1, lang, text, marker, follower if adjacent else None)
        result.insert(0, block)
    return result


def _input_value(raw: str) -> Any:
    """As ``govflow executions start -i KEY=VALUE`` reads a value: JSON if it parses, else text."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _commands(text: str) -> list[tuple[list[str], str | None]]:
    """Each shell command of ``text`` (continued lines joined) with its ``# =>`` statement."""
    joined = re.sub(r"\\\n\s*", " ", text)
    commands: list[tuple[list[str], str | None]] = []
    for line in joined.splitlines():
        expect = _EXPECT.search(line)
        code = line[: expect.start()] if expect else line
        words = shlex.split(code, comments=True)
        if words:
            commands.append((words, expect.group("expect") if expect else None))
        elif expect and commands:
            commands[-1] = (commands[-1][0], expect.group("expect"))
    return commands


def start_arguments(words: list[str]) -> list[str] | None:
    """The arguments after ``govflow executions start`` in ``words``, or ``None`` when the
    command is something else (``.venv/bin/govflow`` counts as ``govflow``)."""
    if len(words) < 3 or Path(words[0]).name != "govflow" or words[1:3] != ["executions", "start"]:
        return None
    return words[3:]


def parse_run(arguments: list[str], expect: str | None) -> Run:
    """A :class:`Run` from the arguments of ``govflow executions start`` and its statement."""
    workflow, inputs, rest = None, {}, list(arguments)
    while rest:
        word = rest.pop(0)
        if word in ("-i", "--input"):
            key, sep, raw = rest.pop(0).partition("=")
            if not sep:
                raise ValueError(f"-i needs KEY=VALUE, got {key!r}")
            inputs[key] = _input_value(raw)
        elif word == "--wait":
            continue
        elif word.startswith("-"):
            raise ValueError(f"option {word!r} is not understood by the docs test")
        elif workflow is None:
            workflow = word
        else:
            raise ValueError(f"unexpected argument {word!r}")
    if workflow is None:
        raise ValueError("no workflow named")
    if expect is None:
        return Run(workflow, inputs)
    status, *pairs = expect.split()
    steps = {}
    for pair in pairs:
        matched = _STEP_STATUS.match(pair.rstrip(","))
        if matched is None:
            raise ValueError(f"expected STEP=STATUS after the execution status, got {pair!r}")
        steps[matched.group("step")] = matched.group("status")
    return Run(workflow, inputs, status, steps)


def runs(block: Block, name: str) -> list[Run]:
    """The runs documented for the workflow ``name`` of ``block``: the ``govflow executions
    start`` commands of the ``sh`` block right after it, or one run without inputs."""
    follower = block.next
    if follower is None or follower.lang != "sh":
        return [Run(name, {})]
    found = []
    for words, expect in _commands(follower.text):
        arguments = start_arguments(words)
        if arguments is None:
            continue
        run = parse_run(arguments, expect)
        if run.workflow != name:
            raise ValueError(f"{follower.where}: starts {run.workflow!r}, the example is {name!r}")
        found.append(run)
    return found or [Run(name, {})]


def status_literals(text: str) -> list[str]:
    """The string literals a workflow's text compares a ``.status`` with."""
    literals = []
    for matched in _STATUS_LITERAL.finditer(text):
        if matched.group("c") is not None:
            literals += re.findall(r"['\"]([^'\"]*)['\"]", matched.group("c"))
        else:
            literals.append(matched.group("a") or matched.group("b") or "")
    return literals
