"""Fixtures for the web tests: an app on the test database, and media files to upload."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from redline.config import Settings
from redline.web.app import create_app
from tests.media_fixtures import png_claiming

ClientFactory = Callable[..., TestClient]


def hma_token(settings: Settings) -> dict[str, str]:
    """The header of an HMA client's token (a lead's, with both bank scopes), made once per
    database: the /hma API needs one, as an HMA deployment behind redline would."""
    from sqlalchemy import select

    from redline.model import User
    from redline.review.accounts import add_user
    from redline.review.tokens import create_token
    from redline.store import ensure_schema, make_engine

    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        with engine.begin() as connection:
            if connection.scalar(select(User.id).where(User.username == "hma-client")) is None:
                add_user(connection, "hma-client", "lead", "hma client password", "test")
            secret = create_token(
                connection, "hma-client", "hma", ["banks:read", "banks:write"], "test"
            )
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def make_client(settings: Settings) -> Iterator[ClientFactory]:
    """Build a TestClient on the test database; keyword arguments override settings."""
    opened: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        configured = settings.model_copy(update=overrides)
        client = TestClient(create_app(configured), headers=hma_token(configured))
        client.__enter__()  # runs the app's lifespan, so its engine is disposed at the end
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    """A TestClient of the app on the test database (SQLite and PostgreSQL)."""
    return make_client()


class Media:
    """Files to upload, made on the spot: nothing binary is kept in the repository."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def photo(self, seed: int = 0, fmt: str = "PNG", size: int = 256) -> bytes:
        """A smooth random picture: PDQ quality 100, a different hash for each seed."""
        rng = np.random.default_rng(seed)
        small = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        out = io.BytesIO()
        small.resize((size, size), Image.Resampling.BILINEAR).save(out, fmt)
        return out.getvalue()

    def flat(self) -> bytes:
        """A one-colour picture: PDQ quality 0, too plain to match on."""
        out = io.BytesIO()
        Image.new("RGB", (64, 64), (120, 30, 200)).save(out, "PNG")
        return out.getvalue()

    def bomb(self, width: int = 50_000, height: int = 50_000) -> bytes:
        """A tiny PNG whose header claims a huge image: a decompression bomb's calling card."""
        return png_claiming(width, height)

    def video(self, pattern: str = "testsrc", seconds: int = 3) -> bytes:
        """A short real MP4 made by FFmpeg (skips the test when FFmpeg is not installed)."""
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            pytest.skip("ffmpeg is not installed")
        target = self.folder / f"{pattern}-{seconds}.mp4"
        source = f"{pattern}=duration={seconds}:size=128x96:rate=5"
        subprocess.run(
            [
                ffmpeg,
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                source,
                "-pix_fmt",
                "yuv420p",
                str(target),
            ],
            check=True,
            timeout=60,
        )
        return target.read_bytes()

    def save(self, name: str, data: bytes) -> Path:
        """``data`` written to a file called ``name``."""
        path = self.folder / name
        path.write_bytes(data)
        return path


@pytest.fixture
def media(tmp_path: Path) -> Media:
    """Upload material: photos, a flat photo, a decompression bomb, a video."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    return Media(folder)
