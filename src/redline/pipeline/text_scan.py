"""The text stages of ``redline scan``: outlinks, classifier scores, text-bank matches.

Each works on distinct texts (a text re-posted by a thousand accounts is processed once) and
records in ``text_scans`` that it did, with its version: the outlink extractor's version, the
classifier model's name, the ``banks`` counter. A scan skips texts already done at the current
version and redoes exactly those whose version moved (a new model, a changed text bank).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from redline.classify.model import TextModel
from redline.model import Item, Score, Signal, TextBody, TextScan
from redline.model.base import utcnow
from redline.pipeline.known import route_known_texts
from redline.pipeline.match import Matcher, match_found
from redline.pipeline.protect import Found, screen
from redline.pipeline.route import (
    CaseReason,
    classifier_reason,
    keep_strongest,
    open_text_cases,
    open_twin_cases,
    text_match_reason,
)
from redline.signals import minhash, outlinks, textnorm
from redline.store import outbox
from redline.store.content import insert_ignoring_duplicates
from redline.store.engine import Database, dialect_insert, one_of
from redline.store.matches import record_matches

OUTLINKS_VERSION = "outlinks-1"
NEAR_IDENTICAL_VERSION = "text-key-1"
BATCH = 1000


@dataclass(slots=True)
class TextSummary:
    """What the text stages did."""

    texts_in_scope: int = 0
    outlinks_found: int = 0
    texts_scored: int = 0
    texts_flagged: int = 0
    text_matches: int = 0
    cases_opened: int = 0
    cases_updated: int = 0
    problems: list[str] = field(default_factory=list)


def texts_in_scope(item_scope: Select[Any]) -> Select[Any]:
    """Distinct texts of the items a scan covers."""
    return (
        select(Item.text_sha256)
        .where(Item.id.in_(item_scope), Item.text_sha256.is_not(None))
        .distinct()
    )


OUTLINKS, TEXT_KEY, CLASSIFIER, TEXT_BANKS = "outlinks", "text_key", "classifier", "text_banks"


@dataclass(slots=True)
class Pending:
    """The texts of a scope (how many), and those each stage has not done at its version."""

    texts: int = 0
    by_stage: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def pending_texts(connection: Connection, scope: Select[Any], versions: dict[str, str]) -> Pending:
    """The scope's texts (a query of text shas) and, for every stage (stage -> its version),
    those it has still to do, in sha order; each text's body is read once, and only when
    some stage has still to do it.

    Three plain look-ups by key (the texts, what ``text_scans`` says of them, the bodies)
    rather than one query with a done-check per stage: PostgreSQL planned that one, on tables
    not analysed yet (a new deployment's first minutes, every benchmark run), as a full scan of
    ``text_scans`` per check, 8 of them; a worker's call of 100 texts then cost 13-21 ms there
    instead of about 1, and more as the table grew."""
    shas: list[str] = sorted(set(connection.scalars(scope)))
    found = Pending(len(shas), {stage: [] for stage in versions})
    for start in range(0, len(shas), BATCH):
        part = shas[start : start + BATCH]
        done: dict[str, set[str]] = {sha: set() for sha in part}
        rows = connection.execute(
            select(TextScan.text_sha256, TextScan.stage, TextScan.version).where(
                one_of(TextScan.text_sha256, part, connection.dialect)
            )
        )
        for sha, stage, version in rows:
            if versions.get(stage) == version:
                done[sha].add(stage)
        to_do = [sha for sha in part if len(done[sha]) < len(versions)]
        if not to_do:
            continue
        bodies: dict[str, str] = {
            sha: body
            for sha, body in connection.execute(
                select(TextBody.sha256, TextBody.body).where(
                    one_of(TextBody.sha256, to_do, connection.dialect)
                )
            )
        }
        for sha in to_do:
            for stage in versions:
                if stage not in done[sha]:
                    found.by_stage[stage].append((sha, bodies[sha]))
    return found


def _mark(
    connection: Connection, shas: Sequence[str], stage: str, version: str, now: datetime
) -> None:
    if not shas:
        return
    if connection.dialect.name == "postgresql":
        # One statement over an array: an executemany is a statement per row on psycopg
        # (pipelined), parsed and planned each time, and this is the most written table of the
        # text stages (a row per text and stage). Binary (%b): no per-element escaping.
        connection.exec_driver_sql(
            "INSERT INTO text_scans (text_sha256, stage, version, done_at) "
            "SELECT sha, %s, %s, %s FROM unnest(%b::text[]) AS t(sha) "
            "ON CONFLICT (text_sha256, stage) DO UPDATE "
            "SET version = excluded.version, done_at = excluded.done_at",
            (stage, version, now, list(shas)),
        )
        return
    insert = dialect_insert(connection, TextScan)
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=[TextScan.text_sha256, TextScan.stage],
            set_={"version": insert.excluded.version, "done_at": insert.excluded.done_at},
        ),
        [{"text_sha256": sha, "stage": stage, "version": version, "done_at": now} for sha in shas],
    )


Stage = Callable[[str, int], None]
Advance = Callable[[int], None]


def _quiet_stage(_name: str, _total: int) -> None:
    pass


def _quiet_advance(_n: int) -> None:
    pass


def run_text_stages(
    engine: Database,
    matcher: Matcher,
    items: Select[Any],
    summary: TextSummary,
    *,
    model: TextModel | None = None,
    score: bool = True,
    embeddings: bool | None = None,
    on_stage: Stage = _quiet_stage,
    on_advance: Advance = _quiet_advance,
) -> None:
    """Outlinks, classifier scores and text-bank matches for the texts of ``items``."""
    version = scoring_version(model, embeddings) if score else None
    # The banks version the text banks are matched at: as for media (pipeline/scan.py's
    # match_signals), the one the matcher serves.
    versions = {
        OUTLINKS: OUTLINKS_VERSION,
        TEXT_KEY: NEAR_IDENTICAL_VERSION,
        TEXT_BANKS: str(matcher.version()),
    }
    if version is not None:
        versions[CLASSIFIER] = version
    with engine.connect() as connection:
        pending = pending_texts(connection, texts_in_scope(items), versions)
    summary.texts_in_scope = pending.texts
    if summary.texts_in_scope == 0:
        return
    extract_outlinks(engine, pending.by_stage[OUTLINKS], summary, on_stage, on_advance)
    # Before any stage opens cases: a flagged or matched text's near-identical twins join it.
    summary.cases_opened += key_texts(engine, pending.by_stage[TEXT_KEY], on_stage, on_advance)
    if version is not None:
        score_texts(
            engine,
            pending.by_stage[CLASSIFIER],
            model,
            summary,
            on_stage,
            on_advance,
            embeddings=embeddings,
        )
    match_text_banks(
        engine,
        pending.by_stage[TEXT_BANKS],
        versions[TEXT_BANKS],
        matcher,
        summary,
        on_stage,
        on_advance,
    )
    # Items whose text was matched or flagged before they arrived (pipeline/known.py).
    known = route_known_texts(engine, items, version)
    summary.cases_opened += known.opened
    summary.cases_updated += known.raised


def scoring_version(model: TextModel | None, embeddings: bool | None) -> str:
    """The version scores are stored under: ``model``'s (None: the shipped model's, read
    without loading it) with the embedding stage on or off as asked."""
    if model is None:
        return TextModel.shipped_scoring_version(embeddings)
    return model.scoring_version(embeddings)


def extract_outlinks(
    engine: Database,
    pending: Sequence[tuple[str, str]],
    summary: TextSummary,
    on_stage: Stage = _quiet_stage,
    on_advance: Advance = _quiet_advance,
) -> None:
    """Store the canonical links found in each pending text (sha, body) as ``url`` signals of
    the text."""
    on_stage("outlinks", len(pending))
    for start in range(0, len(pending), BATCH):
        chunk = pending[start : start + BATCH]
        now = utcnow()
        rows = []
        for sha, body in chunk:
            for link in outlinks.outlinks(body):
                rows.append(
                    {
                        "text_sha256": sha,
                        "signal_type": "url",
                        "value": link.canonical,
                        "meta": {
                            "original": link.original,
                            "host": link.host,
                            "host_class": link.host_class,
                        },
                        "created_at": now,
                    }
                )
        with engine.begin() as connection:
            insert_ignoring_duplicates(connection, Signal.__table__, rows)
            _mark(connection, [sha for sha, _ in chunk], OUTLINKS, OUTLINKS_VERSION, now)
        summary.outlinks_found += len(rows)
        on_advance(len(chunk))


def key_texts(
    engine: Database,
    pending: Sequence[tuple[str, str]],
    on_stage: Stage = _quiet_stage,
    on_advance: Advance = _quiet_advance,
) -> int:
    """Store each text's near-identical key (``textnorm.near_identical_key``) as its
    ``text_key`` signal, so texts that differ only by HTML entities or spacing find each other;
    a new text whose twin already has a case gets one too (``open_twin_cases``). The number of
    cases opened."""
    opened = 0
    on_stage("near-identical keys", len(pending))
    for start in range(0, len(pending), BATCH):
        chunk = pending[start : start + BATCH]
        now = utcnow()
        rows = [
            {
                "text_sha256": sha,
                "signal_type": textnorm.NEAR_IDENTICAL,
                "value": textnorm.near_identical_key(body),
                "created_at": now,
            }
            for sha, body in chunk
        ]
        with engine.begin() as connection:
            insert_ignoring_duplicates(connection, Signal.__table__, rows)
            _mark(connection, [sha for sha, _ in chunk], TEXT_KEY, NEAR_IDENTICAL_VERSION, now)
            opened += open_twin_cases(connection, [sha for sha, _ in chunk], now)
        on_advance(len(chunk))
    return opened


def score_texts(
    engine: Database,
    pending: Sequence[tuple[str, str]],
    model: TextModel | None,
    summary: TextSummary,
    on_stage: Stage = _quiet_stage,
    on_advance: Advance = _quiet_advance,
    *,
    embeddings: bool | None = None,
) -> None:
    """Score every pending text (sha, body: those the model has not scored); flagged texts
    open cases.

    ``model=None`` means the shipped model, loaded only when some text needs it; ``embeddings``
    is passed to ``TextModel.predict`` (None: the embedding stage runs if training chose it).
    """
    version = scoring_version(model, embeddings)
    on_stage("scoring", len(pending))
    if not pending:
        return
    if model is None:
        model = TextModel.load()
    for start in range(0, len(pending), BATCH):
        chunk = pending[start : start + BATCH]
        predictions = model.predict([body for _, body in chunk], embeddings=embeddings)
        now = utcnow()
        reasons: dict[str, CaseReason] = {}
        rows = []
        for (sha, _body), prediction in zip(chunk, predictions, strict=True):
            rows.append(
                {
                    "text_sha256": sha,
                    "model": version,
                    "score": prediction.score,
                    "flagged": prediction.flagged,
                    "category": prediction.category,
                    "lang": prediction.lang,
                    "explanation": prediction.explanation,
                    "created_at": now,
                }
            )
            if prediction.flagged:
                summary.texts_flagged += 1
                reasons[sha] = classifier_reason(
                    version, prediction.score, prediction.category, prediction.lang
                )
        with engine.begin() as connection:
            insert_ignoring_duplicates(connection, Score.__table__, rows)
            _mark(connection, [sha for sha, _ in chunk], CLASSIFIER, version, now)
            opened, updated = open_text_cases(connection, reasons, now)
        summary.texts_scored += len(chunk)
        summary.cases_opened += opened
        summary.cases_updated += updated
        on_advance(len(chunk))


def match_text_banks(
    engine: Database,
    pending: Sequence[tuple[str, str]],
    generation: str,
    matcher: Matcher,
    summary: TextSummary,
    on_stage: Stage = _quiet_stage,
    on_advance: Advance = _quiet_advance,
) -> None:
    """Match the pending texts (sha, body: not matched at banks version ``generation``)
    against text banks (MinHash near-duplicates); matches open cases."""
    on_stage("text banks", len(pending))
    if not pending:
        return
    if not matcher.holds(minhash.TextMinHashSignal.name):
        pending_shas = [sha for sha, _ in pending]
        with engine.begin() as connection:
            for start in range(0, len(pending_shas), BATCH):
                _mark(
                    connection,
                    pending_shas[start : start + BATCH],
                    TEXT_BANKS,
                    generation,
                    utcnow(),
                )
                on_advance(len(pending_shas[start : start + BATCH]))
        return
    for start in range(0, len(pending), BATCH):
        chunk = pending[start : start + BATCH]
        found = matcher.match_text([body for _, body in chunk])
        now = utcnow()
        reasons: dict[str, CaseReason] = {}
        new: list[dict[str, Any]] = []
        with engine.begin() as connection:
            pairs = [
                (sha, match)
                for (sha, _body), matches in zip(chunk, found, strict=True)
                for match in matches
            ]
            ids = record_matches(connection, [(m, None, sha) for sha, m in pairs], now)
            stored = [
                Found(None, sha, match, match_id, new=True)
                for (sha, match), match_id in zip(pairs, ids, strict=True)
                if match_id is not None  # else matched before
            ]
            why = screen(connection, stored, now)
            for one, reason in zip(stored, why, strict=True):
                summary.text_matches += 1
                if reason is not None:
                    continue  # kept, but neither told nor routed: vetoed, held, untrusted...
                new.append(match_found(one.match_id or 0, one.match, text_sha256=one.text_sha256))
                keep_strongest(reasons, str(one.text_sha256), text_match_reason(one.match))
            _mark(connection, [sha for sha, _ in chunk], TEXT_BANKS, generation, now)
            outbox.emit_matches(connection, new, now)  # before the case they open, per item
            opened, updated = open_text_cases(connection, reasons, now)
        summary.cases_opened += opened
        summary.cases_updated += updated
        on_advance(len(chunk))
