"""Language identification: Arabic by its script, English and French by their function words when
they leave no doubt, everything else by lingua (models bundled).

Arabic script is unambiguous for the languages redline reads, so counting Arabic letters decides
most posts at no cost. A post with two English function words and no word of French or of the
other Latin-script languages is English (and the same for French); lingua (about 100-150 us a
post, restricted to the languages the classifier knows plus a few it should recognise as
"other") runs only on the rest. Measured on the 18,723 hand-labelled shared tweets (their
labellers' language): 94.6% agree against lingua alone's 93.5%, at half the time a post; lingua
alone called 247 English tweets French (the reviewers' complaint) and 884 "other", mostly short
ones it has too few letters to judge.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"[@#]\w+")
_ARABIC_BLOCKS = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufeff]")
_WORD = re.compile(r"[^\W\d_]+")


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# English function words that are not also words of German, Dutch, Spanish, Italian, Portuguese,
# French, Indonesian or Turkish ("was", "will", "in", "so", "also", "is", "of", "me", "no" and "a"
# are left out: each is a word of one of those).
ENGLISH_WORDS = _word_set(
    "the and you your that this with for are were been have has they their them there what which"
    " who when where how would could should not but just about from these those our we it its my"
    " he she his her him by or if then than into out up some only very all any because after"
    " before over under again"
)
# French function words that are not also words of English, Spanish, Italian or Portuguese.
FRENCH_WORDS = _word_set(
    "les des une est sont pas dans pour avec cette ces nous vous ils elles être été très leur"
    " leurs mais donc aux du qui sur je tu"
)
# Common words of the other Latin-script languages (and of close ones lingua is not asked about:
# Italian, Portuguese) that would otherwise let a sentence of theirs pass for English or French.
OTHER_WORDS = _word_set(
    "der die das und ist nicht ein eine mit auf für von zu den dem het een van zijn niet el los"
    " las del por para con una es y lo se su sus che della per non sono il yang dan di ini itu ke"
    " dengan bir ve bu da de en la que ne"
)


def _arabic_share(text: str) -> tuple[int, int]:
    """(letters in the Arabic blocks, letters)."""
    letters = sum(map(str.isalpha, text))
    if not letters or text.isascii():
        return 0, letters
    return sum(map(str.isalpha, _ARABIC_BLOCKS.findall(text))), letters


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = (
        Language.ENGLISH,
        Language.FRENCH,
        Language.ARABIC,
        Language.GERMAN,
        Language.SPANISH,
        Language.TURKISH,
        Language.INDONESIAN,
        Language.URDU,
    )
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


_CODES = {"ENGLISH": "en", "FRENCH": "fr", "ARABIC": "ar"}


def detect(text: str) -> str:
    """ISO 639-1 code of the post's language: en, ar, fr, "other", or "und" (no words)."""
    words = _HANDLE.sub(" ", _URL.sub(" ", text))
    arabic, letters = _arabic_share(words)
    if letters == 0:
        return "und"
    if arabic * 2 >= letters:
        return "ar"
    by_words = _by_function_words(words)
    if by_words is not None:
        return by_words
    found = _detector().detect_language_of(words)
    return "other" if found is None else _CODES.get(found.name, "other")


def _by_function_words(words: str) -> str | None:
    """ "en" or "fr" when the post's function words leave no doubt, else None (ask lingua)."""
    english = french = other = 0
    for word in _WORD.findall(words.lower()):
        english += word in ENGLISH_WORDS
        french += word in FRENCH_WORDS
        other += word in OTHER_WORDS
    if english >= 2 and french == 0 and other == 0:
        return "en"
    # French shares "de", "la", "que" with its neighbours: a few of those beside its own words.
    if french >= 2 and english == 0 and other <= french // 2:
        return "fr"
    return None
