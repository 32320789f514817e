"""The classifier's fast paths compute exactly what the plain definitions do: the same prepared
text and link count, the same folded text and letter counts, and the same scores and explanations
whatever else is in the batch. Scores are stored and compared: any change here is a model change.
"""

from __future__ import annotations

import random
import re
import unicodedata

import numpy as np
import pytest

from redline.classify import features
from redline.classify.features import link_count, prepare, split_hashtag, without_religious_words
from redline.classify.language import _arabic_share
from redline.classify.model import TextModel, _folded
from redline.signals import outlinks
from redline.signals.textnorm import normalise, normalise_arabic


def plain_without_religious_words(text: str) -> str:
    pieces = re.split(r"(\w+)", text)
    return "".join(" " if p in features.RELIGIOUS and i % 2 else p for i, p in enumerate(pieces))


def plain_prepare(text: str) -> str:
    """``prepare`` as first written: every step over the whole text."""
    parts = []
    if re.match(r"^\s*rt\s+@\w+\s*:?\s*", text, re.IGNORECASE):
        parts.append("zzretweet")
        text = re.sub(r"^\s*rt\s+@\w+\s*:?\s*", "", text, count=1, flags=re.IGNORECASE)
    parts.extend("zzlink" for _ in outlinks.extract_urls(text))
    text = re.sub(r"https?://\S+|www\.\S+", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"@\w+", " zzmention ", text)
    text = re.sub(r"#(\w+)", lambda m: f" #{m.group(1)} {split_hashtag(m.group(1))} ", text)
    cleaned = plain_without_religious_words(normalise(text))
    return " ".join([cleaned, *parts]).strip()


def plain_folded(text: str) -> tuple[str, list[int]]:
    out, where = [], []
    for index, char in enumerate(text):
        for piece in normalise_arabic(unicodedata.normalize("NFKC", char).casefold()):
            out.append(piece)
            where.append(index)
    return "".join(out), where


def plain_arabic_share(text: str) -> tuple[int, int]:
    letters = [c for c in text if c.isalpha()]
    arabic = [
        c
        for c in letters
        if "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f" or "\ufb50" <= c <= "\ufeff"
    ]
    return len(arabic), len(letters)


TRICKY = [
    "",
    " ",
    "RT @newsdesk: read this https://pastebin.com/abc123 via @someone",
    "https://t.co/abc https://t.co/abc https://t.co/abc. (https://t.co/abc)",
    "see justpaste.it/abc and t.me/channel, then example.org/x and www.example.org",
    "cut off https://t.co/abc…",
    "cut off at the end https://t.co/abc...",
    "not at the end https://t.co/abc... more",
    "not at the end justpaste.it/abc... today.",
    "see justpaste.it/abc... word &#32;",
    "https://t.co/x and justpaste&#46;it/abc",
    "cats & dogs https://example.org/?a=1&b=2 t.me/x&y justpaste.it/a... &",
    "escaped https&#58;//t.co/x and https://t.co/y &amp; https://example.org/?a=1&amp;b=2",
    "https://t.co/x and http://[::1]/path",
    "HTTPS://EXAMPLE.COM/PATH http://Kx.example.com/a httpſ://example.com",
    "https://x.com/fooبار https://t.co/abc_ https://t.co/abc? https://t.co/a?b=1",
    "Mr.Smith file.txt U.S. 11.05.2016 rulings.The wait... today.",
    "https://",
    "«https://example.org/a» “www.example.org” <http://example.org/x>",
    "#BreakingNewsSyria #already_lower ##x # #الدولة_الإسلامية #ÉtatIslamique",
    "Alhamdulillah, Jummah Mubarak to all, may Allah accept our prayers; allah's _allah 2allah",
    "الحمد لله رب العالمين، جمعة مباركة إن شاء الله ﷲ الدَّوْلَة الإِسْلَامِيَّة",
    "Que Dieu vous bénisse, prière à la mosquée, prie\u0300re, PRIÈRE",
    "straße İstanbul ΣΊΣΥΦΟΣ ﬁnancial ｆｕｌｌｗｉｄｔｈ 𝐛𝐨𝐥𝐝 Ꭰꭰ ǅ",
    "zero\u200bwidth\u200c soft\u00adhyphen \ufeffbom\u00a0nbsp\u3000ideo\x1c\u2028\x85 tabs\t\n",
    "😀 🇸🇾 1️⃣ 👍🏽 ❤️ … — ٠١٢٣ ۰۱۲۳",
]
ATOMS = [
    "http://",
    "https://",
    "HTTP://",
    "www.",
    "t.co/",
    "t.co",
    "t.me/",
    "justpaste.it/",
    "example.org",
    "a.b",
    "x.",
    "...",
    "…",
    ".",
    "/",
    "?",
    "#",
    "=",
    "-",
    "_",
    "'",
    ")",
    "(",
    "[",
    "]",
    '"',
    "«",
    ",",
    ":",
    "@",
    "&",
    "&amp;",
    "&#46;",
    "&#32;",
    " ",
    "  ",
    "\n",
    "\u00a0",
    "\u200b",
    ";",
    "abc",
    "XyZ",
    "K",
    "ſ",
    "ش",
    "بار",
    "allah",
    "Allah's",
    "الله",
    "ان",
    "prière",
    "ﷲ",
    "ß",
    "😀",
    "RT @a: ",
    "@x",
    "#Tag",
    "#AllahuAkbar",
]


def random_texts(count: int) -> list[str]:
    rng = random.Random(5)
    return ["".join(rng.choices(ATOMS, k=rng.randrange(1, 14))) for _ in range(count)]


def assert_plain(text: str) -> None:
    assert link_count(text) == len(outlinks.extract_urls(text)), text
    normalised = normalise(text)
    assert without_religious_words(normalised) == plain_without_religious_words(normalised), text
    assert prepare(text) == plain_prepare(text), text


@pytest.mark.parametrize("text", TRICKY)
def test_prepare_and_link_count_are_the_plain_definitions(text: str) -> None:
    assert_plain(text)


def test_prepare_and_link_count_on_random_texts() -> None:
    for text in random_texts(5000):
        assert_plain(text)


def test_every_religious_word_is_found_wherever_it_stands() -> None:
    for word in features.RELIGIOUS:
        for text in (word, f"({word}), ok", f"{word}'s _{word} {word}2 x{word} {word.upper()}"):
            assert without_religious_words(text) == plain_without_religious_words(text), text


def test_folded_text_and_letter_counts_for_every_character() -> None:
    everything = "".join(map(chr, range(0x110000)))
    for start in range(0, len(everything), 4096):
        text = everything[start : start + 4096]
        assert _folded(text) == plain_folded(text)
        assert _arabic_share(text) == plain_arabic_share(text)
    for text in TRICKY:
        assert _folded(text) == plain_folded(text)
        assert _arabic_share(text) == plain_arabic_share(text)


@pytest.fixture(scope="module")
def shipped() -> TextModel:
    return TextModel.load()


def test_a_text_scores_and_is_explained_alike_in_any_batch(shipped: TextModel) -> None:
    # Duplicates and texts that prepare alike (retweets, other links) are vectorised once.
    texts = [
        *TRICKY,
        *TRICKY[:5],
        "RT @a: la dawla baqiya https://t.co/1",
        "RT @b: la dawla baqiya https://t.co/2",
        "la dawla baqiya https://t.co/3",
    ]
    alone = np.concatenate([shipped.scores([t]) for t in texts])
    assert np.array_equal(shipped.scores(texts), alone)  # exactly, bit for bit
    assert np.array_equal(shipped.scores(texts[::-1]), alone[::-1])
    together = [p.as_dict() for p in shipped.predict(texts, embeddings=False)]
    assert together == [shipped.predict([t], embeddings=False)[0].as_dict() for t in texts]
