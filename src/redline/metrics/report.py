"""The transparency report: the figures of ``outcomes.figures`` as JSON, CSV, HTML with plots,
or PDF (the HTML rendered by WeasyPrint, no browser needed)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape

from redline.metrics.outcomes import Figures
from redline.review.taxonomy import NAMES
from redline.spreadsheet import SpreadsheetSafeWriter

FORMATS: Final = ("json", "csv", "html", "pdf")
# Printed for a figure there is nothing to measure for (the median of no values).
NO_DATA: Final = "—"
# What each signal that opens a case is called in a report (Case.signal, and the referrals).
SIGNAL_NAMES: Final[dict[str, str]] = {
    "bank": "Bank match",
    "classifier": "Classifier",
    "sample": "Labelling sample",
    "referral": "Referral",
    "other": "Other",
}


def decision_words(key: str) -> str:
    """A decision count's key in words: ``not_violating:news_reporting`` as "Not violating —
    news reporting" (a verdict with no category or reason recorded says so)."""
    verdict, _, label = key.partition(":")
    said = NAMES.get(verdict, verdict.replace("_", " "))
    if label in ("", "unspecified"):
        detail = "no category or reason recorded"
    else:
        detail = NAMES.get(label, label.replace("_", " "))
    return f"{said[:1].upper()}{said[1:]} — {detail}"


def signal_words(key: str) -> str:
    """A signal's name in a report: ``bank`` as "Bank match"."""
    return SIGNAL_NAMES.get(key, key.replace("_", " ").capitalize())


def figure_words(value: float | None) -> str:
    """A measured figure as printed: NO_DATA when there was nothing to measure."""
    return NO_DATA if value is None else f"{value:g}"


# The filters the report and the console's dashboard print figures with.
FILTERS: Final = {"decision": decision_words, "signal": signal_words, "figure": figure_words}


def _figure() -> tuple[Any, Any]:
    """A figure and its axes, drawn off-screen.

    Matplotlib is imported here, not with the module: it is a second of every web process's and
    CLI command's start-up, and only the report draws. A bare ``Figure`` needs neither pyplot's
    global state nor a display backend, so drawing in a request's thread is safe."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 2.6))
    return figure, figure.subplots()


def _png(figure: Any) -> str:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _histogram(values: list[float], label: str, title: str) -> str | None:
    if not values:
        return None
    figure, axes = _figure()
    axes.hist(values, bins=min(20, max(5, len(values))), color="#0b5cad", edgecolor="white")
    axes.set_xlabel(label)
    axes.set_ylabel("count")
    axes.set_title(title)
    return _png(figure)


def plots(figures: Figures) -> dict[str, str | None]:
    """The report's charts as PNG data URLs: where people would rather look than read."""
    weeks = figures["reuploads_per_week"]
    reuploads = None
    if weeks:
        figure, axes = _figure()
        axes.plot(list(weeks), list(weeks.values()), marker="o", color="#a40e26")
        axes.set_ylabel("re-uploads")
        axes.set_ylim(bottom=0)  # a count: a one-week series must not float around its value
        axes.set_title("Re-uploads of removed content, per week")
        axes.tick_params(axis="x", labelrotation=45)
        reuploads = _png(figure)
    return {
        "decision": _histogram(
            figures["time_to_decision_hours"]["values"], "hours", "Time to decision"
        ),
        "removal": _histogram(
            figures["referral_hours_to_removal"]["values"], "hours", "Time from referral to removal"
        ),
        "reuploads": reuploads,
    }


def html(figures: Figures) -> str:
    """The report as one self-contained HTML page."""
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True),
    )
    environment.filters.update(FILTERS)
    return environment.get_template("report.html").render(f=figures, plots=plots(figures))


def render(figures: Figures, fmt: str) -> bytes:
    """The report in ``fmt`` (json, csv, html, pdf)."""
    if fmt == "json":
        return json.dumps(figures, indent=2, ensure_ascii=False).encode()
    if fmt == "csv":
        out = io.StringIO()
        writer = SpreadsheetSafeWriter(out)
        writer.writerow(["section", "key", "value"])
        for section, value in figures.items():
            if isinstance(value, dict):
                for key, inner in value.items():
                    if not isinstance(inner, list | dict):
                        writer.writerow([section, key, inner])
            elif isinstance(value, list):
                for row in value:
                    writer.writerow([section, row.get("service", ""), json.dumps(row)])
        return out.getvalue().encode()
    if fmt == "html":
        return html(figures).encode()
    if fmt == "pdf":
        return _pdf(html(figures))
    raise ValueError(f"unknown format {fmt!r} ({', '.join(FORMATS)})")


def _pdf(page: str) -> bytes:
    # Importing WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES, after which a
    # truncated upload would be hashed as garbage instead of refused: put the flag back.
    from PIL import ImageFile

    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML

        pdf: bytes = HTML(string=page).write_pdf()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated
    return pdf
