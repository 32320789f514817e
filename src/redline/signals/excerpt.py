"""Containment matching of texts (``text_excerpt``): a post that quotes part of a banked text.

Whole-text Jaccard (``redline.signals.minhash``) compares the two texts as a whole, so a post that
quotes the middle 100 words of a banked 200-word statement shares at most half of it and never
reaches the threshold. Containment asks two other questions instead: how much of the post is
banked text (``post_containment``), and how much of the banked text the post contains
(``known_containment``).

Both are measured exactly, on the two texts' word shingles, not estimated from signatures:

- words are those of ``tokens_for_matching`` (case-folded, without punctuation, links, mentions
  or emoji), each with the character offsets in the original text it came from;
- a shingle is a run of ``WORDS`` (3) consecutive words, hashed to 64 bits (BLAKE2b), so a
  chance collision between two different shingles is negligible;
- shingles the two texts share are followed along the texts in order (runs on one "diagonal"),
  and runs that follow each other closely in both texts (a changed, added or dropped word
  breaks a run for a few shingles) are joined into passages;
- only passages of at least ``MIN_PASSAGE_WORDS`` (8) words count: a run of a few words in common
  is ordinary language ("in the name of", "one of the").

The rule against false matches: the words inside counted passages must number at least
``MIN_WORDS`` (25), each banked word counted once (a post repeating a banked line ten times has
quoted it once), with at least ``MIN_DISTINCT_SHINGLES`` (15) different shingles among them (a
chant or a repeated formula is not a quotation, however long), and be at least the bank's
containment threshold (0.8 by default) of the post, or of the banked text. 25 words is longer
than the set phrases, slogans, greetings and formulae that posts share without quoting each
other (the longest common religious formula is about a dozen words), and a 25-word stretch of
another text in the same order is a quotation. So a short text can match by Jaccard, never by
containment: a post of 20 words has too little to quote from. Measured on every pair of the
17,749 distinct shared texts (``benchmarks/robustness.py``), the containment matches that
Jaccard does not make are all articles sharing 55 words or more of agency copy. Why both
directions: an excerpt is mostly banked text (post containment near 1, known containment near
the excerpt's share), and a post that wraps a whole banked statement in its own words contains
all of it (known containment near 1).

What a bank keeps: the shingle hashes of the banked text in order and each word's character
offsets (``Banked``, in the ``text_minhash`` bank signal's ``meta`` as ``excerpt``), never the
text. They are not shared with hash exports (only the MinHash signature is), so an entry
imported by its signature alone matches by Jaccard only.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from redline.signals.base import BankedSignal, BankMatch, BankRules
from redline.signals.textnorm import tokens_for_matching

SIGNAL_NAME: Final = "text_excerpt"
VERSION: Final = "xs1"
WORDS: Final = 3  # words per shingle
MIN_WORDS: Final = 25  # words of the post in counted passages, for a match
MIN_PASSAGE_WORDS: Final = 8  # shorter shared passages are ordinary language, not quotation
# A 25-word quotation has 23 different shingles (20 with a word changed in it); a chant or a
# repeated formula, however long, has a handful.
MIN_DISTINCT_SHINGLES: Final = 15
# A passage goes on across this many shingles of difference in each text: a changed word costs
# WORDS + 1 (its three shingles), two changed words close together a few more.
GAP_SHINGLES: Final = 2 * WORDS + 2
DEFAULT_THRESHOLD: Final = 0.8
PASSAGES_KEPT: Final = 20  # passages recorded in a match's detail
# A shingle repeated more often than this in one text (a chant, a repeated line) is followed at
# its first places only, so a repetitive text does not make the pairs of places explode.
MAX_PLACES: Final = 64

Shingles = npt.NDArray[np.uint64]
Offsets = npt.NDArray[np.uint32]
_CHUNK = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Words:
    """A text's words as matched, and where each is in the text (character offsets)."""

    count: int
    shingles: Shingles  # one per run of WORDS words, in order (count - WORDS + 1, or none)
    starts: Offsets
    ends: Offsets


def _hash(shingle: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "little"
    )


def words(text: str) -> Words:
    """The words of ``text`` as containment matches them, with their offsets and shingles.

    Each whitespace-separated chunk of the text is reduced as ``tokens_for_matching`` reduces
    it, so a word's offsets are those of the chunk it came from ("end.Next" gives two words,
    both at the chunk's offsets); a link or mention gives none.
    """
    return _shingled(*_split(text))


def post_words(text: str) -> Words | None:
    """``words(text)``, or None for a post too short to quote anything (fewer than
    ``MIN_WORDS`` words): most posts, which then cost no shingle hashing."""
    found, starts, ends = _split(text)
    return _shingled(found, starts, ends) if len(found) >= MIN_WORDS else None


def _split(text: str) -> tuple[list[str], list[int], list[int]]:
    found: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for chunk in _CHUNK.finditer(text):
        raw = chunk.group()
        # Most chunks are plain ASCII words: what tokens_for_matching makes of them is known.
        reduced = raw.lower() if raw.isascii() and raw.isalnum() else tokens_for_matching(raw)
        for word in reduced.split():
            found.append(word)
            starts.append(chunk.start())
            ends.append(chunk.end())
    return found, starts, ends


def _shingled(found: list[str], starts: list[int], ends: list[int]) -> Words:
    shingles = [" ".join(found[i : i + WORDS]) for i in range(len(found) - WORDS + 1)]
    return Words(
        len(found),
        np.fromiter((_hash(s) for s in shingles), dtype=np.uint64, count=len(shingles)),
        np.asarray(starts, dtype=np.uint32),
        np.asarray(ends, dtype=np.uint32),
    )


# --- what a bank keeps -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Banked:
    """What containment matching keeps of a banked text (never the text)."""

    count: int
    shingles: Shingles
    starts: Offsets
    ends: Offsets


def banked_meta(text: str) -> dict[str, Any]:
    """The ``excerpt`` member of a banked text's ``text_minhash`` signal meta."""
    found = words(text)
    offsets = np.stack([found.starts, found.ends], axis=1).astype("<u4")
    return {
        "version": VERSION,
        "words": found.count,
        "shingles": _b64(found.shingles.astype("<u8").tobytes()),
        "offsets": _b64(offsets.tobytes()),
    }


def banked_from_meta(meta: Mapping[str, Any] | None) -> Banked | None:
    """The banked text's shingles and offsets from its signal's meta; None when the entry has
    none (imported by its signature alone, or banked before containment matching) or another
    version's."""
    excerpt = (meta or {}).get("excerpt")
    if not isinstance(excerpt, Mapping) or excerpt.get("version") != VERSION:
        return None
    try:
        count = int(excerpt["words"])
        shingles = np.frombuffer(_unb64(str(excerpt["shingles"])), dtype="<u8").astype(np.uint64)
        offsets = np.frombuffer(_unb64(str(excerpt["offsets"])), dtype="<u4").astype(np.uint32)
    except (KeyError, TypeError, ValueError):
        return None
    if len(offsets) != 2 * count or len(shingles) != max(count - WORDS + 1, 0):
        return None
    pairs = offsets.reshape(-1, 2)
    return Banked(count, shingles, pairs[:, 0].copy(), pairs[:, 1].copy())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- exact containment ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Passage:
    """A stretch of the post found, in the same order, in the banked text."""

    post_start: int  # character offsets in the post
    post_end: int
    banked_start: int  # character offsets in the banked text
    banked_end: int
    banked_first_word: int  # 0-based word numbers in the banked text
    banked_last_word: int
    words: int  # words of the post in it


@dataclass(frozen=True, slots=True)
class Containment:
    """How much of a post is a banked text, and of the banked text is in the post (exact)."""

    post_containment: float
    known_containment: float
    matched_words: int  # words in counted passages, the fewer of the post's and the banked's
    distinct_shingles: int  # different shingles in counted passages
    post_words: int
    banked_words: int
    passages: list[Passage]

    def matches(self, threshold: float) -> bool:
        """The rule: at least MIN_WORDS words, and ``threshold`` of the post or of the banked
        text."""
        return (
            self.matched_words >= MIN_WORDS
            and self.distinct_shingles >= MIN_DISTINCT_SHINGLES
            and (self.post_containment >= threshold or self.known_containment >= threshold)
        )

    def detail(self) -> dict[str, Any]:
        """What a match records (``Match.detail``): the figures, and where the passages are."""
        passages = [
            {
                "post": [p.post_start, p.post_end],
                "banked": [p.banked_start, p.banked_end],
                "banked_words": [p.banked_first_word, p.banked_last_word],
                "words": p.words,
            }
            for p in self.passages[:PASSAGES_KEPT]
        ]
        span: dict[str, Any] = {}
        if self.passages:
            found = self.passages
            span = {
                "post": [min(p.post_start for p in found), max(p.post_end for p in found)],
                "banked": [min(p.banked_start for p in found), max(p.banked_end for p in found)],
            }
        return {
            "post_containment": round(self.post_containment, 4),
            "known_containment": round(self.known_containment, 4),
            "matched_words": self.matched_words,
            "distinct_shingles": self.distinct_shingles,
            "post_words": self.post_words,
            "banked_words": self.banked_words,
            "span": span,
            "passages": passages,
        }


@dataclass(slots=True)
class _Chain:
    runs: list[tuple[int, int, int]]  # (first post shingle, last post shingle, first banked)
    post_end: int  # last post shingle
    banked_end: int  # last banked shingle


def _runs(post: Shingles, banked: Shingles) -> list[tuple[int, int, int]]:
    """Runs of shingles the two texts share in the same order: (first post shingle, last post
    shingle, first banked shingle), by first post shingle."""
    if len(post) == 0 or len(banked) == 0:
        return []
    order = np.argsort(banked, kind="stable")
    ordered = banked[order]
    low = np.searchsorted(ordered, post, "left")
    high = np.searchsorted(ordered, post, "right")
    counts = np.minimum(high - low, MAX_PLACES)
    total = int(counts.sum())
    if total == 0:
        return []
    post_at = np.repeat(np.arange(len(post)), counts)
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    banked_at = order[np.repeat(low, counts) + within]
    diagonal = banked_at - post_at
    by = np.lexsort((post_at, diagonal))
    post_at, diagonal = post_at[by], diagonal[by]
    # A run goes on while the diagonal is the same and the post position moves by one.
    breaks = np.flatnonzero((np.diff(diagonal) != 0) | (np.diff(post_at) != 1)) + 1
    firsts = np.concatenate(([0], breaks))
    lasts = np.concatenate((breaks - 1, [len(post_at) - 1]))
    runs = [
        (int(post_at[f]), int(post_at[last]), int(post_at[f] + diagonal[f]))
        for f, last in zip(firsts, lasts, strict=True)
    ]
    runs.sort(key=lambda run: (run[0], run[0] - run[1]))
    return runs


def containment(post: Words, banked: Banked) -> Containment:
    """The exact containment of ``post`` and ``banked`` in each other, with the passages."""
    chains: list[_Chain] = []
    for first, last, banked_first in _runs(post.shingles, banked.shingles):
        banked_last = banked_first + (last - first)
        for chain in reversed(chains[-8:]):
            if 0 < first - chain.post_end <= GAP_SHINGLES and (
                0 < banked_first - chain.banked_end <= GAP_SHINGLES
            ):
                chain.runs.append((first, last, banked_first))
                chain.post_end, chain.banked_end = last, banked_last
                break
        else:
            chains.append(_Chain([(first, last, banked_first)], last, banked_last))
    post_covered = np.zeros(post.count, dtype=bool)
    banked_covered = np.zeros(banked.count, dtype=bool)
    distinct: set[int] = set()
    passages: list[Passage] = []
    for chain in chains:
        mine = np.zeros(post.count, dtype=bool)
        theirs = np.zeros(banked.count, dtype=bool)
        for first, last, banked_first in chain.runs:
            mine[first : last + WORDS] = True
            theirs[banked_first : banked_first + (last - first) + WORDS] = True
        size = min(int(mine.sum()), int(theirs.sum()))
        if size < MIN_PASSAGE_WORDS:
            continue
        post_covered |= mine
        banked_covered |= theirs
        for first, last, _ in chain.runs:
            distinct.update(post.shingles[first : last + 1].tolist())
        post_first, post_last = chain.runs[0][0], chain.post_end + WORDS - 1
        banked_first, banked_last = chain.runs[0][2], chain.banked_end + WORDS - 1
        passages.append(
            Passage(
                post_start=int(post.starts[post_first]),
                post_end=int(post.ends[post_last]),
                banked_start=int(banked.starts[banked_first]),
                banked_end=int(banked.ends[banked_last]),
                banked_first_word=banked_first,
                banked_last_word=banked_last,
                words=size,
            )
        )
    in_post, in_banked = int(post_covered.sum()), int(banked_covered.sum())
    return Containment(
        post_containment=in_post / post.count if post.count else 0.0,
        known_containment=in_banked / banked.count if banked.count else 0.0,
        # Each banked word counts once: a post repeating a banked line ten times has quoted it
        # once.
        matched_words=min(in_post, in_banked),
        distinct_shingles=len(distinct),
        post_words=post.count,
        banked_words=banked.count,
        passages=passages,
    )


def min_shared_shingles() -> int:
    """The fewest post shingles found in a banked text for the rule to be met at all: each
    shingle covers WORDS words and a match needs MIN_WORDS, and MIN_DISTINCT_SHINGLES different
    ones. An index may drop banked texts sharing fewer with a post without ever missing a
    match."""
    return max(-(-MIN_WORDS // WORDS), MIN_DISTINCT_SHINGLES)


# --- matching against the banks -------------------------------------------------------------


class ExcerptSearch(Protocol):
    """The banked texts' shingles: those sharing enough shingles with a post, to verify."""

    def __len__(self) -> int: ...

    def candidates(self, post: Shingles, min_shared: int) -> list[tuple[int, Banked]]:
        """(bank signal id, banked text) of every banked text with at least ``min_shared`` of
        the post's shingles (counted with the post's repeats)."""
        ...


class ExcerptLookup(Protocol):
    """What containment matching asks of the banks (``redline.pipeline.match.Matcher``)."""

    def banks(self) -> dict[int, BankRules]: ...

    def entries(self, signal_ids: Iterable[int]) -> dict[int, BankedSignal]: ...

    def excerpts(self) -> ExcerptSearch: ...


def match_texts(
    lookup: ExcerptLookup, texts: Sequence[str], *, include_disabled_banks: bool = False
) -> list[list[BankMatch]]:
    """Each text's containment matches: banked texts it quotes, or that it is mostly made of,
    by the rule of ``Containment.matches`` at each bank's containment threshold."""
    results: list[list[BankMatch]] = [[] for _ in texts]
    banks = lookup.banks()
    usable = [b for b in banks.values() if include_disabled_banks or b.enabled]
    index = lookup.excerpts()
    if not usable or len(index) == 0:
        return results
    lowest = min(b.containment_threshold for b in usable)
    found: list[list[tuple[int, Containment]]] = []
    for text in texts:
        post = post_words(text)
        hits = []
        if post is not None:
            for signal_id, banked in index.candidates(post.shingles, min_shared_shingles()):
                measured = containment(post, banked)
                if measured.matches(lowest):
                    hits.append((signal_id, measured))
        found.append(hits)
    entries = lookup.entries(signal_id for hits in found for signal_id, _ in hits)
    for position, hits in enumerate(found):
        seen: set[int] = set()
        # The most contained first, so an entry banked twice is reported at its best.
        hits.sort(key=lambda hit: -max(hit[1].post_containment, hit[1].known_containment))
        for signal_id, measured in hits:
            entry = entries.get(signal_id)
            if entry is None or entry.entry_id in seen:
                continue
            bank = banks.get(entry.bank_id)
            if bank is None or not bank.usable(entry.enabled, include_disabled_banks):
                continue
            if not measured.matches(bank.containment_threshold):
                continue
            seen.add(entry.entry_id)
            best = max(measured.post_containment, measured.known_containment)
            results[position].append(
                BankMatch(
                    bank.name,
                    bank.id,
                    entry.entry_id,
                    SIGNAL_NAME,
                    round(1 - best, 4),
                    entry.category,
                    bank.confirmed,
                    measured.detail(),
                )
            )
    return results
