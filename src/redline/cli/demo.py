"""The ``redline demo`` command: the synthetic demo data set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from redline.cli.common import _store, out
from redline.cli.root import app


@app.command()
def demo(
    output: Annotated[
        Path | None,
        typer.Option(help="Where to write the demo files (default: REDLINE_DATA_DIR/demo)."),
    ] = None,
    ingest_files: Annotated[
        bool, typer.Option("--ingest/--no-ingest", help="Ingest the files once written.")
    ] = True,
) -> None:
    """Build the harmless synthetic demo data set and ingest it.

    Generated images and transformed copies, short generic posts in English, Arabic and French,
    a Telegram export, a CSV and a URL list. No real or extremist content is involved.
    """
    from redline.demo import build_demo, seed_demo_banks
    from redline.ingest.run import ingest as run_ingest
    from redline.store.audit import cli_actor
    from redline.store.media import media_store

    with _store() as (settings, engine):
        target = output or settings.data_dir / "demo"
        demo_set = build_demo(target)
        out.print(f"Demo data written to {target}")
        if not ingest_files:
            return
        for source, (path, fmt) in demo_set.sources.items():
            summary = run_ingest(
                path, source, engine=engine, settings=settings, actor=cli_actor(), format_name=fmt
            )
            out.print(
                f"  {source:<16} {summary.format:<14} {summary.stored:>4} stored, "
                f"{summary.duplicates:>3} duplicates, "
                f"{summary.quarantined + summary.already_quarantined:>2} quarantined"
            )
        banks = seed_demo_banks(engine, media_store(settings), demo_set, cli_actor())
        for bank, entries in banks.items():
            out.print(f"  bank {bank:<20} {entries:>4} entries")
        _show_demo_scores()
        out.print(
            "Next: `redline scan`, then `redline matches` and `redline outlinks`; "
            f"`redline classify {target / 'classify.jsonl'}` scores every demo post."
        )


def _show_demo_scores() -> None:
    """What the classifier makes of the demo's harder posts (reporting, research, religion)."""
    from redline.classify.model import TextModel
    from redline.demo.build import HARD_NEGATIVES

    try:
        model = TextModel.load()
    except FileNotFoundError:
        return
    texts = [text for _lang, text in HARD_NEGATIVES]
    table = Table(
        "lang",
        "score",
        "flagged",
        "top features",
        "post",
        title=f"Classifier {model.version} on demo posts",
    )
    for text, prediction in zip(texts, model.predict(texts), strict=True):
        features = ", ".join(e["feature"] for e in prediction.explanation[:3])
        table.add_row(
            prediction.lang,
            f"{prediction.score:.3f}",
            "yes" if prediction.flagged else "no",
            escape(features),
            escape(text[:60] + ("…" if len(text) > 60 else "")),
        )
    out.print(table)
