"""The audit trail's hash chain: every event carries its predecessor's hash; altering, deleting or
inserting an event is found and named; concurrent writers never fork the chain; the migration
chains the events already stored; PostgreSQL refuses UPDATE and DELETE on the table."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, column, func, insert, select, table, text
from sqlalchemy.exc import DBAPIError

from redline.model import AuditEvent, utcnow
from redline.model.base import JsonDoc, UTCDateTime
from redline.store import audit, make_engine, upgrade
from redline.store.audit import GENESIS, record_event, verify
from tests.conftest import PG_SERVER, CliResult
from tests.helpers import only_on


def _record(engine: Engine, count: int, actor: str = "user:rev1") -> None:
    for number in range(count):
        with engine.begin() as connection:
            record_event(
                connection,
                actor,
                "case.view",
                "case",
                str(number),
                detail={"n": number, "note": "généric ✓", "ratio": 0.1 * number},
            )


@contextmanager
def _tampering(engine: Engine) -> Iterator[Connection]:
    """A connection that may change audit rows: on PostgreSQL, with the append-only trigger
    disabled (as the superuser the tests connect as), and enabled again afterwards."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:
            connection.execute(
                text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            )
        try:
            yield connection
        finally:
            if postgres:
                connection.execute(
                    text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
                )


def _check(engine: Engine) -> audit.ChainCheck:
    with engine.connect() as connection:
        return verify(connection)


def test_every_event_is_chained_to_the_one_before(engine: Engine) -> None:
    _record(engine, 5)
    with engine.begin() as connection:  # documents that do not round-trip naively
        record_event(
            connection,
            "cli:ops",
            "model.sample",
            detail={
                "big": 1e16,
                "huge": 1.5e300,
                "tiny": 1.5e-7,
                "zero": -0.0,
                "int": 2**70,
                "nested": {"b": [1, "two", None, True], "a": {"z": 1, "y": "ü"}},
                3: "int key",
            },
        )
    with engine.connect() as connection:
        rows = connection.execute(select(AuditEvent.__table__).order_by(AuditEvent.id)).all()
        check = verify(connection)
    assert rows[0].prev_sha256 == GENESIS
    for before, after in pairwise(rows):
        assert after.prev_sha256 == before.sha256 == audit.event_sha256(dict(before._mapping))
    assert check.broken is None and check.events == 6
    assert (check.head_id, check.head_sha256) == (rows[-1].id, rows[-1].sha256)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    documents=st.lists(
        st.dictionaries(
            st.text(max_size=8),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers()
                | st.text()
                | st.floats(allow_nan=False, allow_infinity=False),
                lambda inner: (
                    st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3)
                ),
                max_leaves=8,
            ),
            max_size=4,
        ),
        min_size=1,
        max_size=3,
    ),
    subject=st.text(max_size=20),
)
def test_any_json_document_hashes_the_same_once_stored(
    engine: Engine, documents: list[dict[str, Any]], subject: str
) -> None:
    # PostgreSQL refuses NUL in text and JSONB, as it did before the chain.
    documents = [d for d in documents if "\\u0000" not in json.dumps(d)]
    subject = subject.replace("\x00", "")
    with engine.begin() as connection:
        for document in documents:
            record_event(
                connection, "t", "check", "thing", subject, before=document, detail=document
            )
    check = _check(engine)
    assert check.broken is None, check.broken


def test_concurrent_writers_never_chain_off_the_same_event(pg_engine: Engine) -> None:
    with pg_engine.begin() as connection:  # start from an empty trail
        connection.execute(text("TRUNCATE audit_events, audit_chain"))
    writers, each = 8, 25
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(number: int) -> None:
        try:
            barrier.wait()
            for step in range(each):
                # Each writer has its own connection (the pool hands out one per thread).
                with pg_engine.begin() as connection:
                    record_event(connection, f"writer:{number}", "check", "step", str(step))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    check = _check(pg_engine)
    assert check.broken is None, check.broken
    assert check.events == writers * each
    with pg_engine.connect() as connection:
        links = connection.execute(select(AuditEvent.prev_sha256)).scalars().all()
    assert len(set(links)) == len(links)  # no two events follow the same one


@only_on("sqlite")  # PostgreSQL has its own test above
def test_concurrent_writers_on_sqlite_too(engine: Engine) -> None:

    def write(number: int) -> None:
        for step in range(15):
            with engine.begin() as connection:
                record_event(connection, f"writer:{number}", "check", "step", str(step))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = _check(engine)
    assert check.broken is None and check.events == 60


@only_on("postgresql")  # the trigger is PostgreSQL's
def test_postgresql_refuses_to_update_or_delete_events(engine: Engine) -> None:
    _record(engine, 2)
    for statement in (
        "UPDATE audit_events SET actor = 'someone else' WHERE id = 1",
        "DELETE FROM audit_events WHERE id = 2",
        "DELETE FROM audit_events WHERE id = -5",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert _check(engine).broken is None


def test_an_altered_event_is_named(engine: Engine) -> None:
    _record(engine, 5)
    with _tampering(engine) as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'user:rev2' WHERE id = 3"))
    check = _check(engine)
    assert check.broken is not None and check.broken.event_id == 3
    assert "altered" in check.broken.reason and check.events == 2


def test_an_altered_event_with_its_hash_recomputed_is_named(engine: Engine) -> None:
    _record(engine, 5)
    with engine.connect() as connection:
        row = dict(
            connection.execute(select(AuditEvent.__table__).where(AuditEvent.id == 3))
            .one()
            ._mapping
        )
    row["actor"] = "user:rev2"
    with _tampering(engine) as connection:
        connection.execute(
            text("UPDATE audit_events SET actor = :actor, sha256 = :sha WHERE id = 3"),
            {"actor": "user:rev2", "sha": audit.event_sha256(row)},
        )
    check = _check(engine)
    assert check.broken is not None and check.broken.event_id == 3
    assert "rewritten" in check.broken.reason


@pytest.mark.parametrize(
    ("deleted", "named", "why"),
    [
        (3, 4, "were deleted"),
        (1, 2, "events before it were deleted"),
        (5, 5, "the newest events were deleted"),
    ],
)
def test_a_deleted_event_is_named(engine: Engine, deleted: int, named: int, why: str) -> None:
    _record(engine, 5)
    with _tampering(engine) as connection:
        connection.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": deleted})
    check = _check(engine)
    assert check.broken is not None and check.broken.event_id == named, check.broken
    assert why in check.broken.reason


def _forge(connection: Connection, event_id: int, prev_sha256: str) -> None:
    forged = {
        "id": event_id,
        "at": utcnow(),
        "actor": "user:rev2",
        "action": "case.decide",
        "subject_type": "case",
        "subject_id": "1",
        "before": None,
        "after": None,
        "detail": None,
        "prev_sha256": prev_sha256,
    }
    connection.execute(
        AuditEvent.__table__.insert(), {**forged, "sha256": audit.event_sha256(forged)}
    )


def test_a_forged_event_is_named(engine: Engine) -> None:
    _record(engine, 3)
    with engine.connect() as connection:
        head = connection.scalar(select(AuditEvent.sha256).where(AuditEvent.id == 3))
    with engine.begin() as connection:  # INSERT is allowed: redline appends; verify catches it
        _forge(connection, 4, head)  # well chained, but behind redline's back
    check = _check(engine)
    assert check.broken is not None and check.broken.event_id == 4
    assert "added outside" in check.broken.reason
    _record(engine, 1)  # redline's next event chains from its head (3), so 4 sits in the middle
    check = _check(engine)
    assert check.broken is not None and check.broken.event_id == 4
    assert "inserted" in check.broken.reason


def test_a_forged_event_with_a_made_up_link_is_named(engine: Engine) -> None:
    _record(engine, 3)
    with engine.begin() as connection:
        _forge(connection, 4, "ab" * 32)
    _record(engine, 2)
    check = _check(engine)
    assert check.broken is not None and check.broken.event_id == 4, check.broken


def test_the_cli_names_the_break_and_exits_1(engine: Engine, cli: Callable[..., CliResult]) -> None:
    _record(engine, 4)
    intact = cli("audit", "verify", "--json")
    assert intact.code == 0, intact.err
    report = json.loads(intact.out)
    assert report["intact"] is True and report["events"] == 4 and report["head"]["id"] == 4
    head = f"{report['head']['id']}:{report['head']['sha256']}"
    assert cli("audit", "verify", "--head", head).code == 0
    with _tampering(engine) as connection:
        connection.execute(text("UPDATE audit_events SET subject_id = '99' WHERE id = 2"))
    broken = cli("audit", "verify")
    assert broken.code == 1 and "event 2" in broken.err and "altered" in broken.err
    as_json = json.loads(cli("audit", "verify", "--json").out)
    assert as_json["intact"] is False and as_json["broken"]["event_id"] == 2


def test_a_rewritten_trail_no_longer_has_an_earlier_copys_head(
    engine: Engine, cli: Callable[..., CliResult]
) -> None:
    _record(engine, 3)
    with engine.connect() as connection:
        old_head = connection.scalar(select(AuditEvent.sha256).where(AuditEvent.id == 3))
    # Everything rewritten consistently from event 2 on, head row included: only a copy shows it.
    with _tampering(engine) as connection:
        rows = [
            dict(r._mapping)
            for r in connection.execute(select(AuditEvent.__table__).order_by(AuditEvent.id))
        ]
        rows[1]["actor"] = "user:rev2"
        for before, row in pairwise(rows):
            row["prev_sha256"] = before["sha256"]
            row["sha256"] = audit.event_sha256(row)
            connection.execute(
                text(
                    "UPDATE audit_events SET actor = :actor, prev_sha256 = :prev, "
                    "sha256 = :sha WHERE id = :id"
                ),
                {
                    "actor": row["actor"],
                    "prev": row["prev_sha256"],
                    "sha": row["sha256"],
                    "id": row["id"],
                },
            )
        connection.execute(
            text("UPDATE audit_chain SET sha256 = :sha"), {"sha": rows[-1]["sha256"]}
        )
    assert cli("audit", "verify").code == 0
    compared = cli("audit", "verify", "--head", f"3:{old_head}")
    assert compared.code == 1 and "rewritten since that copy" in compared.err


@pytest.fixture
def old_databases(tmp_path: Any) -> Iterator[list[str]]:
    """An empty SQLite file and an empty PostgreSQL database, for migrating from 0006."""
    name = f"redline_mig_{uuid.uuid4().hex[:10]}"
    urls = [f"sqlite:///{tmp_path / 'old.db'}"]
    try:
        with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        urls.append(f"{base}/{name}")
    except psycopg.OperationalError:
        pass
    yield urls
    if len(urls) > 1:
        with psycopg.connect(PG_SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_migration_chains_the_events_already_stored(old_databases: list[str]) -> None:
    for url in old_databases:
        engine = make_engine(url)
        try:
            upgrade(engine, "0006")
            legacy = table(
                "audit_events",
                column("id"),
                column("at", UTCDateTime()),
                column("actor"),
                column("action"),
                column("subject_type"),
                column("subject_id"),
                column("detail", JsonDoc),
            )
            with engine.begin() as connection:  # ids with gaps, as PostgreSQL's sequence leaves
                connection.execute(
                    insert(legacy),
                    [
                        {
                            "id": ident,
                            "at": utcnow(),
                            "actor": "cli:ops",
                            "action": "scan",
                            "subject_type": "source",
                            "subject_id": "a",
                            "detail": {"items": ident, "ratio": 0.5, "big": 1e16},
                        }
                        for ident in (1, 2, 5, 6)
                    ],
                )
            upgrade(engine)
            check = _check(engine)
            assert check.broken is None and check.events == 4 and check.head_id == 6, (url, check)
            _record(engine, 1)
            assert _check(engine).broken is None
            with engine.connect() as connection:
                assert connection.scalar(select(func.max(AuditEvent.id))) == 7
                sha_2 = connection.scalar(select(AuditEvent.sha256).where(AuditEvent.id == 2))
            with engine.begin() as connection:  # a forged event in a gap of the old ids
                _forge(connection, 3, sha_2)
            check = _check(engine)
            assert check.broken is not None and check.broken.event_id == 3, (url, check)
            assert "inserted" in check.broken.reason
            if engine.dialect.name == "postgresql":
                with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                    connection.execute(text("DELETE FROM audit_events WHERE id = 3"))
        finally:
            engine.dispose()
