"""Safe loading of a workflow file: YAML text in, a plain data tree and node positions out.

The text is checked on the YAML event stream *before* any object is built: anchors and aliases
(the "billion laughs"), explicit tags other than the standard scalar/collection ones, several
documents, nesting deeper than :data:`MAX_DEPTH` and texts over :data:`MAX_BYTES` are refused.
Building the tree then refuses duplicate and non-scalar mapping keys. Every node's position is
kept under its spec path (``steps[2].with.issue``; ``$`` for the document) so that later phases
can point at the exact place a problem is about.

Two things PyYAML does quietly are made visible: an unquoted ``on``/``off``/``yes``/``no`` (a
boolean in YAML 1.1) is remembered with its text in :attr:`YamlSource.yaml11_booleans`, so that
validation can say to quote it where text is meant; and a syntax error is reported at the line
that is most likely wrong (PyYAML often names the line after it), with a hint.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from govflow.core.spec_errors import SpecError, SpecProblem

MAX_BYTES = 256 * 1024
"""The largest workflow file accepted, in bytes of UTF-8."""
MAX_DEPTH = 32
"""The deepest nesting of mappings and sequences accepted."""

ROOT = "$"

_STANDARD_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_YAML12_BOOLEANS = frozenset(("true", "false"))
_MERGE_TAG = "tag:yaml.org,2002:merge"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

Position = tuple[int, int]

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def child_path(parent: str, key: str | int) -> str:
    """The spec path of ``key`` (a mapping key or a sequence index) under ``parent``."""
    if isinstance(key, int):
        return f"{'' if parent == ROOT else parent}[{key}]"
    return key if parent == ROOT else f"{parent}.{key}"


def parent_path(path: str) -> str:
    """The spec path one level up (``steps[2].with`` -> ``steps[2]`` -> ``steps`` -> ``$``)."""
    if path == ROOT:
        return ROOT
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ROOT


@dataclass(frozen=True, slots=True)
class YamlSource:
    """A loaded workflow file.

    :ivar filename: the name problems are reported under.
    :ivar data: the document as plain dicts, lists, strings, numbers, booleans and ``None``.
    :ivar nodes: spec path -> (line, col) of the value node (1-based).
    :ivar keys: spec path -> (line, col) of the mapping key that holds the value.
    :ivar yaml11_booleans: spec path -> the text of an unquoted scalar that YAML 1.1 reads as a
        boolean but YAML 1.2 as text (``on``, ``off``, ``yes``, ``no`` in any case).
    :ivar origins: spec path -> the file a value was written in, when not ``filename`` (a step
        template brought in by ``uses:``); it holds for everything under that path.
    """

    filename: str
    data: dict[str, Any]
    nodes: dict[str, Position] = field(default_factory=dict)
    keys: dict[str, Position] = field(default_factory=dict)
    scalars: frozenset[str] = frozenset()
    yaml11_booleans: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def _found(self, path: str) -> tuple[str, Position]:
        """The path actually written (``path`` or its nearest parent) and its position."""
        while True:
            if path in self.scalars and path in self.nodes:
                return path, self.nodes[path]
            if path in self.keys:
                return path, self.keys[path]
            if path in self.nodes:
                return path, self.nodes[path]
            if path == ROOT:
                return path, (1, 1)
            path = parent_path(path)

    def position(self, path: str) -> Position:
        """Where ``path`` is written: a scalar value itself, a collection at its key.

        Falls back to the nearest parent when ``path`` is not in the file (a missing key).
        """
        return self._found(path)[1]

    def key_position(self, path: str) -> Position:
        """Where the key of ``path`` is written (for problems about the key itself)."""
        return self.keys.get(path) or self.position(path)

    def file_of(self, path: str) -> str:
        """The file ``path`` is written in (a step template's, or this file's)."""
        while True:
            if path in self.origins:
                return self.origins[path]
            if path == ROOT:
                return self.filename
            path = parent_path(path)

    def problem(self, path: str, message: str, *, at_key: bool = False) -> SpecProblem:
        """A :class:`SpecProblem` about ``path``, positioned at its node (or its key), in the
        file it is written in."""
        if at_key and path in self.keys:
            written, (line, col) = path, self.keys[path]
        else:
            written, (line, col) = self._found(path)
        return SpecProblem(
            file=self.file_of(written), line=line, col=col, path=path, message=message
        )


def _mark(mark: Any) -> Position:
    return (int(mark.line) + 1, int(mark.column) + 1)


def _problem(filename: str, mark: Any, message: str, path: str = ROOT) -> SpecProblem:
    line, col = _mark(mark) if mark is not None else (1, 1)
    return SpecProblem(file=filename, line=line, col=col, path=path, message=message)


def _reader_error(filename: str, error: yaml.reader.ReaderError, text: str) -> SpecProblem:
    """A character YAML refuses (a raw NUL, a control character), at its line and column."""
    at = min(max(int(error.position), 0), len(text))
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    if isinstance(error.character, int):
        message = f"invalid YAML: unacceptable character #x{error.character:04x}: {error.reason}"
    else:
        message = f"invalid YAML: {error.reason}"
    return SpecProblem(file=filename, line=line, col=col, path=ROOT, message=message)


def _first_column(line: str) -> int:
    """The 1-based column of the first character that is not a space (1 for a blank line)."""
    return len(line) - len(line.lstrip(" ")) + 1


def _meaningful(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _likely_position(error: yaml.MarkedYAMLError, text: str) -> Position:
    """Where the mistake behind a syntax error most likely is.

    PyYAML names the token it could not place. Inside a block (``while parsing a block
    mapping``) that token is the wrongly indented one. Otherwise, when something opened earlier
    (a quote, a bracket, a key without its colon) the opening is the place to look; and a token
    at the start of a line, or the end of the text, means the line before it is unfinished.
    """
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return (1, 1)
    line, col = _mark(mark)
    context = error.context or ""
    if context.startswith("while parsing a block"):
        return line, col
    opened = error.context_mark
    if opened is not None and error.problem_mark is not None and opened.line < mark.line:
        return _mark(opened)
    lines = text.splitlines()
    at_end = line > len(lines)
    at_start = at_end or col <= _first_column(lines[line - 1])
    if at_end or (at_start and not isinstance(error, yaml.scanner.ScannerError)):
        for before in range(min(line, len(lines) + 1) - 1, 0, -1):
            if _meaningful(lines[before - 1]):
                return before, _first_column(lines[before - 1])
    return line, col


def _yaml_error(filename: str, error: yaml.YAMLError, text: str = "") -> SpecProblem:
    if isinstance(error, yaml.reader.ReaderError):
        return _reader_error(filename, error, text)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    message = f"invalid YAML: {context + ', ' if context else ''}{problem}"
    if not isinstance(error, yaml.MarkedYAMLError):
        return _problem(filename, None, message)
    line, col = _likely_position(error, text)
    lines = text.splitlines()
    written = lines[line - 1] if line <= len(lines) else ""
    hint = f"check the indentation of line {line}"
    if "\t" in written[: max(col, _first_column(written))]:
        hint = f"YAML indents with spaces, not tabs: {hint}"
    if context and ("flow" in context or "quoted" in context):
        hint = f"check that the bracket or quote opened on line {line} is closed"
    elif "expected ':'" in problem:
        hint += ", and that the key written there ends with ':'"
    elif "mapping values are not allowed" in problem:
        hint += ", or quote a value that contains ': '"
    return SpecProblem(file=filename, line=line, col=col, path=ROOT, message=f"{message} ({hint})")


def _check_events(text: str, filename: str) -> list[SpecProblem]:
    """Refuse what must never reach the composer, reading the event stream only."""
    problems: list[SpecProblem] = []
    depth = 0
    documents = 0
    too_deep_reported = False
    events: Iterator[Any] = yaml.parse(text, Loader=_Loader)
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents == 2:
                problems.append(
                    _problem(
                        filename, event.start_mark, "a workflow file must hold exactly one document"
                    )
                )
        elif isinstance(event, yaml.AliasEvent):
            problems.append(
                _problem(
                    filename,
                    event.start_mark,
                    f"aliases are not allowed (*{event.anchor}); repeat the value instead",
                )
            )
        anchored = isinstance(event, yaml.NodeEvent) and getattr(event, "anchor", None)
        if anchored and not isinstance(event, yaml.AliasEvent):
            problems.append(
                _problem(
                    filename,
                    event.start_mark,
                    f"anchors are not allowed (&{event.anchor}); repeat the value instead",
                )
            )
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in ("!", *_STANDARD_TAGS):
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            problems.append(_problem(filename, event.start_mark, f"tag {shown!r} is not allowed"))
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH and not too_deep_reported:
                too_deep_reported = True
                problems.append(
                    _problem(
                        filename,
                        event.start_mark,
                        f"nesting is deeper than {MAX_DEPTH} levels",
                    )
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return problems


class _Builder:
    """Turns composed nodes into plain data, recording positions and refusing duplicate keys."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.nodes: dict[str, Position] = {}
        self.keys: dict[str, Position] = {}
        self.scalars: set[str] = set()
        self.yaml11_booleans: dict[str, str] = {}
        self.problems: list[SpecProblem] = []
        self._constructor = SafeConstructor()

    def build(self, node: yaml.Node, path: str) -> Any:
        self.nodes[path] = _mark(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, child_path(path, i)) for i, item in enumerate(node.value)]
        self.scalars.add(path)
        self._check_text(node, path)
        return self._scalar(node, path)

    def _check_text(self, node: yaml.Node, path: str) -> None:
        """Refuse NUL characters and unpaired surrogates (``"\\0"``, ``"\\ud800"``): stored
        text cannot hold them."""
        found = _UNSTORABLE.search(str(node.value))
        if found is not None:
            what = "NUL characters" if found.group() == "\x00" else "unpaired UTF-16 surrogates"
            self.problems.append(
                _problem(self.filename, node.start_mark, f"text must not contain {what}", path)
            )

    def _scalar(self, node: yaml.Node, path: str) -> Any:
        text = str(node.value)
        plain = not getattr(node, "style", None)
        if node.tag == _BOOL_TAG and plain and text.lower() not in _YAML12_BOOLEANS:
            self.yaml11_booleans[path] = text
        if node.tag == _TIMESTAMP_TAG:
            return str(node.value)
        if node.tag == _MERGE_TAG:
            self.problems.append(
                _problem(self.filename, node.start_mark, "merge keys (<<) are not allowed", path)
            )
            return str(node.value)
        return self._constructor.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    _problem(
                        self.filename, key_node.start_mark, "mapping keys must be plain text", path
                    )
                )
                continue
            if key_node.tag == _MERGE_TAG:
                self.problems.append(
                    _problem(
                        self.filename, key_node.start_mark, "merge keys (<<) are not allowed", path
                    )
                )
                continue
            key = str(key_node.value)
            key_path = child_path(path, key)
            self._check_text(key_node, key_path)
            line, _ = _mark(key_node.start_mark)
            if key in first_line:
                self.problems.append(
                    _problem(
                        self.filename,
                        key_node.start_mark,
                        f"duplicate key {key!r} (first at line {first_line[key]})",
                        key_path,
                    )
                )
                continue
            first_line[key] = line
            self.keys[key_path] = _mark(key_node.start_mark)
            result[key] = self.build(value_node, key_path)
        return result


def load_yaml(text: str, filename: str) -> YamlSource:
    """Load one workflow document safely.

    :raises SpecError: the text is too big, is not YAML, uses a refused feature, or its top
        level is not a mapping.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_BYTES:
        raise SpecError(
            [
                SpecProblem(
                    file=filename,
                    line=1,
                    col=1,
                    path=ROOT,
                    message=f"file is {size} bytes, more than the limit of {MAX_BYTES}",
                )
            ]
        )
    try:
        problems = _check_events(text, filename)
        if problems:
            raise SpecError(problems)
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise SpecError([_yaml_error(filename, error, text)]) from None
    if root is None:
        raise SpecError([_problem(filename, None, "the file is empty; expected a workflow")])
    if not isinstance(root, yaml.MappingNode):
        raise SpecError(
            [_problem(filename, root.start_mark, "the top level must be a mapping of keys")]
        )
    builder = _Builder(filename)
    try:
        data = builder.build(root, ROOT)
    except (yaml.YAMLError, ValueError, OverflowError) as error:
        raise SpecError(
            [_problem(filename, root.start_mark, f"invalid YAML value: {error}")]
        ) from None
    if builder.problems:
        raise SpecError(builder.problems)
    return YamlSource(
        filename=filename,
        data=data,
        nodes=builder.nodes,
        keys=builder.keys,
        scalars=frozenset(builder.scalars),
        yaml11_booleans=builder.yaml11_booleans,
    )
