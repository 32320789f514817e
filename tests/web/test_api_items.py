"""POST /api/v1/items and GET /api/v1/items/{id}: a platform sends content as it is posted (as
JSON, or multipart with its photos, or only the hashes it computed) and reads what became of it."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from redline import banks
from redline.classify.model import TextModel
from redline.ingest.jsonl import BadRecord, record_from_object
from redline.ingest.records import Record, Rejection
from redline.ingest.run import ingest_records
from redline.model import AuditEvent, Item, Quarantine, Source
from redline.model.base import utcnow
from redline.signals.pdq import PdqSignal
from redline.store.audit import verify
from redline.store.media import FolderStore
from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_api_v1 import token


@pytest.fixture
def api(desk: Desk, tiny_model: TextModel) -> TestClient:
    client = TestClient(create_app(desk.settings))
    client.app.state.services.worksite.model = tiny_model  # type: ignore[attr-defined]
    return client


def large_photo(width: int = 4000, height: int = 3000, seed: int = 3) -> bytes:
    """A camera-sized JPEG: smooth shapes plus sensor-like noise, a few MB as phones make."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    pixels = np.asarray(small, dtype=np.int16) + rng.integers(-12, 13, (height, width, 3))
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=92)
    return out.getvalue()


def test_a_batch_gets_a_status_per_record_and_bad_records_do_not_fail_it(
    api: TestClient, desk: Desk
) -> None:
    headers = token(desk, "lead1", "items:write", "items:read")
    too_long = "a" * (desk.settings.max_field_bytes + 1)
    records = [
        {"id": "a1", "text": "lunch at the market with friends", "account": "u1"},
        {"id": "a2", "text": "the football match was great tonight"},
        {"id": "a1", "text": "lunch at the market with friends", "account": "u1"},
        {"id": "a1", "text": "lunch at the market with friends (edited)"},
        {"id": "b1", "text": 5},
        {"id": "b2", "media": [{"pdq": "zz" * 32}]},
        {"id": "b3", "text": too_long},
        {"id": "b4", "media": [{"md5": "0" * 31}]},
    ]
    answer = api.post(
        "/api/v1/items", json={"source": "platform", "records": records}, headers=headers
    )
    assert answer.status_code == 202, answer.text
    statuses = [(r["location"], r["status"]) for r in answer.json()["records"]]
    assert [s for _, s in statuses] == [
        "stored",
        "stored",
        "duplicate",
        "revision",
        "quarantined",
        "quarantined",
        "quarantined",
        "quarantined",
    ]
    body = answer.json()["records"]
    assert body[2]["item_id"] == body[0]["item_id"]  # the duplicate names what it repeats
    assert body[3]["revision"] == 2
    assert "'text' must be a string" in body[4]["reason"]
    assert "bad pdq hash" in body[5]["reason"]
    assert "over the limit" in body[6]["reason"]
    assert "bad md5 hash" in body[7]["reason"]
    assert answer.json()["counts"] == {"stored": 2, "duplicate": 1, "revision": 1, "quarantined": 4}
    with desk.engine.connect() as connection:
        source = connection.scalar(select(Source.id).where(Source.name == "platform"))
        stored = connection.execute(
            select(Item.external_id, Item.revision).where(Item.source_id == source)
        ).all()
        refused = connection.scalar(
            select(func.count()).select_from(Quarantine).where(Quarantine.source_id == source)
        )
    assert sorted(stored) == [("a1", 1), ("a1", 2), ("a2", 1)]
    assert refused == 4
    # The same batch again: nothing new is stored.
    again = api.post(
        "/api/v1/items", json={"source": "platform", "records": records[:4]}, headers=headers
    ).json()
    assert [r["status"] for r in again["records"]] == ["duplicate"] * 4


def test_a_new_source_is_made_once_and_every_batch_is_audited_with_its_counts(
    desk: Desk, tmp_path: Path
) -> None:
    """Four first batches to a source nobody has named yet, at once: one source, one creation
    in the audit trail, and one ingest event per batch whose counts are what the batch did."""
    batches = [
        [
            {"id": f"t{n}-{k}", "text": f"market day {n} {k}, the bus was late again"}
            for k in range(5)
        ]
        + [{"id": "shared", "text": "the same post from every sender"}, {"id": "bad", "text": 7}]
        for n in range(4)
    ]
    answers: dict[int, list[str]] = {}
    failures: list[Exception] = []
    start = threading.Barrier(len(batches))

    def send(number: int) -> None:
        reads: list[Record | Rejection] = []
        for place, record in enumerate(batches[number], start=1):
            raw = json.dumps(record).encode()
            try:
                reads.append(
                    record_from_object(
                        record, base_dir=tmp_path, file="api", location=f"record {place}", raw=raw
                    )
                )
            except BadRecord as error:
                reads.append(Rejection("api", f"record {place}", str(error), raw))
        start.wait()
        try:
            outcomes = ingest_records(
                reads,
                "new-platform",
                engine=desk.engine,
                settings=desk.settings,
                actor="api:lead1",
                format_name="api",
            )
            answers[number] = [o.status for o in outcomes]
        except Exception as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    with desk.engine.connect() as connection:
        sources = connection.scalars(select(Source.id).where(Source.name == "new-platform")).all()
        events = connection.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.detail)
            .where(AuditEvent.subject_type == "source", AuditEvent.subject_id == "new-platform")
            .order_by(AuditEvent.id)
        ).all()
        stored = connection.scalar(
            select(func.count()).select_from(Item).where(Item.source_id == sources[0])
        )
        chain = verify(connection)
    assert len(sources) == 1
    assert [e.action for e in events] == ["source.create"] + ["ingest"] * 4
    assert {e.actor for e in events} == {"api:lead1"}
    # "shared" is stored by the first batch to commit and a duplicate in the three others.
    assert sorted(tuple(sorted(e.detail.items())) for e in events[1:]) == sorted(
        tuple(
            sorted(
                {
                    "records": 7,
                    "stored": statuses.count("stored"),
                    "revision": 0,
                    "duplicate": statuses.count("duplicate"),
                    "quarantined": 1,
                }.items()
            )
        )
        for statuses in answers.values()
    )
    assert sum(a.count("duplicate") for a in answers.values()) == 3
    assert stored == 4 * 5 + 1
    assert chain.broken is None


def test_a_batch_of_more_than_1000_records_is_refused_with_a_message(
    api: TestClient, desk: Desk
) -> None:
    headers = token(desk, "lead1", "items:write")
    records = [{"id": f"r{i}", "text": f"post number {i}"} for i in range(1001)]
    refused = api.post("/api/v1/items", json={"records": records}, headers=headers)
    assert refused.status_code == 413
    assert "at most 1,000" in refused.json()["message"]
    lines = "\n".join(json.dumps(r) for r in records)
    refused = api.post("/api/v1/items", files=[("records", (None, lines))], headers=headers)
    assert refused.status_code == 413 and "1,001 records" in refused.json()["message"]
    accepted = api.post("/api/v1/items", json={"records": records[:1000]}, headers=headers)
    assert accepted.status_code == 202 and accepted.json()["counts"] == {"stored": 1000}


def test_an_uploaded_camera_photo_is_stored_and_hashed(api: TestClient, desk: Desk) -> None:
    headers = token(desk, "lead1", "items:write", "items:read")
    jpeg = large_photo()
    assert len(jpeg) > 2_000_000  # a realistic photo, not a thumbnail
    lines = "\n".join(
        [
            json.dumps({"id": "p1", "text": "holiday photo", "media": ["IMG_0001.jpg"]}),
            "{not json",
        ]
    )
    answer = api.post(
        "/api/v1/items",
        data={"source": "platform", "records": lines},
        files=[("file", ("IMG_0001.jpg", jpeg, "image/jpeg"))],
        headers=headers,
    )
    assert answer.status_code == 202, answer.text
    first, second = answer.json()["records"]
    assert first["status"] == "stored" and second["status"] == "quarantined"
    assert second["reason"].startswith("not valid JSON")
    item = api.get(f"/api/v1/items/{first['item_id']}", headers=headers).json()
    assert item["media"][0]["width"] == 4000 and item["media"][0]["kind"] == "image"
    kinds = {s["signal_type"] for s in item["signals"]}
    assert {"pdq", "md5", "sha256"} <= kinds
    pdq = next(s for s in item["signals"] if s["signal_type"] == "pdq")
    assert len(pdq["value"]) == 64 and pdq["quality"] >= 50


def test_hashes_sent_without_the_file_match_a_bank_entry_and_open_a_case(
    api: TestClient, desk: Desk, tmp_path: Path
) -> None:
    path = tmp_path / "known.jpg"
    path.write_bytes(large_photo(800, 600, seed=11))
    known = banks.hash_media(FolderStore(desk.settings.data_dir), path)
    with desk.engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
        banks.add_media(connection, "known", known, actor="t", now=utcnow(), category="x")
    pdq = PdqSignal.hash_query(path).value
    headers = token(desk, "lead1", "items:write", "items:read")
    records = [
        {"id": "h1", "text": "a photo", "media": [{"pdq": pdq.upper(), "md5": "a" * 32}]},
        {"id": "h2", "media": [{"pdq": "0" * 64, "pdq_quality": 100}]},
    ]
    answer = api.post("/api/v1/items", json={"records": records}, headers=headers)
    assert answer.status_code == 202, answer.text
    matched, unrelated = (r["item_id"] for r in answer.json()["records"])
    item = api.get(f"/api/v1/items/{matched}", headers=headers).json()
    assert [(m["bank"], m["signal_type"]) for m in item["matches"]] == [("known", "pdq")]
    assert item["case"] is not None and item["case"]["signal"] == "bank"
    assert item["media"][0]["kind"] == "hashes"
    assert {s["signal_type"] for s in item["signals"]} >= {"pdq", "md5"}
    other = api.get(f"/api/v1/items/{unrelated}", headers=headers).json()
    assert other["matches"] == [] and other["case"] is None


def test_tokens_and_scopes(api: TestClient, desk: Desk) -> None:
    body = {"records": [{"id": "x", "text": "hello"}]}
    assert api.post("/api/v1/items", json=body).status_code == 401
    wrong = api.post("/api/v1/items", json=body, headers=token(desk, "lead1", "cases:write"))
    assert wrong.status_code == 403 and "items:write" in wrong.json()["message"]
    assert api.get("/api/v1/items/1").status_code == 401
    banks_only = api.get("/api/v1/items/1", headers=token(desk, "lead1", "banks:read"))
    assert banks_only.status_code == 403
    assert api.get("/api/v1/items/1", headers=token(desk, "rev1", "cases:read")).status_code == 200
    missing = api.get("/api/v1/items/999999", headers=token(desk, "rev1", "items:read"))
    assert missing.status_code == 404


def test_an_item_shows_its_case_and_the_decisions_on_it(api: TestClient, desk: Desk) -> None:
    case_id = desk.cases["p2"]
    decided = api.post(
        f"/api/v1/cases/{case_id}/decisions",
        json={"verdict": "not_violating", "reason": "news_reporting"},
        headers=token(desk, "rev1", "cases:write"),
    )
    assert decided.status_code == 201, decided.text
    case = api.get(f"/api/v1/cases/{case_id}", headers=token(desk, "rev1", "cases:read")).json()
    item_id = case["item"]["id"]
    item = api.get(f"/api/v1/items/{item_id}", headers=token(desk, "rev1", "items:read")).json()
    assert item["external_id"] == "p2" and item["text"]
    assert item["case"]["id"] == case_id
    assert [(d["reviewer"], d["verdict"]) for d in item["decisions"]] == [("rev1", "not_violating")]


def test_a_reupload_sent_after_the_first_was_processed_gets_its_own_case(
    api: TestClient, desk: Desk, tmp_path: Path
) -> None:
    """The same photo bytes, and the same flagged text, sent again as new posts: each new item
    gets a case of its own, as the first did, though its content was matched and scored."""
    jpeg = large_photo(800, 600, seed=11)
    (tmp_path / "known.jpg").write_bytes(jpeg)
    known = banks.hash_media(FolderStore(desk.settings.data_dir), tmp_path / "known.jpg")
    with desk.engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
        banks.add_media(connection, "known", known, actor="t", now=utcnow(), category="x")
    headers = token(desk, "lead1", "items:write", "items:read")

    def post(record: dict[str, object]) -> dict[str, object]:
        if "media" in record:  # the photo uploaded with its record
            answer = api.post(
                "/api/v1/items",
                data={"source": "platform", "records": json.dumps(record)},
                files=[("file", ("IMG_0001.jpg", jpeg, "image/jpeg"))],
                headers=headers,
            )
        else:
            body = {"source": "platform", "records": [record]}
            answer = api.post("/api/v1/items", json=body, headers=headers)
        assert answer.status_code == 202, answer.text
        (stored,) = answer.json()["records"]
        assert stored["status"] == "stored"
        item = api.get(f"/api/v1/items/{stored['item_id']}", headers=headers)
        return item.json()  # type: ignore[no-any-return]

    flagged = "share the new zorblat release number 7 everyone"
    first_photo = post({"id": "u1", "media": ["IMG_0001.jpg"]})
    first_text = post({"id": "u2", "text": flagged})
    again_photo = post({"id": "u3", "text": "look again", "media": ["IMG_0001.jpg"]})
    again_text = post({"id": "u4", "text": flagged})
    for first, again in ((first_photo, again_photo), (first_text, again_text)):
        assert first["case"] is not None and again["case"] is not None
        assert again["case"]["id"] != first["case"]["id"]
        for field in ("priority", "signal", "category", "reason"):
            assert again["case"][field] == first["case"][field], field
        assert again["matches"] == first["matches"]  # what the new item's case stands on
    assert again_photo["case"]["signal"] == "bank" and again_text["case"]["signal"] == "classifier"
