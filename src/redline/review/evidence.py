"""The evidence of a bank match, side by side with the post: one block per matched bank entry,
every signal that matched it, each measured against the bank's threshold, where the entry came
from in words, the banked file when its bytes are kept, which frames of a video matched, and
which passages a text shares with banked text.

Plain data for the case page and the case API (``review.casefile``); reviewers report an entry
they find matched wrongly (``report_false_positive``), and a lead disables it from the bank page
(``redline.banks.manage.disable_entry``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypedDict

from sqlalchemy import ColumnElement, Connection, Row, func, or_, select
from sqlalchemy.exc import IntegrityError

from redline.errors import Conflict, Invalid, NotFound
from redline.model import (
    Bank,
    BankEntry,
    BankSignal,
    Case,
    FalsePositiveReport,
    Item,
    ItemMedia,
    Match,
    Media,
    Signal,
    TextBody,
)
from redline.pipeline.protect import EntryRules, entry_rules
from redline.review.accounts import Reviewer
from redline.signals import BadSignal, excerpt, minhash, vpdq
from redline.signals.pdq import PdqSignal
from redline.signals.pdq_crop import PdqCropSignal
from redline.signals.textnorm import tokens_for_matching
from redline.store.audit import record_event

MAX_NOTE: Final = 2000
PASSAGES_SHOWN: Final = 12
# Frames hashed this far apart or closer belong to one matched segment of a video.
SEGMENT_GAP: Final = vpdq.SECONDS_PER_HASH * 1.5
# How the signals read to a reviewer, strongest evidence first within an entry's block.
SIGNAL_NAMES: Final = {
    "sha256": "SHA-256",
    "md5": "MD5",
    "video_md5": "MD5 (video)",
    "pdq": "PDQ",
    "pdq_crop": "PDQ (cropped)",
    "vpdq": "vPDQ",
    minhash.SIGNAL_NAME: "Text similarity",
    excerpt.SIGNAL_NAME: "Text excerpt",
}
_ORDER: Final = {name: position for position, name in enumerate(SIGNAL_NAMES)}
EXACT: Final = frozenset({"sha256", "md5", "video_md5"})


class MatchedSignal(TypedDict):
    """One signal that matched a bank entry, measured in the bank's terms."""

    signal_type: str
    name: str  # "PDQ"
    measure: str  # "PDQ distance 26 — bank threshold 31"
    distance: float
    media_sha256: str | None
    text_sha256: str | None


class FrameSegment(TypedDict):
    """A run of a video's frames that matched banked frames (seconds into the post's video), and
    where in the banked video they are (None: a match stored before matches kept it)."""

    start: float
    end: float
    frames: list[float]  # every matched frame's time in the run
    banked_start: float | None
    banked_end: float | None


class FrameEvidence(TypedDict):
    """Which frames of the post's video matched the banked video."""

    share: float  # percent of the post's usable frames with a banked partner
    needed: float  # the share a vPDQ match needs
    usable: int  # the post's frames good enough to match on
    segments: list[FrameSegment]
    banked_share: float | None  # percent of the banked video's frames found in the post
    contained: bool  # matched as a banked video inside a longer post
    transform: str | None  # the form of the post's frames that matched (trimmed, mirror)


class Segment(TypedDict):
    """A piece of a text, in order: inside a matched passage or not."""

    text: str
    matched: bool


class ExcerptPassage(TypedDict):
    """A passage of the post found in the banked text, and where it is in each."""

    post_start: int  # character offsets in the post
    post_end: int
    banked_start: int  # character offsets in the banked text
    banked_end: int
    banked_first_word: int  # 1-based word numbers in the banked text
    banked_last_word: int
    words: int
    text: str  # the passage as the post has it


class ExcerptEvidence(TypedDict):
    """How much of the post is banked text and of the banked text is in the post, and where."""

    post_containment: float  # percent
    known_containment: float  # percent
    threshold: float  # percent
    matched_words: int
    min_words: int
    post_words: int
    banked_words: int
    passages: list[ExcerptPassage]
    post_segments: list[Segment]  # the post, its matched passages marked
    banked_segments: list[Segment] | None  # the banked text likewise, when it is kept


class TextEvidence(TypedDict):
    """How close the post's text is to the banked text."""

    jaccard: float | None  # None: matched by containment only
    threshold: float
    # Passages of the post's text (as normalised for matching) made of shingles the banked
    # text has too; None when the banked text itself is not kept (only its signature).
    passages: list[str] | None
    shared: int  # shingles in common (when the banked text is kept)
    shingles: int  # the post's shingles
    excerpt: ExcerptEvidence | None  # when the post matched by containment


class EntryEvidence(TypedDict):
    """One bank entry the post matched, with everything that matched it."""

    entry_id: int
    bank: str
    confirmed: bool
    enabled: bool
    disabled_reason: str | None
    category: str | None
    labels: list[str]  # the labels its source gave it, as they travelled (``exchanges.labels``)
    note: str | None
    added_by: str
    added_at: datetime
    origin: str  # where the entry came from, in words
    banked_media: str | None  # sha256 of the banked file, when its bytes are kept
    banked_kind: str | None
    signals: list[MatchedSignal]
    frames: FrameEvidence | None
    text: TextEvidence | None
    false_positives: int
    reported: bool  # the reader reported it as a false positive on this case
    # Why this entry's match opens no case, in words (pipeline/protect.py): vetoed by a
    # negative bank, a negative bank itself, held by flood quarantine, an untrusted exchange's.
    protection: list[str]


def _short(value: Any, limit: int = 120) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def origin(
    provenance: Mapping[str, Any] | None,
    *,
    from_file: bool,
    source_org: str | None,
    added_by: str,
) -> str:
    """Where a bank entry came from, in words, from its provenance (never its raw JSON)."""
    said = dict(provenance or {})
    parts: list[str] = []
    if said.get("case") is not None:
        found = f"added from case #{_short(said['case'], 20)}"
        if from_file and said.get("file"):
            found += f" (its file {_short(said['file'])})"
        if said.get("designation"):
            found += f"; designation {_short(said['designation'])}"
        parts.append(found)
    elif from_file:
        name = f" {_short(said['file'])}" if said.get("file") else ""
        parts.append(f"added from the file{name}")
    elif said.get("file"):
        where = f", {_short(said['location'])}" if said.get("location") else ""
        parts.append(f"imported from the hash list {_short(said['file'])}{where}")
    if said.get("exchange"):
        remote = f" (its entry {_short(said['remote_id'], 40)})" if said.get("remote_id") else ""
        parts.append(f"fetched from the exchange {_short(said['exchange'], 100)}{remote}")
    if said.get("hma_metadata"):
        parts.append("added through the HMA API")
    if said.get("added_at"):
        parts.append(f"listed as added {_short(said['added_at'], 40)}")
    if source_org:
        parts.append(f"shared by {_short(source_org)}")
    if not parts:
        parts.append("added by its hashes alone; no record of where they came from")
    return f"{'; '.join(parts)} · by {added_by}"


def measure(signal_type: str, distance: float, detail: Mapping[str, Any], bank: Any) -> str:
    """A match's strength in the terms the bank matches by, with the bank's threshold."""
    if signal_type in EXACT:
        return f"{SIGNAL_NAMES[signal_type]}: the same bytes as the banked file"
    if signal_type in {PdqSignal.name, PdqCropSignal.name}:
        how = []
        if detail.get("crop"):
            how.append(f"through the crop {_short(detail['crop'], 40)}")
        if detail.get("transform"):
            how.append(f"after {_short(detail['transform'], 40)}")
        after = f" ({', '.join(how)})" if how else ""
        return f"PDQ distance {distance:g} — bank threshold {bank.pdq_threshold}{after}"
    if signal_type == vpdq.VpdqSignal.name:
        share = float(detail.get("query_match_percent", 100 - distance))
        needed = vpdq.QUERY_MATCH_PERCENT
        after = f" (after {_short(detail['transform'], 40)})" if detail.get("transform") else ""
        if detail.get("contained"):
            banked = float(detail.get("compared_match_percent", 0.0))
            return (
                f"vPDQ: the banked video inside the post: {banked:g}% of its frames found"
                f" ({share:g}% of the post's frames){after} — containment needs"
                f" {vpdq.CONTAINED_PERCENT:g}%"
            )
        return f"vPDQ: {share:g}% of the post's frames matched{after} — a match needs {needed:g}%"
    if signal_type == minhash.SIGNAL_NAME:
        jaccard = float(detail.get("jaccard", 1 - distance))
        return f"Jaccard similarity {jaccard:.2f} — bank threshold {bank.text_threshold:.2f}"
    if signal_type == excerpt.SIGNAL_NAME:
        post = float(detail.get("post_containment", 0.0))
        known = float(detail.get("known_containment", 0.0))
        return (
            f"{post:.0%} of the post is banked text, {known:.0%} of the banked text is in the post"
            f" ({int(detail.get('matched_words', 0))} words) — bank threshold"
            f" {bank.containment_threshold:.0%} of either, at least {excerpt.MIN_WORDS} words"
        )
    return f"{signal_type} distance {distance:g}"


def matched_rows(
    connection: Connection, text_sha256: str | None, media_sha256s: Sequence[str]
) -> Sequence[Row[Any]]:
    """Every match of the item's text or media with its bank entry and bank, confirmed banks'
    first, then the closest: read once for a case page, which lists the matches and shows them
    as evidence (``entry_evidence``)."""
    owners: list[ColumnElement[bool]] = []
    if media_sha256s:
        owners.append(Match.media_sha256.in_(list(media_sha256s)))
    if text_sha256:
        owners.append(Match.text_sha256 == text_sha256)
    if not owners:
        return []
    return connection.execute(
        select(
            Match.signal_type,
            Match.distance,
            Match.media_sha256,
            Match.text_sha256,
            Match.detail,
            Match.vetoed_by,
            Bank.name.label("bank"),
            Bank.confirmed,
            Bank.pdq_threshold,
            Bank.text_threshold,
            Bank.containment_threshold,
            BankEntry.id.label("entry_id"),
            BankEntry.enabled,
            BankEntry.disabled_reason,
            BankEntry.category,
            BankEntry.tags,
            BankEntry.note,
            BankEntry.source_org,
            BankEntry.provenance,
            BankEntry.media_sha256.label("banked_sha256"),
            BankEntry.added_by,
            BankEntry.added_at,
            Media.kind.label("banked_kind"),
            Media.path.label("banked_path"),
        )
        .join(BankEntry, BankEntry.id == Match.bank_entry_id)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .outerjoin(Media, Media.sha256 == BankEntry.media_sha256)
        .where(or_(*owners))
        .order_by(Bank.confirmed.desc(), Match.distance, BankEntry.id)
    ).all()


def entry_evidence(
    connection: Connection,
    reviewer: Reviewer,
    case_id: int,
    text: str | None,
    rows: Sequence[Row[Any]],
    *,
    blind: bool = False,
) -> list[EntryEvidence]:
    """Every bank entry the item's text or media matched (``rows``: its ``matched_rows``), one
    block each, in the rows' order. ``blind``: the reader's review of the case is blind
    (``casefile.blind_to_earlier``), so other people's reports on this case are not counted."""
    entry_ids = list(dict.fromkeys(r.entry_id for r in rows))
    rules = entry_rules(connection, entry_ids)
    hidden = (case_id, reviewer.id) if blind else None
    counts = false_positive_counts(connection, entry_ids, hiding_others_on=hidden)
    mine = set(
        connection.scalars(
            select(FalsePositiveReport.entry_id).where(
                FalsePositiveReport.case_id == case_id,
                FalsePositiveReport.user_id == reviewer.id,
            )
        )
    )
    blocks: dict[int, EntryEvidence] = {}
    for r in rows:
        detail = r.detail or {}
        block = blocks.get(r.entry_id)
        if block is None:
            kept = r.banked_sha256 is not None and r.banked_path is not None
            block = blocks[r.entry_id] = EntryEvidence(
                entry_id=r.entry_id,
                bank=r.bank,
                confirmed=r.confirmed,
                enabled=r.enabled,
                disabled_reason=r.disabled_reason,
                category=r.category,
                labels=(r.tags or "").split()[:20],
                note=r.note,
                added_by=r.added_by,
                added_at=r.added_at,
                origin=origin(
                    r.provenance,
                    from_file=r.banked_sha256 is not None,
                    source_org=r.source_org,
                    added_by=r.added_by,
                ),
                banked_media=r.banked_sha256 if kept else None,
                banked_kind=r.banked_kind if kept else None,
                signals=[],
                frames=None,
                text=None,
                false_positives=counts.get(r.entry_id, 0),
                reported=r.entry_id in mine,
                protection=_protection(rules.get(r.entry_id)),
            )
        block["signals"].append(
            MatchedSignal(
                signal_type=r.signal_type,
                name=SIGNAL_NAMES.get(r.signal_type, r.signal_type),
                measure=measure(r.signal_type, r.distance, detail, r),
                distance=r.distance,
                media_sha256=r.media_sha256,
                text_sha256=r.text_sha256,
            )
        )
        vetoed = f"vetoed: the same content matches negative bank entry #{r.vetoed_by}"
        if r.vetoed_by is not None and vetoed not in block["protection"]:
            block["protection"].append(vetoed)
        if r.signal_type == vpdq.VpdqSignal.name and r.media_sha256 and block["frames"] is None:
            block["frames"] = _frames(connection, r.media_sha256, r.entry_id, detail)
        if r.signal_type == minhash.SIGNAL_NAME and text:
            found = _text(connection, text, r.provenance, detail, r)
            if block["text"] is not None:  # the excerpt's evidence came first
                found["excerpt"] = block["text"]["excerpt"]
            block["text"] = found
        if r.signal_type == excerpt.SIGNAL_NAME and text:
            quoted = _excerpt(connection, text, r.provenance, detail, r)
            if block["text"] is None:
                block["text"] = TextEvidence(
                    jaccard=None,
                    threshold=float(r.text_threshold),
                    passages=None,
                    shared=0,
                    shingles=0,
                    excerpt=quoted,
                )
            else:
                block["text"]["excerpt"] = quoted
    for block in blocks.values():
        block["signals"].sort(key=lambda s: (_ORDER.get(s["signal_type"], 99), s["distance"]))
    return list(blocks.values())


def _protection(rule: EntryRules | None) -> list[str]:
    """Why an entry's matches open no case, as far as the entry itself goes."""
    said: list[str] = []
    if rule is None:
        return said
    if rule.negative:
        said.append("negative bank: known benign content, it vetoes other matches")
    if not rule.trusted:
        said.append("from an untrusted exchange: supporting signal, opens no case alone")
    if rule.held:
        said.append("held by flood quarantine until a lead releases it")
    return said


def _frames(
    connection: Connection, media_sha256: str, entry_id: int, detail: Mapping[str, Any]
) -> FrameEvidence | None:
    """The post's video frames matched to the banked video's, in runs: as the match found them
    (its detail's segments, with the banked video's times), or, for a match stored before
    matches kept them, recomputed from the two plain vPDQ hashes."""
    kept = detail.get("segments")
    if isinstance(kept, list):
        banked_share = detail.get("compared_match_percent")
        return FrameEvidence(
            share=float(detail.get("query_match_percent", 0.0)),
            needed=vpdq.QUERY_MATCH_PERCENT,
            usable=int(detail.get("query_frames", 0)),
            segments=sorted(
                (
                    FrameSegment(
                        start=float(s["start"]),
                        end=float(s["end"]),
                        frames=[float(t) for t in s.get("frames", [])],
                        banked_start=float(s["banked_start"]),
                        banked_end=float(s["banked_end"]),
                    )
                    for s in kept
                ),
                key=lambda s: s["start"],
            ),
            banked_share=None if banked_share is None else float(banked_share),
            contained=bool(detail.get("contained")),
            transform=detail.get("transform"),
        )
    query = connection.scalar(
        select(Signal.value).where(
            Signal.media_sha256 == media_sha256, Signal.signal_type == vpdq.VpdqSignal.name
        )
    )
    banked = connection.scalar(
        select(BankSignal.value).where(
            BankSignal.entry_id == entry_id, BankSignal.signal_type == vpdq.VpdqSignal.name
        )
    )
    if query is None or banked is None:
        return None
    try:
        frames = vpdq.parse(query)
        banked_hashes = [int(h, 16) for h in vpdq.matchable(vpdq.parse(banked))]
    except BadSignal:
        return None
    # One frame per distinct hash, as vPDQ counts them (a still scene is one frame).
    usable: dict[str, float] = {}
    for frame in frames:
        if frame.quality >= vpdq.QUALITY_THRESHOLD:
            usable.setdefault(frame.pdq_hex, frame.seconds)
    matched = sorted(
        seconds
        for pdq_hex, seconds in usable.items()
        if any((int(pdq_hex, 16) ^ b).bit_count() <= vpdq.DISTANCE_THRESHOLD for b in banked_hashes)
    )
    segments: list[FrameSegment] = []
    for seconds in matched:
        if segments and seconds - segments[-1]["end"] <= SEGMENT_GAP:
            segments[-1]["end"] = seconds
            segments[-1]["frames"].append(seconds)
        else:
            segments.append(
                FrameSegment(
                    start=seconds,
                    end=seconds,
                    frames=[seconds],
                    banked_start=None,
                    banked_end=None,
                )
            )
    share = detail.get("query_match_percent")
    if share is None:
        share = round(100 * len(matched) / len(usable), 2) if usable else 0.0
    return FrameEvidence(
        share=float(share),
        needed=vpdq.QUERY_MATCH_PERCENT,
        usable=len(usable),
        segments=segments,
        banked_share=None,
        contained=False,
        transform=None,
    )


def _text(
    connection: Connection,
    text: str,
    provenance: Mapping[str, Any] | None,
    detail: Mapping[str, Any],
    bank: Any,
) -> TextEvidence:
    """The Jaccard similarity, and the passages the post shares with the banked text when that
    text is kept (an entry added from a case: the case's post)."""
    jaccard = float(detail.get("jaccard", 0.0))
    threshold = float(bank.text_threshold)
    banked = _banked_text(connection, provenance)
    try:
        reduced = tokens_for_matching(text)
        own = minhash.shingles(text)
    except BadSignal:
        return TextEvidence(
            jaccard=jaccard, threshold=threshold, passages=None, shared=0, shingles=0, excerpt=None
        )
    if banked is None:
        return TextEvidence(
            jaccard=jaccard,
            threshold=threshold,
            passages=None,
            shared=0,
            shingles=len(own),
            excerpt=None,
        )
    try:
        theirs = minhash.shingles(banked)
    except BadSignal:
        theirs = set()
    common = own & theirs
    size = minhash.SHINGLE
    covered = [False] * len(reduced)
    for first in range(max(len(reduced) - size + 1, 1)):
        if reduced[first : first + size] in common:
            for position in range(first, min(first + size, len(reduced))):
                covered[position] = True
    passages: list[str] = []
    start: int | None = None
    for position, inside in enumerate([*covered, False]):
        if inside and start is None:
            start = position
        elif not inside and start is not None:
            passages.append(reduced[start:position].strip())
            start = None
    return TextEvidence(
        jaccard=jaccard,
        threshold=threshold,
        passages=[p for p in passages if p][:PASSAGES_SHOWN],
        shared=len(common),
        shingles=len(own),
        excerpt=None,
    )


def _segments(text: str, spans: Sequence[tuple[int, int]]) -> list[Segment]:
    """``text`` in pieces, the character ranges ``spans`` marked as matched (joined where they
    overlap)."""
    pieces: list[Segment] = []
    at = 0
    for start, end in sorted(spans):
        start, end = max(start, at), min(end, len(text))
        if end <= start:
            continue
        if start > at:
            pieces.append(Segment(text=text[at:start], matched=False))
        pieces.append(Segment(text=text[start:end], matched=True))
        at = end
    if at < len(text):
        pieces.append(Segment(text=text[at:], matched=False))
    return pieces


def _excerpt(
    connection: Connection,
    text: str,
    provenance: Mapping[str, Any] | None,
    detail: Mapping[str, Any],
    bank: Any,
) -> ExcerptEvidence:
    """The containment figures and the matched passages (``Match.detail`` of a containment
    match, ``excerpt.Containment.detail``): each passage as the post has it, its place in the
    banked text by word number and character offsets, and the banked text with the passages
    marked when redline keeps it."""
    passages: list[ExcerptPassage] = []
    for found in detail.get("passages") or []:
        try:
            (post_start, post_end), (banked_start, banked_end) = found["post"], found["banked"]
            first, last = found["banked_words"]
            passages.append(
                ExcerptPassage(
                    post_start=int(post_start),
                    post_end=int(post_end),
                    banked_start=int(banked_start),
                    banked_end=int(banked_end),
                    banked_first_word=int(first) + 1,
                    banked_last_word=int(last) + 1,
                    words=int(found["words"]),
                    text=text[int(post_start) : int(post_end)],
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # a detail written otherwise: shown by its figures alone
    banked = _banked_text(connection, provenance)
    return ExcerptEvidence(
        post_containment=round(100 * float(detail.get("post_containment", 0.0)), 1),
        known_containment=round(100 * float(detail.get("known_containment", 0.0)), 1),
        threshold=round(100 * float(bank.containment_threshold), 1),
        matched_words=int(detail.get("matched_words", 0)),
        min_words=excerpt.MIN_WORDS,
        post_words=int(detail.get("post_words", 0)),
        banked_words=int(detail.get("banked_words", 0)),
        passages=passages,
        post_segments=_segments(text, [(p["post_start"], p["post_end"]) for p in passages]),
        banked_segments=None
        if banked is None
        else _segments(banked, [(p["banked_start"], p["banked_end"]) for p in passages]),
    )


def _banked_text(connection: Connection, provenance: Mapping[str, Any] | None) -> str | None:
    """The text a text entry was made from, when redline has it: the post of the case it was
    added from (a text bank keeps only signatures)."""
    case = (provenance or {}).get("case")
    if not isinstance(case, int) or isinstance(case, bool):
        return None
    body: str | None = connection.scalar(
        select(TextBody.body)
        .join(Item, Item.text_sha256 == TextBody.sha256)
        .join(Case, Case.item_id == Item.id)
        .where(Case.id == case)
    )
    return body


def false_positive_counts(
    connection: Connection,
    entry_ids: Sequence[int],
    *,
    hiding_others_on: tuple[int, int] | None = None,
) -> dict[int, int]:
    """How many false-positive reports each entry has had; ``hiding_others_on`` (case id,
    user id) leaves out other people's reports on that case, for a blind reader."""
    if not entry_ids:
        return {}
    query = (
        select(FalsePositiveReport.entry_id, func.count())
        .where(FalsePositiveReport.entry_id.in_(list(entry_ids)))
        .group_by(FalsePositiveReport.entry_id)
    )
    if hiding_others_on is not None:
        case_id, user_id = hiding_others_on
        query = query.where(
            (FalsePositiveReport.case_id != case_id) | (FalsePositiveReport.user_id == user_id)
        )
    rows = connection.execute(query)
    return {int(entry): int(count) for entry, count in rows}


def matched_entry(connection: Connection, case_id: int, entry_id: int) -> bool:
    """Whether bank entry ``entry_id`` matched the text or a media file of case ``case_id``'s
    item."""
    item = select(Case.item_id).where(Case.id == case_id).scalar_subquery()
    media = select(ItemMedia.media_sha256).where(ItemMedia.item_id == item)
    text = select(Item.text_sha256).where(Item.id == item).scalar_subquery()
    found = connection.scalar(
        select(Match.id)
        .where(Match.bank_entry_id == entry_id)
        .where(Match.media_sha256.in_(media) | (Match.text_sha256 == text))
        .limit(1)
    )
    return found is not None


def report_false_positive(
    connection: Connection,
    reviewer: Reviewer,
    case_id: int,
    entry_id: int,
    now: datetime,
    *,
    note: str | None = None,
) -> int:
    """Record that ``reviewer`` finds bank entry ``entry_id`` matched case ``case_id`` wrongly,
    audited; the entry's report count after. One report per reviewer, case and entry
    (Conflict on a second); NotFound when the entry did not match the case."""
    reviewer.require("case.decide")
    if note is not None:
        note = note.strip() or None
        if note and (len(note) > MAX_NOTE or "\x00" in note):
            raise Invalid(f"the note must be at most {MAX_NOTE} characters of text")
    if connection.scalar(select(Case.id).where(Case.id == case_id)) is None:
        raise NotFound(f"no case {case_id}")
    if not matched_entry(connection, case_id, entry_id):
        raise NotFound(f"bank entry {entry_id} did not match case {case_id}")
    try:
        # The unique constraint decides, so two reports sent at once still count as one.
        with connection.begin_nested():
            connection.execute(
                FalsePositiveReport.__table__.insert(),
                {
                    "entry_id": entry_id,
                    "case_id": case_id,
                    "user_id": reviewer.id,
                    "note": note,
                    "created_at": now,
                },
            )
    except IntegrityError:
        raise Conflict(f"you already reported bank entry {entry_id} on case {case_id}") from None
    count = false_positive_counts(connection, [entry_id]).get(entry_id, 0)
    record_event(
        connection,
        reviewer.actor,
        "bank.entry.false_positive",
        "bank_entry",
        str(entry_id),
        detail={"case": case_id, "note": note, "reports": count},
    )
    return count
