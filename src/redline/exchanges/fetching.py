"""Asking an exchange's API for JSON: through ``safefetch``, retried when the source says it is
busy or failing (429, 500, 502, 503, 504, as python-threatexchange's clients retry), and every
failure turned into ``ExchangeRefused`` with the secrets taken out of its reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping
from typing import Any, Final
from urllib.parse import quote, quote_plus

from redline import __version__
from redline.exchanges.base import ExchangeRefused
from redline.safefetch import FetchFailed, fetch

USER_AGENT: Final = f"redline-exchange/{__version__}"
RETRIED: Final = frozenset({429, 500, 502, 503, 504})
RETRIES: Final = 4
BACKOFF: Final = 0.2  # seconds, doubled at each retry: about 3 s in all, as python-threatexchange
MAX_BODY: Final = 50_000_000
HIDDEN: Final = "(hidden)"


def hide(text: str, secrets: Collection[str]) -> str:
    """``text`` with every secret in it replaced, for a reason that is stored and shown."""
    for secret in secrets:
        # as written, and as a URL's query carries it (``|`` as ``%7C``)
        for form in {secret, quote(secret, safe=""), quote_plus(secret, safe="")}:
            if form:
                text = text.replace(form, HIDDEN)
    return text


def request_json(
    url: str,
    *,
    what: str,
    allow_private: bool,
    secrets: Collection[str] = (),
    headers: Mapping[str, str] | None = None,
    post: bytes | None = None,
) -> Any:
    """The JSON ``url`` answers (POSTing ``post`` when given); ExchangeRefused naming ``what``
    was asked and why it failed. Only a GET is retried (a POST may have been applied)."""
    body = request_bytes(
        url, what=what, allow_private=allow_private, secrets=secrets, headers=headers, post=post
    )
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ExchangeRefused(f"{what}: the answer is not JSON") from None


def request_bytes(
    url: str,
    *,
    what: str,
    allow_private: bool,
    secrets: Collection[str] = (),
    headers: Mapping[str, str] | None = None,
    post: bytes | None = None,
) -> bytes:
    """The body ``url`` answers, exactly as sent (what a signature covers), under the same rules
    as ``request_json``."""
    attempt = 0
    while True:
        try:
            answer = fetch(
                url,
                user_agent=USER_AGENT,
                allow_private=allow_private,
                headers=headers,
                post=post,
                max_redirects=0,  # a token in the request is for this host, not wherever it points
                max_bytes=MAX_BODY,
                timeout=60.0,
                keep_body=True,
            )
        except FetchFailed as error:
            raise ExchangeRefused(hide(f"fetching {what} failed: {error}", secrets)) from None
        if answer.status in RETRIED and post is None and attempt < RETRIES:
            time.sleep(BACKOFF * 2**attempt)
            attempt += 1
            continue
        if answer.status != 200:
            why = {401: " (the credentials were refused)", 403: " (not allowed)"}
            retried = f" after {attempt + 1} tries" if attempt else ""
            raise ExchangeRefused(
                f"{what}: the source answered HTTP {answer.status}"
                f"{why.get(answer.status, '')}{retried}"
            )
        body = answer.body or b""
        if len(body) >= MAX_BODY:
            raise ExchangeRefused(f"{what}: the answer is larger than {MAX_BODY:,} bytes")
        return body
