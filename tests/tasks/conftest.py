"""The broker fixtures of the tasks' tests: a real RabbitMQ (or Redis) and settings on it with
queue names of the test's own, so parallel runs never take each other's work."""

from __future__ import annotations

import os
import uuid

import pytest

from redline.config import Settings
from tests.tasks.test_work_broker import BROKERS, broker_up


@pytest.fixture(params=["rabbitmq"])
def broker(request: pytest.FixtureRequest) -> str:
    """The broker's URL: RabbitMQ, the default, unless a test asks for Redis too."""
    url = BROKERS[request.param]
    if not broker_up(url):
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"the {request.param} broker at {url} is needed in CI")
        pytest.skip(f"no {request.param} broker at {url}")
    return url


@pytest.fixture
def broker_settings(settings: Settings, broker: str) -> Settings:
    prefix = f"test-{uuid.uuid4().hex[:10]}-"
    return settings.model_copy(
        update={"broker_url": broker, "queue_prefix": prefix, "task_backoff": 0.05}
    )
