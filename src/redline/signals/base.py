"""The interface every signal type implements (after python-threatexchange's SignalType).

A signal type knows how to compute its hashes from a file, how to check and normalise a hash
written as text, how far apart two hashes are, how its bank values are indexed, and how a query
is matched against the banks (``match``, as python-threatexchange's ``get_index_cls``). The
matcher (``redline.pipeline.match``) and the index store (``redline.index.store``) ask the
signal type and never branch on its name, so a new signal type is one module and one line in
``redline.signals``. ``compare`` is the reference any index must agree with.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Protocol


class BadSignal(ValueError):
    """A hash that is not a valid value of its signal type, or a file that cannot be hashed."""


@dataclass(frozen=True, slots=True)
class Hash:
    """One computed hash: its text form, its quality when the type has one, and details."""

    value: str
    quality: int | None = None
    meta: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """A hash to look up in the banks: what crosses from hashing to matching.

    Signal types whose matching uses more than the hash (PDQ's rotations and border-trimmed
    hash) subclass it; ``stored_meta`` is what a scanned file's Signal row keeps of it, and
    ``SignalType.query`` reads it back.
    """

    value: str
    quality: int | None = None  # None: unknown (a hash sent as text), never filtered on

    def stored_meta(self) -> dict[str, Any] | None:
        """The Signal row's ``meta`` for this query (None: nothing beside the hash)."""
        return None


@dataclass(frozen=True, slots=True)
class Comparison:
    """Whether two hashes match at a threshold, and how close they are."""

    match: bool
    distance: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BankMatch:
    """A query hash that matched a bank entry."""

    bank: str
    bank_id: int
    entry_id: int
    signal_type: str
    distance: float
    category: str | None = None
    confirmed: bool = True
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BankRules:
    """A bank's matching settings."""

    id: int
    name: str
    enabled: bool
    enabled_ratio: float
    threshold: int  # PDQ distance
    dihedral: bool
    confirmed: bool
    text_threshold: float
    # The share of a post (or of the banked text) that must be banked text (or in the post) for
    # a containment match (``redline.signals.excerpt``).
    containment_threshold: float = 0.8

    def usable(self, entry_enabled: bool, include_disabled_banks: bool) -> bool:
        """Whether a hit on an entry of this bank may match: a disabled entry never does; a
        disabled bank only when asked (HMA's coinflip decides bank by bank itself)."""
        return entry_enabled and (include_disabled_banks or self.enabled)


@dataclass(frozen=True, slots=True)
class BankedSignal:
    """A bank signal (one hash of a bank entry) with its entry's settings."""

    entry_id: int
    bank_id: int
    enabled: bool
    category: str | None
    value: str
    meta: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Hit:
    """A bank signal within the searched radius of a query hash (``part``: the bank value's
    hash number, e.g. a vPDQ frame, when one value is indexed as several hashes)."""

    signal_id: int
    distance: int
    part: int = 0


@dataclass(frozen=True, slots=True)
class EqualValue:
    """A bank signal whose value equals a queried one."""

    value: str
    entry_id: int
    bank_id: int
    enabled: bool
    category: str | None


class TextSearch(Protocol):
    """An index of text signatures: (bank signal id, similarity) at or above a threshold."""

    def __len__(self) -> int: ...

    def search(self, signature: Any, threshold: float) -> list[tuple[int, float]]: ...


class BankLookup(Protocol):
    """What matching can ask of the banks (``redline.pipeline.match.Matcher`` answers)."""

    def banks(self) -> dict[int, BankRules]:
        """Every bank's matching settings, by id."""
        ...

    def entries(self, signal_ids: Iterable[int]) -> dict[int, BankedSignal]:
        """The bank entries behind bank signal ids."""
        ...

    def near(self, signal_type: str, hashes: Sequence[str], radius: int) -> list[list[Hit]]:
        """For each hash, the indexed bank signals of ``signal_type`` within ``radius``."""
        ...

    def equal(self, signal_types: Sequence[str], values: Sequence[str]) -> list[EqualValue]:
        """The bank signals of ``signal_types`` whose value is one of ``values``."""
        ...

    def texts(self, signal_type: str) -> TextSearch:
        """The text index of ``signal_type``'s bank signatures."""
        ...


class Indexed(StrEnum):
    """How bank values of a signal type are held in redline's Hamming-distance index."""

    WHOLE = "whole"  # one 256-bit hash per bank value (PDQ)
    PARTS = "parts"  # several per value, numbered (vPDQ's frames)


class SignalType(ABC):
    """A kind of media hash: PDQ, vPDQ, MD5, SHA-256, ..."""

    name: ClassVar[str]
    media_kinds: ClassVar[frozenset[str]]  # Media.kind values it applies to
    default_threshold: ClassVar[float] = 0
    exact: ClassVar[bool] = False  # exact types match by equality (a database look-up)
    # None: not in a Hamming index (matched in the database, or in another kind of index).
    indexed: ClassVar[Indexed | None] = None
    # Hashes of a lower quality are kept but never matched (PDQ: 50, as python-threatexchange).
    min_quality: ClassVar[int] = 0
    # Another signal type whose computed value this one always has (video_md5 is md5 under
    # HMA's name): a file is hashed once for both.
    same_value_as: ClassVar[str | None] = None

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

    @classmethod
    def hash_query(cls, path: Path) -> Query:
        """The query of the file at ``path``: what a scan stores and matches."""
        (computed,) = cls.compute(path)
        return Query(computed.value, computed.quality)

    @classmethod
    def query(
        cls, value: str, quality: int | None = None, meta: Mapping[str, Any] | None = None
    ) -> Query:
        """The query of a stored or received hash (``meta``: a Signal row's, if any)."""
        return Query(value, quality)

    @classmethod
    def index_hashes(cls, value: str) -> list[str]:
        """The hex hashes a bank value is indexed as (``indexed`` types only)."""
        return [value]

    @classmethod
    def match(
        cls, lookup: BankLookup, queries: Sequence[Query], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Each query's matches among the banks' entries, best first."""
        raise BadSignal(f"{cls.name} hashes are not looked up on their own")
