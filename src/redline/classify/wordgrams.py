"""Word n-gram TF-IDF features from a fixed vocabulary, as scikit-learn's ``TfidfVectorizer``
transforms text, without scikit-learn.

Training fits scikit-learn's vectoriser (``train.py``) and keeps what it learnt: the vocabulary
and each term's idf. Scoring only needs the transform, and the transform is short: lower-case
the text, find the tokens with the token pattern, add the n-grams of consecutive tokens joined by
a space, count the ones in the vocabulary, weigh each count ``1 + log(count)`` times its idf, and
scale the row to unit length. Done here step for step in the same precision and order, so the
features equal scikit-learn's exactly (``tests/classify/test_model_file.py`` holds them to it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import repeat

import numpy as np
from scipy import sparse

from redline.classify.tfidf import l2_rows


class WordGrams:
    """A fitted word n-gram vocabulary with its idf; ``transform`` turns texts into TF-IDF rows."""

    def __init__(
        self,
        names: Sequence[str],
        idf: np.ndarray,
        token_pattern: str,
        ngram_range: tuple[int, int],
    ) -> None:
        if len(names) != len(idf):
            raise ValueError("a word vocabulary needs one idf for each term")
        self.names = list(names)  # by column
        self.vocabulary = {name: column for column, name in enumerate(self.names)}
        self.idf = idf
        self.token_pattern = token_pattern
        self.ngram_range = ngram_range
        self._tokens = re.compile(token_pattern).findall

    def _grams(self, tokens: list[str]) -> list[str]:
        """The n-grams of consecutive tokens, shortest first, as scikit-learn lists them."""
        low, high = self.ngram_range
        grams = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high, len(tokens)) + 1):
            grams += [" ".join(tokens[first : first + n]) for first in range(len(tokens) - n + 1)]
        return grams

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """One float32 TF-IDF row per text, columns in vocabulary order."""
        tokens = self._tokens
        found: list[int] = []  # each text's n-grams' columns in turn, -1 outside the vocabulary
        lengths = np.zeros(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            grams = self._grams(tokens(text.lower()))
            found += map(self.vocabulary.get, grams, repeat(-1))
            lengths[row] = len(grams)
        # Counted at once: (row, column) keys sorted and counted give each row's columns in
        # order with their counts, as the sorted CSR rows scikit-learn weighs.
        columns = np.fromiter(found, dtype=np.int64, count=len(found))
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        inside = columns >= 0
        width = len(self.names)
        keys, counts = np.unique(rows[inside] * width + columns[inside], return_counts=True)
        indptr = np.zeros(len(texts) + 1, dtype=np.int32)
        np.cumsum(np.bincount(keys // width, minlength=len(texts)), out=indptr[1:])
        indices = (keys % width).astype(np.int32)
        data = counts.astype(np.float32)
        # In place and in float32, as scikit-learn's TfidfTransformer weighs its count matrix.
        np.log(data, data)
        data += 1.0
        data *= self.idf[indices]
        matrix = sparse.csr_matrix((data, indices, indptr), shape=(len(texts), width))
        return l2_rows(matrix)
