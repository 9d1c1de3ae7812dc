"""Comment bodies as Atlassian Document Format (ADF), the only body Jira Cloud's v3 API takes.

``plain`` text becomes paragraphs (a blank line separates them, a single newline is a hard
break). ``markdown`` understands a small subset, enough for workflow messages:

- ``# heading`` to ``###### heading``;
- paragraphs, a single newline inside one being a hard break;
- ``- item`` / ``* item`` bullet lists and ``1. item`` ordered lists (one level);
- fenced code blocks (```` ``` ```` lines, an optional language after the opening fence);
- inline ``**strong**``, ``*emphasis*`` / ``_emphasis_``, ```code``` and ``[text](https://url)``
  (``http``, ``https`` and ``mailto`` links only; anything else stays text).

Everything else is text, shown as written: nothing a workflow renders into a body can produce
markup Jira would interpret otherwise.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

Node = dict[str, Any]
BodyFormat = Literal["plain", "markdown"]

_HEADING: Final = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET: Final = re.compile(r"^\s*[-*]\s+(.*)$")
_ORDERED: Final = re.compile(r"^\s*(\d{1,9})[.)]\s+(.*)$")
_FENCE: Final = re.compile(r"^```\s*([A-Za-z0-9_+-]*)\s*$")
_INLINE: Final = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|(?P<strong>\*\*[^*\n]+\*\*)"
    r"|(?P<em>(?<![\w*])\*[^*\n]+\*(?![\w*])|(?<![\w_])_[^_\n]+_(?![\w_]))"
    r"|(?P<link>\[[^\]\n]+\]\((?:https?://|mailto:)[^)\s]+\))"
)
_LINK: Final = re.compile(r"^\[(?P<text>[^\]]+)\]\((?P<href>[^)]+)\)$")


def to_adf(text: str, body_format: BodyFormat = "plain") -> Node:
    """Return ``text`` as an ADF document (``{"type": "doc", "version": 1, ...}``)."""
    blocks = _plain(text) if body_format == "plain" else _markdown(text)
    return {"type": "doc", "version": 1, "content": blocks or [{"type": "paragraph"}]}


def _text(value: str, marks: list[Node] | None = None) -> Node:
    node: Node = {"type": "text", "text": value}
    if marks:
        node["marks"] = marks
    return node


def _lines_to_inline(lines: list[str], inline: bool) -> list[Node]:
    """Lines of one paragraph: hard breaks between them, inline markup parsed if asked."""
    content: list[Node] = []
    for index, line in enumerate(lines):
        if index:
            content.append({"type": "hardBreak"})
        content.extend(_inline(line) if inline else ([_text(line)] if line else []))
    return content


def _paragraph(lines: list[str], inline: bool) -> Node:
    content = _lines_to_inline(lines, inline)
    return {"type": "paragraph", "content": content} if content else {"type": "paragraph"}


def _plain(text: str) -> list[Node]:
    blocks: list[Node] = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip("\n")):
        if chunk.strip():
            blocks.append(_paragraph(chunk.split("\n"), inline=False))
    return blocks


def _inline(line: str) -> list[Node]:
    nodes: list[Node] = []
    position = 0
    for match in _INLINE.finditer(line):
        if match.start() > position:
            nodes.append(_text(line[position : match.start()]))
        token = match.group(0)
        if match.group("code"):
            nodes.append(_text(token[1:-1], [{"type": "code"}]))
        elif match.group("strong"):
            nodes.append(_text(token[2:-2], [{"type": "strong"}]))
        elif match.group("em"):
            nodes.append(_text(token[1:-1], [{"type": "em"}]))
        else:
            link = _LINK.match(token)
            assert link is not None
            nodes.append(
                _text(link.group("text"), [{"type": "link", "attrs": {"href": link["href"]}}])
            )
        position = match.end()
    if position < len(line):
        nodes.append(_text(line[position:]))
    return nodes


def _list_item(text: str) -> Node:
    return {"type": "listItem", "content": [_paragraph([text], inline=True)]}


def _markdown(text: str) -> list[Node]:
    lines = text.replace("\r\n", "\n").split("\n")
    blocks: list[Node] = []
    paragraph: list[str] = []
    index = 0

    def flush() -> None:
        if paragraph:
            blocks.append(_paragraph(list(paragraph), inline=True))
            paragraph.clear()

    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            flush()
            code: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].startswith("```"):
                code.append(lines[index])
                index += 1
            index += 1  # the closing fence (or the end of the text)
            block: Node = {"type": "codeBlock"}
            if fence.group(1):
                block["attrs"] = {"language": fence.group(1)}
            if code:
                block["content"] = [_text("\n".join(code))]
            blocks.append(block)
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            blocks.append(
                {
                    "type": "heading",
                    "attrs": {"level": len(heading.group(1))},
                    "content": _inline(heading.group(2).strip()) or [_text(heading.group(1))],
                }
            )
            index += 1
            continue
        for pattern, kind in ((_BULLET, "bulletList"), (_ORDERED, "orderedList")):
            if pattern.match(line):
                flush()
                items = []
                while index < len(lines) and (item := pattern.match(lines[index])):
                    items.append(_list_item(item.group(item.lastindex or 1)))
                    index += 1
                blocks.append({"type": kind, "content": items})
                break
        else:
            if line.strip():
                paragraph.append(line)
            else:
                flush()
            index += 1
    flush()
    return blocks


def adf_text(document: Any) -> str:
    """The text of an ADF document, paragraphs separated by blank lines (for reading back)."""
    if not isinstance(document, dict):
        return "" if document is None else str(document)
    if document.get("type") == "text":
        return str(document.get("text", ""))
    if document.get("type") == "hardBreak":
        return "\n"
    parts = [adf_text(child) for child in document.get("content", []) or []]
    separator = "\n\n" if document.get("type") in {"doc", "bulletList", "orderedList"} else ""
    return separator.join(parts)
