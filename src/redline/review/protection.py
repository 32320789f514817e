"""Reviewer protection: media stay blurred and grey until a deliberate reveal, each reveal is
audited, and each reviewer's reveals of the day are counted against their break reminder."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Final

from PIL import ImageFilter, ImageOps
from sqlalchemy import Connection, func, select

from redline.errors import NotFound
from redline.model import AuditEvent, BankEntry, Case, Item, ItemMedia, Match, Media
from redline.review.accounts import Reviewer
from redline.signals.decoding import open_image
from redline.store.audit import record_event

PREVIEW_SIZE: Final = 480
# Strong enough that shapes and colours of violence do not read, weak enough that a reviewer
# can tell a screenshot of text from a photo before deciding to reveal.
BLUR_RADIUS: Final = 18


@dataclass(frozen=True, slots=True)
class Exposure:
    """How many media a reviewer revealed today (UTC) and whether a break is due."""

    today: int
    break_after: int

    @property
    def break_due(self) -> bool:
        """Whether the reviewer has reached their break reminder."""
        return self.today >= self.break_after


def exposure(connection: Connection, reviewer: Reviewer, now: datetime) -> Exposure:
    """``reviewer``'s reveals since midnight UTC."""
    midnight = datetime.combine(now.date(), time(), now.tzinfo)
    count = connection.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.actor == reviewer.actor, AuditEvent.action == "media.reveal")
        .where(AuditEvent.at >= midnight)
    )
    return Exposure(count or 0, reviewer.break_after)


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
    path: Path, kind: str = "image", *, at: float | None = None, size: int = PREVIEW_SIZE
) -> bytes:
    """A small, blurred, greyscale JPEG of an image or of a video's frame (the one at ``at``
    seconds when given): what the console shows before a reveal.

    Made on the server, so the browser never receives the original until the reveal.
    """
    source: Path | io.BytesIO = path
    if kind == "video":
        source = io.BytesIO(video_frame(path, at))
    elif kind != "image":
        raise NoPreview(f"a {kind} file has no preview")
    with open_image(source) as image:
        image.thumbnail((size, size))
        grey = ImageOps.grayscale(image.convert("RGB"))
        blurred = grey.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    out = io.BytesIO()
    blurred.save(out, "JPEG", quality=70)
    return out.getvalue()
