"""Training and evaluating the shipped model from the project's data (``redline model ...``)."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sklearn
from sqlalchemy import Engine

from redline.classify import embedding
from redline.classify.card import render
from redline.classify.data import (
    Example,
    decisions,
    decisions_fingerprint,
    fingerprint,
    load_examples,
)
from redline.classify.evaluate import evaluate
from redline.classify.model import TextModel
from redline.classify.train import train


@dataclass(frozen=True, slots=True)
class DataPaths:
    """Where the training data is: the shared data sets, redline's labels, the benign posts."""

    shared: Path
    labels: Path
    benign: Path
    # The review database: its final decisions on texts are labelled examples too.
    reviews: Engine | None = None

    def check(self) -> None:
        """ValueError naming what is missing."""
        for name in (
            "isis_fanboy_tweets.csv",
            "unlabelled_mixed_tweets.csv",
            "fakes_syria_war_news.csv",
        ):
            if not (self.shared / name).is_file():
                raise ValueError(
                    f"{self.shared / name} not found: pass --shared (the data sets' folder)"
                )
        if not any(self.labels.glob("*.csv")):
            raise ValueError(f"no label files in {self.labels}: pass --labels")

    def files(self) -> list[Path]:
        return [
            self.shared / "isis_fanboy_tweets.csv",
            self.shared / "unlabelled_mixed_tweets.csv",
            self.shared / "fakes_syria_war_news.csv",
            *sorted(self.labels.glob("*.csv")),
            self.benign,
        ]

    def examples(self) -> list[Example]:
        reviewed = decisions(self.reviews) if self.reviews is not None else []
        return [*load_examples(self.shared, self.labels, self.benign), *reviewed]

    def fingerprint(self) -> dict[str, str]:
        """SHA-256 of every input: the files, and the review decisions when read."""
        digests = fingerprint(self.files())
        if self.reviews is not None:
            digests["review decisions"] = decisions_fingerprint(decisions(self.reviews))
        return digests


def train_model(
    paths: DataPaths,
    output: Path,
    *,
    embeddings_cache: Path | None = None,
    on_stage: Callable[[str, int], None] = lambda _name, _total: None,
    on_advance: Callable[[int], None] = lambda _n: None,
) -> tuple[TextModel, dict[str, Any], dict[str, Any]]:
    """Train, save to ``output``, and evaluate on the test split (with the embedding stage when
    ``embeddings_cache`` is given: see ``train.train``)."""
    paths.check()
    examples = paths.examples()
    meta = {
        "version": "text-v1",
        "command": " ".join(["redline", *sys.argv[1:]])
        if sys.argv and "redline" in sys.argv[0]
        else "redline model train",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "data": paths.fingerprint(),
    }
    model, report = train(
        examples,
        meta,
        embeddings_cache=embeddings_cache,
        on_stage=on_stage,
        on_advance=on_advance,
    )
    model.meta["training"] = report
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save(output)
    evaluation = evaluate_all(model, examples)
    evaluation["data"] = meta["data"]
    return model, report, evaluation


def evaluate_all(model: TextModel, examples: list[Example]) -> dict[str, Any]:
    """The test-split evaluation of the pipeline as it runs by default and, when the model has
    an embedding stage, of the other configuration (with or without the stage)."""
    evaluation = evaluate(model, examples)
    if model.second is not None and embedding.available():
        # The other configuration too: with the stage when it is off by default, without it
        # when it is on.
        other = evaluate(model, examples, embeddings=not model.uses_embeddings())
        evaluation["other_configuration"] = {
            key: other[key]
            for key in (
                "stages",
                "threshold",
                "rescored_share",
                "same_domain",
                "by_language",
                "by_group",
                "goals",
            )
        }
    return evaluation


def evaluate_on(model: TextModel, paths: DataPaths) -> dict[str, Any]:
    """``evaluate_all`` on the data at ``paths``, with the data files' SHA-256 beside it: an
    evaluation says what it was measured on."""
    evaluation = evaluate_all(model, paths.examples())
    evaluation["data"] = paths.fingerprint()
    return evaluation


def card(model: TextModel, evaluation: dict[str, Any], notes: Path | None) -> str:
    """The model card text."""
    text = notes.read_text(encoding="utf-8") if notes is not None and notes.is_file() else ""
    return render(model.meta, model.meta.get("training", {}), evaluation, text)


def default_shared() -> Path:
    """REDLINE_SHARED_DATA, or ../shared/data from here."""
    return Path(os.environ.get("REDLINE_SHARED_DATA", "../shared/data"))
