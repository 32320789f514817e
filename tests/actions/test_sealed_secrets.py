"""Webhook signing secrets sealed at rest with REDLINE_SECRET_KEY (``model.sealed``): what the
database holds gives the secret to no one, deliveries are still signed with it, a process without
the key (or with another) is told so rather than sending, and `redline db seal-secrets` seals
the secrets stored before the key was set."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text

from redline.config import get_settings
from redline.model.sealed import PREFIX, SecretUnavailable
from redline.review.decisions import decide
from tests.actions.test_webhooks import NOW, VIOLATING, deliver, subscribe
from tests.actions.webhook_receiver import HookReceiver, hook
from tests.conftest import CliResult
from tests.review_desk import Desk

__all__ = ["hook"]


def stored_secret(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.execute(text("SELECT secret FROM webhook_subscriptions")).scalar())


def decided(desk: Desk, case: str) -> None:
    """A lead's final decision on the seeded ``case``: an event in the webhook outbox."""
    with desk.engine.begin() as connection:
        decide(connection, desk.users["lead1"], desk.cases[case], VIOLATING, NOW, four_eyes=False)


def use_key(monkeypatch: pytest.MonkeyPatch, key: str | None) -> None:
    """This process as one started with REDLINE_SECRET_KEY=key (None: without one)."""
    if key is None:
        monkeypatch.delenv("REDLINE_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("REDLINE_SECRET_KEY", key)
    get_settings.cache_clear()


def test_a_sealed_secret_signs_deliveries_and_is_not_in_the_database(
    sealing_key: str, desk: Desk, hook: HookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe(desk.engine, hook)
    stored = stored_secret(desk.engine)
    assert stored.startswith(PREFIX) and hook.secret not in stored
    decided(desk, "p3")
    done = deliver(desk.engine, NOW)
    assert done.delivered == 1 and hook.bad_signatures == 0
    assert [event["type"] for event in hook.accepted] == ["decision.made"]
    # A worker started without the key, or with another, cannot sign: it says which setting.
    decided(desk, "p1")
    use_key(monkeypatch, None)
    with pytest.raises(SecretUnavailable, match="REDLINE_SECRET_KEY, which this process"):
        deliver(desk.engine, NOW)
    use_key(monkeypatch, "another passphrase of thirty-two characters or more")
    with pytest.raises(SecretUnavailable, match="another REDLINE_SECRET_KEY"):
        deliver(desk.engine, NOW)
    assert len(hook.posts) == 1  # nothing was sent unsigned
    use_key(monkeypatch, sealing_key)
    assert deliver(desk.engine, NOW).delivered == 1 and hook.bad_signatures == 0


def test_seal_secrets_seals_what_was_stored_before_the_key(
    desk: Desk,
    hook: HookReceiver,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscribe(desk.engine, hook)
    assert stored_secret(desk.engine) == hook.secret  # no key yet: kept as it is
    refused = cli("db", "seal-secrets")
    assert refused.code == 2 and "REDLINE_SECRET_KEY is not set" in refused.err
    use_key(monkeypatch, "the deployment's passphrase, set after the fact")
    sealed = cli("db", "seal-secrets", "--json")
    assert sealed.code == 0, sealed.err
    counts: dict[str, Any] = json.loads(sealed.out)
    assert counts == {"webhook_secrets": 1, "exchange_settings": 0, "already_sealed": 0}
    stored = stored_secret(desk.engine)
    assert stored.startswith(PREFIX) and hook.secret not in stored
    again = cli("db", "seal-secrets", "--json")
    assert json.loads(again.out) == {
        "webhook_secrets": 0,
        "exchange_settings": 0,
        "already_sealed": 1,
    }
    assert stored_secret(desk.engine) == stored
    decided(desk, "p3")
    assert deliver(desk.engine, NOW).delivered == 1 and hook.bad_signatures == 0


def test_a_short_key_is_refused(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_key(monkeypatch, "too short")
    result = cli("db", "current")
    assert result.code == 2
    assert "secret_key" in result.err.lower() and "Traceback" not in result.err


def test_a_process_without_the_key_stops_at_start_up_saying_so(
    sealing_key: str,
    desk: Desk,
    hook: HookReceiver,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker or web process started without the deployment's key would fail at its first
    delivery; every command that opens the store checks first."""
    subscribe(desk.engine, hook)
    assert cli("webhooks", "list", "--json").code == 0
    use_key(monkeypatch, None)
    missing = cli("webhooks", "list", "--json")
    assert missing.code == 1 and "Traceback" not in missing.err
    assert "sealed with REDLINE_SECRET_KEY, which this process does not have" in missing.err
    use_key(monkeypatch, "another passphrase of thirty-two characters or more")
    other = cli("status")
    assert other.code == 1 and "another REDLINE_SECRET_KEY" in other.err


def test_a_key_is_replaced_through_the_previous_key_setting(
    sealing_key: str,
    desk: Desk,
    hook: HookReceiver,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscribe(desk.engine, hook)
    old = stored_secret(desk.engine)
    new_key = "the passphrase that replaces the first one, 2027"
    # The new key alone cannot open what the old one sealed: every process would stop.
    use_key(monkeypatch, new_key)
    refused = cli("status")
    assert refused.code == 1 and "REDLINE_SECRET_KEY_PREVIOUS" in refused.err
    # Both, during the rotation: the old secrets open, and the command seals them again.
    monkeypatch.setenv("REDLINE_SECRET_KEY_PREVIOUS", sealing_key)
    get_settings.cache_clear()
    assert cli("status").code == 0
    resealed = cli("db", "seal-secrets", "--json")
    assert json.loads(resealed.out) == {
        "webhook_secrets": 1,
        "exchange_settings": 0,
        "already_sealed": 0,
    }
    assert stored_secret(desk.engine) != old
    # The old key can go: the new one alone opens everything and signs deliveries.
    monkeypatch.delenv("REDLINE_SECRET_KEY_PREVIOUS")
    get_settings.cache_clear()
    assert cli("status").code == 0
    decided(desk, "p3")
    assert deliver(desk.engine, NOW).delivered == 1 and hook.bad_signatures == 0
