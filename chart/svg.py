"""A vital sign's trend as a server-rendered SVG line chart (no JavaScript, nothing CSP blocks),
in the manner of analytics/svg_charts.py: geometry in presentation attributes, colours from
classes in static/css/clinic.css, every text escaped. The page shows the same points as a table.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Series:
    label: str
    css_class: str
    points: Sequence[tuple[datetime.datetime, Decimal | int]]


WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


def _ticks(low: float, high: float) -> list[float]:
    span = high - low
    return [low + span * step / 4 for step in range(5)]


def line_chart(chart_id: str, title: str, unit: str, series: Sequence[Series]) -> SafeString:
    points = [(at, float(value)) for s in series for at, value in s.points]
    title_id = f"{chart_id}-title"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-labelledby="{escape(title_id)}"><title id="{escape(title_id)}">{escape(title)}'
        "</title>"
    )
    if not points:
        return mark_safe(head + "</svg>")  # noqa: S308 (escaped)
    times = [at.timestamp() for at, _ in points]
    values = [value for _, value in points]
    first, last = min(times), max(times)
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or max(abs(high) * 0.05, 1.0)
    low, high = low - pad, high + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime.datetime) -> float:
        return LEFT + (
            plot_w / 2 if last == first else plot_w * (at.timestamp() - first) / (last - first)
        )

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - low) / (high - low))

    body = [
        f'<line class="chart-axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" '
        f'y2="{TOP + plot_h}"/>',
        f'<line class="chart-axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>',
    ]
    for tick in _ticks(low, high):
        body.append(
            f'<text class="chart-label" x="{LEFT - 4}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:.0f}</text>'
        )
    for stamp in (first, last):
        moment = datetime.datetime.fromtimestamp(stamp, tz=datetime.UTC)
        shown = timezone.localtime(moment).strftime("%Y-%m-%d")
        anchor = "start" if stamp == first else "end"
        body.append(
            f'<text class="chart-label" x="{x(moment):.1f}" y="{HEIGHT - 12}" '
            f'text-anchor="{anchor}">{escape(shown)}</text>'
        )
    for s in series:
        ordered = sorted(s.points)
        coords = " ".join(f"{x(at):.1f},{y(float(v)):.1f}" for at, v in ordered)
        body.append(f'<polyline class="trend-line {escape(s.css_class)}" points="{coords}"/>')
        for at, v in ordered:
            body.append(
                f'<circle class="trend-point {escape(s.css_class)}" cx="{x(at):.1f}" '
                f'cy="{y(float(v)):.1f}" r="3"><title>{escape(s.label)} {escape(str(v))} '
                f"{escape(unit)}</title></circle>"
            )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 (every value is escaped)
