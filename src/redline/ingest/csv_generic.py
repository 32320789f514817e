"""Generic CSV (and TSV): any table with a text column, mapped with --text-column and friends."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from redline.ingest.csvfile import CsvError, CsvRow, read_rows
from redline.ingest.records import CsvColumns, Read, ReadContext, Record, Rejection, UsageProblem
from redline.ingest.times import BadTime, parse_time

TEXT_COLUMNS = (
    "text",
    "tweets",
    "tweet",
    "full_text",
    "content",
    "article_content",
    "body",
    "message",
    "post",
    "caption",
)
TIME_COLUMNS = ("time", "created_at", "timestamp", "posted_at", "date")
ACCOUNT_COLUMNS = ("username", "screen_name", "user_screen_name", "account", "author", "user")
ACCOUNT_NAME_COLUMNS = ("name", "user_name", "account_name", "display_name")
URL_COLUMNS = ("url", "link", "permalink")


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Column positions of one CSV file's fields (None: the file has no such column)."""

    header: list[str]
    text: int
    id: int | None
    time: int | None
    account: int | None
    account_name: int | None
    url: int | None

    def others(self) -> list[int]:
        mapped = {self.text, self.id, self.time, self.account, self.account_name, self.url}
        return [i for i in range(len(self.header)) if i not in mapped]


def find_column(header: Sequence[str], names: Sequence[str]) -> int | None:
    """Position of the first of ``names`` in ``header`` (case-insensitive), or None."""
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _chosen(header: list[str], given: str | None, option: str, path: Path) -> int | None:
    if given is None:
        return None
    index = find_column(header, (given.lower(),))
    if index is None:
        raise UsageProblem(
            f"{path}: no column {given!r} for {option} (columns: {', '.join(header)})"
        )
    return index


def map_columns(
    header: list[str],
    cols: CsvColumns,
    path: Path,
    id_names: Sequence[str] = (),
    text_names: Sequence[str] = TEXT_COLUMNS,
) -> ColumnMap:
    """Resolve the columns to read: the user's choice first, then well-known names."""
    text = _chosen(header, cols.text, "--text-column", path)
    if text is None:
        text = find_column(header, text_names)
    if text is None:
        raise UsageProblem(
            f"{path}: cannot tell which column holds the text; pass --text-column "
            f"(columns: {', '.join(header)})"
        )
    chosen_id = _chosen(header, cols.id, "--id-column", path)
    chosen_time = _chosen(header, cols.time, "--time-column", path)
    chosen_account = _chosen(header, cols.account, "--account-column", path)
    return ColumnMap(
        header=header,
        text=text,
        id=chosen_id if chosen_id is not None else find_column(header, id_names),
        time=chosen_time if chosen_time is not None else find_column(header, TIME_COLUMNS),
        account=chosen_account
        if chosen_account is not None
        else find_column(header, ACCOUNT_COLUMNS),
        account_name=find_column(header, ACCOUNT_NAME_COLUMNS),
        url=find_column(header, URL_COLUMNS),
    )


def read_header(path: Path) -> list[str]:
    """The header row of a CSV file (for sniffing), or [] when there is none."""
    with path.open("rb") as stream:
        for row in read_rows(stream, max_field_bytes=1 << 20):
            return row.fields if isinstance(row, CsvRow) else []
    return []


def read_mapped_csv(
    path: Path,
    ctx: ReadContext,
    *,
    id_names: Sequence[str] = (),
    text_names: Sequence[str] = TEXT_COLUMNS,
    parse: Callable[[str], datetime] | None = None,
    unescape_html: bool = False,
) -> Iterator[Read]:
    """Records of a CSV file whose columns ``map_columns`` resolves."""
    display = str(path)
    time_format = ctx.columns.time_format
    parse_at: Callable[[str], datetime] = parse or (lambda text: parse_time(text, time_format))
    with ctx.open(path) as stream:
        rows = read_rows(stream, ctx.max_field_bytes)
        first = next(rows, None)
        if first is None:
            return
        if isinstance(first, CsvError):
            raise UsageProblem(f"{path}: cannot read the CSV header: {first.reason}")
        columns = map_columns(first.fields, ctx.columns, path, id_names, text_names)
        width = len(columns.header)
        others = [(i, columns.header[i]) for i in columns.others()]
        # This loop runs once per row of files with millions of rows: locals, no helper calls.
        text_at, id_at, time_at = columns.text, columns.id, columns.time
        account_at, name_at, url_at = columns.account, columns.account_name, columns.url
        time_name = columns.header[time_at] if time_at is not None else ""
        for row in rows:
            if isinstance(row, CsvError):
                yield Rejection(display, f"line {row.line}", row.reason, row.raw)
                continue
            fields = row.fields
            if len(fields) != width:
                what = "truncated row" if len(fields) < width else "row too long"
                reason = f"{what}: {len(fields)} fields, the header has {width}"
                yield Rejection(display, f"line {row.line}", reason, row.raw)
                continue
            posted_at = None
            dropped = None
            if time_at is not None and fields[time_at]:
                try:
                    posted_at = parse_at(fields[time_at])
                except BadTime as error:
                    # The time is optional: the post is stored without it, with a warning.
                    dropped = [f"column {time_name!r}: {error} (field dropped)"]
            text = fields[text_at]
            if unescape_html and "&" in text:
                text = html.unescape(text)
            yield Record(
                fields[id_at] if id_at is not None else None,
                display,
                f"line {row.line}",
                row.raw,
                text,
                (fields[account_at].strip() or None) if account_at is not None else None,
                (fields[name_at].strip() or None) if name_at is not None else None,
                posted_at,
                (fields[url_at].strip() or None) if url_at is not None else None,
                extra=({name: fields[i] for i, name in others if fields[i]} or None)
                if others
                else None,
                encoding=row.encoding,
                warnings=dropped or [],
            )


class GenericCsv:
    """Any CSV/TSV with a header row; the text column is --text-column or a well-known name."""

    name = "csv"
    description = "CSV/TSV with a header; map columns with --text-column/--id-column/--time-column"

    def sniff(self, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in {".csv", ".tsv"}

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Read]:
        return read_mapped_csv(path, ctx, id_names=("id",))
