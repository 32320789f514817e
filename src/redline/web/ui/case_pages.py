"""The queue, the case page, decisions, undo, and protected media."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection, select

from redline.banks import manage
from redline.errors import Conflict, Forbidden, Invalid, NotFound
from redline.model import AuditEvent, Media
from redline.model.base import utcnow
from redline.review import decisions, designations, evidence, protection, queue, sampling
from redline.review.case_timeline import case_timeline
from redline.review.casefile import case_file, view_case
from redline.review.rules import CaseStatus
from redline.signals import BadSignal
from redline.web import App, RowId, Services
from redline.web.auth import Checked, CheckedSelf, Me, Visitor
from redline.web.media import media_response
from redline.web.ui.render import page

router = APIRouter()
# A full-size media file is served only shortly after its audited reveal by the same user.
REVEAL_GRANT = timedelta(minutes=10)
FRAME_THUMBNAIL = 160  # pixels: a matched video frame's blurred thumbnail in the frame strip


def _filter(
    status: str = CaseStatus.OPEN,
    source: str | None = None,
    lang: str | None = None,
    signal: str | None = None,
    category: str | None = None,
    assignee: str | None = None,
) -> queue.QueueFilter:
    return queue.QueueFilter(
        status, source or None, lang or None, signal or None, category or None, assignee or None
    )


Filter = Annotated[queue.QueueFilter, Depends(_filter)]


def _carry(where: queue.QueueFilter) -> str:
    """The filter as a query string: every link and form from a queue view carries it, so the
    next case, the page after a decision and the way back keep the reviewer's tab and filters."""
    return urlencode(where.params())


def _offer(
    connection: Connection, me: Visitor, decided: int | None, now: datetime
) -> decisions.UndoOffer | None:
    return None if decided is None else decisions.undo_offer(connection, me.reviewer, decided, now)


@router.get("/queue", response_class=HTMLResponse, include_in_schema=False)
def queue_page(
    where: Filter,
    me: Me,
    app: App,
    request: Request,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    decided: RowId | None = None,
) -> Response:
    """Cases in review order, with filters and tabs per status; after a decision that left
    nothing to claim, the undo of that decision."""
    now = utcnow()
    with app.engine.begin() as connection:
        shown = queue.board(connection, me.reviewer, where, now, offset=offset)
        undo = _offer(connection, me, decided, now)
    return page(
        request,
        "queue.html",
        me,
        board=shown,
        where=where,
        carry=_carry(where),
        offset=offset,
        page_size=queue.PAGE,
        undo=undo,
        bulk_max=queue.BULK_MAX,
    )


def _next(
    app: Services, me: Visitor, where: queue.QueueFilter, decided: int | None = None
) -> RedirectResponse:
    """Claim the next free case under ``where`` and open it (with the undo of ``decided``);
    with none left, the queue under ``where`` says so."""
    with app.engine.begin() as connection:
        case_id = queue.next_case(connection, me.reviewer, where, utcnow())
    after = f"&decided={decided}" if decided is not None else ""
    if case_id is None:
        return RedirectResponse(f"/queue?{_carry(where)}&empty=1{after}", status_code=303)
    return RedirectResponse(f"/cases/{case_id}?{_carry(where)}{after}", status_code=303)


@router.post("/queue/next", include_in_schema=False)
def next_case(where: Filter, me: Checked, app: App) -> RedirectResponse:
    """Claim the next free case of the queue, under the reviewer's tab and filters, and open it."""
    return _next(app, me, where)


@router.post("/queue/bulk", include_in_schema=False)
def bulk(
    where: Filter,
    me: Checked,
    app: App,
    case: Annotated[list[RowId], Form(max_length=queue.BULK_MAX)],
    action: Annotated[str, Form(max_length=20)],
    user: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse:
    """A lead assigns the selected cases to a reviewer or releases them, each audited."""
    me.reviewer.require("case.assign")
    with app.engine.begin() as connection:
        if action == "assign":
            done = queue.assign_many(connection, me.reviewer, case, user.strip(), utcnow())
        elif action == "release":
            done = queue.release_many(connection, me.reviewer, case)
        else:
            raise Invalid(f"unknown bulk action {action!r} (assign, release)")
    return RedirectResponse(
        f"/queue?{_carry(where)}&bulk={action}&changed={len(done)}", status_code=303
    )


@router.post("/queue/sample", include_in_schema=False)
def sample(
    me: Checked, app: App, size: Annotated[int, Form(ge=1, le=1000)] = 50
) -> RedirectResponse:
    """Open a labelling sample (leads) and show its cases."""
    me.reviewer.require("case.assign")
    with app.engine.begin() as connection:
        sampling.open_labelling_sample(connection, size, f"user:{me.reviewer.username}", utcnow())
    return RedirectResponse("/queue?signal=sample", status_code=303)


@router.get("/cases/{case_id}", response_class=HTMLResponse, include_in_schema=False)
def case_page(
    where: Filter,
    me: Me,
    app: App,
    request: Request,
    case_id: RowId,
    decided: RowId | None = None,
    revealed: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """One case: the item in context, every signal and why it fired, and the decision form;
    after a decision (on this case or the one before it), its undo while the rules allow it."""
    now = utcnow()
    with app.engine.begin() as connection:
        found = view_case(connection, me.reviewer, case_id, now)
        timeline = case_timeline(connection, me.reviewer, case_id)
        seen = protection.exposure(connection, me.reviewer, now)
        listed = designations.list_designations(connection, enabled_only=True)
        shown = revealed if revealed and _granted(connection, me, revealed, now) else ""
        undo = _offer(connection, me, decided, now)
    return page(
        request,
        "case.html",
        me,
        case=found,
        exposure=seen,
        undo=undo,
        carry=_carry(where),
        revealed=shown,
        designations=listed,
        timeline=timeline,
    )


def _granted(connection: Connection, me: Visitor, sha256: str, now: datetime) -> bool:
    """Whether ``me`` revealed this media file recently (the full file is theirs to see)."""
    if me.reviewer.always_blur:
        return False
    return (
        connection.scalar(
            select(AuditEvent.id)
            .where(AuditEvent.actor == me.reviewer.actor, AuditEvent.action == "media.reveal")
            .where(AuditEvent.subject_id == sha256, AuditEvent.at >= now - REVEAL_GRANT)
            .limit(1)
        )
        is not None
    )


@router.post("/cases/{case_id}/claim", include_in_schema=False)
def claim(where: Filter, me: Checked, app: App, case_id: RowId) -> RedirectResponse:
    """Take the case, so no other reviewer works on it."""
    with app.engine.begin() as connection:
        queue.claim(connection, me.reviewer, case_id, utcnow())
    return RedirectResponse(f"/cases/{case_id}?{_carry(where)}", status_code=303)


@router.post("/cases/{case_id}/assign", include_in_schema=False)
def assign(
    me: Checked, app: App, case_id: RowId, user: Annotated[str, Form(max_length=100)]
) -> RedirectResponse:
    """A lead hands the case to a reviewer."""
    with app.engine.begin() as connection:
        queue.assign(connection, me.reviewer, case_id, user, utcnow())
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/release", include_in_schema=False)
def release(where: Filter, me: Checked, app: App, case_id: RowId) -> RedirectResponse:
    """Give the case back to the queue."""
    with app.engine.begin() as connection:
        queue.release(connection, me.reviewer, case_id)
    return RedirectResponse(f"/queue?{_carry(where)}", status_code=303)


@router.post("/cases/{case_id}/decide", include_in_schema=False)
def decide(
    where: Filter,
    me: Checked,
    app: App,
    case_id: RowId,
    verdict: Annotated[str, Form(max_length=40)],
    category: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=decisions.MAX_NOTE)] = "",
    designation: Annotated[str, Form(max_length=designations.MAX_NAME)] = "",
    cluster: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    """Record a decision (on the whole near-duplicate cluster when asked), then go straight to
    the next case of the reviewer's tab and filters, with the undo of this decision."""
    try:
        chosen = decisions.Verdict(
            verdict,
            category or None if verdict == "violating" else None,
            reason or None if verdict == "not_violating" else None,
            note.strip() or None,
            # A designation belongs to a violating verdict only: one left chosen in the form
            # while deciding otherwise is not recorded.
            designation or None if verdict == "violating" else None,
        )
    except Invalid as error:
        raise Invalid(f"case {case_id}: {error}") from None
    now = utcnow()
    with app.engine.begin() as connection:
        if cluster == "on":
            outcomes = decisions.decide_cluster(
                connection, me.reviewer, case_id, chosen, now, four_eyes=app.settings.four_eyes
            )
        else:
            outcomes = [
                decisions.decide(
                    connection, me.reviewer, case_id, chosen, now, four_eyes=app.settings.four_eyes
                )
            ]
    decided = outcomes[0].decision_id
    if not me.reviewer.can("case.claim"):  # nobody to hand a next case to: stay on this one
        return RedirectResponse(f"/cases/{case_id}?{_carry(where)}&decided={decided}", 303)
    return _next(app, me, where, decided)


@router.post("/decisions/{decision_id}/undo", include_in_schema=False)
def undo(where: Filter, me: Checked, app: App, decision_id: RowId) -> RedirectResponse:
    """Take one's own decision back, within the undo window, and reopen its case (in the same
    tab and filters)."""
    with app.engine.begin() as connection:
        outcome = decisions.undo(connection, me.reviewer, decision_id, utcnow())
    return RedirectResponse(f"/cases/{outcome.case_id}?{_carry(where)}", status_code=303)


@router.get("/cases/{case_id}/cluster", response_class=HTMLResponse, include_in_schema=False)
def cluster_preview(me: Me, app: App, request: Request, case_id: RowId) -> Response:
    """What a decision on the whole cluster would cover (an htmx fragment)."""
    me.reviewer.require("case.view")
    with app.engine.begin() as connection:
        others = decisions.cluster(connection, case_id)
    return page(request, "cluster.html", me, case_id=case_id, others=others)


@router.post("/cases/{case_id}/media/{sha256}/reveal", include_in_schema=False)
def reveal(me: CheckedSelf, app: App, request: Request, case_id: RowId, sha256: str) -> Response:
    """Show one media file unblurred: a deliberate, audited act."""
    if me.reviewer.always_blur:
        raise Forbidden("you chose to keep all media blurred (change it in Settings)")
    with app.engine.begin() as connection:
        seen = protection.reveal(connection, me.reviewer, case_id, sha256, utcnow())
        kind = connection.scalar(select(Media.kind).where(Media.sha256 == sha256))
    if request.headers.get("hx-request") != "true":  # without JavaScript: the page shows it
        return RedirectResponse(
            f"/cases/{case_id}?revealed={sha256}#media-{sha256[:12]}", status_code=303
        )
    return page(
        request, "revealed.html", me, case_id=case_id, sha256=sha256, kind=kind, exposure=seen
    )


@router.get("/cases/{case_id}/media/{sha256}/preview", include_in_schema=False)
def preview(
    me: Me,
    app: App,
    case_id: RowId,
    sha256: str,
    at: Annotated[float | None, Query(ge=0, le=86_400)] = None,
) -> Response:
    """The blurred, greyscale preview of an image (or a video's frame: the one ``at`` seconds
    in, a matched frame's thumbnail) of the case."""
    me.reviewer.require("case.view")
    with app.engine.begin() as connection:
        path, kind = protection.media_of_case(connection, case_id, sha256)
        blur = protection.blur_of(connection, me.reviewer)
    try:
        with app.media.local_path(path) as local:
            if at is None:
                data = protection.protected_preview(local, kind, blur)
            else:
                data = protection.protected_preview(local, kind, blur, at=at, size=FRAME_THUMBNAIL)
    except (protection.NoPreview, BadSignal) as error:  # BadSignal: unreadable, or a bomb
        raise NotFound(str(error)) from None
    return Response(data, media_type="image/jpeg", headers={"cache-control": "private"})


@router.get("/cases/{case_id}/media/{sha256}/full", include_in_schema=False)
def full(me: Me, app: App, case_id: RowId, sha256: str) -> Response:
    """The original file, only after this user's audited reveal of it."""
    if me.reviewer.always_blur:
        raise Forbidden("you chose to keep all media blurred (change it in Settings)")
    now = utcnow()
    with app.engine.begin() as connection:
        path, _kind = protection.media_of_case(connection, case_id, sha256)
        granted = _granted(connection, me, sha256, now)
    if not granted:
        raise Forbidden("reveal the media first (the reveal is recorded)")
    return media_response(app.media.read(path), f"{sha256}.bin")


@router.post("/cases/{case_id}/entries/{entry_id}/false-positive", include_in_schema=False)
def report_false_positive(
    me: Checked,
    app: App,
    case_id: RowId,
    entry_id: RowId,
    note: Annotated[str, Form(max_length=evidence.MAX_NOTE)] = "",
) -> RedirectResponse:
    """Report that a bank entry matched this case's content wrongly (once per reviewer)."""
    with app.engine.begin() as connection:
        evidence.report_false_positive(
            connection, me.reviewer, case_id, entry_id, utcnow(), note=note or None
        )
    return RedirectResponse(f"/cases/{case_id}#entry-{entry_id}", status_code=303)


@router.post("/cases/{case_id}/bank", include_in_schema=False)
def add_to_bank(
    me: Checked, app: App, case_id: RowId, bank: Annotated[str, Form(max_length=100)]
) -> RedirectResponse:
    """Add a confirmed case's text and media to a bank, so re-uploads match."""
    me.reviewer.require("bank.edit")
    with app.engine.begin() as connection:
        found = case_file(connection, me.reviewer, case_id, utcnow())
    if found.status != CaseStatus.VIOLATING:
        raise Conflict("only content confirmed as violating can be added to a bank")
    # The designated organisation or movement travels with the hashes: the exported note and
    # the provenance carry it, as hash-sharing labels do.
    named = f"; designation: {found.designation}" if found.designation else ""
    labels: dict[str, Any] = {
        "category": found.category,
        "provenance": {"case": case_id, "designation": found.designation},
        "note": f"from case {case_id}{named}",
    }
    try:
        # Hashing reads whole files, so it happens first; then one transaction adds the text
        # and every media file, so a refusal half-way leaves the bank as it was.
        files = []
        for media in found.media:
            if media.kind in {"image", "video"}:
                with app.media.local_path(_media_path(app, media.sha256)) as local:
                    files.append(manage.hash_media(app.media, local))
        now = utcnow()
        with app.engine.begin() as connection:
            if found.item.text:
                manage.add_text(
                    connection, bank, found.item.text, actor=me.reviewer.actor, now=now, **labels
                )
            for file in files:
                manage.add_media(connection, bank, file, actor=me.reviewer.actor, now=now, **labels)
        added = len(files) + (1 if found.item.text else 0)
    except manage.UnknownBank:
        raise Invalid(f"no bank {bank!r}") from None
    except BadSignal as error:
        raise Invalid(str(error)) from None
    return RedirectResponse(f"/cases/{case_id}?banked={added}", status_code=303)


def _media_path(app: Services, sha256: str) -> str:
    with app.engine.connect() as connection:
        return str(connection.scalar(select(Media.path).where(Media.sha256 == sha256)))
