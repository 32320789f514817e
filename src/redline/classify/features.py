"""The classifier's view of a post: normalised text in which links, mentions, retweets and
hashtags are features rather than noise, and generic religious vocabulary is removed.

Why remove religious words: the pro-IS positives are full of them, and so are prayers, greetings
and the posts of ordinary Muslims. A model that can see "Allah" or "alhamdulillah" can learn them
as evidence of propaganda, which is both wrong and harmful. Removed (not replaced by a marker,
which would itself become a feature), they cannot weigh either way; what the model can still see
is what the post does: its group names, its voice, its calls, its links.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from redline.signals import outlinks
from redline.signals.textnorm import normalise

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_RT = re.compile(r"^\s*rt\s+@\w+\s*:?\s*", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

# Generic religious vocabulary in English, French and Arabic (normalised spelling: no hamza on
# alef, ه for ة, ي for ى). Group names ("Islamic State", "dawla", "khilafa") are not here: they
# name organisations, not faith.
RELIGIOUS = (
    "allah",
    "allahu",
    "akbar",
    "god",
    "lord",
    "prophet",
    "muhammad",
    "mohammed",
    "quran",
    "koran",
    "qur",  # qur'an, split at the apostrophe by normalisation
    "surah",
    "surat",
    "ayah",
    "ayat",
    "hadith",
    "sunnah",
    "islam",
    "muslim",
    "muslims",
    "mosque",
    "masjid",
    "prayer",
    "prayers",
    "pray",
    "praying",
    "salah",
    "salat",
    "dua",
    "duas",
    "ramadan",
    "ramadhan",
    "eid",
    "jummah",
    "jumuah",
    "jumma",
    "mubarak",
    "inshallah",
    "insha",
    "mashallah",
    "masha",
    "subhanallah",
    "subhan",
    "alhamdulillah",
    "alhamdulilah",
    "bismillah",
    "ameen",
    "amen",
    "amin",
    "salam",
    "salaam",
    "alaikum",
    "alaykum",
    "assalamu",
    "jazakallah",
    "pbuh",
    "saw",
    "swt",
    "ummah",
    "deen",
    "iman",
    "taqwa",
    "jannah",
    "hereafter",
    "akhirah",
    "dunya",
    "dieu",
    "priere",
    "prière",
    "mosquee",
    "mosquée",
    "coran",
    "الله",
    "اللهم",
    "لله",
    "بالله",
    "سبحان",
    "سبحانه",
    "الحمد",
    "الحمدلله",
    "بسم",
    "رمضان",
    "مسجد",
    "المسجد",
    "صلاه",
    "الصلاه",
    "دعاء",
    "قران",
    "القران",
    "ايه",
    "سوره",
    "حديث",
    "النبي",
    "محمد",
    "رسول",
    "عليه",
    "وسلم",
    "صلي",
    "ان",
    "شاء",
    "ماشاء",
    "جمعه",
    "مباركه",
    "عيد",
    "امين",
    "السلام",
    "عليكم",
    "تعالي",
    "رب",
    "ربنا",
    "الرحمن",
    "الرحيم",
    "الاسلام",
    "المسلمين",
    "مسلم",
    "الجنه",
    "ايمان",
)
_RELIGIOUS = frozenset(RELIGIOUS)
_WORDS = re.compile(r"(\w+)")
_WORD_CHARACTER = re.compile(r"\w")


class _WordRuns(dict[int, int]):
    """``str.translate`` table that turns every character that is not a word character into a
    space, filled in as characters are seen: split at whitespace, the result is the text's runs of
    word characters (no word character is whitespace)."""

    def __missing__(self, code: int) -> int:
        value = code if _WORD_CHARACTER.match(chr(code)) else 32
        self[code] = value
        return value


_WORD_RUNS = _WordRuns()
# The same for ASCII text as bytes, where translate is a plain table lookup.
_ASCII_WORD_RUNS = bytes(
    code if code < 128 and _WORD_RUNS[code] == code else 32 for code in range(256)
)
_RELIGIOUS_ASCII = frozenset(word.encode() for word in RELIGIOUS if word.isascii())


def _has_religious_words(text: str) -> bool:
    """Whether a run of word characters of ``text`` is a word of ``RELIGIOUS`` (in C)."""
    if text.isascii():
        words = text.encode().translate(_ASCII_WORD_RUNS).split()
        return not _RELIGIOUS_ASCII.isdisjoint(words)
    return not _RELIGIOUS.isdisjoint(text.translate(_WORD_RUNS).split())


def without_religious_words(text: str) -> str:
    """``text`` with every word of ``RELIGIOUS`` replaced by a space (a word is a run of word
    characters, so "allah's" loses "allah" and keeps "s")."""
    if not _has_religious_words(text):
        return text  # most posts
    pieces = _WORDS.split(text)
    # split() with a group puts the words at the odd positions.
    for index in range(1, len(pieces), 2):
        if pieces[index] in _RELIGIOUS:
            pieces[index] = " "
    return "".join(pieces)


def split_hashtag(tag: str) -> str:
    """Words of a camel-cased hashtag (``WilayatAlJazirah`` -> ``wilayat al jazirah``)."""
    return " ".join(_CAMEL.findall(tag)) if not tag.islower() else tag


# A piece of text (between whitespace) that is one plain link, which ``extract_urls`` reports as
# it is: http(s), a lower-case ASCII host with a dot, maybe a path of ASCII letters, digits and
# "_./?=%-", not ending in punctuation that extract_urls trims ("." "_" "?").
_PLAIN_LINK = re.compile(
    r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[\w./?=%-]*)?(?<![._?])", re.ASCII
)


def link_count(text: str) -> int:
    """``len(outlinks.extract_urls(text))``, the number of distinct links, with less work.

    Without HTML escapes ("&...;", decoded first by extract_urls, and which can make a dot or a
    space) and IPv6 hosts ("[::1]"), a link never spans whitespace and has a dot with something
    after it. So such a text is taken piece by piece: a piece that is one plain link (most links
    in posts) is that link; the other pieces with a dot that is not at their end are searched
    together, joined by spaces, followed by a stand-in with no link in it when the text goes on
    after the last of them (extract_urls leaves out a link cut off by "..." only when nothing
    follows it).
    """
    if "." not in text:  # as in extract_urls: every link has a dot in its host
        return 0
    if ("&" in text and ";" in text) or "[" in text:
        return len(outlinks.extract_urls(text))
    pieces = text.split()
    links: set[str] = set()
    searched: list[str] = []
    for piece in pieces:
        if "." not in piece.rstrip("."):
            continue  # no dot, or only at its end ("today.", "wait..."): no link
        if _PLAIN_LINK.fullmatch(piece):
            links.add(piece)
        else:
            searched.append(piece)
    if searched:
        if searched[-1] != pieces[-1]:
            searched.append("-")  # the stand-in: the text goes on
        links.update(outlinks.extract_urls(" ".join(searched)))
    return len(links)


def _hashtag(match: re.Match[str]) -> str:
    tag = match[1]
    return f" #{tag} {split_hashtag(tag)} "


def prepare(text: str) -> str:
    """The text the classifier's vectorisers see."""
    parts = []
    retweet = _RT.match(text)
    if retweet:
        parts.append("zzretweet")
        text = text[retweet.end() :]
    # A link counts, where it leads does not: with host classes as features the model learned
    # "paste site + file host" as propaganda by itself, and flagged a club's meeting minutes.
    # Link kinds are for the outlinks list and referral work, not for judging a post.
    parts += ["zzlink"] * link_count(text)
    # Each substitution needs its sign in the text ("www." in any case): most posts skip some.
    if "://" in text or "www." in text.lower():
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(" zzmention ", text)
    if "#" in text:
        text = _HASHTAG.sub(_hashtag, text)
    cleaned = without_religious_words(normalise(text))
    return " ".join([cleaned, *parts]).strip()


# What the markers ``prepare`` puts in a text stand for, in a reader's words: an explanation
# names the features that drove a score, and "zzlink" means nothing to a reviewer.
MARKER_WORDS: Final = {"link": "[a link]", "mention": "[a mention]", "retweet": "[a repost]"}
_MARKER_TOKEN = re.compile(r"\bzz(link|mention|retweet)\b")


def evidence_words(feature: Mapping[str, Any]) -> str:
    """An explanation's feature as a reviewer reads it: a marker (stored without its "zz", and
    with no place in the text) or a marker inside a phrase becomes what it stands for."""
    name = str(feature.get("feature", ""))
    if not feature.get("spans") and name in MARKER_WORDS:
        return MARKER_WORDS[name]
    return _MARKER_TOKEN.sub(lambda found: MARKER_WORDS[found[1]], name)
