"""Reading real inputs into the store: one module per format, registered in ``FORMATS``.

A format turns a path into Records (and Rejections for what it cannot read); ``run.ingest``
validates, hashes, deduplicates and stores them. Adding a format is one module and one line here.
"""

from __future__ import annotations

from pathlib import Path

from redline.ingest.csv_generic import GenericCsv
from redline.ingest.jsonl import Jsonl
from redline.ingest.media_dir import MediaDir
from redline.ingest.records import Format, UsageProblem
from redline.ingest.telegram_json import TelegramJson
from redline.ingest.twitter_csv import TwitterCsv
from redline.ingest.url_list import UrlList

# In the order ``--format auto`` tries them: the most specific first.
FORMATS: dict[str, Format] = {
    f.name: f for f in (TelegramJson(), TwitterCsv(), GenericCsv(), Jsonl(), UrlList(), MediaDir())
}


def guess_format(path: Path) -> Format:
    """The first format that recognises ``path``; UsageProblem when none does."""
    for fmt in FORMATS.values():
        if fmt.sniff(path):
            return fmt
    names = ", ".join(FORMATS)
    raise UsageProblem(f"cannot tell the format of {path}: pass --format ({names})")


def get_format(name: str, path: Path) -> Format:
    """The format called ``name`` (``auto`` guesses from ``path``)."""
    if name == "auto":
        return guess_format(path)
    try:
        return FORMATS[name]
    except KeyError:
        raise UsageProblem(
            f"unknown format {name!r}: use one of auto, {', '.join(FORMATS)}"
        ) from None


__all__ = ["FORMATS", "Format", "UsageProblem", "get_format", "guess_format"]
