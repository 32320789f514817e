"""Exchanges configured per bank, and applying what one fetched to its bank.

``fetch`` asks the exchange for everything after the stored checkpoint, then stores it in the
caller's transaction together with the new checkpoint: a fetch that fails or is interrupted
before the commit leaves the bank and the checkpoint as they were, so the next fetch asks for
the same changes again and nothing is lost or stored twice. Nothing is written while the source
is being read, so no lock is held across the network.

Entries added become bank entries (through ``banks.manage``, audited, with the exchange and the
entry's id there as provenance); entries relabelled change the labels of the entry they became;
entries removed are disabled with the reason. An entry a lead disabled for a reason of their own
stays disabled whatever the exchange says. An entry whose hashes or labels cannot be banked is
quarantined with the exchange, entry and reason; the rest of the batch is stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from redline.banks import manage
from redline.banks.transfer import label_problem
from redline.errors import Conflict, Invalid, NotFound
from redline.exchanges import exchange_kind
from redline.exchanges.base import Batch, ExchangeRefused, Feedback, SharedEntry, TakesFeedback
from redline.jsontext import jsonable_dict
from redline.model import Bank, BankEntry, EntryFeedback, Exchange, ExchangeEntry
from redline.review import feedback
from redline.review.decisions import UNDO_WINDOW
from redline.signals import BadSignal, Hash, signal_type
from redline.store.audit import record_event
from redline.store.bank_changes import touch_bank
from redline.store.content import NewQuarantine, quarantine_record

REMOVED: Final = "removed from exchange"  # the start of the reason an exchange disables with
_CHUNK: Final = 500  # remote ids looked up at once (SQLite's bound parameters)
HIDDEN: Final = "(hidden)"
# The flood limit an exchange sets on the bank it feeds when the bank has none: an entry that
# matches more distinct files or texts than this within the minutes is held for a lead.
SHARED_FLOOD_ITEMS: Final = 50
SHARED_FLOOD_MINUTES: Final = 60


class Unset:
    """No value given (``set_trust``'s threshold: None clears it)."""


UNSET: Final = Unset()


class UnknownExchange(NotFound):
    """No exchange has that name."""


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    """An exchange as listed: its settings with the secret ones hidden."""

    name: str
    bank: str
    kind: str
    settings: dict[str, Any]
    enabled: bool
    checkpoint: str | None
    fetched_at: datetime | None
    tried_at: datetime | None
    last_error: str | None
    added: int
    relabelled: int
    removed: int
    created_at: datetime
    trusted: bool = True  # False: its entries never open a case on their own
    pdq_threshold: int | None = None  # its own, tighter than the bank's

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json and the API (times as ISO 8601)."""
        return jsonable_dict(asdict(self))


@dataclass(slots=True)
class FetchOutcome:
    """What one fetch did: counts stored, or the reason it was refused (nothing stored)."""

    exchange: str
    added: int = 0
    relabelled: int = 0
    removed: int = 0
    quarantined: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # left out by the exchange, by reason
    checkpoint: str | None = None
    error: str | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return asdict(self)


_COLUMNS = [*Exchange.__table__.columns, Bank.name.label("bank_name")]


def _row(connection: Connection, name: str) -> Any:
    row = connection.execute(
        select(*_COLUMNS).join(Bank, Bank.id == Exchange.bank_id).where(Exchange.name == name)
    ).first()
    if row is None:
        raise UnknownExchange(f"no exchange called {name!r}")
    return row


def _info(row: Any) -> ExchangeInfo:
    hidden = exchange_kind(row.kind).secret_settings
    return ExchangeInfo(
        name=row.name,
        bank=row.bank_name,
        kind=row.kind,
        settings={k: HIDDEN if k in hidden else v for k, v in row.settings.items()},
        enabled=row.enabled,
        checkpoint=row.checkpoint,
        fetched_at=row.fetched_at,
        tried_at=row.tried_at,
        last_error=row.last_error,
        added=row.added,
        relabelled=row.relabelled,
        removed=row.removed,
        created_at=row.created_at,
        trusted=row.trusted,
        pdq_threshold=row.pdq_threshold,
    )


def add_exchange(
    connection: Connection,
    name: str,
    bank: str,
    kind: str,
    settings: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
) -> ExchangeInfo:
    """Subscribe ``bank`` to an exchange of ``kind``; Invalid for bad settings, Conflict when the
    name is taken, UnknownBank when there is no such bank."""
    manage.check_name(name)
    stored = exchange_kind(kind).check_settings(settings)
    bank_id = connection.scalar(select(Bank.id).where(Bank.name == bank))
    if bank_id is None:
        raise manage.UnknownBank(f"no bank called {bank!r}")
    if connection.scalar(select(Exchange.id).where(Exchange.name == name)) is not None:
        raise Conflict(f"an exchange called {name!r} already exists")
    connection.execute(
        Exchange.__table__.insert(),
        {
            "name": name,
            "bank_id": bank_id,
            "kind": kind,
            "settings": stored,
            "enabled": True,
            "added": 0,
            "relabelled": 0,
            "removed": 0,
            "created_at": now,
        },
    )
    info = _info(_row(connection, name))
    # Shared lists are where bad hashes come from: a bank an exchange feeds gets flood
    # quarantine unless its leads set a limit of their own (a bank of one's own has none).
    flooded = connection.execute(
        update(Bank)
        .where(Bank.id == bank_id, Bank.flood_items == 0)
        .values(flood_items=SHARED_FLOOD_ITEMS, flood_minutes=SHARED_FLOOD_MINUTES)
    ).rowcount
    record_event(
        connection,
        actor,
        "exchange.add",
        "exchange",
        name,
        after={"bank": bank, "kind": kind, "settings": info.settings},
        detail=(
            {"flood_limit_set": f"{SHARED_FLOOD_ITEMS} in {SHARED_FLOOD_MINUTES} min"}
            if flooded
            else None
        ),
    )
    return info


def list_exchanges(connection: Connection) -> list[ExchangeInfo]:
    """Every exchange, by name."""
    rows = connection.execute(
        select(*_COLUMNS).join(Bank, Bank.id == Exchange.bank_id).order_by(Exchange.name)
    )
    return [_info(row) for row in rows]


def get_exchange(connection: Connection, name: str) -> ExchangeInfo:
    """One exchange; UnknownExchange when there is none of that name."""
    return _info(_row(connection, name))


def held_entries(connection: Connection, name: str) -> int:
    """How many enabled bank entries exchange ``name``'s entries are now."""
    return int(
        connection.scalar(
            select(func.count())
            .select_from(ExchangeEntry)
            .join(Exchange, Exchange.id == ExchangeEntry.exchange_id)
            .join(BankEntry, BankEntry.id == ExchangeEntry.entry_id)
            .where(Exchange.name == name, BankEntry.enabled)
        )
        or 0
    )


def checkpoint_time(kind: str, checkpoint: str | None) -> int | None:
    """The Unix time an exchange's checkpoint stands for, when its checkpoints are times
    (ThreatExchange's, TAT's); None for the others (a redline feed's is a change id)."""
    read = getattr(exchange_kind(kind), "checkpoint_time", None)
    return read(checkpoint) if read is not None and checkpoint else None


def fetch(connection: Connection, name: str, now: datetime) -> FetchOutcome:
    """Fetch what changed at exchange ``name`` since its checkpoint and store it, with the new
    checkpoint, in ``connection``'s transaction. A refusal (the source unreachable, a feed
    unsigned or altered) stores nothing but the reason, as the exchange's last error."""
    row = _row(connection, name)
    try:
        batch = exchange_kind(row.kind).fetch(row.settings, row.checkpoint)
    except ExchangeRefused as error:
        record_refusal(connection, name, str(error), now)
        return FetchOutcome(name, checkpoint=row.checkpoint, error=str(error))
    return apply_batch(connection, name, batch, now, expected=row.checkpoint)


def record_refusal(connection: Connection, name: str, reason: str, now: datetime) -> None:
    """Record why a fetch of exchange ``name`` stored nothing."""
    connection.execute(
        update(Exchange).where(Exchange.name == name).values(tried_at=now, last_error=reason)
    )


def apply_batch(
    connection: Connection, name: str, batch: Batch, now: datetime, *, expected: str | None
) -> FetchOutcome:
    """Store ``batch`` in exchange ``name``'s bank and move its checkpoint on, in the caller's
    transaction; ``expected`` is the checkpoint the batch was fetched from. Conflict when the
    checkpoint moved meanwhile (another fetch of the same exchange committed first): nothing
    is stored twice."""
    row = _row(connection, name)
    # Claim the checkpoint first: this update holds the exchange's row until the commit, so a
    # second fetch applying the same batch waits here, then finds the checkpoint moved.
    at = Exchange.checkpoint.is_(None) if expected is None else Exchange.checkpoint == expected
    claimed = connection.execute(
        update(Exchange)
        .where(Exchange.id == row.id, at)
        .values(checkpoint=batch.checkpoint, fetched_at=now, tried_at=now, last_error=None)
    )
    if claimed.rowcount != 1:
        raise Conflict(f"exchange {name!r} was fetched by another process meanwhile")
    done = FetchOutcome(name, checkpoint=batch.checkpoint, skipped=dict(batch.skipped))
    actor = f"exchange:{name}"
    shared = [*batch.added, *batch.relabelled]
    known = _known(connection, row.id, [e.remote_id for e in shared] + batch.removed)
    for entry in shared:
        problem = _problem(entry)
        if problem is not None:
            record = json.dumps(asdict(entry), ensure_ascii=False).encode("utf-8")
            where = f"entry {entry.remote_id}"
            quarantine = NewQuarantine(
                f"exchange-{row.kind}", name, where, problem, record, len(record)
            )
            if quarantine_record(connection, quarantine, now, bank_id=row.bank_id):
                done.quarantined += 1
            done.problems.append(f"{where}: {problem}")
            continue
        local = known.get(entry.remote_id)
        if local is None:
            _add(connection, row, entry, batch.organisation, actor, now)
            done.added += 1
        elif _relabel(connection, local, entry, actor, now):
            done.relabelled += 1
    for remote_id in batch.removed:
        local = known.get(remote_id)
        if local is not None and local.enabled:
            reason = f"{REMOVED} {name}" + (
                f" ({batch.organisation})" if batch.organisation else ""
            )
            manage.disable_entry(connection, local.entry_id, reason[:2000], actor=actor, now=now)
            done.removed += 1
    connection.execute(
        update(Exchange)
        .where(Exchange.id == row.id)
        .values(
            added=Exchange.added + done.added,
            relabelled=Exchange.relabelled + done.relabelled,
            removed=Exchange.removed + done.removed,
        )
    )
    record_event(
        connection,
        actor,
        "exchange.fetch",
        "exchange",
        name,
        before={"checkpoint": expected},
        after={"checkpoint": batch.checkpoint},
        detail={k: v for k, v in done.as_dict().items() if k not in {"exchange", "problems"}},
    )
    return done


def _known(connection: Connection, exchange_id: int, remote_ids: list[str]) -> dict[str, Any]:
    """The bank entries the exchange's entries became, by their remote id."""
    found: dict[str, Any] = {}
    unique = sorted(set(remote_ids))
    for start in range(0, len(unique), _CHUNK):
        rows = connection.execute(
            select(
                ExchangeEntry.remote_id,
                ExchangeEntry.entry_id,
                BankEntry.enabled,
                BankEntry.disabled_reason,
                BankEntry.category,
                BankEntry.tags,
                BankEntry.source_org,
            )
            .join(BankEntry, BankEntry.id == ExchangeEntry.entry_id)
            .where(
                ExchangeEntry.exchange_id == exchange_id,
                ExchangeEntry.remote_id.in_(unique[start : start + _CHUNK]),
            )
        )
        found.update({r.remote_id: r for r in rows})
    return found


def _problem(entry: SharedEntry) -> str | None:
    """Why the entry cannot be banked here, or None."""
    if not any(entry.signals.values()):
        return "no signal in this entry"
    try:
        for kind, values in entry.signals.items():
            for value in values:
                signal_type(kind).validate(value)
    except BadSignal as error:
        return str(error)
    labels = {k: v for k, v in _labels(entry).items() if v is not None}
    return label_problem(labels)


def _labels(entry: SharedEntry) -> dict[str, str | None]:
    return {"category": entry.category, "tags": entry.tags, "source_org": entry.source_org}


def _add(
    connection: Connection,
    row: Any,
    entry: SharedEntry,
    organisation: str | None,
    actor: str,
    now: datetime,
) -> None:
    hashes = {
        kind: [Hash(signal_type(kind).validate(v)) for v in values]
        for kind, values in entry.signals.items()
        if values
    }
    labels = _labels(entry)
    added = manage.add_entry(
        connection,
        row.bank_name,
        {kind: values[0].value for kind, values in hashes.items()},
        hashes=hashes,
        actor=actor,
        now=now,
        category=labels["category"],
        tags=labels["tags"],
        source_org=labels["source_org"] or organisation,
        provenance={"exchange": row.name, "remote_id": entry.remote_id},
    )
    connection.execute(
        ExchangeEntry.__table__.insert(),
        {"exchange_id": row.id, "remote_id": entry.remote_id, "entry_id": added.id},
    )


def _relabel(
    connection: Connection, local: Any, entry: SharedEntry, actor: str, now: datetime
) -> bool:
    """Bring the entry's labels to the exchange's, and enable it again if the exchange had
    removed it; whether anything changed."""
    labels = _labels(entry)
    labels["source_org"] = labels["source_org"] or local.source_org
    changes = {k: v for k, v in labels.items() if getattr(local, k) != v}
    if changes:
        manage.update_entry(connection, local.entry_id, changes, actor=actor, now=now)
    back = not local.enabled and (local.disabled_reason or "").startswith(REMOVED)
    if back:
        manage.set_entry_enabled(connection, local.entry_id, True, actor=actor, now=now)
    return bool(changes) or back


def fetch_all(engine: Engine, now: datetime) -> list[FetchOutcome]:
    """Fetch every enabled exchange, each in its own transaction (the scheduler's part): one
    that fails records its reason and the others go on."""
    with engine.connect() as connection:
        names = list(
            connection.scalars(
                select(Exchange.name).where(Exchange.enabled).order_by(Exchange.name)
            )
        )
    done: list[FetchOutcome] = []
    for name in names:
        try:
            with engine.begin() as connection:
                done.append(fetch(connection, name, now))
        except Conflict as error:  # another process fetched it meanwhile: its outcome stands
            done.append(FetchOutcome(name, error=str(error)))
        except (Invalid, NotFound, SQLAlchemyError) as error:
            with engine.begin() as connection:
                record_refusal(connection, name, str(error), now)
            done.append(FetchOutcome(name, error=str(error)))
    return done


# --- Trust, thresholds and feedback (protection against bad shared hashes) --------------------


def set_trust(
    connection: Connection,
    name: str,
    *,
    trusted: bool | None = None,
    pdq_threshold: int | Unset | None = UNSET,
    actor: str,
    now: datetime,
) -> None:
    """Trust or distrust an exchange (an untrusted one's entries never open a case on their
    own) and set or clear (None) its own PDQ threshold, which can only tighten its bank's;
    audited. Both apply to matching and routing from then on: matches kept while it was
    untrusted open no case when it is trusted later. A threshold change moves the banks
    counter, as a bank's own threshold change does, so matchers read it and media are matched
    again under it."""
    row = _row(connection, name)
    changes: dict[str, Any] = {}
    if trusted is not None:
        changes["trusted"] = trusted
    if not isinstance(pdq_threshold, Unset):
        if pdq_threshold is not None and not 0 <= pdq_threshold <= 63:
            raise Invalid(f"PDQ threshold {pdq_threshold} is outside 0..63")
        changes["pdq_threshold"] = pdq_threshold
    if not changes:
        return
    before = {k: getattr(row, k) for k in changes}
    connection.execute(update(Exchange).where(Exchange.id == row.id).values(**changes))
    if "pdq_threshold" in changes and changes["pdq_threshold"] != row.pdq_threshold:
        touch_bank(connection, int(row.bank_id), now)
    record_event(
        connection, actor, "exchange.trust", "exchange", name, before=before, after=changes
    )


@dataclass(slots=True)
class FeedbackSent:
    """What one round of sending feedback did, by exchange name."""

    sent: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)  # the exchange takes no feedback
    errors: dict[str, str] = field(default_factory=dict)


def send_feedback(engine: Engine, now: datetime) -> FeedbackSent:
    """Give each exchange the feedback queued for it whose undo window is over, one exchange
    per transaction: through its ``report_feedback``, or kept as a record when it has none
    (redline-to-redline federation: the publisher is not told). A refusal leaves the rows
    queued with the reason, for the next round."""
    done = FeedbackSent()
    due = now - UNDO_WINDOW
    with engine.connect() as connection:
        names = list(
            connection.scalars(
                select(Exchange.name)
                .join(EntryFeedback, EntryFeedback.exchange_id == Exchange.id)
                .where(EntryFeedback.state == feedback.QUEUED, EntryFeedback.created_at <= due)
                .distinct()
                .order_by(Exchange.name)
            )
        )
    for name in names:
        with engine.begin() as connection:
            row = _row(connection, name)
            rows = connection.execute(
                select(EntryFeedback.id, EntryFeedback.kind, ExchangeEntry.remote_id)
                .join(
                    ExchangeEntry,
                    (ExchangeEntry.entry_id == EntryFeedback.entry_id)
                    & (ExchangeEntry.exchange_id == EntryFeedback.exchange_id),
                )
                .where(EntryFeedback.exchange_id == row.id)
                .where(EntryFeedback.state == feedback.QUEUED, EntryFeedback.created_at <= due)
                .order_by(EntryFeedback.id)
                .with_for_update(of=EntryFeedback, skip_locked=True)
            ).all()
            ids = [int(r.id) for r in rows]
            kind = exchange_kind(row.kind)
            if not isinstance(kind, TakesFeedback):
                _feedback_state(connection, ids, feedback.KEPT, now)
                done.kept[name] = len(ids)
                continue
            try:
                kind.report_feedback(row.settings, [Feedback(r.remote_id, r.kind) for r in rows])
            except ExchangeRefused as error:
                connection.execute(
                    update(EntryFeedback)
                    .where(EntryFeedback.id.in_(ids))
                    .values(attempts=EntryFeedback.attempts + 1, last_error=str(error)[:2000])
                )
                done.errors[name] = str(error)
                continue
            _feedback_state(connection, ids, feedback.SENT, now)
            done.sent[name] = len(ids)
    return done


def _feedback_state(connection: Connection, ids: list[int], state: str, now: datetime) -> None:
    for start in range(0, len(ids), _CHUNK):
        connection.execute(
            update(EntryFeedback)
            .where(EntryFeedback.id.in_(ids[start : start + _CHUNK]))
            .values(state=state, sent_at=now if state == feedback.SENT else None, last_error=None)
        )
