"""Evaluation on the test split: precision, recall and F1 of the flagged class, and false-positive
rates, per source, language and kind, each with a 95% confidence interval.

F1 intervals are bootstrap percentiles (resampling examples); rate intervals are Wilson score
intervals. Small groups get wide intervals, and the card shows them: a rate of 0 out of 40 is not
the same claim as 0 out of 4,000.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypedDict

import numpy as np

from redline.classify.data import Example
from redline.classify.features import prepare
from redline.classify.model import TextModel

BOOTSTRAP = 1000


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - margin), min(1.0, centre + margin)


def _prf(flags: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    tp = float((flags & (labels == 1)).sum())
    fp = float((flags & (labels == 0)).sum())
    fn = float((~flags & (labels == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return precision, recall, f1


class Classification(TypedDict):
    """How well a group's flags match its labels; intervals are 95% [low, high]."""

    n: int
    positives: int
    precision: float
    precision_ci: list[float]
    recall: float
    recall_ci: list[float]
    f1: float
    f1_ci: list[float]
    fpr: float | None  # None: the group has no negatives
    fpr_ci: list[float] | None


class FalsePositiveRate(TypedDict):
    """How many of a group of negatives were flagged; the interval is 95% [low, high]."""

    n: int
    flagged: int
    fpr: float | None  # None: the group is empty
    fpr_ci: list[float]


def classification(flags: np.ndarray, labels: np.ndarray, seed: int = 0) -> Classification:
    """Precision, recall, F1 (with bootstrap 95% CIs), FPR (Wilson CI) and counts."""
    precision, recall, f1 = _prf(flags, labels)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(labels), len(labels))
        samples.append(_prf(flags[pick], labels[pick]))
    low = np.percentile(samples, 2.5, axis=0)
    high = np.percentile(samples, 97.5, axis=0)
    negatives = int((labels == 0).sum())
    false_positives = int((flags & (labels == 0)).sum())
    return Classification(
        n=len(labels),
        positives=int(labels.sum()),
        precision=round(precision, 4),
        precision_ci=[round(float(low[0]), 4), round(float(high[0]), 4)],
        recall=round(recall, 4),
        recall_ci=[round(float(low[1]), 4), round(float(high[1]), 4)],
        f1=round(f1, 4),
        f1_ci=[round(float(low[2]), 4), round(float(high[2]), 4)],
        fpr=round(false_positives / negatives, 4) if negatives else None,
        fpr_ci=[round(v, 4) for v in wilson(false_positives, negatives)] if negatives else None,
    )


def false_positive_rate(flags: np.ndarray) -> FalsePositiveRate:
    """Share flagged of examples that are all negatives, with its Wilson interval."""
    count, total = int(flags.sum()), len(flags)
    return FalsePositiveRate(
        n=total,
        flagged=count,
        fpr=round(count / total, 4) if total else None,
        fpr_ci=[round(v, 4) for v in wilson(count, total)],
    )


def evaluate(
    model: TextModel,
    examples: Sequence[Example],
    split: str = "test",
    embeddings: bool | None = None,
) -> dict[str, Any]:
    """Every metric of the model card, on one split, for the pipeline as ``predict`` runs it
    (``embeddings`` as there: None uses the embedding stage when the model has one)."""
    chosen = [e for e in examples if e.split == split]
    texts = [e.text for e in chosen]
    matrix = model.features([prepare(t) for t in texts])
    probabilities, rescored, threshold = model.probabilities(texts, matrix, embeddings)
    flags = probabilities >= threshold
    labels = np.array([e.label for e in chosen])

    def subset(keep: Callable[[Example], bool]) -> np.ndarray:
        return np.array([keep(e) for e in chosen], dtype=bool)

    same = subset(lambda e: e.source in {"fanboy", "mixed"})
    report: dict[str, Any] = {
        "split": split,
        "examples": len(chosen),
        "threshold": threshold,
        "stages": "first+embedding" if model.uses_embeddings(embeddings) else "first",
        "rescored_share": round(float(rescored.mean()), 4) if len(rescored) else 0.0,
        "same_domain": classification(flags[same], labels[same]),
        "by_source": {},
        "same_domain_by_language": {},
        "false_positives_by_kind": {},
        "false_positives_by_language": {},
    }
    for source in ("fanboy", "mixed"):
        mask = subset(lambda e, s=source: e.source == s)  # type: ignore[misc]
        if mask.any():
            report["by_source"][source] = classification(flags[mask], labels[mask])
    for lang in ("en", "ar", "fr", "other"):
        mask = same & subset(lambda e, lang=lang: e.lang == lang)  # type: ignore[misc]
        if mask.sum() >= 10:
            report["same_domain_by_language"][lang] = classification(flags[mask], labels[mask])
    negative = labels == 0
    kinds = sorted({e.kind for e in chosen if e.label == 0})
    for kind in kinds:
        for source in ("news", "benign", "fanboy", "mixed"):
            mask = negative & subset(lambda e, k=kind, s=source: e.kind == k and e.source == s)  # type: ignore[misc]
            if mask.sum() >= 5:
                report["false_positives_by_kind"][f"{source}:{kind}"] = false_positive_rate(
                    flags[mask]
                )
    for lang in ("en", "ar", "fr"):
        mask = negative & subset(lambda e, lang=lang: e.lang == lang)  # type: ignore[misc]
        if mask.any():
            report["false_positives_by_language"][lang] = false_positive_rate(flags[mask])
    religious = negative & subset(lambda e: e.kind == "religious")
    reporting = negative & subset(lambda e: e.kind == "reporting_terrorism")
    arabic = same & subset(lambda e: e.lang == "ar")
    report["goals"] = {
        "same_domain_f1": {"goal": ">= 0.85", "value": report["same_domain"]["f1"]},
        "reporting_terrorism_fpr": {"goal": "<= 0.02", **false_positive_rate(flags[reporting])},
        "religious_fpr": {"goal": "<= 0.01", **false_positive_rate(flags[religious])},
        "arabic_f1": {
            "goal": ">= 0.85",
            "value": classification(flags[arabic], labels[arabic])["f1"] if arabic.any() else None,
            "n": int(arabic.sum()),
            "positives": int(labels[arabic].sum()),
        },
    }
    return report
