"""Computing media signals: the query of each file (PDQ with its rotations and query-time variants
for images, vPDQ for videos), as the signal type for its kind computes it.

Runs in a process pool, since hashing is CPU-bound and PDQ and vPDQ hold the GIL. Workers get a
media store, a key and a kind and return plain data; all database work stays in the parent. A
file in an object store is fetched by the worker that hashes it, into a temporary file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from redline.signals import SCANNED, BadSignal, Query
from redline.store.media import MediaStore, MediaStoreError, MissingMedia


@dataclass(frozen=True, slots=True)
class HashJob:
    """One media file to hash."""

    sha256: str
    kind: str  # a kind in ``redline.signals.SCANNED``: image | video
    key: str  # Media.path
    media: MediaStore


@dataclass(slots=True)
class HashResult:
    """What hashing one file gave: (signal type, query) pairs, or the reason it failed."""

    sha256: str
    kind: str
    signals: list[tuple[str, Query]] = field(default_factory=list)
    error: str | None = None


def hash_one(job: HashJob) -> HashResult:
    """Hash one file; never raises for a bad or missing file (the reason is in ``error``), only
    MediaStoreError when the store cannot be read at all."""
    signal_type = SCANNED[job.kind]
    try:
        with job.media.local_path(job.key) as path:
            query = signal_type.hash_query(path)
        return HashResult(job.sha256, job.kind, [(signal_type.name, query)])
    except MissingMedia as error:  # gone for good: quarantined like an unreadable file
        return HashResult(job.sha256, job.kind, error=str(error))
    except MediaStoreError:
        raise  # the store is down or refuses: stop here, so a later scan tries again
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
