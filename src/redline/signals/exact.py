"""Exact file hashes: MD5 (HMA's ``video_md5`` for videos, ``md5`` for any file) and SHA-256.

They match on equality only, so matching them is a database join against the hashes the store
computed when each file was ingested; nothing is re-read.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from redline.signals.base import BadSignal, BankLookup, BankMatch, Hash, Query, SignalType

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

    # The signal types whose bank values are the same digest (MD5 under both its names).
    same_digest: ClassVar[tuple[str, ...]]

    @classmethod
    def compute(cls, path: Path) -> list[Hash]:
        return [Hash(_file_digest(path, cls.algorithm))]

    @classmethod
    def match(
        cls, lookup: BankLookup, queries: Sequence[Query], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Matches of each hash by equality, distance 0."""
        banks = lookup.banks()
        results: list[list[BankMatch]] = [[] for _ in queries]
        positions: dict[str, list[int]] = defaultdict(list)
        for position, query in enumerate(queries):
            positions[query.value].append(position)
        seen: set[tuple[str, int]] = set()
        for found in lookup.equal(cls.same_digest, list(positions)):
            bank = banks.get(found.bank_id)
            if bank is None or not bank.usable(found.enabled, include_disabled_banks):
                continue
            if (found.value, found.entry_id) in seen:
                continue
            seen.add((found.value, found.entry_id))
            for position in positions[found.value]:
                results[position].append(
                    BankMatch(
                        bank.name,
                        bank.id,
                        found.entry_id,
                        cls.name,
                        0.0,
                        found.category,
                        bank.confirmed,
                    )
                )
        return results


class Md5Signal(_ExactHash):
    """MD5 of the whole file, any media kind (hash lists often carry MD5 for photos too)."""

    name: ClassVar[str] = "md5"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"image", "video", "file"})
    algorithm: ClassVar[str] = "md5"
    digits: ClassVar[int] = 32
    same_digest: ClassVar[tuple[str, ...]] = ("md5", "video_md5")


class VideoMd5Signal(Md5Signal):
    """MD5 of a video file, under the name HMA and python-threatexchange use."""

    name: ClassVar[str] = "video_md5"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"video"})
    same_value_as: ClassVar[str | None] = Md5Signal.name


class Sha256Signal(_ExactHash):
    """SHA-256 of the whole file."""

    name: ClassVar[str] = "sha256"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"image", "video", "file"})
    algorithm: ClassVar[str] = "sha256"
    digits: ClassVar[int] = 64
    same_digest: ClassVar[tuple[str, ...]] = ("sha256",)
