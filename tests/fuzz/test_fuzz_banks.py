"""Fuzzing bank imports: ThreatExchange/HMA CSV and JSON, redline's own export, PDQ hex lists and
text_minhash rows. Whatever the file holds, ``import_file`` adds, counts as duplicate or
quarantines each entry (with the file and the entry named), raises nothing, and keeps the good
entries that came before a bad one.
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from redline.banks import create_bank, import_file
from redline.banks.formats import read_rows
from redline.model import Bank, BankEntry, BankSignal, Quarantine
from redline.model.base import utcnow
from redline.signals.minhash import TextMinHashSignal
from tests.fuzz.budget import executions, fuzz_settings
from tests.fuzz.hostile import (
    hostile_file,
    json_values,
    mutated,
    nasty_text,
    numbers,
    scalars,
    to_json,
)

CRASHERS = Path(__file__).parent / "crashers"
_banks = itertools.count()
GOOD_PDQ = [f"{n:x}" * 64 for n in range(1, 4)]
GOOD_MINHASH = TextMinHashSignal.compute_text("A generic synthetic statement for the bank tests.")[
    0
].value
SIGNAL_TYPES = [
    "pdq",
    "PDQ",
    "md5",
    "video_md5",
    "vpdq",
    "sha256",
    "text_minhash",
    "pdq_crop",
    "url",
    "",
    "photo_md5",
]

hashes = st.one_of(
    st.sampled_from(
        [
            *GOOD_PDQ,
            GOOD_MINHASH,
            "0" * 32,
            "f" * 63,
            "g" * 64,
            "mh1:128:",
            "mh1:9:AA",
            GOOD_MINHASH[:-3],
            GOOD_MINHASH + "==",
            "[]",
            '[{"x": 1}]',
            "0x" + "1" * 64,
        ]
    ),
    nasty_text,
    numbers.map(str),
)
signal_types = st.one_of(st.sampled_from(SIGNAL_TYPES), nasty_text)
label_values = st.one_of(nasty_text, st.text(min_size=90, max_size=400), numbers.map(str))
hex_digits = "0123456789abcdef"
# A valid signal with hostile labels: the labels are what reaches the database.
valid_signals = st.one_of(
    st.tuples(st.just("pdq"), st.text(hex_digits, min_size=64, max_size=64)),
    st.tuples(st.just("md5"), st.text(hex_digits, min_size=32, max_size=32)),
    st.tuples(st.just("text_minhash"), st.just(GOOD_MINHASH)),
)
labelled_rows = st.builds(
    lambda signal, labels: [*signal, *labels], valid_signals, st.lists(label_values, max_size=6)
)


def imported(content: bytes, name: str, fmt: str | None, engine: Engine) -> set[str]:
    """Import ``content`` as a file called ``name`` into a new bank; check what every import
    must hold; return the hash values the bank holds."""
    executions[f"bank import {fmt or 'guessed'}"] += 1
    bank = f"FUZZ_{next(_banks)}"
    with engine.begin() as connection:
        create_bank(connection, bank, actor="fuzz", now=utcnow())
    with tempfile.TemporaryDirectory(prefix="redline-fuzz-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        with engine.begin() as connection:
            summary = import_file(connection, bank, path, actor="fuzz", fmt=fmt, now=utcnow())
    rows = list(read_rows(content, summary.format))
    assert summary.added + summary.duplicates + summary.quarantined <= len(rows)
    for problem in summary.problems:
        assert problem.startswith(str(path)) and ": " in problem, problem
    with engine.connect() as connection:
        bank_id = connection.scalar(select(Bank.id).where(Bank.name == bank))
        quarantined = connection.execute(
            select(Quarantine.file, Quarantine.location, Quarantine.reason).where(
                Quarantine.bank_id == bank_id
            )
        ).all()
        values = set(
            connection.scalars(
                select(BankSignal.value)
                .join(BankEntry, BankEntry.id == BankSignal.entry_id)
                .where(BankEntry.bank_id == bank_id)
            )
        )
    assert len(quarantined) <= summary.quarantined
    for file, location, reason in quarantined:
        assert file and location and reason
    return values


def good_kept(values: set[str], minhash: bool = False) -> None:
    assert set(GOOD_PDQ) <= values
    if minhash:
        assert GOOD_MINHASH in values


# --- CSV ------------------------------------------------------------------------------------------

CSV_HEADERS = [
    ["signal_type", "signal_str", "collab", "category", "tags"],  # python-threatexchange
    ["signal_type", "signal", "category", "tags", "source_org", "added_at", "note"],  # redline
]


@given(
    header=st.sampled_from(CSV_HEADERS),
    rows=st.lists(
        st.one_of(
            st.lists(st.one_of(signal_types, hashes, label_values), max_size=8), labelled_rows
        ),
        max_size=5,
    ),
    quoted=st.booleans(),
    damage=st.booleans(),
    data=st.data(),
)
@fuzz_settings()
def test_csv(
    engine: Engine,
    header: list[str],
    rows: list[list[str]],
    quoted: bool,
    damage: bool,
    data: st.DataObject,
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    good = [["pdq", value] + ["x"] * (len(header) - 2) for value in GOOD_PDQ]
    good.append(["text_minhash", GOOD_MINHASH] + [""] * (len(header) - 2))
    writer.writerows(good)
    if quoted:
        writer.writerows(rows)
    else:
        out.write("".join(",".join(row) + "\n" for row in rows))
    content = out.getvalue().encode("utf-8", "surrogatepass")
    if damage:
        content = data.draw(mutated(content))
    values = imported(content, "list.csv", "csv", engine)
    if not damage:
        good_kept(values, minhash=True)


# --- JSON -----------------------------------------------------------------------------------------

json_entries = st.one_of(
    st.fixed_dictionaries(
        {"signal_type": signal_types, "signal": hashes},
        optional={key: scalars for key in ("category", "tags", "source_org", "note", "added_at")},
    ),
    st.builds(
        lambda signal, labels: {"signal_type": signal[0], "signal": signal[1], **labels},
        valid_signals,
        st.fixed_dictionaries(
            {},
            optional={
                key: st.one_of(scalars, label_values)
                for key in ("category", "tags", "source_org", "note", "added_at")
            },
        ),
    ),
    st.dictionaries(
        st.one_of(signal_types, st.sampled_from(["note", "id", "signals"])),
        st.one_of(hashes, json_values),
        max_size=4,
    ),
    st.fixed_dictionaries(
        {"signals": st.dictionaries(signal_types, hashes, max_size=3)},
        optional={"category": label_values, "enabled": scalars},
    ),
    json_values,
)


@given(entries=st.lists(json_entries, max_size=5), wrapped=st.booleans())
@fuzz_settings()
def test_json(engine: Engine, entries: list[Any], wrapped: bool) -> None:
    good: list[Any] = [{"signal_type": "pdq", "signal": v, "category": "x"} for v in GOOD_PDQ]
    good.append({"text_minhash": GOOD_MINHASH, "note": "generic"})
    document: Any = good + entries
    if wrapped:
        document = {"bank": {"name": "X"}, "columns": [], "entries": document}
    values = imported(to_json(document, ascii=True).encode(), "list.json", "json", engine)
    good_kept(values, minhash=True)


@given(
    content=hostile_file(
        st.lists(json_entries, max_size=4).map(
            lambda e: to_json(e).encode("utf-8", "surrogatepass")
        )
    )
)
@fuzz_settings()
def test_json_damaged(engine: Engine, content: bytes) -> None:
    imported(content, "list.json", "json", engine)


# --- plain lists: PDQ hex, "<type> <hash>" lines, and any file whose format is guessed -----------

plain_lines = st.one_of(
    hashes,
    st.builds(lambda kind, value: f"{kind} {value}", signal_types, hashes),
    st.builds(lambda value, note: f"{value} # {note}", hashes, nasty_text),
).map(lambda line: line.replace("\n", " ").encode("utf-8", "surrogatepass"))


@given(lines=st.lists(plain_lines, max_size=6), damage=st.booleans(), data=st.data())
@fuzz_settings()
def test_plain(engine: Engine, lines: list[bytes], damage: bool, data: st.DataObject) -> None:
    content = "".join(v + "\n" for v in GOOD_PDQ).encode() + b"\n".join(lines) + b"\n"
    if damage:
        content = data.draw(mutated(content))
    values = imported(content, "pdq.txt", "plain", engine)
    if not damage:
        good_kept(values)


@given(content=st.binary(max_size=400), name=st.sampled_from(["x.csv", "x.json", "x.txt", "x"]))
@fuzz_settings()
def test_guessed_format(engine: Engine, content: bytes, name: str) -> None:
    imported(content, name, None, engine)


# --- crashers found, kept as regression cases ----------------------------------------------------


@pytest.mark.parametrize("crasher", sorted(p.name for p in CRASHERS.glob("bank-*")))
def test_crashers(engine: Engine, crasher: str) -> None:
    """Hash lists the harnesses broke on, now imported without a traceback."""
    content = (CRASHERS / crasher).read_bytes()
    values = imported(content, crasher.removeprefix("bank-"), None, engine)
    good_kept(values)
