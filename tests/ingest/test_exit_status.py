"""`redline ingest` says by its exit status whether a run was any use, and never lets an input's
bytes drive the terminal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

CONTROL = "\x1b]0;owned\x07\x1b[2J\r\x9b\u202e"


def _assert_printable(result: CliResult) -> None:
    for stream in (result.out, result.err):
        assert not any(char in stream for char in CONTROL if not char.isprintable()), stream


def test_exit_status_says_whether_anything_was_stored(
    cli: Cli, settings: object, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n{"id": 2, "text": 3}\n', encoding="utf-8")
    refused = cli("ingest", str(bad), "--source", "s")
    assert refused.code == 1 and "2 quarantined" in refused.out
    assert "nothing was stored and 2 quarantined" in refused.err
    assert cli("ingest", str(bad), "--source", "s", "--json").code == 1  # still nothing stored

    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"id": 1, "text": "fine"}\n{"id": 2}\n', encoding="utf-8")
    assert cli("ingest", str(mixed), "--source", "s").code == 0
    # Run again: nothing new is stored, but nothing was lost either; only --strict minds.
    assert cli("ingest", str(mixed), "--source", "s").code == 0
    strict = cli("ingest", str(mixed), "--source", "s", "--strict")
    assert strict.code == 1 and "--strict" in strict.err

    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text('{"id": 9, "text": "t", "time": "soon"}\n', encoding="utf-8")
    assert cli("ingest", str(dropped), "--source", "s").code == 0
    assert cli("ingest", str(dropped), "--source", "s2", "--strict").code == 1

    clean = tmp_path / "clean.jsonl"
    clean.write_text('{"id": 10, "text": "clean"}\n', encoding="utf-8")
    assert cli("ingest", str(clean), "--source", "s", "--strict").code == 0


def test_an_empty_file_is_an_error_and_usage_errors_stay_2(
    cli: Cli, settings: object, tmp_path: Path
) -> None:
    for name in ("empty.jsonl", "empty.csv", "result.json", "empty.txt"):
        (tmp_path / name).write_bytes(b"")
        result = cli("ingest", str(tmp_path / name), "--source", "s")
        assert result.code == 1, name
        assert result.err.strip() == (
            f"redline: error: {tmp_path / name}: empty file (0 bytes), nothing to ingest"
        )
    assert cli("ingest", str(tmp_path / "missing.csv"), "--source", "s").code == 2
    assert cli("ingest", str(tmp_path / "empty.csv"), "--source", "s", "-f", "nope").code == 2
    help_text = cli("ingest", "--help").out
    assert "Exit status" in help_text and "--strict" in help_text


def test_control_characters_never_reach_the_terminal(
    cli: Cli, settings: object, tmp_path: Path
) -> None:
    # A binary file: its header row lands in the error message.
    binary = tmp_path / "blob.csv"
    binary.write_bytes(CONTROL.encode("utf-8") + bytes(range(256)) + b"\n1\n")
    result = cli("ingest", str(binary), "--source", "s")
    assert result.code == 2 and "\\x1b]0" in result.err and "owned\\x07\\x1b[2J" in result.err
    _assert_printable(result)
    # Reasons quoting an input's bytes, in the run's report and in the quarantine listings.
    posts = tmp_path / f"posts{CONTROL}.jsonl"
    posts.write_text(
        json.dumps({"id": "a", "text": "t", "media": [f"x{CONTROL}.png"], "time": CONTROL})
        + "\n"
        + json.dumps({"id": f"b{CONTROL}", "text": "x" * 10, "url": f"{CONTROL}\x00"})
        + "\n",
        encoding="utf-8",
    )
    result = cli("ingest", str(posts), "--source", f"s{CONTROL}", "--verbose")
    assert result.code == 0 and "x\\x1b]0;owned\\x07" in result.out
    _assert_printable(result)
    listed = cli("quarantine", "list")
    assert "\\x1b" in listed.out
    _assert_printable(listed)
    entry = json.loads(cli("quarantine", "list", "--json").out)[0]["id"]
    shown = cli("quarantine", "show", str(entry))
    assert "\\x1b" in shown.out
    _assert_printable(shown)
