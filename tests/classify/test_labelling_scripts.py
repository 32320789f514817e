"""The labelling tools: batches drawn for annotators never repeat a labelled tweet, a text or an
account of another split; the agreement figures follow from the two annotations."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from redline.classify.data import split_of
from tests.classify.test_data import build_data, write_csv

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_batches_hold_unlabelled_distinct_tweets_of_one_split(tmp_path: Path) -> None:
    shared, labels = build_data(tmp_path)
    tweets = read(shared / "isis_fanboy_tweets.csv")
    # A re-post of an unlabelled tweet under another id: only one of the two may be drawn.
    tweets.append({**tweets[25], "tweetid": "99999"})
    write_csv(
        shared / "isis_fanboy_tweets.csv", list(tweets[0]), [list(t.values()) for t in tweets]
    )
    labelled = {r["tweetid"] for f in labels.glob("fanboy_*.csv") for r in read(f)}
    out = tmp_path / "batches"

    script("sample-for-labelling").main(
        shared, out, ["train:x:60", "train:y:1000", "validation:z:5"], labels
    )

    account = {t["tweetid"]: t["username"] for t in tweets}
    x, y, z = (read(out / f"batch_{letter}.csv") for letter in "xyz")
    assert len(x) == 60 and len(z) == 5
    drawn = [r["tweetid"] for r in x + y]
    assert len(drawn) == len(set(drawn)), "two batches of one split overlap"
    assert not set(drawn) & labelled
    assert {split_of(f"account:{account[i]}") for i in drawn} == {"train"}
    assert {split_of(f"account:{account[r['tweetid']]}") for r in z} == {"validation"}
    texts = [r["text"] for r in x + y + z]
    assert len(texts) == len(set(texts))
    # Every unlabelled training tweet is drawn once the batches are big enough.
    unlabelled_train = {
        t["tweets"]
        for t in tweets
        if t["tweetid"] not in labelled and split_of(f"account:{t['username']}") == "train"
    }
    assert {r["text"] for r in x + y} == unlabelled_train
    # Round-robin: the first batch spreads over the accounts instead of draining one.
    assert len({account[r["tweetid"]] for r in x}) >= 20


def test_agreement_between_two_annotations(tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    header = ["tweetid", "label", "category", "kind", "lang", "confidence", "reason"]
    first = ["1"] * 10 + ["0"] * 30 + ["unsure"] * 2
    write_csv(
        labels / "fanboy_sample.csv",
        header,
        [[n, label, "none", "chatter", "en", "high", "r"] for n, label in enumerate(first)],
    )
    write_csv(
        labels / "mixed_even_a.csv",
        ["row", *header[1:]],
        [[0, "1", "recruitment", "propaganda", "en", "high", "r"]],
    )
    # The second annotator: 8 of the 10 flags, 2 extra flags among the 30, one unsure.
    second = ["1"] * 8 + ["0", "unsure"] + ["1"] * 2 + ["0"] * 28 + ["0", "1"]
    rows = [
        [f"fanboy:{n}", label, "none", "chatter", "en", "high", "r"]
        for n, label in enumerate(second)
    ]
    write_csv(
        labels / "second_opinion.csv",
        header,
        [*rows, ["mixed:0", "1", "recruitment", "propaganda", "en", "high", "r"]],
    )

    write_csv(
        labels / "second_opinion_round3.csv",
        header,
        [
            ["fanboy:0", "1", "none", "chatter", "en", "high", "r"],
            ["fanboy:12", "1", "none", "chatter", "en", "high", "r"],
        ],
    )

    results = script("label-agreement").main(labels)

    assert set(results) == {"second_opinion.csv", "second_opinion_round3.csv"}
    assert results["second_opinion_round3.csv"]["pairs"] == {"0/1": 1, "1/1": 1}
    result = results["second_opinion.csv"]

    assert result["posts"] == 43 and result["both_decided"] == 40
    assert result["pairs"]["1/1"] == 9 and result["pairs"]["0/1"] == 2
    assert result["agreement"] == round(37 / 40, 3)
    tp, wrong = 9, 3
    assert result["f1_second_vs_first"] == round(2 * tp / (2 * tp + wrong), 3)
    share_a, share_b = 10 / 40, 11 / 40
    expected = share_a * share_b + (1 - share_a) * (1 - share_b)
    assert result["kappa"] == round((37 / 40 - expected) / (1 - expected), 3)
    low, high = result["f1_95ci"]
    assert low <= result["f1_second_vs_first"] <= high
    json.dumps(result)  # printable as JSON


def test_a_bad_batch_spec_is_named_before_anything_is_read(tmp_path: Path) -> None:
    sampler = script("sample-for-labelling")
    for spec in ("train:x", "nowhere:x:5", "train:x:many", "train::5"):
        with pytest.raises(SystemExit, match="bad batch"):
            sampler.main(tmp_path / "missing", tmp_path / "out", ["train:a:5", spec])
    assert not (tmp_path / "out").exists()
