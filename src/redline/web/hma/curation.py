"""HMA's curation routes (``/c``): banks, and the content in them, over ``redline.banks``.

HMA's words map onto redline's: a bank's ``matching_enabled_ratio`` r is redline's
``enabled_ratio`` r with ``enabled = r > 0`` (a disabled redline bank shows as ratio 0); a piece
of "bank content" is a redline bank entry, its id HMA's ``bank_content_id``; its
``disable_until_ts`` is 1 when the entry is enabled and 0 when not. Every change is audited as the
token's user (``api:hma`` only when the API runs without tokens).
"""

from __future__ import annotations

import json
import re
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from redline.banks import (
    BankExists,
    BankInfo,
    EntryInfo,
    UnknownBank,
    UnknownEntry,
    add_entry,
    add_media,
    create_bank,
    delete_bank,
    delete_entry,
    get_bank,
    get_bank_entry,
    hash_media,
    list_banks,
    set_entry_enabled,
    update_bank,
    update_entry,
)
from redline.banks.manage import BANK_NAME
from redline.model.base import utcnow
from redline.signals import BadSignal
from redline.signals.decoding import ImageTooLarge, open_image
from redline.web import Services, services
from redline.web.auth import HmaActor
from redline.web.hma.errors import HmaError, HmaRoute, abort
from redline.web.hma.matching import NO_FETCH, upload_signal_types
from redline.web.hma.payloads import FormBody, JsonBody, Upload, saved_upload, without_paths
from redline.web.hma.signals import SIGNAL_TYPES
from redline.web.security import body_limit

HMA_BANK_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
CONTENT_ID = re.compile(r"[0-9]{1,19}")
NOTE_LIMIT = 255
METADATA_KEYS = frozenset({"content_id", "content_uri", "json"})
# HMA's magic disable_until_ts values; anything larger is a time until which content is off.
ENABLED, DISABLED = 1, 0
FIVE_YEARS = 5 * 365 * 24 * 3600
LARGEST_ID = 2**63 - 1  # bigger numbers cannot be an id (and would overflow PostgreSQL's bigint)

router = APIRouter(route_class=HmaRoute, tags=["HMA curation"])
App = Annotated[Services, Depends(services)]


# --- what HMA sends and gets back -----------------------------------------------------------------


def bank_json(bank: BankInfo) -> dict[str, Any]:
    """A bank as HMA shows it."""
    ratio = bank.enabled_ratio if bank.enabled else 0.0
    return {"matching_enabled_ratio": ratio, "name": bank.name}


def _object(body: Any, status: int) -> dict[str, Any]:
    if not isinstance(body, dict):
        abort(status, "Request input was not a dict")
    return body


def _hma_name(value: Any) -> str:
    if not isinstance(value, str):
        abort(422, "name: Input should be a valid string")
    if not HMA_BANK_NAME.fullmatch(value):
        abort(400, "Bank names must be UPPER_WITH_UNDERSCORE")
    return value


def _ratio(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        abort(422, "enabled_ratio: Input should be a valid number")
    return float(value)


def _flag(value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        abort(422, "enabled: Input should be a valid boolean")
    return value


def _note(value: Any) -> str | None:
    """HMA's note rules: empty means none; else a string of at most 255 characters."""
    if not value:
        return None
    if not isinstance(value, str):
        abort(400, "note should be a string")
    if len(value) > NOTE_LIMIT:
        abort(400, f"note must be at most {NOTE_LIMIT} characters")
    if "\x00" in value:  # PostgreSQL cannot store it in text
        abort(400, "note must not contain NUL characters")
    return value


def _metadata(raw: str | None) -> dict[str, Any] | None:
    """The ``metadata`` form field: JSON with content_id, content_uri and json, all optional."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        abort(400, "metadata form field must be valid JSON")
    if value is None:
        return None
    if not isinstance(value, dict):
        abort(400, "metadata should be a json object")
    value.pop("collab", None)  # exchange provenance is HMA's to set, never the caller's
    unknown = sorted(set(value) - METADATA_KEYS)
    if unknown:
        abort(400, f"Invalid metadata: unknown field(s) {', '.join(unknown)}")
    for key in ("content_id", "content_uri"):
        if value.get(key) is not None and not isinstance(value[key], str):
            abort(400, f"Invalid metadata: {key} should be a string")
    if value.get("json") is not None and not isinstance(value["json"], dict):
        abort(400, "Invalid metadata: json should be a json object")
    if "\\u0000" in json.dumps(value):  # PostgreSQL's JSON cannot hold NUL characters
        abort(400, "Invalid metadata: NUL characters are not allowed")
    return {k: v for k, v in value.items() if v is not None} or None


def _stored_metadata(entry: EntryInfo) -> dict[str, Any] | None:
    found = (entry.provenance or {}).get("hma_metadata")
    return found if isinstance(found, dict) and found else None


def _signals(entry: EntryInfo) -> dict[str, str]:
    """The entry's hashes of HMA's types (redline's own extra types stay out of HMA's view)."""
    return {name: entry.signals[name][0] for name in SIGNAL_TYPES if entry.signals.get(name)}


def _disable_until_ts(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        abort(400, f"Invalid int: '{value}'")
    try:
        stamp = int(value)
    except ValueError:
        abort(400, f"Invalid int: '{value}'")
    if stamp < 0:
        abort(400, "disable_until_ts must be a non-negative integer")
    if stamp > time.time() + FIVE_YEARS:
        abort(400, "disable_until_ts must be less than 5 years in the future")
    return stamp


# --- banks ----------------------------------------------------------------------------------------


def _bank(app: Services, name: str) -> BankInfo:
    try:
        return _existing_bank(app, name)
    except UnknownBank:
        abort(404, f"bank '{name}' not found")


def _existing_bank(app: Services, name: str) -> BankInfo:
    # A name outside redline's bank-name grammar names no bank; checking it first also keeps
    # bytes PostgreSQL refuses in text (NUL) away from the database.
    if not BANK_NAME.fullmatch(name):
        raise UnknownBank(name)
    with app.engine.connect() as connection:
        return get_bank(connection, name)


@router.get("/c/banks")
def banks_index(app: App) -> list[dict[str, Any]]:
    """Every bank: ``[{"matching_enabled_ratio": 1.0, "name": "X"}]``."""
    with app.engine.connect() as connection:
        return [bank_json(bank) for bank in list_banks(connection)]


@router.get("/c/bank/{bank_name}")
def bank_show(app: App, bank_name: str) -> dict[str, Any]:
    """One bank."""
    return bank_json(_bank(app, bank_name))


@router.post("/c/banks", status_code=201)
def bank_create(app: App, actor: HmaActor, body: JsonBody) -> dict[str, Any]:
    """Create a bank from ``{"name": ..., "enabled_ratio"?: ..., "enabled"?: ...}``."""
    fields = _object(body, 422)
    if fields.get("name") is None:
        abort(422, "name: Field required")
    name = _hma_name(fields["name"])
    ratio, enabled = _ratio(fields.get("enabled_ratio")), _flag(fields.get("enabled"))
    if ratio is None:
        # HMA documents `enabled` here but ignores it (its ratio defaults to 1.0 first).
        ratio = 0.0 if enabled is False else 1.0
    try:
        with app.engine.begin() as connection:
            created = create_bank(
                connection,
                name,
                actor=actor,
                now=utcnow(),
                enabled=ratio > 0,
                enabled_ratio=ratio,
            )
    except BankExists:
        abort(403, "Bank already exists")
    except ValueError as error:
        abort(400, str(error))
    return bank_json(created)


@router.put("/c/bank/{bank_name}")
def bank_update(app: App, actor: HmaActor, bank_name: str, body: JsonBody) -> dict[str, Any]:
    """Rename, enable/disable or set the ratio of a bank (``enabled_ratio`` wins over
    ``enabled`` when both are given, as in HMA)."""
    try:
        current = _existing_bank(app, bank_name)
    except UnknownBank:
        abort(404, "Bank not found")
    fields = _object(body, 422)
    changes: dict[str, Any] = {}
    if fields.get("name") is not None:
        changes["name"] = _hma_name(fields["name"])
    enabled = _flag(fields.get("enabled"))
    if enabled is not None:
        changes.update(enabled=enabled, enabled_ratio=1.0 if enabled else 0.0)
    ratio = _ratio(fields.get("enabled_ratio"))
    if ratio is not None:
        changes.update(enabled=ratio > 0, enabled_ratio=ratio)
    if not changes:
        return bank_json(current)
    try:
        with app.engine.begin() as connection:
            updated = update_bank(connection, bank_name, changes, actor=actor, now=utcnow())
    except UnknownBank:
        abort(404, "Bank not found")
    except BankExists:
        abort(403, "Bank name already exists")
    except ValueError as error:
        abort(400, str(error))
    return bank_json(updated)


@router.delete("/c/bank/{bank_name}")
def bank_delete(app: App, actor: HmaActor, bank_name: str) -> dict[str, str]:
    """Delete a bank and its content; succeeds when there was no such bank too."""
    if BANK_NAME.fullmatch(bank_name):
        with app.engine.begin() as connection:
            delete_bank(connection, bank_name, actor=actor)
    return {"message": "Done"}


# --- bank content ---------------------------------------------------------------------------------


def _entry(app: Services, bank_name: str, content_id: str) -> EntryInfo:
    """The bank's entry ``content_id``; 404 when there is none, or it is in another bank."""
    number = int(content_id) if CONTENT_ID.fullmatch(content_id) else 0
    if not 0 < number <= LARGEST_ID:
        abort(404, f"content '{content_id}' not found")
    try:
        with app.engine.connect() as connection:
            return get_bank_entry(connection, bank_name, number)
    except UnknownEntry:
        abort(404, f"content '{content_id}' not found")


@router.post("/c/bank/{bank_name}/signal", openapi_extra=body_limit("upload"))
def bank_add_signals(app: App, actor: HmaActor, bank_name: str, body: JsonBody) -> dict[str, Any]:
    """Add content by its hashes: ``{"pdq": "...", "note"?: "..."}`` -> ``{"id", "signals"}``."""
    _bank(app, bank_name)
    fields = dict(_object(body, 400))
    note = _note(fields.pop("note", None))
    if not fields:
        abort(400, "No signals given")
    signals: dict[str, str] = {}
    for name, value in fields.items():
        kind = SIGNAL_TYPES.get(name)
        if kind is None:
            abort(400, f"No such signal type {name}")
        try:
            if not isinstance(value, str):
                raise BadSignal("not a string")
            signals[name] = kind.validate(value)
        except BadSignal as error:
            abort(400, f"Invalid {name} signal: {error}")
    with app.engine.begin() as connection:
        entry = add_entry(connection, bank_name, signals, actor=actor, now=utcnow(), note=note)
    return {"id": entry.id, "signals": signals}


def _check_content_type(upload: Upload) -> None:
    # The form field says what the file is, and HMA hashes it as that; redline looks at the
    # bytes, so a file in the wrong field is refused rather than banked as something else.
    try:
        with open_image(upload.path):
            image = True
    except ImageTooLarge as error:
        if upload.content_type == "photo":
            abort(422, f"Invalid photo: {error}")
        image = True
    except BadSignal:
        image = False
    if upload.content_type == "photo" and not image:
        abort(400, "Invalid photo: unreadable image (not an image format redline reads)")
    if upload.content_type == "video" and image:
        abort(400, "Invalid video: the file is an image; upload it in the `photo` field")


@router.post("/c/bank/{bank_name}/content", openapi_extra=body_limit("media"))
def bank_add_content(
    app: App,
    actor: HmaActor,
    bank_name: str,
    form: FormBody,
    url: str | None = None,
    types: str | None = None,
) -> dict[str, Any]:
    """Add an uploaded photo or video (form fields ``metadata`` and ``note`` optional): it is
    stored and hashed as any banked media file, and its HMA signals are returned."""
    _bank(app, bank_name)
    metadata = _metadata(form.fields.get("metadata"))
    note = _note(form.fields.get("note"))
    if url:
        abort(400, NO_FETCH.format(route=f"/c/bank/{bank_name}/content"))
    missing = "Neither `url` nor multipart file upload was received"
    with saved_upload(form, missing) as upload:
        kinds = upload_signal_types(upload.content_type, types)
        _check_content_type(upload)
        try:
            with app.hashing.taken():
                media = hash_media(app.media, upload.path, max_bytes=app.settings.max_media_bytes)
            with app.engine.begin() as connection:
                entry = add_media(
                    connection,
                    bank_name,
                    media,
                    actor=actor,
                    now=utcnow(),
                    note=note,
                    provenance={"hma_metadata": metadata} if metadata else None,
                )
        except BadSignal as error:
            abort(400, f"Invalid {upload.content_type}: {without_paths(str(error))}")
    signals = _signals(entry)
    chosen = {kind.name: signals[kind.name] for kind in kinds if kind.name in signals}
    return {"id": entry.id, "signals": chosen}


@router.get("/c/bank/{bank_name}/content/{content_id}")
def bank_get_content(
    app: App,
    bank_name: str,
    content_id: str,
    include_signals: str = "false",
    include_metadata: str = "true",
) -> dict[str, Any]:
    """One piece of content; ``include_signals=true`` adds its hashes."""
    bank = _bank(app, bank_name)
    entry = _entry(app, bank_name, content_id)
    response: dict[str, Any] = {
        "bank": bank_json(bank),
        "disable_until_ts": ENABLED if entry.enabled else DISABLED,
        "id": entry.id,
    }
    metadata = _stored_metadata(entry)
    if metadata and include_metadata.lower() == "true":
        response["metadata"] = metadata
    if entry.note:
        response["note"] = entry.note
    response["original_media_uri"] = None  # redline keeps files by content hash, not by URI
    signals = _signals(entry)
    if signals and include_signals.lower() == "true":
        response["signals"] = signals
    return response


@router.put("/c/bank/{bank_name}/content/{content_id}")
def bank_update_content(
    app: App, actor: HmaActor, bank_name: str, content_id: str, body: JsonBody
) -> dict[str, Any]:
    """Enable or disable content (``disable_until_ts``: 1 on, 0 off) and set its note.

    redline entries are on or off: a future ``disable_until_ts`` switches the entry off until
    it is switched on again, and a past one switches it on.
    """
    bank = _bank(app, bank_name)
    entry = _entry(app, bank_name, content_id)
    fields = _object(body, 400)
    enabled = entry.enabled
    if "disable_until_ts" in fields:
        stamp = _disable_until_ts(fields["disable_until_ts"])
        enabled = stamp == ENABLED or ENABLED < stamp <= time.time()
    note = _note(fields["note"]) if "note" in fields else entry.note
    now = utcnow()
    with app.engine.begin() as connection:
        if enabled != entry.enabled:
            set_entry_enabled(connection, entry.id, enabled, actor=actor, now=now)
        if note != entry.note:
            update_entry(connection, entry.id, {"note": note}, actor=actor, now=now)
    # HMA answers with its whole content record.
    return {
        "bank": bank_json(bank),
        "collab_metadata": {},
        "disable_until_ts": ENABLED if enabled else DISABLED,
        "id": entry.id,
        "note": note,
        "original_media_uri": None,
        "user_metadata": _stored_metadata(entry),
    }


@router.delete("/c/bank/{bank_name}/content/{content_id}")
def bank_delete_content(
    app: App, actor: HmaActor, bank_name: str, content_id: str
) -> dict[str, int]:
    """Remove content from a bank: ``{"deleted": 1}``, or 0 when it was not there."""
    _bank(app, bank_name)
    try:
        entry = _entry(app, bank_name, content_id)
    except HmaError:
        return {"deleted": 0}
    with app.engine.begin() as connection:
        deleted = delete_entry(connection, entry.id, actor=actor, now=utcnow())
    return {"deleted": int(deleted)}
