"""Evaluation on the test split: precision, recall, F1 and false-positive rate per language, per
kind of split group (the held-out pro-IS accounts against the rest) and per kind of text that
must not be flagged, each figure with its 95% interval and the number it was measured on.

Intervals: Wilson score intervals for the proportions (precision, recall, false-positive rate), a
seeded bootstrap over examples for F1. Small groups get wide intervals and the card shows them:
0 flagged out of 40 is not the same claim as 0 out of 4,000.

Only test examples that training never read are measured: ``data.held_out`` leaves out those
whose text also sits in the training or validation split (the same retweet posted by a training
account, the same news sentence in two articles), and the report says how many.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypedDict

import numpy as np

from redline.classify.data import LANGUAGES, Example, held_out, language_of
from redline.classify.features import prepare
from redline.classify.model import TextModel

BOOTSTRAP = 2000
# The kinds of split group data.py makes (the part of ``Example.group`` before the colon).
GROUPS = ("account", "text", "article", "benign", "review")
# Kinds of text that must not be flagged, the goals' first: reporting (news about terrorism,
# other reporting), religious expression, research, counter-speech.
GOAL_KINDS = ("reporting_terrorism", "reporting", "religious", "research", "counter_speech")
LANGUAGE_SOURCE = (
    "the example's own language: the annotator's (the label files' lang column) for hand-labelled "
    "tweets, the file's for the benign posts, en for the FA-KES news, the review case's for "
    "reviewers' decisions; redline.classify.language.detect where none is given. Every code but "
    "en, ar and fr (und included) counts as other."
)


class Figure(TypedDict):
    """One measured figure: its value, 95% interval [low, high], and what it was measured on (the
    denominator: flagged texts for precision, positives for recall, negatives for the
    false-positive rate, examples for F1). ``value`` and ``ci`` are None when ``n`` is 0."""

    value: float | None
    ci: list[float] | None
    n: int


class Classification(TypedDict):
    """How well a group's flags match its labels."""

    n: int
    positives: int
    negatives: int
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: Figure
    recall: Figure
    f1: Figure
    fpr: Figure


class Goal(TypedDict):
    """A goal, the figure it is judged on, whether its point estimate meets it (None: nothing to
    measure), and whether the whole 95% interval does (``shown``): 0.90 on ten positives meets
    an F1 goal of 0.90 and shows nothing."""

    goal: str
    target: str
    value: float | None
    ci: list[float] | None
    n: int
    met: bool | None
    shown: bool | None


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - margin), min(1.0, centre + margin)


def proportion(count: int, total: int) -> Figure:
    """``count`` of ``total`` with its Wilson interval."""
    if total == 0:
        return Figure(value=None, ci=None, n=0)
    return Figure(
        value=round(count / total, 4),
        ci=[round(v, 4) for v in wilson(count, total)],
        n=total,
    )


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    # F1 is 0 when nothing is both flagged and positive (the usual convention).
    denominator = 2 * tp + fp + fn
    return np.where(tp > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def f1_figure(tp: int, fp: int, fn: int, tn: int, seed: int = 0) -> Figure:
    """F1 with a percentile bootstrap interval over examples. F1 depends only on the four
    counts, and drawing n examples with replacement draws those counts from a multinomial with
    the counts' shares: so each resample is one multinomial draw, not n picks (2,000 resamples
    of any size in about a millisecond), and the same seed gives the same interval."""
    n = tp + fp + fn + tn
    if tp + fn == 0:  # no positives: F1 means nothing here
        return Figure(value=None, ci=None, n=n)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, np.array([tp, fp, fn, tn]) / n, size=BOOTSTRAP)
    samples = _f1(draws[:, 0], draws[:, 1], draws[:, 2])
    low, high = np.percentile(samples, [2.5, 97.5])
    value = float(_f1(np.array(tp), np.array(fp), np.array(fn)))
    return Figure(value=round(value, 4), ci=[round(float(low), 4), round(float(high), 4)], n=n)


def classification(flags: np.ndarray, labels: np.ndarray, seed: int = 0) -> Classification:
    """Precision, recall and false-positive rate (Wilson intervals), F1 (bootstrap), counts."""
    positive = labels == 1
    tp = int((flags & positive).sum())
    fp = int((flags & ~positive).sum())
    fn = int((~flags & positive).sum())
    tn = int((~flags & ~positive).sum())
    return Classification(
        n=len(labels),
        positives=tp + fn,
        negatives=fp + tn,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        precision=proportion(tp, tp + fp),
        recall=proportion(tp, tp + fn),
        f1=f1_figure(tp, fp, fn, tn, seed),
        fpr=proportion(fp, fp + tn),
    )


def group_kind(example: Example) -> str:
    """The kind of group the example was split by: account, text, article, benign, review."""
    return example.group.split(":", 1)[0]


_NOTHING = Figure(value=None, ci=None, n=0)


def _at_least(figure: Figure, target: float, goal: str, label: str | None = None) -> Goal:
    value, ci = figure["value"], figure["ci"]
    return Goal(
        goal=goal,
        target=label or f">= {target:.2f}",
        value=value,
        ci=ci,
        n=figure["n"],
        met=None if value is None else value >= target,
        shown=None if value is None or ci is None else ci[0] >= target,
    )


def _at_most(figure: Figure, target: float, goal: str) -> Goal:
    value, ci = figure["value"], figure["ci"]
    return Goal(
        goal=goal,
        target=f"<= {target:.2f}",
        value=value,
        ci=ci,
        n=figure["n"],
        met=None if value is None else value <= target,
        shown=None if value is None or ci is None else ci[1] <= target,
    )


def goals(report: dict[str, Any]) -> dict[str, Goal]:
    """The goals of issue 17 (and the same-domain F1 of the first text issue), judged on the
    report's figures: a point estimate against the target, its interval beside it."""
    languages = report["by_language"]
    kinds = report["false_positives_by_kind"]
    english, french = languages["en"]["recall"], languages["fr"]["recall"]
    found: dict[str, Goal] = {
        "same_domain_f1": _at_least(
            report["same_domain"]["f1"], 0.85, "F1, same-domain tweets (accounts and mixed)"
        ),
        "held_out_accounts_f1": _at_least(
            report["by_group"].get("account", {}).get("f1", _NOTHING),
            0.85,
            "F1, held-out pro-IS accounts",
        ),
        "arabic_f1": _at_least(languages["ar"]["f1"], 0.90, "F1, Arabic"),
        "arabic_fpr": _at_most(languages["ar"]["fpr"], 0.02, "false positives, Arabic negatives"),
    }
    target = None if english["value"] is None else round(english["value"] - 0.05, 4)
    french_goal = "recall, French, within 0.05 of English (at the operating threshold)"
    found["french_recall"] = (
        _at_least(french, target, french_goal, f">= {target:.3f}")
        if target is not None
        else Goal(
            goal=french_goal,
            target="n/a",
            value=french["value"],
            ci=french["ci"],
            n=french["n"],
            met=None,
            shown=None,
        )
    )
    found["reporting_terrorism_fpr"] = _at_most(
        kinds["reporting_terrorism"]["all"], 0.02, "false positives, news about terrorism"
    )
    found["religious_fpr"] = _at_most(
        kinds["religious"]["all"], 0.01, "false positives, religious posts"
    )
    # "In every language": one goal per language, unmeasured where there are no such texts.
    for lang in ("en", "ar", "fr"):
        found[f"reporting_terrorism_fpr_{lang}"] = _at_most(
            kinds["reporting_terrorism"][lang],
            0.02,
            f"false positives, news about terrorism, {lang}",
        )
        found[f"religious_fpr_{lang}"] = _at_most(
            kinds["religious"][lang], 0.01, f"false positives, religious posts, {lang}"
        )
    return found


def _column(chosen: Sequence[Example], value: Callable[[Example], str]) -> np.ndarray:
    return np.array([value(e) for e in chosen], dtype=str)


def _rate(flags: np.ndarray, mask: np.ndarray) -> Figure:
    return proportion(int(flags[mask].sum()), int(mask.sum()))


def _by_kind(flags: np.ndarray, negative: np.ndarray, kind: np.ndarray, lang: np.ndarray) -> Any:
    """False-positive rate per kind of negative, in all languages and in each: the goals' kinds
    always (n=0 where there are none), then every other kind the split has."""
    kinds = sorted({*GOAL_KINDS, *kind[negative].tolist()}, key=_kind_order)
    return {
        k: {
            "all": _rate(flags, negative & (kind == k)),
            **{x: _rate(flags, negative & (kind == k) & (lang == x)) for x in LANGUAGES},
        }
        for k in kinds
    }


def evaluate(
    model: TextModel,
    examples: Sequence[Example],
    split: str = "test",
    embeddings: bool | None = None,
) -> dict[str, Any]:
    """Every metric of the model card, on the examples of one split that training never read,
    for the pipeline as ``predict`` runs it (``embeddings`` as there: None uses the embedding
    stage when the model has one)."""
    chosen, left_out = held_out(examples, split)
    texts = [e.text for e in chosen]
    matrix = model.features([prepare(t) for t in texts])
    probabilities, rescored, threshold = model.probabilities(texts, matrix, embeddings)
    flags = probabilities >= threshold
    labels = np.array([e.label for e in chosen], dtype=int)
    negative = labels == 0
    lang = _column(chosen, language_of)
    kind = _column(chosen, lambda e: e.kind)
    source = _column(chosen, lambda e: e.source)
    group = _column(chosen, group_kind)

    def measured(mask: np.ndarray) -> Classification:
        return classification(flags[mask], labels[mask])

    by_group = {
        g: {"groups": len({e.group for e in chosen if group_kind(e) == g}), **measured(group == g)}
        for g in GROUPS
        if (group == g).any()
    }
    by_source_kind = {
        f"{s}:{k}": _rate(flags, negative & (source == s) & (kind == k))
        for k in sorted(set(kind[negative].tolist()), key=_kind_order)
        for s in ("news", "benign", "fanboy", "mixed", "review")
        if (negative & (source == s) & (kind == k)).any()
    }
    report: dict[str, Any] = {
        "model": model.version,
        "split": split,
        "examples": len(chosen),
        "left_out_seen_in_training": {
            x: sum(language_of(e) == x for e in left_out) for x in LANGUAGES
        },
        "language_source": LANGUAGE_SOURCE,
        "threshold": threshold,
        "stages": "first+embedding" if model.uses_embeddings(embeddings) else "first",
        "rescored_share": round(float(rescored.mean()), 4) if len(rescored) else 0.0,
        "same_domain": measured((source == "fanboy") | (source == "mixed")),
        "by_language": {x: measured(lang == x) for x in LANGUAGES},
        "by_group": by_group,
        "false_positives_by_kind": _by_kind(flags, negative, kind, lang),
        "false_positives_by_source_kind": by_source_kind,
    }
    report["goals"] = goals(report)
    return report


def _kind_order(kind: str) -> tuple[int, str]:
    return (GOAL_KINDS.index(kind), "") if kind in GOAL_KINDS else (len(GOAL_KINDS), kind)
