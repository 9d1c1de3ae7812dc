"""Request bodies of ``/workflows`` and the reading of an uploaded workflow file.

An upload is the YAML itself (``Content-Type: application/x-yaml``, ``application/yaml``,
``text/yaml`` or ``text/plain``; the file name from ``?filename=``), JSON
``{"source": "...", "filename": "x.yaml"}`` (an object with a ``source`` or ``filename`` key,
which no workflow has), or the workflow itself as a JSON object (stored under ``?filename=``).
JSON objects are read keeping every key, so that a key written twice is refused at its path as
a YAML file's would be.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

from govflow.core.yaml_source import MAX_BYTES
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.off_loop import run_off_loop
from govflow.usecases.workflow_authoring import SpecDocument, Upload
from govflow.usecases.workflows import SourceFile

FILENAME_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,199}$(?!\n)"
"""One name, no path: no separators, no ``..``, no control characters (the pattern ends in
``$(?!\\n)`` because Python's ``$`` alone also matches before a final newline)."""
FILENAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit, without '..'"
DEFAULT_FILENAME = "upload.yaml"
YAML_TYPES = frozenset(
    {"application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml", "text/plain"}
)

FileName = Annotated[str, msgspec.Meta(pattern=FILENAME_PATTERN)]
Reason = Annotated[str, msgspec.Meta(max_length=1000)]
Position = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
FILE_KEYS = frozenset({"source", "filename"})
"""The keys of the ``{source, filename}`` form; a workflow has neither."""
_AT = re.compile(r"- at `\$\.?([^`]*)`")
_UNKNOWN = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


class WorkflowUploadIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A workflow file as JSON."""

    source: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_BYTES)]
    filename: FileName = DEFAULT_FILENAME


class StepInsertIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A step to insert: where (0 first; omitted or the number of steps appends) and the step
    as the DSL writes it (``id``, ``action``, ``with``, ...)."""

    step: dict[str, Any]
    position: Position | None = None


class ActivationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An optional reason, recorded in the audit entry."""

    reason: Reason | None = None


def _field_of(error: msgspec.ValidationError) -> str:
    """``body.source`` from msgspec's message (``... - at `$.source```)."""
    message = str(error)
    named = _UNKNOWN.search(message)
    at = _AT.search(message)
    parts = ["body"]
    if at and at.group(1):
        parts.append(at.group(1))
    if named:
        parts.append(named.group(1))
    return ".".join(parts)


def _message_of(error: msgspec.ValidationError) -> str:
    return str(error).split(" - at `")[0]


class _Pairs(list[tuple[str, Any]]):
    """A JSON object's members in order, duplicates kept."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _objects(value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
    """``value`` with its objects as dicts; a key written twice is a problem at its path."""
    if isinstance(value, _Pairs):
        result: dict[str, Any] = {}
        for key, item in value:
            key_path = f"{path}.{key}"
            if key in result:
                problems.append((key_path, f"duplicate key {key!r}"))
                continue
            result[key] = _objects(item, key_path, problems)
        return result
    if isinstance(value, list):
        return [_objects(item, f"{path}[{i}]", problems) for i, item in enumerate(value)]
    return value


def decode_json_document(raw: bytes) -> Any:
    """A JSON body as plain data, refusing duplicate keys (at their ``body...`` path), numbers
    beyond a float and ``NaN``/``Infinity``.

    :raises InvalidInputError: malformed JSON or a duplicate key.
    """
    try:
        tree = json.loads(
            raw,
            object_pairs_hook=_Pairs,
            parse_float=_finite,
            parse_constant=_refuse_constant,
        )
    except (ValueError, RecursionError):
        raise InvalidInputError([("body", "malformed JSON")]) from None
    problems: list[tuple[str, str]] = []
    data = _objects(tree, "body", problems)
    if problems:
        raise InvalidInputError(problems)
    return data


def _file_name(filename: str | None) -> str:
    name = filename or DEFAULT_FILENAME
    if not re.match(FILENAME_PATTERN, name):
        raise InvalidInputError([("query.filename", f"expected {FILENAME_RULE}")])
    return name


def _decode_json_upload(raw: bytes, filename: str | None) -> Upload:
    data = decode_json_document(raw)
    if not isinstance(data, dict):
        raise InvalidInputError([("body", "expected an object: a workflow, or {source, filename}")])
    if FILE_KEYS.isdisjoint(data):
        return SpecDocument(_file_name(filename), data)
    try:
        upload = msgspec.convert(data, type=WorkflowUploadIn)
    except msgspec.ValidationError as exc:
        raise InvalidInputError([(_field_of(exc), _message_of(exc))]) from None
    return SourceFile(upload.filename, upload.source)


def decode_workflow(media_type: str, raw: bytes, filename: str | None) -> Upload:
    """The uploaded file or JSON workflow, from the request's media type and body.

    :raises InvalidInputError: an empty, malformed or non-UTF-8 body, a key written twice, or a
        bad file name.
    :raises HTTPException: 415 for a media type that is neither JSON nor YAML/text.
    """
    if not raw.strip():
        raise InvalidInputError([("body", "a workflow file is required")])
    if media_type == "application/json":
        return _decode_json_upload(raw, filename)
    if media_type in YAML_TYPES:
        name = _file_name(filename)
        try:
            return SourceFile(name, raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInputError([("body", "the file is not UTF-8 text")]) from None
    raise HTTPException(
        status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        detail="send application/json or application/x-yaml",
    )


def decode_upload(media_type: str, raw: bytes, filename: str | None) -> SourceFile:
    """A workflow file (YAML, or JSON ``{source, filename}``), as the console sends one.

    :raises InvalidInputError: as :func:`decode_workflow`, or a JSON workflow instead of a file.
    :raises HTTPException: 415 for a media type that is neither JSON nor YAML/text.
    """
    upload = decode_workflow(media_type, raw, filename)
    if not isinstance(upload, SourceFile):
        raise InvalidInputError([("body.source", "a workflow file is required")])
    return upload


async def read_upload(request: Request[Any, Any, Any]) -> Upload:
    """The workflow file (or JSON workflow) of an upload or validate request."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    filename = request.query_params.get("filename")
    return await run_off_loop(decode_workflow, media_type, raw, filename)
