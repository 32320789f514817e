"""A folder of images and videos, each with an optional sidecar JSON of metadata.

A sidecar is ``photo.jpg.json`` or ``photo.json`` beside ``photo.jpg`` and uses the JSON Lines
record schema (id, text, time, account, url, ...). Without one, the file's path under the folder
is its id. Hidden files are ignored; other files are quarantined as not media. A symlink that
leads out of the folder is never followed: its name goes to quarantine instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from redline import jsontext
from redline.ingest.confinement import RefusedPath, input_bytes, storable_text
from redline.ingest.jsonl import BadRecord, json_error, record_from_object
from redline.ingest.media import MEDIA_SUFFIXES
from redline.ingest.records import MediaFile, Read, ReadContext, Record, Rejection


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        yield path


def _sidecar(media: Path) -> Path | None:
    for candidate in (media.with_name(media.name + ".json"), media.with_suffix(".json")):
        if candidate.is_file():
            return candidate
    return None


def _head(path: Path, limit: int) -> bytes:
    with path.open("rb") as stream:
        return stream.read(limit)


class MediaDir:
    """Every image and video under a folder becomes an item carrying that file."""

    name = "media-dir"
    description = "folder of images/videos with optional sidecar .json metadata"

    def sniff(self, path: Path) -> bool:
        if path.is_file():
            return path.suffix.lower() in MEDIA_SUFFIXES
        return path.is_dir() and any(p.suffix.lower() in MEDIA_SUFFIXES for p in _files(path))

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Read]:
        root = path if path.is_dir() else path.parent
        files = list(_files(path)) if path.is_dir() else [path]
        sidecars = {
            s
            for f in files
            if (s := _sidecar(f)) is not None and f.suffix.lower() in MEDIA_SUFFIXES
        }
        for file in files:
            relative = file.relative_to(root).as_posix()
            if file in sidecars:
                continue
            try:
                ctx.locate(root, relative)
            except RefusedPath as error:
                reason = f"{storable_text(relative)}: {error}"
                yield Rejection(str(file), "whole file", reason, input_bytes(relative))
                continue
            if file.suffix.lower() not in MEDIA_SUFFIXES:
                ctx.on_bytes(file.stat().st_size)
                reason = f"not an image or video ({file.suffix or 'no extension'})"
                yield Rejection(str(file), "whole file", reason, _head(file, ctx.max_field_bytes))
                continue
            sidecar = _sidecar(file)
            if sidecar is not None:
                ctx.on_bytes(sidecar.stat().st_size)
            yield self._record(file, relative, root, ctx)

    def _record(
        self, file: Path, relative: str, root: Path, ctx: ReadContext
    ) -> Record | Rejection:
        display = str(file)
        sidecar = _sidecar(file)
        if sidecar is None:
            return Record(
                external_id=relative,
                file=display,
                location="whole file",
                raw=b"",
                media=[MediaFile(root, relative)],
            )
        where = f"sidecar {sidecar.name}"
        try:
            raw = ctx.locate(root, sidecar.relative_to(root).as_posix()).read_bytes()
        except RefusedPath as error:
            reference = input_bytes(sidecar.relative_to(root).as_posix())
            return Rejection(display, "whole file", f"{where}: {error}", reference)
        try:
            obj = jsontext.loads(raw.decode("utf-8"))
            record = record_from_object(
                obj, base_dir=root, file=display, location="whole file", raw=raw
            )
        except UnicodeDecodeError:
            return Rejection(display, "whole file", f"{where} is not UTF-8", raw)
        except json.JSONDecodeError as error:
            return Rejection(display, "whole file", f"{where}: {json_error(error)}", raw)
        except BadRecord as error:
            return Rejection(display, "whole file", f"{where}: {error}", raw)
        record.external_id = record.external_id or relative
        record.media = [MediaFile(root, relative), *record.media]
        return record
