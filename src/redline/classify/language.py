"""Language identification: Arabic by its script, everything else by lingua (models bundled).

Arabic script is unambiguous for the languages redline reads, so counting Arabic letters decides
most posts at no cost; lingua (50-100 us a post) runs only on the rest, restricted to the
languages the classifier knows plus a few it should recognise as "other".
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"[@#]\w+")
_ARABIC_BLOCKS = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufeff]")


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
    found = _detector().detect_language_of(words)
    return "other" if found is None else _CODES.get(found.name, "other")
