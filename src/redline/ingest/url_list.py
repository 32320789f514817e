"""URL lists: one URL per line (blank lines and ``#`` comments are skipped), canonicalised."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from redline.ingest.encoding import decode_bytes
from redline.ingest.records import Read, ReadContext, Record, Rejection, SignalValue
from redline.signals import url as url_signal

_SUFFIXES = {".txt", ".urls", ".lst", ".list", ""}


def _looks_like_url(line: str) -> bool:
    return line.lower().startswith(("http://", "https://", "www.")) and " " not in line


class UrlList:
    """Each line a URL as it was found; its canonical form is stored as a ``url`` signal."""

    name = "url-list"
    description = "URL list, one per line (# comments); canonicalised, original kept"

    def sniff(self, path: Path) -> bool:
        if not (path.is_file() and path.suffix.lower() in _SUFFIXES):
            return False
        looked, urls = 0, 0
        with path.open("rb") as stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace").strip()
                if not line or line.startswith("#"):
                    continue
                looked += 1
                urls += _looks_like_url(line)
                if looked == 20:
                    break
        # Lists collected by hand have the odd bad line; those go to quarantine on reading.
        return urls > 0 and urls >= 0.8 * looked

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Read]:
        display = str(path)
        with ctx.open(path) as stream:
            for number, raw in enumerate(stream, start=1):
                line, encoding = decode_bytes(raw.rstrip(b"\r\n"))
                line = line.strip().lstrip("\ufeff")
                if not line or line.startswith("#"):
                    continue
                location = f"line {number}"
                try:
                    canonical = url_signal.canonicalise(line)
                except url_signal.BadUrl as error:
                    yield Rejection(display, location, f"not a URL: {error}", raw)
                    continue
                yield Record(
                    external_id=canonical.original,
                    file=display,
                    location=location,
                    raw=raw,
                    url=canonical.original,
                    signals=[
                        SignalValue(url_signal.SIGNAL_TYPE, canonical.canonical, canonical.meta())
                    ],
                    encoding=encoding,
                )
