"""Training: fit on the train split, choose the model, calibrate it and set its operating
threshold on the validation split. The test split is never looked at here.

The threshold is chosen to keep false positives on reporting about terrorism under half its goal
(<= 1% against 2%) and on religious posts within its goal (<= 1%) on validation, and within that
to maximise F1 on same-domain tweets: over-removal of journalism and of ordinary Muslims' posts
is the failure the users of redline fear most, so that constraint comes first.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from redline.classify import embedding
from redline.classify.chargrams import CharGrams
from redline.classify.data import Example
from redline.classify.embedding import EmbeddingStage
from redline.classify.features import prepare
from redline.classify.linear import Linear
from redline.classify.model import Calibration, TextModel
from redline.classify.wordgrams import WordGrams

SAME_DOMAIN = ("fanboy", "mixed")
# Validation limits: news and research about terrorism at half the goal's 2%, so the test set and
# unseen data have room; religious posts at the goal's 1% (the validation set holds about a
# hundred, so anything stricter lets one borderline post, "may God accept them" under a war
# report, set the threshold for everything); and the neutral war updates of the same-domain
# tweets, which share the propaganda's vocabulary.
MAX_FPR_REPORTING = 0.01
F1_TOLERANCE = 0.005
MAX_FPR_RELIGIOUS = 0.01
MAX_FPR_SAME_DOMAIN_REPORTING = 0.05
C_VALUES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
# The embedding stage's shape is fixed rather than tuned, so validation data only calibrates and
# thresholds it: its weight in the blend, and the band of first-stage raw scores (around the
# first stage's operating point) in which it runs.
EMBEDDING_WEIGHT = 0.3
EMBEDDING_BAND = 1.5
EMBEDDING_C = 1.0


@dataclass(frozen=True, slots=True)
class Choice:
    """A candidate model's validation results."""

    c: float
    threshold: float
    f1: float
    fpr_reporting: float
    fpr_religious: float


def vectorisers() -> tuple[TfidfVectorizer, CharGrams]:
    """Word (1-2 grams, hashtags kept) TF-IDF, and hashed character (2-5 grams within words)
    TF-IDF (``chargrams.py``: the same features as scikit-learn's ``char_wb``, ten times faster)."""
    word = TfidfVectorizer(
        token_pattern=r"(?u)#?\b\w\w+\b",  # noqa: S106 - a regular expression, not a password
        ngram_range=(1, 2),
        min_df=2,
        max_features=120_000,
        sublinear_tf=True,
        dtype=np.float32,
    )
    return word, CharGrams(min_df=3)


def _f1(flags: np.ndarray, labels: np.ndarray) -> float:
    tp = float((flags & (labels == 1)).sum())
    fp = float((flags & (labels == 0)).sum())
    fn = float((~flags & (labels == 1)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _rate(flags: np.ndarray, mask: np.ndarray) -> float:
    return float(flags[mask].mean()) if mask.any() else 0.0


def choose_threshold(
    probabilities: np.ndarray, examples: Sequence[Example]
) -> tuple[float, float, float, float]:
    """(threshold, F1, reporting FPR, religious FPR) on validation, per the module's rule."""
    labels = np.array([e.label for e in examples])
    same = np.array([e.source in SAME_DOMAIN for e in examples])
    reporting = np.array(
        [
            e.label == 0
            and e.source in {"news", "benign"}
            and e.kind in {"reporting_terrorism", "reporting", "research"}
            for e in examples
        ]
    )
    same_reporting = same & np.array([e.label == 0 and e.kind == "reporting" for e in examples])
    religious = np.array([e.label == 0 and e.kind == "religious" for e in examples])
    best = (1.0, 0.0, 0.0, 0.0)
    for threshold in np.unique(np.round(probabilities, 4)):
        flags = probabilities >= threshold
        fpr_reporting, fpr_religious = _rate(flags, reporting), _rate(flags, religious)
        if fpr_reporting > MAX_FPR_REPORTING or fpr_religious > MAX_FPR_RELIGIOUS:
            continue
        if _rate(flags, same_reporting) > MAX_FPR_SAME_DOMAIN_REPORTING:
            continue
        f1 = _f1(flags[same], labels[same])
        if f1 > best[1] or (f1 == best[1] and threshold > best[0]):
            best = (float(threshold), f1, fpr_reporting, fpr_religious)
    return best


def margin_threshold(raw: np.ndarray, calibration: Calibration, chosen: float) -> float:
    """The operating threshold half-way (in raw score) between the validation texts ``chosen``
    flags and the highest-scoring one it does not.

    Isotonic calibration is a step function, so ``chosen`` sits on the edge of a step: a new text
    scoring just below the lowest flagged validation text would miss it by a hair. The middle of
    the gap flags exactly the same validation texts and leaves a margin on both sides.
    """
    calibrated = np.interp(raw, *calibration)
    above, below = raw[calibrated >= chosen], raw[calibrated < chosen]
    if not above.size or not below.size:
        return chosen
    middle = float(np.interp((above.min() + below.max()) / 2, *calibration))
    return middle if middle > float(np.interp(below.max(), *calibration)) else chosen


def fit_on_columns_in_use(linear: LogisticRegression, x: sparse.csr_matrix, y: Any) -> None:
    """Fit ``linear`` on the columns of ``x`` some example uses, then widen its weights back to
    every column (zero for the others).

    The character n-grams hash into 2**20 columns and a corpus uses a fraction of them; the
    solvers' cost grows with the columns, used or not (over a second a fit on a few hundred
    texts, against a hundredth of that). A column no example uses gets a weight of exactly 0
    under L2 either way, so the model is the same; the widened one scores full-width features.
    """
    used = np.unique(x.indices)
    linear.fit(x[:, used], y)
    coef = np.zeros((linear.coef_.shape[0], x.shape[1]), dtype=linear.coef_.dtype)
    coef[:, used] = linear.coef_
    linear.coef_ = coef
    linear.n_features_in_ = x.shape[1]


def train(
    examples: Sequence[Example],
    meta: dict[str, Any],
    *,
    embeddings_cache: Path | None = None,
    on_stage: Callable[[str, int], None] = lambda _name, _total: None,
    on_advance: Callable[[int], None] = lambda _n: None,
) -> tuple[TextModel, dict[str, Any]]:
    """Fit, select, calibrate and threshold a model; returns it and a report of the choices.

    With ``embeddings_cache`` (a file for the embeddings, which take minutes) the model also gets
    the embedding stage for its uncertain band.
    """
    started = time.perf_counter()
    fit = [e for e in examples if e.split == "train"]
    check = [e for e in examples if e.split == "validation"]
    word, char = vectorisers()
    fit_text = [prepare(e.text) for e in fit]
    check_text = [prepare(e.text) for e in check]
    x_fit = sparse.hstack([word.fit_transform(fit_text), char.fit_transform(fit_text)]).tocsr()
    x_check = sparse.hstack([word.transform(check_text), char.transform(check_text)]).tocsr()
    y_fit = np.array([e.label for e in fit])
    y_check = np.array([e.label for e in check])
    trials: list[tuple[Choice, Any, Calibration]] = []
    for c in C_VALUES:
        linear = LogisticRegression(
            C=c, class_weight="balanced", max_iter=2000, solver="liblinear", random_state=0
        )
        fit_on_columns_in_use(linear, x_fit, y_fit)
        raw = linear.decision_function(x_check)
        calibration = calibrate(raw, y_check)
        probabilities = np.interp(raw, *calibration)
        threshold, f1, fpr_reporting, fpr_religious = choose_threshold(probabilities, check)
        threshold = margin_threshold(raw, calibration, threshold)
        trials.append((Choice(c, threshold, f1, fpr_reporting, fpr_religious), linear, calibration))
    # The most regularised model within F1_TOLERANCE of the best: differences that small are
    # noise on a validation set of a few hundred positives, and a smaller C generalises better.
    best = max(t[0].f1 for t in trials)
    choice, linear, calibration = min(
        (t for t in trials if t[0].f1 >= best - F1_TOLERANCE), key=lambda t: t[0].c
    )
    positives = [i for i, e in enumerate(fit) if e.label == 1 and e.category != "none"]
    seen = Counter(fit[i].category for i in positives)
    categories: Any = seen.most_common(1)[0][0] if seen else None
    if len(seen) > 1:
        categories = LogisticRegression(C=2.0, max_iter=2000, class_weight="balanced")
        fit_on_columns_in_use(categories, x_fit[positives], [fit[i].category for i in positives])
    second = None
    second_report: dict[str, Any] = {}
    if embeddings_cache is not None:
        raw_check = linear.decision_function(x_check)
        second, second_report = _embedding_stage(
            fit,
            check,
            y_fit,
            y_check,
            raw_check,
            calibration,
            choice.threshold,
            embeddings_cache,
            on_stage,
            on_advance,
        )
    fingerprint = hashlib.sha256(np.asarray(linear.coef_, dtype=np.float64).tobytes())
    fingerprint.update(str(choice.threshold).encode())
    model = fitted_model(
        word,
        char,
        linear,
        calibration,
        choice.threshold,
        categories,
        {
            **meta,
            "version": f"{meta.get('version', 'text-v1')}-{fingerprint.hexdigest()[:8]}",
            "c": choice.c,
            "threshold": choice.threshold,
            "embedding_stage": second is not None,
            # Validation decides whether the stage runs by default: only if it helps there.
            "embedding_default": bool(second_report) and second_report["f1"] > round(choice.f1, 4),
        },
        second,
    )
    report = {
        "train_examples": len(fit),
        "validation_examples": len(check),
        "train_positives": int(y_fit.sum()),
        "features": {"word": len(word.vocabulary_), "char": char.features_in_use},
        "trials": [_choice_dict(t[0]) for t in trials],
        "chosen": _choice_dict(choice),
        "embedding_stage": second_report,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return model, report


# The settings ``WordGrams`` transforms with: a vectoriser fitted otherwise cannot be converted.
WORD_SETTINGS = {
    "input": "content",
    "analyzer": "word",
    "lowercase": True,
    "strip_accents": None,
    "preprocessor": None,
    "tokenizer": None,
    "stop_words": None,
    "binary": False,
    "norm": "l2",
    "use_idf": True,
    "sublinear_tf": True,
    "dtype": np.float32,
}


def plain_words(vectoriser: TfidfVectorizer) -> WordGrams:
    """A fitted scikit-learn vectoriser's vocabulary and idf, which ``WordGrams`` transforms
    with as it does."""
    settings = vectoriser.get_params()
    differing = {k: settings[k] for k, v in WORD_SETTINGS.items() if settings[k] != v}
    if differing:
        raise ValueError(
            f"word features fitted with settings WordGrams does not reproduce: {differing}"
        )
    names = [str(name) for name in vectoriser.get_feature_names_out()]
    low, high = vectoriser.ngram_range
    return WordGrams(names, np.asarray(vectoriser.idf_), vectoriser.token_pattern, (low, high))


def plain_linear(fitted: LogisticRegression) -> Linear:
    """A fitted logistic regression's weights, intercepts and classes."""
    classes = np.asarray(fitted.classes_)
    if classes.dtype == object:
        classes = classes.astype(str)
    return Linear(np.asarray(fitted.coef_), np.asarray(fitted.intercept_), classes)


def fitted_model(
    word: TfidfVectorizer,
    char: CharGrams,
    linear: LogisticRegression,
    calibration: Calibration,
    threshold: float,
    categories: LogisticRegression | str | None,
    meta: dict[str, Any],
    second: tuple[EmbeddingStage, Calibration, float] | None = None,
) -> TextModel:
    """The model scikit-learn fitted, as plain arrays that score without it (``model.py``)."""
    return TextModel(
        plain_words(word),
        char,
        plain_linear(linear),
        calibration,
        threshold,
        categories
        if categories is None or isinstance(categories, str)
        else plain_linear(categories),
        meta,
        second,
    )


def _choice_dict(choice: Choice) -> dict[str, float]:
    return {
        "c": choice.c,
        "threshold": choice.threshold,
        "f1": round(choice.f1, 4),
        "fpr_reporting": round(choice.fpr_reporting, 4),
        "fpr_religious": round(choice.fpr_religious, 4),
    }


def calibrate(raw: np.ndarray, labels: np.ndarray) -> Calibration:
    """Centred isotonic calibration: isotonic regression of the labels on the raw scores, then a
    line through the middle of each of its steps.

    Plain isotonic regression is a staircase: every text on a step gets the same probability, so
    no threshold can fall inside a step, and the operating point can only be chosen between
    whole blocks of validation texts. Joining the steps' midpoints keeps the fit (each step's
    probability, at its median score) and makes the map strictly increasing.
    """
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels)
    fitted = isotonic.predict(raw)
    levels = np.unique(fitted)
    centres = np.array([np.median(raw[fitted == level]) for level in levels])
    return centres.astype(np.float64), levels.astype(np.float64)


def band_centre(raw: np.ndarray, calibration: Calibration, threshold: float) -> float:
    """The raw first-stage score where the calibrated probability reaches the threshold: the
    middle of the embedding stage's band."""
    at_threshold = raw[np.interp(raw, *calibration) >= threshold]
    return float(at_threshold.min()) if at_threshold.size else float(np.median(raw))


def _embedding_stage(
    fit: Sequence[Example],
    check: Sequence[Example],
    y_fit: np.ndarray,
    y_check: np.ndarray,
    raw_check: np.ndarray,
    first: Calibration,
    first_threshold: float,
    cache: Path,
    on_stage: Callable[[str, int], None],
    on_advance: Callable[[int], None],
) -> tuple[tuple[EmbeddingStage, Calibration, float], dict[str, Any]]:
    """Fit the embedding model on the training texts; calibrate and threshold the two stages
    together on validation."""
    on_stage("embedding", len(fit) + len(check))
    vectors_fit = embedding.embed_cached([e.text for e in fit], cache, on_advance)
    vectors_check = embedding.embed_cached([e.text for e in check], cache, on_advance)
    head = LogisticRegression(C=EMBEDDING_C, class_weight="balanced", max_iter=5000)
    head.fit(vectors_fit, y_fit)
    embedded = head.decision_function(vectors_check)
    centre = band_centre(raw_check, first, first_threshold)
    stage = EmbeddingStage(
        coef=np.asarray(head.coef_[0], dtype=np.float32),
        intercept=float(head.intercept_[0]),
        weight=EMBEDDING_WEIGHT,
        scale=float(raw_check.std() / max(embedded.std(), 1e-9)),
        low=centre - EMBEDDING_BAND,
        high=centre + EMBEDDING_BAND,
    )
    band = stage.in_band(raw_check)
    blended = raw_check.copy()
    blended[band] = stage.blend(raw_check[band], vectors_check[band])
    calibration = calibrate(blended, y_check)
    threshold, f1, fpr_reporting, fpr_religious = choose_threshold(
        np.interp(blended, *calibration), check
    )
    threshold = margin_threshold(blended, calibration, threshold)
    report = {
        "band": [round(stage.low, 3), round(stage.high, 3)],
        "band_share_validation": round(float(band.mean()), 4),
        "weight": stage.weight,
        **_choice_dict(Choice(EMBEDDING_C, threshold, f1, fpr_reporting, fpr_religious)),
    }
    return (stage, calibration, threshold), report
