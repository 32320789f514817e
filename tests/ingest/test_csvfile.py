"""CSV reading: per-record encodings, raw bytes kept, recovery from broken quoting."""

from __future__ import annotations

import io

from redline.ingest.csvfile import CsvError, CsvRow, read_rows
from redline.ingest.encoding import WINDOWS_1252, decode_bytes


def rows(data: bytes, limit: int = 1_000_000) -> list[CsvRow | CsvError]:
    return list(read_rows(io.BytesIO(data), limit))


def test_each_record_is_decoded_on_its_own() -> None:
    data = (
        "id,text\n1,caf\u00e9 in UTF-8\n".encode()
        + b"2,smart \x93quotes\x94 from Windows\n"
        + "3,\u0645\u0631\u062d\u0628\u0627 again UTF-8\n".encode()
        + b"4,a \x95\x81 byte Windows leaves undefined\n"
    )
    header, *records = rows(data)
    assert isinstance(header, CsvRow) and header.fields == ["id", "text"]
    assert [(r.fields[1], r.encoding) for r in records if isinstance(r, CsvRow)] == [
        ("caf\u00e9 in UTF-8", "utf-8"),
        ("smart \u201cquotes\u201d from Windows", WINDOWS_1252),
        ("\u0645\u0631\u062d\u0628\u0627 again UTF-8", "utf-8"),
        ("a \u2022\x81 byte Windows leaves undefined", WINDOWS_1252),
    ]


def test_windows_1252_decoding_never_fails_and_loses_nothing() -> None:
    decoded, encoding = decode_bytes(bytes(range(256)))
    assert encoding == WINDOWS_1252
    assert len(decoded) == 256
    assert len(set(decoded)) == 256  # one character per byte value: the bytes can be recovered
    assert decoded[0x80] == "\u20ac"  # the euro sign, as Windows writes it
    assert decoded[0x81] == "\x81"  # undefined in Windows: kept as the C1 control, per WHATWG


def test_raw_bytes_and_line_numbers_follow_multiline_records() -> None:
    data = b'id,text\n1,"first line\nsecond line"\n2,plain\n'
    _, first, second = rows(data)
    assert isinstance(first, CsvRow) and isinstance(second, CsvRow)
    assert first.fields == ["1", "first line\nsecond line"]
    assert (first.line, first.raw) == (2, b'1,"first line\nsecond line"\n')
    assert (second.line, second.raw) == (4, b"2,plain\n")


def test_a_stray_quote_loses_one_line_not_the_rest_of_the_file() -> None:
    data = b'id,text\n1,ok\n2,"broken quote here\n3,fine\n4,"quoted, fine"\n5,last\n'
    parsed = rows(data)[1:]
    good = [r.fields for r in parsed if isinstance(r, CsvRow)]
    bad = [r for r in parsed if isinstance(r, CsvError)]
    assert good == [["1", "ok"], ["3", "fine"], ["4", "quoted, fine"], ["5", "last"]]
    assert len(bad) == 1
    assert bad[0].line == 3
    assert bad[0].raw == b'2,"broken quote here\n'
    assert "re-reading from line 4" in bad[0].reason


def test_unterminated_quote_at_end_of_file_is_reported() -> None:
    parsed = rows(b'id,text\n1,ok\n2,"never closed\n')[1:]
    assert isinstance(parsed[0], CsvRow)
    assert isinstance(parsed[1], CsvError) and parsed[1].line == 3


def test_oversize_field_is_an_error_and_reading_goes_on() -> None:
    data = b"id,text\n1," + b"x" * 5000 + b"\n2,small\n"
    parsed = rows(data, limit=1024)[1:]
    assert isinstance(parsed[0], CsvError) and "field larger than field limit" in parsed[0].reason
    assert isinstance(parsed[1], CsvRow) and parsed[1].fields == ["2", "small"]


def test_bom_blank_lines_and_delimiters() -> None:
    tsv = rows(b"\xef\xbb\xbfid\ttext\n\n1\thello, world\r\n")
    assert [r.fields for r in tsv if isinstance(r, CsvRow)] == [
        ["id", "text"],
        ["1", "hello, world"],
    ]
    semicolon = rows(b"id;text\n1;bonjour\n")
    assert [r.fields for r in semicolon if isinstance(r, CsvRow)][1] == ["1", "bonjour"]
