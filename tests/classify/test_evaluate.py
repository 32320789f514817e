"""The evaluation report: every figure per language, per split group and per kind of text that
must not be flagged, with its 95% interval and the n it is a share of, on test examples training
never read. Built on the tiny synthetic model, so it runs without the shared data."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from redline.classify.card import goal_table
from redline.classify.data import LANGUAGES, Example
from redline.classify.evaluate import (
    GOAL_KINDS,
    Figure,
    _at_least,
    _at_most,
    classification,
    evaluate,
    f1_figure,
    proportion,
    wilson,
)
from redline.classify.model import TextModel
from tests.text_model import synthetic_examples


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81 of 263 -> 0.2553-0.3662.
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    # None of 40: the upper bound is z^2 / (n + z^2), not 0 as the plain estimate would say.
    assert wilson(0, 40) == (0.0, pytest.approx(1.96**2 / (40 + 1.96**2)))
    assert wilson(40, 40)[1] == 1.0


def test_f1_interval_is_a_seeded_bootstrap_over_examples() -> None:
    tp, fp, fn, tn = 60, 8, 40, 392
    figure = f1_figure(tp, fp, fn, tn)
    assert figure == f1_figure(tp, fp, fn, tn)  # same seed, same interval
    assert figure["n"] == 500 and figure["value"] == round(2 * tp / (2 * tp + fp + fn), 4)
    assert figure["ci"] is not None
    low, high = figure["ci"]
    assert low < figure["value"] < high
    # The same as resampling the 500 examples one by one (the slow way), to bootstrap noise.
    labels = np.array([1] * tp + [0] * fp + [1] * fn + [0] * tn)
    flags = np.array([True] * (tp + fp) + [False] * (fn + tn))
    rng = np.random.default_rng(1)
    slow = []
    for _ in range(2000):
        pick = rng.integers(0, 500, 500)
        f, y = flags[pick], labels[pick]
        slow.append(2 * (f & (y == 1)).sum() / (f.sum() + y.sum()))
    assert np.percentile(slow, [2.5, 97.5]) == pytest.approx([low, high], abs=0.015)
    # Ten times the examples, the same shares: a much narrower interval.
    wide = high - low
    narrow = f1_figure(10 * tp, 10 * fp, 10 * fn, 10 * tn)["ci"]
    assert narrow is not None and narrow[1] - narrow[0] < wide / 2


def test_a_group_without_positives_has_no_precision_recall_or_f1() -> None:
    measured = classification(np.array([True, False, False]), np.array([0, 0, 0]))
    assert measured["precision"] == {"value": 0.0, "ci": [0.0, 0.7935], "n": 1}
    assert measured["recall"] == {"value": None, "ci": None, "n": 0}
    assert measured["f1"] == {"value": None, "ci": None, "n": 3}
    assert measured["fpr"]["value"] == 0.3333 and measured["fpr"]["n"] == 3


def _test_split() -> list[Example]:
    """The synthetic examples, their test split spread over languages, split groups and the
    kinds that must not be flagged, with one miss, one false positive and one test text that
    training also holds."""
    examples = []
    languages = ("en", "ar", "fr", "und")
    for n, e in enumerate(synthetic_examples()):
        if e.split != "test":
            examples.append(e)
            continue
        lang = languages[n % 4]
        if e.label:
            group, source = f"account:acc{n % 3}", "fanboy"
        elif e.source == "news":  # news in English only, as in the shared data
            group, source, lang = f"article:{n}", "news", "en"
        else:
            group, source = f"text:{n}", "mixed"
        examples.append(replace(e, lang=lang, group=group, source=source))
    benign = [
        ("a prayer for peace on this blessed day {n}", "religious"),
        ("a study of how groups recruit online, chapter {n}", "research"),
        ("they lie to young people: do not join them, part {n}", "counter_speech"),
    ]
    for n in range(12):
        text, kind = benign[n % 3]
        examples.append(
            Example(
                text.format(n=n),
                0,
                "none",
                "benign",
                f"benign:{n}",
                "test",
                languages[n % 4],
                kind,
            )
        )
    # A research text that reads like the flagged class (a false positive, in French), a post
    # labelled flag that reads like chatter (a miss), and a retweet of a training post.
    examples.append(
        Example(
            "zorblat release 77 is out, spread it far",
            0,
            "none",
            "benign",
            "benign:x",
            "test",
            "fr",
            "research",
        )
    )
    examples.append(
        Example(
            "lunch with friends at the market number 88",
            1,
            "recruitment",
            "fanboy",
            "account:acc0",
            "test",
            "en",
            "propaganda",
        )
    )
    examples.append(
        Example(
            "RT @someone: share the new zorblat release number 3 everyone",
            1,
            "official_media_distribution",
            "fanboy",
            "account:acc1",
            "test",
            "ar",
            "propaganda",
        )
    )
    return examples


def test_every_figure_per_language_group_and_kind_carries_its_interval_and_n(
    tiny_model: TextModel,
) -> None:
    examples = _test_split()
    report = evaluate(tiny_model, examples)
    assert json.loads(json.dumps(report)) == report  # --json gives the same, as data

    read = [e for e in examples if e.split == "test" and not e.text.startswith("RT @someone")]
    assert report["examples"] == len(read)
    assert report["left_out_seen_in_training"] == {"en": 0, "ar": 1, "fr": 0, "other": 0}
    flagged = {
        e.text: p.flagged
        for e, p in zip(read, tiny_model.predict([e.text for e in read]), strict=True)
    }

    def expected(chosen: list[Example]) -> dict[str, tuple[float | None, int]]:
        tp = sum(1 for e in chosen if flagged[e.text] and e.label)
        fp = sum(1 for e in chosen if flagged[e.text] and not e.label)
        positives = sum(e.label for e in chosen)
        negatives = len(chosen) - positives

        def share(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "precision": (share(tp, tp + fp), tp + fp),
            "recall": (share(tp, positives), positives),
            "fpr": (share(fp, negatives), negatives),
            "f1": (
                None if not positives else round(2 * tp / (tp + fp + positives), 4),
                len(chosen),
            ),
        }

    def check(measured: dict[str, dict[str, object]], chosen: list[Example]) -> None:
        for name, (value, n) in expected(chosen).items():
            figure = measured[name]
            assert (figure["value"], figure["n"]) == (value, n), name
            ci = figure["ci"]
            if value is None:
                assert ci is None
            else:
                assert isinstance(ci, list) and ci[0] <= value <= ci[1], name

    # Per language: every one of en, ar, fr, other, "und" counting as other.
    assert list(report["by_language"]) == list(LANGUAGES)
    for lang in LANGUAGES:
        mine = [e for e in read if (e.lang if e.lang in LANGUAGES[:3] else "other") == lang]
        assert mine and report["by_language"][lang]["n"] == len(mine)
        check(report["by_language"][lang], mine)
    # The miss and the false positive are where they belong.
    assert report["by_language"]["en"]["false_negatives"] >= 1
    assert report["by_language"]["fr"]["false_positives"] >= 1

    # Per split group: the held-out accounts (three of them) against the rest.
    assert list(report["by_group"]) == ["account", "text", "article", "benign"]
    accounts = [e for e in read if e.group.startswith("account:")]
    assert report["by_group"]["account"]["groups"] == 3
    check(report["by_group"]["account"], accounts)
    check(report["by_group"]["benign"], [e for e in read if e.group.startswith("benign:")])

    # Per kind of text that must not be flagged, in every language.
    kinds = report["false_positives_by_kind"]
    assert list(kinds)[: len(GOAL_KINDS)] == list(GOAL_KINDS)
    research_fr = [e for e in read if e.kind == "research" and e.lang == "fr"]
    assert kinds["research"]["fr"] == {
        "value": round(1 / len(research_fr), 4),
        "ci": [round(v, 4) for v in wilson(1, len(research_fr))],
        "n": len(research_fr),
    }
    assert kinds["religious"]["all"]["n"] == 4 and kinds["religious"]["other"]["n"] == 1

    goals = report["goals"]
    assert goals["held_out_accounts_f1"]["value"] == report["by_group"]["account"]["f1"]["value"]
    assert goals["arabic_f1"]["n"] == report["by_language"]["ar"]["n"]
    # No Arabic news about terrorism here: that goal is not measured, neither met nor missed.
    assert goals["reporting_terrorism_fpr_ar"] == {
        "goal": "false positives, news about terrorism, ar",
        "target": "<= 0.02",
        "value": None,
        "ci": None,
        "n": 0,
        "met": None,
        "shown": None,
    }
    assert goals["reporting_terrorism_fpr_en"]["n"] == kinds["reporting_terrorism"]["en"]["n"] > 0
    assert goals["religious_fpr_fr"]["met"] is True
    assert evaluate(tiny_model, examples) == report  # deterministic, bootstrap included


def test_a_goal_is_shown_only_when_its_whole_interval_meets_it() -> None:
    """0.90 on ten positives meets an F1 goal of 0.90 as a point and shows nothing; 0 of 450
    news texts flagged shows a 2% limit, 0 of 216 religious posts does not show a 1% one."""
    few = Figure(value=0.9, ci=[0.714, 1.0], n=104)
    many_news, some_religious = proportion(0, 450), proportion(0, 216)
    f1 = _at_least(few, 0.90, "F1")
    news, religious = _at_most(many_news, 0.02, "news"), _at_most(some_religious, 0.01, "rel")
    assert (f1["met"], f1["shown"]) == (True, False)
    assert (news["met"], news["shown"]) == (True, True)
    assert (religious["met"], religious["shown"]) == (True, False)
    table = "\n".join(goal_table({"goals": {"a": f1, "b": news, "c": religious}}))
    assert table.count("not shown (the 95% interval spans the target)") == 2
    assert "| news | <= 0.02 | 0.000 (0.000-0.009), n=450 | yes |" in table
