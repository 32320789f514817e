"""Text normalisation shared by the text signals and the classifier.

Three levels, each built on the one before:

- ``normalise_arabic``: one spelling for the letters Arabic writers (and keyboards) vary freely,
  without diacritics or tatweel, with ASCII digits;
- ``normalise``: what every text feature sees: NFKC, case-folded, Arabic-normalised, invisible
  characters removed, whitespace collapsed. Words, URLs, mentions and hashtags stay as written
  (case aside), so a classifier can still see them;
- ``tokens_for_matching``: what near-duplicate matching sees: ``normalise`` without links,
  mentions, retweet prefixes, punctuation or emoji, so a re-post that only changes those still
  matches.

``tokens_for_matching`` defines what the ``text_minhash`` signal hashes: changing its output for
any text changes signatures that other organisations already hold, so any change here needs a new
signature version in ``redline.signals.minhash`` (its golden-value test fails as a reminder).

Every mapping is a ``str.translate`` table and every pattern one compiled regex, because these run
on every post of every ingest (millions). Links must be extracted from the raw text
(``redline.signals.outlinks``), never from ``normalise``'s output, which case-folds their paths.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from typing import Final

# Combining marks of the Arabic blocks: tashkeel (fatha, damma, kasra, tanwin, shadda, sukun,
# U+064B-U+065F, including the combining hamza above/below), superscript alef (U+0670) and the
# Quranic annotation signs (U+0610-U+061A, U+06D6-U+06ED, U+0898-U+08FF). Writers add or omit
# them at will and Quran quotes carry many, so they never distinguish two texts. The ranges are
# written out, not looked up in ``unicodedata``, so the result does not change with Python's
# Unicode version (a signature computed here must equal one computed elsewhere).
_ARABIC_MARKS = (
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
    (0x0898, 0x089F),
    (0x08CA, 0x08E1),
    (0x08E3, 0x08FF),
)
_TATWEEL = 0x0640  # kashida: stretches a word for layout, and a cheap way to evade exact matching
# Letters written interchangeably: hamza on alef is often dropped, alef maqsura and ya, ta marbuta
# and ha are confused in everyday and keyboard-dependent writing. Persian keyboards type keheh and
# farsi yeh for Arabic kaf and ya, which look the same to a reader.
_ARABIC_LETTERS = {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ى": "ي",
    "ة": "ه",
    "ؤ": "و",
    "ئ": "ي",
    "ک": "ك",
    "ی": "ي",
}
# Arabic-Indic (U+0660) and Eastern Arabic-Indic (Persian/Urdu, U+06F0) digits; NFKC leaves them.
_ARABIC_DIGITS = {0x0660 + i: str(i) for i in range(10)} | {0x06F0 + i: str(i) for i in range(10)}
# Zero-width and bidirectional formatting characters, soft hyphen and the Arabic letter mark:
# invisible when displayed, so they only ever make two identical-looking texts differ. NFKC keeps
# them. (ZWNJ, the Persian half-space, goes too: writing the word joined is a common variant.)
_INVISIBLE = (
    0x00AD,
    0x061C,
    0x180E,
    *range(0x200B, 0x2010),
    *range(0x202A, 0x202F),
    *range(0x2060, 0x2065),
    *range(0x2066, 0x206A),
    0xFEFF,
)


def _arabic_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord(k): v for k, v in _ARABIC_LETTERS.items()}
    table.update(_ARABIC_DIGITS)
    for low, high in _ARABIC_MARKS:
        table.update(dict.fromkeys(range(low, high + 1)))
    table[_TATWEEL] = None
    return table


_ARABIC_TABLE = _arabic_table()
_NORMALISE_TABLE = _ARABIC_TABLE | dict.fromkeys(_INVISIBLE)


def normalise_arabic(text: str) -> str:
    """Arabic letter variants unified, diacritics and tatweel removed, digits made ASCII."""
    return text.translate(_ARABIC_TABLE)


def normalise(text: str) -> str:
    """NFKC, case-folded, Arabic-normalised, without invisible characters, whitespace collapsed.

    NFKC first: it maps Arabic presentation forms, full-width and "mathematical bold" letters,
    ligatures and the ellipsis character to plain text, which is how a styled copy evades an exact
    comparison. Case-folding (not ``lower``) also equates German ss and final sigma.
    """
    if text.isascii():  # most posts: NFKC and the tables change nothing in ASCII
        return " ".join(text.lower().split())
    text = unicodedata.normalize("NFKC", text).casefold().translate(_NORMALISE_TABLE)
    return " ".join(text.split())


class _MatchingTable(dict[int, int | str | None]):
    """``str.translate`` table for ``tokens_for_matching``, filled in as characters are seen.

    Punctuation, symbols (emoji included), separators, control and format characters become a
    space: a space, not nothing, so "end.Next" and "end. Next" both give "end next". Variation
    selectors and enclosing marks (the emoji-presentation and keycap modifiers) are dropped so "1"
    with a keycap is still "1". Letters, digits and other combining marks are kept. Characters
    unassigned in this Python's Unicode version become a space too, so a newer emoji behaves as
    it will once Python knows it. Filled lazily: classifying all of Unicode at import is slow.
    """

    def __missing__(self, code: int) -> int | str | None:
        char = chr(code)
        category = unicodedata.category(char)
        value: int | str | None
        if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or category == "Me":
            value = None
        elif category[0] in "PSZ" or category in {"Cc", "Cf", "Cs", "Co", "Cn"}:
            value = " "
        else:
            value = code
        self[code] = value
        return value


_MATCHING_TABLE = _MatchingTable()

# Applied to ``normalise``'s output (case-folded, whitespace collapsed):
# - "rt @someone:" prefixes (one or more) at the start mark a retweet, not content;
# - links with a scheme or "www.", and bare host/path links ("t.me/x", "justpaste.it/abc"):
#   re-posts point at different copies, and a link is not the text;
# - @mentions: re-posts address other accounts.
# Hashtags keep their words (the "#" goes with the punctuation): they are content.
_STRIP = re.compile(
    r"^(?:rt\s?@\w+\s?:?\s*)+"
    r"|(?:https?|ftp)://\S*"
    r"|(?<![\w@])www\d{0,3}\.\S*"
    r"|(?<![\w@./-])(?:[a-z0-9-]+\.)+[a-z]{2,}/\S*"
    r"|(?<![\w.])@\w+"
)


def tokens_for_matching(text: str) -> str:
    """``text`` reduced to its words for near-duplicate matching (see the module docstring)."""
    text = normalise(text)
    if text.endswith("..."):
        # A post cut short ("... the quick bro…"; NFKC made the ellipsis three dots) ends in a
        # partial word that the full post does not have: drop it.
        # A one-word post keeps its word: it would have nothing left.
        cut = text.rfind(" ")
        if cut > 0:
            text = text[:cut]
    text = _STRIP.sub(" ", text)
    return " ".join(text.translate(_MATCHING_TABLE).split())


# The signal of a text's near-identical twins: two texts are near-identical when they read the
# same once HTML entities are decoded and whitespace is collapsed (a post exported as "&amp;" by
# one tool and "&" by another, or re-flowed). A text signal of this type, shared by every item
# posting the text, lets case creation, the cluster and the queue find the twins by index.
NEAR_IDENTICAL: Final = "text_key"


def near_identical_key(text: str) -> str:
    """The key two near-identical texts share (SHA-256 of the text, entities decoded, runs of
    whitespace made one space); nothing else is folded, so distinct texts keep distinct keys."""
    decoded = html.unescape(text)
    return hashlib.sha256(" ".join(decoded.split()).encode("utf-8")).hexdigest()
