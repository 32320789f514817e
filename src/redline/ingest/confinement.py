"""Keeping an ingest inside the export it was given.

An export names files: JSONL ``media``, Telegram ``photo``/``file``/``thumbnail``, sidecars, the
files of a media folder. Whatever the export says, redline only reads files that lie inside the
export's folder once every symlink is resolved, and never the store's own files (the live SQLite
database holds password hashes). Anything else would let a crafted export copy any file the
ingesting user can read into evidence that reviewers download.
"""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy.engine import make_url


class RefusedPath(ValueError):
    """Why redline will not read a path an export names."""


def store_files(database_url: str) -> frozenset[Path]:
    """The files of the live store an export must never name (the SQLite database and its logs)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return frozenset()
    database = Path(url.database).resolve()
    suffixes = ("", "-wal", "-shm", "-journal")
    return frozenset(database.with_name(database.name + suffix) for suffix in suffixes)


def input_bytes(reference: str) -> bytes:
    """The bytes of a path (or any text read from an input) as the input had them."""
    try:
        return reference.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate written as a JSON escape
        return reference.encode("utf-8", "surrogatepass")


def storable_text(reference: str) -> str:
    """Text any database stores (no lone surrogates): bytes that were not UTF-8 as ``\\xNN``."""
    return input_bytes(reference).decode("utf-8", "backslashreplace")


def confine(root: Path, reference: str, protected: frozenset[Path] = frozenset()) -> Path:
    """The regular file ``reference`` names under ``root``, symlinks resolved; RefusedPath if
    it lies outside ``root`` or is one of the ``protected`` files."""
    if "\x00" in reference:
        raise RefusedPath("path contains a NUL character")
    try:  # undecodable bytes of a file name (surrogateescape) are fine, other surrogates not
        reference.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise RefusedPath("path is not valid Unicode (an unpaired surrogate)") from None
    base = root.resolve()
    # An absolute reference replaces ``base`` in the join; resolve() then removes every ``..``
    # and follows every symlink, so one containment check covers all three ways out.
    try:
        target = (base / reference).resolve()
    except (OSError, RuntimeError, ValueError) as error:  # a symlink loop, a name too long
        raise RefusedPath(f"cannot resolve path: {error}") from None
    if not target.is_relative_to(base):
        raise RefusedPath("path leads outside the export's folder")
    if target in protected:
        raise RefusedPath("path names redline's own database")
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        raise RefusedPath("file not found") from None
    except OSError as error:
        raise RefusedPath(f"cannot read file: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        raise RefusedPath("not a regular file")
    return target
