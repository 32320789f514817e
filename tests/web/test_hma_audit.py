"""Bank changes through /hma are audited as the token's user (issue 14, row 6: they were all
``api:hma``, so nobody could tell which lead changed a bank)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from redline.model import AuditEvent
from redline.review.accounts import add_user
from redline.review.tokens import create_token
from redline.store import make_engine

if TYPE_CHECKING:
    from tests.web.conftest import ClientFactory

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def bank_events(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(AuditEvent.actor, AuditEvent.action)
                .where(AuditEvent.action.like("bank%"))
                .order_by(AuditEvent.id)
            )
            return [(r.actor, r.action) for r in rows]
    finally:
        engine.dispose()


def test_bank_changes_name_the_tokens_user(make_client: ClientFactory) -> None:
    client = make_client()
    services = client.app.state.services  # type: ignore[attr-defined]
    with services.engine.begin() as connection:
        add_user(connection, "curator", "lead", "amber lantern over quiet ferry", "test")
        secret = create_token(connection, "curator", "c", ["banks:read", "banks:write"], "test")
    lead = {"Authorization": f"Bearer {secret}"}
    assert client.post("/hma/c/banks", json={"name": "LEADS"}, headers=lead).status_code == 201
    added = client.post("/hma/c/bank/LEADS/signal", json={"pdq": PDQ}, headers=lead).json()
    changed = client.put(
        f"/hma/c/bank/LEADS/content/{added['id']}", json={"disable_until_ts": 0}, headers=lead
    )
    assert changed.status_code == 200
    gone = client.delete(f"/hma/c/bank/LEADS/content/{added['id']}", headers=lead)
    assert gone.json() == {"deleted": 1}
    assert client.delete("/hma/c/bank/LEADS", headers=lead).status_code == 200
    events = bank_events(services.settings.database_url)
    assert len(events) >= 5
    assert {actor for actor, _ in events} == {"user:curator"}, events


def test_without_tokens_the_api_itself_is_named(make_client: ClientFactory) -> None:
    client = make_client(hma_auth=False)
    assert client.post("/hma/c/banks", json={"name": "OPEN"}).status_code == 201
    events = bank_events(client.app.state.services.settings.database_url)  # type: ignore[attr-defined]
    assert events == [("api:hma", "bank.create")]
