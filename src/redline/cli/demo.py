"""The ``redline demo`` command: the synthetic demo data set."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from redline.cli.common import _store, out
from redline.cli.root import app
from redline.ingest.records import UsageProblem

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from redline.config import Settings
    from redline.demo.build import DemoSet


@app.command()
def demo(
    output: Annotated[
        Path | None,
        typer.Option(help="Where to write the demo files (default: REDLINE_DATA_DIR/demo)."),
    ] = None,
    ingest_files: Annotated[
        bool, typer.Option("--ingest/--no-ingest", help="Ingest the files once written.")
    ] = True,
    week: Annotated[
        bool,
        typer.Option(
            "--week/--no-week",
            help="Play a week of review work on the demo, ending now: the data arrives and is "
            "scanned on its first morning, then demo reviewers decide, take down, refer, act on "
            "removal orders and answer complaints (once per store). --no-week only ingests.",
        ),
    ] = True,
) -> None:
    """Build the harmless synthetic demo data set, ingest it and play a week of work on it.

    Generated images and transformed copies, short generic posts in English, Arabic and French,
    a Telegram export, a CSV and a URL list. No real or extremist content is involved. The week
    (scan, decisions with both verdicts, take-downs, referrals, removal orders, complaints) gives
    the console, the dashboard and the report real figures; run again, it changes nothing.
    """
    from redline.demo import build_demo
    from redline.demo.week import played, week_start
    from redline.model.base import clock_from, utcnow

    with _store() as (settings, engine):
        target = output or settings.data_dir / "demo"
        demo_set = build_demo(target)
        out.print(f"Demo data written to {target}")
        if not ingest_files:
            return
        with engine.connect() as connection:
            play = week and not played(connection)
        if not play:
            _ingest(settings, engine, demo_set)
            if week:
                out.print("The demo's week was played on this store already: nothing to add.")
            return
        # The week ends now; its first morning, the data arrives and the scan opens its cases.
        end = utcnow()
        start = week_start(end)
        with clock_from(start):
            _ingest(settings, engine, demo_set)
            _scan(settings, engine, demo_set)
        _play(engine, start, end)
        out.print(
            "Next: `redline matches`, `redline outlinks`, `redline status`, then `redline serve`; "
            f"`redline classify {target / 'classify.jsonl'}` scores every demo post."
        )


def _ingest(settings: Settings, engine: Engine, demo_set: DemoSet) -> None:
    """Ingest the demo's files and create its banks (each once), showing what happened."""
    from redline.demo import seed_demo_banks
    from redline.ingest.run import ingest as run_ingest
    from redline.store.audit import cli_actor
    from redline.store.media import media_store

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


def _scan(settings: Settings, engine: Engine, demo_set: DemoSet) -> None:
    """``redline scan`` of the demo's sources, and only those: other data waits for its own scan.
    In this process even with a broker: the week needs the cases open before it starts."""
    from redline.index.store import IndexStore
    from redline.pipeline.scan import scan
    from redline.store.audit import cli_actor

    opened = matched = 0
    indexes = IndexStore(engine, settings.data_dir)  # loaded once, for every source's scan
    for source in demo_set.sources:
        summary = scan(engine, settings, indexes, actor=cli_actor(), source=source)
        opened += summary.as_dict()["cases_opened"]
        matched += summary.new_matches + summary.text.text_matches
    out.print(f"  scanned: {matched:,} new matches, {opened:,} cases opened")


def _play(engine: Engine, start: datetime, end: datetime) -> None:
    """The demo team's week on the cases the scan opened."""
    from redline.demo.week import DemoCasesMissing, play_week

    try:
        week = play_week(engine, start, end)
    except DemoCasesMissing as error:
        raise UsageProblem(str(error)) from None
    if week is None:
        return
    out.print(
        f"A week of work, {week.start:%Y-%m-%d %H:%M} to {week.end:%Y-%m-%d %H:%M} UTC:"
        f" {week.decisions} decisions"
        f" ({_counts(week.final)}),"
        f" {week.taken_down} taken down, {week.referrals} referred, removal orders"
        f" {_counts(week.orders)}, complaints {_counts(week.complaints)}"
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(counts.items()))


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
