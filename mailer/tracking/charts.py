"""Charts drawn on the server as SVG: no script, nothing to download, works under the strict CSP.

Each chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>`` that say what it shows
in words (screen readers announce them), colours set by presentation attributes (inline
``style`` is refused by the CSP), and the page puts a table of the same figures beside it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

OPEN_COLOUR = "#2b6cb0"
CLICK_COLOUR = "#c05621"
BAR_COLOUR = "#2f855a"
GRID_COLOUR = "#d5d9e0"
TEXT_COLOUR = "#3c4250"
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    """One line of a time chart."""

    name: str
    colour: str
    values: Sequence[int]


def _axis(value: int, ticks: int = 4) -> tuple[int, int]:
    """(maximum, step) of an axis showing ``value`` in ``ticks`` whole, round steps."""
    wanted = max(value, 1) / ticks
    magnitude = 1
    while magnitude * 10 <= wanted:
        magnitude *= 10
    step = next(s * magnitude for s in (1, 2, 5, 10) if s * magnitude >= wanted)
    return step * -(-max(value, 1) // step), step


def _frame(title: str, desc: str, width: int, height: int, body: str) -> Markup:
    number = next(_ids)
    # Every text that goes in is escaped here or by the callers' f-strings (labels, names).
    return Markup(  # noqa: S704
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-labelledby="chart-{number}-title chart-{number}-desc" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" '
        f'font-size="12">'
        f'<title id="chart-{number}-title">{escape(title)}</title>'
        f'<desc id="chart-{number}-desc">{escape(desc)}</desc>{body}</svg>')


def time_chart(title: str, moments: Sequence[datetime], series: Sequence[Series],
               label_format: str = "%d %b %H:%M") -> Markup:
    """Lines over time (opens and clicks per hour or day), with axes and a legend."""
    width, height, left, right, top, bottom = 720, 260, 48, 16, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    peak, step = _axis(max((v for s in series for v in s.values), default=0))
    count = len(moments)
    summary = "; ".join(f"{s.name}: {sum(s.values)} in total, at most {max(s.values, default=0)}"
                        for s in series)
    desc = (f"{count} points from {moments[0]:%Y-%m-%d %H:%M} to {moments[-1]:%Y-%m-%d %H:%M} "
            f"UTC. {summary}." if moments else "No data yet.")

    def x(index: int) -> float:
        return left + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y(value: int) -> float:
        return top + plot_h - plot_h * value / peak

    parts: list[str] = []
    for value in range(0, peak + 1, step):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}" stroke="{GRID_COLOUR}" stroke-width="1"/>'
                     f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
                     f'fill="{TEXT_COLOUR}">{value}</text>')
    if count:
        for index in sorted({0, count // 2, count - 1}):
            parts.append(f'<text x="{x(index):.1f}" y="{height - bottom + 18}" '
                         f'text-anchor="middle" fill="{TEXT_COLOUR}">'
                         f'{escape(moments[index].strftime(label_format))}</text>')
    for number, line in enumerate(series):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(line.values))
        if count > 1:
            parts.append(f'<polyline points="{points}" fill="none" stroke="{line.colour}" '
                         f'stroke-width="2.5" stroke-linejoin="round"/>')
        for i, v in enumerate(line.values):
            if v or count == 1:
                parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" '
                             f'fill="{line.colour}"/>')
        legend_x = left + number * 120
        parts.append(f'<rect x="{legend_x}" y="6" width="12" height="12" '
                     f'fill="{line.colour}"/><text x="{legend_x + 18}" y="16" '
                     f'fill="{TEXT_COLOUR}">{escape(line.name)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" '
                 f'y2="{top + plot_h}" stroke="{TEXT_COLOUR}" stroke-width="1"/>')
    return _frame(title, desc, width, height, "".join(parts))


def bar_chart(title: str, rows: Sequence[tuple[str, int, int]], unit: str = "") -> Markup:
    """Horizontal bars of ``part`` out of ``whole`` per label (e.g. opened of sent)."""
    row_h, left, right, top = 28, 120, 90, 8
    width = 720
    height = top * 2 + row_h * max(len(rows), 1)
    peak = max((whole for _, _, whole in rows), default=0) or 1
    plot_w = width - left - right
    parts: list[str] = []
    words = []
    for index, (label, part, whole) in enumerate(rows):
        y = top + index * row_h
        whole_w = plot_w * whole / peak
        part_w = plot_w * part / peak
        share = f"{100 * part / whole:.0f}%" if whole else "—"
        words.append(f"{label}: {part} of {whole}{unit} ({share})")
        parts.append(
            f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" fill="{TEXT_COLOUR}">'
            f'{escape(label[:18])}</text>'
            f'<rect x="{left}" y="{y + 5}" width="{whole_w:.1f}" height="18" '
            f'fill="{GRID_COLOUR}"/>'
            f'<rect x="{left}" y="{y + 5}" width="{part_w:.1f}" height="18" '
            f'fill="{BAR_COLOUR}"/>'
            f'<text x="{left + whole_w + 6:.1f}" y="{y + 18}" fill="{TEXT_COLOUR}">'
            f'{part} / {whole} ({share})</text>')
    desc = "; ".join(words) + "." if words else "No data yet."
    return _frame(title, desc, width, height, "".join(parts))
