"""Twitter/X CSV exports: synthetic files in the real layout, and the real data set."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from redline.config import Settings
from redline.model import Item, TextBody
from redline.store.status import store_status
from tests.helpers import items, quarantined, run_ingest

HEADER = "name,username,tweetid,time,tweets\n"


def write(path: Path, body: str) -> Path:
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_tweets_are_stored_with_their_account_time_and_decoded_text(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    path = write(
        tmp_path / "tweets.csv",
        "Town Notices,town_notices,101,1/6/2015 21:07,Road works &amp; a detour https://t.co/abc \n"
        'Town Notices,town_notices,102,1/6/2015 21:27,"Two lines:\nsecond line"\n'
        "Bakery,corner_bakery,103,12/31/2015 23:59,"
        "\u0645\u062e\u0628\u0632 \u0637\u0627\u0632\u062c\n",
    )
    summary = run_ingest(path, "tweets", engine, settings)
    assert (summary.format, summary.records, summary.stored, summary.quarantined) == (
        "twitter-csv",
        3,
        3,
        0,
    )
    stored = items(engine)
    assert [i["external_id"] for i in stored] == ["101", "102", "103"]
    assert stored[0]["body"] == "Road works & a detour https://t.co/abc"
    assert stored[0]["account"] == "town_notices" and stored[0]["account_name"] == "Town Notices"
    assert stored[0]["posted_at"] == datetime(2015, 1, 6, 21, 7, tzinfo=UTC)
    assert stored[1]["body"] == "Two lines:\nsecond line"
    assert stored[1]["location"] == "line 3"
    assert stored[2]["body"] == "\u0645\u062e\u0628\u0632 \u0637\u0627\u0632\u062c"
    assert stored[2]["posted_at"] == datetime(2015, 12, 31, 23, 59, tzinfo=UTC)
    assert {i["encoding"] for i in stored} == {"utf-8"}


def test_reingesting_the_same_file_stores_nothing(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    path = write(
        tmp_path / "t.csv",
        "".join(f"A,acct{n},{n},1/6/2015 21:0{n},notice {n}\n" for n in range(5)),
    )
    first = run_ingest(path, "s", engine, settings)
    again = run_ingest(path, "s", engine, settings)
    assert (first.stored, first.duplicates) == (5, 0)
    assert (again.stored, again.duplicates, again.revisions) == (0, 5, 0)
    assert store_status(engine)["items"] == 5


def test_a_text_reposted_by_many_accounts_is_stored_once(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    body = "".join(
        f"Name {n},acct{n},{n},1/6/2015 21:00,Same notice for everyone \n" for n in range(4)
    )
    run_ingest(
        write(tmp_path / "t.csv", body + "X,other,9,1/6/2015 21:00,Different\n"),
        "s",
        engine,
        settings,
    )
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(TextBody)) == 2
        counts = dict(
            connection.execute(
                select(Item.text_sha256, func.count()).group_by(Item.text_sha256)
            ).all()
        )
    assert sorted(counts.values()) == [1, 4]
    assert store_status(engine)["reposted_texts"] == 1


def test_truncated_row_goes_to_quarantine_with_its_bytes_a_bad_time_is_dropped(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    path = write(
        tmp_path / "t.csv", "A,a,1,1/6/2015 21:00,fine\nB,b,2,not a time,bad time\nGunsandCoffee\n"
    )
    summary = run_ingest(path, "s", engine, settings)
    assert (summary.stored, summary.quarantined, summary.warned) == (2, 1, 1)
    (bad,) = quarantined(engine)
    assert (bad.location, bad.raw) == ("line 4", b"GunsandCoffee\n")
    assert bad.reason == "truncated row: 1 fields, the header has 5"
    assert bad.file == str(path)
    # A bad time is optional: the tweet is stored without it, and the record says why.
    dated = {i["external_id"]: i for i in items(engine)}["2"]
    assert dated["body"] == "bad time" and dated["posted_at"] is None
    (warning,) = dated["extra"]["ingest_warnings"]
    assert "unreadable time 'not a time'" in warning
    # Quarantine is idempotent too: the same bad rows are not filed twice.
    again = run_ingest(path, "s", engine, settings)
    assert (again.quarantined, again.already_quarantined) == (0, 1)
    assert len(quarantined(engine)) == 1


@pytest.mark.shared_data
def test_the_real_fanboy_set_ingests_completely_and_once(
    shared_data: Path, engine: Engine, settings: Settings
) -> None:
    path = shared_data / "isis_fanboy_tweets.csv"
    first = run_ingest(path, "fanboy", engine, settings)
    status = store_status(engine)
    assert (first.format, first.records, first.stored, first.quarantined) == (
        "twitter-csv",
        17392,
        17391,
        1,
    )
    assert (status["items"], status["quarantined"], status["revisions"]) == (17391, 1, 0)
    assert status["per_source"]["fanboy"]["items"] == 17391
    assert status["reposted_texts"] > 0  # the data set has re-posted tweets
    (bad,) = quarantined(engine)
    assert bad.location == "line 17393" and "truncated row" in bad.reason
    again = run_ingest(path, "fanboy", engine, settings)
    assert (again.stored, again.duplicates) == (0, 17391)
    assert store_status(engine)["items"] == 17391
