"""Containment matching of texts (``text_excerpt``): a post quoting part of a banked text matches
with the containment figures and where the quoted passage is in each text; edits of case and
punctuation do not stop it; shared set phrases and posts on the same topic never match; the
candidate index misses nothing the rule would match."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redline.index.excerpts import ExcerptIndex
from redline.signals import excerpt
from redline.signals.excerpt import (
    MIN_WORDS,
    Banked,
    banked_from_meta,
    banked_meta,
    containment,
    min_shared_shingles,
    post_words,
    words,
)

# A generic, made-up statement of exactly 200 words (10 sentences of about 20).
STATEMENT = (
    "The village council met on a cold Tuesday evening in the old library to discuss the coming"
    " year. First the treasurer read the accounts aloud, noting that the repair fund had grown"
    " after the autumn fair and a gift. Members then debated whether the footbridge over the"
    " mill stream should be rebuilt in stone or patched with timber again. A farmer from the"
    " northern valley asked that the road to the grain store be cleared before the first snow"
    " arrives. The schoolteacher described how the children had planted forty apple trees along"
    " the lane behind the chapel. Several neighbours praised the volunteers who had cleaned the"
    " well, painted the benches and mended the fence around the green. After a short break for"
    " tea, the chairwoman proposed a summer concert with local singers, a brass band and a cake"
    " stall. Nobody objected, although the baker warned that the oven in the hall would need a"
    " new door before any baking began. The clerk promised to write to the county office about"
    " the broken streetlamps near the post office and the school gate. Finally the council"
    " agreed to meet again in April, thanked everyone for coming and closed the meeting at"
    " nine."
)
SPLIT = [m for m in re.finditer(r"\S+", STATEMENT)]


def middle_half() -> tuple[str, int, int]:
    """Words 51 to 150 of the statement as written, with their character offsets in it."""
    start, end = SPLIT[50].start(), SPLIT[149].end()
    return STATEMENT[start:end], start, end


def banked(text: str = STATEMENT) -> Banked:
    found = banked_from_meta({"excerpt": banked_meta(text)})
    assert found is not None
    return found


def test_the_statement_is_200_words() -> None:
    assert len(SPLIT) == 200 and words(STATEMENT).count == 200


def test_the_middle_half_matches_with_its_place_in_both_texts() -> None:
    post, start, end = middle_half()
    found = containment(words(post), banked())
    assert (found.post_containment, found.known_containment) == (1.0, 0.5)
    assert (found.matched_words, found.post_words, found.banked_words) == (100, 100, 200)
    assert found.matches(0.8)
    (passage,) = found.passages
    assert (passage.post_start, passage.post_end) == (0, len(post))
    assert (passage.banked_start, passage.banked_end) == (start, end)
    assert (passage.banked_first_word, passage.banked_last_word) == (50, 149)
    detail = found.detail()
    assert detail["span"] == {"post": [0, len(post)], "banked": [start, end]}
    assert detail["post_containment"] == 1.0 and detail["known_containment"] == 0.5


def test_upper_case_punctuation_and_a_comment_around_it_still_match() -> None:
    quoted, start, end = middle_half()
    shouted = re.sub(r"[,.]", "", quoted).upper()
    post = f"Read this!!! {shouted} ... share before it is gone"
    found = containment(words(post), banked())
    assert found.matches(0.8)
    assert found.matched_words == 100 and found.known_containment == 0.5
    assert found.post_containment == pytest.approx(100 / 107)  # 7 words of its own
    (passage,) = found.passages
    # The span starts at the first quoted word in the post and ends at the last.
    assert post[passage.post_start : passage.post_end] == shouted
    assert (passage.banked_start, passage.banked_end) == (start, end)


def test_changed_words_inside_the_excerpt_keep_one_passage() -> None:
    quoted = middle_half()[0].split()
    for position in (10, 35, 60, 85):  # 4% of the words changed
        quoted[position] = "zzz"
    found = containment(words(" ".join(quoted)), banked())
    assert found.matches(0.8) and len(found.passages) == 1
    assert found.matched_words == 96


def test_a_shared_set_phrase_or_the_same_topic_never_matches() -> None:
    known = banked()
    posts = [
        # A phrase of the statement in a post of its own words.
        "Great evening at the old library: the repair fund had grown after the autumn fair,"
        " so well done all of you who baked and sold tickets.",
        # The same topic, other words.
        "Our council talked about the bridge over the stream, snow on the grain road, the"
        " apple trees by the chapel and a concert with a band next summer.",
        # Twenty words of the statement alone: too little to call a quotation.
        " ".join(STATEMENT.split()[60:80]),
    ]
    for post in posts:
        found = containment(words(post), known)
        assert not found.matches(0.5), post
    assert containment(words(posts[2]), known).post_containment == 1.0
    assert containment(words(posts[2]), known).matched_words == 20 < MIN_WORDS


@settings(max_examples=300, deadline=None)
@given(
    start=st.integers(0, 199),
    length=st.integers(0, 40),
    noise=st.lists(st.sampled_from(["#tag", "@user", "http://x.co/a", "...", "end.Next", "—"])),
)
def test_a_post_too_short_to_quote_skips_nothing_the_rule_would_match(
    start: int, length: int, noise: list[str]
) -> None:
    """Matching hashes the shingles of posts of MIN_WORDS words or more only: a shorter post
    never matches, and a longer one is shingled as ``words`` shingles it."""
    known = banked()
    post = " ".join([*noise, *STATEMENT.split()[start : start + length], *noise])
    full, short = words(post), post_words(post)
    if short is None:
        assert full.count < MIN_WORDS
        assert not containment(full, known).matches(0.01)
    else:
        assert short.count == full.count >= MIN_WORDS
        assert np.array_equal(short.shingles, full.shingles)
        assert np.array_equal(short.starts, full.starts)
    if not noise and length >= MIN_WORDS and start + length <= 200:  # a quotation alone
        assert short is not None and containment(short, known).matches(excerpt.DEFAULT_THRESHOLD)


def test_what_a_bank_keeps_is_not_the_text() -> None:
    meta = banked_meta(STATEMENT)
    assert meta["version"] == "xs1" and meta["words"] == 200
    kept = str(meta)
    assert not any(word in kept for word in ("council", "library", "treasurer"))
    back = banked()
    assert back.count == 200 and len(back.shingles) == 198
    assert back.starts[0] == 0 and back.ends[-1] == len(STATEMENT)
    assert banked_from_meta({"shingles": 12}) is None  # a signature banked without its words
    assert banked_from_meta({"excerpt": {**meta, "version": "xs0"}}) is None


def test_the_index_misses_no_banked_text_the_rule_could_match() -> None:
    rng = random.Random(7)
    vocabulary = STATEMENT.lower().replace(".", "").replace(",", "").split()
    texts = [" ".join(rng.choices(vocabulary, k=rng.randint(30, 300))) for _ in range(120)]
    texts.append(STATEMENT)
    entries = [(i + 1000, banked(text)) for i, text in enumerate(texts)]
    index = ExcerptIndex(entries)
    assert len(index) == len(texts)
    need = min_shared_shingles()
    for post_text in [middle_half()[0], *texts[:20], *(t[: len(t) // 3] for t in texts[20:40])]:
        post = words(post_text)
        found = {i for i, _ in index.candidates(post.shingles, need)}
        expected = {
            i for i, entry in entries if int(np.isin(post.shingles, entry.shingles).sum()) >= need
        }
        assert found == expected
        # And every text the rule matches is among the candidates.
        matched = {i for i, entry in entries if containment(post, entry).matches(0.5)}
        assert matched <= found
    assert 1000 + len(texts) - 1 in {
        i for i, _ in index.candidates(words(middle_half()[0]).shingles, need)
    }


def test_a_chant_or_a_repeated_line_is_not_a_quotation() -> None:
    line = "we stand together and we will not be moved today "
    # A chant banked and posted, however long: ten different shingles, not a quotation (and
    # the pairs of places it repeats at do not explode).
    found = containment(words(line * 300), banked(line * 200))
    assert found.post_words == 3000 and found.distinct_shingles == 10
    assert not found.matches(0.5)
    # A post repeating one 10-word sentence of the statement four times quotes 10 words.
    sentence = " ".join(STATEMENT.split()[:10]) + " "
    again = containment(words(sentence * 4), banked())
    assert again.post_containment == 1.0 and again.matched_words <= 11  # one sentence
    assert not again.matches(0.5)


def test_signal_name() -> None:
    assert excerpt.SIGNAL_NAME == "text_excerpt"
