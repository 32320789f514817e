"""/api/v1: cases, decisions, banks, items and matches, as JSON, with bearer tokens.

Each route names the scope it needs (``api_user("cases:read")``); the token's user's role is
then checked by the same domain functions the console calls.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from redline import __version__
from redline.banks import manage
from redline.errors import Conflict, Invalid, NotFound
from redline.model.base import utcnow
from redline.review import decisions, queue, sampling
from redline.review.accounts import Reviewer
from redline.review.casefile import view_case
from redline.store.matches import list_matches
from redline.web import App, RowId
from redline.web.auth import api_user

router = APIRouter(tags=["review"])

CasesRead = Annotated[Reviewer, api_user("cases:read")]
CasesWrite = Annotated[Reviewer, api_user("cases:write")]
BanksRead = Annotated[Reviewer, api_user("banks:read")]
BanksWrite = Annotated[Reviewer, api_user("banks:write")]


class DecisionIn(BaseModel):
    """A decision on a case."""

    verdict: str = Field(
        max_length=40, description="violating, not_violating, escalate, second_review"
    )
    category: str | None = Field(None, max_length=40, description="violation category")
    reason: str | None = Field(None, max_length=40, description="why not violating")
    note: str | None = Field(
        None, max_length=decisions.MAX_NOTE, description="why; required to escalate"
    )
    designation: str | None = Field(
        None,
        max_length=200,
        description="designated organisation or movement from the leads' list, or 'none' "
        "(required with a violating verdict once the list has entries)",
    )
    cluster: bool = Field(False, description="apply to the undecided near-duplicate cluster too")


class BankIn(BaseModel):
    """A new bank."""

    name: str = Field(max_length=100)
    description: str | None = Field(None, max_length=2000)
    confirmed: bool = True


@router.get("/cases", summary="List cases in review order")
def cases(
    me: CasesRead,
    app: App,
    status: Annotated[str, Query(max_length=20)] = "open",
    source: Annotated[str | None, Query(max_length=200)] = None,
    lang: Annotated[str | None, Query(max_length=10)] = None,
    signal: Annotated[str | None, Query(max_length=20)] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Cases under the filters, highest priority and oldest first."""
    where = queue.QueueFilter(status, source, lang, signal, category, assignee)
    with app.engine.begin() as connection:
        rows = queue.list_queue(connection, me, where, utcnow(), offset=offset, limit=limit)
    return {"cases": [r.as_dict() for r in rows], "offset": offset, "limit": limit}


@router.get("/cases/{case_id}", summary="One case with its item, signals and history")
def case(me: CasesRead, app: App, case_id: RowId) -> dict[str, Any]:
    """Everything the case page shows, as data (the view is audited)."""
    with app.engine.begin() as connection:
        found = view_case(connection, me, case_id, utcnow(), via="api")
    return found.as_dict()


@router.post("/cases/{case_id}/claim", summary="Claim a case")
def claim(me: CasesWrite, app: App, case_id: RowId) -> dict[str, Any]:
    """Take a case for this token's user; 409 if someone else holds it."""
    with app.engine.begin() as connection:
        queue.claim(connection, me, case_id, utcnow())
    return {"case": case_id, "assignee": me.username}


class AssignIn(BaseModel):
    """Whom to give a case to."""

    user: str = Field(max_length=100)


@router.post("/cases/{case_id}/assign", summary="Assign a case (leads)")
def assign(me: CasesWrite, app: App, case_id: RowId, body: AssignIn) -> dict[str, Any]:
    """Hand a case to a reviewer, whoever holds it now."""
    with app.engine.begin() as connection:
        queue.assign(connection, me, case_id, body.user, utcnow())
    return {"case": case_id, "assignee": body.user}


class SampleIn(BaseModel):
    """How many texts the classifier did not flag to put before reviewers."""

    size: int = Field(default=100, ge=1, le=10_000)
    seed: int = Field(default=0, ge=0, le=2**31)


@router.post("/samples", status_code=201, summary="Open a labelling sample (leads)")
def sample(me: CasesWrite, app: App, body: SampleIn) -> dict[str, Any]:
    """Cases (signal ``sample``, lowest priority) for texts the shipped classifier did not flag:
    three quarters the highest unflagged scores, a quarter at random. Their decisions become
    training data (``redline model train --reviews``). 409 when no such text is left."""
    me.require("case.assign")
    with app.engine.begin() as connection:
        made = sampling.open_labelling_sample(
            connection, body.size, f"user:{me.username}", utcnow(), body.seed
        )
    return made.as_dict()


@router.post("/cases/{case_id}/decisions", status_code=201, summary="Decide on a case")
def decide(me: CasesWrite, app: App, case_id: RowId, body: DecisionIn) -> dict[str, Any]:
    """Record a decision; the four-eyes rule and roles apply as in the console."""
    try:
        verdict = decisions.Verdict(
            body.verdict, body.category, body.reason, body.note, body.designation
        )
    except Invalid as error:
        raise Invalid(f"case {case_id}: {error}") from None
    now = utcnow()
    with app.engine.begin() as connection:
        if body.cluster:
            outcomes = decisions.decide_cluster(
                connection, me, case_id, verdict, now, four_eyes=app.settings.four_eyes
            )
        else:
            outcomes = [
                decisions.decide(
                    connection, me, case_id, verdict, now, four_eyes=app.settings.four_eyes
                )
            ]
    return {
        "decisions": [
            {
                "case": o.case_id,
                "decision": o.decision_id,
                "status_before": o.status_before,
                "status_after": o.status_after,
            }
            for o in outcomes
        ]
    }


@router.post("/decisions/{decision_id}/undo", summary="Undo one's own decision")
def undo(me: CasesWrite, app: App, decision_id: RowId) -> dict[str, Any]:
    """Within the undo window, put the case back as it was."""
    with app.engine.begin() as connection:
        outcome = decisions.undo(connection, me, decision_id, utcnow())
    return {"case": outcome.case_id, "status": outcome.status_after}


@router.get("/matches", summary="Bank matches, newest first")
def matches(
    me: CasesRead,
    app: App,
    bank: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Media and text matches to bank entries."""
    me.require("case.view")
    rows = list_matches(app.engine, bank=bank, limit=limit)
    return {"matches": [r.as_dict() for r in rows]}


@router.get("/status", summary="What this process serves")
def status(me: BanksRead, app: App) -> dict[str, Any]:
    """This process's bank indexes: the banks version it serves against the database's, seconds
    since they were loaded, how long a newer version has waited (the reload jitter) and whether
    that is too long (``stale``); then per indexed signal type what is loaded. Behind a load
    balancer each process answers for itself (``pid``)."""
    me.require("bank.view")
    return {
        "version": __version__,
        "index": app.indexes.serving().as_dict(),
        "indexes": app.indexes.status(),
    }


@router.get("/banks", summary="List banks")
def banks(me: BanksRead, app: App) -> dict[str, Any]:
    """Every bank with its thresholds and size."""
    me.require("bank.view")
    with app.engine.connect() as connection:
        return {"banks": [b.as_dict() for b in manage.list_banks(connection)]}


@router.post("/banks", status_code=201, summary="Create a bank")
def create_bank(me: BanksWrite, app: App, body: BankIn) -> dict[str, Any]:
    """An empty bank; 409 if the name is taken."""
    me.require("bank.edit")
    try:
        with app.engine.begin() as connection:
            info = manage.create_bank(
                connection,
                manage.check_name(body.name),
                actor=me.actor,
                now=utcnow(),
                description=body.description,
                confirmed=body.confirmed,
            )
    except manage.BankExists:
        raise Conflict(f"a bank called {body.name!r} exists already") from None
    except ValueError as error:
        raise Invalid(str(error)) from None
    return info.as_dict()


@router.get("/banks/{name}/entries", summary="Search a bank's entries")
def entries(
    me: BanksRead,
    app: App,
    name: str,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Entries whose labels or hashes contain ``q``."""
    me.require("bank.view")
    try:
        with app.engine.connect() as connection:
            total, rows = manage.search_entries(connection, name, q, offset=offset, limit=limit)
    except manage.UnknownBank:
        raise NotFound(f"no bank {name!r}") from None
    for row in rows:
        row["added_at"] = row["added_at"].isoformat()
    return {"total": total, "entries": rows}


@router.post("/banks/{name}/entries/{entry_id}/{state}", summary="Disable or enable an entry")
def set_entry(me: BanksWrite, app: App, name: str, entry_id: RowId, state: str) -> dict[str, Any]:
    """A disabled entry no longer matches."""
    me.require("bank.edit")
    if state not in {"disable", "enable"}:
        raise NotFound(f"no action {state!r}")
    with app.engine.begin() as connection:
        manage.get_bank_entry(connection, name, entry_id)
        manage.set_entry_enabled(
            connection, entry_id, state == "enable", actor=me.actor, now=utcnow()
        )
    return {"entry": entry_id, "enabled": state == "enable"}
