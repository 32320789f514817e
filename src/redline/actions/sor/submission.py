"""Submitting statements of reasons to the database: batches of at most 100, over HTTP.

The batch endpoint is all-or-nothing: one bad statement and none of the request is created. The
client therefore sends the rest of a refused batch again, so one statement the server rejects
costs neither its batch-mates nor the other batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Literal, TypeVar
from urllib.parse import quote

import httpx

from redline.actions.sor.statement import StatementOfReasons

MAX_BATCH: Final = 100  # "The multiple endpoint is capable of making 100 statements per call."
STATEMENTS_PATH: Final = "/api/v1/statements"
EXISTING_PUID_PATH: Final = "/api/v1/statement/existing-puid/"

# --- Batches and the client ---------------------------------------------------------------------

T = TypeVar("T")


def batches(statements: Iterable[T], size: int = MAX_BATCH) -> Iterator[list[T]]:
    """``statements`` in order, in lists of at most ``size`` (at most 100, the API's limit)."""
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch size must be 1..{MAX_BATCH}, not {size}")
    batch: list[T] = []
    for statement in statements:
        batch.append(statement)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


Status = Literal["created", "rejected", "failed"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one statement.

    ``created``: in the database, with its ``uuid`` and ``permalink``. ``rejected``: the API (or
    redline before sending) refused this statement; ``errors`` has the messages by field; fix and
    resend. ``failed``: not created for a reason outside the statement (network, token, rate
    limit, server error); ``message`` says why and whether it may exist anyway.
    """

    puid: str
    status: Status
    uuid: str | None = None
    id: int | None = None
    permalink: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    """One outcome per submitted statement, in the order given; ``requests`` POSTs were made."""

    outcomes: tuple[Outcome, ...]
    requests: int

    @property
    def created(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "created"]

    @property
    def rejected(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "rejected"]

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def ok(self) -> bool:
        return len(self.created) == len(self.outcomes)


class SorUnavailable(Exception):
    """The database could not be asked (network error, refused token, unexpected answer)."""


class SorClient:
    """Submits statements to a DSA Transparency Database (production, sandbox, or a stand-in).

    ``base_url`` is the site root, e.g. ``https://transparency.dsa.ec.europa.eu``; ``token`` is
    the platform's API token, sent as ``Authorization: Bearer``. ``transport`` is for tests.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            # Inserting 100 statements can take the server a while; connecting should not.
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
            follow_redirects=False,  # existing-puid answers 302 Found, which is the answer
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SorClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def exists(self, puid: str) -> bool:
        """Whether the database already has a statement with this ``puid`` from this platform:
        the check to make before resending statements whose submission timed out."""
        try:
            response = self._http.get(EXISTING_PUID_PATH + quote(puid, safe=""))
        except httpx.HTTPError as error:
            raise SorUnavailable(f"network error: {_describe(error)}") from None
        if response.status_code == httpx.codes.FOUND:
            return True
        if response.status_code == httpx.codes.NOT_FOUND:
            return False
        raise SorUnavailable(f"HTTP {response.status_code}: {_message(response)}")

    def submit(self, statements: Sequence[StatementOfReasons]) -> SubmissionResult:
        """POST the statements in batches of 100; never raises for what the server or the
        network does, every statement gets an ``Outcome`` instead."""
        run = _Run(self._http, statements)
        first: dict[str, int] = {}
        pending = []
        for index, statement in enumerate(statements):
            if statement.puid in first:  # the API would refuse the whole batch for it
                again = f"used by statement {first[statement.puid]} of this submission already"
                run.outcomes[index] = Outcome(statement.puid, "rejected", errors={"puid": [again]})
            else:
                first[statement.puid] = index
                pending.append(index)
        stop: str | None = None
        for batch in batches(pending):
            if stop is not None:
                run.fail(batch, f"not sent: {stop}")
            else:
                stop = run.send(batch)
        return SubmissionResult(
            tuple(run.outcomes[i] for i in range(len(statements))), run.requests
        )


class _Run:
    """One ``submit``: the outcomes so far and the request count."""

    def __init__(self, http: httpx.Client, statements: Sequence[StatementOfReasons]) -> None:
        self.http = http
        self.statements = statements
        self.outcomes: dict[int, Outcome] = {}
        self.requests = 0

    def fail(self, indices: Iterable[int], message: str) -> None:
        for index in indices:
            self.outcomes[index] = Outcome(self.statements[index].puid, "failed", message=message)

    def send(self, batch: list[int]) -> str | None:
        """Send one batch until every statement in it has an outcome; the reason to stop
        sending further batches (a refused token, a rate limit), if there is one."""
        todo = batch
        while todo:
            body = {"statements": [self.statements[index].payload() for index in todo]}
            try:
                response = self.http.post(STATEMENTS_PATH, json=body)
            except httpx.TimeoutException as error:
                # The server may have created them before the answer was lost.
                self.fail(
                    todo,
                    f"no answer in time ({_describe(error)}); they may have been "
                    "created: check with exists() before resending",
                )
                return None
            except httpx.HTTPError as error:
                self.fail(todo, f"network error: {_describe(error)}")
                return None
            self.requests += 1
            status = response.status_code
            if status == httpx.codes.CREATED:
                self._created(todo, response)
                return None
            if status == httpx.codes.UNPROCESSABLE_ENTITY:
                refused = self._refused(todo, response)
                if not refused:
                    self.fail(todo, f"HTTP 422: {_message(response)}")
                    return None
                todo = [index for index in todo if index not in refused]
                continue  # none of the batch was created: send the statements not at fault again
            reason = f"HTTP {status}: {_message(response)}"
            if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
                reason = f"the API refused the token (HTTP {status})"
            elif status == httpx.codes.TOO_MANY_REQUESTS:
                wait = response.headers.get("Retry-After")
                reason = "rate limited (HTTP 429" + (f", retry after {wait} s)" if wait else ")")
            elif status >= httpx.codes.INTERNAL_SERVER_ERROR:
                reason += "; nothing was created, resend later"
            self.fail(todo, reason)
            stop = status in (
                httpx.codes.UNAUTHORIZED,
                httpx.codes.FORBIDDEN,
                httpx.codes.TOO_MANY_REQUESTS,
            )
            return reason if stop else None
        return None

    def _created(self, todo: list[int], response: httpx.Response) -> None:
        body = _json(response)
        items = body.get("statements") if isinstance(body, dict) else None
        created = {item.get("puid"): item for item in items or [] if isinstance(item, dict)}
        for index in todo:
            puid = self.statements[index].puid
            item = created.get(puid)
            if item is None or not item.get("uuid"):
                self.outcomes[index] = Outcome(
                    puid,
                    "failed",
                    message=(
                        "HTTP 201 but the answer does not list this statement; check with exists()"
                    ),
                )
                continue
            self.outcomes[index] = Outcome(
                puid,
                "created",
                uuid=str(item["uuid"]),
                id=item["id"] if isinstance(item.get("id"), int) else None,
                permalink=item.get("permalink"),
            )

    def _refused(self, todo: list[int], response: httpx.Response) -> set[int]:
        """Record as rejected the statements a 422 names (``statement_N``, N counting in the
        request just sent, or a PUID already used) and return their indices."""
        body = _json(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if not isinstance(errors, dict):
            return set()
        refused: dict[int, dict[str, list[str]]] = {}
        for key, fields in errors.items():
            position = key.removeprefix("statement_")
            named = key.startswith("statement_") and position.isdigit()
            if named and int(position) < len(todo) and isinstance(fields, dict):
                refused[todo[int(position)]] = {
                    str(name): _strings(messages) for name, messages in fields.items()
                }
        used = errors.get("existing_puids")
        if isinstance(used, list):
            messages = _strings(errors.get("puid")) or ["already used by this platform"]
            for index in todo:
                if self.statements[index].puid in used:
                    refused[index] = {"puid": messages}
        for index, fields in refused.items():
            summary = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in fields.items())
            puid = self.statements[index].puid
            self.outcomes[index] = Outcome(puid, "rejected", errors=fields, message=summary)
        return set(refused)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _message(response: httpx.Response) -> str:
    """The API's one-line ``message``, or the start of whatever it sent."""
    body = _json(response)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    if isinstance(body, dict) and isinstance(body.get("errors"), dict):
        return "; ".join(
            f"{name}: {' '.join(_strings(texts))}" for name, texts in body["errors"].items()
        )
    return response.text[:200] or response.reason_phrase


def _strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    return [] if value is None else [str(value)]


def _describe(error: httpx.HTTPError) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
