"""Assembling the training data: split by account, odd mixed rows never read, hand labels win,
weak labels only in training, unsure labels left out. Built on small files shaped like the
shared data sets, so it runs without them."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from redline.classify.data import Example, fanboy, load_examples, mixed, news, split_of

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


def test_real_data_splits_keep_accounts_apart(shared_data: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    examples: list[Example] = load_examples(
        shared_data, root / "data" / "labels", root / "data" / "eval" / "benign_posts.csv"
    )
    by_group: dict[str, set[str]] = defaultdict(set)
    for e in examples:
        by_group[e.group].add(e.split)
    assert all(len(s) == 1 for s in by_group.values())
    fanboy_accounts = {e.group for e in examples if e.source == "fanboy"}
    assert len(fanboy_accounts) >= 100  # the positives come from 112 accounts
    test_texts = {e.text for e in examples if e.split == "test" and e.source == "mixed"}
    train_texts = {e.text for e in examples if e.split == "train" and e.source == "mixed"}
    assert not test_texts & train_texts  # a re-posted text never sits on both sides
