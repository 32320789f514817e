"""Text from inputs, made safe to print: an export's bytes must never drive the terminal."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls (ESC starts the sequences that recolour,
# retitle or rewrite a terminal; CR overwrites a line), the bidirectional overrides that reorder
# what is shown, and lone surrogates (undecodable bytes) that no terminal encoding can print.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``)."""
    return _UNPRINTABLE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
