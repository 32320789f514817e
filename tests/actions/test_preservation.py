"""Preservation: six months from removal, holds, purge with proof, reinstatement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from redline.actions import preservation
from redline.model import AuditEvent, Item, Media, Preservation, TextBody
from redline.review import Conflict, Invalid
from redline.store.media import FolderStore
from tests.review_desk import Desk
from tests.web.test_console_protection import case_with_image

REMOVED = datetime(2026, 8, 31, 22, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (datetime(2026, 8, 31, tzinfo=UTC), 6, datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2027, 8, 31, tzinfo=UTC), 6, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 11, 23, 23, 59, tzinfo=UTC), 6, datetime(2027, 5, 23, 23, 59, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 12, datetime(2027, 1, 15, tzinfo=UTC)),
    ],
)
def test_six_months_are_calendar_months(start: datetime, months: int, end: datetime) -> None:
    assert preservation.add_months(start, months) == end


def item_of(desk: Desk, external_id: str) -> int:
    with desk.engine.connect() as connection:
        found = connection.scalar(select(Item.id).where(Item.external_id == external_id))
    assert found is not None
    return int(found)


def test_removed_content_is_kept_then_purged_with_its_hashes_kept(
    desk: Desk, tmp_path: Path
) -> None:
    _case, sha, _data = case_with_image(desk, tmp_path)
    item = item_of(desk, "m1")
    with desk.engine.begin() as connection:
        preservation.take_down(connection, "user:lead1", item, "removed", REMOVED)
        kept = connection.execute(select(Preservation).where(Preservation.item_id == item)).one()
        path = connection.scalar(select(Media.path).where(Media.sha256 == sha))
    assert kept.keep_until == datetime(2027, 2, 28, 22, 15, tzinfo=UTC)
    assert kept.manifest["media"][0]["sha256"] == sha
    file = desk.settings.data_dir / str(path)
    assert file.is_file()
    with desk.engine.begin() as connection:
        assert preservation.due_purges(connection, kept.keep_until - timedelta(seconds=1)) == []
        with pytest.raises(Conflict, match="still within"):
            preservation.purge(
                connection, "worker", item, FolderStore(desk.settings.data_dir), REMOVED
            )
        preservation.hold(
            connection, "user:lead1", item, datetime(2027, 6, 1, tzinfo=UTC), "court order 12/2027"
        )
        assert preservation.due_purges(connection, kept.keep_until + timedelta(days=1)) == []
        assert preservation.due_purges(connection, datetime(2027, 6, 1, tzinfo=UTC)) == [item]
        preservation.purge(
            connection,
            "worker",
            item,
            FolderStore(desk.settings.data_dir),
            datetime(2027, 6, 2, tzinfo=UTC),
        )
        body = connection.scalar(
            select(TextBody.body)
            .join(Item, Item.text_sha256 == TextBody.sha256)
            .where(Item.id == item)
        )
        event = connection.execute(
            select(AuditEvent).where(AuditEvent.action == "preservation.purge")
        ).one()
        with pytest.raises(Conflict, match="purged"):
            preservation.reinstate(connection, "user:lead1", item, "complaint", REMOVED)
    assert not file.exists() and body == ""
    assert event.detail["manifest"]["media"][0]["sha256"] == sha  # the proof outlives the file
    assert event.detail["deleted_files"] == [sha]


def test_a_file_still_posted_elsewhere_is_not_deleted(desk: Desk, tmp_path: Path) -> None:
    from sqlalchemy import update

    _case, sha, _data = case_with_image(desk, tmp_path)
    item = item_of(desk, "m1")
    with desk.engine.begin() as connection:
        # Another visible item carries the same file.
        other = item_of(desk, "p2")
        from redline.model import ItemMedia

        connection.execute(
            ItemMedia.__table__.insert(), {"item_id": other, "position": 0, "media_sha256": sha}
        )
        preservation.take_down(connection, "user:lead1", item, "disabled", REMOVED)
        connection.execute(
            update(Preservation).where(Preservation.item_id == item).values(keep_until=REMOVED)
        )
        preservation.purge(
            connection,
            "worker",
            item,
            FolderStore(desk.settings.data_dir),
            REMOVED + timedelta(days=1),
        )
        path = connection.scalar(select(Media.path).where(Media.sha256 == sha))
    assert (desk.settings.data_dir / str(path)).is_file()


def test_reinstatement_shows_the_item_again_and_holds_need_reasons(desk: Desk) -> None:
    item = item_of(desk, "p3")
    with desk.engine.begin() as connection:
        preservation.take_down(connection, "user:lead1", item, "removed", REMOVED)
        with pytest.raises(Invalid, match="reason"):
            preservation.hold(connection, "x", item, datetime(2030, 1, 1, tzinfo=UTC), " ")
        with pytest.raises(Invalid, match="must end after"):
            preservation.hold(connection, "x", item, REMOVED, "authority request")
        preservation.reinstate(connection, "user:lead1", item, "complaint upheld", REMOVED)
        visibility = connection.scalar(select(Item.visibility).where(Item.id == item))
        with pytest.raises(Conflict, match="visible already"):
            preservation.reinstate(connection, "user:lead1", item, "again", REMOVED)
        actions = connection.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.subject_type == "item")
            .order_by(AuditEvent.id)
        ).all()
    assert visibility == "visible" and actions == ["item.removed", "item.reinstate"]


def test_the_hold_command(desk: Desk, cli: object) -> None:
    from collections.abc import Callable

    from tests.conftest import CliResult

    run: Callable[..., CliResult] = cli  # type: ignore[assignment]
    item = item_of(desk, "p3")
    with desk.engine.begin() as connection:
        preservation.take_down(connection, "user:lead1", item, "removed", REMOVED)
    done = run("hold", str(item), "--until", "2028-01-01T00:00:00Z", "--reason", "court order 1")
    assert done.code == 0 and "kept until 2028-01-01" in done.out
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Preservation.hold_reason)) == "court order 1"
    naive = run("hold", str(item), "--until", "2029-01-01", "--reason", "x")
    assert naive.code == 2 and "no UTC offset" in naive.err
    missing = run("hold", "99999", "--until", "2029-01-01T00:00:00Z", "--reason", "x")
    assert missing.code == 1 and "not preserved" in missing.err
