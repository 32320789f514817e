"""HMA 2.0's exchange routes (``/c/exchanges``, ``/c/exchange/{name}``...), read-only, over
``redline.exchanges``.

HMA's words map onto redline's: an exchange's ``api`` is its kind under HMA's name for it
(python-threatexchange's ``fb_threatexchange`` for ThreatExchange, ``tat``; redline's own feed is
``redline``); its configuration is its settings without any secret (not even masked: HMA never
shows credentials with a collaboration), and its fetch status has HMA's ``FetchStatus`` fields
(times in Unix seconds) followed by redline's own: the checkpoint as stored, the last error and
what the fetches did. Exchanges are added with ``redline exchange add``.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends

from redline.banks.manage import BANK_NAME
from redline.exchanges import EXCHANGES, exchange_kind
from redline.exchanges.run import (
    ExchangeInfo,
    UnknownExchange,
    checkpoint_time,
    get_exchange,
    held_entries,
    list_exchanges,
)
from redline.web import Services, services
from redline.web.hma.errors import HmaRoute, abort

router = APIRouter(route_class=HmaRoute, tags=["HMA exchanges"])
App = Annotated[Services, Depends(services)]

# HMA's (python-threatexchange's) names of the exchange APIs redline has.
HMA_API: Final[dict[str, str]] = {"threatexchange": "fb_threatexchange"}


def api_name(kind: str) -> str:
    """An exchange kind under HMA's name for it."""
    return HMA_API.get(kind, kind)


def _exchange(app: Services, name: str) -> ExchangeInfo:
    # A name outside the grammar names no exchange (and keeps NUL away from PostgreSQL).
    if not BANK_NAME.fullmatch(name):
        abort(404, f"Exchange '{name}' not found")
    try:
        with app.engine.connect() as connection:
            return get_exchange(connection, name)
    except UnknownExchange:
        abort(404, f"Exchange '{name}' not found")


def config_json(info: ExchangeInfo) -> dict[str, Any]:
    """An exchange's configuration as HMA shows a collaboration: never a secret."""
    secret = exchange_kind(info.kind).secret_settings
    public = {k: v for k, v in info.settings.items() if k not in secret}
    return {
        **public,
        "name": info.name,
        "api": api_name(info.kind),
        "enabled": info.enabled,
        "bank": info.bank,
    }


@router.get("/c/exchanges")
def exchanges_index(app: App) -> list[str]:
    """Every exchange's name: ``["partner-tvec", "te-tvec"]``."""
    with app.engine.connect() as connection:
        return [info.name for info in list_exchanges(connection)]


@router.get("/c/exchanges/apis")
def exchange_apis() -> list[str]:
    """The exchange APIs this instance can fetch from, by HMA's names."""
    return sorted(api_name(kind) for kind in EXCHANGES)


@router.get("/c/exchange/{exchange_name}")
def exchange_show(app: App, exchange_name: str) -> dict[str, Any]:
    """One exchange's configuration: ``{"name", "api", "enabled", "bank", ...settings}``."""
    return config_json(_exchange(app, exchange_name))


@router.get("/c/exchange/{exchange_name}/status")
def exchange_status(app: App, exchange_name: str) -> dict[str, Any]:
    """How its fetches went: HMA's ``checkpoint_ts``, ``running_fetch_start_ts`` (always null:
    a redline fetch holds no state while it runs), ``last_fetch_complete_ts``,
    ``last_fetch_succeeded``, ``up_to_date`` and ``fetched_items`` (the entries it has in its
    bank now), then redline's ``checkpoint``, ``last_fetch_ts`` (the last one applied),
    ``last_error`` and the entries ``added``, ``relabelled`` and ``removed`` so far."""
    info = _exchange(app, exchange_name)
    with app.engine.connect() as connection:
        held = held_entries(connection, info.name)
    tried = int(info.tried_at.timestamp()) if info.tried_at is not None else None
    succeeded = None if tried is None else info.last_error is None
    return {
        "checkpoint_ts": checkpoint_time(info.kind, info.checkpoint),
        "running_fetch_start_ts": None,
        "last_fetch_complete_ts": tried,
        "last_fetch_succeeded": succeeded,
        "up_to_date": bool(succeeded),
        "fetched_items": held,
        "checkpoint": info.checkpoint,
        "last_fetch_ts": int(info.fetched_at.timestamp()) if info.fetched_at else None,
        "last_error": info.last_error,
        "added": info.added,
        "relabelled": info.relabelled,
        "removed": info.removed,
    }
