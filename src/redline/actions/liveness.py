"""Liveness checks: is a referred URL still up, gone, or changed.

A referral unit re-checks the URLs it referred to hosting services; the first check that finds
one gone is the removal time (``referrals.time_to_removal``). The URLs come from untrusted posts
and the hosts answering them are adversarial: the fetch is ``redline.safefetch``'s (public
addresses only, pinned connections, every redirect re-vetted, size and time caps); this module
says what its answer means for the content.

The functions return a ``UrlCheck``; network failures are results (state ``error`` with a one-line
reason), never exceptions. Only programming errors (a naive ``now``, a negative limit) raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Final, Literal, Unpack

from redline.safefetch import FetchFailed, FetchOptions, fetch

USER_AGENT: Final = "redline-liveness/1 (+referral check)"
DOWN_STATUSES: Final = frozenset({404, 410, 451})  # not found, gone, unavailable for legal reasons

State = Literal["up", "down", "changed", "error"]


@dataclass(frozen=True, slots=True)
class UrlCheck:
    """One liveness check of one URL, as ``referrals.record_check`` stores it."""

    url: str  # as asked
    final_url: str | None  # the last URL actually requested; None when nothing was requested
    state: State
    http_status: int | None  # the last status received, also for errors after an answer
    content_sha256: str | None  # of the first max_bytes of the body, as sent; only when up/changed
    bytes_read: int
    redirects: tuple[str, ...]  # every redirect target, in order, including one refused
    error: str | None  # a one-line reason when state is "error"
    checked_at: datetime  # aware, UTC


def _status_reason(status: int) -> str:
    try:
        phrase = f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        phrase = f"HTTP {status}"
    if status in {401, 403}:
        # A host may refuse a country or a crawler and still show the content to everyone else.
        return f"{phrase}: access refused (perhaps geo-blocking or bot protection), not a removal"
    if status == 429:
        return f"{phrase}: rate limited, check again later"
    if 300 <= status < 400:
        return f"{phrase}: not a redirect a check follows"
    if 400 <= status < 500:
        return f"{phrase}: the host refused the request, not a removal"
    if 500 <= status < 600:
        return f"{phrase}: server error"
    return f"unexpected status {phrase}"


def check_url(
    url: str,
    now: datetime | None = None,
    *,
    previous_sha256: str | None = None,
    **options: Unpack[FetchOptions],
) -> UrlCheck:
    """Fetch ``url`` once, safely, and say whether it is up, down (404, 410, 451), changed
    (up, with a body whose SHA-256 differs from ``previous_sha256``) or could not be told (error,
    with the reason: another status, a refusal, a timeout, a network failure).

    ``now`` is the check's time (aware; the current UTC time when None); it comes second so the
    scheduler's ``check(url, now)`` can be this function. The ``options`` (time limits, size
    cap, which non-public hosts may be asked, DNS and TLS for tests) are ``safefetch.fetch``'s,
    with its defaults.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    checked_at = now.astimezone(UTC)
    try:
        answer = fetch(url, user_agent=USER_AGENT, **options)
    except FetchFailed as failure:
        return UrlCheck(
            url=url,
            final_url=failure.final_url,
            state="error",
            http_status=failure.status,
            content_sha256=None,
            bytes_read=failure.bytes_read,
            redirects=failure.redirects,
            error=str(failure),
            checked_at=checked_at,
        )

    def result(
        state: State, error: str | None = None, *, sha256: str | None = None, read: int = 0
    ) -> UrlCheck:
        return UrlCheck(
            url=url,
            final_url=answer.final_url,
            state=state,
            http_status=answer.status,
            content_sha256=sha256,
            bytes_read=read,
            redirects=answer.redirects,
            error=error,
            checked_at=checked_at,
        )

    if answer.status in DOWN_STATUSES:
        return result("down")
    if not 200 <= answer.status < 300:
        return result("error", _status_reason(answer.status))
    if answer.bytes_read == 0:
        return result(
            "error",
            f"HTTP {answer.status} with an empty body: cannot tell whether the content is there",
        )
    changed = previous_sha256 is not None and previous_sha256.lower() != answer.sha256
    return result("changed" if changed else "up", sha256=answer.sha256, read=answer.bytes_read)
