"""Assembling the training data: split by account, odd mixed rows never read, hand labels win,
weak labels only in training, unsure labels left out, and a test split in every language that
shares no group and no text with what training reads. Built on small files shaped like the
shared data sets, so it runs without them."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from redline.classify.data import (
    LANGUAGES,
    Example,
    fanboy,
    held_out,
    language_of,
    load_examples,
    mixed,
    news,
    split_of,
)
from redline.signals.textnorm import tokens_for_matching

ACCOUNTS = [f"account{n}" for n in range(40)]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    return build_data(tmp_path)


def build_data(tmp_path: Path) -> tuple[Path, Path]:
    """Small files shaped like the shared data sets and redline's label files."""
    shared, labels = tmp_path / "shared", tmp_path / "labels"
    shared.mkdir()
    labels.mkdir()
    tweets, labelled = [], []
    for a, account in enumerate(ACCOUNTS):
        for t in range(30):
            tweet_id = a * 100 + t
            tweets.append([account, account, tweet_id, "1/6/2015 21:07", f"post {t} of {account}"])
            if t < 20:  # a labelled sample of 20 per account
                # accounts 0-9 all "1", 10-19 all "0", the rest mixed; every 7th unsure
                label = 1 if a < 10 else 0 if a < 20 else t % 2
                labelled.append(
                    [
                        tweet_id,
                        "unsure" if t % 7 == 6 else label,
                        "support_glorification" if label == 1 else "none",
                        "chatter",
                        "en",
                        "high",
                        "generic reason",
                    ]
                )
    write_csv(
        shared / "isis_fanboy_tweets.csv", ["name", "username", "tweetid", "time", "tweets"], tweets
    )
    header = ["tweetid", "label", "category", "kind", "lang", "confidence", "reason"]
    write_csv(labels / "fanboy_sample.csv", header, labelled[: len(labelled) // 2])
    write_csv(labels / "fanboy_more_a.csv", header, labelled[len(labelled) // 2 :])
    rows = [
        [f"even post number {i}" if i % 2 == 0 else f"RESERVED odd post {i}"] for i in range(60)
    ]
    write_csv(shared / "unlabelled_mixed_tweets.csv", ["text"], rows)
    write_csv(
        labels / "mixed_even_a.csv",
        ["row", "label", "category", "kind", "lang", "confidence", "reason"],
        [
            [
                i,
                int(i % 4 == 0),
                "recruitment" if i % 4 == 0 else "none",
                "chatter",
                "en",
                "high",
                "generic",
            ]
            for i in range(0, 60)
        ],
    )
    write_csv(
        shared / "fakes_syria_war_news.csv",
        ["unit_id", "article_title", "article_content", "source", "date", "location", "labels"],
        [
            [
                n,
                f"Title {n}",
                "The attack was reported. Officials gave figures. "
                "Reporters described the scene in detail. It was quiet later.",
                "x",
                "d",
                "l",
                1,
            ]
            for n in range(20)
        ],
    )
    return shared, labels


def test_fanboy_is_split_by_account_and_weak_labels_stay_in_training(
    data: tuple[Path, Path],
) -> None:
    shared, labels = data
    examples = list(fanboy(shared, labels))
    splits: dict[str, set[str]] = defaultdict(set)
    for e in examples:
        splits[e.group].add(e.split)
    assert all(len(s) == 1 for s in splits.values())  # no account in two splits
    assert {e.split for e in examples} == {"train", "validation", "test"}
    weak = [e for e in examples if e.source == "fanboy_weak"]
    assert weak and all(e.split == "train" for e in weak)
    # Weak labels come only from accounts whose labelled sample is (nearly) one-sided.
    assert {int(e.group.removeprefix("account:account")) < 20 for e in weak} == {True}
    for e in weak:
        assert e.label == (1 if int(e.group.removeprefix("account:account")) < 10 else 0)
    # Labels from both label files are read; unsure ones are left out.
    hand = [e for e in examples if e.source == "fanboy"]
    assert len(hand) == sum(1 for _ in range(len(ACCOUNTS)) for t in range(20) if t % 7 != 6)


def test_odd_mixed_rows_are_never_read(data: tuple[Path, Path]) -> None:
    shared, labels = data
    examples = list(mixed(shared, labels))
    assert len(examples) == 30
    assert not any("RESERVED" in e.text for e in examples)
    assert {e.label for e in examples} == {0, 1}


def test_news_is_split_by_article_into_snippets(data: tuple[Path, Path]) -> None:
    shared, _labels = data
    examples = list(news(shared))
    assert all(e.label == 0 and e.source == "news" for e in examples)
    by_article: dict[str, set[str]] = defaultdict(set)
    for e in examples:
        by_article[e.group].add(e.split)
    assert all(len(s) == 1 for s in by_article.values())
    assert {e.kind for e in examples} == {"reporting", "reporting_terrorism"}


def test_splits_are_stable_and_near_their_shares() -> None:
    groups = [f"account:{n}" for n in range(5000)]
    first = [split_of(g) for g in groups]
    assert first == [split_of(g) for g in groups]
    share = first.count("train") / len(first)
    assert 0.67 < share < 0.73


def assert_test_split_unseen(examples: list[Example]) -> dict[str, list[Example]]:
    """The test examples evaluation reads, per language, after checking that none shares a group
    or a text (as near-duplicate matching reads it) with training or validation, and that every
    test example left out does share one."""
    kept, left_out = held_out(examples)
    assert sorted(kept + left_out, key=id) == sorted(
        [e for e in examples if e.split == "test"], key=id
    )
    read = [e for e in examples if e.split != "test"]
    groups = {e.group for e in read}
    texts = {tokens_for_matching(e.text) for e in read}
    per_language: dict[str, list[Example]] = {lang: [] for lang in LANGUAGES}
    for e in kept:
        per_language[language_of(e)].append(e)
    for lang, test in per_language.items():
        assert not {e.group for e in test} & groups, lang
        assert not {tokens_for_matching(e.text) for e in test} & texts, lang
    assert all(e.group in groups or tokens_for_matching(e.text) in texts for e in left_out)
    return per_language


def example(text: str, group: str, split: str, lang: str, label: int = 0) -> Example:
    return Example(text, label, "none", "fanboy", group, split, lang, "chatter")


def test_a_test_text_training_also_holds_is_left_out_in_every_language() -> None:
    examples = [
        example("the zorblat release is out", "account:a", "train", "en", 1),
        example("le marché ouvre demain matin", "account:a", "train", "fr"),
        example("السوق يفتح غدا", "account:b", "validation", "ar"),
        # The same retweet from a test account, with another link and case: left out.
        example("RT @x: The Zorblat release is out http://t.co/1", "account:c", "test", "en", 1),
        example("Le marché ouvre demain matin !", "account:c", "test", "fr"),
        example("السوق يفتح غدا http://t.co/2", "account:d", "test", "ar"),
        # Texts no other split has: kept.
        example("rain again in the city", "account:c", "test", "en"),
        example("il pleut encore en ville", "account:c", "test", "fr"),
        example("المطر يعود الى المدينة", "account:d", "test", "ar"),
        example("hujan lagi di kota", "account:d", "test", "und"),
        # A group on both sides (a split bug) is left out whatever its text.
        example("a text seen nowhere else", "account:b", "test", "en"),
    ]
    per_language = assert_test_split_unseen(examples)
    assert {lang: [e.text for e in kept] for lang, kept in per_language.items()} == {
        "en": ["rain again in the city"],
        "fr": ["il pleut encore en ville"],
        "ar": ["المطر يعود الى المدينة"],
        "other": ["hujan lagi di kota"],
    }


def test_real_data_test_split_shares_no_account_or_text_with_training_in_any_language(
    shared_data: Path,
) -> None:
    root = Path(__file__).resolve().parents[2]
    examples: list[Example] = load_examples(
        shared_data, root / "data" / "labels", root / "data" / "eval" / "benign_posts.csv"
    )
    by_group: dict[str, set[str]] = defaultdict(set)
    for e in examples:
        by_group[e.group].add(e.split)
    assert all(len(s) == 1 for s in by_group.values())  # no account, article, text in two splits
    fanboy_accounts = {e.group for e in examples if e.source == "fanboy"}
    assert len(fanboy_accounts) >= 100  # the positives come from 112 accounts
    per_language = assert_test_split_unseen(examples)
    # English, Arabic and French each have a test split of their own, with negatives of the
    # kinds that must not be flagged; English and Arabic have positives.
    for lang in ("en", "ar", "fr"):
        assert {"religious", "counter_speech"} <= {e.kind for e in per_language[lang]}, lang
    assert all(any(e.label for e in per_language[lang]) for lang in ("en", "ar"))
