"""The text cases of ``robustness.py``: how often a banked text is still found after a re-poster
changed it, by whole-text Jaccard and by containment, and how often distinct texts match.

Known texts: the first 200 words of every FA-KES article that has them (news prose no one on the
project wrote; ``shared/data``). Each is banked as ``redline.banks.add_text`` banks it (its
MinHash signature and its word shingles) and altered by every transform of ``TRANSFORMS``; a
transform is found when the altered text matches its own banked text:
- ``jaccard``: estimated Jaccard of the MinHash signatures >= 0.8 (a bank's default);
- ``containment``: ``redline.signals.excerpt``'s rule at 0.8 (a bank's default): at least 25
  words, and 0.8 of the post banked text or 0.8 of the banked text in the post;
- ``redline``: either, as a scan matches text banks now.

False matches: every shared text (each tweet of both tweet files, even rows only of the
unlabelled one, whose odd rows are held out; every article whole) against every other, after
dropping texts equal once normalised for matching (retweets of one tweet are one text). Every
pair is compared: containment through the exact candidate index (``redline.index.excerpts``,
which never drops a pair the rule could match), Jaccard through the MinHash index. A pair that
matches is reported with its sources and figures, and whether it matches by Jaccard too (a
near-duplicate: the same tweet with a word changed, one article published twice).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import html
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redline.index.excerpts import ExcerptIndex
from redline.index.textlsh import TextIndex
from redline.ingest.encoding import decode_bytes
from redline.signals import excerpt, minhash
from redline.signals.base import BadSignal
from redline.signals.textnorm import tokens_for_matching

STATEMENT_WORDS = 200
JACCARD = minhash.DEFAULT_THRESHOLD
CONTAINMENT = excerpt.DEFAULT_THRESHOLD
GOAL = 0.95
SEED = 20261207
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\S+")


# --- transforms: what re-posters do to a text -----------------------------------------------


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def excerpt_middle(text: str, _rng: random.Random, keep: int = 100) -> str:
    """The middle ``keep`` words (of 200: words 51 to 150)."""
    words = _words(text)
    start = (len(words) - keep) // 2
    return " ".join(words[start : start + keep])


def upper(text: str, _rng: random.Random) -> str:
    return text.upper()


def no_commas(text: str, _rng: random.Random) -> str:
    return text.replace(",", "")


def garble(text: str, rng: random.Random, share: float = 0.05) -> str:
    """``share`` of the words with one letter replaced (a typo, a deliberate misspelling)."""
    words = _words(text)
    for position in rng.sample(range(len(words)), max(1, round(share * len(words)))):
        word = words[position]
        at = rng.randrange(len(word))
        words[position] = word[:at] + rng.choice("qxzjk") + word[at + 1 :]
    return " ".join(words)


def reorder(text: str, rng: random.Random) -> str:
    sentences = _SENTENCE.split(text)
    rng.shuffle(sentences)
    return " ".join(sentences)


def wrap(text: str, _rng: random.Random) -> str:
    return f"Read this before it gets deleted, everyone needs to see it: {text} Share widely."


def excerpt_upper_no_commas(text: str, rng: random.Random) -> str:
    return upper(no_commas(excerpt_middle(text, rng), rng), rng)


def excerpt_garbled(text: str, rng: random.Random) -> str:
    return garble(excerpt_middle(text, rng), rng)


def excerpt_wrapped(text: str, rng: random.Random) -> str:
    return wrap(excerpt_middle(text, rng), rng)


@dataclass(frozen=True)
class TextTransform:
    name: str
    apply: Callable[[str, random.Random], str]
    goal: float | None = GOAL  # None: measured, no goal


TRANSFORMS = [
    TextTransform("upper_case", upper),
    TextTransform("no_commas", no_commas),
    TextTransform("garbled_5pct_words", garble),
    TextTransform("sentences_reordered", reorder),
    TextTransform("prefix_and_suffix", wrap),
    TextTransform("excerpt_middle_100_of_200", excerpt_middle),
    TextTransform("excerpt_upper_no_commas", excerpt_upper_no_commas),
    TextTransform("excerpt_garbled_5pct", excerpt_garbled),
    TextTransform("excerpt_with_comment", excerpt_wrapped),
    TextTransform("excerpt_middle_50", functools.partial(excerpt_middle, keep=50), None),
    TextTransform("excerpt_middle_25", functools.partial(excerpt_middle, keep=25), None),
    TextTransform("excerpt_middle_20", functools.partial(excerpt_middle, keep=20), None),
]


# --- the shared data ------------------------------------------------------------------------


def articles(shared: Path) -> list[str]:
    """FA-KES articles' text (the file mixes encodings: decoded as redline's ingest does)."""
    text, _encoding = decode_bytes((shared / "fakes_syria_war_news.csv").read_bytes())
    rows = csv.DictReader(text.splitlines(keepends=True))
    return [" ".join((r.get("article_content") or "").split()) for r in rows]


def tweets(shared: Path) -> tuple[list[str], list[str]]:
    """The fanboy tweets, and the even rows of the unlabelled tweets (odd rows are held out)."""
    with (shared / "isis_fanboy_tweets.csv").open(encoding="utf-8", newline="") as stream:
        fanboy = [html.unescape(r["tweets"]) for r in csv.DictReader(stream) if r.get("tweets")]
    with (shared / "unlabelled_mixed_tweets.csv").open(encoding="utf-8", newline="") as stream:
        rows = csv.reader(stream)
        next(rows)
        mixed = [html.unescape(r[0]) for i, r in enumerate(rows) if i % 2 == 0 and r]
    return fanboy, mixed


def statements(texts: Sequence[str]) -> list[str]:
    """The first 200 words of each text that has them."""
    found = []
    for text in texts:
        words = _words(text)
        if len(words) >= STATEMENT_WORDS:
            found.append(" ".join(words[:STATEMENT_WORDS]))
    return found


# --- matching, as redline does --------------------------------------------------------------


def transform_rows(known: Sequence[str]) -> list[dict[str, Any]]:
    """Each transform's matched rates over the known texts, per method."""
    banked = [(text, minhash.signature(text), contained_index(text)) for text in known]
    rows = []
    for transform in TRANSFORMS:
        rng = random.Random(f"{SEED}:{transform.name}")
        found = {"jaccard": 0, "containment": 0, "redline": 0}
        post_shares: list[float] = []
        for text, signature, kept in banked:
            altered = transform.apply(text, rng)
            try:
                by_jaccard = minhash.jaccard(minhash.signature(altered), signature) >= JACCARD
            except BadSignal:
                by_jaccard = False
            measured = excerpt.containment(excerpt.words(altered), kept)
            by_containment = measured.matches(CONTAINMENT)
            found["jaccard"] += by_jaccard
            found["containment"] += by_containment
            found["redline"] += by_jaccard or by_containment
            post_shares.append(measured.post_containment)
        n = len(banked)
        matched = {method: round(count / n, 4) for method, count in found.items()}
        rows.append(
            {
                "name": transform.name,
                "texts": n,
                "matched": matched,
                "post_containment_median": round(sorted(post_shares)[n // 2], 4),
                "goal": transform.goal,
                "goal_met": None
                if transform.goal is None
                else matched["redline"] >= transform.goal,
            }
        )
    return rows


def contained_index(text: str) -> excerpt.Banked:
    """What a bank keeps of ``text`` for containment matching."""
    found = excerpt.banked_from_meta({"excerpt": excerpt.banked_meta(text)})
    assert found is not None
    return found


def false_matches(sources: dict[str, Sequence[str]], limit: int | None) -> dict[str, Any]:
    """Every pair of distinct shared texts that matches, by Jaccard and by containment."""
    texts: list[tuple[str, int, str]] = []  # (source, row, text)
    seen: set[str] = set()
    for source, found in sources.items():
        for row, text in enumerate(found):
            key = tokens_for_matching(text)
            if key and key not in seen:
                seen.add(key)
                texts.append((source, row, text))
    if limit is not None:
        texts = random.Random(SEED).sample(texts, min(limit, len(texts)))
    started = time.perf_counter()
    kept = [contained_index(text) for _, _, text in texts]
    index = ExcerptIndex(enumerate(kept))
    signatures = {}
    for number, (_, _, text) in enumerate(texts):
        with contextlib.suppress(BadSignal):  # nothing to hash (only links or mentions)
            signatures[number] = minhash.signature(text)
    lsh: TextIndex[int] = TextIndex(signatures.items())
    need = excerpt.min_shared_shingles()
    by_containment: dict[tuple[int, int], excerpt.Containment] = {}
    verified = 0
    for number, (_, _, text) in enumerate(texts):
        post = excerpt.words(text)
        if post.count < excerpt.MIN_WORDS:
            continue
        for other, banked in index.candidates(post.shingles, need):
            if other == number:
                continue
            verified += 1
            measured = excerpt.containment(post, banked)
            if measured.matches(CONTAINMENT):
                by_containment[(number, other)] = measured
    by_jaccard: set[tuple[int, int]] = set()
    for number, signature in signatures.items():
        for other, _similarity in lsh.search(signature, JACCARD):
            if other != number:
                by_jaccard.add((number, other))
    n = len(texts)

    def unordered(pairs: Any) -> set[tuple[int, int]]:
        return {(min(a, b), max(a, b)) for a, b in pairs}

    containment_pairs = unordered(by_containment)
    jaccard_pairs = unordered(by_jaccard)
    only_containment = containment_pairs - jaccard_pairs
    shown = []
    for a, b in sorted(only_containment):
        measured = by_containment.get((a, b)) or by_containment[(b, a)]
        shown.append(
            {
                "post": f"{texts[a][0]} row {texts[a][1]}",
                "banked": f"{texts[b][0]} row {texts[b][1]}",
                "post_containment": round(measured.post_containment, 3),
                "known_containment": round(measured.known_containment, 3),
                "matched_words": measured.matched_words,
                "longest_passage_words": max(p.words for p in measured.passages),
            }
        )
    kinds: dict[str, int] = {}
    for a, b in containment_pairs:
        kind = " / ".join(sorted((texts[a][0], texts[b][0])))
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "texts": n,
        "by_source": {s: sum(1 for t in texts if t[0] == s) for s in sources},
        "pairs": n * (n - 1) // 2,
        "sampled": limit is not None,
        "containment_candidates_verified": verified,
        "matching_pairs": {
            "jaccard": len(jaccard_pairs),
            "containment": len(containment_pairs),
            "containment_not_jaccard": len(only_containment),
            "redline": len(containment_pairs | jaccard_pairs),
        },
        "containment_pairs_by_sources": kinds,
        # Every containment match shares a passage this long, in order: quotation, not chance.
        "shortest_longest_passage_words": min(
            (max(p.words for p in m.passages) for m in by_containment.values()), default=None
        ),
        "containment_not_jaccard_pairs": shown[:40],
        "seconds": round(time.perf_counter() - started, 1),
    }


def run(shared: Path | None, quick: bool) -> dict[str, Any]:
    """The text section of the robustness benchmark."""
    if shared is None:
        return {"skipped": "no shared/data found (set REDLINE_SHARED_DATA or --shared-data)"}
    news = articles(shared)
    fanboy, mixed = tweets(shared)
    known = statements(news)
    if quick:
        known = known[:40]
    table = transform_rows(known)
    sources = {"article": news, "fanboy_tweet": fanboy, "mixed_tweet_even_rows": mixed}
    found = false_matches(sources, 3000 if quick else None)
    return {
        "known_texts": f"first {STATEMENT_WORDS} words of FA-KES articles with at least as many",
        "thresholds": {
            "jaccard": JACCARD,
            "containment": CONTAINMENT,
            "min_words": excerpt.MIN_WORDS,
            "min_passage_words": excerpt.MIN_PASSAGE_WORDS,
            "words_per_shingle": excerpt.WORDS,
        },
        "transforms": table,
        "false_matches": found,
    }
