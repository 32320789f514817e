"""Bank pages: list, create, search entries, disable/enable entries, import and export."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from redline.banks import flood, manage, matched, transfer
from redline.errors import Conflict, Invalid, NotFound
from redline.model.base import utcnow
from redline.review import protection
from redline.signals import BadSignal
from redline.web import App, RowId
from redline.web.auth import Checked, Me
from redline.web.security import body_limit
from redline.web.ui.render import page

router = APIRouter()
FORMATS = {"csv": "text/csv", "json": "application/json", "plain": "text/plain"}


@router.get("/banks", response_class=HTMLResponse, include_in_schema=False)
def banks_page(me: Me, app: App, request: Request) -> Response:
    """Every bank with its size, thresholds and state."""
    me.reviewer.require("bank.view")
    with app.engine.connect() as connection:
        banks = manage.list_banks(connection)
    return page(request, "banks.html", me, banks=banks)


@router.post("/banks", include_in_schema=False)
def create_bank(
    me: Checked,
    app: App,
    name: Annotated[str, Form(max_length=100)],
    description: Annotated[str, Form(max_length=2000)] = "",
    confirmed: Annotated[str, Form(max_length=10)] = "",
    negative: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    """Create an empty bank."""
    me.reviewer.require("bank.edit")
    try:
        with app.engine.begin() as connection:
            manage.create_bank(
                connection,
                manage.check_name(name),
                actor=me.reviewer.actor,
                now=utcnow(),
                description=description or None,
                confirmed=confirmed == "on",
                negative=negative == "on",
            )
    except manage.BankExists:
        raise Conflict(f"a bank called {name!r} exists already") from None
    except ValueError as error:
        raise Invalid(str(error)) from None
    return RedirectResponse(f"/banks/{name}", status_code=303)


@router.get("/banks/{name}", response_class=HTMLResponse, include_in_schema=False)
def bank_page(
    me: Me,
    app: App,
    request: Request,
    name: str,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """One bank's entries, searchable."""
    me.reviewer.require("bank.view")
    try:
        with app.engine.connect() as connection:
            info = manage.get_bank(connection, name)
            total, entries = manage.search_entries(connection, name, q, offset=offset)
            ids = [e["id"] for e in entries]
            matches = matched.entry_matches(connection, ids)
            with_media = matched.entries_with_media(connection, ids)
            held = [h for h in flood.held_entries(connection) if h.bank == info.name]
    except manage.UnknownBank:
        raise NotFound(f"no bank {name!r}") from None
    return page(
        request,
        "bank.html",
        me,
        bank=info,
        entries=entries,
        total=total,
        q=q,
        offset=offset,
        matches=matches,
        with_media=with_media,
        held=held,
    )


@router.get("/banks/{name}/entries/{entry_id}/preview", include_in_schema=False)
def entry_preview(me: Me, app: App, name: str, entry_id: RowId) -> Response:
    """The blurred, greyscale thumbnail of an entry added from an image or a video (the same
    protected preview as a case's, at the viewer's blur; the original is never served here)."""
    me.reviewer.require("bank.view")
    with app.engine.connect() as connection:
        path, kind = matched.entry_media(connection, name, entry_id)
        blur = protection.blur_of(connection, me.reviewer)
    try:
        with app.media.local_path(path) as local:
            data = protection.protected_preview(local, kind, blur)
    except (protection.NoPreview, BadSignal) as error:
        raise NotFound(str(error)) from None
    return Response(data, media_type="image/jpeg", headers={"cache-control": "private"})


@router.post("/banks/{name}/thresholds", include_in_schema=False)
def set_thresholds(
    me: Checked,
    app: App,
    name: str,
    pdq_threshold: Annotated[str, Form(max_length=10)],
    text_threshold: Annotated[str, Form(max_length=10)],
    flood_items: Annotated[str, Form(max_length=10)] = "",
    flood_minutes: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    """Change the bank's match thresholds (leads): PDQ distance 0-63, text Jaccard 0.3-1.0;
    and its flood limit (distinct files or texts within minutes before an entry is held)."""
    me.reviewer.require("bank.edit")
    try:
        pdq, text = int(pdq_threshold), float(text_threshold)
        flood = {
            key: int(value)
            for key, value in (("flood_items", flood_items), ("flood_minutes", flood_minutes))
            if value
        }
    except ValueError:
        raise Invalid(
            "thresholds: a whole number of bits for PDQ, a number such as 0.8 for text"
        ) from None
    if text != text:  # NaN compares unequal to itself and would pass a range check
        raise Invalid("text threshold: a number between 0.3 and 1.0")
    changes: dict[str, float] = {}
    try:
        with app.engine.begin() as connection:
            info = manage.get_bank(connection, name)
            if pdq != info.pdq_threshold:
                changes["pdq_threshold"] = pdq
            if text != info.text_threshold:
                changes["text_threshold"] = text
            changes.update({k: v for k, v in flood.items() if getattr(info, k) != v})
            if changes:
                manage.update_bank(connection, name, changes, actor=me.reviewer.actor, now=utcnow())
    except manage.UnknownBank:
        raise NotFound(f"no bank {name!r}") from None
    return RedirectResponse(f"/banks/{name}?thresholds=saved", status_code=303)


@router.post("/banks/{name}/entries/{entry_id}/{state}", include_in_schema=False)
def set_entry(
    me: Checked,
    app: App,
    name: str,
    entry_id: RowId,
    state: str,
    reason: Annotated[str, Form(max_length=manage.MAX_REASON)] = "",
) -> RedirectResponse:
    """Disable one entry for a stated reason (a disabled entry no longer matches), enable it
    again, or release it from flood quarantine."""
    me.reviewer.require("bank.edit")
    if state not in {"disable", "enable", "release"}:
        raise NotFound(f"no action {state!r}")
    with app.engine.begin() as connection:
        manage.get_bank_entry(connection, name, entry_id)
        if state == "release":  # from flood quarantine: its held matches open their cases
            flood.release_entry(connection, entry_id, actor=me.reviewer.actor, now=utcnow())
        elif state == "disable":
            manage.disable_entry(
                connection, entry_id, reason, actor=me.reviewer.actor, now=utcnow()
            )
        else:
            manage.set_entry_enabled(
                connection, entry_id, True, actor=me.reviewer.actor, now=utcnow()
            )
    return RedirectResponse(f"/banks/{name}#entry-{entry_id}", status_code=303)


@router.post("/banks/{name}/import", include_in_schema=False, openapi_extra=body_limit("upload"))
async def import_list(me: Checked, app: App, name: str, request: Request) -> Response:
    """Import a hash list (ThreatExchange CSV, HMA JSON or plain) into the bank."""
    me.reviewer.require("bank.edit")
    # Read here, after the sign-in, CSRF and role checks: a File parameter would have the body
    # parsed before any of them, so anyone could make the server take in the upload limit.
    file = (await request.form()).get("file")
    if not isinstance(file, UploadFile):
        raise Invalid("choose a hash list file to import")
    data = await file.read()
    if not data:
        raise Invalid("the uploaded file is empty")
    with tempfile.TemporaryDirectory() as folder:
        # The file's own name (not a path) tells the format; it is checked by import_file.
        path = Path(folder) / (Path(file.filename or "upload").name or "upload")
        path.write_bytes(data)
        try:
            with app.engine.begin() as connection:
                summary = transfer.import_file(
                    connection, name, path, actor=me.reviewer.actor, now=utcnow()
                )
        except manage.UnknownBank:
            raise NotFound(f"no bank {name!r}") from None
        except (ValueError, BadSignal) as error:
            raise Invalid(f"{path.name}: {error}") from None
    return RedirectResponse(
        f"/banks/{name}?imported={summary.added}&duplicates={summary.duplicates}"
        f"&quarantined={summary.quarantined}",
        status_code=303,
    )


@router.get("/banks/{name}/export", include_in_schema=False)
def export_list(me: Me, app: App, name: str, format: str = "csv") -> Response:
    """The bank as a hash list file."""
    me.reviewer.require("bank.view")
    if format not in FORMATS:
        raise Invalid(f"unknown format {format!r} (csv, json, plain)")
    try:
        with app.engine.connect() as connection:
            data = transfer.export_bank(connection, name, format)
    except manage.UnknownBank:
        raise NotFound(f"no bank {name!r}") from None
    extension = "txt" if format == "plain" else format
    return Response(
        data,
        media_type=FORMATS[format],
        headers={"content-disposition": f'attachment; filename="{name}.{extension}"'},
    )
