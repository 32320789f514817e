"""Confirm and deconfirm feedback, on SQLite and PostgreSQL: a final "not violating" on a case
opened from an exchange's entry deconfirms the entry (one row per reviewer who stands by it);
two people's deconfirmations stop the entry matching here; undoing the decision takes it back;
after the undo window the feedback leaves for the exchange, or is kept when the exchange
(redline-to-redline federation) takes none; a violating verdict confirms."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from redline.config import Settings
from redline.exchanges import EXCHANGES, run
from redline.exchanges.base import Feedback
from redline.model import BankEntry, Case, EntryFeedback, Item
from redline.model.base import utcnow
from redline.review.accounts import Reviewer, add_user
from redline.review.decisions import UNDO_WINDOW, Verdict, decide, undo
from redline.review.feedback import DECONFIRMED
from tests.pipeline.test_protect import copy, exchange_bank
from tests.pipeline.test_reupload import cases, ingest_jsonl, process
from tests.pipeline.test_text_scan import STATEMENT

PASSWORD = "correct horse battery staple"


def reviewers(engine: Engine, count: int = 2) -> list[Reviewer]:
    with engine.begin() as connection:
        return [
            add_user(connection, f"rev{n}", "reviewer", PASSWORD, "test")
            for n in range(1, count + 1)
        ]


def case_of(engine: Engine, external_id: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(
                select(Case.id)
                .join(Item, Item.id == Case.item_id)
                .where(Item.external_id == external_id)
            )
            or 0
        )


def feedback_rows(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return connection.execute(
            select(
                EntryFeedback.entry_id,
                EntryFeedback.user_id,
                EntryFeedback.kind,
                EntryFeedback.state,
            ).order_by(EntryFeedback.id)
        ).all()


def not_violating(engine: Engine, who: Reviewer, case_id: int) -> int:
    with engine.begin() as connection:
        outcome = decide(
            connection, who, case_id, Verdict("not_violating", reason="news_reporting"), utcnow()
        )
    return outcome.decision_id


@pytest.mark.parametrize("how", ["scan", "items"])
def test_two_deconfirmations_stop_a_shared_entry_and_the_feedback_is_kept(
    engine: Engine, settings: Settings, tmp_path: Path, how: str
) -> None:
    shared = exchange_bank(engine, "shared", STATEMENT, text_threshold=0.6)  # confirmed bank
    rev1, rev2, rev3 = reviewers(engine, 3)
    ingest_jsonl(engine, settings, tmp_path, "c", [{"id": "a1", "text": copy(1)}])
    process(how, engine, settings, None)
    case_id = case_of(engine, "a1")

    not_violating(engine, rev1, case_id)  # a confirmed bank: four-eyes
    assert feedback_rows(engine) == []
    decision = not_violating(engine, rev2, case_id)
    assert cases(engine)["a1"][0] == "not_violating"
    rows = feedback_rows(engine)
    assert {(r.entry_id, r.user_id, r.kind, r.state) for r in rows} == {
        (shared, rev1.id, "deconfirm", "queued"),
        (shared, rev2.id, "deconfirm", "queued"),
    }
    with engine.connect() as connection:
        enabled, reason = connection.execute(
            select(BankEntry.enabled, BankEntry.disabled_reason).where(BankEntry.id == shared)
        ).one()
    assert not enabled and reason.startswith(DECONFIRMED)

    # Undone within the window: withdrawn, and the entry matches again.
    with engine.begin() as connection:
        undo(connection, rev2, decision, utcnow())
    assert {r.state for r in feedback_rows(engine)} == {"withdrawn"}
    with engine.connect() as connection:
        assert connection.scalar(select(BankEntry.enabled).where(BankEntry.id == shared))
    not_violating(engine, rev3, case_id)  # decided again (blind review: by someone else)

    # The deconfirmed entry stops matching: the same text posted again opens nothing.
    ingest_jsonl(engine, settings, tmp_path, "mirror", [{"id": "b1", "text": copy(2)}])
    process(how, engine, settings, None)
    assert "b1" not in cases(engine)

    # Nothing leaves before the undo window is over; then federation keeps it as a record.
    assert run.send_feedback(engine, utcnow()).kept == {}
    later = utcnow() + UNDO_WINDOW + timedelta(seconds=1)
    assert run.send_feedback(engine, later).kept == {"partner": 2}
    kept = [(r.user_id, r.state) for r in feedback_rows(engine) if r.state != "withdrawn"]
    assert kept == [(rev1.id, "kept"), (rev3.id, "kept")]


class _Listening:
    """An exchange module that takes feedback, standing in for the federation's."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.got: list[Feedback] = []
        self.name = real.name
        self.description = real.description
        self.secret_settings = real.secret_settings

    def check_settings(self, settings: Any) -> Any:
        return self.real.check_settings(settings)

    def fetch(self, settings: Any, checkpoint: str | None) -> Any:
        return self.real.fetch(settings, checkpoint)

    def report_feedback(self, settings: Any, feedback: list[Feedback]) -> None:
        self.got.extend(feedback)


def test_a_violating_verdict_confirms_and_is_reported_to_an_exchange_that_listens(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = exchange_bank(engine, "shared", STATEMENT, text_threshold=0.6)
    rev1, rev2 = reviewers(engine)
    ingest_jsonl(engine, settings, tmp_path, "c", [{"id": "a1", "text": copy(1)}])
    process("items", engine, settings, None)
    case_id = case_of(engine, "a1")
    for who in (rev1, rev2):
        with engine.begin() as connection:
            decide(connection, who, case_id, Verdict("violating", "recruitment"), utcnow())
    assert {(r.entry_id, r.kind) for r in feedback_rows(engine)} == {(shared, "confirm")}
    with engine.connect() as connection:
        assert connection.scalar(select(BankEntry.enabled).where(BankEntry.id == shared))

    listening = _Listening(EXCHANGES["redline"])
    monkeypatch.setitem(EXCHANGES, "redline", listening)
    done = run.send_feedback(engine, utcnow() + UNDO_WINDOW + timedelta(seconds=1))
    assert done.sent == {"partner": 2}
    assert listening.got == [Feedback("41", "confirm"), Feedback("41", "confirm")]
    assert {r.state for r in feedback_rows(engine)} == {"sent"}


def test_one_not_violating_on_an_unconfirmed_bank_deconfirms_without_stopping(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    shared = exchange_bank(engine, "shared", STATEMENT, text_threshold=0.6, confirmed=False)
    rev1, rev2 = reviewers(engine)
    ingest_jsonl(
        engine, settings, tmp_path, "c", [{"id": f"a{n}", "text": copy(n)} for n in (1, 2)]
    )
    process("items", engine, settings, None)
    not_violating(engine, rev1, case_of(engine, "a1"))  # final at once: no confirmed bank
    with engine.connect() as connection:
        assert connection.scalar(select(BankEntry.enabled).where(BankEntry.id == shared))
    not_violating(engine, rev2, case_of(engine, "a2"))  # a second person, on another case
    with engine.connect() as connection:
        assert not connection.scalar(select(BankEntry.enabled).where(BankEntry.id == shared))
