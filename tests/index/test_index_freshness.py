"""Each process's bank indexes: one banks version at a time, reloaded after a change with a
random delay (so N processes spread their reloads), the old indexes answering meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from redline import banks
from redline.config import Settings
from redline.index.store import Freshness, IndexStore
from redline.model.base import utcnow
from redline.pipeline.match import Matcher
from redline.signals.pdq import PdqSignal
from redline.store import counters
from tests.helpers import only_on

H1 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
H2 = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
BOUND = 60.0  # seconds a poll waits for what must happen well before (never a speed claim)


def bank_with(engine: Engine, *hashes: str) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "b", actor="t", now=utcnow())
    for value in hashes:
        add(engine, value)


def add(engine: Engine, value: str) -> int:
    with engine.begin() as connection:
        return banks.add_entry(connection, "b", {"pdq": value}, actor="t", now=utcnow()).id


def banks_version(engine: Engine) -> int:
    with engine.connect() as connection:
        return counters.current(connection, counters.BANKS)


def matched(matcher: Matcher, value: str) -> list[int]:
    (hits,) = matcher.match(PdqSignal, [PdqSignal.query(value)])
    return sorted(m.entry_id for m in hits)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after {BOUND}s"
        time.sleep(0.02)


def test_a_process_serves_a_new_bank_entry_within_the_check_interval_and_jitter(
    engine: Engine, settings: Settings
) -> None:
    bank_with(engine, H1)
    store = IndexStore(engine, settings.data_dir, Freshness(check_every=0.1, jitter=0.3))
    matcher = Matcher(engine, store)
    assert matched(matcher, H2) == []
    before = store.serving()
    assert before.banks_version == before.database_version == banks_version(engine)
    new = add(engine, H2)
    wait_for(lambda: matched(matcher, H2) == [new], "matching the new entry")
    after = store.serving()
    assert after.banks_version == after.database_version == banks_version(engine)
    assert after.banks_version > before.banks_version
    assert after.reloads == 1 and after.behind_seconds == 0 and not after.stale


def test_processes_told_of_the_same_change_reload_at_different_times(
    engine: Engine, settings: Settings
) -> None:
    bank_with(engine, H1)
    holders = [
        IndexStore(engine, settings.data_dir, Freshness(check_every=0, jitter=0.5))
        for _ in range(5)
    ]
    for holder in holders:
        assert len(holder.get("pdq")) == 1
    add(engine, H2)
    pending = [holder.serving() for holder in holders]
    assert all(p.banks_version < p.database_version for p in pending)
    delays = [p.reload_in for p in pending]
    assert all(d is not None and 0 <= d <= 0.5 for d in delays)
    assert len(set(delays)) > 1  # each process drew its own delay

    def all_reloaded() -> bool:
        return all(len(holder.get("pdq")) == 2 for holder in holders)

    wait_for(all_reloaded, "reloaded everywhere")
    loaded_at = [holder.serving().loaded_at for holder in holders]
    assert len(set(loaded_at)) > 1


def test_checking_often_does_not_bring_a_pending_reload_forward(
    engine: Engine, settings: Settings
) -> None:
    # A process that reads the counter at every look-up keeps the one delay it drew: keeping
    # the earliest of many draws would have it reload almost at once, with every other process.
    bank_with(engine, H1)
    now = [1000.0]
    store = IndexStore(
        engine, settings.data_dir, Freshness(check_every=0, jitter=600), clock=lambda: now[0]
    )
    assert len(store.get("pdq")) == 1
    add(engine, H2)
    first = store.serving().reload_in
    assert first is not None and 0 <= first <= 600
    for _ in range(200):
        now[0] += first / 400  # never reaching the delay drawn
        assert len(store.get("pdq")) == 1  # still the old index: the delay has not passed
    due = 1000.0 + first
    assert store.serving().reload_in == max(0.0, due - now[0])
    # A second change while one is pending keeps the same turn; the reload loads both.
    add(engine, H1.replace("f8", "07", 1))
    assert store.serving().reload_in == max(0.0, due - now[0])
    now[0] = due
    assert len(store.get("pdq")) == 3
    assert store.serving().reload_in is None


@only_on("postgresql")  # holds a reload midway with a PostgreSQL table lock
def test_look_ups_during_a_reload_answer_from_the_old_index(
    engine: Engine, settings: Settings
) -> None:
    bank_with(engine, H1)
    store = IndexStore(engine, settings.data_dir, Freshness(check_every=0, jitter=0))
    assert len(store.get("pdq")) == 1
    add(engine, H2)
    # Another session locks the bank signals: the reload reads the counter, then waits for them.
    locker = engine.connect()
    transaction = locker.begin()
    locker.execute(text("LOCK TABLE bank_signals IN ACCESS EXCLUSIVE MODE"))
    reloaded: list[int] = []
    reloading = threading.Thread(target=lambda: reloaded.append(len(store.get("pdq"))))
    reloading.start()
    try:
        wait_for(store._reloading.locked, "reloading")
        # Meanwhile look-ups answer at once, from the old index.
        answered: list[int] = []
        look_up = threading.Thread(target=lambda: answered.append(len(store.get("pdq"))))
        look_up.start()
        look_up.join(BOUND)
        assert answered == [1]
        assert store.serving().banks_version < store.serving().database_version
    finally:
        transaction.rollback()
        locker.close()
    reloading.join(BOUND)
    assert reloaded == [2]
    assert len(store.get("pdq")) == 2


def test_stale_once_behind_for_longer_than_the_limit(engine: Engine, settings: Settings) -> None:
    bank_with(engine, H1)
    now = [1000.0]
    store = IndexStore(
        engine,
        settings.data_dir,
        Freshness(check_every=5, jitter=600, max_stale=30),
        clock=lambda: now[0],
    )
    assert len(store.get("pdq")) == 1
    add(engine, H2)
    assert store.serving().database_version > store.serving().banks_version
    assert not store.too_stale()
    now[0] += 31
    assert store.too_stale()
    now[0] += 600  # past any jitter: the next look-up reloads
    assert len(store.get("pdq")) == 2
    assert not store.too_stale() and store.serving().behind_seconds == 0


def test_a_failed_reload_keeps_the_old_index_and_is_tried_again(
    engine: Engine, settings: Settings
) -> None:
    bank_with(engine, H1)
    store = IndexStore(engine, settings.data_dir, Freshness(check_every=0, jitter=0))
    assert len(store.get("pdq")) == 1
    add(engine, H2)
    # The bank signals cannot be read for a while (a table renamed away): the reload fails.
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE bank_signals RENAME TO bank_signals_gone"))
    try:
        assert len(store.get("pdq")) == 1  # served from the old index, no error
        assert store.serving().banks_version < store.serving().database_version
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE bank_signals_gone RENAME TO bank_signals"))
    wait_for(lambda: len(store.get("pdq")) == 2, "reloaded after the failure")


def test_missing_files_are_rebuilt_from_the_database(engine: Engine, settings: Settings) -> None:
    bank_with(engine, H1, H2)
    first = IndexStore(engine, settings.data_dir)
    assert len(first.get("pdq")) == 2
    # Another machine: no files at all.
    elsewhere = IndexStore(engine, settings.data_dir.parent / "other-machine")
    assert len(elsewhere.get("pdq")) == 2
    assert elsewhere.serving().banks_version == banks_version(engine)
