"""The designated organisations and movements a violating verdict names, on a list leads keep.

Transparency reports count removals by the organisation the content served, and hash-sharing
labels (GIFCT's, Tech Against Terrorism's) carry it; so a reviewer who finds content violating
names the designated organisation or movement from this list, or says none is identified. The
list is the leads': they add names and disable them (never delete: decisions name them), each
change audited.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from redline.errors import Conflict, Invalid, NotFound
from redline.jsontext import jsonable_dict
from redline.model import Designation
from redline.store.audit import record_event

# What a reviewer answers when the content serves no designated organisation or movement (a
# lone actor, an undesignated group): an explicit answer, not a blank left by haste.
NONE_IDENTIFIED: Final = "none"
MAX_NAME: Final = 200


@dataclass(frozen=True, slots=True)
class Listed:
    """One entry of the list."""

    id: int
    name: str
    listed_by: str | None
    enabled: bool
    created_by: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return jsonable_dict(asdict(self))


def _listed(row: Any) -> Listed:
    return Listed(
        id=row.id,
        name=row.name,
        listed_by=row.listed_by,
        enabled=row.enabled,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def list_designations(connection: Connection, *, enabled_only: bool = False) -> list[Listed]:
    """The list by name; only the entries reviewers may choose with ``enabled_only``."""
    query = select(Designation.__table__).order_by(Designation.name)
    if enabled_only:
        query = query.where(Designation.enabled.is_(True))
    return [_listed(r) for r in connection.execute(query)]


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise Invalid(f"a designation's name is 1 to {MAX_NAME} characters")
    if cleaned.lower() == NONE_IDENTIFIED:
        raise Invalid(f"{NONE_IDENTIFIED!r} is the answer for no designation, not a name")
    return cleaned


def add_designation(
    connection: Connection, name: str, listed_by: str | None, *, actor: str, now: datetime
) -> Listed:
    """Put an organisation or movement on the list; audited. Conflict if it is there."""
    cleaned = _clean_name(name)
    by = " ".join((listed_by or "").split()) or None
    if by is not None and len(by) > MAX_NAME:
        raise Invalid(f"who designates it: at most {MAX_NAME} characters")
    try:
        with connection.begin_nested():
            new_id = connection.execute(
                Designation.__table__.insert().returning(Designation.id),
                {
                    "name": cleaned,
                    "listed_by": by,
                    "enabled": True,
                    "created_by": actor,
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
    except IntegrityError:
        raise Conflict(f"designation {cleaned!r} is on the list already") from None
    record_event(
        connection,
        actor,
        "designation.add",
        "designation",
        str(new_id),
        after={"name": cleaned, "listed_by": by},
    )
    return _listed(
        connection.execute(select(Designation.__table__).where(Designation.id == new_id)).one()
    )


def set_designation_enabled(
    connection: Connection, name: str, enabled: bool, *, actor: str, now: datetime, reason: str = ""
) -> Listed:
    """Offer a designation to reviewers again, or stop offering it; decisions keep naming it.
    Audited with the reason given."""
    row = connection.execute(select(Designation.__table__).where(Designation.name == name)).first()
    if row is None:
        raise NotFound(f"no designation {name!r} (see redline designated list)")
    connection.execute(
        update(Designation).where(Designation.id == row.id).values(enabled=enabled, updated_at=now)
    )
    record_event(
        connection,
        actor,
        "designation.enable" if enabled else "designation.disable",
        "designation",
        str(row.id),
        before={"enabled": row.enabled},
        after={"enabled": enabled},
        detail={"name": row.name, "reason": reason or None},
    )
    return _listed(
        connection.execute(select(Designation.__table__).where(Designation.id == row.id)).one()
    )


def name_of(connection: Connection, designation_id: int) -> str:
    """A designation's name by id; NotFound when there is none."""
    name = connection.scalar(select(Designation.name).where(Designation.id == designation_id))
    if name is None:
        raise NotFound(f"no designation {designation_id}")
    return str(name)


def resolve(connection: Connection, name: str) -> int | None:
    """The id of the enabled designation a reviewer named (None for ``NONE_IDENTIFIED``);
    Invalid when it is not on the list or disabled."""
    if name == NONE_IDENTIFIED:
        return None
    row = connection.execute(
        select(Designation.id, Designation.enabled).where(Designation.name == name)
    ).first()
    if row is None:
        raise Invalid(f"no designation {name!r} on the list leads keep")
    if not row.enabled:
        raise Invalid(f"designation {name!r} was disabled by a lead: choose another")
    return int(row.id)


def required(connection: Connection) -> bool:
    """Whether a violating verdict must name a designation (or none): once leads keep a list."""
    return (
        connection.scalar(select(Designation.id).where(Designation.enabled.is_(True)).limit(1))
        is not None
    )
