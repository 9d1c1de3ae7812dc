"""Request bodies of ``/workflows`` and the reading of an uploaded workflow file.

An upload is either the YAML itself (``Content-Type: application/x-yaml``, ``application/yaml``,
``text/yaml`` or ``text/plain``; the file name from ``?filename=``) or JSON
``{"source": "...", "filename": "x.yaml"}``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

from govflow.core.yaml_source import MAX_BYTES
from govflow.usecases.errors import InvalidInputError
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
_AT = re.compile(r"- at `\$\.?([^`]*)`")
_UNKNOWN = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


class WorkflowUploadIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A workflow file as JSON."""

    source: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_BYTES)]
    filename: FileName = DEFAULT_FILENAME


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


def decode_upload(media_type: str, raw: bytes, filename: str | None) -> SourceFile:
    """The uploaded file, from the request's media type and body.

    :raises InvalidInputError: an empty, malformed or non-UTF-8 body, or a bad file name.
    :raises HTTPException: 415 for a media type that is neither JSON nor YAML/text.
    """
    if not raw.strip():
        raise InvalidInputError([("body", "a workflow file is required")])
    if media_type == "application/json":
        try:
            upload = msgspec.json.decode(raw, type=WorkflowUploadIn)
        except msgspec.ValidationError as exc:
            raise InvalidInputError([(_field_of(exc), _message_of(exc))]) from None
        except msgspec.DecodeError:
            raise InvalidInputError([("body", "malformed JSON")]) from None
        return SourceFile(upload.filename, upload.source)
    if media_type in YAML_TYPES:
        name = filename or DEFAULT_FILENAME
        if not re.match(FILENAME_PATTERN, name):
            raise InvalidInputError([("query.filename", f"expected {FILENAME_RULE}")])
        try:
            return SourceFile(name, raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInputError([("body", "the file is not UTF-8 text")]) from None
    raise HTTPException(
        status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        detail="send application/json or application/x-yaml",
    )


async def read_upload(request: Request[Any, Any, Any]) -> SourceFile:
    """The workflow file of an upload or validate request."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    return decode_upload(media_type, raw, request.query_params.get("filename"))
