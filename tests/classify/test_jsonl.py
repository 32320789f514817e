"""``redline classify``: one output line per input line, in order, and a clear per-line error for
whatever cannot be scored; the batch always goes on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from redline.classify.jsonl import MAX_CHARS, classify_lines
from redline.classify.model import TextModel
from tests.conftest import CliResult, run_redline


def lines(*objects: object) -> list[bytes]:
    return [json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objects]


def test_every_line_gets_one_result_in_order(tiny_model: TextModel) -> None:
    posts = [{"id": n, "text": f"lunch with friends at the market number {n}"} for n in range(1200)]
    posts[700] = {"id": 700, "text": "zorblat release 5 is out, spread it far"}
    results = list(classify_lines(lines(*posts), tiny_model))
    assert [r["id"] for r in results] == list(range(1200))  # across batch boundaries too
    assert [r["line"] for r in results] == list(range(1, 1201))
    assert [r["id"] for r in results if r["flagged"]] == [700]
    flagged = results[700]
    assert flagged["category"] == "official_media_distribution"
    assert flagged["score"] >= tiny_model.threshold
    assert set(flagged) >= {"id", "score", "flagged", "lang", "category", "explanation"}
    assert all(r["category"] == "none" for r in results if not r["flagged"])


def test_explanation_spans_point_at_the_words_in_the_original_text(tiny_model: TextModel) -> None:
    text = "ZORBLAT   Release 12 is out, spread it far"
    (result,) = classify_lines(lines({"id": "x", "text": text}), tiny_model)
    top = result["explanation"][0]
    assert top["weight"] > 0
    found = [text[start:end].lower() for start, end in top["spans"]]
    assert found and all(" ".join(f.split()) == top["feature"] for f in found)


def test_bad_lines_get_errors_and_the_rest_is_scored(tiny_model: TextModel) -> None:
    raw = [
        *lines({"id": 1, "text": "lunch with friends"}),
        b"this is not json\n",
        b'{"id": 3, "text": "caf\xe9 au lait"}\n',  # Latin-1 byte: not UTF-8
        *lines({"id": 4, "text": ""}),
        *lines({"id": 5, "text": "\x00\x07\x1b"}),  # control characters only
        *lines({"id": 6}),
        *lines({"id": 7, "text": 42}),
        *lines(["a", "list"]),
        b"\n",  # blank lines are skipped, not errors
        *lines({"id": 9, "text": "🙂🎉🔥"}),  # emoji only: scored, nothing to go on
        *lines({"id": 10, "text": "Breaking عاجل: the market reopened اليوم"}),  # mixed scripts
        *lines({"id": 11, "text": "rain again \x00in the city"}),
        *lines({"id": 12, "text": "zorblat release 3 is out, spread it far " * 40_000}),  # 1.6 MB
        *lines({"id": 13, "text": "the football match was great tonight"}),
    ]
    results = list(classify_lines(raw, tiny_model))
    by_line = {r["line"]: r for r in results}
    assert sorted(by_line) == [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14]
    assert "not valid JSON" in by_line[2]["error"]
    assert "not UTF-8" in by_line[3]["error"]
    assert by_line[4] == {"line": 4, "id": 4, "error": "empty text"}
    assert by_line[5]["error"] == "empty text"
    assert by_line[6]["error"] == "no 'text'"
    assert "must be a string" in by_line[7]["error"]
    assert "expected a JSON object" in by_line[8]["error"]
    for number in (1, 10, 11, 12, 13, 14):
        assert "error" not in by_line[number] and 0.0 <= by_line[number]["score"] <= 1.0
    assert by_line[10]["lang"] == "und" and not by_line[10]["flagged"]
    assert by_line[12]["id"] == 11
    assert by_line[13]["flagged"]
    assert f"first {MAX_CHARS:,}" in by_line[13]["note"]


def test_cli_reads_stdin_and_writes_stdout(tiny_model_path: Path, tmp_path: Path) -> None:
    feed = b"".join(
        lines(
            {"id": "a", "text": "zorblat release 1 is out, spread it far"},
            {"id": "b", "text": "hi"},
        )
    )
    done = run_redline("classify", "--model", str(tiny_model_path), input=feed.decode())
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["id"], r["flagged"]) for r in out] == [("a", True), ("b", False)]


def test_cli_file_to_file(
    tiny_model_path: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    source = tmp_path / "posts.jsonl"
    source.write_bytes(
        b"".join(lines({"id": 1, "text": "come and join the zorblat club 77 today"}))
    )
    target = tmp_path / "scores.jsonl"
    result = cli("classify", str(source), "--output", str(target), "--model", str(tiny_model_path))
    assert result.code == 0, result.err
    (scored,) = [json.loads(line) for line in target.read_text().splitlines()]
    assert scored["flagged"] and scored["category"] == "recruitment"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["classify", "missing.jsonl"], "missing.jsonl: no such file"),
        (["classify", "-", "--model", "nowhere.npz"], "no model there"),
    ],
)
def test_cli_usage_errors_are_one_line_and_exit_2(
    args: list[str], message: str, cli: Callable[..., CliResult]
) -> None:
    result = cli(*args)
    assert result.code == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1
