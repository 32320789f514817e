"""Referrals: asking a hosting service to remove a URL of a confirmed case, and following it up.

A referral carries an evidence package frozen when it is made (URL, hashes, category, reason,
where the preserved copy is, when it was found), moves through draft -> sent -> acknowledged
-> removed | rejected | no_response, and is re-checked by liveness checks: the first check that
finds the URL gone after it was sent marks it removed, which gives the time to removal.
"""

from __future__ import annotations

import contextlib
import io
import re
from datetime import datetime, timedelta
from typing import Any, Final, TypedDict

from sqlalchemy import Connection, select, update

from redline.actions import liveness
from redline.errors import Conflict, Invalid, NotFound
from redline.jsontext import jsonable
from redline.model import (
    Case,
    Decision,
    HostingService,
    Item,
    ItemMedia,
    Media,
    Referral,
    Signal,
    Source,
    UrlCheck,
)
from redline.review.rules import CaseStatus
from redline.signals import url as url_signal
from redline.spreadsheet import SpreadsheetSafeWriter
from redline.store.audit import record_event

CHANNELS: Final = ("email", "web_form", "api")
STATUSES: Final = ("draft", "sent", "acknowledged", "removed", "rejected", "no_response")
# Which status may follow which: a referral never goes back to draft, and a removal is final.
NEXT: Final[dict[str, set[str]]] = {
    "draft": {"sent"},
    "sent": {"acknowledged", "removed", "rejected", "no_response"},
    "acknowledged": {"removed", "rejected", "no_response"},
    "no_response": {"acknowledged", "removed", "rejected"},
    "rejected": {"sent"},  # sent again, with more evidence
    "removed": set(),
}
LIVE: Final = ("sent", "acknowledged", "no_response")
# A referral asks a service to apply its own terms and the law; it orders nothing.
REFERRAL_BASIS: Final = (
    "voluntary referral for assessment under the service's terms and Regulation (EU) 2022/2065 "
    "(Article 16 notice)"
)
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}")


def add_service(
    connection: Connection,
    actor: str,
    name: str,
    domains: list[str],
    channel: str,
    contact: str,
    language: str = "en",
) -> int:
    """Add a hosting service to the registry; Invalid or Conflict with the reason."""
    clean = sorted({d.strip().lower().removeprefix("www.") for d in domains if d.strip()})
    problems = [f"{d!r} is not a domain name" for d in clean if not _DOMAIN.fullmatch(d)]
    if not clean:
        problems.append("at least one domain is needed")
    if channel not in CHANNELS:
        problems.append(f"contact channel must be one of {', '.join(CHANNELS)}")
    if not name.strip() or len(name) > 200 or not contact.strip() or len(contact) > 2000:
        problems.append("name and contact are required (200 and 2000 characters at most)")
    if problems:
        raise Invalid("; ".join(problems))
    if connection.scalar(select(HostingService.id).where(HostingService.name == name.strip())):
        raise Conflict(f"a hosting service called {name!r} exists already")
    service_id = connection.execute(
        HostingService.__table__.insert().returning(HostingService.id),
        {
            "name": name.strip(),
            "domains": clean,
            "contact_channel": channel,
            "contact": contact.strip(),
            "language": language[:10] or "en",
        },
    ).scalar_one()
    record_event(
        connection,
        actor,
        "service.add",
        "hosting_service",
        str(service_id),
        after={"name": name, "domains": clean, "channel": channel},
    )
    return int(service_id)


class Service(TypedDict):
    """A hosting service of the registry and how to reach it."""

    id: int
    name: str
    domains: list[str]
    contact_channel: str
    contact: str
    language: str
    created_at: datetime


def list_services(connection: Connection) -> list[Service]:
    """The registry, by name."""
    rows = connection.execute(select(HostingService.__table__).order_by(HostingService.name))
    return [
        Service(
            id=r.id,
            name=r.name,
            domains=r.domains,
            contact_channel=r.contact_channel,
            contact=r.contact,
            language=r.language,
            created_at=r.created_at,
        )
        for r in rows
    ]


def service_for(connection: Connection, host: str) -> Service | None:
    """The registered service hosting ``host`` (the longest matching domain wins)."""
    host = host.lower().removeprefix("www.")
    best: tuple[int, Service] | None = None
    for service in list_services(connection):
        for domain in service["domains"]:
            if (host == domain or host.endswith("." + domain)) and (
                best is None or len(domain) > best[0]
            ):
                best = (len(domain), service)
    return best[1] if best else None


def _case_urls(connection: Connection, item: Any) -> list[url_signal.CanonicalUrl]:
    """Where the case's content is: the item's own address and the links in its text."""
    found: list[url_signal.CanonicalUrl] = []
    if item.url:
        with contextlib.suppress(url_signal.BadUrl):
            found.append(url_signal.canonicalise(item.url))
    owners = [Signal.item_id == item.id]
    if item.text_sha256:
        owners.append(Signal.text_sha256 == item.text_sha256)
    for (value,) in connection.execute(
        select(Signal.value)
        .where(Signal.signal_type == url_signal.SIGNAL_TYPE)
        .where(owners[0] if len(owners) == 1 else owners[0] | owners[1])
        .order_by(Signal.id)
    ):
        found.append(url_signal.canonicalise(value))
    unique: dict[str, url_signal.CanonicalUrl] = {}
    for canonical in found:
        unique.setdefault(canonical.canonical, canonical)
    return list(unique.values())


def create_referrals(connection: Connection, actor: str, case_id: int, now: datetime) -> list[int]:
    """A draft referral for every URL of a case confirmed as violating; the new ids.

    Conflict when the case is not confirmed, Invalid when it has no URL to refer.
    """
    case = connection.execute(select(Case.__table__).where(Case.id == case_id)).first()
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case.status != CaseStatus.VIOLATING:
        raise Conflict(f"case {case_id} is not confirmed as violating ({case.status})")
    item = connection.execute(
        select(Item.__table__, Source.name.label("source"))
        .join(Source, Source.id == Item.source_id)
        .where(Item.id == case.item_id)
    ).one()
    urls = _case_urls(connection, item)
    if not urls:
        raise Invalid(f"case {case_id} has no URL to refer (the item has no address or links)")
    decision = connection.execute(
        select(Decision.reason, Decision.note, Decision.created_at)
        .where(Decision.case_id == case_id, Decision.undone_at.is_(None))
        .where(Decision.status_after == CaseStatus.VIOLATING)
        .order_by(Decision.created_at.desc())
        .limit(1)
    ).first()
    media = [
        {"sha256": m.sha256, "md5": m.md5, "kind": m.kind, "preserved_copy": m.path}
        for m in connection.execute(
            select(Media.sha256, Media.md5, Media.kind, Media.path)
            .join(ItemMedia, ItemMedia.media_sha256 == Media.sha256)
            .where(ItemMedia.item_id == item.id)
        )
    ]
    made = []
    for canonical in urls:
        exists = connection.scalar(
            select(Referral.id).where(
                Referral.case_id == case_id, Referral.url == canonical.canonical
            )
        )
        if exists is not None:
            continue
        service = service_for(connection, canonical.host)
        evidence = {
            "url": canonical.original,
            "canonical_url": canonical.canonical,
            "host": canonical.host,
            "case": case_id,
            "item": item.id,
            "source": item.source,
            "record": item.external_id,
            "account": item.account,
            "posted_at": jsonable(item.posted_at),
            "found_at": jsonable(item.ingested_at),
            "confirmed_at": jsonable(case.decided_at),
            "category": case.category,
            "reason": decision.note if decision else None,
            "text_sha256": item.text_sha256,
            "media": media,
        }
        referral_id = connection.execute(
            Referral.__table__.insert().returning(Referral.id),
            {
                "case_id": case_id,
                "url": canonical.canonical,
                "service_id": service["id"] if service else None,
                "status": "draft",
                "category": case.category,
                "reason": evidence["reason"],
                "evidence": evidence,
                "created_by": actor,
                "created_at": now,
                "updated_at": now,
            },
        ).scalar_one()
        record_event(
            connection,
            actor,
            "referral.create",
            "referral",
            str(referral_id),
            after={
                "url": canonical.canonical,
                "status": "draft",
                "service": service["name"] if service else None,
            },
            detail={"case": case_id, "legal_basis": REFERRAL_BASIS},
        )
        made.append(int(referral_id))
    return made


def time_to_removal(sent_at: datetime, removed_at: datetime) -> timedelta:
    """A referral's time to removal, as the referral pages and the transparency report give it:
    from sending the referral to the first liveness check that found the URL gone. An upper
    bound on the host's own time, since checks run every few hours."""
    return removed_at - sent_at


class UrlCheckRow(TypedDict):
    """One liveness check of a referral's URL."""

    state: str  # up | down | changed | error
    http_status: int | None
    checked_at: datetime
    error: str | None


class ReferralRow(TypedDict):
    """A referral with its service (None when the host is not registered), its checks and its
    time to removal in seconds (None until removed)."""

    id: int
    case_id: int
    url: str
    service_id: int | None
    status: str
    category: str | None
    reason: str | None
    evidence: dict[str, Any]
    created_by: str
    created_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None
    removed_at: datetime | None
    rejected_at: datetime | None
    updated_at: datetime
    service: str | None
    contact_channel: str | None
    contact: str | None
    language: str | None
    checks: list[UrlCheckRow]
    time_to_removal_s: int | None


def get_referral(connection: Connection, referral_id: int) -> ReferralRow:
    """A referral with its service and checks; NotFound when there is none."""
    row = connection.execute(
        select(
            Referral.__table__,
            HostingService.name.label("service"),
            HostingService.contact_channel,
            HostingService.contact,
            HostingService.language,
        )
        .outerjoin(HostingService, HostingService.id == Referral.service_id)
        .where(Referral.id == referral_id)
    ).first()
    if row is None:
        raise NotFound(f"no referral {referral_id}")
    checks = [
        UrlCheckRow(
            state=c.state, http_status=c.http_status, checked_at=c.checked_at, error=c.error
        )
        for c in connection.execute(
            select(UrlCheck.state, UrlCheck.http_status, UrlCheck.checked_at, UrlCheck.error)
            .where(UrlCheck.referral_id == referral_id)
            .order_by(UrlCheck.checked_at)
        )
    ]
    return ReferralRow(
        id=row.id,
        case_id=row.case_id,
        url=row.url,
        service_id=row.service_id,
        status=row.status,
        category=row.category,
        reason=row.reason,
        evidence=row.evidence,
        created_by=row.created_by,
        created_at=row.created_at,
        sent_at=row.sent_at,
        acknowledged_at=row.acknowledged_at,
        removed_at=row.removed_at,
        rejected_at=row.rejected_at,
        updated_at=row.updated_at,
        service=row.service,
        contact_channel=row.contact_channel,
        contact=row.contact,
        language=row.language,
        checks=checks,
        time_to_removal_s=(
            int(time_to_removal(row.sent_at, row.removed_at).total_seconds())
            if row.removed_at and row.sent_at
            else None
        ),
    )


def list_referrals(connection: Connection, status: str | None = None) -> list[ReferralRow]:
    """Referrals, newest first."""
    query = select(Referral.id).order_by(Referral.id.desc())
    if status:
        if status not in STATUSES:
            raise Invalid(f"unknown status {status!r} (statuses: {', '.join(STATUSES)})")
        query = query.where(Referral.status == status)
    return [get_referral(connection, int(i)) for i in connection.scalars(query)]


def set_status(
    connection: Connection, actor: str, referral_id: int, status: str, now: datetime
) -> None:
    """Move a referral on (sent, acknowledged, removed, rejected, no response); audited."""
    current = get_referral(connection, referral_id)
    if status not in STATUSES:
        raise Invalid(f"unknown status {status!r} (statuses: {', '.join(STATUSES)})")
    if status not in NEXT[current["status"]]:
        raise Conflict(f"a {current['status']} referral cannot become {status}")
    values: dict[str, Any] = {"updated_at": now}
    if status in {"sent", "acknowledged", "removed", "rejected"}:
        values[f"{status}_at"] = now
    _move(connection, actor, referral_id, current["status"], status, values, {})


def _move(
    connection: Connection,
    actor: str,
    referral_id: int,
    before: str,
    after: str,
    values: dict[str, Any],
    detail: dict[str, Any],
) -> None:
    """One change of a referral's status (with the other ``values`` it sets), audited."""
    connection.execute(
        update(Referral).where(Referral.id == referral_id).values(status=after, **values)
    )
    record_event(
        connection,
        actor,
        "referral.status",
        "referral",
        str(referral_id),
        before={"status": before},
        after={"status": after},
        detail={**detail, "legal_basis": REFERRAL_BASIS},
    )


def record_check(
    connection: Connection, actor: str, referral_id: int, check: liveness.UrlCheck
) -> str:
    """Store a liveness check; the referral's status after it."""
    current = get_referral(connection, referral_id)
    connection.execute(
        UrlCheck.__table__.insert(),
        {
            "referral_id": referral_id,
            "state": check.state,
            "http_status": check.http_status,
            "final_url": check.final_url,
            "content_sha256": check.content_sha256,
            "error": check.error,
            "checked_at": check.checked_at,
        },
    )
    status = current["status"]
    if check.state == "down" and status in LIVE:
        # The first check that finds it gone after the referral went out: removed then.
        at = check.checked_at
        detail = {"by": "liveness check", "http_status": check.http_status}
        _move(
            connection,
            actor,
            referral_id,
            status,
            "removed",
            {"removed_at": at, "updated_at": at},
            detail,
        )
        status = "removed"
    return str(status)


def evidence_csv(referrals: list[ReferralRow]) -> str:
    """Evidence packages as CSV, one row per referral."""
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out)
    columns = [
        "referral",
        "status",
        "service",
        "url",
        "canonical_url",
        "category",
        "reason",
        "found_at",
        "confirmed_at",
        "text_sha256",
        "media_sha256",
        "preserved_copy",
    ]
    writer.writerow(columns)
    for r in referrals:
        e = r["evidence"]
        writer.writerow(
            [
                r["id"],
                r["status"],
                r["service"] or "",
                e["url"],
                e["canonical_url"],
                e["category"] or "",
                e["reason"] or "",
                e["found_at"] or "",
                e["confirmed_at"] or "",
                e["text_sha256"] or "",
                " ".join(m["sha256"] for m in e["media"]),
                " ".join(m["preserved_copy"] for m in e["media"]),
            ]
        )
    return out.getvalue()


def email_body(referral: ReferralRow, sender: str) -> str:
    """The plain-text notice to the hosting service."""
    e = referral["evidence"]
    hashes = "\n".join(f"  {m['kind']} sha256 {m['sha256']} md5 {m['md5']}" for m in e["media"])
    return (
        f"To: {referral['contact'] or '(no registered contact)'}\n"
        f"Subject: Referral {referral['id']}: terrorist content at {e['host']}\n\n"
        f"{sender} has found content on your service that it assesses as terrorist content "
        f"({(e['category'] or 'unspecified').replace('_', ' ')}), and asks you to review it "
        "against your terms of service and the applicable law.\n\n"
        f"URL: {e['url']}\nFound: {e['found_at']}\nConfirmed by a human reviewer: "
        f"{e['confirmed_at']}\n"
        + (f"Reason: {e['reason']}\n" if e["reason"] else "")
        + (f"Media hashes:\n{hashes}\n" if hashes else "")
        + (f"Text sha256: {e['text_sha256']}\n" if e["text_sha256"] else "")
        + "\nA preserved copy is kept and can be provided to competent authorities.\n"
    )
