"""The platform set-up of docs/deploy.md across machines: the web process on one host, a media
worker and a text worker on two others, sharing PostgreSQL, RabbitMQ and the object store over
the network and nothing else (issue 16, item 5).

Each host is a network namespace with its own disk (``tests/deploy/lan.py``): inside, 127.0.0.1
has nothing behind it and the other hosts' disks are hidden, so an item can only reach a worker
through the broker, its media only through the object store, and its results only through the
database. The services are this machine's own (PostgreSQL, RabbitMQ, the session's moto S3
server), reached at the bridge's host address through byte-for-byte TCP relays: they listen on
127.0.0.1 only and are shared with other test runs, so they are not reconfigured, and private
instances would add a RabbitMQ node's boot (seconds) while testing nothing of redline's that the
relays do not. What the relays cannot show is the services' own network set-up (PostgreSQL's
``listen_addresses`` and ``pg_hba.conf``, a RabbitMQ user other than ``guest``, which RabbitMQ
refuses from other hosts): docs/deploy.md gives those packages' own commands for it.

The hosts run the guide's own commands with its ``REDLINE_*`` settings (``test_deploy_guide.py``
checks that the guide shows these very command lines). The test plays the platform: it POSTs
text and image items to the web host's items API, then reads the database: every item stored
once, hashed, matched and routed to a case by the workers (their logs show the tasks; the web
host only queued them), nothing lost, nothing twice.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select, text

from redline import banks
from redline.config import Settings
from redline.model import Case, Item, Quarantine, Score, Source
from redline.model.base import utcnow
from redline.store import counters, make_engine
from redline.store.media import media_store
from tests.deploy import lan as network
from tests.deploy.conftest import (
    observer_url,
    redline,
    total,
    unavailable,
    unprocessed,
    worker_reports,
)
from tests.media_fixtures import generated, photo
from tests.object_store import ACCESS_KEY, REGION, SECRET_KEY, Bucket

pytestmark = pytest.mark.slow

# The guide's platform commands, as each host runs them (docs/deploy.md shows these lines).
UPGRADE = "redline db upgrade"
PLATFORM_USER = "redline user add platform --role reviewer --random-password"
PLATFORM_TOKEN = (
    "redline token create --user platform --name uploads"
    " --scope items:write --scope items:read --scope banks:read"
)
WEB = "redline serve --host 0.0.0.0 --port 8000 --workers 2"
MEDIA_WORKER = "redline worker --queues hashing,matching"
TEXT_WORKER = "redline worker --queues text,actions"
COMMANDS = (UPGRADE, PLATFORM_USER, PLATFORM_TOKEN, WEB, MEDIA_WORKER, TEXT_WORKER)

BOUND = 120.0  # seconds to wait for what takes a few; a bound for a stuck run, not a speed
KNOWN_TEXT = (
    "The night market opens again on Saturday with music, food stalls and a lantern walk "
    "along the river, everyone is welcome and entry is free for children"
)
SUBJECTS = ["The city council", "Our book club", "The public library", "A local bakery"]
OBJECTS = ["the spring market", "the bus timetable", "Saturday's concert", "the charity run"]


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[network.Lan]:
    reason = network.unavailable()
    if reason:
        unavailable(reason)
    with network.lan(tmp_path) as made:
        yield made


def seen_from(machine: network.Machine, ports: list[int], folders: list[Path]) -> list[str]:
    """On ``machine``: what connecting to 127.0.0.1 on each port says, then how many entries
    it sees in each folder."""
    probe = (
        "import os, socket, sys\n"
        "ports, folders = sys.argv[1].split(), sys.argv[2:]\n"
        "for port in map(int, ports):\n"
        "    try:\n"
        "        socket.create_connection(('127.0.0.1', port), timeout=2).close()\n"
        "        print('open')\n"
        "    except OSError as error:\n"
        "        print(type(error).__name__)\n"
        "for folder in folders:\n"
        "    print(len(os.listdir(folder)))\n"
    )
    argv = [sys.executable, "-c", probe, " ".join(map(str, ports)), *map(str, folders)]
    done = machine.run(argv, {}, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@dataclass
class Platform:
    """What the platform sends: text records, photo records and the photos' bytes."""

    texts: list[dict[str, Any]]
    images: list[dict[str, Any]]
    files: dict[str, bytes]
    matching: set[str]  # external ids that repeat banked content


def platform_content() -> Platform:
    """Generic posts, one in ten repeating the banked text with a mark of its own; photos, some
    altered copies of the banked ones."""
    texts = []
    for number in range(30):
        if number % 10 == 0:
            body = f"{KNOWN_TEXT} post t{number}"
        else:
            body = f"{SUBJECTS[number % 4]} shared photos of {OBJECTS[number // 4 % 4]}, post t{number}"
        texts.append({"id": f"t{number}", "text": body, "account": f"acct{number % 7}"})
    astronaut, coffee = photo("astronaut"), photo("coffee")
    copies = {
        "i1.jpg": astronaut,  # re-encoded
        "i2.jpg": coffee.resize((coffee.width // 2, coffee.height // 2)),
        "i3.jpg": photo("chelsea"),
        "i4.jpg": generated(3),
        "i5.jpg": generated(4),
        "i6.jpg": astronaut.resize((256, 256)),
    }
    files = {}
    for name, image in copies.items():
        jpeg = io.BytesIO()
        image.convert("RGB").save(jpeg, "JPEG", quality=80)
        files[name] = jpeg.getvalue()
    images = [{"id": name.removesuffix(".jpg"), "media": [name]} for name in files]
    images[-1]["text"] = "photos from the spring market"  # an item with both
    return Platform(texts, images, files, {"t0", "t10", "t20", "i1", "i2", "i6"})


def fill_bank(database: str, bucket: Bucket, folder: Path) -> None:
    """A bank of two photos (stored in the object store, as `redline bank add` stores them) and
    a text, made from here: the banks are the test's setting, not what it is about."""
    settings = Settings(
        database_url=observer_url(database),
        data_dir=folder / "admin-data",
        media_url=bucket.media_url,
        s3_endpoint_url=bucket.endpoint,
        s3_region=REGION,
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
    )
    paths = [folder / "poster-a.png", folder / "poster-b.png"]
    photo("astronaut").save(paths[0])
    photo("coffee").save(paths[1])
    hashed = banks.hash_media_files(media_store(settings), paths)
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            banks.create_bank(connection, "known", actor="test", now=utcnow())
            banks.add_media_files(connection, "known", hashed, actor="test", now=utcnow())
            banks.add_text(connection, "known", KNOWN_TEXT, actor="test", now=utcnow())
    finally:
        engine.dispose()


def wait_for(check: Callable[[], bool], what: str, services: list[network.Service]) -> None:
    deadline = time.monotonic() + BOUND
    while not check():
        for service in services:
            assert service.process.poll() is None, (
                f"{service.machine} stopped:\n{service.output()[-3000:]}"
            )
        assert time.monotonic() < deadline, f"not {what} after {BOUND:.0f} s"
        time.sleep(0.2)


def test_web_and_workers_on_separate_hosts_share_only_the_services(
    database: str, queue_prefix: str, bucket: Bucket, hosts: network.Lan
) -> None:
    # (``hosts`` comes last, so its processes stop before the database and the queues go.)
    moto_port = int(bucket.endpoint.rsplit(":", 1)[1])
    db = hosts.relay(5432, ("127.0.0.1", 5432))
    amqp = hosts.relay(5672, ("127.0.0.1", 5672))
    s3 = hosts.relay(9000, ("127.0.0.1", moto_port))
    web, media_worker, text_worker = (hosts.add(n) for n in ("web", "media-worker", "text-worker"))
    # The guide's /etc/redline/redline.env: the same on every host but for the data folder,
    # which is each host's own disk.
    config = {
        "REDLINE_DATABASE_URL": f"postgresql://postgres@{db}/{database}",
        "REDLINE_BROKER_URL": f"amqp://guest:guest@{amqp}//",
        "REDLINE_QUEUE_PREFIX": queue_prefix,
        "REDLINE_MEDIA_URL": bucket.media_url,
        "REDLINE_S3_ENDPOINT_URL": f"http://{s3}",
        "REDLINE_S3_REGION": REGION,
        "REDLINE_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "REDLINE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
    }

    def on(machine: network.Machine) -> dict[str, str]:
        return {**config, "REDLINE_DATA_DIR": str(machine.disk / "data")}

    def run(machine: network.Machine, command: str) -> str:
        done = machine.run(redline(command), on(machine))
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
        return done.stdout

    # Inside each host, nothing answers on 127.0.0.1 where this machine's services listen, and
    # the other hosts' disks and the test's own folder look empty.
    machines = (web, media_worker, text_worker)
    for machine in machines:
        others = [m.disk for m in machines if m is not machine] + [hosts.private]
        seen = seen_from(machine, [5432, 5672, moto_port], [machine.disk, *others])
        assert seen == ["ConnectionRefusedError"] * 3 + ["1", "0", "0", "0"], (machine.name, seen)

    assert "schema none ->" in run(web, UPGRADE)
    logs = hosts.private
    media_service = media_worker.start(
        redline(MEDIA_WORKER), on(media_worker), logs / "media-worker.log"
    )
    text_service = text_worker.start(redline(TEXT_WORKER), on(text_worker), logs / "text.log")
    services = [media_service, text_service, web.start(redline(WEB), on(web), logs / "web.log")]

    def platform_token() -> str:
        run(web, PLATFORM_USER)
        return run(web, PLATFORM_TOKEN).strip()

    # While they start, an admin on the web host makes the platform's token and the test fills
    # a bank (the web and the workers read the banks when they first need them).
    with ThreadPoolExecutor(1) as pool:
        made = pool.submit(platform_token)
        fill_bank(database, bucket, hosts.private)
        platform = platform_content()
        secret = made.result()
    base = f"http://{web.address}:8000"

    # One client for the polls too: a new one per poll costs a TLS context's CPU, which the
    # starting processes need.
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=60)

    def answering() -> bool:
        try:
            return client.get("/hma/status/live", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(answering, "answering", services)
    engine = make_engine(observer_url(database))
    try:
        # The platform sends posts as they come: texts as JSON, photos as multipart, then the
        # texts again (a retry after a lost answer, say).
        sent = client.post("/api/v1/items", json={"source": "platform", "records": platform.texts})
        assert sent.status_code == 202 and sent.json()["counts"] == {"stored": 30}, sent.text
        lines = "\n".join(json.dumps(r) for r in platform.images)
        files = [("files", (n, data, "image/jpeg")) for n, data in platform.files.items()]
        photos = client.post(
            "/api/v1/items", data={"source": "platform", "records": lines}, files=files
        )
        assert photos.status_code == 202 and photos.json()["counts"] == {"stored": 6}, photos.text
        again = client.post("/api/v1/items", json={"source": "platform", "records": platform.texts})
        assert again.status_code == 202 and again.json()["counts"] == {"duplicate": 30}

        wait_for(lambda: unprocessed(engine) == 0, "processed", services)
        cases = check_database(engine, platform)
        # The workers did the work, each on its own queues, and each piece once: what their
        # tasks reported adds up to what the database holds.
        media, texts = worker_reports(media_service.output()), worker_reports(text_service.output())
        assert set(media) == {"redline.hash", "redline.match"} and set(texts) == {"redline.text"}
        assert total(media["redline.hash"], "hashed") == 6
        assert total(texts["redline.text"], "texts_scored") == 31
        opened = [r for reports in (*media.values(), *texts.values()) for r in reports]
        assert total(opened, "cases_opened") == cases

        # What the web host serves: the banks version the workers matched against, over the
        # network like everything else.
        with engine.connect() as connection:
            version = counters.current(connection, counters.BANKS)
        status = client.get("/api/v1/status")
        assert status.status_code == 200, status.text
        served = status.json()["index"]
        assert served["banks_version"] == served["database_version"] == version > 0
        assert served["stale"] is False
        index = client.get("/hma/m/index/status", params={"signal_type": "pdq"})
        assert index.status_code == 200, index.text
        pdq = index.json()["pdq"]
        assert pdq["present"] is True and pdq["size"] > 0
        assert pdq["banks_version"] == pdq["database_version"] == version
        assert client.get("/hma/status").text == "I-AM-ALIVE"
        shown = client.get(f"/api/v1/items/{photos.json()['records'][0]['item_id']}").json()
        assert shown["case"] is not None and shown["matches"], shown

        # Media are in the object store, and on no host's disk.
        with engine.connect() as connection:
            stored = set(connection.scalars(text("SELECT sha256 FROM media")))
    finally:
        client.close()
        engine.dispose()
    assert len(stored) == 8  # the six photos sent, the two banked posters
    keys = bucket.keys()
    assert stored <= {Path(key).stem for key in keys}
    for machine in (web, media_worker, text_worker):
        on_disk = [p for p in machine.disk.rglob("*") if p.stem in stored]
        assert on_disk == [], machine.name


def check_database(engine: Engine, platform: Platform) -> int:
    """Every item once, processed, and a case for exactly those that repeat banked content (or
    that the classifier flagged)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Item.external_id, Item.revision, Item.id, Item.text_sha256)
            .join(Source, Source.id == Item.source_id)
            .where(Source.name == "platform")
        ).all()
        sent = [r["id"] for r in platform.texts + platform.images]
        assert sorted(r.external_id for r in rows) == sorted(sent)  # none lost, none twice
        assert {r.revision for r in rows} == {1}
        cases = dict(
            connection.execute(
                select(Item.external_id, func.count(Case.id))
                .join(Case, Case.item_id == Item.id)
                .group_by(Item.external_id)
            ).all()
        )
        flagged = set(
            connection.scalars(
                select(Item.external_id)
                .join(Score, Score.text_sha256 == Item.text_sha256)
                .where(Score.flagged.is_(True))
            )
        )
        matched = set(
            connection.scalars(
                text(
                    "SELECT DISTINCT i.external_id FROM items i JOIN matches m ON"
                    " m.text_sha256 = i.text_sha256 OR m.media_sha256 IN"
                    " (SELECT media_sha256 FROM item_media WHERE item_id = i.id)"
                )
            )
        )
        scored = connection.scalar(select(func.count(func.distinct(Score.text_sha256))))
        failed = connection.scalar(
            select(func.count()).select_from(Quarantine).where(Quarantine.format == "work")
        )
    assert matched == platform.matching
    assert set(cases) == platform.matching | flagged and set(cases.values()) == {1}
    assert scored == len({r.text_sha256 for r in rows if r.text_sha256})
    assert failed == 0
    return len(cases)
