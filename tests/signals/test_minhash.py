"""The text_minhash signal: signatures, their shareable text form, and near-duplicate matching."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash

from redline.signals.base import BadSignal
from redline.signals.minhash import (
    DEFAULT_THRESHOLD,
    TextMinHashSignal,
    jaccard,
    parse,
    serialise,
    shingles,
    signature,
)
from redline.signals.textnorm import tokens_for_matching

TEXT = "The library opens at nine on weekdays and at ten on Saturdays."
ARABIC = "مكتبة المدينة تفتح أبوابها في التاسعة صباحاً"


def test_signature_version_is_stable() -> None:
    # Other organisations hold signatures computed this way: a change to the shingling, the
    # normalisation or datasketch's hashing must come with a new version (mh2), not silently.
    for text, digest in (
        (TEXT, "a53ac55801797cac982233e4107d9421afdc360307f93705216944a7a94d5e67"),
        (ARABIC, "3737808a3ad2e31bdc02dd8717f2fa1806652cfdcdc55829d4c42bea31258104"),
    ):
        value = serialise(signature(text))
        assert hashlib.sha256(value.encode()).hexdigest() == digest


def test_anyone_with_datasketch_defaults_reproduces_a_signature() -> None:
    # The definition in the module docstring, written with nothing but datasketch.
    reduced = tokens_for_matching(TEXT)
    grams = {reduced[i : i + 5] for i in range(len(reduced) - 4)}
    plain = MinHash(num_perm=128)
    plain.update_batch([g.encode("utf-8") for g in grams])
    assert np.array_equal(plain.hashvalues, signature(TEXT).hashvalues)
    payload = base64.urlsafe_b64decode(serialise(signature(TEXT))[8:] + "=")
    assert np.array_equal(np.frombuffer(payload, "<u4"), plain.hashvalues)


def test_text_form_round_trips_exactly() -> None:
    for text in (TEXT, ARABIC, "ok", "a much longer text " * 500):
        mh = signature(text)
        value = serialise(mh)
        assert value.startswith("mh1:128:") and len(value) == 8 + 683
        assert set(value[8:]) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
        back = parse(value)
        assert np.array_equal(back.hashvalues, mh.hashvalues)
        assert jaccard(back, mh) == 1.0
        assert serialise(back) == value
        assert TextMinHashSignal.validate(f"  {value}\n") == value


def test_validate_accepts_standard_base64_and_normalises_it() -> None:
    value = serialise(signature(TEXT))
    raw = base64.urlsafe_b64decode(value[8:] + "=")
    standard = "MH1:128:" + base64.b64encode(raw).decode()
    assert TextMinHashSignal.validate(standard) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "expected mh1:128:<base64>"),
        ("deadbeef" * 8, "expected mh1:128:<base64>"),
        ("mh2:128:AAAA", "expected mh1:128:<base64>"),
        ("mh1:64:AAAA", "'64' values, mh1 has 128"),
        ("mh1:128:not base64!", "not base64"),
        ("mh1:128:" + "A" * 100, "75 bytes of hash values, expected 512"),
        ("mh1:128:" + base64.urlsafe_b64encode(b"\xff" * 512).decode(), "an empty text"),
    ],
)
def test_invalid_signatures_say_why(value: str, message: str) -> None:
    with pytest.raises(BadSignal, match=message.replace("(", r"\(").replace(")", r"\)")):
        TextMinHashSignal.validate(value)


def test_near_copies_match_and_unrelated_texts_do_not() -> None:
    original = (
        "Volunteers will meet at the community garden on Saturday morning to plant trees, "
        "repair the fence and paint the benches. Bring gloves and water."
    )
    edited = (
        "RT @garden_club: Volunteers will meet at the community garden on Saturday morning "
        "to plant trees, repair the fence & paint the benches!! Bring gloves and water 🌳 "
        "https://t.co/AbCdEf1234"
    )
    reworded = (
        "Volunteers meet at the community garden on Sunday morning to plant trees, repair "
        "the fence and paint the benches. Bring gloves, water and a hat."
    )
    unrelated = "The train to the coast leaves every hour from platform four, tickets on board."
    value = serialise(signature(original))
    same = TextMinHashSignal.compare(value, serialise(signature(edited)))
    assert same.match and same.detail["jaccard"] >= 0.9
    assert same.distance == pytest.approx(1 - same.detail["jaccard"])
    close = TextMinHashSignal.compare(value, serialise(signature(reworded)))
    assert 0.4 < close.detail["jaccard"] < 0.95
    far = TextMinHashSignal.compare(value, serialise(signature(unrelated)))
    assert not far.match and far.detail["jaccard"] < 0.1
    # The threshold is the caller's to choose.
    assert TextMinHashSignal.compare(value, serialise(signature(reworded)), 0.3).match
    assert TextMinHashSignal.default_threshold == DEFAULT_THRESHOLD == 0.8


def test_arabic_spelling_variants_match() -> None:
    plain = "ذهب الطلاب الى المدرسة في الصباح الباكر ثم عادوا الى البيت"
    varied = "ذَهَبَ الطُّلَّابُ إلى المدرسـة في الصباح الباكر ثم عادوا إلى البيت"
    assert jaccard(signature(plain), signature(varied)) == 1.0


def test_short_texts_are_one_shingle() -> None:
    assert shingles("Hi!") == {"hi"}
    assert shingles("hello") == {"hello"}
    assert shingles("hello!") == {"hello"}
    assert shingles("hello world") == {
        "hello",
        "ello ",
        "llo w",
        "lo wo",
        "o wor",
        " worl",
        "world",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the text is empty"),
        ("   \n\t", "the text is empty"),
        ("https://t.co/AbCdEf1234 @someone 👍", "the text has no words"),
    ],
)
def test_nothing_to_hash(text: str, message: str) -> None:
    with pytest.raises(BadSignal, match=f"nothing to hash: {message}"):
        TextMinHashSignal.compute_text(text)


def test_compute_reads_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "statement.txt"
    path.write_text("\ufeff" + TEXT + "\nSecond line.\n", encoding="utf-8")
    [computed] = TextMinHashSignal.compute(path)
    assert computed.value == serialise(signature(TEXT + " Second line."))
    assert computed.meta is not None and computed.meta["shingles"] > 50
    assert TextMinHashSignal.compute_text(TEXT)[0].value == serialise(signature(TEXT))
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("café".encode("latin-1"))
    with pytest.raises(BadSignal, match="not UTF-8"):
        TextMinHashSignal.compute(bad)
    with pytest.raises(BadSignal, match="unreadable"):
        TextMinHashSignal.compute(tmp_path / "missing.txt")


def test_other_minhash_kinds_are_refused() -> None:
    other = MinHash(num_perm=128, seed=7)
    other.update(b"x")
    with pytest.raises(BadSignal, match="not a mh1 signature"):
        serialise(other)
    with pytest.raises(BadSignal, match="not a mh1 signature"):
        jaccard(other, signature(TEXT))


@pytest.mark.slow
def test_signatures_of_many_posts_are_whole() -> None:
    # Speed is the benchmarks' business (timing assertions fail on a loaded machine).
    tweets = [
        f"RT @someone: Good morning everyone number {i}, the sun is out and the market is "
        f"open until six #weekend https://t.co/AbCdEf{i:04d}"
        for i in range(2000)
    ]
    signatures = [serialise(signature(tweet)) for tweet in tweets]
    assert len(set(map(len, signatures))) == 1  # every one of 128 values, whatever the text
    assert signatures[0] == serialise(signature(tweets[0]))
