"""JSON Lines: the documented schema, and every kind of bad line kept in quarantine."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image
from sqlalchemy import Engine

from redline.config import Settings
from tests.helpers import items, quarantined, run_ingest


def test_records_follow_the_documented_schema(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    Image.new("RGB", (32, 32), (10, 200, 10)).save(tmp_path / "pic.png")
    lines = [
        {
            "id": "a1",
            "text": "Hello",
            "time": "2024-02-01T12:00:00+01:00",
            "account": "acct",
            "account_name": "Account",
            "url": "https://example.org/a1",
            "lang": "en",
        },
        {"id": 2, "text": "Numeric ids are fine", "time": 1706788800},
        {"text": "No id: named by content", "media": ["pic.png"]},
        {"id": "a4", "media": "pic.png"},
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    summary = run_ingest(path, "j", engine, settings)
    assert (summary.format, summary.stored, summary.quarantined) == ("jsonl", 4, 0)
    first, second, third, fourth = items(engine)
    assert (first["external_id"], first["body"], first["account"], first["account_name"]) == (
        "a1",
        "Hello",
        "acct",
        "Account",
    )
    assert first["posted_at"].isoformat() == "2024-02-01T11:00:00+00:00"
    assert first["url"] == "https://example.org/a1" and first["extra"] == {"lang": "en"}
    assert (
        second["external_id"] == "2"
        and second["posted_at"].isoformat() == "2024-02-01T12:00:00+00:00"
    )
    assert third["external_id"].startswith("sha256:")
    assert fourth["body"] is None and fourth["text_sha256"] is None


def test_bad_lines_are_quarantined_and_the_batch_goes_on(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    settings.max_field_bytes = 1000
    raw_lines = [
        b'{"id": 1, "text": "good"}',
        b'{"id": 2, "text": "cut off',
        b"[1, 2, 3]",
        b'{"id": 4, "text": 12}',
        b'{"id": 5, "text": "caf\xe9 in latin-1"}',
        b'{"id": 6, "text": "' + b"x" * 1500 + b'"}',
        b'{"id": 7, "text": "nul \\u0000 inside"}',
        b'{"id": 8, "text": "lone \\ud800 surrogate"}',
        b'{"id": 9}',
        b'{"id": 10, "time": "yesterday", "text": "t"}',
        b'{"id": 11, "media": ["missing.jpg"]}',
        b'{"id": 12, "text": "also good"}',
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(raw_lines) + b"\n")
    summary = run_ingest(path, "j", engine, settings, fmt="jsonl")
    # A bad optional time is dropped with a warning; the record is stored, not quarantined.
    assert [i["body"] for i in items(engine)] == ["good", "t", "also good"]
    assert items(engine)[1]["extra"] == {
        "ingest_warnings": [
            "field 'time': unreadable time 'yesterday' (use --time-format) (field dropped)"
        ]
    }
    assert (summary.quarantined, summary.warned) == (9, 1)
    reasons = {q.location: q.reason for q in quarantined(engine)}
    assert reasons["line 2"].startswith("not valid JSON: Unterminated string")
    assert reasons["line 3"] == "expected a JSON object, got list"
    assert reasons["line 4"] == "field 'text' must be a string, got int"
    assert reasons["line 5"] == "not UTF-8 (JSON must be): bad byte at offset 22"
    assert (
        reasons["line 6"]
        == "text is 1,500 bytes, over the limit of 1,000 (REDLINE_MAX_FIELD_BYTES)"
    )
    assert reasons["line 7"].startswith("text contains NUL characters")
    assert reasons["line 8"] == "text is not valid Unicode (an unpaired surrogate)"
    assert reasons["line 9"] == "empty record: no text, media or URL"
    assert "line 10" not in reasons
    assert reasons["line 11"] == "missing.jpg: file not found"
    assert {q.location: q.raw for q in quarantined(engine)}["line 5"] == raw_lines[4] + b"\n"
