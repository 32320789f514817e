"""/api/v1/exchanges: the exchanges that feed the banks and how their fetches went, for a
``banks:read`` token (settings without their secrets, as ``redline exchange status`` shows)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from redline.exchanges import run
from redline.review.accounts import Reviewer
from redline.web import App
from redline.web.auth import api_user

router = APIRouter(tags=["exchanges"])
BanksRead = Annotated[Reviewer, api_user("banks:read")]


@router.get("/exchanges", summary="Every exchange and its fetch state")
def list_exchanges(me: BanksRead, app: App) -> list[dict[str, Any]]:
    """Each exchange: its bank, kind, settings (secrets hidden), whether it is enabled, its
    checkpoint, when it last fetched and last tried, its last error and what it added,
    relabelled and removed."""
    me.require("bank.view")
    with app.engine.connect() as connection:
        return [x.as_dict() for x in run.list_exchanges(connection)]


@router.get("/exchanges/{name}", summary="One exchange and its fetch state")
def get_exchange(me: BanksRead, app: App, name: str) -> dict[str, Any]:
    """One exchange as the list gives it; 404 when there is none of that name."""
    me.require("bank.view")
    with app.engine.connect() as connection:
        return run.get_exchange(connection, name).as_dict()
