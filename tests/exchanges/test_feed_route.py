"""GET /api/v1/feeds/{bank}: a feeds:read token of a user who may view banks, no feed before the
instance has its key, then the page signed over its exact bytes."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from redline.banks import add_entry, create_bank
from redline.config import Settings
from redline.exchanges import signing
from redline.exchanges.base import ExchangeRefused
from redline.model.base import utcnow
from redline.review.accounts import add_user
from redline.review.tokens import create_token
from redline.web.app import create_app
from tests.helpers import only_on

MD5 = "e" * 32


@only_on("sqlite")
def test_the_feed_needs_its_scope_and_a_key_and_is_signed(
    settings: Settings, engine: Engine
) -> None:
    with engine.begin() as connection:
        create_bank(connection, "shared", actor="lead", now=utcnow())
        add_entry(connection, "shared", {"md5": MD5}, actor="lead", now=utcnow(), tags="a b")
        add_user(connection, "partner", "auditor", "Tr4nsl-ucent-Harbour-9", "admin")
        feeds = create_token(connection, "partner", "feed", ["feeds:read"], "admin")
        banks = create_token(connection, "partner", "banks", ["banks:read"], "admin")
    api = TestClient(create_app(settings))

    assert api.get("/api/v1/feeds/shared").status_code == 401
    refused = api.get("/api/v1/feeds/shared", headers={"Authorization": f"Bearer {banks}"})
    assert refused.status_code == 403 and "feeds:read" in refused.json()["message"]
    auth = {"Authorization": f"Bearer {feeds}"}
    no_key = api.get("/api/v1/feeds/shared", headers=auth)
    assert no_key.status_code == 404 and "redline exchange key" in no_key.json()["message"]

    key, _ = signing.create_key(settings.data_dir)
    answer = api.get("/api/v1/feeds/shared?after=0", headers=auth)
    assert answer.status_code == 200
    signing.verify(key.public_key(), answer.content, answer.headers[signing.HEADER])
    page = json.loads(answer.content)
    assert page["added"] == [
        {"id": 1, "signals": {"md5": [MD5]}, "category": None, "tags": "a b", "source_org": None}
    ]
    with pytest.raises(ExchangeRefused, match="does not match"):
        signing.verify(
            Ed25519PrivateKey.generate().public_key(),
            answer.content,
            answer.headers[signing.HEADER],
        )
    assert api.get("/api/v1/feeds/nope", headers=auth).status_code == 404
    assert api.get("/api/v1/feeds/shared?after=-1", headers=auth).status_code == 422
