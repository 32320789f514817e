"""The transparency report: the figures of ``outcomes.figures`` as JSON, CSV, HTML with plots,
or PDF (the HTML rendered by WeasyPrint, no browser needed)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Final

from jinja2 import Environment, FileSystemLoader, select_autoescape

from redline.metrics import charts
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


def plots(figures: Figures) -> dict[str, str | None]:
    """The report's charts as SVG ``data:`` URLs: where people would rather look than read."""
    return {
        "decision": charts.data_url(
            charts.histogram(
                figures["time_to_decision_hours"]["values"], "hours", "Time to decision"
            )
        ),
        "removal": charts.data_url(
            charts.histogram(
                figures["referral_hours_to_removal"]["values"],
                "hours",
                "Time from referral to removal",
            )
        ),
        "reuploads": charts.data_url(
            charts.series(
                figures["reuploads_per_week"],
                "re-uploads",
                "Re-uploads of removed content, per week",
            )
        ),
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
