"""What the case page shows, reviewer protection, and API tokens."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from redline.model.base import utcnow
from redline.review import Invalid, NotFound, protection, tokens
from redline.review.casefile import case_file
from tests.review_desk import Desk


def test_case_file_shows_the_item_in_context(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        found = case_file(connection, desk.users["rev1"], desk.cases["p1"])
        other = case_file(connection, desk.users["aud1"], desk.cases["p3"])
        with pytest.raises(NotFound):
            case_file(connection, desk.users["rev1"], 424242)
    assert found.item["text"] == "Generic re-posted statement text, number one."
    assert found.item["account_name"] == "Account A" and found.item["source"] == "channel-export"
    assert found.same_account["count"] == 1  # p3, same account
    assert found.duplicates["same_text"] == 1 and found.duplicates["open_cases"] == [
        desk.cases["p2"]
    ]
    assert found.as_dict()["opened_at"].endswith("+00:00")
    assert other.item["text"].startswith("Another generic post")


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
