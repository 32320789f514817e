"""What every exchange is: fetch what changed since a checkpoint, as entries added, relabelled
and removed (after python-threatexchange's ``SignalExchangeAPI``).

An exchange module only talks to its source and translates; storing what it fetched into a bank,
with the checkpoint, is ``exchanges.run``'s, the same for every exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable


class ExchangeRefused(Exception):
    """What the source sent (or did not) cannot be used; ``str(error)`` is the one-line reason,
    recorded as the exchange's last error. Nothing of that fetch is stored."""


@dataclass(frozen=True, slots=True)
class SharedEntry:
    """One entry as the exchange shares it: its id there, its hashes by signal type and labels."""

    remote_id: str
    signals: dict[str, list[str]]
    category: str | None = None
    tags: str | None = None
    source_org: str | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """What changed since a checkpoint, each entry once (as it is now), and the checkpoint to
    ask from next time."""

    checkpoint: str
    added: list[SharedEntry] = field(default_factory=list)
    relabelled: list[SharedEntry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # remote ids
    organisation: str | None = None  # who shares it, as they name themselves
    # Entries left out because redline cannot use them (a hash type it has no signal for), by
    # reason: counted and reported, never silently dropped.
    skipped: dict[str, int] = field(default_factory=dict)


class Exchange(Protocol):
    """One kind of exchange. ``check_settings`` refuses bad settings (``Invalid``) and returns
    them as stored; ``secret_settings`` are never shown by list or status; ``fetch`` reads
    everything changed since ``checkpoint`` (None: from the beginning) or raises
    ``ExchangeRefused``. Feedback to the source (confirm, deconfirm) is optional and comes as a
    ``report_feedback`` method on the exchanges that take it (``TakesFeedback``)."""

    name: ClassVar[str]
    description: ClassVar[str]
    secret_settings: ClassVar[frozenset[str]]

    def check_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]: ...

    def fetch(self, settings: Mapping[str, Any], checkpoint: str | None) -> Batch: ...


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a reviewer's final decision says of one of the exchange's entries: ``confirm``
    (violating) or ``deconfirm`` (not violating). Only the entry's id there and the verdict
    leave the instance: never the content, the case or who decided."""

    remote_id: str
    kind: str


@runtime_checkable
class TakesFeedback(Protocol):
    """An exchange that takes feedback: ``report_feedback`` sends it or raises
    ``ExchangeRefused`` (the rows stay queued and are tried again next round)."""

    def report_feedback(self, settings: Mapping[str, Any], feedback: list[Feedback]) -> None: ...
