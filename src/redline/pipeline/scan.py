"""``redline scan``: hash what is not hashed yet, match what is not matched yet, open cases.

1. Every media file of the items in scope gets its signals once: MD5 and SHA-256 (already known
   from ingest), PDQ with its dihedral variants for images, vPDQ for videos (process pool). A file
   that cannot be hashed is quarantined with the reason and marked so it is not retried.
2. Every signal not yet matched at the current ``banks`` counter is looked up in the banks; new
   matches are stored once (a Match per media file, bank entry and signal type).
3. Each item carrying newly matched media gets a Case, opened or updated; so does each item of
   the scope whose media were matched before it arrived (a re-upload, ``pipeline/known.py``).
4. Every distinct text of the items in scope gets its outlinks extracted, a classifier score, and
   a look-up in the text banks (``pipeline/text_scan.py``); flagged and matched texts open Cases.
Running it again changes nothing until new content or new bank entries arrive.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, exists, literal, or_, select, update

from redline.classify.model import TextModel
from redline.config import Settings
from redline.errors import NotFound
from redline.index.store import IndexStore
from redline.model import Item, ItemMedia, Media, Signal, Source
from redline.model.base import utcnow
from redline.pipeline.hashing import HashJob, HashResult, hash_many
from redline.pipeline.known import route_known_media
from redline.pipeline.match import BankMatch, Matcher, match_found
from redline.pipeline.protect import Found, screen
from redline.pipeline.route import CaseReason, keep_strongest, media_match_reason, open_cases
from redline.pipeline.text_scan import TextSummary, run_text_stages
from redline.signals import MATCHED, SCANNED, signal_type
from redline.signals.exact import Md5Signal, Sha256Signal
from redline.store import outbox
from redline.store.audit import record_event
from redline.store.content import (
    HASHES_ONLY,
    SUPPLIED,
    NewQuarantine,
    insert_ignoring_duplicates,
    quarantine_record,
)
from redline.store.engine import Database
from redline.store.matches import record_matches
from redline.store.media import MediaStoreError, media_store

MATCH_BATCH = 2000
PERCEPTUAL = {kind: cls.name for kind, cls in SCANNED.items()}
MATCHED_TYPES = tuple(cls.name for cls in MATCHED)


@dataclass(slots=True)
class ScanSummary:
    """What a scan did."""

    media_in_scope: int = 0
    hashed: int = 0
    hash_errors: int = 0
    signals_matched: int = 0
    new_matches: int = 0
    cases_opened: int = 0
    cases_updated: int = 0
    text: TextSummary = field(default_factory=TextSummary)
    elapsed: float = 0.0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json and the audit trail."""
        return {
            "media_in_scope": self.media_in_scope,
            "hashed": self.hashed,
            "hash_errors": self.hash_errors,
            "signals_matched": self.signals_matched,
            "new_matches": self.new_matches,
            "cases_opened": self.cases_opened + self.text.cases_opened,
            "cases_updated": self.cases_updated + self.text.cases_updated,
            "texts_in_scope": self.text.texts_in_scope,
            "outlinks_found": self.text.outlinks_found,
            "texts_scored": self.text.texts_scored,
            "texts_flagged": self.text.texts_flagged,
            "text_matches": self.text.text_matches,
            "elapsed_s": round(self.elapsed, 3),
            "problems": self.problems[:50],
        }


def items_in_scope(source_id: int | None, since: datetime | None) -> Select[Any]:
    """The ids of the items a scan covers."""
    query = select(Item.id)
    if source_id is not None:
        query = query.where(Item.source_id == source_id)
    if since is not None:
        query = query.where(Item.ingested_at >= since)
    return query


def media_in_scope(items: Select[Any]) -> Select[Any]:
    """The media files of the items a scan covers."""
    return select(ItemMedia.media_sha256).where(ItemMedia.item_id.in_(items)).distinct()


def scan(
    engine: Engine,
    settings: Settings,
    indexes: IndexStore,
    *,
    actor: str,
    source: str | None = None,
    since: datetime | None = None,
    workers: int | None = None,
    text_model: TextModel | None = None,
    score_texts: bool = True,
    embeddings: bool | None = None,
    on_stage: Callable[[str, int], None] = lambda _stage, _total: None,
    on_advance: Callable[[int], None] = lambda _n: None,
) -> ScanSummary:
    """Scan the store (or one source, or what was ingested since a time).

    Texts are scored by ``text_model``, by default ``settings.text_model`` or else the model
    shipped with redline (loaded only when there is a text to score); ``score_texts=False``
    leaves the classifier out, and ``embeddings`` says whether its embedding stage runs (None:
    as the model was trained to).
    """
    started = time.perf_counter()
    summary = ScanSummary()
    if text_model is None and score_texts and settings.text_model is not None:
        text_model = TextModel.load(settings.text_model)
    with engine.connect() as connection:
        source_id = None
        if source is not None:
            source_id = connection.scalar(select(Source.id).where(Source.name == source))
            if source_id is None:
                raise NotFound(f"no source called {source!r}")
        items = items_in_scope(source_id, since)
        scope = media_in_scope(items)
        summary.media_in_scope = len(connection.execute(scope).all())
    record_exact_signals(engine, scope)
    hash_new_media(engine, settings, scope, workers, summary, on_stage, on_advance)
    matcher = Matcher(engine, indexes)
    match_and_route(engine, matcher, items, summary, on_stage, on_advance)
    run_text_stages(
        engine,
        matcher,
        items,
        summary.text,
        model=text_model,
        score=score_texts,
        embeddings=embeddings,
        on_stage=on_stage,
        on_advance=on_advance,
    )
    summary.problems.extend(summary.text.problems)
    summary.elapsed = time.perf_counter() - started
    with engine.begin() as connection:
        detail = {
            **summary.as_dict(),
            "source": source,
            "since": since.isoformat() if since else None,
        }
        record_event(connection, actor, "scan", "source" if source else None, source, detail=detail)
    return summary


def record_exact_signals(engine: Database, scope: Select[Any]) -> None:
    """MD5 and SHA-256 signal rows for media that lack them (ingest computed the values).

    Media a platform hashed itself (``HASHES_ONLY``) carry the hashes it sent as signals already:
    their key is not always a SHA-256 of bytes redline has seen."""
    with engine.begin() as connection:
        now = utcnow()
        for kind, column in ((Md5Signal.name, Media.md5), (Sha256Signal.name, Media.sha256)):
            missing = (
                select(Media.sha256, literal(kind), column, literal(now))
                .where(Media.sha256.in_(scope), Media.kind != HASHES_ONLY)
                .where(
                    ~exists().where(Signal.media_sha256 == Media.sha256, Signal.signal_type == kind)
                )
            )
            connection.execute(
                Signal.__table__.insert().from_select(
                    ["media_sha256", "signal_type", "value", "created_at"], missing
                )
            )


def hash_new_media(
    engine: Database,
    settings: Settings,
    scope: Select[Any],
    workers: int | None,
    summary: ScanSummary,
    on_stage: Callable[[str, int], None],
    on_advance: Callable[[int], None],
) -> None:
    with engine.connect() as connection:
        pending = connection.execute(
            select(Media.sha256, Media.kind, Media.path)
            .where(Media.sha256.in_(scope), Media.kind.in_(list(PERCEPTUAL)))
            .where(
                ~exists().where(
                    Signal.media_sha256 == Media.sha256,
                    or_(
                        *(
                            and_(Media.kind == kind, Signal.signal_type == name)
                            for kind, name in PERCEPTUAL.items()
                        )
                    ),
                )
            )
            .order_by(Media.sha256)
        ).all()
    media = media_store(settings)
    jobs = [HashJob(sha, kind, path, media) for sha, kind, path in pending]
    on_stage("hashing", len(jobs))
    batch: list[HashResult] = []
    for result in hash_many(jobs, workers):
        batch.append(result)
        on_advance(1)
        if len(batch) >= 500:
            _store_hashes(engine, settings, batch, summary)
            batch = []
    _store_hashes(engine, settings, batch, summary)


def _store_hashes(
    engine: Database, settings: Settings, results: Sequence[HashResult], summary: ScanSummary
) -> None:
    if not results:
        return
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for result in results:
        if result.error is None:
            summary.hashed += 1
            rows.extend(
                {
                    "media_sha256": result.sha256,
                    "signal_type": kind,
                    "value": query.value,
                    "quality": query.quality,
                    "meta": query.stored_meta(),
                    "created_at": now,
                }
                for kind, query in result.signals
            )
        else:
            summary.hash_errors += 1
            # An empty value marks "tried, failed" so later scans do not retry it forever.
            rows.append(
                {
                    "media_sha256": result.sha256,
                    "signal_type": PERCEPTUAL[result.kind],
                    "value": "",
                    "quality": None,
                    "meta": {"error": result.error},
                    "created_at": now,
                }
            )
    with engine.begin() as connection:
        insert_ignoring_duplicates(connection, Signal.__table__, rows)
        for result in results:
            if result.error is not None:
                problem = _quarantine_media(connection, settings, result, now)
                if problem:
                    summary.problems.append(problem)


def _quarantine_media(
    connection: Connection, settings: Settings, result: HashResult, now: datetime
) -> str | None:
    """File a media file that could not be hashed under the source of an item carrying it."""
    owner = connection.execute(
        select(Item.source_id, ItemMedia.original_name, Media.path)
        .join(ItemMedia, ItemMedia.item_id == Item.id)
        .join(Media, Media.sha256 == ItemMedia.media_sha256)
        .where(ItemMedia.media_sha256 == result.sha256)
        .limit(1)
    ).first()
    if owner is None:
        return None
    try:
        raw, size = media_store(settings).head(owner.path, settings.max_quarantine_bytes)
    except MediaStoreError:  # missing, or the store is down: the reason is what matters
        raw, size = b"", 0
    record = NewQuarantine(
        format="scan",
        file=owner.original_name or owner.path,
        location=f"media {result.sha256[:12]}",
        reason=result.error or "",
        raw=raw,
        raw_size=size,
    )
    quarantine_record(connection, record, now, source_id=owner.source_id)
    return f"{owner.original_name or owner.path}: {result.error}"


def match_and_route(
    engine: Database,
    matcher: Matcher,
    items: Select[Any],
    summary: ScanSummary,
    on_stage: Callable[[str, int], None],
    on_advance: Callable[[int], None],
) -> None:
    """Match the media signals of ``items`` not matched at the current banks counter (a new
    match opens or raises the case of every item carrying the file), then route the items whose
    media were matched before they arrived (``pipeline/known.py``)."""
    match_signals(engine, matcher, media_in_scope(items), summary, on_stage, on_advance)
    known = route_known_media(engine, items)
    summary.cases_opened += known.opened
    summary.cases_updated += known.raised


def match_signals(
    engine: Database,
    matcher: Matcher,
    scope: Select[Any],
    summary: ScanSummary,
    on_stage: Callable[[str, int], None],
    on_advance: Callable[[int], None],
) -> None:
    # The version of the banks the matcher serves, not the database's counter: a process
    # whose indexes are older (a reload waiting out its jitter) must not mark signals as matched
    # against banks it has not loaded, or no later scan would match them again.
    generation = matcher.version()
    with engine.connect() as connection:
        stale = (Signal.matched_generation.is_(None)) | (Signal.matched_generation < generation)
        todo = connection.execute(
            select(
                Signal.id,
                Signal.media_sha256,
                Signal.signal_type,
                Signal.value,
                Signal.quality,
                Signal.meta,
            )
            .where(Signal.media_sha256.in_(scope), Signal.signal_type.in_(MATCHED_TYPES))
            .where(Signal.value != "", stale)
            .order_by(Signal.id)
        ).all()
    on_stage("matching", len(todo))
    # A chunk holds signals of every type: its matches are stored, screened and routed in one
    # transaction, so the screen's queries are paid once a chunk, not once a signal type.
    for start in range(0, len(todo), MATCH_BATCH):
        chunk = todo[start : start + MATCH_BATCH]
        _store_matches(engine, chunk, _match_chunk(matcher, chunk), generation, summary)
        summary.signals_matched += len(chunk)
        on_advance(len(chunk))


def _match_chunk(matcher: Matcher, rows: Sequence[Any]) -> list[Sequence[BankMatch]]:
    """Each row's matches, in the rows' order (the matcher takes one signal type a call)."""
    found: list[Sequence[BankMatch]] = [()] * len(rows)
    by_type: dict[str, list[int]] = defaultdict(list)
    for position, row in enumerate(rows):
        by_type[row.signal_type].append(position)
    for kind, positions in by_type.items():
        cls = signal_type(kind)
        queries = [cls.query(rows[p].value, _quality(rows[p]), rows[p].meta) for p in positions]
        for position, matches in zip(positions, matcher.match(cls, queries), strict=True):
            found[position] = matches
    return found


def _quality(row: Any) -> int | None:
    """The quality a stored hash is matched with.

    A hash the platform sent without one is unknown (None, never filtered on, as a hash sent to
    the HMA API); any other without one counts as 0: scanned hashes always have one, and one
    that lost it is not trusted to match."""
    if row.quality is None and (row.meta or {}).get(SUPPLIED):
        return None
    return int(row.quality or 0)


def _store_matches(
    engine: Database,
    rows: Sequence[Any],
    found: Sequence[Sequence[BankMatch]],
    generation: int,
    summary: ScanSummary,
) -> None:
    now = utcnow()
    with engine.begin() as connection:
        reasons: dict[str, CaseReason] = {}
        new: list[dict[str, Any]] = []
        pairs = [
            (row, match) for row, matches in zip(rows, found, strict=True) for match in matches
        ]
        ids = record_matches(connection, [(m, row.media_sha256, None) for row, m in pairs], now)
        stored = [
            Found(row.media_sha256, None, match, match_id, new=True)
            for (row, match), match_id in zip(pairs, ids, strict=True)
            if match_id is not None  # else matched before
        ]
        why = screen(connection, stored, now)
        for one, reason in zip(stored, why, strict=True):
            summary.new_matches += 1
            if reason is not None:
                continue  # kept, but neither told nor routed: vetoed, held, untrusted...
            new.append(match_found(one.match_id or 0, one.match, media_sha256=one.media_sha256))
            keep_strongest(reasons, str(one.media_sha256), media_match_reason(one.match))
        connection.execute(
            update(Signal)
            .where(Signal.id.in_([row.id for row in rows]))
            .values(matched_generation=generation)
        )
        outbox.emit_matches(connection, new, now)  # before the case they open, per item
        opened, updated = open_cases(connection, reasons, now)
        summary.cases_opened += opened
        summary.cases_updated += updated
