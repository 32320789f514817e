"""Per-record text decoding for inputs that do not promise one encoding (CSV, plain lists).

Real exports mix encodings: a UTF-8 file with some rows pasted from Windows software is common (the
FA-KES news set is one). Decoding each record on its own keeps every record, says which encoding
it was read with, and never turns good UTF-8 into mojibake because of a bad row elsewhere.

The fallback is windows-1252 as browsers define it (WHATWG): the five bytes Windows leaves
undefined decode to the C1 control of the same number, so decoding never fails and the original
bytes can always be recovered from the stored text.
"""

from __future__ import annotations

UTF8 = "utf-8"
WINDOWS_1252 = "windows-1252"


def _cp1252_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for byte in range(0x80, 0xA0):
        try:
            table[byte] = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            continue  # undefined in Windows: keep the C1 control, as WHATWG does
    return table


# Applied to text that was read as latin-1 (one code point per byte): only 0x80-0x9F differ.
_LATIN1_TO_CP1252 = str.maketrans(_cp1252_table())


def decode_fields(fields: list[str]) -> tuple[list[str], str]:
    """Re-decode fields read as latin-1; UTF-8 when the whole record is valid UTF-8, else cp1252.

    Reading bytes as latin-1 first is lossless and lets the CSV parser (which only needs ASCII
    delimiters and quotes) run once over the whole file, whatever each row's encoding.
    """
    if all(f.isascii() for f in fields):
        return fields, UTF8
    try:
        return [f if f.isascii() else f.encode("latin-1").decode(UTF8) for f in fields], UTF8
    except UnicodeDecodeError:
        return [f.translate(_LATIN1_TO_CP1252) for f in fields], WINDOWS_1252


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode one value: UTF-8 when valid, else windows-1252 (WHATWG); never fails."""
    try:
        return data.decode(UTF8), UTF8
    except UnicodeDecodeError:
        return data.decode("latin-1").translate(_LATIN1_TO_CP1252), WINDOWS_1252
