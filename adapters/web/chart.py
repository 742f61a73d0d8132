"""A server-rendered SVG chart: questions per day, the not_found rate, and feedback.

Bars are questions per day (answered and not_found stacked); the line is the not_found
rate on its own 0-100% axis; small marks under each bar count helpful and unhelpful
feedback. Plain SVG with a <title> per day, so it needs no script and reads in a screen
reader's table fallback rendered beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 16, 58


@dataclass(frozen=True)
class DayPoint:
    day: date
    questions: int
    not_found: int
    helpful: int = 0
    unhelpful: int = 0

    @property
    def not_found_rate(self) -> float:
        return self.not_found / self.questions if self.questions else 0.0


def _nice_max(value: int) -> int:
    for step in (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    return (value // 10000 + 1) * 10000


def daily_chart_svg(points: list[DayPoint]) -> str:
    """The chart as an SVG document (UTF-8 text)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((p.questions for p in points), default=0))
    slot = plot_w / max(len(points), 1)
    bar = max(slot * 0.6, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" '
        'aria-label="Questions per day, not_found rate and feedback">',
        "<style>text{font:11px system-ui,sans-serif;fill:#333}.ax{stroke:#888}"
        ".ok{fill:#2f6f9f}.nf{fill:#c77c02}.rate{fill:none;stroke:#b00020;stroke-width:2}"
        ".up{fill:#1b7f3b}.down{fill:#b00020}</style>",
    ]
    base = TOP + plot_h
    parts.append(f'<line class="ax" x1="{LEFT}" y1="{base}" x2="{LEFT + plot_w}" y2="{base}"/>')
    for fraction in (0.0, 0.5, 1.0):
        y = base - fraction * plot_h
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{top * fraction:g}</text>'
        )
        parts.append(
            f'<text x="{LEFT + plot_w + 6}" y="{y + 4:.1f}">{round(fraction * 100)}%</text>'
        )
    rate_points = []
    label_every = max(1, len(points) // 7)
    for i, point in enumerate(points):
        x = LEFT + i * slot + (slot - bar) / 2
        answered = point.questions - point.not_found
        h_ok = plot_h * answered / top
        h_nf = plot_h * point.not_found / top
        tooltip = escape(
            f"{point.day.isoformat()}: {point.questions} questions, {point.not_found} not_found "
            f"({point.not_found_rate:.0%}), feedback +{point.helpful} / -{point.unhelpful}"
        )
        parts.append(f"<g><title>{tooltip}</title>")
        parts.append(
            f'<rect class="ok" x="{x:.1f}" y="{base - h_ok:.1f}" width="{bar:.1f}" '
            f'height="{h_ok:.1f}"/>'
        )
        parts.append(
            f'<rect class="nf" x="{x:.1f}" y="{base - h_ok - h_nf:.1f}" width="{bar:.1f}" '
            f'height="{h_nf:.1f}"/>'
        )
        parts.append("</g>")
        centre = x + bar / 2
        if point.helpful or point.unhelpful:
            parts.append(
                f'<text class="up" x="{centre:.1f}" y="{base + 26}" text-anchor="middle">'
                f"+{point.helpful}</text>"
                f'<text class="down" x="{centre:.1f}" y="{base + 38}" text-anchor="middle">'
                f"-{point.unhelpful}</text>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{centre:.1f}" y="{base + 13}" text-anchor="middle">'
                f"{point.day:%m-%d}</text>"
            )
        rate_points.append(f"{centre:.1f},{base - plot_h * point.not_found_rate:.1f}")
    if rate_points:
        parts.append(f'<polyline class="rate" points="{" ".join(rate_points)}"/>')
    legend_y = HEIGHT - 6
    parts.append(
        f'<rect class="ok" x="{LEFT}" y="{legend_y - 9}" width="10" height="10"/>'
        f'<text x="{LEFT + 14}" y="{legend_y}">answered</text>'
        f'<rect class="nf" x="{LEFT + 90}" y="{legend_y - 9}" width="10" height="10"/>'
        f'<text x="{LEFT + 104}" y="{legend_y}">not_found</text>'
        f'<line class="rate" x1="{LEFT + 180}" y1="{legend_y - 4}" x2="{LEFT + 200}" '
        f'y2="{legend_y - 4}"/><text x="{LEFT + 204}" y="{legend_y}">not_found rate</text>'
        f'<text class="up" x="{LEFT + 310}" y="{legend_y}">+helpful</text>'
        f'<text class="down" x="{LEFT + 370}" y="{legend_y}">-unhelpful feedback</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
