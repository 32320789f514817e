"""The report's and the dashboard's charts, drawn as SVG by hand.

Two kinds of chart are all the report needs (a histogram of durations, a weekly count), and
drawing them directly costs well under a millisecond where a plotting library took a fifth of a
second per chart and a second to import: the dashboard draws them on every request. SVG stays
sharp when printed (WeasyPrint renders it in the PDF) and each bar carries its figures in a
``<title>`` for whoever reads the chart up close.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape, quoteattr

# The drawing area, in SVG user units (about the size of the 6 x 2.6 inch figures before).
WIDTH: Final = 660
HEIGHT: Final = 286
LEFT, RIGHT, TOP, BOTTOM = 62, 16, 34, 54
BAR: Final = "#0b5cad"
LINE: Final = "#a40e26"
INK: Final = "#222"
GRID: Final = "#d8d8d8"


@dataclass(frozen=True, slots=True)
class Bin:
    """One bar of a histogram: values in [low, high) (the last bin includes its high)."""

    low: float
    high: float
    count: int


def bins(values: Sequence[float]) -> list[Bin]:
    """Equal-width bins over the values' range: between 5 and 20 of them, one per value when
    there are few (a one-value range gets a bin one unit wide around it)."""
    if not values:
        return []
    count = min(20, max(5, len(values)))
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / count
    counts = [0] * count
    for value in values:
        counts[min(count - 1, int((value - low) / width))] += 1
    return [Bin(low + i * width, low + (i + 1) * width, n) for i, n in enumerate(counts)]


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round tick values covering [low, high], at most about ``most`` of them (steps of 1, 2,
    2.5 or 5 times a power of ten, as people label axes)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / max(1, most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    tick = first
    while tick <= high + step * 1e-9:
        ticks.append(round(tick, 10))
        tick += step
    if ticks[-1] < high:
        ticks.append(round(tick, 10))
    return ticks


def _label(value: float) -> str:
    return f"{value:g}"


def _frame(title: str, x_label: str, y_label: str, body: list[str]) -> str:
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12" '
        f'role="img" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2:.1f}" y="20" text-anchor="middle" font-size="14" fill="{INK}">'
        f"{escape(title)}</text>",
        *body,
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
        f'fill="{INK}">{escape(x_label)}</text>',
        f'<text transform="translate(14 {(TOP + HEIGHT - BOTTOM) / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" fill="{INK}">{escape(y_label)}</text>',
        "</svg>",
    ]
    return "\n".join(svg)


def _y_axis(top: float) -> tuple[list[str], float]:
    """Grid lines and labels of a count axis from 0 to at least ``top``; its upper end."""
    ticks = nice_ticks(0, max(top, 1))
    ticks = [t for t in ticks if t == int(t)] or [0, 1]  # counts: whole numbers only
    upper = ticks[-1]
    lines = []
    for tick in ticks:
        y = _y(tick, upper)
        lines.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        lines.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{_label(tick)}</text>"
        )
    return lines, upper


def _y(value: float, upper: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * value / upper


def histogram(values: Sequence[float], x_label: str, title: str) -> str | None:
    """A histogram of ``values`` as an SVG document; None when there is nothing to draw."""
    found = bins(values)
    if not found:
        return None
    body, upper = _y_axis(max(b.count for b in found))
    low, high = found[0].low, found[-1].high
    span = high - low
    plot_width = WIDTH - LEFT - RIGHT

    def x(value: float) -> float:
        return LEFT + plot_width * (value - low) / span

    for b in found:
        top, width = _y(b.count, upper), max(0.5, x(b.high) - x(b.low) - 1)
        body.append(
            f'<rect x="{x(b.low):.1f}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{HEIGHT - BOTTOM - top:.1f}" fill="{BAR}" data-count="{b.count}">'
            f"<title>{_label(round(b.low, 2))} to {_label(round(b.high, 2))} {escape(x_label)}: "
            f"{b.count}</title></rect>"
        )
    for tick in nice_ticks(low, high):
        if low - 1e-9 <= tick <= high + 1e-9:
            body.append(
                f'<text x="{x(tick):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'fill="{INK}">{_label(tick)}</text>'
            )
    body.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" '
        f'stroke="{INK}"/>'
    )
    return _frame(title, x_label, "count", body)


def series(points: dict[str, int], y_label: str, title: str) -> str | None:
    """Counts per period (e.g. ISO week, in order) as a line with a marker per point, as an SVG
    document; None when there are no points."""
    if not points:
        return None
    body, upper = _y_axis(max(points.values()))
    plot_width = WIDTH - LEFT - RIGHT
    step = plot_width / len(points)
    coordinates = []
    for i, (name, count) in enumerate(points.items()):
        x, y = LEFT + step * (i + 0.5), _y(count, upper)
        coordinates.append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{LINE}" data-count="{count}">'
            f"<title>{escape(name)}: {count}</title></circle>"
        )
        body.append(
            f'<text transform="translate({x:.1f} {HEIGHT - BOTTOM + 14}) rotate(-45)" '
            f'text-anchor="end" font-size="11" fill="{INK}">{escape(name)}</text>'
        )
    body.insert(
        len(body) - 2 * len(points),
        f'<polyline points="{" ".join(coordinates)}" fill="none" stroke="{LINE}" '
        f'stroke-width="2"/>',
    )
    return _frame(title, "", y_label, body)


def data_url(svg: str | None) -> str | None:
    """An SVG document as a ``data:`` URL for an ``<img>`` (None stays None)."""
    if svg is None:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
