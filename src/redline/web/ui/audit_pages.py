"""The audit trail page (leads, admins, auditors) with filters and CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection, select

from redline.errors import Invalid
from redline.model import AuditEvent
from redline.store import audit
from redline.web import App
from redline.web.auth import Me
from redline.web.ui.render import page

router = APIRouter()
PAGE = 100
CSV_LIMIT = 100_000
# Where the console shows each kind of subject ({id}: the subject's id, quoted for a URL). A
# user has no page of their own: the link lists what they did.
SUBJECT_PAGES: Final = {
    "case": "/cases/{id}",
    "bank": "/banks/{id}",
    "user": "/audit?actor=user%3A{id}",
    "removal_order": "/orders#order-{id}",
    "designation": "/designations",
    "referral": "/referrals",
    "complaint": "/complaints",
    "notice": "/notices",
    "item": "/preservations",
    "webhook_delivery": "/webhooks",
}


@dataclass(frozen=True, slots=True)
class ReadableEvent:
    """An audit event as the audit page shows it: the subject with a link to its page, and
    what changed field by field instead of the JSON documents."""

    row: audit.AuditRow
    subject: str
    link: str | None
    changes: list[audit.Change]
    details: list[tuple[str, str]]


def readable(row: audit.AuditRow) -> ReadableEvent:
    """``row`` as the audit page shows it."""
    kind, ident = row["subject_type"] or "", row["subject_id"] or ""
    subject = f"{kind} {ident}".strip()
    link = None
    case = (row["detail"] or {}).get("case")
    if kind == "media" and isinstance(case, int):
        # A revealed media file is seen on its case's page.
        link = f"/cases/{case}"
    elif kind in SUBJECT_PAGES and ident:
        link = SUBJECT_PAGES[kind].format(id=quote(ident, safe=""))
    elif kind and ident:
        link = "/audit?" + urlencode({"subject": f"{kind}:{ident}"})
    return ReadableEvent(
        row,
        subject,
        link,
        audit.changes(row["before"], row["after"]),
        audit.details(row["detail"]),
    )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which events to show; empty fields do not filter."""

    actor: str = ""
    action: str = ""
    subject: str = ""
    since: str = ""
    until: str = ""

    def times(self) -> tuple[datetime | None, datetime | None]:
        """``since`` and ``until`` parsed (ISO dates or times, UTC); Invalid otherwise."""
        out: list[datetime | None] = []
        for name in ("since", "until"):
            value = getattr(self, name)
            try:
                parsed = datetime.fromisoformat(value) if value else None
            except ValueError:
                raise Invalid(f"{name}: not a date or time: {value!r}") from None
            if parsed is not None and parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            out.append(parsed)
        return out[0], out[1]


def _audit_filter(
    actor: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=60)] = "",
    subject: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
) -> AuditFilter:
    return AuditFilter(actor, action, subject, since, until)


Filter = Annotated[AuditFilter, Depends(_audit_filter)]


def events(
    connection: Connection, where: AuditFilter, offset: int, limit: int, upto: int | None = None
) -> list[audit.AuditRow]:
    """Audit events under ``where``, newest first (``upto``: none after this id)."""
    since, until = where.times()
    query = select(AuditEvent.__table__)
    if upto is not None:
        query = query.where(AuditEvent.id <= upto)
    if where.actor:
        query = query.where(AuditEvent.actor == where.actor)
    if where.action:
        query = query.where(AuditEvent.action == where.action)
    if where.subject:
        kind, _, ident = where.subject.partition(":")
        query = query.where(AuditEvent.subject_type == kind)
        if ident:
            query = query.where(AuditEvent.subject_id == ident)
    if since:
        query = query.where(AuditEvent.at >= since)
    if until:
        query = query.where(AuditEvent.at < until)
    rows = connection.execute(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).offset(offset).limit(limit)
    )
    return [
        audit.AuditRow(
            id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            subject_type=r.subject_type,
            subject_id=r.subject_id,
            before=r.before,
            after=r.after,
            detail=r.detail,
            prev_sha256=r.prev_sha256,
            sha256=r.sha256,
        )
        for r in rows
    ]


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(
    me: Me,
    app: App,
    request: Request,
    where: Filter,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The audit trail, newest first."""
    me.reviewer.require("audit.view")
    with app.engine.begin() as connection:
        rows = events(connection, where, offset, PAGE)
    return page(
        request,
        "audit.html",
        me,
        rows=[readable(r) for r in rows],
        where=where,
        offset=offset,
        page_size=PAGE,
    )


@router.get("/audit.csv", include_in_schema=False)
def audit_csv(me: Me, app: App, where: Filter) -> Response:
    """The filtered audit trail as CSV (at most 100,000 events per file), ending with the chain's
    head so a copy can be checked later: ``redline audit verify --export audit.csv``."""
    me.reviewer.require("audit.view")
    with app.engine.begin() as connection:
        # The head first, then nothing newer: the file is the chain up to that head.
        head = audit.chain_head(connection)
        rows = events(connection, where, 0, CSV_LIMIT, upto=head[0] or 0)
    filtered = where != AuditFilter()
    disposition = 'attachment; filename="audit.csv"'
    return Response(
        audit.export_csv(rows, head, filtered),
        media_type="text/csv",
        headers={
            "content-disposition": disposition,
            "x-audit-chain-head": f"{head[0] or ''} {head[1]}",
        },
    )
