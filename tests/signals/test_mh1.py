"""The compiled ``mh1`` signatures are datasketch's, value for value, on any text.

Banks shared with other organisations hold signatures made with datasketch (``mh1`` is defined
by its defaults): the compiled path must give exactly the same 128 values, or a re-post would
stop matching a shared signature after an upgrade.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redline.signals.base import BadSignal
from redline.signals.minhash import (
    _signature,
    serialise,
    shingles,
    signature,
    signature_values,
)


def datasketch_values(text: str) -> np.ndarray:
    """The values datasketch itself gives the text's shingles."""
    return np.asarray(_signature(shingles(text)).hashvalues, dtype=np.uint32)


# Letters of several scripts, digits, punctuation, emoji (four UTF-8 bytes), combining marks,
# spaces and the characters normalisation folds (ligatures, full-width forms).
ALPHABET = st.sampled_from(
    list("abcXYZ019 .,!?-_'\"\n\t")
    + list("مكتبةالمدينةتفتح")
    + list("éüñçßøЖжд中文字")
    + ["\U0001f600", "\U0001f4a5", "\u0301", "\u200d", "\ufb01", "\uff21", "\u00a0", "#", "@"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet=ALPHABET, min_size=0, max_size=120), min_size=1, max_size=8))
def test_compiled_signatures_equal_datasketch_on_any_text(texts: list[str]) -> None:
    compiled = signature_values(texts)
    for text, values in zip(texts, compiled, strict=True):
        try:
            expected = datasketch_values(text)
        except BadSignal:
            assert values is None, text  # nothing to hash: no signature either way
            continue
        assert values is not None, text
        assert np.array_equal(values, expected), text


def test_texts_of_every_length_in_one_call() -> None:
    """Shorter than a shingle, exactly one, one more, a long article: each as if alone."""
    texts = ["ok", "abcde", "abcdef", "the harbour reopened " * 400, "", "@user http://x.co/a"]
    compiled = signature_values(texts)
    assert compiled[4] is None and compiled[5] is None
    for text, values in zip(texts[:4], compiled[:4], strict=True):
        assert values is not None
        assert np.array_equal(values, datasketch_values(text))
        assert np.array_equal(values, signature_values([text])[0])
        assert serialise(signature(text)) == serialise(_signature(shingles(text)))


def test_every_shared_tweet_signs_as_datasketch_does(shared_data: Path) -> None:
    """The real posts of the shared data sets (Arabic, English, emoji, links, mentions), in
    calls of 100 as the text stage makes them."""
    texts: list[str] = []
    for name in ("isis_fanboy_tweets.csv", "unlabelled_mixed_tweets.csv"):
        with (shared_data / name).open(encoding="utf-8", errors="replace", newline="") as handle:
            rows = csv.DictReader(handle)
            column = "tweets" if name.startswith("isis") else "text"
            texts.extend(row.get(column) or "" for row in rows)
    sample = texts[::6]  # every sixth: all of both files takes datasketch about ten seconds
    assert len(sample) > 3_500
    mismatched = 0
    for start in range(0, len(sample), 100):
        chunk = sample[start : start + 100]
        for text, values in zip(chunk, signature_values(chunk), strict=True):
            try:
                expected = datasketch_values(text)
            except BadSignal:
                mismatched += values is not None
                continue
            mismatched += values is None or not np.array_equal(values, expected)
    assert mismatched == 0


@pytest.mark.parametrize("text", ["", "   ", "http://t.co/x @someone #"])
def test_nothing_to_hash_is_none_in_a_batch_and_an_error_alone(text: str) -> None:
    assert signature_values(["a long enough text to hash", text])[1] is None
    with pytest.raises(BadSignal, match="nothing to hash"):
        signature(text)
