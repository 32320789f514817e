"""HMA's own client call sequences, replayed against redline's ``/hma`` API.

Each sequence below is a call-for-call replay of a test in HMA's suite (OpenMediaMatch/tests at
facebook/ThreatExchange baefb4ed) or of a flow of its UI's JavaScript, with HMA's paths and HMA's
expected answers. Where HMA fetches a URL, the sequence uploads the same file instead (redline
never fetches URLs); where redline answers differently on purpose, the assertion says so.

Every sequence runs in-process (TestClient) and then, all in a row, against a real uvicorn server
driven over HTTP by ``requests``: python-threatexchange ships no HMA client class, so plain HTTP
calls, as HMA's users' scripts make them, are the client.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from redline.config import Settings
from redline.web.app import create_app
from tests.web.conftest import hma_token

threatexchange = pytest.importorskip("threatexchange")
requests = pytest.importorskip("requests")
uvicorn = pytest.importorskip("uvicorn")

from threatexchange.signal_type.pdq.signal import PdqSignal  # noqa: E402

if TYPE_CHECKING:
    from tests.web.conftest import ClientFactory, Media

Client = Any  # a TestClient or an HttpClient: the same get/post/put/delete calls
Sequence = Callable[[Client, "Media"], None]

SPECIMEN_1 = "facd8bcb2a49bcebdec1985298d5fe84bcd006c187c598c720c3c087b3fdb318"
SPECIMEN_2 = "facd8bcb2a49bcebdec1985228d5ae84bcd006c187c598c720c2b087b3fdb318"


class HttpClient:
    """The calls the sequences make, over real HTTP to a base URL ending in ``/hma``."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update(headers)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.session.request(method, self.base_url + path, timeout=60, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


def checkerboard(cell: int) -> bytes:
    """HMA's test image: a 128x128 black and white checkerboard, as JPEG."""
    image = Image.new("RGB", (128, 128))
    for x in range(128):
        for y in range(128):
            image.putpixel((x, y), (255, 255, 255) if (x // cell + y // cell) % 2 else (0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def fresh(client: Client) -> None:
    """Start from no banks, through the API itself (the real server's sequences share a DB)."""
    for bank in client.get("/c/banks").json():
        assert client.delete(f"/c/bank/{bank['name']}").status_code == 200


def create_bank(client: Client, name: str) -> None:
    """HMA's tests/utils.py create_bank."""
    response = client.post("/c/banks", json={"name": name})
    assert response.status_code == 201
    assert response.json() == {"matching_enabled_ratio": 1.0, "name": name}


def add_file_to_bank(
    client: Client, bank: str, data: bytes, name: str = "image1.jpg", **form: str
) -> dict[str, Any]:
    """The UI's "add content by file" (bank-management.js): the file in a field named after
    its content type, metadata as a JSON string, note as text."""
    response = client.post(
        f"/c/bank/{bank}/content",
        files={"photo": (name, data, "image/jpeg")},
        data=form or None,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- test_api_banks.py ----------------------------------------------------------------------------


def banks_empty_index(client: Client, media: Media) -> None:
    response = client.get("/c/banks")
    assert response.status_code == 200
    assert response.json() == []


def banks_create(client: Client, media: Media) -> None:
    # Must not start with number
    assert client.post("/c/banks", json={"name": "01_TEST_BANK"}).status_code == 400
    # Cannot contain lowercase letters
    assert client.post("/c/banks", json={"name": "my_test_bank"}).status_code == 400
    response = client.post("/c/banks", json={"name": "MY_TEST_BANK_01"})
    assert response.status_code == 201
    assert response.json() == {"matching_enabled_ratio": 1.0, "name": "MY_TEST_BANK_01"}
    listed = client.get("/c/banks")
    assert listed.status_code == 200
    assert listed.json() == [response.json()]


def banks_update(client: Client, media: Media) -> None:
    assert client.post("/c/banks", json={"name": "MY_TEST_BANK"}).status_code == 201
    assert client.put("/c/bank/MY_TEST_BANK", json={"name": "1_invalid_name"}).status_code == 400
    renamed = client.put("/c/bank/MY_TEST_BANK", json={"name": "MY_TEST_BANK_RENAMED"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "MY_TEST_BANK_RENAMED"
    disabled = client.put("/c/bank/MY_TEST_BANK_RENAMED", json={"enabled": False})
    assert disabled.status_code == 200
    assert disabled.json()["matching_enabled_ratio"] == 0
    ratio = client.put("/c/bank/MY_TEST_BANK_RENAMED", json={"enabled_ratio": 0.5})
    assert ratio.status_code == 200
    assert ratio.json()["matching_enabled_ratio"] == 0.5
    listed = client.get("/c/banks")
    assert listed.status_code == 200
    assert listed.json() == [{"name": "MY_TEST_BANK_RENAMED", "matching_enabled_ratio": 0.5}]


def banks_delete(client: Client, media: Media) -> None:
    assert client.post("/c/banks", json={"name": "MY_TEST_BANK"}).status_code == 201
    assert client.delete("/c/bank/MY_TEST_BANK").status_code == 200
    # deleting non existing bank should succeed
    assert client.delete("/c/bank/MY_TEST_BANK").status_code == 200


def bank_get_content(client: Client, media: Media) -> None:
    create_bank(client, "TEST_BANK_GET")
    content_id = add_file_to_bank(client, "TEST_BANK_GET", checkerboard(8))["id"]
    response = client.get(f"/c/bank/TEST_BANK_GET/content/{content_id}")
    assert response.status_code == 200
    assert response.json()["id"] == content_id


def bank_get_content_404(client: Client, media: Media) -> None:
    assert client.get("/c/bank/TEST_BANK_GET/content/1").status_code == 404
    create_bank(client, "TEST_BANK_GET")
    assert client.get("/c/bank/TEST_BANK_GET/content/1").status_code == 404


def banks_add_content(client: Client, media: Media) -> None:
    create_bank(client, "NEW_BANK")
    image = checkerboard(8)
    added = add_file_to_bank(client, "NEW_BANK", image)
    assert added == {"id": added["id"], "signals": {"pdq": PdqSignal.hash_from_bytes(image)}}


def bank_update_content(client: Client, media: Media) -> None:
    create_bank(client, "TEST_BANK_UPDATE")
    content_id = add_file_to_bank(client, "TEST_BANK_UPDATE", checkerboard(8))["id"]
    new_disable_ts = int((datetime.now() + timedelta(days=365)).timestamp())
    response = client.put(
        f"/c/bank/TEST_BANK_UPDATE/content/{content_id}",
        json={"disable_until_ts": new_disable_ts},
    )
    assert response.status_code == 200
    # Deliberate difference: HMA echoes the timestamp; a redline entry is on or off, so it is
    # switched off and the answer says 0 (off) rather than a time redline would not honour.
    assert response.json()["disable_until_ts"] == 0
    too_late = client.put(
        f"/c/bank/TEST_BANK_UPDATE/content/{content_id}", json={"disable_until_ts": 9999999999}
    )
    assert too_late.status_code == 400


def banks_delete_content(client: Client, media: Media) -> None:
    create_bank(client, "NEW_BANK")
    content_id = add_file_to_bank(client, "NEW_BANK", checkerboard(8))["id"]
    response = client.delete(f"/c/bank/NEW_BANK/content/{content_id}")
    assert response.status_code == 200
    assert response.json() == {"deleted": 1}


def banks_add_metadata(client: Client, media: Media) -> None:
    create_bank(client, "NEW_BANK")
    bad = client.post(
        "/c/bank/NEW_BANK/content",
        files={"photo": ("image1.jpg", checkerboard(8), "image/jpeg")},
        data={"metadata": '{"invalid_metadata": 5}'},
    )
    assert bad.status_code == 400
    add_file_to_bank(
        client, "NEW_BANK", checkerboard(8), metadata='{"content_id": "1197433091", "json": {}}'
    )


def bank_content_metadata_and_signals(client: Client, media: Media) -> None:
    """test_bank_get_content_with_signals, ..._returns_stored_metadata, ..._include_metadata_false
    and ..._without_metadata_omitted, on one bank."""
    create_bank(client, "TEST_BANK_METADATA")
    metadata = {
        "content_id": "ext-id-123",
        "content_uri": "https://example.com/item/123",
        "json": {"source": "test", "nested": {"key": "value"}},
    }
    with_metadata = add_file_to_bank(
        client, "TEST_BANK_METADATA", checkerboard(8), metadata=json.dumps(metadata)
    )["id"]
    url = f"/c/bank/TEST_BANK_METADATA/content/{with_metadata}"
    got = client.get(url).json()
    assert got["metadata"]["content_id"] == metadata["content_id"]
    assert got["metadata"]["content_uri"] == metadata["content_uri"]
    assert got["metadata"]["json"] == metadata["json"]
    assert "signals" not in got
    assert "metadata" not in client.get(url, params={"include_metadata": "false"}).json()
    with_signals = client.get(url, params={"include_signals": "true"}).json()
    assert with_signals["id"] == with_metadata
    assert isinstance(with_signals["signals"], dict) and with_signals["signals"]
    plain = add_file_to_bank(client, "TEST_BANK_METADATA", checkerboard(16), "image2.jpg")["id"]
    assert "metadata" not in client.get(f"/c/bank/TEST_BANK_METADATA/content/{plain}").json()


def bank_notes(client: Client, media: Media) -> None:
    """test_bank_add_content_with_note, ..._without_note_omitted, test_bank_update_content_note,
    test_bank_add_note_too_long and test_bank_add_hash_with_note."""
    create_bank(client, "TEST_BANK_NOTE")
    noted = add_file_to_bank(client, "TEST_BANK_NOTE", checkerboard(8), note="Reported by user X")
    url = f"/c/bank/TEST_BANK_NOTE/content/{noted['id']}"
    assert client.get(url).json()["note"] == "Reported by user X"
    plain = add_file_to_bank(client, "TEST_BANK_NOTE", checkerboard(16), "image2.jpg")["id"]
    plain_url = f"/c/bank/TEST_BANK_NOTE/content/{plain}"
    assert "note" not in client.get(plain_url).json()
    assert client.put(plain_url, json={"note": "Initial note"}).status_code == 200
    assert client.get(plain_url).json()["note"] == "Initial note"
    assert client.put(plain_url, json={"note": "Updated note"}).status_code == 200
    assert client.get(plain_url).json()["note"] == "Updated note"
    assert client.put(plain_url, json={"note": ""}).status_code == 200
    assert "note" not in client.get(plain_url).json()
    too_long = client.post(
        "/c/bank/TEST_BANK_NOTE/content",
        files={"photo": ("image1.jpg", checkerboard(8), "image/jpeg")},
        data={"note": "x" * 256},
    )
    assert too_long.status_code == 400
    by_hash = client.post(
        "/c/bank/TEST_BANK_NOTE/signal", json={"pdq": "0" * 64, "note": "Hash from campaign ABC"}
    )
    assert by_hash.status_code == 200
    got = client.get(f"/c/bank/TEST_BANK_NOTE/content/{by_hash.json()['id']}")
    assert got.status_code == 200
    assert got.json()["note"] == "Hash from campaign ABC"


# --- test_e2e_workflow.py -------------------------------------------------------------------------


def add_hashes_and_find_match(client: Client, media: Media) -> None:
    create_bank(client, "TEST_BANK")
    hashes = PdqSignal.get_examples()
    ids = []
    for value in hashes:
        response = client.post("/c/bank/TEST_BANK/signal", json={"pdq": value})
        assert response.status_code == 200
        ids.append(response.json()["id"])
    # HMA builds its index in a background task (the test triggers it by hand); redline's
    # index follows the database by itself.
    response = client.get("/m/index/status?signal_type=pdq")
    assert response.status_code == 200
    build_info = response.json()["pdq"]
    assert build_info["present"] is True
    assert build_info["size"] == len(hashes) == 16
    assert hashes[-1] == "62c9789627838f69f23cf98c29e37836d61c87c31c59587c4b49a783f496725c"
    response = client.get(f"/m/lookup?signal_type=pdq&signal={hashes[-1]}")
    assert response.status_code == 200
    # HMA's test expects id 16 on its fresh database: the id of that example.
    assert response.json() == {"TEST_BANK": [{"bank_content_id": ids[-1], "distance": "0"}]}
    response = client.get("/m/lookup?signal_type=pdq&signal={}".format("5" * 64))
    assert response.status_code == 200
    assert response.json() == {}


# --- test_match_api.py ----------------------------------------------------------------------------


def lookup_with_bank_filter(client: Client, media: Media) -> None:
    pdq_signal = PdqSignal.get_examples()[0]
    assert pdq_signal == "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    for bank in ("BANK_A", "BANK_B", "BANK_C"):
        create_bank(client, bank)
        client.post(f"/c/bank/{bank}/signal", json={"pdq": pdq_signal})
    query = {"signal": pdq_signal, "signal_type": "pdq"}

    assert set(client.get("/m/lookup", params=query).json()) == {"BANK_A", "BANK_B", "BANK_C"}
    only_a = client.get("/m/lookup", params={**query, "banks": "BANK_A"}).json()
    assert set(only_a) == {"BANK_A"} and len(only_a["BANK_A"]) > 0
    a_and_c = client.get("/m/lookup", params={**query, "banks": "BANK_A,BANK_C"}).json()
    assert set(a_and_c) == {"BANK_A", "BANK_C"}
    assert client.get("/m/lookup", params={**query, "banks": "NON_EXISTENT_BANK"}).json() == {}

    # test_raw_lookup_with_bank_filter and test_raw_lookup_with_distance_and_bank_filter
    assert len(client.get("/m/raw_lookup", params=query).json()["matches"]) == 3
    assert (
        len(client.get("/m/raw_lookup", params={**query, "banks": "BANK_A"}).json()["matches"]) == 1
    )
    two = client.get("/m/raw_lookup", params={**query, "banks": "BANK_A,BANK_B"}).json()
    assert len(two["matches"]) == 2
    none = client.get("/m/raw_lookup", params={**query, "banks": "NON_EXISTENT_BANK"}).json()
    assert none["matches"] == []
    with_distance = client.get(
        "/m/raw_lookup",
        params={**query, "include_distance": True, "banks": "BANK_A,BANK_B"},
    ).json()["matches"]
    assert len(with_distance) == 2
    assert all("bank_content_id" in m and "distance" in m for m in with_distance)


# --- test_api.py ----------------------------------------------------------------------------------


def status_response(client: Client, media: Media) -> None:
    for path in ("/status", "/status/live"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.content == b"I-AM-ALIVE"


def compare_hashes(client: Client, media: Media) -> None:
    response = client.post("/m/compare", json={"pdq": [SPECIMEN_1, SPECIMEN_2]})
    assert response.json() == {"pdq": [True, {"distance": 9}]}
    bad_inputs: list[Any] = [
        ["banana"],
        {"pdq": "banana"},
        {"pdq": []},
        {"pdq": ["banana", "banana"]},
        {"pdq": [SPECIMEN_1, SPECIMEN_2, SPECIMEN_1]},
    ]
    for bad_input in bad_inputs:
        assert client.post("/m/compare", json=bad_input).status_code == 400


def lookup_success(client: Client, media: Media) -> None:
    """test_lookup_success's POSTs: a JPEG as a photo, and the same file as a "video"."""
    image = checkerboard(8)
    photo = client.post("/m/lookup", files={"photo": ("image1.jpg", image, "image/jpeg")})
    assert photo.status_code == 200
    assert set(photo.json()) == {"pdq"}
    # It's not really a video, but MD5 is simple that we can fake it
    video = client.post("/m/lookup", files={"video": ("image1.jpg", image, "image/jpeg")})
    assert video.status_code == 200
    # FFmpeg reads a JPEG as a one-frame video, so redline (like HMA with its vPDQ extension)
    # answers for vpdq too.
    assert set(video.json()) == {"video_md5", "vpdq"}


# --- the UI's JavaScript --------------------------------------------------------------------------


def match_dbg(client: Client, media: Media) -> None:
    """match_dbg.js: hash two uploads with POST /h/hash, then compare the types both have."""
    results = []
    for cell in (8, 16):
        response = client.post("/h/hash", files={"photo": ("x.jpg", checkerboard(cell))})
        assert response.status_code == 200
        results.append(response.json())
    first, second = results
    body = {key: [first[key], second[key]] for key in first if key in second}
    response = client.post("/m/compare", json=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    # What the page renders: per algorithm, match or not and the distance.
    rows = {
        algo: (match, details["distance"]) for algo, (match, details) in response.json().items()
    }
    assert first["pdq"] == PdqSignal.hash_from_bytes(checkerboard(8))
    assert second["pdq"] == PdqSignal.hash_from_bytes(checkerboard(16))
    reference = PdqSignal.compare_hash(first["pdq"], second["pdq"])
    assert rows == {"pdq": (reference.match, reference.distance.distance)}


def bank_page_flow(client: Client, media: Media) -> None:
    """bank-management.js and match-form.js: create, add by hash and by file, show, match."""
    create_bank(client, "UI_BANK")
    by_hash = client.post("/c/bank/UI_BANK/signal", json={"pdq": SPECIMEN_1}).json()
    assert client.get("/c/bank/UI_BANK").json() == {
        "matching_enabled_ratio": 1.0,
        "name": "UI_BANK",
    }
    image = media.photo(seed=11, fmt="JPEG")
    by_file = add_file_to_bank(client, "UI_BANK", image, "upload.jpg", note="from the UI")
    matched = client.post("/m/lookup", files={"photo": ("upload.jpg", image, "image/jpeg")}).json()
    assert matched == {"pdq": {"UI_BANK": [{"bank_content_id": by_file["id"], "distance": "0"}]}}
    near = client.get("/m/lookup", params={"signal": SPECIMEN_2, "signal_type": "pdq"}).json()
    assert near == {"UI_BANK": [{"bank_content_id": by_hash["id"], "distance": "9"}]}
    assert client.delete(f"/c/bank/UI_BANK/content/{by_hash['id']}").json() == {"deleted": 1}


SEQUENCES: list[Sequence] = [
    banks_empty_index,
    banks_create,
    banks_update,
    banks_delete,
    bank_get_content,
    bank_get_content_404,
    banks_add_content,
    bank_update_content,
    banks_delete_content,
    banks_add_metadata,
    bank_content_metadata_and_signals,
    bank_notes,
    add_hashes_and_find_match,
    lookup_with_bank_filter,
    status_response,
    compare_hashes,
    lookup_success,
    match_dbg,
    bank_page_flow,
]


@pytest.fixture
def hma(make_client: ClientFactory) -> TestClient:
    """A client configured as HMA's clients are: base URL ending in /hma, HMA's own paths."""
    client = make_client()
    return TestClient(client.app, base_url="http://testserver/hma", headers=client.headers)


@pytest.mark.parametrize("sequence", SEQUENCES, ids=lambda s: s.__name__)
def test_hma_sequence(hma: TestClient, media: Media, sequence: Sequence) -> None:
    fresh(hma)
    sequence(hma, media)


def test_pdq_of_uploads_equals_python_threatexchange(hma: TestClient, media: Media) -> None:
    """The hash HMA computes for a file (python-threatexchange's) is the one redline returns."""
    samples = {
        "small.png": media.photo(seed=21),
        "small.jpg": media.photo(seed=22, fmt="JPEG"),
        # Larger than redline's JPEG draft size: decoded at full size, as HMA decodes it.
        "large.jpg": media.photo(seed=23, fmt="JPEG", size=1500),
        "checkerboard.jpg": checkerboard(8),
    }
    for name, data in samples.items():
        expected = PdqSignal.hash_from_file(media.save(name, data))
        response = hma.post("/h/hash", files={"photo": (name, data)})
        assert response.json() == {"pdq": expected}, name


@contextmanager
def served(settings: Settings) -> Iterator[HttpClient]:
    """redline served by uvicorn on 127.0.0.1 (a free port, in a thread), and a client of its
    HMA API configured as HMA's clients are: base URL ``http://host:port/hma``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield HttpClient(f"http://127.0.0.1:{port}/hma", hma_token(settings))
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_every_sequence_against_a_real_server(settings: Settings, media: Media) -> None:
    with served(settings) as client:
        for sequence in SEQUENCES:
            fresh(client)
            sequence(client, media)
        response = client.post("/m/lookup", files={"file": ("a.jpg", checkerboard(8))})
        assert (response.status_code, response.json()) == (
            400,
            {"message": "no such content_type: 'file'"},
        )


def test_real_server_refuses_oversize_uploads(settings: Settings, media: Media) -> None:
    with served(settings.model_copy(update={"max_media_bytes": 2_000})) as client:
        big = media.photo(size=512)
        response = client.post("/h/hash", files={"photo": ("big.png", big)})
        assert (response.status_code, response.json()) == (413, {"message": "Content too large"})
        small = media.photo(size=32, fmt="JPEG")
        assert client.post("/h/hash", files={"photo": ("s.jpg", small)}).status_code == 200


def test_no_client_class_in_python_threatexchange() -> None:
    """python-threatexchange has no HMA client to drive; if one appears, test it here."""
    package = Path(threatexchange.__file__).parent
    sources = [p.read_text(errors="replace") for p in package.rglob("*.py")]
    assert not any("/m/lookup" in text or "/c/banks" in text for text in sources)
