"""HMA's matching routes (``/m``): look-ups by hash or by uploaded file, compare, index status.

A look-up answers HMA's way: matches of enabled entries, grouped by bank, for the banks that win
the coinflip. Each bank takes part in the share of look-ups its ``matching_enabled_ratio`` says:
``random.Random(seed).random()`` is drawn once per look-up and a bank takes part when its ratio
is at least that number, so a caller that passes the same ``seed`` gets the same banks every
time. ``bypass_coinflip=true`` lets every bank take part, disabled ones (ratio 0) included.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from redline.banks import list_banks
from redline.index.store import INDEXED_TYPES
from redline.signals import BadSignal, Query
from redline.signals.decoding import ImageTooLarge
from redline.web import Services, services
from redline.web.hma.errors import HmaRoute, abort
from redline.web.hma.payloads import FormBody, JsonBody, saved_upload, without_paths
from redline.web.hma.signals import SIGNAL_TYPES, HmaSignalType, for_content_type, hash_upload
from redline.web.security import body_limit

NO_FETCH = (
    "redline does not fetch URLs: POST the file as multipart/form-data to {route},"
    " in a form field named after its content type (photo or video)"
)

router = APIRouter(route_class=HmaRoute, tags=["HMA matching"])
App = Annotated[Services, Depends(services)]
MatchesByBank = dict[str, list[dict[str, Any]]]


def signal_type_named(name: str) -> HmaSignalType:
    """The HMA signal type called ``name``; 400 in HMA's words when there is none."""
    found = SIGNAL_TYPES.get(name)
    if found is None:
        abort(400, f"No such SignalType '{name}'")
    return found


def parse_flag(value: str | None) -> bool:
    """An HMA boolean query argument: true, 1, yes or on; anything else is false."""
    return (value or "").strip().lower() in {"true", "1", "yes", "on"}


def parse_banks(value: str | None) -> set[str] | None:
    """HMA's ``banks=A,B`` filter; None when absent."""
    if not value:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def upload_signal_types(content_type: str, types: str | None) -> list[HmaSignalType]:
    """The signal types to compute for an upload (HMA's ``types=`` argument); 400 if unknown."""
    try:
        return for_content_type(content_type, types)
    except BadSignal as error:
        abort(400, str(error))


def hash_uploaded(
    app: Services, form: FormBody, types: str | None
) -> list[tuple[HmaSignalType, Query]]:
    """Save the upload, choose its signal types (HMA's ``types=``) and hash it in one of the
    app's hashing slots; 400 in HMA's words when the file cannot be hashed, 422 when it is an
    image over the pixel budget, 503 when every slot is taken."""
    with saved_upload(form) as upload:
        kinds = upload_signal_types(upload.content_type, types)
        try:
            with app.hashing.taken():
                return hash_upload(upload.path, kinds)
        except ImageTooLarge as error:
            abort(422, f"invalid signal: {without_paths(str(error))}")
        except BadSignal as error:
            abort(400, f"invalid signal: {without_paths(str(error))}")


def fresh_enough(app: Services) -> None:
    """503 when this process has served an older banks version than the database's for longer
    than ``REDLINE_INDEX_MAX_STALE_SECONDS`` (HMA answers 503 when its index cache is stale)."""
    app.indexes.current()  # reads the counter when it is time to, reloads when due
    if app.indexes.too_stale():
        serving = app.indexes.serving()
        abort(
            503,
            f"index stale: this process serves banks version {serving.banks_version}, the"
            f" database is at {serving.database_version} since"
            f" {serving.behind_seconds:.0f}s ago",
        )


def lookup(
    app: Services,
    kind: HmaSignalType,
    query: Query,
    *,
    seed: str | None,
    bypass_coinflip: bool,
    banks: set[str] | None,
) -> MatchesByBank:
    """HMA's look-up of one hash: matches of enabled entries in the banks that take part."""
    fresh_enough(app)
    matches = kind.match(app.matcher, query)
    if not matches:
        return {}
    # Not for security: HMA's coinflip, reproducible from the caller's seed on purpose.
    coinflip = 0.0 if bypass_coinflip else random.Random(seed).random()  # noqa: S311
    taking_part = {
        bank.id
        for bank in app.matcher.banks().values()
        if bypass_coinflip or (bank.enabled and bank.enabled_ratio >= coinflip)
    }
    results: MatchesByBank = {}
    seen: set[int] = set()
    for match in matches:
        if match.bank_id not in taking_part:
            continue
        if (banks is not None and match.bank not in banks) or match.entry_id in seen:
            continue
        seen.add(match.entry_id)
        results.setdefault(match.bank, []).append(
            {"bank_content_id": match.entry_id, "distance": kind.distance(match)}
        )
    return results


def _query(kind: HmaSignalType, signal: str) -> Query:
    try:
        return kind.signal.query(kind.validate(signal))
    except BadSignal as error:
        abort(400, f"invalid signal: {error}")


@router.get("/m/lookup")
def lookup_get(
    app: App,
    signal: str | None = None,
    signal_type: str | None = None,
    url: str | None = None,
    banks: str | None = None,
    seed: str | None = None,
    bypass_coinflip: str | None = None,
) -> MatchesByBank:
    """Matches of one hash, by bank: ``{"BANK": [{"bank_content_id": 1, "distance": "0"}]}``.

    ``bypass_coinflip=true`` is honoured here as on POST (HMA itself reads it on POST only).
    """
    if url:
        abort(400, NO_FETCH.format(route="/m/lookup"))
    if not signal or not signal_type:
        abort(400, "Either url or both signal and signal_type are required")
    kind = signal_type_named(signal_type)
    return lookup(
        app,
        kind,
        _query(kind, signal),
        seed=seed,
        bypass_coinflip=parse_flag(bypass_coinflip),
        banks=parse_banks(banks),
    )


@router.post("/m/lookup", openapi_extra=body_limit("media"))
def lookup_post(
    app: App,
    form: FormBody,
    seed: str | None = None,
    banks: str | None = None,
    bypass_coinflip: str | None = None,
    types: str | None = None,
) -> dict[str, MatchesByBank]:
    """Matches of an uploaded photo or video, by signal type then bank."""
    hashes = hash_uploaded(app, form, types)
    response: dict[str, MatchesByBank] = {}
    for kind, computed in hashes:
        if (computed.quality or 0) < kind.signal.min_quality:
            # HMA hashes such a photo as "" and then refuses "" as an invalid signal.
            abort(
                400,
                f"invalid signal: image quality {computed.quality} is below"
                f" {kind.signal.min_quality}, too low for PDQ to match on",
            )
        response[kind.name] = lookup(
            app,
            kind,
            computed,
            seed=seed,
            bypass_coinflip=parse_flag(bypass_coinflip),
            banks=parse_banks(banks),
        )
    return response


@router.get("/m/raw_lookup")
def raw_lookup(
    app: App,
    signal: str | None = None,
    signal_type: str | None = None,
    banks: str | None = None,
    include_distance: str | None = None,
) -> dict[str, list[Any]]:
    """Every indexed match of a hash, enabled or not (HMA's debugging look-up)."""
    if not signal or not signal_type:
        abort(422, "signal and signal_type are required")
    kind = signal_type_named(signal_type)
    wanted = parse_banks(banks)
    fresh_enough(app)
    found: list[Any] = []
    seen: set[int] = set()
    for match in kind.match(app.matcher, _query(kind, signal)):
        if (wanted is not None and match.bank not in wanted) or match.entry_id in seen:
            continue
        seen.add(match.entry_id)
        if parse_flag(include_distance):
            found.append({"bank_content_id": match.entry_id, "distance": kind.distance(match)})
        else:
            found.append(match.entry_id)
    return {"matches": found}


@router.get("/m/index/status")
def index_status(app: App, signal_type: str | None = None) -> dict[str, dict[str, Any]]:
    """Per signal type: whether its index is present, what it holds, and when it was built;
    and, beyond HMA's fields, the banks version this process serves against the database's
    (``banks_version``, ``database_version``, ``seconds_since_load``, ``behind_seconds``,
    ``stale``), the same for every type: a process loads all its indexes at one version.

    The PDQ and vPDQ indexes are loaded first (on first use), so ``size`` is what a look-up
    searches; exact hashes are matched in the database, always current.
    """
    names = list(SIGNAL_TYPES)
    if signal_type is not None:
        if signal_type not in SIGNAL_TYPES:
            abort(400, f"No such signal type '{signal_type}'")
        names = [signal_type]
    for name in names:
        if name in INDEXED_TYPES:
            app.indexes.get(name)
    built = app.indexes.status()
    serving = app.indexes.serving()
    process = {
        "banks_version": serving.banks_version,
        "database_version": serving.database_version,
        "seconds_since_load": round(serving.seconds_since_load, 3),
        "behind_seconds": round(serving.behind_seconds, 3),
        "stale": serving.stale,
    }
    sizes: Counter[str] = Counter()
    with app.engine.connect() as connection:
        for bank in list_banks(connection):
            sizes.update(bank.signals)
    status: dict[str, dict[str, Any]] = {}
    for name in names:
        index = built.get(name) if name in INDEXED_TYPES else None
        if index is None:
            present, built_to = True, int(time.time())
        else:
            present, built_to = bool(index["present"]), int(index["built_to"])
        status[name] = {
            "built_to": built_to,
            "present": present,
            "size": sizes[name],
            **process,
        }
    return status


@router.post("/m/compare", openapi_extra=body_limit("upload"))
def compare(body: JsonBody) -> dict[str, list[Any]]:
    """Compare pairs of hashes: ``{"pdq": [a, b]}`` -> ``{"pdq": [true, {"distance": 9}]}``."""
    if not isinstance(body, dict):
        abort(400, "Request input was not a dict")
    results: dict[str, list[Any]] = {}
    for name, pair in body.items():
        if not isinstance(pair, list):
            abort(400, f"Comparison hashes for {name} was not a list")
        if len(pair) != 2:
            abort(400, "Comparison hash list length must be exactly 2")
        kind = signal_type_named(name)
        try:
            if not all(isinstance(value, str) for value in pair):
                raise BadSignal("hashes must be strings")
            left, right = kind.validate(pair[0]), kind.validate(pair[1])
        except BadSignal as error:
            abort(400, f"Invalid {name} hash: {error}")
        results[name] = kind.compare(left, right)
    return results
