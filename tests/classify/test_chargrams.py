"""The compiled character n-grams are scikit-learn's ``char_wb`` n-grams, hashed: same n-grams,
same TF-IDF weighting, for English, Arabic, French, emoji and odd whitespace."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from redline.classify.chargrams import BITS, MAX_N, MIN_N, CharGrams, counts

TEXTS = [
    "the market reopened today after the storm",
    "أعلنت الدولة في بيان اليوم عن افتتاح السوق",
    "le marché a rouvert aujourd'hui après la tempête",
    "🙂🙂 emoji 🔥 between words",
    "a b c ab abc abcdef",  # words shorter and longer than the n-gram sizes
    "tabs\tand\nnewlines  and   runs of spaces",
    "",
    "x",
]


def fnv(ngram: str) -> int:
    value = 0xCBF29CE484222325
    for char in ngram:
        value = ((value ^ ord(char)) * 0x100000001B3) % 2**64
    return value & ((1 << BITS) - 1)


@pytest.mark.parametrize("text", TEXTS)
def test_the_same_ngrams_as_scikit_learn(text: str) -> None:
    analyzer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(MIN_N, MAX_N), lowercase=False
    ).build_analyzer()
    expected = Counter(fnv(ngram) for ngram in analyzer(text))
    row = counts([text])
    assert dict(zip(row.indices.tolist(), row.data.tolist(), strict=True)) == expected


def test_weights_match_scikit_learn_tfidf() -> None:
    corpus = TEXTS * 3 + ["the storm again", "السوق اليوم"]
    ours = CharGrams(min_df=2)
    theirs = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(MIN_N, MAX_N), lowercase=False, sublinear_tf=True, min_df=2
    )
    a = ours.fit_transform(corpus)
    b = theirs.fit_transform(corpus)
    # Same texts, same n-grams: the pairwise cosine similarities agree (hashing only renames
    # the columns; a collision would show here as a difference).
    assert np.allclose((a @ a.T).toarray(), (b @ b.T).toarray(), atol=1e-5)
    assert ours.features_in_use == len(theirs.vocabulary_)
    unseen = ours.transform(["a text never seen, with new words"])
    assert unseen.shape == (1, 1 << BITS)


def test_transform_before_fit_is_refused() -> None:
    with pytest.raises(ValueError, match="before fit"):
        CharGrams().transform(["text"])
