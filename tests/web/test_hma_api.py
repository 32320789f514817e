"""The HMA-compatible API, route by route: answers, every documented refusal, and HMA's rules.

Every test runs on SQLite and on PostgreSQL (the ``settings`` fixture behind ``client``).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.exc import OperationalError

from redline.signals import pdq
from redline.web.hma import matching

if TYPE_CHECKING:
    from tests.web.conftest import ClientFactory, Media

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
OTHER_PDQ = "facd8bcb2a49bcebdec1985298d5fe84bcd006c187c598c720c3c087b3fdb318"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
FRAMES = [
    "d61925f024b58f6ada1b24e63595de2eda4a7091e4a69b190a6ea0d5f5d05e6e",
    "75b38fc870958f485a3ba4c435b75e0cda4870b7e4841b3b8a4ca0f775f2dcc8",
]
VPDQ = json.dumps([f"{h},100,{n}.000" for n, h in enumerate(FRAMES)])


def flipped(value: str, bits: int) -> str:
    """``value`` with its lowest ``bits`` bits inverted: a PDQ hash that far away."""
    return f"{int(value, 16) ^ ((1 << bits) - 1):064x}"


def make_bank(client: TestClient, name: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/hma/c/banks", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def add_signal(client: TestClient, bank: str, **signals: str) -> int:
    response = client.post(f"/hma/c/bank/{bank}/signal", json=signals)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def lookup(client: TestClient, signal: str, signal_type: str = "pdq", **params: str) -> Any:
    response = client.get(
        "/hma/m/lookup", params={"signal": signal, "signal_type": signal_type, **params}
    )
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: Any, status: int, message: str | None = None) -> str:
    """Assert an HMA error answer; returns its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message"}
    if message is not None:
        assert body["message"] == message
    return str(body["message"])


def upload(name: str, data: bytes, field: str = "photo") -> dict[str, Any]:
    return {field: (name, data, "application/octet-stream")}


def seed_with_coinflip(above: float | None = None, below: float | None = None) -> str:
    """A seed whose HMA coinflip (``random.Random(seed).random()``) is in the range asked."""
    for n in range(10_000):
        flip = random.Random(str(n)).random()
        if (above is None or flip > above) and (below is None or flip < below):
            return str(n)
    raise AssertionError("no such seed")


# --- status ----------------------------------------------------------------------------------------


def test_status_routes(client: TestClient) -> None:
    for path in ("/hma/status", "/hma/status/live"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.text == "I-AM-ALIVE"
    routes = client.get("/hma/site-map").json()
    assert routes == sorted(routes)
    assert {"/hma/m/lookup", "/hma/c/banks", "/hma/h/hash", "/hma/status"} <= set(routes)


def test_status_says_when_the_database_is_down(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]

    def broken() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(engine, "connect", broken)
    response = client.get("/hma/status")
    assert (response.status_code, response.text) == (503, "DATABASE-UNAVAILABLE")
    assert client.get("/hma/status/live").text == "I-AM-ALIVE"
    refused(client.get("/hma/c/banks"), 503, "database unavailable, try again later")


def test_a_bug_is_a_json_500_never_a_crash(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client()
    client_500 = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)

    def bug(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(matching, "lookup", bug)
    response = client_500.get("/hma/m/lookup", params={"signal": PDQ, "signal_type": "pdq"})
    refused(response, 500, "internal error (logged on the server)")


# --- banks -----------------------------------------------------------------------------------------


def test_bank_crud(client: TestClient) -> None:
    assert client.get("/hma/c/banks").json() == []
    assert make_bank(client, "MY_BANK") == {"matching_enabled_ratio": 1.0, "name": "MY_BANK"}
    assert make_bank(client, "HALF", enabled_ratio=0.25)["matching_enabled_ratio"] == 0.25
    assert make_bank(client, "OFF", enabled=False)["matching_enabled_ratio"] == 0.0
    assert make_bank(client, "_X9", enabled=True)["matching_enabled_ratio"] == 1.0
    assert [b["name"] for b in client.get("/hma/c/banks").json()] == [
        "HALF",
        "MY_BANK",
        "OFF",
        "_X9",
    ]
    assert client.get("/hma/c/bank/HALF").json() == {"matching_enabled_ratio": 0.25, "name": "HALF"}

    response = client.put("/hma/c/bank/MY_BANK", json={"name": "RENAMED"})
    assert response.json() == {"matching_enabled_ratio": 1.0, "name": "RENAMED"}
    assert client.put("/hma/c/bank/RENAMED", json={"enabled": False}).json() == {
        "matching_enabled_ratio": 0.0,
        "name": "RENAMED",
    }
    assert client.put("/hma/c/bank/RENAMED", json={"enabled_ratio": 0.5}).json() == {
        "matching_enabled_ratio": 0.5,
        "name": "RENAMED",
    }
    # Both given: the ratio wins, as in HMA.
    both = client.put("/hma/c/bank/RENAMED", json={"enabled": False, "enabled_ratio": 0.75})
    assert both.json()["matching_enabled_ratio"] == 0.75
    assert client.put("/hma/c/bank/RENAMED", json={}).json()["matching_enabled_ratio"] == 0.75

    assert client.delete("/hma/c/bank/RENAMED").json() == {"message": "Done"}
    assert client.delete("/hma/c/bank/RENAMED").json() == {"message": "Done"}
    refused(client.get("/hma/c/bank/RENAMED"), 404, "bank 'RENAMED' not found")


def test_bank_refusals(client: TestClient) -> None:
    make_bank(client, "TAKEN")
    make_bank(client, "OTHER")
    bad_name = "Bank names must be UPPER_WITH_UNDERSCORE"
    for name in ("01_TEST_BANK", "my_test_bank", "A-B", "", "A B"):
        refused(client.post("/hma/c/banks", json={"name": name}), 400, bad_name)
    refused(client.post("/hma/c/banks", json={"name": "TAKEN"}), 403, "Bank already exists")
    refused(client.post("/hma/c/banks", json={}), 422, "name: Field required")
    refused(client.post("/hma/c/banks", json=["NAME"]), 422)
    refused(
        client.post("/hma/c/banks", content=b"{not json"), 400, "Request body is not valid JSON"
    )
    refused(client.post("/hma/c/banks", json={"name": 7}), 422)
    refused(client.post("/hma/c/banks", json={"name": "R", "enabled_ratio": "x"}), 422)
    refused(client.post("/hma/c/banks", json={"name": "R", "enabled": "yes"}), 422)
    assert "outside 0..1" in refused(
        client.post("/hma/c/banks", json={"name": "R", "enabled_ratio": 1.5}), 400
    )
    refused(client.post("/hma/c/banks", json={"name": "A" * 101}), 400)

    refused(client.put("/hma/c/bank/NOPE", json={"enabled": True}), 404, "Bank not found")
    refused(client.put("/hma/c/bank/TAKEN", json={"name": "1_invalid_name"}), 400, bad_name)
    refused(
        client.put("/hma/c/bank/TAKEN", json={"name": "OTHER"}), 403, "Bank name already exists"
    )
    refused(client.put("/hma/c/bank/TAKEN", json={"enabled_ratio": -0.1}), 400)
    refused(client.put("/hma/c/bank/TAKEN", json="TAKEN"), 422)
    assert [b["name"] for b in client.get("/hma/c/banks").json()] == ["OTHER", "TAKEN"]


# --- adding hashes ---------------------------------------------------------------------------------


def test_add_signals(client: TestClient) -> None:
    make_bank(client, "BANK")
    response = client.post("/hma/c/bank/BANK/signal", json={"pdq": PDQ, "note": "from list 7"})
    assert response.status_code == 200
    first = response.json()
    assert first == {"id": first["id"], "signals": {"pdq": PDQ}}
    # video_md5 is normalised as python-threatexchange does: trimmed, lower case.
    second = client.post("/hma/c/bank/BANK/signal", json={"video_md5": f" {MD5.upper()} "})
    assert second.json()["signals"] == {"video_md5": MD5}
    third = client.post("/hma/c/bank/BANK/signal", json={"vpdq": VPDQ}).json()
    assert json.loads(third["signals"]["vpdq"]) == json.loads(VPDQ)
    content = client.get(f"/hma/c/bank/BANK/content/{first['id']}").json()
    assert content["note"] == "from list 7"


def test_add_signal_refusals(client: TestClient) -> None:
    make_bank(client, "BANK")
    url = "/hma/c/bank/BANK/signal"
    refused(client.post("/hma/c/bank/NOPE/signal", json={"pdq": PDQ}), 404, "bank 'NOPE' not found")
    refused(client.post(url, json={}), 400, "No signals given")
    refused(client.post(url, json={"note": "only a note"}), 400, "No signals given")
    refused(client.post(url, json={"sha1": PDQ}), 400, "No such signal type sha1")
    refused(client.post(url, json={"md5": MD5}), 400, "No such signal type md5")
    for bad in ("banana", PDQ.upper(), f" {PDQ}", PDQ[:-1], 5):
        message = refused(client.post(url, json={"pdq": bad}), 400)
        assert message.startswith("Invalid pdq signal: ")
    assert refused(client.post(url, json={"vpdq": "[1, 2]"}), 400).startswith(
        "Invalid vpdq signal: "
    )
    refused(client.post(url, json=[PDQ]), 400, "Request input was not a dict")
    too_long = {"pdq": PDQ, "note": "x" * 256}
    refused(client.post(url, json=too_long), 400, "note must be at most 255 characters")
    refused(client.post(url, json={"pdq": PDQ, "note": 5}), 400, "note should be a string")
    assert client.post(url, json={"pdq": PDQ, "note": "x" * 255}).status_code == 200


# --- look-ups by hash ------------------------------------------------------------------------------


def test_lookup_by_hash(client: TestClient) -> None:
    make_bank(client, "BANK")
    assert lookup(client, PDQ) == {}
    first = add_signal(client, "BANK", pdq=PDQ)
    # The index follows the database: what was just added is found at once.
    assert lookup(client, PDQ) == {"BANK": [{"bank_content_id": first, "distance": "0"}]}
    near = add_signal(client, "BANK", pdq=flipped(PDQ, 5))
    assert lookup(client, PDQ) == {
        "BANK": [
            {"bank_content_id": first, "distance": "0"},
            {"bank_content_id": near, "distance": "5"},
        ]
    }
    assert lookup(client, flipped(PDQ, 40)) == {}  # past PDQ's threshold of 31
    add_signal(client, "BANK", pdq=OTHER_PDQ)
    assert len(lookup(client, OTHER_PDQ)["BANK"]) == 1


def test_lookups_follow_deletes(client: TestClient) -> None:
    # On SQLite a new row takes the id of the newest deleted one: the index must not mistake it.
    make_bank(client, "BANK")
    old = add_signal(client, "BANK", pdq=PDQ)
    assert lookup(client, PDQ) == {"BANK": [{"bank_content_id": old, "distance": "0"}]}
    assert client.delete(f"/hma/c/bank/BANK/content/{old}").json() == {"deleted": 1}
    assert lookup(client, PDQ) == {}
    new = add_signal(client, "BANK", pdq=OTHER_PDQ)
    assert lookup(client, PDQ) == {}
    assert lookup(client, OTHER_PDQ) == {"BANK": [{"bank_content_id": new, "distance": "0"}]}
    client.delete("/hma/c/bank/BANK")
    make_bank(client, "AGAIN")
    again = add_signal(client, "AGAIN", pdq=PDQ)
    assert lookup(client, OTHER_PDQ) == {}
    assert lookup(client, PDQ) == {"AGAIN": [{"bank_content_id": again, "distance": "0"}]}


def test_lookup_exact_and_video_hashes(client: TestClient) -> None:
    make_bank(client, "VIDEOS")
    md5_id = add_signal(client, "VIDEOS", video_md5=MD5)
    vpdq_id = add_signal(client, "VIDEOS", vpdq=VPDQ)
    assert lookup(client, MD5.upper(), "video_md5") == {
        "VIDEOS": [{"bank_content_id": md5_id, "distance": "-"}]
    }
    assert lookup(client, VPDQ, "vpdq") == {
        "VIDEOS": [{"bank_content_id": vpdq_id, "distance": "100%[100%]"}]
    }
    half = json.dumps([f"{FRAMES[0]},100,0.000", f"{flipped(FRAMES[1], 100)},100,1.000"])
    assert lookup(client, half, "vpdq") == {}  # 50% of the query's frames: under 80%


def test_lookup_refusals(client: TestClient) -> None:
    required = "Either url or both signal and signal_type are required"
    refused(client.get("/hma/m/lookup"), 400, required)
    refused(client.get("/hma/m/lookup", params={"signal": PDQ}), 400, required)
    refused(client.get("/hma/m/lookup", params={"signal_type": "pdq"}), 400, required)
    refused(
        client.get("/hma/m/lookup", params={"signal": PDQ, "signal_type": "sha1"}),
        400,
        "No such SignalType 'sha1'",
    )
    for bad in ("banana", PDQ.upper(), PDQ + "0"):
        response = client.get("/hma/m/lookup", params={"signal": bad, "signal_type": "pdq"})
        assert refused(response, 400).startswith("invalid signal: ")
    response = client.get("/hma/m/lookup", params={"signal": "[", "signal_type": "vpdq"})
    assert refused(response, 400).startswith("invalid signal: ")
    message = refused(client.get("/hma/m/lookup", params={"url": "http://example.com/a.jpg"}), 400)
    assert "does not fetch URLs" in message and "POST the file" in message


def test_disabled_content_never_matches(client: TestClient) -> None:
    make_bank(client, "BANK")
    entry = add_signal(client, "BANK", pdq=PDQ)
    off = client.put(f"/hma/c/bank/BANK/content/{entry}", json={"disable_until_ts": 0})
    assert off.json()["disable_until_ts"] == 0
    assert lookup(client, PDQ) == {}
    assert lookup(client, PDQ, bypass_coinflip="true") == {}  # the coinflip is about banks
    client.put(f"/hma/c/bank/BANK/content/{entry}", json={"disable_until_ts": 1})
    assert lookup(client, PDQ) == {"BANK": [{"bank_content_id": entry, "distance": "0"}]}


def test_coinflip_and_bank_enablement(client: TestClient) -> None:
    make_bank(client, "ON")
    make_bank(client, "OFF", enabled=False)
    make_bank(client, "HALF", enabled_ratio=0.5)
    ids = {bank: add_signal(client, bank, pdq=PDQ) for bank in ("ON", "OFF", "HALF")}
    low, high = seed_with_coinflip(below=0.5), seed_with_coinflip(above=0.5)
    assert set(lookup(client, PDQ, seed=low)) == {"ON", "HALF"}
    assert set(lookup(client, PDQ, seed=high)) == {"ON"}
    # The same seed always gives the same banks.
    assert all(set(lookup(client, PDQ, seed=high)) == {"ON"} for _ in range(5))
    bypassed = lookup(client, PDQ, seed=high, bypass_coinflip="true")
    assert bypassed == {b: [{"bank_content_id": i, "distance": "0"}] for b, i in ids.items()}
    # Without a seed, a ratio of 0.5 takes part in about half the look-ups.
    taking_part = sum("HALF" in lookup(client, PDQ) for _ in range(60))
    assert 10 < taking_part < 50
    client.put("/hma/c/bank/OFF", json={"enabled": True})
    assert set(lookup(client, PDQ, seed=high)) == {"ON", "OFF"}


def test_bank_filter(client: TestClient) -> None:
    for bank in ("BANK_A", "BANK_B", "BANK_C"):
        make_bank(client, bank)
        add_signal(client, bank, pdq=PDQ)
    assert set(lookup(client, PDQ)) == {"BANK_A", "BANK_B", "BANK_C"}
    assert set(lookup(client, PDQ, banks="BANK_A")) == {"BANK_A"}
    assert set(lookup(client, PDQ, banks="BANK_A,BANK_C")) == {"BANK_A", "BANK_C"}
    assert lookup(client, PDQ, banks="NON_EXISTENT_BANK") == {}


def test_raw_lookup_ignores_enablement(client: TestClient) -> None:
    make_bank(client, "OFF", enabled=False)
    entry = add_signal(client, "OFF", pdq=PDQ)
    assert lookup(client, PDQ) == {}
    raw = client.get("/hma/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq"})
    assert raw.json() == {"matches": [entry]}
    with_distance = client.get(
        "/hma/m/raw_lookup",
        params={"signal": PDQ, "signal_type": "pdq", "include_distance": "true"},
    )
    assert with_distance.json() == {"matches": [{"bank_content_id": entry, "distance": "0"}]}
    filtered = client.get(
        "/hma/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": "ON"}
    )
    assert filtered.json() == {"matches": []}
    refused(client.get("/hma/m/raw_lookup", params={"signal": PDQ}), 422)


# --- uploads ---------------------------------------------------------------------------------------


def test_lookup_by_upload(client: TestClient, media: Media) -> None:
    make_bank(client, "BANK")
    photo = media.photo(seed=1)
    assert client.post("/hma/m/lookup", files=upload("a.png", photo)).json() == {"pdq": {}}
    own = pdq.hash_array(pdq.load_rgb(media.save("a.png", photo))).value
    entry = add_signal(client, "BANK", pdq=own)
    response = client.post("/hma/m/lookup", files=upload("a.png", photo))
    assert response.json() == {"pdq": {"BANK": [{"bank_content_id": entry, "distance": "0"}]}}
    # The same picture as a JPEG is a few bits away, and query arguments apply as on GET.
    as_jpeg = client.post(
        "/hma/m/lookup", files=upload("a.jpg", media.photo(seed=1, fmt="JPEG")), params={}
    ).json()
    assert [m["bank_content_id"] for m in as_jpeg["pdq"]["BANK"]] == [entry]
    filtered = client.post(
        "/hma/m/lookup", files=upload("a.png", photo), params={"banks": "ELSEWHERE"}
    )
    assert filtered.json() == {"pdq": {}}
    make_bank(client, "OFF", enabled=False)
    other = add_signal(client, "OFF", pdq=own)
    bypassed = client.post(
        "/hma/m/lookup", files=upload("a.png", photo), params={"bypass_coinflip": "true"}
    ).json()
    assert bypassed["pdq"]["OFF"] == [{"bank_content_id": other, "distance": "0"}]


def test_letterboxed_upload_still_matches(client: TestClient, media: Media) -> None:
    # redline also looks an uploaded photo up without its uniform borders (HMA does not).
    make_bank(client, "BANK")
    photo = media.photo(seed=8)
    entry = client.post("/hma/c/bank/BANK/content", files=upload("p.png", photo)).json()["id"]
    framed = Image.new("RGB", (256, 400), (0, 0, 0))
    framed.paste(Image.open(io.BytesIO(photo)), (0, 72))
    out = io.BytesIO()
    framed.save(out, "PNG")
    assert (
        pdq.distance(
            pdq.hash_array(pdq.load_rgb(media.save("f.png", out.getvalue()))).value,
            pdq.hash_array(pdq.load_rgb(media.save("p.png", photo))).value,
        )
        > 31
    )
    found = client.post("/hma/m/lookup", files=upload("f.png", out.getvalue())).json()
    assert [m["bank_content_id"] for m in found["pdq"]["BANK"]] == [entry]


def test_upload_refusals(client: TestClient, media: Media) -> None:
    missing = "Missing multipart/form-data file upload"
    for path in ("/hma/m/lookup", "/hma/h/hash"):
        refused(client.post(path), 400, missing)
        refused(client.post(path, json={"photo": "x"}), 400, missing)
        refused(client.post(path, data={"photo": "not a file"}), 400, missing)
        two = [
            ("photo", ("a.png", media.photo(), "image/png")),
            ("photo", ("b.png", media.photo(seed=2), "image/png")),
        ]
        refused(client.post(path, files=two), 400, "Only one file allowed per request")
        mixed = [two[0], ("video", ("b.mp4", b"...", "video/mp4"))]
        refused(client.post(path, files=mixed), 400, "Only one file allowed per request")
        file_field = upload("a.png", media.photo(), field="file")
        refused(client.post(path, files=file_field), 400, "no such content_type: 'file'")
        corrupt = media.photo()[:300]
        message = refused(client.post(path, files=upload("broken.png", corrupt)), 400)
        assert message.startswith("invalid signal: unreadable image")
        # Over the pixel budget: refused before decoding, as content that cannot be processed.
        message = refused(client.post(path, files=upload("bomb.png", media.bomb())), 422)
        assert message.startswith("invalid signal: refused as a decompression bomb")
        message = refused(client.post(path, files=upload("empty.png", b"")), 400)
        assert message.startswith("invalid signal: unreadable image")
        message = refused(client.post(path, files=upload("a.txt", b"plain text")), 400)
        assert "/tmp" not in message and "redline-upload" not in message  # no server paths
        wrong = client.post(path, files=upload("a.png", media.photo()), params={"types": "vpdq"})
        refused(wrong, 400, "signal type 'vpdq' doesn't exist or is disabled")
        empty = client.post(path, files=upload("a.png", media.photo()), params={"types": ","})
        refused(empty, 400, "empty signal type selection")
    flat = client.post("/hma/m/lookup", files=upload("flat.png", media.flat()))
    assert refused(flat, 400).startswith("invalid signal: image quality 0 is below 50")


def test_oversize_upload_is_413(make_client: ClientFactory, media: Media) -> None:
    client = make_client(max_media_bytes=2_000)
    make_bank(client, "BANK")
    big = media.photo()  # ~46 kB
    assert len(big) > 2_000
    for path in ("/hma/m/lookup", "/hma/h/hash", "/hma/c/bank/BANK/content"):
        refused(client.post(path, files=upload("big.png", big)), 413, "Content too large")

    # A body without a declared length is cut off while it streams in.
    def chunks() -> Any:
        boundary = b"--b\r\nContent-Disposition: form-data; name=photo; filename=a.png\r\n\r\n"
        yield boundary
        for _ in range(100):
            yield b"\x00" * 1_000
        yield b"\r\n--b--\r\n"

    streamed = client.post(
        "/hma/h/hash",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    refused(streamed, 413, "Content too large")
    # Under the limit is fine (a JPEG of the small picture is about 1 kB).
    small = media.photo(size=32, fmt="JPEG")
    assert len(small) < 2_000
    assert client.post("/hma/h/hash", files=upload("s.jpg", small)).status_code == 200


def test_upload_temp_files_are_removed(
    client: TestClient, media: Media, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A temporary folder of this test's own: the machine's is shared with other test processes
    # uploading at the same time.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    make_bank(client, "BANK")
    assert client.post("/hma/h/hash", files=upload("a.png", media.photo())).status_code == 200
    client.post("/hma/m/lookup", files=upload("b.png", media.flat()))
    client.post("/hma/c/bank/BANK/content", files=upload("c.png", media.photo(seed=4)))
    assert list(tmp_path.glob("redline-upload-*")) == []


# --- hashing ---------------------------------------------------------------------------------------


def test_hash_photo(client: TestClient, media: Media) -> None:
    photo = media.photo(seed=3)
    expected = pdq.hash_array(pdq.load_rgb(media.save("p.png", photo))).value
    response = client.post("/hma/h/hash", files=upload("p.png", photo))
    assert response.status_code == 200
    assert response.json() == {"pdq": expected}
    # A picture too plain to match on hashes as "" (HMA's convention), not as an error.
    assert client.post("/hma/h/hash", files=upload("f.png", media.flat())).json() == {"pdq": ""}
    message = refused(client.get("/hma/h/hash", params={"url": "https://example.com/a.jpg"}), 400)
    assert "does not fetch URLs" in message
    refused(client.get("/hma/h/hash"), 400)


def test_hash_video(client: TestClient, media: Media) -> None:
    # Not a video at all: HMA's default install hashes any "video" by MD5, and so does redline.
    not_video = b"not really a video"
    response = client.post("/hma/h/hash", files=upload("v.mp4", not_video, "video"))
    assert response.json() == {"video_md5": hashlib.md5(not_video).hexdigest()}
    refused(
        client.post(
            "/hma/h/hash", files=upload("v.mp4", not_video, "video"), params={"types": "vpdq"}
        ),
        400,
    )
    video = media.video()
    hashes = client.post("/hma/h/hash", files=upload("v.mp4", video, "video")).json()
    assert set(hashes) == {"video_md5", "vpdq"}
    assert hashes["video_md5"] == hashlib.md5(video).hexdigest()
    assert len(json.loads(hashes["vpdq"])) == 3
    only_md5 = client.post(
        "/hma/h/hash", files=upload("v.mp4", video, "video"), params={"types": "video_md5"}
    )
    assert set(only_md5.json()) == {"video_md5"}


def test_video_content_round_trip(client: TestClient, media: Media) -> None:
    make_bank(client, "VIDEOS")
    video = media.video()
    added = client.post("/hma/c/bank/VIDEOS/content", files=upload("v.mp4", video, "video"))
    assert added.status_code == 200, added.text
    entry = added.json()["id"]
    assert set(added.json()["signals"]) == {"video_md5", "vpdq"}
    found = client.post("/hma/m/lookup", files=upload("v.mp4", video, "video")).json()
    assert found == {
        "video_md5": {"VIDEOS": [{"bank_content_id": entry, "distance": "-"}]},
        "vpdq": {"VIDEOS": [{"bank_content_id": entry, "distance": "100%[100%]"}]},
    }
    other = client.post("/hma/m/lookup", files=upload("o.mp4", media.video("testsrc2"), "video"))
    assert other.json() == {"video_md5": {}, "vpdq": {}}


# --- compare ---------------------------------------------------------------------------------------


def test_compare(client: TestClient) -> None:
    near = flipped(PDQ, 9)
    assert client.post("/hma/m/compare", json={"pdq": [PDQ, near]}).json() == {
        "pdq": [True, {"distance": 9}]
    }
    far = flipped(PDQ, 32)
    assert client.post("/hma/m/compare", json={"pdq": [PDQ, far]}).json() == {
        "pdq": [False, {"distance": 32}]
    }
    assert client.post("/hma/m/compare", json={}).json() == {}
    both = client.post(
        "/hma/m/compare",
        json={"video_md5": [MD5, MD5.upper()], "vpdq": [VPDQ, VPDQ]},
    ).json()
    assert both == {
        "video_md5": [True, {"distance": 0}],
        "vpdq": [True, {"query_match_percent": 100.0, "compared_match_percent": 100.0}],
    }
    differ = client.post("/hma/m/compare", json={"video_md5": [MD5, "0" * 32]}).json()
    assert differ == {"video_md5": [False, {"distance": 1}]}


def test_compare_refusals(client: TestClient) -> None:
    cases: list[tuple[Any, str]] = [
        (["banana"], "Request input was not a dict"),
        ("banana", "Request input was not a dict"),
        ({"pdq": "banana"}, "Comparison hashes for pdq was not a list"),
        ({"pdq": []}, "Comparison hash list length must be exactly 2"),
        ({"pdq": [PDQ, PDQ, PDQ]}, "Comparison hash list length must be exactly 2"),
        ({"sha1": [PDQ, PDQ]}, "No such SignalType 'sha1'"),
        ({"pdq": [PDQ, 7]}, "Invalid pdq hash: hashes must be strings"),
    ]
    for body, message in cases:
        refused(client.post("/hma/m/compare", json=body), 400, message)
    response = client.post("/hma/m/compare", json={"pdq": ["banana", "banana"]})
    assert refused(response, 400).startswith("Invalid pdq hash: ")
    refused(client.post("/hma/m/compare"), 400, "Request input was not a dict")
    deep = b"[" * 100_000 + b"]" * 100_000
    refused(client.post("/hma/m/compare", content=deep), 400, "Request body is not valid JSON")
    refused(client.post("/hma/m/compare", content=b"\xff\xfe"), 400)


# --- index status ----------------------------------------------------------------------------------


def test_index_status(client: TestClient) -> None:
    make_bank(client, "BANK")
    for n in range(3):
        add_signal(client, "BANK", pdq=flipped(PDQ, n + 1))
    add_signal(client, "BANK", video_md5=MD5)
    status = client.get("/hma/m/index/status").json()
    assert set(status) == {"pdq", "video_md5", "vpdq"}
    assert status["pdq"]["present"] is True
    assert status["pdq"]["size"] == 3
    assert status["video_md5"]["size"] == 1
    assert status["vpdq"]["size"] == 0
    assert all(abs(s["built_to"] - time.time()) < 600 for s in status.values())
    only = client.get("/hma/m/index/status", params={"signal_type": "pdq"}).json()
    assert set(only) == {"pdq"}
    refused(
        client.get("/hma/m/index/status", params={"signal_type": "x"}),
        400,
        "No such signal type 'x'",
    )


# --- bank content ----------------------------------------------------------------------------------


def test_content_add_get_update_delete(client: TestClient, media: Media) -> None:
    make_bank(client, "BANK")
    photo = media.photo(seed=5)
    expected = pdq.hash_array(pdq.load_rgb(media.save("p.png", photo))).value
    metadata = {"content_id": "ext-1", "content_uri": "https://example.com/1", "json": {"a": 1}}
    added = client.post(
        "/hma/c/bank/BANK/content",
        files=upload("p.png", photo),
        data={"metadata": json.dumps(metadata), "note": "seen on a channel"},
    )
    assert added.status_code == 200, added.text
    entry = added.json()["id"]
    assert added.json() == {"id": entry, "signals": {"pdq": expected}}

    url = f"/hma/c/bank/BANK/content/{entry}"
    bank = {"matching_enabled_ratio": 1.0, "name": "BANK"}
    assert client.get(url).json() == {
        "bank": bank,
        "disable_until_ts": 1,
        "id": entry,
        "metadata": metadata,
        "note": "seen on a channel",
        "original_media_uri": None,
    }
    with_signals = client.get(url, params={"include_signals": "true"}).json()
    assert with_signals["signals"] == {"pdq": expected}
    assert "metadata" not in client.get(url, params={"include_metadata": "false"}).json()

    # Disabled until a time: off now (and in redline until switched on again).
    later = int(time.time()) + 365 * 24 * 3600
    updated = client.put(url, json={"disable_until_ts": later, "note": "checked"})
    assert updated.status_code == 200
    assert updated.json() == {
        "bank": bank,
        "collab_metadata": {},
        "disable_until_ts": 0,
        "id": entry,
        "note": "checked",
        "original_media_uri": None,
        "user_metadata": metadata,
    }
    assert client.get(url).json()["disable_until_ts"] == 0
    assert client.post("/hma/m/lookup", files=upload("p.png", photo)).json() == {"pdq": {}}
    past = client.put(url, json={"disable_until_ts": int(time.time()) - 60})
    assert past.json()["disable_until_ts"] == 1
    assert client.put(url, json={"disable_until_ts": "0"}).json()["disable_until_ts"] == 0
    assert client.put(url, json={"disable_until_ts": 1, "note": ""}).json()["note"] is None
    assert "note" not in client.get(url).json()

    assert client.delete(url).json() == {"deleted": 1}
    assert client.delete(url).json() == {"deleted": 0}
    refused(client.get(url), 404, f"content '{entry}' not found")


def test_content_refusals(client: TestClient, media: Media) -> None:
    make_bank(client, "BANK")
    make_bank(client, "OTHER")
    photo = media.photo(seed=6)
    add = "/hma/c/bank/BANK/content"
    refused(
        client.post("/hma/c/bank/NOPE/content", files=upload("p.png", photo)),
        404,
        "bank 'NOPE' not found",
    )
    message = refused(client.post(add, params={"url": "https://example.com/a.jpg"}), 400)
    assert "does not fetch URLs" in message
    neither = "Neither `url` nor multipart file upload was received"
    refused(client.post(add), 400, neither)
    refused(client.post(add, data={"note": "no file"}), 400, neither)
    bad_metadata = [
        ("{broken", "metadata form field must be valid JSON"),
        ("[1]", "metadata should be a json object"),
        ('{"invalid_metadata": 5}', "Invalid metadata: unknown field(s) invalid_metadata"),
        ('{"content_id": 5}', "Invalid metadata: content_id should be a string"),
        ('{"json": "x"}', "Invalid metadata: json should be a json object"),
    ]
    for raw, expected in bad_metadata:
        response = client.post(add, files=upload("p.png", photo), data={"metadata": raw})
        refused(response, 400, expected)
    long_note = client.post(add, files=upload("p.png", photo), data={"note": "x" * 256})
    refused(long_note, 400, "note must be at most 255 characters")
    not_image = client.post(add, files=upload("p.png", b"just some bytes"))
    assert refused(not_image, 400).startswith("Invalid photo: unreadable image")
    flat = client.post(add, files=upload("f.png", media.flat()))
    assert "quality 0 is below 50" in refused(flat, 400)
    bomb = client.post(add, files=upload("bomb.png", media.bomb()))
    assert "decompression bomb" in refused(bomb, 422)
    image_as_video = client.post(add, files=upload("p.png", photo, "video"))
    assert refused(image_as_video, 400).startswith("Invalid video: the file is an image")
    garbage_video = client.post(add, files=upload("v.mp4", b"not a video", "video"))
    assert refused(garbage_video, 400).startswith("Invalid video: ")
    # Nothing refused was banked.
    assert client.get("/hma/m/index/status").json()["pdq"]["size"] == 0

    entry = add_signal(client, "OTHER", pdq=PDQ)
    for content in (str(entry), "abc", "0", "-1", "99999999999999999999", "1e3"):
        url = f"/hma/c/bank/BANK/content/{content}"
        refused(client.get(url), 404, f"content '{content}' not found")
        refused(client.put(url, json={"note": "x"}), 404, f"content '{content}' not found")
        assert client.delete(url).json() == {"deleted": 0}
    refused(client.get(f"/hma/c/bank/NOPE/content/{entry}"), 404, "bank 'NOPE' not found")
    refused(client.delete(f"/hma/c/bank/NOPE/content/{entry}"), 404, "bank 'NOPE' not found")
    url = f"/hma/c/bank/OTHER/content/{entry}"
    for stamp, message in [
        ("soon", "Invalid int: 'soon'"),
        (None, "Invalid int: 'None'"),
        (-5, "disable_until_ts must be a non-negative integer"),
        (9_999_999_999, "disable_until_ts must be less than 5 years in the future"),
    ]:
        refused(client.put(url, json={"disable_until_ts": stamp}), 400, message)
    refused(client.put(url, json={"note": ["x"]}), 400, "note should be a string")
    refused(client.put(url, json=["x"]), 400, "Request input was not a dict")
    assert client.get(url).json()["disable_until_ts"] == 1  # unchanged by refusals


def test_no_bad_input_is_a_500(client: TestClient, media: Media) -> None:
    """A sweep of odd requests: each is answered 4xx with an HMA error body."""
    make_bank(client, "BANK")
    odd: list[tuple[str, str, dict[str, Any]]] = [
        ("get", "/hma/c/bank/%00", {}),
        ("get", "/hma/c/bank/" + "B" * 5000, {}),
        ("put", "/hma/c/bank/BANK", {"content": b"\xff"}),
        ("post", "/hma/c/banks", {"content": b"null"}),
        ("post", "/hma/c/bank/BANK/signal", {"content": b"null"}),
        ("post", "/hma/c/bank/BANK/signal", {"json": {"pdq": None}}),
        ("post", "/hma/c/bank/BANK/signal", {"json": {"vpdq": "[" * 5000}}),
        ("get", "/hma/m/lookup", {"params": {"signal": "[" * 5000, "signal_type": "vpdq"}}),
        ("get", "/hma/m/lookup", {"params": {"signal": "x" * 10_000, "signal_type": "pdq"}}),
        ("post", "/hma/m/compare", {"json": {"vpdq": ['["x"]', '["y"]']}}),
        ("post", "/hma/m/compare", {"json": {"video_md5": [None, None]}}),
        (
            "post",
            "/hma/m/lookup",
            {"content": b"--x\r\n", "headers": {"content-type": "multipart/form-data; boundary=x"}},
        ),
        (
            "post",
            "/hma/m/lookup",
            {"content": b"junk", "headers": {"content-type": "multipart/form-data"}},
        ),
        ("post", "/hma/h/hash", {"files": upload("x", media.bomb(100_000, 1))}),
        ("post", "/hma/h/hash", {"files": upload("../../etc/passwd", b"\x89PNG\r\n")}),
        ("post", "/hma/c/bank/BANK/content", {"files": upload("x.gif", b"GIF89a")}),
        ("put", "/hma/c/bank/BANK/content/1", {"json": {"disable_until_ts": 1}}),
        # NUL characters, which PostgreSQL refuses in text.
        ("put", "/hma/c/bank/%00", {"json": {"enabled": True}}),
        ("post", "/hma/c/bank/B%00/signal", {"json": {"pdq": PDQ}}),
        ("post", "/hma/c/bank/BANK/signal", {"json": {"pdq": PDQ, "note": "a\x00b"}}),
        (
            "post",
            "/hma/c/bank/BANK/content",
            {
                "files": upload("p.png", media.photo()),
                "data": {"metadata": '{"content_id": "\\u0000"}'},
            },
        ),
        ("post", "/hma/c/banks", {"json": {"name": "A\x00"}}),
    ]
    assert client.delete("/hma/c/bank/%00").json() == {"message": "Done"}
    for method, path, arguments in odd:
        response = client.request(method.upper(), path, **arguments)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert "message" in response.json() or "detail" in response.json()


def test_hma_routes_need_a_bank_token_but_health_checks_do_not(
    make_client: Any, settings: Any
) -> None:
    from fastapi.testclient import TestClient as Plain

    from tests.web.conftest import hma_token

    app = make_client().app
    anonymous = Plain(app)
    assert anonymous.get("/hma/c/banks").status_code == 401
    assert anonymous.post("/hma/c/banks", json={"name": "X"}).status_code == 401
    assert anonymous.get("/hma/status").status_code == 200
    # A reviewer's read token reads banks but cannot change them, whatever its scopes.
    from redline.review.accounts import add_user
    from redline.review.tokens import create_token
    from redline.store import make_engine

    engine = make_engine(settings.database_url)
    with engine.begin() as connection:
        add_user(connection, "reader", "reviewer", "a long password here", "test")
        secret = create_token(connection, "reader", "r", ["banks:read", "banks:write"], "test")
    engine.dispose()
    reader = Plain(app, headers={"Authorization": f"Bearer {secret}"})
    assert reader.get("/hma/c/banks").status_code == 200
    refused = reader.post("/hma/c/banks", json={"name": "READER_BANK"})
    assert refused.status_code == 403 and "bank.edit" in refused.json()["message"]
    lead = Plain(app, headers=hma_token(settings))
    assert lead.post("/hma/c/banks", json={"name": "LEAD_BANK"}).status_code == 201
    open_app = make_client(hma_auth=False).app
    assert Plain(open_app).get("/hma/c/banks").status_code == 200


def test_every_hma_route_but_health_refuses_anonymous_callers(make_client: Any) -> None:
    from fastapi.routing import APIRoute
    from fastapi.testclient import TestClient as Plain

    from redline.web.hma import curation, hashing, health, matching

    anonymous = Plain(make_client().app)
    routes = [
        (method, route.path)
        for module in (curation, hashing, matching)
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods - {"HEAD"}
    ]
    assert len(routes) >= 15
    for method, path in routes:
        concrete = path.replace("{bank_name}", "SOME_BANK").replace("{content_id}", "1")
        response = anonymous.request(method, "/hma" + concrete)
        assert response.status_code == 401, (method, path, response.status_code)
    open_paths = {route.path for route in health.router.routes if isinstance(route, APIRoute)}
    assert "/status" in open_paths
