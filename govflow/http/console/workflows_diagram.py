"""A workflow drawn as a vertical flow, in SVG generated on the server (no script, no library).

Steps run in order, so the drawing is a column of boxes joined by arrows, from a start circle to
an end circle. A step with an ``if:`` shows its condition beside the arrow into it (a false
condition skips the step). On an execution's page each box carries the step's status, as a
class (``status-completed``…) the console's stylesheet colours, and as words, so the drawing
does not rely on colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from govflow.core.statuses import StepStatus

BOX_WIDTH = 300
BOX_HEIGHT = 54
GAP = 34
MARGIN = 16
CIRCLE = 9
LABEL_LIMIT = 38

FILLS = {
    StepStatus.COMPLETED.value: "#d8f0dc",
    StepStatus.SKIPPED.value: "#e8e8e8",
    StepStatus.RUNNING.value: "#d6e6fb",
    StepStatus.PENDING.value: "#f4f4f4",
    StepStatus.WAITING.value: "#fff2c6",
    StepStatus.NEEDS_ATTENTION.value: "#ffe0b8",
    StepStatus.FAILED.value: "#fbd5d5",
    StepStatus.CANCELED.value: "#e0e0e0",
}
"""Box colours by step status (presentation attributes: the console's CSP allows no inline
style). The status is also written in the box."""
INK = "#1d2733"


@dataclass(frozen=True, slots=True)
class FlowNode:
    """One step as drawn: its key, its action, its condition and (on an execution) its status."""

    key: str
    action: str
    condition: str | None = None
    status: str | None = None
    href: str | None = None


def _short(text: str, limit: int = LABEL_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def flow_svg(nodes: Sequence[FlowNode], *, title: str) -> Markup:
    """The SVG of ``nodes`` top to bottom; ``title`` names it for assistive technology."""
    width = BOX_WIDTH + 2 * MARGIN + 140
    centre = MARGIN + BOX_WIDTH // 2
    y = MARGIN
    parts: list[str] = []
    parts.append(
        f'<circle class="flow-start" cx="{centre}" cy="{y + CIRCLE}" r="{CIRCLE}" fill="{INK}">'
        "<title>start</title></circle>"
    )
    y += 2 * CIRCLE
    for index, node in enumerate(nodes):
        top = y + GAP
        parts.append(_arrow(centre, y, top))
        if node.condition:
            parts.append(
                f'<text class="flow-condition" x="{centre + 10}" y="{y + GAP // 2 + 4}" '
                'font-size="12" font-style="italic" font-family="monospace" fill="currentColor">'
                f"if {escape(_short(node.condition, 40))}</text>"
            )
        parts.append(_box(node, index, top))
        y = top + BOX_HEIGHT
    bottom = y + GAP
    parts.append(_arrow(centre, y, bottom - 2 * CIRCLE + CIRCLE))
    parts.append(
        f'<circle class="flow-end" cx="{centre}" cy="{bottom}" r="{CIRCLE}" fill="none" '
        f'stroke="{INK}" stroke-width="4">'
        "<title>end</title></circle>"
    )
    height = bottom + CIRCLE + MARGIN
    body = "".join(parts)
    return Markup(  # noqa: S704 - every text interpolated into the SVG is escaped
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="flow-title"><title id="flow-title">{escape(title)}</title>'
        '<defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor"/></marker></defs>'
        f"{body}</svg>"
    )


def _arrow(x: int, y1: int, y2: int) -> str:
    return (
        f'<line class="flow-edge" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" '
        'stroke="currentColor" stroke-width="1.5" marker-end="url(#flow-arrow)"/>'
    )


def _box(node: FlowNode, index: int, top: int) -> str:
    status = node.status or ""
    css = f"flow-step status-{status.lower().replace('_', '-')}" if status else "flow-step"
    label = f"{index + 1}. {node.key}"
    detail = node.action + (f" · {status}" if status else "")
    tooltip = f"{node.key} ({node.action})" + (f": {status}" if status else "")
    fill = FILLS.get(status, "#ffffff")
    inner = (
        f'<rect x="{MARGIN}" y="{top}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="8" '
        f'fill="{fill}" stroke="{INK}" stroke-width="1.5"/>'
        f'<text class="flow-key" x="{MARGIN + 12}" y="{top + 22}" fill="{INK}" '
        f'font-weight="bold" font-size="15" font-family="sans-serif">{escape(_short(label))}</text>'
        f'<text class="flow-detail" x="{MARGIN + 12}" y="{top + 42}" fill="{INK}" '
        f'font-size="13" font-family="monospace">{escape(_short(detail, 44))}</text>'
    )
    group = f'<g class="{css}"><title>{escape(tooltip)}</title>{inner}</g>'
    if node.href:
        return f'<a href="{escape(node.href)}">{group}</a>'
    return group
