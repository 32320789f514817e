"""The model file holds arrays, not a pickle: a model scikit-learn fitted scores the same after
conversion, loading and scoring never import scikit-learn, and a file with a pickle in it is
refused without running it."""

from __future__ import annotations

import json
import pickle
import random
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from redline.classify.chargrams import CharGrams, counts
from redline.classify.features import prepare
from redline.classify.model import TextModel
from redline.classify.train import fitted_model, vectorisers

# Generic words in three languages, hashtags, capitals and repeats: unigrams and bigrams that
# occur more than once in a text (the sublinear weights), terms outside the vocabulary, accents.
LEXICON = (
    "market storm bridge council bus school road north river rain football match coffee "
    "Lunch FRIENDS city train #news #weather #Match marché école pluie café "
    "السوق المدينة المطر القطار المدرسة الجسر"
)
WORDS = LEXICON.split()
CATEGORIES = ("alpha", "beta", "gamma")


def synthetic_posts(count: int, seed: int) -> tuple[list[str], list[int], list[str]]:
    """Texts with a label (the invented word "zorblat" marks the flagged class) and a category."""
    chooser = random.Random(seed)
    texts, labels, categories = [], [], []
    for i in range(count):
        words = chooser.choices(WORDS, k=chooser.randint(0, 18))
        label = i % 3 == 0
        category = CATEGORIES[(i // 3) % len(CATEGORIES)]
        if label:
            words[chooser.randint(0, len(words)) : 0] = ["zorblat", category]
        texts.append(" ".join(words) + chooser.choice(["", " 12", "!", " https://example.org/x"]))
        labels.append(int(label))
        categories.append(category if label else "none")
    return texts, labels, categories


@dataclass(frozen=True)
class Fitted:
    """What scikit-learn fitted, and where the model converted from it was saved."""

    word: TfidfVectorizer
    char: CharGrams
    linear: LogisticRegression
    kinds: LogisticRegression
    path: Path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Fitted:
    texts, labels, categories = synthetic_posts(600, seed=1)
    prepared = [prepare(t) for t in texts]
    word, char = vectorisers()
    matrix = sparse.hstack([word.fit_transform(prepared), char.fit_transform(prepared)]).tocsr()
    linear = LogisticRegression(C=4.0, solver="liblinear", random_state=0).fit(matrix, labels)
    flagged = [i for i, label in enumerate(labels) if label]
    kinds = LogisticRegression(C=2.0, max_iter=2000).fit(
        matrix[flagged], [categories[i] for i in flagged]
    )
    calibration = (np.array([-2.0, 0.0, 2.0]), np.array([0.05, 0.5, 0.95]))
    model = fitted_model(word, char, linear, calibration, 0.5, kinds, {"version": "synthetic"})
    path = tmp_path_factory.mktemp("model") / "synthetic.npz"
    model.save(path)
    return Fitted(word, char, linear, kinds, path)


def test_a_converted_model_scores_as_scikit_learn_did(fitted: Fitted) -> None:
    word, char, linear, kinds = fitted.word, fitted.char, fitted.linear, fitted.kinds
    model = TextModel.load(fitted.path)
    texts, _labels, _categories = synthetic_posts(400, seed=2)  # texts training never saw
    texts += ["", "!!!", "ZORBLAT ZORBLAT zorblat market market market", "مرحبا بالعالم"]
    prepared = [prepare(t) for t in texts]
    theirs = word.transform(prepared)
    ours = model.word.transform(prepared)
    # The same TF-IDF rows to the last bit: same columns, same float32 values.
    assert np.array_equal(ours.indptr, theirs.indptr)
    assert np.array_equal(ours.indices, theirs.indices)
    assert ours.data.dtype == theirs.data.dtype == np.float32
    assert np.array_equal(ours.data, theirs.data)
    # The character rows as scikit-learn's normalize scaled them before.
    weighted = counts(prepared)
    weighted.data = (1 + np.log(weighted.data)) * char.idf_[weighted.indices]
    weighted.eliminate_zeros()
    assert np.array_equal(model.char.transform(prepared).data, normalize(weighted).data)
    # And so the same decisions, categories and calibrated scores.
    matrix = sparse.hstack([theirs, char.transform(prepared)]).tocsr()
    raw = linear.decision_function(matrix)
    assert np.array_equal(model.linear.decision_function(model.features(prepared)), raw)
    assert model.categories is not None and not isinstance(model.categories, str)
    assert model.categories.predict(matrix).tolist() == kinds.predict(matrix).tolist()
    predictions = model.predict(texts, embeddings=False)
    assert [p.score for p in predictions] == np.interp(raw, *model.calibration).tolist()
    assert {p.category for p in predictions} > {"none"}
    assert any(p.explanation for p in predictions)


def test_loading_and_predicting_never_import_scikit_learn(fitted: Fitted) -> None:
    # A fresh interpreter: this one imported scikit-learn to train. Both the shipped model and
    # one saved by training.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from redline.classify.model import TextModel\n"
        "for model in (TextModel.load(), TextModel.load(Path(sys.argv[1]))):\n"
        "    model.predict(['hello world', 'zorblat market'], embeddings=False)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'joblib'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(fitted.path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"


class Trap:
    """Unpickling this creates a file: the proof that a loader ran code from the model file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.marker,))


def test_a_file_with_a_pickle_in_it_is_refused_without_running_it(
    fitted: Fitted, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Trap(tmp_path / "armed")))  # the trap works when unpickled
    assert (tmp_path / "armed").exists()
    trap = np.array([Trap(marker)], dtype=object)
    # A real model file with one array swapped for an object array, which only a pickle fills.
    with np.load(fitted.path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    crafted = tmp_path / "crafted.npz"
    np.savez(crafted, **(arrays | {"word_idf": trap}), allow_pickle=True)
    # A zip whose member is a bare pickle rather than an array.
    bare = tmp_path / "bare.npz"
    with zipfile.ZipFile(bare, "w") as archive:
        archive.writestr("format.npy", pickle.dumps(Trap(marker)))
    # A pickle, and a joblib file, under the model file's name or their own.
    pickled = tmp_path / "pickled.npz"
    pickled.write_bytes(pickle.dumps(Trap(marker)))
    old = tmp_path / "old.joblib"
    joblib.dump(Trap(marker), old, compress=("xz", 6))
    for path in (crafted, bare, pickled, old):
        with pytest.raises(ValueError, match="not a redline text model") as refused:
            TextModel.load(path)
        assert str(path) in str(refused.value)
    assert not marker.exists()
    # An old model is told how to convert it.
    with pytest.raises(ValueError, match=r"scripts/convert-model\.py"):
        TextModel.load(old)


def test_the_file_is_self_describing(fitted: Fitted) -> None:
    path = fitted.path
    model = TextModel.load(path)
    assert model.meta == json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    with np.load(path, allow_pickle=False) as stored:
        assert str(stored["format"]) == "redline-text-model/1"
        assert all(stored[name].dtype != object for name in stored.files)


def test_an_old_joblib_model_converts_to_one_that_scores_the_same(
    fitted: Fitted, tmp_path: Path
) -> None:
    # A model as redline saved it before: its TextModel pickled with scikit-learn's objects.
    old = object.__new__(TextModel)
    old.__dict__.update(
        word=fitted.word,
        char=fitted.char,
        linear=fitted.linear,
        calibration=(np.array([-2.0, 0.0, 2.0]), np.array([0.05, 0.5, 0.95])),
        threshold=0.5,
        categories=fitted.kinds,
        meta={"version": "old-1", "data": {"x.csv": "0" * 64}},
        second=None,
    )
    source = tmp_path / "old.joblib"
    joblib.dump(old, source, compress=("xz", 6))
    with pytest.raises(ValueError, match=r"convert-model\.py"):
        TextModel.load(source)
    converted = tmp_path / "new.npz"
    script = Path(__file__).resolve().parents[2] / "scripts" / "convert-model.py"
    subprocess.run([sys.executable, str(script), str(source), str(converted)], check=True)
    model = TextModel.load(converted)
    assert model.version == "old-1" and model.threshold == 0.5
    assert json.loads(converted.with_suffix(".json").read_text(encoding="utf-8")) == model.meta
    texts = [prepare(t) for t in synthetic_posts(200, seed=3)[0]]
    matrix = sparse.hstack([fitted.word.transform(texts), fitted.char.transform(texts)]).tocsr()
    raw = fitted.linear.decision_function(matrix)
    assert np.array_equal(model.linear.decision_function(model.features(texts)), raw)
    assert model.categories is not None and not isinstance(model.categories, str)
    assert model.categories.predict(matrix).tolist() == fitted.kinds.predict(matrix).tolist()
