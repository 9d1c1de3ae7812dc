"""Atlassian Document Format: the checks Jira makes on a comment body, its text, and HTML."""

from __future__ import annotations

import html
from typing import Any

NOT_A_DOCUMENT = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
_MAX_DEPTH = 32


def document_problem(value: Any) -> str | None:
    """Why ``value`` is not an ADF document (``None`` when it is one): a ``doc`` node of
    ``version`` 1 whose nodes each have a ``type``, ``content`` lists and text strings."""
    if not isinstance(value, dict) or value.get("type") != "doc" or value.get("version") != 1:
        return NOT_A_DOCUMENT
    if not isinstance(value.get("content"), list):
        return NOT_A_DOCUMENT
    return _node_problem(value, 0)


def _node_problem(node: Any, depth: int) -> str | None:
    if depth > _MAX_DEPTH or not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return NOT_A_DOCUMENT
    if node["type"] == "text" and not (isinstance(node.get("text"), str) and node["text"]):
        return NOT_A_DOCUMENT
    content = node.get("content", [])
    if not isinstance(content, list):
        return NOT_A_DOCUMENT
    for child in content:
        problem = _node_problem(child, depth + 1)
        if problem is not None:
            return problem
    return None


def is_empty(document: dict[str, Any]) -> bool:
    """Whether the document holds no text at all."""
    return not text_of(document).strip()


def text_of(document: Any) -> str:
    """The plain text of a document: its text nodes, blocks separated by a newline."""
    if not isinstance(document, dict):
        return ""
    if document.get("type") == "text":
        return str(document.get("text", ""))
    if document.get("type") == "hardBreak":
        return "\n"
    parts = [text_of(child) for child in document.get("content", []) or []]
    if document.get("type") == "doc":
        return "\n".join(parts)
    return "".join(parts)


def to_html(document: Any) -> str:
    """A rendering of the document as Jira's ``renderedBody``: one ``<p>`` per block."""
    if not isinstance(document, dict):
        return ""
    blocks = document.get("content", []) or []
    return "".join(f"<p>{html.escape(text_of(block))}</p>" for block in blocks)
