"""The command line: help, versions, usage errors (exit 2, one line), JSON output."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from redline import __version__
from redline.store.migrate import SCHEMA_REVISION
from tests.conftest import CliResult, run_redline

Cli = Callable[..., CliResult]


def test_version_and_help(cli: Cli) -> None:
    assert cli("--version").out.strip() == f"redline {__version__}"
    result = cli("--help")
    assert result.code == 0
    commands = result.out.split("Commands:")[1].strip().splitlines()
    names = [line.split()[0] for line in commands]
    assert {"ingest", "status", "demo", "db", "quarantine", "formats", "config"} <= set(names)
    assert all(len(line.split(maxsplit=1)) == 2 for line in commands)  # one explaining line each
    assert "REDLINE_DATABASE_URL" in result.out
    assert "deduplicated" in cli("ingest", "--help").out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ingest",), "Missing argument 'path'. (see `redline ingest --help`)"),
        (
            ("ingest", "/nonexistent/file.csv", "--source", "s"),
            "/nonexistent/file.csv: no such file or directory",
        ),
        (
            ("ingest", "README.md", "--source", "s"),
            "cannot tell the format of README.md: pass --format",
        ),
        (("ingest", "README.md", "--source", "s", "--format", "nope"), "unknown format 'nope'"),
        (("bogus",), "No such command 'bogus'"),
        (("quarantine", "show", "99"), "no quarantined record with id 99"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    cli: Cli, settings: object, args: tuple[str, ...], message: str
) -> None:
    result = cli(*args)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("redline: error:")
    assert message in lines[0]
    assert "Traceback" not in result.err


def test_a_bad_setting_is_a_usage_error(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDLINE_INGEST_BATCH_SIZE", "lots")
    result = cli("status")
    assert result.code == 2
    assert "REDLINE_INGEST_BATCH_SIZE" in result.err and len(result.err.strip().splitlines()) == 1


def test_an_unreachable_database_is_one_clear_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDLINE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = cli("status")
    assert result.code == 1
    assert (
        result.err.startswith("redline: error: database error:") and "Traceback" not in result.err
    )


def test_ingest_status_and_quarantine_listing(cli: Cli, settings: object, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,text\n1,hello\n2,\n3,bye\n", encoding="utf-8")
    result = cli("ingest", str(path), "--source", "s", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert (summary["stored"], summary["quarantined"], summary["format"]) == (2, 1, "csv")
    assert summary["problems"] == [f"{path} line 3: empty record: no text, media or URL"]
    status = json.loads(cli("status", "--json").out)
    assert (status["items"], status["quarantined"], status["sources"]) == (2, 1, 1)
    assert status["per_source"]["s"]["items"] == 2
    # The human-readable status has a line for every count --json gives.
    readable = cli("status").out
    for label, key in (
        ("items", "items"),
        ("texts scored", "scores"),
        ("flagged texts", "flagged"),
    ):
        assert re.search(rf"^  {label} +{status[key]:,}$", readable, re.MULTILINE), label
    assert re.search(r"^  outlinks +0$", readable, re.MULTILINE)
    listed = json.loads(cli("quarantine", "list", "--json").out)
    assert [(q["location"], q["reason"]) for q in listed] == [
        ("line 3", "empty record: no text, media or URL")
    ]
    raw = cli("quarantine", "show", str(listed[0]["id"]), "--json")
    assert json.loads(raw.out)["raw_base64"] == "MiwK"  # "2,\n"
    table = cli("ingest", str(path), "--source", "s")
    assert "0 stored" in table.out and "2 duplicates" in table.out


def test_listing_commands_speak_json(cli: Cli, settings: object) -> None:
    assert {f["name"] for f in json.loads(cli("formats", "--json").out)} == {
        "twitter-csv",
        "telegram-json",
        "jsonl",
        "csv",
        "media-dir",
        "url-list",
    }
    config = {row["setting"]: row for row in json.loads(cli("config", "--json").out)}
    assert "REDLINE_DATA_DIR" in config and config["REDLINE_BROKER_URL"]["value"] is None
    assert json.loads(cli("quarantine", "list", "--json").out) == []


def test_the_installed_command_never_prints_a_traceback(tmp_path: Path) -> None:
    env = {"REDLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    done = run_redline("ingest", str(tmp_path / "missing.jsonl"), "--source", "s", env=env)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"redline: error: {tmp_path / 'missing.jsonl'}: no such file or directory"
    )
    upgraded = run_redline("db", "upgrade", env=env)
    assert upgraded.returncode == 0 and f"schema none -> {SCHEMA_REVISION}" in upgraded.stdout
