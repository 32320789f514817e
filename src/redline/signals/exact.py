"""Exact file hashes: MD5 (HMA's ``video_md5`` for videos, ``md5`` for any file) and SHA-256.

They match on equality only, so matching them is a database join against the hashes the store
computed when each file was ingested; nothing is re-read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import ClassVar

from redline.signals.base import BadSignal, Hash, SignalType

_HEX = frozenset("0123456789abcdef")


def _file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _ExactHash(SignalType):
    algorithm: ClassVar[str]
    digits: ClassVar[int]
    exact: ClassVar[bool] = True

    @classmethod
    def validate(cls, value: str) -> str:
        text = value.strip().lower()
        if len(text) != cls.digits or not set(text) <= _HEX:
            raise BadSignal(
                f"invalid {cls.name} hash {value[:80]!r}: expected {cls.digits} hex digits"
            )
        return text

    @classmethod
    def compute(cls, path: Path) -> list[Hash]:
        return [Hash(_file_digest(path, cls.algorithm))]


class Md5Signal(_ExactHash):
    """MD5 of the whole file, any media kind (hash lists often carry MD5 for photos too)."""

    name: ClassVar[str] = "md5"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"image", "video", "file"})
    algorithm: ClassVar[str] = "md5"
    digits: ClassVar[int] = 32


class VideoMd5Signal(Md5Signal):
    """MD5 of a video file, under the name HMA and python-threatexchange use."""

    name: ClassVar[str] = "video_md5"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"video"})


class Sha256Signal(_ExactHash):
    """SHA-256 of the whole file."""

    name: ClassVar[str] = "sha256"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"image", "video", "file"})
    algorithm: ClassVar[str] = "sha256"
    digits: ClassVar[int] = 64
