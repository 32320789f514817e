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


def without_religious_words(text: str) -> str:
    """``text`` with every word of ``RELIGIOUS`` replaced by a space (a word is a run of word
    characters, so "allah's" loses "allah" and keeps "s")."""
    pieces = _WORDS.split(text)
    # split() with a group puts the words at the odd positions.
    for index in range(1, len(pieces), 2):
        if pieces[index] in _RELIGIOUS:
            pieces[index] = " "
    return "".join(pieces)


def split_hashtag(tag: str) -> str:
    """Words of a camel-cased hashtag (``WilayatAlJazirah`` -> ``wilayat al jazirah``)."""
    return " ".join(_CAMEL.findall(tag)) if not tag.islower() else tag


def prepare(text: str) -> str:
    """The text the classifier's vectorisers see."""
    parts = []
    if _RT.match(text):
        parts.append("zzretweet")
        text = _RT.sub("", text, count=1)
    # A link counts, where it leads does not: with host classes as features the model learned
    # "paste site + file host" as propaganda by itself, and flagged a club's meeting minutes.
    # Link kinds are for the outlinks list and referral work, not for judging a post.
    parts.extend("zzlink" for _ in outlinks.extract_urls(text))
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" zzmention ", text)
    text = _HASHTAG.sub(lambda m: f" #{m.group(1)} {split_hashtag(m.group(1))} ", text)
    cleaned = without_religious_words(normalise(text))
    return " ".join([cleaned, *parts]).strip()
