"""A bank's feed and applying it to a subscribing bank (on SQLite and PostgreSQL): entries
added, relabelled and removed arrive as such, a batch applied twice changes nothing, a fetch
interrupted before its commit is repeated whole, entries that cannot be banked are quarantined,
and only hashes and labels leave the publisher."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from redline.banks import manage as banks
from redline.errors import Conflict
from redline.exchanges import federation, run, signing
from redline.exchanges.base import Batch, SharedEntry
from redline.model import BankEntry, ExchangeEntry, Quarantine
from redline.store import make_engine
from redline.store.migrate import upgrade
from tests.helpers import only_on

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_B = "62c9789627838f69f23cf98c29e37836d61c87c31c59587c4b49a783f496725c"
MD5_A, MD5_B, MD5_C, MD5_D = ("a" * 32, "b" * 32, "c" * 32, "d" * 32)
KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def two_banks(engine: Engine) -> Engine:
    """The publisher's bank ``published`` and the subscriber's ``subscribed`` with its exchange
    (one database stands for both: only the feed's bytes pass between them)."""
    with engine.begin() as connection:
        banks.create_bank(connection, "published", actor="lead", now=NOW)
        banks.create_bank(connection, "subscribed", actor="lead", now=NOW)
        run.add_exchange(
            connection,
            "partner",
            "subscribed",
            "redline",
            {
                "url": "https://redline.partner.example/api/v1/feeds/published",
                "token": "rl_partner_token",
                "public_key": signing.public_text(KEY),
            },
            actor="lead",
            now=NOW,
        )
    return engine


def sync(engine: Engine, limit: int = federation.PAGE, now: datetime = NOW) -> run.FetchOutcome:
    """What a fetch does, the network left out: the publisher's pages after the subscriber's
    checkpoint, signed, read and checked as the subscriber reads them, then applied."""
    with engine.begin() as connection:
        checkpoint = run.get_exchange(connection, "partner").checkpoint
        after, pages = int(checkpoint or 0), []
        while True:
            body = federation.publish(
                connection, "published", after, organisation="Partner Org", limit=limit
            )
            pages.append(
                federation.read_page(
                    body, signing.sign(KEY, body), KEY.public_key(), bank="published", after=after
                )
            )
            after = pages[-1]["checkpoint"]
            if not pages[-1]["more"]:
                break
        return run.apply_batch(
            connection, "partner", federation.batch_of(pages), now, expected=checkpoint
        )


def subscribed(engine: Engine) -> dict[str, dict[str, Any]]:
    """The subscriber's entries by the publisher's id: enabled, reason, labels and hashes."""
    found = {}
    with engine.connect() as connection:
        rows = connection.execute(
            select(ExchangeEntry.remote_id, ExchangeEntry.entry_id).order_by(ExchangeEntry.id)
        ).all()
        for remote_id, entry_id in rows:
            entry = banks.get_entry(connection, entry_id)
            reason = connection.scalar(
                select(BankEntry.disabled_reason).where(BankEntry.id == entry_id)
            )
            found[remote_id] = {
                "enabled": entry.enabled,
                "reason": reason,
                "category": entry.category,
                "tags": entry.tags,
                "source_org": entry.source_org,
                "signals": entry.signals,
                "bank": entry.bank,
            }
    return found


def publish_three(engine: Engine) -> list[int]:
    with engine.begin() as connection:
        a = banks.add_entry(
            connection,
            "published",
            {"pdq": PDQ_A, "md5": MD5_A},
            actor="alice",
            now=NOW,
            category="propaganda_video",
            tags="ideology:x",
            note="internal: seen on channel 12, reported by Alice",
            provenance={"file": "secret-case-folder/clip.mp4"},
        )
        b = banks.add_entry(
            connection, "published", {"md5": MD5_B}, actor="bob", now=NOW, source_org="GIFCT"
        )
        c = banks.add_entry(connection, "published", {"pdq": PDQ_B}, actor="bob", now=NOW)
    return [a.id, b.id, c.id]


def test_added_relabelled_and_removed_entries_reach_the_subscriber(two_banks: Engine) -> None:
    a, b, c = publish_three(two_banks)
    first = sync(two_banks)
    assert (first.added, first.relabelled, first.removed, first.error) == (3, 0, 0, None)
    got = subscribed(two_banks)
    assert set(got) == {str(a), str(b), str(c)}
    assert got[str(a)] == {
        "enabled": True,
        "reason": None,
        "category": "propaganda_video",
        "tags": "ideology:x",
        "source_org": "Partner Org",  # the entry names none: the publisher's organisation
        "signals": {"pdq": [PDQ_A], "md5": [MD5_A]},
        "bank": "subscribed",
    }
    assert got[str(b)]["source_org"] == "GIFCT"

    with two_banks.begin() as connection:
        banks.update_entry(connection, a, {"category": "manifesto"}, actor="alice", now=NOW)
        banks.disable_entry(connection, b, "benign logo", actor="alice", now=NOW)
        banks.delete_entry(connection, c, actor="alice", now=NOW)
        d = banks.add_entry(connection, "published", {"md5": MD5_D}, actor="bob", now=NOW).id
    second = sync(two_banks)
    assert (second.added, second.relabelled, second.removed) == (1, 1, 2)
    got = subscribed(two_banks)
    assert got[str(a)]["category"] == "manifesto" and got[str(a)]["enabled"]
    for gone in (b, c):
        assert not got[str(gone)]["enabled"]
        assert got[str(gone)]["reason"] == "removed from exchange partner (Partner Org)"
    assert got[str(d)]["signals"] == {"md5": [MD5_D]}

    # The publisher enables b again: the subscriber's copy comes back. A lead of the
    # subscriber's disabled a for their own reason: a relabelling leaves it disabled.
    with two_banks.begin() as connection:
        banks.set_entry_enabled(connection, b, True, actor="alice", now=NOW)
        local_a = connection.scalar(
            select(ExchangeEntry.entry_id).where(ExchangeEntry.remote_id == str(a))
        )
        banks.disable_entry(connection, local_a, "misfires here", actor="lead", now=NOW)
        banks.update_entry(connection, a, {"tags": "ideology:y"}, actor="alice", now=NOW)
    third = sync(two_banks)
    assert (third.added, third.relabelled, third.removed) == (0, 2, 0)
    got = subscribed(two_banks)
    assert got[str(b)]["enabled"] and got[str(b)]["reason"] is None
    assert got[str(a)]["tags"] == "ideology:y"
    assert (got[str(a)]["enabled"], got[str(a)]["reason"]) == (False, "misfires here")

    with two_banks.connect() as connection:
        status = run.get_exchange(connection, "partner")
    assert (status.added, status.relabelled, status.removed) == (4, 3, 2)
    assert status.fetched_at == NOW and status.last_error is None
    assert status.settings["token"] == run.HIDDEN


def test_only_hashes_and_labels_leave_the_publisher(two_banks: Engine) -> None:
    publish_three(two_banks)
    with two_banks.connect() as connection:
        body = federation.publish(connection, "published", 0, organisation="Partner Org")
    text = body.decode()
    for private in ("internal", "Alice", "alice", "bob", "secret-case-folder", "clip.mp4"):
        assert private not in text
    entry = json.loads(body)["added"][0]
    assert set(entry) == {"id", "signals", "category", "tags", "source_org"}


def test_a_batch_applied_twice_changes_nothing_the_second_time(two_banks: Engine) -> None:
    publish_three(two_banks)
    with two_banks.begin() as connection:
        body = federation.publish(connection, "published", 0, organisation="Partner Org")
        batch = federation.batch_of([json.loads(body)])
        run.apply_batch(connection, "partner", batch, NOW, expected=None)
    before = subscribed(two_banks)
    # The same batch again from the same checkpoint: another fetch got there first.
    with pytest.raises(Conflict, match="fetched by another process"), two_banks.begin() as c:
        run.apply_batch(c, "partner", batch, NOW, expected=None)
    # And applied on top of itself (a publisher that repeats pages): nothing new.
    with two_banks.begin() as connection:
        again = run.apply_batch(connection, "partner", batch, NOW, expected=batch.checkpoint)
    assert (again.added, again.relabelled, again.removed) == (0, 0, 0)
    assert subscribed(two_banks) == before
    assert sync(two_banks).added == 0


def test_a_fetch_interrupted_before_its_commit_is_repeated_whole(two_banks: Engine) -> None:
    publish_three(two_banks)

    class Crash(Exception):
        pass

    with pytest.raises(Crash), two_banks.begin() as connection:
        body = federation.publish(connection, "published", 0, organisation="Partner Org")
        run.apply_batch(
            connection, "partner", federation.batch_of([json.loads(body)]), NOW, expected=None
        )
        raise Crash  # the process dies before the commit
    assert subscribed(two_banks) == {}
    with two_banks.connect() as connection:
        assert run.get_exchange(connection, "partner").checkpoint is None
    done = sync(two_banks)
    assert done.added == 3 and len(subscribed(two_banks)) == 3


def test_pages_of_a_few_changes_make_the_same_batch(two_banks: Engine) -> None:
    a, b, c = publish_three(two_banks)
    with two_banks.begin() as connection:
        banks.update_entry(connection, a, {"category": "manifesto"}, actor="alice", now=NOW)
        banks.delete_entry(connection, b, actor="alice", now=NOW)
    done = sync(two_banks, limit=2)  # five changes: three pages
    assert (done.added, done.relabelled, done.removed) == (2, 0, 0)
    got = subscribed(two_banks)
    assert set(got) == {str(a), str(c)} and got[str(a)]["category"] == "manifesto"
    with two_banks.connect() as connection:
        body = federation.publish(
            connection, "published", int(done.checkpoint or 0), organisation="Partner Org"
        )
    assert json.loads(body)["added"] == [] and json.loads(body)["more"] is False


def test_entries_that_cannot_be_banked_are_quarantined_and_the_rest_stored(
    two_banks: Engine,
) -> None:
    batch = Batch(
        checkpoint="7",
        added=[
            SharedEntry("1", {"md5": [MD5_C]}, category="ok"),
            SharedEntry("2", {"telepathy": ["1234"]}),
            SharedEntry("3", {"pdq": ["not a hash"]}),
            SharedEntry("4", {"md5": [MD5_D]}, category="x" * 101),
        ],
    )
    with two_banks.begin() as connection:
        done = run.apply_batch(connection, "partner", batch, NOW + timedelta(1), expected=None)
    assert (done.added, done.quarantined) == (1, 3)
    with two_banks.connect() as connection:
        held = connection.execute(
            select(Quarantine.format, Quarantine.file, Quarantine.location, Quarantine.reason)
        ).all()
    assert sorted((r.location, r.file, r.format) for r in held) == [
        ("entry 2", "partner", "exchange-redline"),
        ("entry 3", "partner", "exchange-redline"),
        ("entry 4", "partner", "exchange-redline"),
    ]
    assert any("unknown signal type 'telepathy'" in r.reason for r in held)
    assert any("over the limit of 100" in r.reason for r in held)
    assert list(subscribed(two_banks)) == ["1"]


@only_on("postgresql")
def test_two_fetches_at_once_store_the_batch_once(two_banks: Engine) -> None:
    """The second of two fetches of the same changes waits for the first to commit, then finds
    the checkpoint moved and stores nothing (SQLite has one writer at a time anyway)."""
    publish_three(two_banks)
    with two_banks.connect() as connection:
        body = federation.publish(connection, "published", 0, organisation="Partner Org")
    batch = federation.batch_of([json.loads(body)])
    outcome: list[BaseException | run.FetchOutcome] = []

    def second() -> None:
        try:
            with two_banks.begin() as connection:
                outcome.append(run.apply_batch(connection, "partner", batch, NOW, expected=None))
        except Conflict as error:
            outcome.append(error)

    with two_banks.begin() as connection:
        run.apply_batch(connection, "partner", batch, NOW, expected=None)
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(timeout=0.5)  # it is waiting for this transaction's row
    racer.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    assert len(subscribed(two_banks)) == 3


def test_the_migration_logs_every_entry_already_banked(tmp_path: Path) -> None:
    """A bank filled before exchanges existed: its first feed page has every entry, enabled
    ones as added and disabled ones as removed, and later changes come after them."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0015")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO banks (id, name, enabled, enabled_ratio, pdq_threshold,"
                " text_threshold, dihedral, confirmed, version, created_at, updated_at)"
                " VALUES (1, 'old', 1, 1.0, 31, 0.8, 0, 1, 2, '2026-01-01', '2026-01-01')"
            )
            for ident, enabled in ((1, 1), (2, 0)):
                connection.exec_driver_sql(
                    "INSERT INTO bank_entries (id, bank_id, enabled, added_at, added_by)"
                    f" VALUES ({ident}, 1, {enabled}, '2026-01-01', 'cli:ops')"
                )
                connection.exec_driver_sql(
                    "INSERT INTO bank_signals (entry_id, signal_type, value)"
                    f" VALUES ({ident}, 'md5', '{str(ident) * 32}')"
                )
        upgrade(engine)
        with engine.begin() as connection:
            first = json.loads(federation.publish(connection, "old", 0, organisation=""))
            banks.update_entry(connection, 1, {"category": "x"}, actor="lead", now=NOW)
            later = json.loads(
                federation.publish(connection, "old", first["checkpoint"], organisation="")
            )
    finally:
        engine.dispose()
    assert [e["signals"] for e in first["added"]] == [{"md5": ["1" * 32]}]
    assert first["removed"] == [2] and first["checkpoint"] == 2
    assert [e["category"] for e in later["relabelled"]] == ["x"] and later["checkpoint"] == 3
