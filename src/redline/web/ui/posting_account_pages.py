"""A posting account or channel's page: its items, counts, outlink hosts, posts per day, and a
bulk decision over its cases waiting for their first review."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from redline.errors import Invalid
from redline.model.base import utcnow
from redline.review import decisions, designations, posting_accounts
from redline.web import App, RowId
from redline.web.auth import Checked, Me
from redline.web.ui.render import page

router = APIRouter()

Source = Annotated[str, Query(min_length=1, max_length=200)]
Handle = Annotated[str, Query(min_length=1, max_length=posting_accounts.MAX_HANDLE)]


@router.get("/posting-accounts", response_class=HTMLResponse, include_in_schema=False)
def account_page(
    me: Me,
    app: App,
    request: Request,
    source: Source,
    account: Handle,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """Every item one account or channel posted in a source, as the items record it."""
    with app.engine.begin() as connection:
        found = posting_accounts.view_posting_account(
            connection, me.reviewer, source, account, offset=offset
        )
        listed = designations.list_designations(connection, enabled_only=True)
    return page(
        request,
        "posting_account.html",
        me,
        account=found,
        page_size=posting_accounts.PAGE,
        designations=listed,
    )


@router.post("/posting-accounts/decide", include_in_schema=False)
def decide_account(
    me: Checked,
    app: App,
    source: Annotated[str, Form(min_length=1, max_length=200)],
    account: Annotated[str, Form(min_length=1, max_length=posting_accounts.MAX_HANDLE)],
    verdict: Annotated[str, Form(max_length=40)],
    case: Annotated[list[RowId], Form(max_length=posting_accounts.MAX_BULK)] = [],  # noqa: B006
    category: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=decisions.MAX_NOTE)] = "",
    designation: Annotated[str, Form(max_length=designations.MAX_NAME)] = "",
) -> RedirectResponse:
    """One verdict on each chosen case of the account: a first-review decision per case."""
    try:
        chosen = decisions.Verdict(
            verdict,
            category or None if verdict == "violating" else None,
            reason or None if verdict == "not_violating" else None,
            note.strip() or None,
            designation or None,
        )
    except Invalid as error:
        raise Invalid(f"account {account!r}: {error}") from None
    with app.engine.begin() as connection:
        done = posting_accounts.decide_account(
            connection,
            me.reviewer,
            source,
            account,
            case,
            chosen,
            utcnow(),
            four_eyes=app.settings.four_eyes,
        )
    query = urlencode(
        {
            "source": source,
            "account": account,
            "decided": len(done.outcomes),
            "skipped": len(done.skipped),
        }
    )
    return RedirectResponse(f"/posting-accounts?{query}#bulk", status_code=303)
