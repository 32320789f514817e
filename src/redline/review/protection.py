"""Reviewer protection: media stay blurred and grey until a deliberate reveal, each reveal is
audited, and each reviewer's exposure of the day (reveals and cases viewed) is counted against
their own break reminder and the organisation's daily cap, past which the console enforces a
break: no claiming, no next case, until the next UTC day or until a lead lifts it."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Final

from PIL import ImageFilter, ImageOps
from sqlalchemy import Connection, func, select, update

from redline.errors import Forbidden, Invalid, NotFound
from redline.model import (
    AuditEvent,
    BankEntry,
    Case,
    Item,
    ItemMedia,
    Match,
    Media,
    OrganisationSettings,
    User,
)
from redline.review.accounts import Reviewer
from redline.signals.decoding import open_image
from redline.store.audit import record_event

PREVIEW_SIZE: Final = 480
# Strong enough that shapes and colours of violence do not read, weak enough that a reviewer
# can tell a screenshot of text from a photo before deciding to reveal.
BLUR_RADIUS: Final = 18
# The blur a user or the organisation may choose: never weaker than the default above (the
# blurred bytes must not show more than they always did), and past 60 a 480-pixel preview is
# one grey field.
BLUR_RADII: Final = range(BLUR_RADIUS, 61)
# The daily cap leads may set, in reveals plus cases viewed.
DAILY_CAPS: Final = range(1, 10_001)
ORGANISATION_ROW: Final = 1


@dataclass(frozen=True, slots=True)
class Blur:
    """How blurred previews are made for one user: the Gaussian radius (at least
    ``BLUR_RADIUS``), and whether revealed media stay greyscale too (previews always are;
    revealed media are in colour unless someone chooses otherwise, as before)."""

    radius: int = BLUR_RADIUS
    greyscale: bool = False


@dataclass(frozen=True, slots=True)
class Organisation:
    """The organisation's protection settings: the daily cap (None: none) and the blur default."""

    daily_cap: int | None = None
    blur: Blur = Blur()


@dataclass(frozen=True, slots=True)
class Exposure:
    """A reviewer's exposure today (UTC): media revealed and cases viewed, against their own
    break reminder and the organisation's cap."""

    today: int  # media revealed
    break_after: int
    cases_viewed: int = 0
    daily_cap: int | None = None
    lifted: bool = False  # a lead lifted today's enforced break

    @property
    def break_due(self) -> bool:
        """Whether the reviewer has reached their own break reminder."""
        return self.today >= self.break_after

    @property
    def total(self) -> int:
        """What the daily cap counts: media revealed plus cases viewed."""
        return self.today + self.cases_viewed

    @property
    def on_break(self) -> bool:
        """Whether the console enforces a break: the cap is reached and no lead lifted it."""
        return self.daily_cap is not None and self.total >= self.daily_cap and not self.lifted


class OnBreak(Forbidden):
    """The reviewer reached the daily exposure cap: no new cases until the break ends."""


def _midnight(now: datetime) -> datetime:
    return datetime.combine(now.date(), time(), now.tzinfo)


def organisation(connection: Connection) -> Organisation:
    """The organisation's protection settings (the built-in defaults until someone sets them)."""
    row = connection.execute(
        select(
            OrganisationSettings.daily_cap,
            OrganisationSettings.blur_radius,
            OrganisationSettings.greyscale,
        ).where(OrganisationSettings.id == ORGANISATION_ROW)
    ).first()
    if row is None:
        return Organisation()
    return Organisation(row.daily_cap, Blur(row.blur_radius, row.greyscale))


def exposure(connection: Connection, reviewer: Reviewer, now: datetime) -> Exposure:
    """``reviewer``'s reveals and distinct cases viewed since midnight UTC, and whether a lead
    lifted today's break."""
    return exposures(connection, [reviewer], now)[reviewer.id]


def exposures(
    connection: Connection, reviewers: Sequence[Reviewer], now: datetime
) -> dict[int, Exposure]:
    """``exposure`` of each of ``reviewers`` by user id, in three reads whatever their number
    (the health page lists every reviewer of a desk)."""
    if not reviewers:
        return {}
    midnight = _midnight(now)
    actors = {reviewer.actor: reviewer for reviewer in reviewers}
    counted = {
        actor: (int(reveals or 0), int(viewed or 0))
        for actor, reveals, viewed in connection.execute(
            select(
                AuditEvent.actor,
                func.count().filter(AuditEvent.action == "media.reveal"),
                func.count(AuditEvent.subject_id.distinct()).filter(
                    AuditEvent.action == "case.view"
                ),
            )
            .where(AuditEvent.actor.in_(actors))
            .where(AuditEvent.action.in_(("media.reveal", "case.view")))
            .where(AuditEvent.at >= midnight)
            .group_by(AuditEvent.actor)
        )
    }
    lifted = dict(
        connection.execute(
            select(User.id, User.break_lifted_at).where(
                User.id.in_([reviewer.id for reviewer in reviewers])
            )
        ).all()
    )
    cap = organisation(connection).daily_cap
    found = {}
    for actor, reviewer in actors.items():
        reveals, viewed = counted.get(actor, (0, 0))
        lifted_at = lifted.get(reviewer.id)
        found[reviewer.id] = Exposure(
            reveals,
            reviewer.break_after,
            viewed,
            cap,
            lifted_at is not None and lifted_at >= midnight,
        )
    return found


def require_no_break(connection: Connection, reviewer: Reviewer, now: datetime) -> None:
    """OnBreak when ``reviewer`` has reached the daily cap and no lead lifted the break: what
    every way of taking a case (claim, next case, assignment) checks first."""
    seen = exposure(connection, reviewer, now)
    if seen.on_break:
        raise OnBreak(
            f"{reviewer.username} reached today's exposure cap ({seen.total} of"
            f" {seen.daily_cap}: media revealed and cases viewed). Take a break: new cases can"
            " be taken again tomorrow (UTC), or when a lead lifts the break."
        )


def _organisation_row(connection: Connection, actor: str, now: datetime) -> Organisation:
    """The settings as they are, creating the row with the defaults if it is missing."""
    found = organisation(connection)
    exists = connection.scalar(
        select(OrganisationSettings.id).where(OrganisationSettings.id == ORGANISATION_ROW)
    )
    if exists is None:
        connection.execute(
            OrganisationSettings.__table__.insert(),
            {
                "id": ORGANISATION_ROW,
                "daily_cap": found.daily_cap,
                "blur_radius": found.blur.radius,
                "greyscale": found.blur.greyscale,
                "updated_by": actor,
                "updated_at": now,
            },
        )
    return found


def set_daily_cap(
    connection: Connection, lead: Reviewer, daily_cap: int | None, now: datetime
) -> None:
    """Set (or, with None, remove) the daily exposure cap; leads and admins; audited."""
    lead.require("team.manage")
    if daily_cap is not None and daily_cap not in DAILY_CAPS:
        raise Invalid(f"daily cap must be between {DAILY_CAPS.start} and {DAILY_CAPS.stop - 1}")
    before = _organisation_row(connection, lead.actor, now)
    connection.execute(
        update(OrganisationSettings)
        .where(OrganisationSettings.id == ORGANISATION_ROW)
        .values(daily_cap=daily_cap, updated_by=lead.actor, updated_at=now)
    )
    record_event(
        connection,
        lead.actor,
        "organisation.daily_cap",
        "organisation",
        str(ORGANISATION_ROW),
        before={"daily_cap": before.daily_cap},
        after={"daily_cap": daily_cap},
    )


def _check_blur(radius: int) -> None:
    if radius not in BLUR_RADII:
        raise Invalid(
            f"blur strength must be between {BLUR_RADII.start} (the default) and"
            f" {BLUR_RADII.stop - 1}"
        )


def set_default_blur(connection: Connection, admin: Reviewer, blur: Blur, now: datetime) -> None:
    """The organisation's blur default, for users who chose none; admins; audited."""
    admin.require("organisation.manage")
    _check_blur(blur.radius)
    before = _organisation_row(connection, admin.actor, now)
    connection.execute(
        update(OrganisationSettings)
        .where(OrganisationSettings.id == ORGANISATION_ROW)
        .values(
            blur_radius=blur.radius,
            greyscale=blur.greyscale,
            updated_by=admin.actor,
            updated_at=now,
        )
    )
    record_event(
        connection,
        admin.actor,
        "organisation.blur",
        "organisation",
        str(ORGANISATION_ROW),
        before={"blur_radius": before.blur.radius, "greyscale": before.blur.greyscale},
        after={"blur_radius": blur.radius, "greyscale": blur.greyscale},
    )


def blur_of(connection: Connection, reviewer: Reviewer) -> Blur:
    """The blur ``reviewer``'s previews get: their own choice, else the organisation's."""
    row = connection.execute(
        select(User.blur_radius, User.greyscale).where(User.id == reviewer.id)
    ).first()
    default = organisation(connection).blur
    if row is None:
        return default
    return Blur(
        default.radius if row.blur_radius is None else max(row.blur_radius, BLUR_RADIUS),
        default.greyscale if row.greyscale is None else row.greyscale,
    )


def set_blur(connection: Connection, reviewer: Reviewer, blur: Blur | None) -> None:
    """A user's own blur preference (None: follow the organisation's default); audited."""
    if blur is not None:
        _check_blur(blur.radius)
    before = connection.execute(
        select(User.blur_radius, User.greyscale).where(User.id == reviewer.id)
    ).one()
    connection.execute(
        update(User)
        .where(User.id == reviewer.id)
        .values(
            blur_radius=blur.radius if blur else None,
            greyscale=blur.greyscale if blur else None,
        )
    )
    record_event(
        connection,
        reviewer.actor,
        "user.blur",
        "user",
        reviewer.username,
        before={"blur_radius": before.blur_radius, "greyscale": before.greyscale},
        after={
            "blur_radius": blur.radius if blur else None,
            "greyscale": blur.greyscale if blur else None,
        },
    )


def lift_break(connection: Connection, lead: Reviewer, username: str, now: datetime) -> None:
    """A lead lifts a reviewer's enforced break for the rest of the UTC day; audited."""
    lead.require("team.manage")
    row = connection.execute(
        select(User.id, User.break_lifted_at).where(User.username == username)
    ).first()
    if row is None:
        raise NotFound(f"no user {username!r}")
    connection.execute(update(User).where(User.id == row.id).values(break_lifted_at=now))
    record_event(
        connection,
        lead.actor,
        "user.break_lifted",
        "user",
        username,
        before={
            "break_lifted_at": row.break_lifted_at.isoformat() if row.break_lifted_at else None
        },
        after={"break_lifted_at": now.isoformat()},
    )


def media_of_case(connection: Connection, case_id: int, sha256: str) -> tuple[str, str]:
    """(path, kind) of a media file of the case's item, or the banked file of a bank entry the
    item's media or text matched (shown beside it, behind the same blur and audited reveal);
    NotFound for any other file."""
    row = connection.execute(
        select(Media.path, Media.kind)
        .join(ItemMedia, ItemMedia.media_sha256 == Media.sha256)
        .join(Case, Case.item_id == ItemMedia.item_id)
        .where(Case.id == case_id, Media.sha256 == sha256)
    ).first()
    if row is None:
        item = select(Case.item_id).where(Case.id == case_id).scalar_subquery()
        own_media = select(ItemMedia.media_sha256).where(ItemMedia.item_id == item)
        own_text = select(Item.text_sha256).where(Item.id == item).scalar_subquery()
        matched = select(Match.bank_entry_id).where(
            Match.media_sha256.in_(own_media) | (Match.text_sha256 == own_text)
        )
        row = connection.execute(
            select(Media.path, Media.kind)
            .join(BankEntry, BankEntry.media_sha256 == Media.sha256)
            .where(Media.sha256 == sha256, BankEntry.id.in_(matched))
            .limit(1)
        ).first()
    if row is None:
        raise NotFound(f"case {case_id} has no media {sha256[:16]}")
    return row.path, row.kind


def reveal(
    connection: Connection, reviewer: Reviewer, case_id: int, sha256: str, now: datetime
) -> Exposure:
    """Record that ``reviewer`` chose to see a media file unblurred; their exposure after."""
    reviewer.require("media.reveal")
    media_of_case(connection, case_id, sha256)
    record_event(
        connection, reviewer.actor, "media.reveal", "media", sha256, detail={"case": case_id}
    )
    return exposure(connection, reviewer, now)


class NoPreview(Exception):
    """The file has no frame to show (not an image, or a video FFmpeg cannot read)."""


def video_frame(path: Path, at: float | None = None) -> bytes:
    """One frame of a video as PNG, read with FFmpeg: the frame at ``at`` seconds (a matched
    frame), else a second in, or the first."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise NoPreview("ffmpeg is not installed")
    for start in (f"{at:.3f}",) if at is not None else ("1", "0"):
        done = subprocess.run(
            [
                ffmpeg,
                "-v",
                "error",
                "-ss",
                start,
                "-i",
                str(path),
                "-frames:v",
                "1",
                "-f",
                "image2pipe",
                "-vcodec",
                "png",
                "-",
            ],
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode == 0 and done.stdout:
            return done.stdout
    raise NoPreview(f"no frame could be read from {path.name}")


def protected_preview(
    path: Path,
    kind: str = "image",
    blur: Blur = Blur(),
    *,
    at: float | None = None,
    size: int = PREVIEW_SIZE,
) -> bytes:
    """A small, blurred, greyscale JPEG of an image or of a video's frame (the one at ``at``
    seconds when given): what the console shows before a reveal.

    Made on the server, so the browser never receives the original until the reveal. The
    radius is never below ``BLUR_RADIUS`` and the preview is always greyscale, whatever
    ``blur`` says: a user's choice can only show less.
    """
    source: Path | io.BytesIO = path
    if kind == "video":
        source = io.BytesIO(video_frame(path, at))
    elif kind != "image":
        raise NoPreview(f"a {kind} file has no preview")
    with open_image(source) as image:
        image.thumbnail((size, size))
        grey = ImageOps.grayscale(image.convert("RGB"))
        blurred = grey.filter(ImageFilter.GaussianBlur(max(blur.radius, BLUR_RADIUS)))
    out = io.BytesIO()
    blurred.save(out, "JPEG", quality=70)
    return out.getvalue()
