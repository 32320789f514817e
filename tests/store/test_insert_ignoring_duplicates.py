"""``insert_ignoring_duplicates``: the stages' and the ingest's INSERT ... ON CONFLICT DO NOTHING.
On PostgreSQL it is one statement over arrays instead of SQLAlchemy's executemany: it must store
exactly what the executemany stores, and skip the same duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, func, select, text

from redline.model import Score, Signal, TextBody
from redline.store.content import insert_ignoring_duplicates
from redline.store.engine import dialect_insert

WHEN = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
TEXTS = {name: name * 64 for name in "abc"}


def scores(sha: str) -> list[dict[str, Any]]:
    return [
        {
            "text_sha256": sha,
            "model": "model-1",
            "score": 0.875,
            "flagged": True,
            "category": "spam",
            "lang": "en",
            "explanation": None,
            "created_at": WHEN,
        },
        {
            "text_sha256": sha,
            "model": "model-2",
            "score": 0.25,
            "flagged": False,
            "category": "none",
            "lang": "fr",
            "explanation": [{"feature": "prix réduit", "weight": -1.5}],
            "created_at": WHEN,
        },
    ]


def signals(sha: str) -> list[dict[str, Any]]:
    return [
        {
            "text_sha256": sha,
            "signal_type": "url",
            "value": "https://example.org/a",
            "meta": {"host": "example.org", "original": "example.org/a"},
            "created_at": WHEN,
        },
        {
            "text_sha256": sha,
            "signal_type": "text_key",
            "value": "key with 'quotes', commas and {braces}",
            "meta": None,
            "created_at": WHEN,
        },
    ]


def stored(engine: Engine, sha: str) -> list[tuple[Any, ...]]:
    """The rows of one text as the database holds them (JSON as text: null apart from NULL)."""
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT model, score, flagged, category, lang, explanation IS NULL,"
                " CAST(explanation AS TEXT), created_at FROM scores WHERE text_sha256 = :sha"
                " ORDER BY model"
            ),
            {"sha": sha},
        ).all()
        found += connection.execute(
            text(
                "SELECT signal_type, value, meta IS NULL, CAST(meta AS TEXT), created_at"
                " FROM signals WHERE text_sha256 = :sha ORDER BY signal_type"
            ),
            {"sha": sha},
        ).all()
    return [tuple(row) for row in found]


def test_stores_what_an_executemany_stores_once_on_both_databases(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            dialect_insert(connection, TextBody),
            [{"sha256": sha, "body": f"text {name}"} for name, sha in TEXTS.items()],
        )
        # The reference: SQLAlchemy's own executemany of the same INSERT.
        for table, rows in ((Score.__table__, scores), (Signal.__table__, signals)):
            statement = dialect_insert(connection, table).on_conflict_do_nothing()
            connection.execute(statement, rows(TEXTS["a"]))
        # A duplicate inside the batch, and the whole batch again: skipped, not an error.
        for _ in range(2):
            insert_ignoring_duplicates(
                connection, Score.__table__, scores(TEXTS["b"]) + scores(TEXTS["b"])[:1]
            )
            insert_ignoring_duplicates(connection, Signal.__table__, signals(TEXTS["b"]))
    assert stored(engine, TEXTS["b"]) == stored(engine, TEXTS["a"])
    with engine.connect() as connection:
        created = connection.scalars(
            select(Score.created_at).where(Score.text_sha256 == TEXTS["b"])
        ).all()
        counted = connection.scalar(
            select(func.count()).select_from(Signal).where(Signal.text_sha256 == TEXTS["b"])
        )
    assert created == [WHEN.astimezone(UTC)] * 2
    assert counted == 2


def test_a_row_without_a_defaulted_column_gets_its_default(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            dialect_insert(connection, TextBody), [{"sha256": TEXTS["c"], "body": "c"}]
        )
        rows = [{k: v for k, v in row.items() if k != "created_at"} for row in signals(TEXTS["c"])]
        insert_ignoring_duplicates(connection, Signal.__table__, rows)
    with engine.connect() as connection:
        created = connection.scalars(
            select(Signal.created_at).where(Signal.text_sha256 == TEXTS["c"])
        ).all()
    assert len(created) == 2 and all(
        abs(datetime.now(UTC) - when) < timedelta(hours=1) for when in created
    )
