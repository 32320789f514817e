"""Uploads to the hashing API: bounded decoding, bounded concurrency, body limits per route
(issue 14, rows 2 and 3).

The real-server tests start uvicorn as a child process on a free loopback port and measure that
process's memory with psutil: three 10.8 kB PNGs that decode to 88 MP each must not grow it by
half a gigabyte, and a 20 MB camera-sized photo must hash through every upload route.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from redline.config import Settings, get_settings
from tests.helpers import only_on, wait_until_listening
from tests.signals.test_decoding import bomb_png
from tests.web.conftest import ClientFactory, Media, hma_token
from tests.web.test_hma_api import make_bank, refused, upload

HEX = set("0123456789abcdef")


@pytest.fixture(scope="module")
def camera_photo() -> bytes:
    """A 4000x3000 JPEG at full quality: smooth colour fields under sensor-like noise, 20 MB."""
    rng = np.random.default_rng(14)
    smooth = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    base = np.asarray(smooth.resize((4000, 3000), Image.Resampling.BICUBIC), dtype=np.int16)
    noisy = np.clip(base + rng.integers(-64, 65, base.shape, dtype=np.int16), 0, 255)
    out = io.BytesIO()
    Image.fromarray(noisy.astype(np.uint8)).save(out, "JPEG", quality=100)
    data = out.getvalue()
    assert len(data) > 19_000_000
    return data


@dataclass
class Served:
    """A redline server in a child process: its base URL, process and the HMA token header."""

    url: str
    process: psutil.Process
    headers: dict[str, str]


@contextmanager
def served(settings: Settings) -> Iterator[Served]:
    """``uvicorn --factory redline.web.app:create_app`` on a free port of 127.0.0.1, with the
    test's settings (its REDLINE_* variables, set by the settings fixture)."""
    headers = hma_token(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "redline.web.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    child = subprocess.Popen(command, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(url, lambda: child.poll() is None, "redline serve")
        yield Served(url, psutil.Process(child.pid), headers)
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def peak_rss(process: psutil.Process) -> int:
    """The process's high-water mark of resident memory (Linux's VmHWM), in bytes."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc")


@only_on("sqlite")  # the decoder's memory: the database takes no part
def test_three_bombs_at_once_leave_the_server_small_and_answering(
    settings: Settings, media: Media
) -> None:
    bomb = bomb_png()
    assert len(bomb) < 11_000
    with served(settings) as server:
        api = httpx.Client(base_url=f"{server.url}/hma", headers=server.headers, timeout=120)
        warm = api.post("/h/hash", files=upload("warm.png", media.photo()))
        assert warm.status_code == 200  # libraries loaded before the baseline is taken
        before = server.process.memory_info().rss
        sampled, statuses = [before], []
        done = threading.Event()

        def watch() -> None:
            with httpx.Client(base_url=f"{server.url}/hma", timeout=30) as monitor:
                while True:  # at least once, however fast the bombs are refused
                    sampled.append(server.process.memory_info().rss)
                    statuses.append(monitor.get("/status").status_code)
                    if done.is_set():
                        break
                    time.sleep(0.01)

        answers: list[httpx.Response] = []

        def attack(number: int) -> None:
            answers.append(api.post("/h/hash", files=upload(f"bomb{number}.png", bomb)))

        watcher = threading.Thread(target=watch)
        watcher.start()
        attackers = [threading.Thread(target=attack, args=(n,)) for n in range(3)]
        for thread in attackers:
            thread.start()
        for thread in attackers:
            thread.join()
        done.set()
        watcher.join()
        growth = max(max(sampled), peak_rss(server.process)) - before
        print(f"server RSS growth under three bombs: {growth / 1e6:.1f} MB")
        assert growth < 500_000_000
        assert len(answers) == 3 and {a.status_code for a in answers} <= {422, 503}
        for answer in answers:
            if answer.status_code == 422:
                assert "9400x9400 is 88,360,000 pixels" in answer.json()["message"]
            else:
                assert answer.headers["retry-after"].isdigit()
        assert statuses and set(statuses) == {200}
        assert httpx.get(f"{server.url}/hma/status").status_code == 200


@only_on("postgresql")  # the body limits are the web layer's; one database shows them
def test_a_20mb_photo_hashes_through_every_upload_route(
    settings: Settings, camera_photo: bytes
) -> None:
    with served(settings) as server:
        api = httpx.Client(base_url=f"{server.url}/hma", headers=server.headers, timeout=300)
        assert api.post("/c/banks", json={"name": "PHOTOS"}).status_code == 201
        photo = upload("camera.jpg", camera_photo)
        hashed = api.post("/h/hash", files=photo)
        assert hashed.status_code == 200, hashed.text
        assert len(hashed.json()["pdq"]) == 64 and set(hashed.json()["pdq"]) <= HEX
        looked_up = api.post("/m/lookup", files=photo)
        assert looked_up.status_code == 200 and looked_up.json() == {"pdq": {}}
        banked = api.post("/c/bank/PHOTOS/content", files=photo)
        assert banked.status_code == 200, banked.text
        assert set(banked.json()["signals"]["pdq"]) <= HEX
        again = api.post("/m/lookup", files=photo, params={"bypass_coinflip": "true"})
        assert again.status_code == 200
        assert [m["bank_content_id"] for m in again.json()["pdq"]["PHOTOS"]] == [
            banked.json()["id"]
        ]


def counted(app: Any) -> tuple[Any, dict[str, int]]:
    """``app`` wrapped to count the request body bytes it reads."""
    read = {"bytes": 0}

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        async def receive_counted() -> Any:
            message = await receive()
            read["bytes"] += len(message.get("body", b""))
            return message

        await app(scope, receive_counted, send)

    return counting, read


def test_bodies_are_limited_by_the_route_they_reach(make_client: ClientFactory) -> None:
    plain = make_client()
    app, read = counted(plain.app)
    token = {"authorization": plain.headers["authorization"]}  # for /hma; the console has none
    client = TestClient(app, headers=token, follow_redirects=False)
    sixteen = b"x" * (16 << 20)
    # No route: 404 without a byte of the body read, whatever the path ends with.
    for path in ("/nope/import", "/hma/nope", "/api/v1/nope/import"):
        read["bytes"] = 0
        response = client.post(
            path, content=sixteen, headers={"content-type": "multipart/form-data; boundary=x"}
        )
        assert (response.status_code, read["bytes"]) == (404, 0), path
    # An upload route parses nothing before the sign-in is checked.
    read["bytes"] = 0
    anonymous = client.post("/banks/known/import", files={"file": ("list.csv", sixteen)})
    assert anonymous.status_code in {303, 401} and read["bytes"] == 0
    # Console forms keep the small limit.
    big_form = client.post("/login", data={"username": "x", "password": "y" * 300_000})
    assert big_form.status_code == 413
    # HMA's JSON routes that take vPDQ hashes take more than a form.
    pdq = "f" * 64
    padded = b'{"pdq": ["' + pdq.encode() + b'", "' + pdq.encode() + b'"]' + b" " * 1_000_000
    compared = client.post(
        "/hma/m/compare", content=padded + b"}", headers={"content-type": "application/json"}
    )
    assert compared.status_code == 200 and compared.json() == {"pdq": [True, {"distance": 0}]}


def test_an_ordinary_photo_is_not_refused_by_the_form_limit(
    make_client: ClientFactory, camera_photo: bytes
) -> None:
    client = make_client()
    make_bank(client, "BANK")
    small = Image.open(io.BytesIO(camera_photo)).resize((1200, 900))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=95)
    assert len(out.getvalue()) > 256_000  # over the console's form limit
    for path in ("/hma/h/hash", "/hma/m/lookup", "/hma/c/bank/BANK/content"):
        response = client.post(path, files=upload("photo.jpg", out.getvalue()))
        assert response.status_code == 200, (path, response.text)


def test_every_hashing_slot_taken_is_503_with_retry_after(
    make_client: ClientFactory, media: Media
) -> None:
    client = make_client(hash_concurrency=1)
    make_bank(client, "BANK")
    slots = client.app.state.services.hashing  # type: ignore[attr-defined]
    photo = upload("p.png", media.photo())
    with slots.taken():  # another upload is being hashed
        for path in ("/hma/h/hash", "/hma/m/lookup", "/hma/c/bank/BANK/content"):
            busy = client.post(path, files=photo)
            refused(busy, 503)
            assert busy.headers["retry-after"] == "2"
    assert client.post("/hma/h/hash", files=photo).status_code == 200


@only_on("sqlite")  # the decoder's budget: the database takes no part
def test_images_over_the_pixel_budget(
    make_client: ClientFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDLINE_MAX_IMAGE_PIXELS", "4000000")
    get_settings.cache_clear()
    try:
        client = make_client()
        make_bank(client, "BANK")
        rng = np.random.default_rng(5)
        smooth = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
        large = smooth.resize((4000, 3000), Image.Resampling.BICUBIC)
        jpeg, png = io.BytesIO(), io.BytesIO()
        large.save(jpeg, "JPEG", quality=90)
        large.save(png, "PNG")
        # A JPEG decodes at half size within the budget; its hash is the same picture's.
        for path in ("/hma/h/hash", "/hma/c/bank/BANK/content"):
            response = client.post(path, files=upload("large.jpg", jpeg.getvalue()))
            assert response.status_code == 200, response.text
        # Any other format over the budget is refused, saying why, before it is decoded.
        for path, prefix in (
            ("/hma/h/hash", "invalid signal: "),
            ("/hma/c/bank/BANK/content", "Invalid photo: "),
        ):
            message = refused(client.post(path, files=upload("large.png", png.getvalue())), 422)
            assert message == (
                f"{prefix}refused as a decompression bomb: 4000x3000 is 12,000,000 pixels,"
                " over the budget of 4,000,000 (REDLINE_MAX_IMAGE_PIXELS)"
            )
    finally:
        monkeypatch.delenv("REDLINE_MAX_IMAGE_PIXELS")
        get_settings.cache_clear()
