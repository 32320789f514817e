"""A real S3-protocol server for the media store tests: moto's server, in its own process.

moto (a dev dependency) serves the S3 HTTP API as AWS does; it runs here as a subprocess on a
free port and redline talks to it over HTTP through boto3, exactly as it would to MinIO or AWS.
Nothing is patched in-process. Each test gets its own bucket.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from redline.config import Settings, get_settings
from tests.helpers import wait_until_listening

# moto accepts any credentials; these are what redline is configured with, as with a real store.
ACCESS_KEY = "redline-test-key"
SECRET_KEY = "redline-test-secret"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of an S3-protocol server running for this test session (under xdist, per worker)."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(url, lambda: server.poll() is None, "the S3 server (moto)")
    except AssertionError as error:
        server.kill()
        errors = server.stderr.read().decode(errors="replace") if server.stderr else ""
        pytest.fail(f"{error}: {errors[-2000:]}")
    yield url
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@dataclass(frozen=True)
class Bucket:
    """A fresh bucket on the session's S3 server, and a client to look inside it."""

    endpoint: str
    name: str
    prefix: str
    client: Any

    @property
    def media_url(self) -> str:
        return f"s3://{self.name}/{self.prefix}"

    def keys(self) -> list[str]:
        """Every object key in the bucket."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


@pytest.fixture
def bucket(s3_endpoint: str) -> Bucket:
    import boto3

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    name = f"redline-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return Bucket(s3_endpoint, name, "team-a", client)


@pytest.fixture
def s3_settings(settings: Settings, bucket: Bucket, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The test's settings with media in the bucket; the CLI sees the same through REDLINE_*."""
    values = {
        "media_url": bucket.media_url,
        "s3_endpoint_url": bucket.endpoint,
        "s3_region": REGION,
        "s3_access_key_id": ACCESS_KEY,
    }
    for name, value in values.items():
        monkeypatch.setenv(f"REDLINE_{name.upper()}", value)
    monkeypatch.setenv("REDLINE_S3_SECRET_ACCESS_KEY", SECRET_KEY)
    get_settings.cache_clear()
    return Settings(
        database_url=settings.database_url,
        data_dir=settings.data_dir,
        s3_secret_access_key=SECRET_KEY,
        **values,
    )
