"""What the case page shows, reviewer protection, and API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from redline.model.base import utcnow
from redline.review import Invalid, NotFound, protection, tokens
from redline.review.casefile import case_file
from tests.review_desk import Desk


def test_case_file_shows_the_item_in_context(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        found = case_file(connection, desk.users["rev1"], desk.cases["p1"], utcnow())
        other = case_file(connection, desk.users["aud1"], desk.cases["p3"], utcnow())
        with pytest.raises(NotFound):
            case_file(connection, desk.users["rev1"], 424242, utcnow())
    assert found.item.text == "Generic re-posted statement text, number one."
    assert found.item.account_name == "Account A" and found.item.source == "channel-export"
    assert found.same_account["count"] == 1  # p3, same account
    assert found.duplicates["same_text"] == 1 and found.duplicates["open_cases"] == [
        desk.cases["p2"]
    ]
    assert found.as_dict()["opened_at"].endswith("+00:00")
    assert other.item.text is not None and other.item.text.startswith("Another generic post")


def test_the_case_file_says_what_its_reader_may_do(desk: Desk) -> None:
    """The flags the case page shows come from the review rules: claim, four-eyes, undo."""
    from sqlalchemy import select

    from redline.model import AuditEvent
    from redline.review import decisions, queue
    from redline.review.casefile import view_case

    case, now = desk.cases["p1"], utcnow()
    rev1, rev2 = desk.users["rev1"], desk.users["rev2"]
    with desk.engine.begin() as connection:
        fresh = case_file(connection, rev1, case, now)
        queue.claim(connection, rev1, case, now)
        held = case_file(connection, rev2, case, now)
        lapsed = case_file(connection, rev2, case, now + queue.CLAIM_TTL)
        verdict = decisions.Verdict("violating", "support_glorification")
        outcome = decisions.decide(connection, rev1, case, verdict, now, four_eyes=True)
        first = view_case(connection, rev1, case, now, via="api")
        late = case_file(connection, rev1, case, now + decisions.UNDO_WINDOW * 2)
        second = case_file(connection, rev2, case, now)
        viewed = connection.execute(
            select(AuditEvent.actor, AuditEvent.detail).where(AuditEvent.action == "case.view")
        ).all()
    assert fresh.viewer.can_claim and fresh.viewer.can_decide and not fresh.viewer.mine
    assert held.viewer.taken and not held.viewer.can_claim and not held.viewer.can_decide
    assert not lapsed.viewer.taken and lapsed.viewer.can_claim
    assert outcome.status_after == "second_review" == first.status
    assert first.viewer.awaiting_other and first.viewer.undoable == {outcome.decision_id}
    assert not late.viewer.undoable
    assert not second.viewer.awaiting_other
    assert "viewer" not in first.as_dict()
    assert [tuple(v) for v in viewed] == [(rev1.actor, {"via": "api"})]


def test_exposure_counts_todays_reveals_against_the_break_reminder(
    desk: Desk, tmp_path: Path
) -> None:
    reviewer = desk.users["rev1"]
    now = utcnow()
    with desk.engine.begin() as connection:
        assert protection.exposure(connection, reviewer, now).today == 0
        with pytest.raises(NotFound):  # a file that is not the case's is never revealed
            protection.reveal(connection, reviewer, desk.cases["p1"], "0" * 64, now)
        seen = protection.exposure(connection, reviewer, now + timedelta(days=1))
    assert seen.today == 0 and not seen.break_due


def test_preview_is_small_grey_and_blurred(tmp_path: Path) -> None:
    import io

    import numpy as np

    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8))
    path = tmp_path / "photo.png"
    noisy.save(path)
    preview = Image.open(io.BytesIO(protection.protected_preview(path)))
    assert preview.mode == "L" and max(preview.size) <= protection.PREVIEW_SIZE
    # Blurring removes the pixel-level noise: neighbouring pixels nearly agree.
    pixels = np.asarray(preview, dtype=np.int16)
    assert np.abs(np.diff(pixels, axis=1)).mean() < 3


def test_tokens_are_scoped_hashed_and_revocable(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        secret = tokens.create_token(connection, "rev1", "sync", ["cases:read"], "user:admin1")
        found = tokens.token_user(connection, secret, now)
        listed = tokens.list_tokens(connection)
        assert secret not in str(listed)
        tokens.revoke_token(connection, listed[0]["id"], now, "user:admin1")
        assert tokens.token_user(connection, secret, now) is None
        with pytest.raises(NotFound):
            tokens.revoke_token(connection, listed[0]["id"], now, "user:admin1")
        with pytest.raises(Invalid):
            tokens.create_token(connection, "rev1", "x", ["cases:delete"], "user:admin1")
    assert found is not None and found[0].username == "rev1"
    assert found[1] == frozenset({"cases:read"})


def test_a_token_is_marked_used_at_most_once_a_minute(desk: Desk) -> None:
    # "Last used" says which tokens are idle; marking it at every request would make every
    # look-up a write. A use a minute or more after the mark moves it on.
    start = utcnow()
    with desk.engine.begin() as connection:
        secret = tokens.create_token(connection, "rev1", "sync", ["cases:read"], "user:admin1")
    assert marked(desk) is None

    def use(at: datetime) -> None:
        with desk.engine.begin() as connection:
            assert tokens.token_user(connection, secret, at) is not None

    use(start)
    assert marked(desk) == start
    for seconds in (1, 30, 59.9):
        use(start + timedelta(seconds=seconds))
        assert marked(desk) == start
    use(start + timedelta(seconds=60))
    assert marked(desk) == start + timedelta(seconds=60)
    use(start + timedelta(seconds=61))
    assert marked(desk) == start + timedelta(seconds=60)
    # An older time (another process's clock) never moves it back.
    use(start)
    assert marked(desk) == start + timedelta(seconds=60)


def marked(desk: Desk) -> datetime | None:
    with desk.engine.connect() as connection:
        (row,) = tokens.list_tokens(connection)
    return row["last_used_at"]
