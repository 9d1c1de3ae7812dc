"""Comment bodies rendered to Atlassian Document Format: plain text and the markdown subset."""

from __future__ import annotations

from typing import Any

from govflow_jira.adf import adf_text, to_adf


def text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def test_plain_text_is_paragraphs_with_line_breaks_and_no_markup() -> None:
    document = to_adf("Dear **applicant**,\nyour permit\n\nis *approved*.")

    assert document == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    text("Dear **applicant**,"),
                    {"type": "hardBreak"},
                    text("your permit"),
                ],
            },
            {"type": "paragraph", "content": [text("is *approved*.")]},
        ],
    }


def test_markdown_inline_marks_and_links() -> None:
    [paragraph] = to_adf(
        "A **bold** and *em* and _em_ `code` [site](https://example.org) [x](javascript:alert(1))",
        "markdown",
    )["content"]

    assert paragraph["content"] == [
        text("A "),
        text("bold", {"type": "strong"}),
        text(" and "),
        text("em", {"type": "em"}),
        text(" and "),
        text("em", {"type": "em"}),
        text(" "),
        text("code", {"type": "code"}),
        text(" "),
        text("site", {"type": "link", "attrs": {"href": "https://example.org"}}),
        text(" [x](javascript:alert(1))"),
    ]


def test_markdown_blocks() -> None:
    document = to_adf(
        "# Decision\n\n- plans checked\n- fees paid\n\n1. first\n2. second\n\n```sh\nls -l\n```",
        "markdown",
    )

    kinds = [block["type"] for block in document["content"]]
    assert kinds == ["heading", "bulletList", "orderedList", "codeBlock"]
    assert document["content"][0]["attrs"] == {"level": 1}
    assert len(document["content"][1]["content"]) == 2
    assert document["content"][3] == {
        "type": "codeBlock",
        "attrs": {"language": "sh"},
        "content": [text("ls -l")],
    }


def test_snake_case_words_are_not_emphasis() -> None:
    [paragraph] = to_adf("see field_name_here", "markdown")["content"]

    assert paragraph["content"] == [text("see field_name_here")]


def test_an_empty_body_is_one_empty_paragraph_and_text_reads_back() -> None:
    assert to_adf("\n\n")["content"] == [{"type": "paragraph"}]
    assert adf_text(to_adf("one\ntwo\n\nthree")) == "one\ntwo\n\nthree"
