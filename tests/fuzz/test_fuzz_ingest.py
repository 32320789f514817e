"""Fuzzing every ingest format: whatever bytes come in, ``ingest`` stores or quarantines each record
(with a reason naming the file and the record), raises nothing but UsageProblem, and keeps the
good records that came before a bad one.

Each input is a valid skeleton of the format with good records first and hostile ones after
(mutated fields, huge numbers, odd characters, deep nesting), or the whole file damaged
(truncated, bytes flipped, re-encoded) or random bytes. ``budget.py`` sets how many.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import Engine, select

from redline.config import Settings
from redline.ingest import UsageProblem
from redline.ingest.run import EmptyInput, IngestSummary, ingest
from redline.model import Item, Quarantine, Source
from tests.fuzz.budget import executions, fuzz_settings
from tests.fuzz.hostile import (
    deeply_nested,
    hostile_file,
    json_values,
    mutated,
    nasty_text,
    numbers,
    scalars,
    to_json,
)

CRASHERS = Path(__file__).parent / "crashers"
_sources = itertools.count()
GOOD = 3  # good records before the hostile ones


def ingested(
    data: dict[str, bytes], fmt: str, settings: Settings, engine: Engine, entry: str = ""
) -> tuple[IngestSummary | None, set[str]]:
    """Ingest files ``data`` (name -> bytes) from a fresh folder; check what every run must
    hold; return the summary (None for a UsageProblem) and the external ids stored."""
    executions[f"ingest {fmt}"] += 1
    source = f"fuzz-{fmt}-{next(_sources)}"
    with tempfile.TemporaryDirectory(prefix="redline-fuzz-") as folder:
        root = Path(folder)
        for name, content in data.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)
        target = root / entry if entry else root
        try:
            summary = ingest(
                target, source, engine=engine, settings=settings, actor="fuzz", format_name=fmt
            )
        except (UsageProblem, EmptyInput) as problem:  # exit 2 and exit 1: a message, no trace
            assert str(problem)
            return None, set()
    accounted = (  # a revision is a stored record too (``stored`` counts it)
        summary.stored + summary.duplicates + summary.quarantined + summary.already_quarantined
    )
    assert accounted == summary.records, summary.as_dict()
    for problem in summary.problems:
        assert problem.file and problem.location and problem.reason, problem
    with engine.connect() as connection:
        source_id = connection.scalar(select(Source.id).where(Source.name == source))
        quarantined = connection.execute(
            select(Quarantine.file, Quarantine.location, Quarantine.reason).where(
                Quarantine.source_id == source_id
            )
        ).all()
        stored = set(
            connection.scalars(select(Item.external_id).where(Item.source_id == source_id))
        )
    for file, location, reason in quarantined:
        assert file and location and reason
    return summary, stored


def good_ids() -> set[str]:
    return {f"good-{n}" for n in range(GOOD)}


# --- JSON Lines -----------------------------------------------------------------------------------

jsonl_objects = st.fixed_dictionaries(
    {},
    optional={
        key: scalars
        for key in (
            "id",
            "text",
            "time",
            "account",
            "account_name",
            "url",
            "username",
            "created_at",
            "name",
        )
    }
    | {"media": json_values, "extra": json_values},
)
jsonl_lines = st.one_of(
    jsonl_objects.map(to_json),
    json_values.map(to_json),
    st.integers(1, 3000).map(deeply_nested),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
).map(lambda line: line.replace("\n", " ").encode("utf-8", "surrogatepass"))


def jsonl_good() -> bytes:
    return b"".join(
        json.dumps({"id": f"good-{n}", "text": f"generic post {n}"}).encode() + b"\n"
        for n in range(GOOD)
    )


@given(hostile=st.lists(jsonl_lines, min_size=1, max_size=5), damage=st.booleans(), data=st.data())
@fuzz_settings()
def test_jsonl(
    settings: Settings, engine: Engine, hostile: list[bytes], damage: bool, data: st.DataObject
) -> None:
    content = jsonl_good() + b"\n".join(hostile) + b"\n"
    if damage:
        content = data.draw(mutated(content))
    summary, stored = ingested({"posts.jsonl": content}, "jsonl", settings, engine, "posts.jsonl")
    if summary is not None and not damage:
        assert good_ids() <= stored


# --- Telegram Desktop export ----------------------------------------------------------------------

entity = st.fixed_dictionaries(
    {}, optional={"type": scalars, "text": scalars, "href": scalars, "user_id": numbers}
)
telegram_messages = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "id": scalars,
            "type": st.sampled_from(["message", "service"]) | scalars,
            "date": scalars,
            "date_unixtime": scalars,
            "from": scalars,
            "from_id": scalars,
            "text": st.one_of(scalars, st.lists(st.one_of(nasty_text, entity), max_size=4)),
            "photo": scalars,
            "file": scalars,
            "forwarded_from": json_values,
            "edited": scalars,
        },
    ),
    json_values,
)


def telegram_export(messages: list[Any], chat_id: Any = 1) -> bytes:
    good = [
        {
            "id": n,
            "type": "message",
            "date": "2026-11-20T10:00:00",
            "from": "Channel",
            "from_id": "channel1",
            "text": f"generic message {n}",
        }
        for n in range(GOOD)
    ]
    document = {
        "name": "chat",
        "type": "public_channel",
        "id": chat_id,
        "messages": good + messages,
    }
    # Escaped as Telegram Desktop writes it: a lone surrogate is a \\u escape, not a bad byte.
    return to_json(document, ascii=True).encode()


@given(messages=st.lists(telegram_messages, min_size=1, max_size=4), chat_id=scalars)
@fuzz_settings()
def test_telegram_json_hostile_messages(
    settings: Settings, engine: Engine, messages: list[Any], chat_id: Any
) -> None:
    export = telegram_export(messages, chat_id)
    summary, stored = ingested({"result.json": export}, "telegram-json", settings, engine)
    # The chat's id is part of every message's id: a hostile one may make them all invalid.
    if summary is not None and isinstance(chat_id, int) and not isinstance(chat_id, bool):
        assert {f"{chat_id}/{n}" for n in range(GOOD)} <= stored, (summary.as_dict(), messages)


@given(export=hostile_file(st.lists(telegram_messages, max_size=3).map(telegram_export)))
@fuzz_settings()
def test_telegram_json_damaged(settings: Settings, engine: Engine, export: bytes) -> None:
    ingested({"result.json": export}, "telegram-json", settings, engine)


# --- CSV: Twitter exports and generic tables ------------------------------------------------------

csv_fields = st.one_of(
    nasty_text, numbers.map(str), st.binary(max_size=20).map(lambda b: b.decode("latin-1"))
)


def csv_table(
    header: list[str], good: list[list[str]], rows: list[list[str]], quoted: bool
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(good)
    if quoted:
        writer.writerows(rows)
    else:  # written by hand, as broken exports are: stray quotes and delimiters stay raw
        out.write("".join(",".join(row) + "\n" for row in rows))
    return out.getvalue().encode("utf-8", "surrogatepass")


TWITTER_HEADER = ["name", "username", "tweetid", "time", "tweets"]
CSV_HEADER = ["id", "text", "time", "account", "url"]


def _csv_harness(
    fmt: str, header: list[str], good: list[list[str]], ids: set[str]
) -> Callable[..., None]:
    @given(
        rows=st.lists(st.lists(csv_fields, max_size=7), min_size=1, max_size=5),
        quoted=st.booleans(),
        damage=st.booleans(),
        data=st.data(),
    )
    @fuzz_settings()
    def harness(
        settings: Settings,
        engine: Engine,
        rows: list[list[str]],
        quoted: bool,
        damage: bool,
        data: st.DataObject,
    ) -> None:
        content = csv_table(header, good, rows, quoted)
        if damage:
            content = data.draw(mutated(content))
        summary, stored = ingested({"table.csv": content}, fmt, settings, engine, "table.csv")
        if summary is not None and not damage:
            assert ids <= stored

    return harness


test_twitter_csv = _csv_harness(
    "twitter-csv",
    TWITTER_HEADER,
    [["Name", "acct", f"good-{n}", "1/2/2026 10:00", f"generic tweet {n}"] for n in range(GOOD)],
    good_ids(),
)
test_generic_csv = _csv_harness(
    "csv",
    CSV_HEADER,
    [[f"good-{n}", f"generic row {n}", "2026-01-02", "acct", ""] for n in range(GOOD)],
    good_ids(),
)


# --- URL lists ------------------------------------------------------------------------------------

url_lines = st.one_of(
    nasty_text,
    st.builds(lambda host, path: f"https://{host}/{path}", nasty_text, nasty_text),
    st.sampled_from(
        [
            "http://",
            "https://[::1",
            "http://a:99999/",
            "https://xn--/",
            "www.",
            "https://example.org/" + "a" * 70000,
            "javascript:alert(1)",
        ]
    ),
).map(lambda line: line.replace("\n", " ").encode("utf-8", "surrogatepass"))
GOOD_URLS = [f"https://example.org/good-{n}" for n in range(GOOD)]


@given(lines=st.lists(url_lines, min_size=1, max_size=6), damage=st.booleans(), data=st.data())
@fuzz_settings()
def test_url_list(
    settings: Settings, engine: Engine, lines: list[bytes], damage: bool, data: st.DataObject
) -> None:
    content = "".join(u + "\n" for u in GOOD_URLS).encode() + b"\n".join(lines) + b"\n"
    if damage:
        content = data.draw(mutated(content))
    summary, stored = ingested({"urls.txt": content}, "url-list", settings, engine, "urls.txt")
    if summary is not None and not damage:
        assert set(GOOD_URLS) <= stored


# --- a folder of media ----------------------------------------------------------------------------


def png(seed: int, size: int = 24) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (seed * 40 % 256, 90, 200)).save(out, "PNG")
    return out.getvalue()


media_names = st.sampled_from(
    [
        "x.jpg",
        "x.png",
        "x.gif",
        "x.webp",
        "x.mp4",
        "x.mkv",
        "x.txt",
        "x",
        "sub/x.png",
        ".hidden.png",
        "x.json",
    ]
)


@given(
    files=st.lists(st.tuples(media_names, hostile_file(st.just(png(7)))), min_size=1, max_size=4),
    sidecars=st.lists(
        st.tuples(
            st.sampled_from(["x.png.json", "x.json", "good-0.png.json"]),
            hostile_file(jsonl_objects.map(lambda o: to_json(o).encode("utf-8", "surrogatepass"))),
        ),
        max_size=2,
    ),
)
@fuzz_settings()
def test_media_dir(
    settings: Settings,
    engine: Engine,
    files: list[tuple[str, bytes]],
    sidecars: list[tuple[str, bytes]],
) -> None:
    folder = {f"good-{n}.png": png(n) for n in range(GOOD)}
    for number, (name, content) in enumerate(files):
        folder[f"{number}{name}" if "/" not in name else name.replace("x", f"x{number}")] = content
    folder.update(dict(sidecars))
    summary, stored = ingested(folder, "media-dir", settings, engine)
    # A sidecar can give a good file another id; its media is stored all the same.
    if summary is not None and not any(name.startswith("good-0") for name, _ in sidecars):
        assert {f"good-{n}.png" for n in range(GOOD)} <= stored


# --- crashers found, kept as regression cases ----------------------------------------------------

PARSER_LIMITS = (
    "ingest bug (helper `ingest` is rewriting the JSON parsers): json.loads raises ValueError for "
    "a number of over 4300 digits and RecursionError for deep nesting; neither is caught, so the "
    "run stops with a traceback and the records after it are never read"
)
TRUNCATED = (
    "ingest bug (issue 14 item 5, helper `ingest`): a truncated Telegram export is quarantined "
    "whole, so none of its complete messages is stored"
)


def _media_folder(sidecar: bytes) -> dict[str, bytes]:
    return {"good-0.png": png(0), "good-1.png": png(1), "photo.png": png(2), "photo.json": sidecar}


@pytest.mark.parametrize(
    ("crasher", "fmt", "kept"),
    [
        pytest.param("jsonl-huge-number.jsonl", "jsonl", {"good-0", "good-1"}),
        pytest.param("jsonl-deep-nesting.jsonl", "jsonl", {"good-0", "good-1"}),
        pytest.param("telegram-huge-number.json", "telegram-json", {"1/0"}),
        pytest.param("telegram-deep-nesting.json", "telegram-json", {"1/0"}),
        pytest.param("telegram-truncated.json", "telegram-json", {"1/0", "1/1"}),
        pytest.param(
            "media-dir-sidecar-huge-number.json", "media-dir", {"good-0.png", "good-1.png"}
        ),
    ],
)
def test_crashers(
    settings: Settings, engine: Engine, crasher: str, fmt: str, kept: set[str]
) -> None:
    """Inputs the harnesses found: read without a traceback, the good records around them kept."""
    content = (CRASHERS / crasher).read_bytes()
    if fmt == "media-dir":
        files, entry = _media_folder(content), ""
    else:
        entry = "result.json" if fmt == "telegram-json" else crasher
        files = {entry: content}
    try:
        summary, stored = ingested(files, fmt, settings, engine, entry)
    except (ValueError, RecursionError) as error:
        pytest.fail(f"{crasher}: {type(error).__name__} escaped: {str(error)[:100]}")
    assert summary is not None
    assert kept <= stored
