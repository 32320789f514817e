"""Hypothesis strategies for hostile input: valid skeletons with mutated fields, not only noise.

Values are what real exports and attackers send: huge and negative numbers, floats that are not
numbers, NUL and other control characters, lone surrogates (as JSON ``\\u`` escapes), right-to-left
marks, very long strings, deep nesting; files are truncated, have bytes flipped or inserted, and
come in other encodings or with byte-order marks. Text stays short and generic.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Characters that break naive parsers, terminals, databases and CSV readers.
NASTY_CHARS = "\x00\x01\x07\x08\x1b\x7f\x85\u2028\u2029\u200f\u202e\ufeff\ufffd\"',;|\t\r\n\\#&<>="
HUGE_NUMBERS = [2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, -(10**30)]
# Python refuses to turn text of more than 4300 digits into an int (or back): in JSON text such a
# number is legal, so ``to_json`` writes this marker as one.
HUGE_LITERAL = "@@huge-number@@"
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]

nasty_text = st.one_of(
    st.text(alphabet=st.sampled_from(NASTY_CHARS + "ab1 "), max_size=20),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "null",
            "NaN",
            "-1",
            "0",
            "1e999",
            "=cmd|' /C calc'!A0",
            "../../x",
            "/etc/passwd",
            "C:\\Windows\\win.ini",
            "\ud800",
            "a\x00b",
            "x" * 5000,
        ]
    ),
)

numbers = st.one_of(
    st.sampled_from(HUGE_NUMBERS),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(HUGE_LITERAL),  # becomes a 5000-digit number in JSON text (see ``to_json``)
)

scalars = st.one_of(st.none(), st.booleans(), numbers, nasty_text)

json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(nasty_text, children, max_size=4),
    ),
    max_leaves=12,
)


def deeply_nested(depth: int) -> str:
    """JSON text nested ``depth`` levels deep (parsers recurse on it)."""
    return "[" * depth + "]" * depth


def to_json(value: Any, ascii: bool = False) -> str:
    """``value`` as JSON text, whatever it holds (NaN, huge ints, lone surrogates: raw, or as
    ``\\u`` escapes when ``ascii``)."""
    text = json.dumps(value, ensure_ascii=ascii, allow_nan=True, default=str)
    return text.replace(f'"{HUGE_LITERAL}"', "9" * 5000)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` as it arrives damaged: truncated, bytes flipped or inserted, re-encoded."""
    how = draw(st.sampled_from(["as is", "truncate", "flip", "insert", "encode", "bom", "crlf"]))
    if how == "truncate" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    if how == "insert":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
    if how == "encode":
        text = data.decode("utf-8", "replace")
        return text.encode(draw(st.sampled_from(ENCODINGS)), "replace")
    if how == "bom":
        return draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])) + data
    if how == "crlf":
        return data.replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r", b"\n\n"])))
    return data


def hostile_file(skeleton: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A file made from ``skeleton`` and mutated, or just random bytes."""
    return st.one_of(skeleton.flatmap(mutated), st.binary(max_size=300))
