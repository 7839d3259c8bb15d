"""Bar charts as server-rendered SVG: no JavaScript, no CDN, nothing CSP would block.

Geometry uses SVG presentation attributes (x, y, width, height, fill), which a style-src CSP
does not govern; colours come from classes in static/css/clinic.css. Hidden (suppressed) counts
draw no bar, only their label ("<11" or "*"), so a chart never shows more than its table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | None  # None: suppressed
    value_label: str


def _scale(bars: Sequence[Bar]) -> int:
    return max([b.value for b in bars if b.value is not None] + [1])


def _svg(chart_id: str, title: str, width: int, height: int, body: list[str]) -> SafeString:
    title_id = f"{chart_id}-title"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{escape(title_id)}"><title id="{escape(title_id)}">{escape(title)}'
        "</title>"
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308  (every value is escaped)


def horizontal_bars(chart_id: str, title: str, bars: Sequence[Bar]) -> SafeString:
    """One row per category: label left, bar, count right."""
    label_width, bar_width, value_width, row = 260, 360, 70, 22
    width = label_width + bar_width + value_width
    height = max(row * len(bars), row)
    top = _scale(bars)
    body: list[str] = []
    for index, bar in enumerate(bars):
        y = index * row
        text = bar.label if len(bar.label) <= 40 else bar.label[:39] + "…"
        body.append(
            f'<text class="chart-label" x="{label_width - 6}" y="{y + 15}" '
            f'text-anchor="end">{escape(text)}</text>'
        )
        length = 0 if bar.value is None else round(bar_width * bar.value / top)
        if length:
            body.append(
                f'<rect class="chart-bar" x="{label_width}" y="{y + 3}" width="{length}" '
                f'height="{row - 6}"/>'
            )
        body.append(
            f'<text class="chart-value" x="{label_width + length + 4}" y="{y + 15}">'
            f"{escape(bar.value_label)}</text>"
        )
    return _svg(chart_id, title, width, height, body)


def vertical_bars(chart_id: str, title: str, bars: Sequence[Bar]) -> SafeString:
    """One column per period (e.g. month), labels below, rotated when many."""
    plot_height, label_height, slot = 200, 60, 28
    width = max(slot * len(bars), slot) + 10
    height = plot_height + label_height
    top = _scale(bars)
    body: list[str] = [
        f'<line class="chart-axis" x1="0" y1="{plot_height}" x2="{width}" y2="{plot_height}"/>'
    ]
    for index, bar in enumerate(bars):
        x = 5 + index * slot
        length = 0 if bar.value is None else round((plot_height - 20) * bar.value / top)
        if length:
            body.append(
                f'<rect class="chart-bar" x="{x + 3}" y="{plot_height - length}" '
                f'width="{slot - 6}" height="{length}"/>'
            )
        if bar.value is None:
            body.append(
                f'<text class="chart-value" x="{x + slot // 2}" y="{plot_height - 4}" '
                f'text-anchor="middle">{escape(bar.value_label)}</text>'
            )
        label_x, label_y = x + slot // 2, plot_height + 12
        body.append(
            f'<text class="chart-label" x="{label_x}" y="{label_y}" text-anchor="end" '
            f'transform="rotate(-55 {label_x} {label_y})">{escape(bar.label)}</text>'
        )
    return _svg(chart_id, title, width, height, body)
