"""The stages of ``redline scan`` for given items: what a worker (or the API, in-process) runs
for content as it arrives.

Each stage is the scan's own stage code over a scope of item ids instead of a source or a time,
so a file scanned in a batch and an item submitted through the API are hashed, matched and
routed by the same functions. Every stage is idempotent by the same design as the scan: it
selects only what is not done yet (media without their hash, signals not matched at the current
``banks`` counter, texts not processed at the current version) and writes with ON CONFLICT DO
NOTHING on the tables' unique keys, so running it twice, or on two workers at once, changes
nothing the second time.

Routing (opening or raising an item's Case) is not a stage of its own: a match and the Case it
opens are written in one transaction by the match and text stages, as in the scan, so no crash
can leave a match without its Case, and a separate stage would have to re-derive from the
database the reasons the stages already hold.

Stages take a Database, like the scan (an Engine there, one connection for a worker's call here):
hashing runs outside any transaction (a video can take minutes), and each stage commits what it
found before the next reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Select,
    String,
    and_,
    cast,
    exists,
    literal,
    or_,
    select,
    update,
)

from redline.classify.model import TextModel
from redline.config import Settings
from redline.errors import NotFound
from redline.model import Item, ItemMedia, Quarantine, Signal, Source, TextScan
from redline.pipeline.match import Matcher
from redline.pipeline.scan import (
    MATCHED_TYPES,
    ScanSummary,
    hash_new_media,
    items_in_scope,
    match_and_route,
    media_in_scope,
    record_exact_signals,
)
from redline.pipeline.text_scan import TextSummary, run_text_stages
from redline.store.engine import Database, OneConnection, one_of
from redline.store.quarantine import WORK_FORMAT

HASH: Final = "hash"
MATCH: Final = "match"
TEXT: Final = "text"
# In the order an item goes through them: matching needs the hashes; the text stages need
# neither, so a deployment may run them beside the other two.
STAGES: Final = (HASH, MATCH, TEXT)
# In what ``run_stage`` reports when the stage matched at an older banks version than the
# database's: seconds until this process has loaded the newer one (``rematch_in``).
REMATCH_IN: Final = "rematch_in"


def _quiet_stage(_name: str, _total: int) -> None:
    pass


def _quiet_advance(_n: int) -> None:
    pass


def items_by_id(item_ids: Sequence[int], dialect: Dialect) -> Select[Any]:
    """The scope of the given items (a scan's scope is a query of item ids), for ``dialect``'s
    database."""
    return select(Item.id).where(one_of(Item.id, item_ids, dialect))


def items_to_scan(
    connection: Connection, source: str | None = None, since: datetime | None = None
) -> list[int]:
    """The ids of the items a scan of ``source`` (and ``since``) covers, oldest first."""
    source_id = None
    if source is not None:
        source_id = connection.scalar(select(Source.id).where(Source.name == source))
        if source_id is None:
            raise NotFound(f"no source called {source!r}")
    query = items_in_scope(source_id, since).order_by(Item.id)
    return [int(item_id) for item_id in connection.scalars(query)]


@dataclass(frozen=True, slots=True)
class Carried:
    """Which of some items carry media (the hash and match stages) and which a text (the text
    stages): an item with no media has nothing for the first two to do, and one with no text
    nothing for the third."""

    media: frozenset[int]
    text: frozenset[int]


def carried(connection: Connection, item_ids: Sequence[int]) -> Carried:
    """What the given items carry (one look-up per thousand items)."""
    media: set[int] = set()
    texts: set[int] = set()
    ids = list(dict.fromkeys(item_ids))
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        has_media = exists().where(ItemMedia.item_id == Item.id)
        rows = connection.execute(
            select(Item.id, Item.text_sha256.is_not(None), has_media).where(
                one_of(Item.id, part, connection.dialect)
            )
        )
        for item_id, has_text, with_media in rows:
            if has_text:
                texts.add(int(item_id))
            if with_media:
                media.add(int(item_id))
    return Carried(frozenset(media), frozenset(texts))


def mark_queued(connection: Connection, item_ids: Sequence[int], now: datetime) -> None:
    """Record that the items were sent to the workers (``unsent`` leaves them alone then)."""
    ids = list(dict.fromkeys(item_ids))
    for start in range(0, len(ids), 1000):
        connection.execute(
            update(Item)
            .where(one_of(Item.id, ids[start : start + 1000], connection.dialect))
            .values(queued_at=now)
        )


def unsent(
    connection: Connection, stored_after: datetime, stored_before: datetime, limit: int
) -> list[int]:
    """Items stored in the window, never sent to the workers, that no stage has touched, oldest
    first: the process that stored them died before sending them (a web process restarted
    between its answer and its background task, say), so nothing would ever process them. An
    item sent and still waiting in a queue is not one of them, however long the backlog.

    Never touched: a text with no text stage done (whatever version), a media file with no
    signal (not hashed), or a signal never matched. Work redone for a new model or new banks is
    not "unsent" (``redline scan`` does that); an item the quarantine holds for failed work is
    left there. What a stage already did is skipped when the item is sent again, so sending an
    item that was in fact on its way costs one look-up.
    """
    text_untouched = and_(
        Item.text_sha256.is_not(None),
        ~exists().where(TextScan.text_sha256 == Item.text_sha256),
    )
    media_untouched = exists().where(
        ItemMedia.item_id == Item.id,
        or_(
            ~exists().where(Signal.media_sha256 == ItemMedia.media_sha256),
            exists().where(
                Signal.media_sha256 == ItemMedia.media_sha256,
                Signal.signal_type.in_(MATCHED_TYPES),
                Signal.value != "",
                Signal.matched_generation.is_(None),
            ),
        ),
    )
    quarantined = exists().where(
        Quarantine.format == WORK_FORMAT,
        Quarantine.file == literal("item ") + cast(Item.id, String),
    )
    query = (
        select(Item.id)
        .where(Item.ingested_at >= stored_after, Item.ingested_at < stored_before)
        .where(Item.queued_at.is_(None))
        .where(or_(text_untouched, media_untouched), ~quarantined)
        .order_by(Item.id)
        .limit(limit)
    )
    return [int(item_id) for item_id in connection.scalars(query)]


def hash_items(engine: Database, settings: Settings, item_ids: Sequence[int]) -> ScanSummary:
    """MD5/SHA-256 signals and PDQ or vPDQ of the items' media not hashed yet, in this process
    (a worker is one process per slot already). A file that cannot be hashed is quarantined and
    marked, as by the scan; it does not fail the stage."""
    summary = ScanSummary()
    scope = media_in_scope(items_by_id(item_ids, engine.dialect))
    record_exact_signals(engine, scope)
    hash_new_media(engine, settings, scope, 1, summary, _quiet_stage, _quiet_advance)
    return summary


def match_items(engine: Database, matcher: Matcher, item_ids: Sequence[int]) -> ScanSummary:
    """Look the items' media signals up in the banks; new matches open or raise Cases, and so
    do the matches their media had before they arrived."""
    summary = ScanSummary()
    scope = items_by_id(item_ids, engine.dialect)
    match_and_route(engine, matcher, scope, summary, _quiet_stage, _quiet_advance)
    return summary


def text_items(
    engine: Database,
    matcher: Matcher,
    item_ids: Sequence[int],
    *,
    model: TextModel | None = None,
    score: bool = True,
) -> TextSummary:
    """Outlinks, classifier score and text-bank matches of the items' texts; flagged or matched
    texts open or raise Cases."""
    summary = TextSummary()
    scope = items_by_id(item_ids, engine.dialect)
    run_text_stages(engine, matcher, scope, summary, model=model, score=score)
    return summary


@dataclass(slots=True)
class Worksite:
    """What the stages work with in one process: the database, settings, the matcher over the
    bank indexes, and the text model (None: ``settings.text_model`` or the shipped one, loaded
    once, when first needed)."""

    engine: Engine
    settings: Settings
    matcher: Matcher
    model: TextModel | None = None
    score_texts: bool = True

    def text_model(self) -> TextModel | None:
        """The model texts are scored with; loaded once per process (seconds), not per task."""
        if self.model is None and self.score_texts:
            self.model = TextModel.load(self.settings.text_model)
        return self.model


def run_stage(site: Worksite, stage: str, item_ids: Sequence[int]) -> dict[str, Any]:
    """Run one stage (``STAGES``) for the items; what it did, as plain data.

    Matching and the text stages run on one connection for the call, their transactions one
    after another on it (``OneConnection``): one pool check-out instead of one per look-up and
    write. Hashing checks one out when it writes (a video takes minutes to hash, and a
    connection held that long can be dropped under it)."""
    if stage not in STAGES:
        raise ValueError(f"no stage {stage!r} (stages: {', '.join(STAGES)})")
    if stage == HASH:
        return _as_dict(hash_items(site.engine, site.settings, item_ids))
    model = site.text_model() if stage == TEXT else None
    served = site.matcher.version()
    with site.engine.connect() as connection:
        database = OneConnection(connection)
        matcher = site.matcher.on(database)
        if stage == MATCH:
            done = _as_dict(match_items(database, matcher, item_ids))
        else:
            done = _as_dict(
                text_items(database, matcher, item_ids, model=model, score=site.score_texts)
            )
    later = rematch_in(site, served)
    if later is not None:
        done[REMATCH_IN] = later
    return done


def rematch_in(site: Worksite, served: int) -> float | None:
    """Seconds until this process serves the banks version the database is at now, when a stage
    just matched at ``served``, an older one (None: it matched at the database's).

    A web or worker process loads a bank change after a random delay (``index.store``), and
    work is recorded at the version it was matched at. Items matched in that window would miss
    a bank entry added just before they were posted until the next `redline scan`: they must be
    matched again once the change is loaded. The counter is read after the stage committed, so
    a change committed before the stage's writes is never missed."""
    serving = site.matcher.indexes.serving()
    if serving.database_version <= served:
        return None
    return serving.reload_in or 0.0


def _as_dict(done: ScanSummary | TextSummary) -> dict[str, Any]:
    if isinstance(done, ScanSummary):
        return {
            "hashed": done.hashed,
            "hash_errors": done.hash_errors,
            "new_matches": done.new_matches,
            "cases_opened": done.cases_opened,
            "cases_updated": done.cases_updated,
        }
    return {
        "texts_scored": done.texts_scored,
        "texts_flagged": done.texts_flagged,
        "text_matches": done.text_matches,
        "cases_opened": done.cases_opened,
        "cases_updated": done.cases_updated,
    }
