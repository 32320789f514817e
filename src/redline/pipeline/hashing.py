"""Computing media signals: PDQ (with its dihedral variants) for images, vPDQ for videos.

Runs in a process pool, since hashing is CPU-bound and PDQ and vPDQ hold the GIL. Workers get a
path and a kind and return plain data; all database work stays in the parent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pdqhash

from redline.signals import BadSignal, pdq
from redline.signals import vpdq as vpdq_signal
from redline.signals.pdq_crop import trim_borders


@dataclass(frozen=True, slots=True)
class HashJob:
    """One media file to hash."""

    sha256: str
    kind: str  # image | video
    path: Path


@dataclass(slots=True)
class HashResult:
    """What hashing one file gave: signals (type, value, quality, meta), or the reason it failed."""

    sha256: str
    kind: str
    signals: list[tuple[str, str, int | None, dict[str, Any] | None]] = field(default_factory=list)
    error: str | None = None


def hash_image(path: Path) -> list[tuple[str, str, int | None, dict[str, Any] | None]]:
    """PDQ of an image, with its other seven orientations kept for dihedral matching and, when
    it has uniform borders, the PDQ of the image without them (letterboxed re-uploads)."""
    rgb = pdq.load_for_pdq(path)
    vectors, quality = pdqhash.compute_dihedral(rgb)
    hexes = [pdq.to_hex(v) for v in vectors]
    meta: dict[str, Any] = {"dihedral": hexes[1:]}
    trimmed = trim_borders(rgb)
    if trimmed is not None and min(trimmed.shape[:2]) >= 32:
        meta["trimmed"] = pdq.hash_array(trimmed).value
    return [("pdq", hexes[0], int(quality), meta)]


def hash_video(path: Path) -> list[tuple[str, str, int | None, dict[str, Any] | None]]:
    """vPDQ of a video."""
    (computed,) = vpdq_signal.VpdqSignal.compute(path)
    return [("vpdq", computed.value, computed.quality, computed.meta)]


def hash_one(job: HashJob) -> HashResult:
    """Hash one file; never raises for a bad file (the reason is in ``error``)."""
    try:
        signals = hash_image(job.path) if job.kind == "image" else hash_video(job.path)
        return HashResult(job.sha256, job.kind, signals)
    except BadSignal as error:
        return HashResult(job.sha256, job.kind, error=str(error))
    except Exception as error:  # a decoder crash must not stop the batch
        return HashResult(job.sha256, job.kind, error=f"{type(error).__name__}: {error}")


def hash_many(
    jobs: Iterable[HashJob],
    workers: int | None = None,
    on_done: Callable[[HashResult], None] = lambda _r: None,
) -> Iterator[HashResult]:
    """Hash jobs on ``workers`` processes (default: every core), yielding results as they finish.

    With one worker (or one job) everything runs in this process: no pool start-up cost.
    """
    job_list = list(jobs)
    count = workers or os.cpu_count() or 1
    if count <= 1 or len(job_list) <= 1:
        for job in job_list:
            result = hash_one(job)
            on_done(result)
            yield result
        return
    with ProcessPoolExecutor(max_workers=count) as pool:
        for result in pool.map(
            hash_one, job_list, chunksize=max(1, min(64, len(job_list) // (count * 8)))
        ):
            on_done(result)
            yield result
