"""Generic CSV with column mapping, revisions of reused ids, and the FA-KES news set."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from redline.config import Settings
from redline.ingest.records import UsageProblem
from redline.store.status import store_status
from tests.helpers import items, quarantined, run_ingest


def test_columns_are_mapped_and_the_rest_kept_as_metadata(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    path = tmp_path / "news.csv"
    path.write_bytes(
        b"unit_id,article_title,article_content,source,date\n"
        b"7,Market reopens,The market reopened on Monday.,example-news,4/14/2017\n"
        b"8,Caf\xe9 closes,The caf\xe9 on the square closed.,other-news,4/15/2017\n"
    )
    summary = run_ingest(path, "news", engine, settings, id="unit_id")
    assert (summary.format, summary.stored, summary.quarantined) == ("csv", 2, 0)
    first, second = items(engine)
    assert first["external_id"] == "7" and first["body"] == "The market reopened on Monday."
    assert first["extra"] == {"article_title": "Market reopens", "source": "example-news"}
    assert first["posted_at"].date().isoformat() == "2017-04-14"
    assert (second["body"], second["encoding"]) == (
        "The caf\u00e9 on the square closed.",
        "windows-1252",
    )


def test_explicit_columns_and_time_format(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    path = tmp_path / "posts.csv"
    path.write_text("ref,msg,when,who\nA1,hello,02/03/2024,someone\n", encoding="utf-8")
    run_ingest(
        path,
        "p",
        engine,
        settings,
        fmt="csv",
        text="msg",
        id="ref",
        time="when",
        time_format="%d/%m/%Y",
        account="who",
    )
    (item,) = items(engine)
    assert (item["external_id"], item["body"], item["account"]) == ("A1", "hello", "someone")
    assert item["posted_at"].month == 3  # day first, as --time-format said


def test_a_missing_column_is_a_usage_error(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UsageProblem, match="cannot tell which column holds the text"):
        run_ingest(path, "x", engine, settings, fmt="csv")
    with pytest.raises(UsageProblem, match="no column 'nope' for --id-column"):
        run_ingest(path, "x", engine, settings, fmt="csv", text="a", id="nope")


def test_without_ids_records_are_named_by_content(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    path = tmp_path / "x.csv"
    path.write_text("text\nsame\nsame\nother\n", encoding="utf-8")
    summary = run_ingest(path, "x", engine, settings)
    assert (summary.stored, summary.duplicates) == (2, 1)
    assert all(i["external_id"].startswith("sha256:") for i in items(engine))


def test_a_reused_id_with_new_content_is_a_revision_never_dropped(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "id,text\n1,first words\n1,first words\n1,edited words\n2,other\n", encoding="utf-8"
    )
    summary = run_ingest(path, "x", engine, settings)
    assert (summary.stored, summary.revisions, summary.duplicates) == (3, 1, 1)
    assert [(i["external_id"], i["revision"], i["body"]) for i in items(engine)] == [
        ("1", 1, "first words"),
        ("1", 2, "edited words"),
        ("2", 1, "other"),
    ]
    # Seeing the first version again later is still a duplicate, not a third revision.
    later = tmp_path / "later.csv"
    later.write_text("id,text\n1,first words\n1,third version\n", encoding="utf-8")
    again = run_ingest(later, "x", engine, settings)
    assert (again.stored, again.revisions, again.duplicates) == (1, 1, 1)
    status = store_status(engine)
    assert (status["items"], status["revisions"]) == (2, 2)


@pytest.mark.shared_data
def test_fakes_news_set_keeps_every_article(
    shared_data: Path, engine: Engine, settings: Settings
) -> None:
    summary = run_ingest(
        shared_data / "fakes_syria_war_news.csv", "fakes", engine, settings, id="unit_id"
    )
    assert summary.records == 804
    assert (summary.stored, summary.duplicates, summary.revisions, summary.quarantined) == (
        793,
        11,
        1,
        0,
    )
    status = store_status(engine)
    assert (status["items"], status["revisions"], status["quarantined"]) == (792, 1, 0)
    assert quarantined(engine) == []
    stored = items(engine)
    encodings = {i["encoding"] for i in stored}
    assert encodings == {"utf-8", "windows-1252"}
    assert all("\ufffd" not in i["body"] for i in stored)  # nothing replaced by U+FFFD
    windows = [i for i in stored if i["encoding"] == "windows-1252"]
    # The Windows rows carry bytes 0x95 (a bullet in cp1252) where UTF-8 would have failed.
    assert windows and all("\u2022" in i["body"] + str(i["extra"]) for i in windows)
    (revised,) = [i for i in stored if i["revision"] == 2]
    first_version = next(i for i in stored if i["external_id"] == revised["external_id"])
    assert first_version["revision"] == 1 and first_version["body"] != revised["body"]
