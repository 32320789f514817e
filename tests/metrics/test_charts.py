"""The report's charts: SVG that says what the figures say."""

from __future__ import annotations

import base64
import itertools
import random
import xml.etree.ElementTree as ET

import pytest

from redline.metrics import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str | None) -> ET.Element:
    assert svg is not None
    return ET.fromstring(svg)


def test_a_histogram_draws_every_value_once_in_bars_as_tall_as_their_counts() -> None:
    rng = random.Random(5)
    hours = [round(rng.lognormvariate(1.0, 0.8), 2) for _ in range(10_722)]
    root = _parse(charts.histogram(hours, "hours", "Time to decision"))
    assert root.get("role") == "img" and root.get("aria-label") == "Time to decision"
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("data-count") is not None]
    counts = [int(r.get("data-count", "")) for r in bars]
    assert len(bars) == 20 and sum(counts) == len(hours)
    # Heights proportional to counts: the tallest bar is the largest count.
    heights = [float(r.get("height", "")) for r in bars]
    tallest = max(range(len(bars)), key=lambda i: heights[i])
    assert counts[tallest] == max(counts)
    for count, height in zip(counts, heights, strict=True):
        assert height == pytest.approx(heights[tallest] * count / max(counts), abs=0.2)
    # Bars left to right in the order of their ranges, each titled with its range and count.
    xs = [float(r.get("x", "")) for r in bars]
    assert xs == sorted(xs)
    assert all(r.find(f"{SVG}title") is not None for r in bars)


@pytest.mark.parametrize("values", [[4.0], [2.5, 2.5, 2.5], [0.0, 1.0], [0.1, 1000.0, 3.0]])
def test_small_and_degenerate_histograms_still_count_everything(values: list[float]) -> None:
    root = _parse(charts.histogram(values, "hours", "t"))
    counts = [int(r.get("data-count", "")) for r in root.iter(f"{SVG}rect") if r.get("data-count")]
    assert sum(counts) == len(values) and len(counts) == 5


def test_nothing_to_draw_is_no_chart() -> None:
    assert charts.histogram([], "hours", "t") is None
    assert charts.series({}, "re-uploads", "t") is None
    assert charts.data_url(None) is None


def test_a_series_keeps_its_periods_in_order_with_a_marker_each() -> None:
    weeks = {"2026-W44": 9, "2026-W45": 4, "2026-W46": 0, "2026-W47": 1}
    root = _parse(charts.series(weeks, "re-uploads", "Re-uploads <per> week"))
    markers = list(root.iter(f"{SVG}circle"))
    assert [int(m.get("data-count", "")) for m in markers] == list(weeks.values())
    assert [m.findtext(f"{SVG}title") for m in markers] == [f"{w}: {n}" for w, n in weeks.items()]
    ys = [float(m.get("cy", "")) for m in markers]
    assert ys[0] < ys[1] < ys[3] < ys[2]  # higher counts higher up; zero on the axis
    assert root.findtext(f"{SVG}title") == "Re-uploads <per> week"  # escaped, parsed back


@pytest.mark.parametrize(
    ("low", "high"), [(0, 1), (0, 7), (0.13, 0.91), (3, 1234), (0, 10_722), (-5, 5), (2, 2)]
)
def test_ticks_are_round_evenly_spaced_and_cover_the_range(low: float, high: float) -> None:
    ticks = charts.nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high
    assert 2 <= len(ticks) <= 8
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    step = steps.pop()
    mantissa = step / 10 ** int(f"{step:e}".split("e")[1])
    assert round(mantissa, 6) in {1, 2, 2.5, 5}


def test_a_chart_is_an_image_url_a_browser_and_the_pdf_renderer_take() -> None:
    url = charts.data_url(charts.histogram([1.0, 2.0, 3.0], "hours", "t"))
    assert url is not None and url.startswith("data:image/svg+xml;base64,")
    _parse(base64.b64decode(url.split(",", 1)[1]).decode())
