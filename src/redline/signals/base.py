"""The interface every media signal type implements (after python-threatexchange's SignalType).

A signal type knows how to compute its hashes from a file, how to check and normalise a hash
written as text, and how far apart two hashes are. Matching against banks at scale is the job of
``redline.index``; ``compare`` here is the reference any index must agree with.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar


class BadSignal(ValueError):
    """A hash that is not a valid value of its signal type, or a file that cannot be hashed."""


@dataclass(frozen=True, slots=True)
class Hash:
    """One computed hash: its text form, its quality when the type has one, and details."""

    value: str
    quality: int | None = None
    meta: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    """Whether two hashes match at a threshold, and how close they are."""

    match: bool
    distance: float
    detail: dict[str, Any] = field(default_factory=dict)


class SignalType(ABC):
    """A kind of media hash: PDQ, vPDQ, MD5, SHA-256, ..."""

    name: ClassVar[str]
    media_kinds: ClassVar[frozenset[str]]  # Media.kind values it applies to
    default_threshold: ClassVar[float] = 0
    exact: ClassVar[bool] = False  # exact types match by equality (a database look-up)

    @classmethod
    @abstractmethod
    def validate(cls, value: str) -> str:
        """The normalised form of ``value``; BadSignal when it is not a valid hash."""

    @classmethod
    @abstractmethod
    def compute(cls, path: Path) -> list[Hash]:
        """The hashes of the file at ``path`` (empty when it has none, e.g. too low quality)."""

    @classmethod
    def compare(cls, a: str, b: str, threshold: float | None = None) -> Comparison:
        """Compare two valid hashes; exact types match on equality."""
        same = cls.validate(a) == cls.validate(b)
        return Comparison(same, 0 if same else 1)
