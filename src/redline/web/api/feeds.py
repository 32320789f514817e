"""/api/v1/feeds/{bank}: a bank as a signed, incremental feed for other redline instances that
subscribe to it (``redline exchange add --type redline`` on their side), with a ``feeds:read``
token of a user who may view banks. Only hashes and labels are in it (see
``exchanges.federation``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from redline.banks.manage import UnknownBank
from redline.errors import NotFound
from redline.exchanges import federation, signing
from redline.review.accounts import Reviewer
from redline.web import App
from redline.web.auth import api_user

router = APIRouter(tags=["feeds"])
FeedsRead = Annotated[Reviewer, api_user("feeds:read")]


@router.get("/feeds/{bank}", summary="A bank's signed feed of changes")
def feed(
    me: FeedsRead,
    app: App,
    bank: str,
    after: Annotated[int, Query(ge=0, le=2**62, description="the checkpoint to read from")] = 0,
) -> Response:
    """The entries of ``bank`` added, relabelled and removed after checkpoint ``after``, the
    next checkpoint and whether more pages follow, as JSON signed with this instance's Ed25519
    key over the exact body (the ``Redline-Signature`` header)."""
    me.require("bank.view")
    try:
        key = signing.load_key(app.settings.data_dir)
    except FileNotFoundError:
        # No key, no feed: 404 like a bank that does not exist, with what to do about it.
        raise NotFound(
            "this instance publishes no feeds yet: `redline exchange key` makes its signing key"
        ) from None
    try:
        with app.engine.connect() as connection:
            body = federation.publish(
                connection, bank, after, organisation=app.settings.organisation
            )
    except UnknownBank:
        raise NotFound(f"no bank {bank!r}") from None
    return Response(
        body,
        media_type="application/json",
        headers={signing.HEADER: signing.sign(key, body), "Cache-Control": "no-store"},
    )
