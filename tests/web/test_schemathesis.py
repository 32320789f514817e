"""API conformance: schemathesis drives every operation of ``/api/openapi.json`` with each role's
token, on a database with real cases, items and bank entries, so the routes do real work.

Two checks on every response: no server error (5xx), and the status is one the API document
declares for the operation. Examples, boundary values (coverage) and generated inputs, valid and
invalid (negative), each role in turn. ``make fuzz`` runs it with many more examples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from sqlalchemy import Engine

from redline.banks import add_entry, add_text, create_bank
from redline.config import Settings
from redline.model.base import utcnow
from redline.review.tokens import SCOPES
from redline.web.app import create_app
from tests.fuzz.budget import API_EXAMPLES, LONG, executions
from tests.review_desk import Desk
from tests.web.test_api_v1 import auditor_token, token

ROLES = {"reviewer": "rev1", "lead": "lead1", "admin": "admin1", "auditor": "aud1"}


def _seed_banks(engine: Engine) -> None:
    """Two banks with entries of several signal types, so bank routes find and change things."""
    now = utcnow()
    with engine.begin() as connection:
        create_bank(connection, "FUZZ_BANK", actor="test", now=now, description="conformance run")
        create_bank(connection, "OTHER_BANK", actor="test", now=now, enabled_ratio=0.5)
        for n in range(3):
            add_entry(
                connection,
                "FUZZ_BANK",
                {"pdq": f"{n:x}" * 64},
                actor="test",
                now=now,
                note=f"entry {n}",
            )
        add_entry(
            connection,
            "OTHER_BANK",
            {"video_md5": "0" * 31 + "1"},
            actor="test",
            now=now,
            category="x",
        )
        add_text(
            connection,
            "FUZZ_BANK",
            "A generic synthetic statement used by the tests.",
            actor="test",
            now=now,
        )


@pytest.fixture(params=list(ROLES))
def role(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(desk: Desk, settings: Settings) -> FastAPI:
    _seed_banks(desk.engine)
    return create_app(settings)


@pytest.fixture
def api_schema(app: FastAPI, desk: Desk, role: str) -> Any:
    """The app's API document, loaded by schemathesis, sending ``role``'s token (every scope; the
    auditor's was made while they were a lead, as an auditor is never given write scopes)."""
    if role == "auditor":
        headers = auditor_token(desk, ROLES[role], *SCOPES)
    else:
        headers = token(desk, ROLES[role], *SCOPES)
    config = schemathesis.Config.from_dict(
        {
            "headers": headers,
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "status_code_conformance": {"enabled": True},
            },
            "generation": {
                "mode": "all",
                "max-examples": API_EXAMPLES,
                "deterministic": not LONG,
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            "suppress-health-check": ["all"],
            "continue-on-failure": True,
            "max-failures": 1000,
            "workers": 1,
        }
    )
    return schemathesis.openapi.from_asgi("/api/openapi.json", as_served(app), config=config)


def as_served(app: FastAPI) -> Callable[..., Awaitable[None]]:
    """``app`` as a server runs it: an error the app raises after answering (Starlette re-raises
    what its 500 handler answered) is the server's to log; the client has its 500."""

    async def served(scope: Any, receive: Any, send: Any) -> None:
        started = False

        async def sending(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, receive, sending)
        except Exception:
            if not started:
                raise

    return served


@dataclass
class Run:
    """What a schemathesis run did: requests sent, statuses seen, and its failures."""

    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    server_errors: int = 0  # 5xx answers


def run_schemathesis(schema: Any) -> Run:
    """Every phase schemathesis has (examples, boundary values, generated inputs) over ``schema``,
    through its engine, as its command line runs them."""
    from schemathesis.engine import Status, events, from_schema

    run = Run()
    for event in from_schema(schema).execute():
        if isinstance(event, events.FatalError | events.NonFatalError):
            run.failures.append(f"schemathesis error: {getattr(event, 'value', event)!r}")
        if not isinstance(event, events.ScenarioFinished):
            continue
        recorder = event.recorder
        for case_id, interaction in recorder.interactions.items():
            run.cases += 1
            response = interaction.response
            if response is not None:
                run.statuses[response.status_code] += 1
                if response.status_code >= 500:
                    run.server_errors += 1
            for check in recorder.checks.get(case_id, []):
                if check.status == Status.FAILURE and check.failure_info is not None:
                    failure = check.failure_info.failure
                    run.failures.append(
                        f"{recorder.label}: {failure.title}: {failure.message}\n"
                        f"    {check.failure_info.code_sample}"
                    )
    return run


# Each role once, the two that reach the most code (admin) and refuse the most (auditor) on
# PostgreSQL, whose types refuse the most (NUL bytes, integer ranges); `make fuzz` runs every
# pair at length.
PAIRS = [
    ("postgresql", "admin"),
    ("postgresql", "auditor"),
    ("sqlite", "reviewer"),
    ("sqlite", "lead"),
]
if LONG:
    PAIRS = [(database, role) for database in ("sqlite", "postgresql") for role in ROLES]


@pytest.mark.parametrize(("database_url", "role"), PAIRS, indirect=True)
def test_every_operation_conforms_for_every_role(api_schema: Any, role: str) -> None:
    """No 5xx, and only documented statuses, for any input schemathesis makes."""
    run = run_schemathesis(api_schema)
    executions[f"schemathesis {role}"] += run.cases
    statuses = dict(sorted(run.statuses.items()))
    print(f"schemathesis {role}: {run.cases} cases, statuses {statuses}")
    assert run.cases > 0
    assert not run.failures, f"{len(run.failures)} failures:\n" + "\n".join(run.failures)
    assert run.server_errors == 0


def test_every_operation_documents_the_refusals(app: FastAPI) -> None:
    """One mechanism documents the shared refusals, in the shape the app answers them."""
    document = app.openapi()
    assert document["components"]["schemas"]["Refusal"]["required"] == ["message"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"404", "413", "422", "503"} <= statuses, (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= statuses, (method, path)
            body = operation["responses"]["422"]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Refusal"}
