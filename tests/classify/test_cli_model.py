"""``redline model train`` and ``redline model evaluate`` from the command line."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from redline.classify.card import TABLES_BEGIN, TABLES_END, section, tables
from tests.classify.test_data import build_data
from tests.conftest import CliResult
from tests.review_desk import Desk


def test_train_writes_a_model_and_its_card(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    shared, labels = build_data(tmp_path)
    benign = tmp_path / "benign.csv"
    benign.write_text("id,text,kind,lang,split\n1,Jummah Mubarak to all,religious,en,train\n")
    model = tmp_path / "out" / "model.npz"
    card = tmp_path / "CARD.md"
    trained = cli(
        "model",
        "train",
        "--shared",
        str(shared),
        "--labels",
        str(labels),
        "--benign",
        str(benign),
        "--output",
        str(model),
        "--no-embeddings",
        "--card",
        str(card),
        "--json",
    )
    assert trained.code == 0, trained.err
    report = json.loads(trained.out)
    assert report["model"] == str(model) and model.is_file()
    assert json.loads(model.with_suffix(".json").read_text())["version"].startswith("text-v1-")
    assert report["training"]["train_examples"] > 0
    evaluation = report["evaluation"]
    assert {"held_out_accounts_f1", "arabic_f1", "french_recall", "religious_fpr_ar"} <= set(
        evaluation["goals"]
    )
    assert set(evaluation["by_language"]) == {"en", "ar", "fr", "other"}
    assert evaluation["data"] == json.loads(model.with_suffix(".json").read_text())["data"]
    text = card.read_text()
    assert text.startswith("# Model card: text-v1-") and "isis_fanboy_tweets.csv" in text
    assert section(text, TABLES_BEGIN, TABLES_END) == tables(evaluation)

    evaluate = (
        "model",
        "evaluate",
        "--shared",
        str(shared),
        "--labels",
        str(labels),
        "--benign",
        str(benign),
    )
    evaluated = cli(*evaluate, "--model", str(model), "--json")
    assert evaluated.code == 0, evaluated.err
    assert json.loads(evaluated.out) == evaluation  # the same model on the same data
    # Without --json, the same evaluation as the card's tables.
    shown = cli(*evaluate, "--model", str(model))
    assert shown.code == 0 and shown.out == tables(evaluation)

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    scored = cli("classify", "-", "--model", str(model))  # empty stdin: nothing to score
    assert scored.code == 0 and scored.out == ""


def test_missing_data_is_a_usage_error(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    result = cli("model", "train", "--shared", str(tmp_path / "nowhere"))
    assert result.code == 2
    assert "isis_fanboy_tweets.csv not found" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_train_reads_reviewers_decisions_when_asked(
    tmp_path: Path, cli: Callable[..., CliResult], desk: Desk
) -> None:
    from redline.model.base import utcnow
    from redline.review.decisions import Verdict, decide

    with desk.engine.begin() as connection:
        decide(
            connection,
            desk.users["lead1"],
            desk.cases["p4"],
            Verdict("not_violating", reason="news_reporting"),
            utcnow(),
        )
    shared, labels = build_data(tmp_path)
    model = tmp_path / "model.npz"
    common = (
        "--shared",
        str(shared),
        "--labels",
        str(labels),
        "--benign",
        str(tmp_path / "none.csv"),
        "--no-embeddings",
        "--json",
    )
    trained = cli("model", "train", *common, "--output", str(model), "--reviews")
    assert trained.code == 0, trained.err
    data = json.loads(model.with_suffix(".json").read_text())["data"]
    assert len(data["review decisions"]) == 64
    without = cli("model", "train", *common, "--output", str(tmp_path / "m2.npz"))
    assert "review decisions" not in json.loads((tmp_path / "m2.json").read_text())["data"]
    assert (
        json.loads(trained.out)["training"]["train_examples"]
        >= json.loads(without.out)["training"]["train_examples"]
    )
