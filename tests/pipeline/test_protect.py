"""Protection against bad shared hashes, on SQLite and PostgreSQL, through ``redline scan`` and
the per-item stages the workers and the items API run: a negative bank's match vetoes the same
content's other matches; an entry that floods is held (its matches kept, no cases, a lead
alerted) until a lead releases it; an untrusted exchange's entries open no case on their own,
and its PDQ threshold tightens the bank's; no interleaving of two workers lets a flood entry
open more cases than its limit."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, func, select

from redline import banks
from redline.actions import scheduler
from redline.banks import manage
from redline.banks.flood import release_entry
from redline.config import Settings
from redline.errors import Conflict
from redline.exchanges import run, signing
from redline.exchanges.base import Batch, SharedEntry
from redline.model import AuditEvent, Bank, BankEntry, Case, ExchangeEntry, Item, ItemMedia, Match
from redline.model.base import utcnow
from redline.pipeline import protect
from redline.pipeline.known import route_known_texts
from redline.pipeline.route import open_text_cases, text_match_reason
from redline.review.accounts import add_user
from redline.review.casefile import case_file
from redline.review.rules import PRIORITY_CONFIRMED_MATCH
from redline.signals.base import BankMatch
from redline.signals.minhash import TextMinHashSignal
from redline.store.matches import record_matches
from redline.store.media import FolderStore
from redline.web.app import create_app
from tests.conftest import CliResult
from tests.helpers import only_on
from tests.media_fixtures import generated, photo
from tests.pipeline.test_reupload import cases, ingest_jsonl, process
from tests.pipeline.test_text_scan import STATEMENT
from tests.web.test_console import sign_in

KEY = Ed25519PrivateKey.generate()
CHOIR = f"{STATEMENT} Shared again by the harbour choir after the evening rehearsal."


def copy(n: int) -> str:
    """A near-copy of the banked statement: a distinct text that still matches it."""
    return f"{STATEMENT} Shared again as copy number {n}."


def matches_of(engine: Engine, entry_id: int) -> list[Any]:
    with engine.connect() as connection:
        return connection.execute(
            select(Match.id, Match.vetoed_by, Match.held).where(Match.bank_entry_id == entry_id)
        ).all()


def entry(engine: Engine, entry_id: int) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            select(BankEntry.enabled, BankEntry.held_at, BankEntry.disabled_reason).where(
                BankEntry.id == entry_id
            )
        ).one()


def subscribe(connection: Connection, name: str, bank: str) -> None:
    """Subscribe ``bank`` to a redline-to-redline exchange called ``name`` (never fetched: the
    tests apply its batches themselves)."""
    run.add_exchange(
        connection,
        name,
        bank,
        "redline",
        {
            "url": f"https://redline.partner.example/api/v1/feeds/{name}",
            "token": "rl_partner_token",
            "public_key": signing.public_text(KEY),
        },
        actor="lead",
        now=utcnow(),
    )


def exchange_bank(engine: Engine, bank: str, text: str, **bank_settings: Any) -> int:
    """A bank filled by a redline-to-redline exchange called ``partner`` with one entry, the
    signature of ``text``; the bank entry it became."""
    with engine.begin() as connection:
        banks.create_bank(connection, bank, actor="lead", now=utcnow(), **bank_settings)
        subscribe(connection, "partner", bank)
        (signature,) = TextMinHashSignal.compute_text(text)
        shared = SharedEntry("41", {TextMinHashSignal.name: [signature.value]}, "x")
        run.apply_batch(connection, "partner", Batch("1", added=[shared]), utcnow(), expected=None)
        return int(
            connection.scalar(select(ExchangeEntry.entry_id).where(ExchangeEntry.remote_id == "41"))
            or 0
        )


@pytest.mark.parametrize("how", ["scan", "items"])
def test_a_negative_bank_vetoes_an_image_match(
    engine: Engine, settings: Settings, tmp_path: Path, how: str
) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    photo("astronaut").save(folder / "logo.png")  # banked as violating, but known benign
    generated(3).save(folder / "poster.png")
    store = FolderStore(settings.data_dir)
    with engine.begin() as connection:
        banks.create_bank(connection, "shared", actor="t", now=utcnow())
        banks.create_bank(connection, "benign", actor="t", now=utcnow(), negative=True)
        for name in ("logo.png", "poster.png"):
            banks.add_media(
                connection,
                "shared",
                banks.hash_media(store, folder / name),
                actor="t",
                now=utcnow(),
            )
        benign = banks.add_media(
            connection,
            "benign",
            banks.hash_media(store, folder / "logo.png"),
            actor="t",
            now=utcnow(),
        )
    ingest_jsonl(
        engine,
        settings,
        folder,
        "channel",
        [{"id": "a1", "media": ["logo.png"]}, {"id": "a2", "media": ["poster.png"]}],
    )
    process(how, engine, settings, None)

    found = cases(engine)
    assert set(found) == {"a2"}  # the logo opened nothing
    assert found["a2"][1] == PRIORITY_CONFIRMED_MATCH
    with engine.connect() as connection:
        logo = connection.execute(
            select(Match.vetoed_by, BankEntry.bank_id)
            .join(BankEntry, BankEntry.id == Match.bank_entry_id)
            .join(ItemMedia, ItemMedia.media_sha256 == Match.media_sha256)
            .join(Item, Item.id == ItemMedia.item_id)
            .where(Item.external_id == "a1", BankEntry.id != benign.id)
        ).all()
    # Every match of the logo to the shared bank is kept, marked with the benign entry.
    assert logo and {row.vetoed_by for row in logo} == {benign.id}

    # A re-upload of the logo is vetoed too (the known-content path).
    again = tmp_path / "again"
    again.mkdir()
    photo("astronaut").save(again / "logo-again.png")
    ingest_jsonl(engine, settings, again, "mirror", [{"id": "b1", "media": ["logo-again.png"]}])
    process(how, engine, settings, None)
    assert set(cases(engine)) == {"a2"}


@pytest.mark.parametrize("how", ["scan", "items"])
def test_a_negative_text_bank_vetoes_a_text_match(
    engine: Engine, settings: Settings, tmp_path: Path, how: str
) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "statements", actor="t", now=utcnow(), text_threshold=0.6)
        banks.create_bank(
            connection, "benign", actor="t", now=utcnow(), negative=True, text_threshold=0.6
        )
        banks.add_text(connection, "statements", STATEMENT, actor="t", now=utcnow())
        benign = banks.add_text(connection, "benign", STATEMENT, actor="t", now=utcnow())
    ingest_jsonl(engine, settings, tmp_path, "channel", [{"id": "a1", "text": STATEMENT}])
    process(how, engine, settings, None)
    assert cases(engine) == {}
    with engine.connect() as connection:
        vetoed = set(connection.scalars(select(Match.vetoed_by)))
    assert vetoed == {None, benign.id}  # the benign match itself, and the vetoed one


@pytest.mark.parametrize("how", ["scan", "items"])
def test_a_flood_entry_is_held_its_matches_kept_a_lead_alerted_and_released(
    engine: Engine, settings: Settings, tmp_path: Path, how: str
) -> None:
    with engine.begin() as connection:
        banks.create_bank(
            connection, "statements", actor="t", now=utcnow(), text_threshold=0.6, flood_items=3
        )
        flood = banks.add_text(connection, "statements", STATEMENT, actor="t", now=utcnow()).id
    ingest_jsonl(
        engine, settings, tmp_path, "first", [{"id": f"a{n}", "text": copy(n)} for n in range(3)]
    )
    process(how, engine, settings, None)
    assert set(cases(engine)) == {"a0", "a1", "a2"}  # up to the limit: cases as usual
    assert entry(engine, flood).held_at is None

    ingest_jsonl(
        engine,
        settings,
        tmp_path,
        "second",
        [{"id": f"b{n}", "text": copy(10 + n)} for n in range(3)],
    )
    process(how, engine, settings, None)
    assert set(cases(engine)) == {"a0", "a1", "a2"}  # held: no case from it
    assert entry(engine, flood).held_at is not None
    kept = matches_of(engine, flood)
    assert len(kept) == 6 and sum(row.held for row in kept) == 3  # its matches are kept

    # A re-upload of held content opens nothing either.
    ingest_jsonl(engine, settings, tmp_path, "mirror", [{"id": "c1", "text": copy(10)}])
    process(how, engine, settings, None)
    assert "c1" not in cases(engine)

    # The scheduler alerts the leads, once per hold.
    media = FolderStore(settings.data_dir)
    first = scheduler.tick(engine, media, utcnow())
    assert [a for a in first.alerts if f"entry {flood} is held" in a]
    assert not scheduler.tick(engine, media, utcnow()).alerts

    with engine.begin() as connection:
        routed = release_entry(connection, flood, actor="user:lead1", now=utcnow())
    assert routed.opened == 4  # b0..b2 and the re-upload c1
    assert set(cases(engine)) == {"a0", "a1", "a2", "b0", "b1", "b2", "c1"}
    with engine.begin() as connection, pytest.raises(Conflict):
        release_entry(connection, flood, actor="user:lead1", now=utcnow())
    with engine.connect() as connection:
        actions = list(
            connection.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == str(flood)))
        )
    assert {"bank_entry.hold", "bank_entry.alert", "bank_entry.release"} <= set(actions)


def test_a_held_entry_a_lead_disables_opens_nothing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with engine.begin() as connection:
        banks.create_bank(
            connection, "statements", actor="t", now=utcnow(), text_threshold=0.6, flood_items=1
        )
        flood = banks.add_text(connection, "statements", STATEMENT, actor="t", now=utcnow()).id
    ingest_jsonl(
        engine, settings, tmp_path, "c", [{"id": f"a{n}", "text": copy(n)} for n in range(2)]
    )
    process("items", engine, settings, None)
    assert cases(engine) == {}  # two in one batch, over a limit of one: held whole
    with engine.begin() as connection:
        manage.disable_entry(connection, flood, "matches every statement", actor="l", now=utcnow())
    state = entry(engine, flood)
    assert not state.enabled and state.held_at is None
    with engine.begin() as connection, pytest.raises(Conflict):
        release_entry(connection, flood, actor="user:lead1", now=utcnow())
    assert cases(engine) == {}


@pytest.mark.parametrize("how", ["scan", "items"])
def test_an_untrusted_exchange_entry_opens_no_case_on_its_own(
    engine: Engine, settings: Settings, tmp_path: Path, how: str
) -> None:
    shared = exchange_bank(engine, "shared", STATEMENT, text_threshold=0.6)
    with engine.begin() as connection:
        run.set_trust(connection, "partner", trusted=False, actor="user:lead1", now=utcnow())
        # Only the very text: the near-copies of the statement all match the shared entry.
        banks.create_bank(
            connection,
            "local",
            actor="t",
            now=utcnow(),
            text_threshold=1.0,
            containment_threshold=1.0,
            confirmed=False,
        )
        banks.add_text(connection, "local", CHOIR, actor="t", now=utcnow())
    ingest_jsonl(
        engine,
        settings,
        tmp_path,
        "c",
        [
            {"id": "a1", "text": f"{STATEMENT} Posted by the library garden club."},
            {"id": "a2", "text": CHOIR},
        ],
    )
    process(how, engine, settings, None)
    found = cases(engine)
    # a1 matched only the untrusted entry: kept, no case. a2 also matched a local entry,
    # which opened its case; the untrusted match is beside it.
    assert set(found) == {"a2"}, found
    assert "bank local" in found["a2"][5]
    assert len(matches_of(engine, shared)) == 2
    # The reviewer of a2 sees the untrusted entry's match beside the local one, and why it
    # opened nothing.
    with engine.begin() as connection:
        reviewer = add_user(connection, "rev1", "reviewer", "correct horse battery staple", "t")
        case_id = connection.scalar(
            select(Case.id).join(Item, Item.id == Case.item_id).where(Item.external_id == "a2")
        )
        evidence = case_file(connection, reviewer, int(case_id or 0), utcnow()).evidence
    said = {block["bank"]: block["protection"] for block in evidence}
    assert said["local"] == []
    assert said["shared"] == ["from an untrusted exchange: supporting signal, opens no case alone"]
    with engine.connect() as connection:
        info = run.get_exchange(connection, "partner")
    assert info.trusted is False


def test_an_exchange_threshold_tightens_the_banks(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    picture = photo("astronaut")
    picture.save(folder / "original.png")
    picture.resize((picture.width // 2, picture.height // 2)).save(folder / "smaller.png")
    store = FolderStore(settings.data_dir)
    hashed = banks.hash_media(store, folder / "original.png")
    pdq = hashed.hashes["pdq"][0].value
    with engine.begin() as connection:
        banks.create_bank(connection, "shared", actor="t", now=utcnow())
        subscribe(connection, "partner", "shared")
        run.apply_batch(
            connection,
            "partner",
            Batch("1", added=[SharedEntry("7", {"pdq": [pdq]})]),
            utcnow(),
            expected=None,
        )
        run.set_trust(connection, "partner", pdq_threshold=0, actor="user:lead1", now=utcnow())
    ingest_jsonl(
        engine,
        settings,
        folder,
        "c",
        [{"id": "a1", "media": ["original.png"]}, {"id": "a2", "media": ["smaller.png"]}],
    )
    process("items", engine, settings, None)
    with engine.connect() as connection:
        distances = sorted(connection.scalars(select(Match.distance)))
    # The original matches at distance 0; the smaller copy, within the bank's 31 but not the
    # exchange's 0, is no match.
    assert distances == [0]
    assert set(cases(engine)) == {"a1"}


# --- Two workers at once: no ordering lets a flood entry open more than its limit ------------


def _worker(
    engine: Engine,
    contents: list[str],
    match: BankMatch,
    stored: threading.Barrier,
    outcome: list[int],
) -> None:
    """What the text stage does for a chunk: store the matches, screen them, open cases; the
    barrier makes both workers hold uncommitted matches before either screens."""
    now = utcnow()
    with engine.begin() as connection:
        ids = record_matches(connection, [(match, None, sha) for sha in contents], now)
        stored.wait(timeout=30)
        found = [
            protect.Found(None, sha, match, match_id, new=True)
            for sha, match_id in zip(contents, ids, strict=True)
            if match_id is not None
        ]
        why = protect.screen(connection, found, now)
        reasons = {
            str(one.text_sha256): text_match_reason(one.match)
            for one, reason in zip(found, why, strict=True)
            if reason is None
        }
        opened, _ = open_text_cases(connection, reasons, now)
    outcome.append(opened)


@only_on("postgresql")
def test_no_interleaving_of_two_workers_lets_a_flood_entry_past_its_limit(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    limit = 3
    splits = list(itertools.product(range(1, limit + 2), repeat=2))
    texts = [copy(n) for n in range(len(splits) * 2 * (limit + 1))]
    ingest_jsonl(
        engine, settings, tmp_path, "c", [{"id": f"t{n}", "text": t} for n, t in enumerate(texts)]
    )
    with engine.connect() as connection:
        shas = list(connection.scalars(select(Item.text_sha256).order_by(Item.id)))
    unused = iter(shas)
    for round_number, (a, b) in enumerate(splits):
        with engine.begin() as connection:
            banks.create_bank(
                connection,
                f"round{round_number}",
                actor="t",
                now=utcnow(),
                flood_items=limit,
                confirmed=False,
            )
            added = banks.add_text(
                connection, f"round{round_number}", STATEMENT, actor="t", now=utcnow()
            )
        match = BankMatch(
            f"round{round_number}", 0, added.id, TextMinHashSignal.name, 0.1, confirmed=False
        )
        first = [next(unused) for _ in range(a)]
        second = [next(unused) for _ in range(b)]
        barrier = threading.Barrier(2)
        outcome: list[int] = []
        workers = [
            threading.Thread(target=_worker, args=(engine, part, match, barrier, outcome))
            for part in (first, second)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert len(outcome) == 2, f"a worker failed in round {a}+{b}"
        with engine.connect() as connection:
            opened = connection.scalar(
                select(func.count())
                .select_from(Case)
                .join(Item, Item.id == Case.item_id)
                .where(Item.text_sha256.in_(first + second))
            )
        assert opened == sum(outcome) <= limit, (a, b)
        held = entry(engine, added.id).held_at is not None
        assert held == (a + b > limit), (a, b)
        if a + b <= limit:
            assert opened == a + b


def test_the_alert_names_the_held_entry_once_per_hold(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with engine.begin() as connection:
        banks.create_bank(
            connection, "statements", actor="t", now=utcnow(), text_threshold=0.6, flood_items=1
        )
        flood = banks.add_text(connection, "statements", STATEMENT, actor="t", now=utcnow()).id
    media = FolderStore(settings.data_dir)
    for round_number in range(2):
        ingest_jsonl(
            engine,
            settings,
            tmp_path,
            f"r{round_number}",
            [
                {"id": f"r{round_number}-{n}", "text": copy(100 * round_number + n)}
                for n in range(2)
            ],
        )
        process("items", engine, settings, None)
        assert entry(engine, flood).held_at is not None
        alerts = scheduler.tick(engine, media, utcnow() + timedelta(seconds=round_number)).alerts
        assert len([a for a in alerts if f"entry {flood} is held" in a]) == 1
        with engine.begin() as connection:
            release_entry(connection, flood, actor="user:lead1", now=utcnow())


def test_a_lead_sees_a_held_entry_in_the_console_and_releases_it(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with engine.begin() as connection:
        banks.create_bank(
            connection, "statements", actor="t", now=utcnow(), text_threshold=0.6, flood_items=1
        )
        flood = banks.add_text(connection, "statements", STATEMENT, actor="t", now=utcnow()).id
        for name, role in (("rev1", "reviewer"), ("lead1", "lead")):
            add_user(connection, name, role, "correct horse battery staple", "test")
    ingest_jsonl(
        engine, settings, tmp_path, "c", [{"id": f"a{n}", "text": copy(n)} for n in range(2)]
    )
    process("items", engine, settings, None)
    assert cases(engine) == {}

    client = TestClient(create_app(settings), follow_redirects=False)
    csrf = sign_in(client, "rev1")
    page = client.get("/banks/statements")
    assert "Held by flood quarantine" in page.text and f"Release #{flood}" not in page.text
    refused = client.post(f"/banks/statements/entries/{flood}/release", data={"csrf": csrf})
    assert refused.status_code == 403 and cases(engine) == {}

    lead = TestClient(create_app(settings), follow_redirects=False)
    csrf = sign_in(lead, "lead1")
    assert f"Release #{flood}" in lead.get("/banks/statements").text
    done = lead.post(f"/banks/statements/entries/{flood}/release", data={"csrf": csrf})
    assert done.status_code == 303
    assert set(cases(engine)) == {"a0", "a1"}
    assert "Held by flood quarantine" not in lead.get("/banks/statements").text


# --- Any order of matching, re-uploads, releases and time: never more than the limit ----------

LIMIT, WINDOW = 3, 10  # contents, minutes
Step = tuple[str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("match"), st.integers(1, 3)),  # a worker matches n new contents
        st.tuples(st.just("reupload"), st.just(0)),  # known content routed again
        st.tuples(st.just("release"), st.just(0)),  # a lead releases the entry if held
        st.tuples(st.just("wait"), st.sampled_from([1, 6, 11])),  # minutes pass
    ),
    max_size=10,
)
POOL = 10 * 3 * 20  # contents the examples may use, at most 3 per step


@pytest.fixture
def pool(engine: Engine, settings: Settings, tmp_path: Path) -> list[str]:
    """Distinct near-copies of the statement, one item each: what the examples match."""
    ingest_jsonl(
        engine, settings, tmp_path, "pool", [{"id": f"p{n}", "text": copy(n)} for n in range(POOL)]
    )
    with engine.connect() as connection:
        return list(connection.scalars(select(Item.text_sha256).order_by(Item.id)))


def _opened(engine: Engine, shas: list[str]) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count())
                .select_from(Case)
                .join(Item, Item.id == Case.item_id)
                .where(Item.text_sha256.in_(shas))
            )
            or 0
        )


@only_on("sqlite")
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=steps)
def test_no_order_of_steps_lets_a_held_entry_open_a_case(
    engine: Engine, pool: list[str], script: list[Step]
) -> None:
    with engine.connect() as connection:
        taken = set(connection.scalars(select(Match.text_sha256)))
    unused = iter([sha for sha in pool if sha not in taken])
    start = utcnow()
    with engine.begin() as connection:
        bank = f"b{len(list(connection.scalars(select(Bank.id))))}"
        banks.create_bank(
            connection,
            bank,
            actor="t",
            now=start,
            flood_items=LIMIT,
            flood_minutes=WINDOW,
            confirmed=False,
        )
        added = banks.add_text(connection, bank, STATEMENT, actor="t", now=start).id
    match = BankMatch(bank, 0, added, TextMinHashSignal.name, 0.1, confirmed=False)
    now, used = start, []
    # Contents each open case opened for (time opened), since the last release.
    routed: list[tuple[Any, int]] = []
    for kind, value in script:
        held_before = entry(engine, added).held_at is not None
        cases_before = _opened(engine, used)
        if kind == "match":
            batch = [next(unused) for _ in range(value)]
            used += batch
            with engine.begin() as connection:
                ids = record_matches(connection, [(match, None, sha) for sha in batch], now)
                found = [
                    protect.Found(None, sha, match, i, new=True)
                    for sha, i in zip(batch, ids, strict=True)
                ]
                why = protect.screen(connection, found, now)
                reasons = {
                    str(f.text_sha256): text_match_reason(match)
                    for f, reason in zip(found, why, strict=True)
                    if reason is None
                }
                open_text_cases(connection, reasons, now)
        elif kind == "reupload":
            route_known_texts(engine, select(Item.id).where(Item.text_sha256.in_(used)), None)
        elif kind == "release" and held_before:
            with engine.begin() as connection:
                release_entry(connection, added, actor="user:lead1", now=now)
            routed = []  # the lead let them through: the count starts again
        else:
            now += timedelta(minutes=value)
            continue
        gained = _opened(engine, used) - cases_before
        if held_before and kind != "release":
            assert gained == 0, "a held entry opened a case"
        if kind == "match":
            routed.append((now, gained))
            recent = sum(n for at, n in routed if at > now - timedelta(minutes=WINDOW))
            assert recent <= LIMIT, "more contents opened cases in the window than the limit"


def test_the_cli_sets_negative_banks_flood_limits_trust_and_releases(
    engine: Engine, settings: Settings, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    assert cli("bank", "create", "benign", "--negative").code == 0
    listed = json.loads(cli("bank", "list", "--json").out)
    assert [(b["name"], b["negative"], b["confirmed"]) for b in listed] == [("benign", True, False)]
    refused = cli("bank", "set", "benign", "--confirmed")
    assert refused.code == 2 and "cannot be of confirmed content" in refused.err
    exchange_bank(engine, "shared", STATEMENT, text_threshold=0.6)
    said = cli("bank", "set", "shared", "--flood-items", "1", "--flood-minutes", "5")
    assert said.code == 0 and "held past 1 files or texts in 5 min" in said.out
    trust = cli("exchange", "trust", "partner", "--untrusted", "--pdq-threshold", "12")
    assert trust.code == 0 and "untrusted, PDQ threshold 12" in trust.out
    back = cli("exchange", "trust", "partner", "--trusted", "--bank-threshold")
    assert "trusted, PDQ threshold the bank's" in back.out

    ingest_jsonl(
        engine, settings, tmp_path, "c", [{"id": f"a{n}", "text": copy(n)} for n in range(2)]
    )
    process("items", engine, settings, None)
    held = json.loads(cli("bank", "held", "--json").out)
    assert [(h["bank"], h["matches"]) for h in held] == [("shared", 2)]
    released = cli("bank", "release", str(held[0]["entry_id"]))
    assert released.code == 0 and "2 cases opened" in released.out
    again = cli("bank", "release", str(held[0]["entry_id"]))
    assert again.code == 2 and "is not held" in again.err
    assert "No entry is held." in cli("bank", "held").out


def test_an_exchange_turns_on_flood_quarantine_for_the_bank_it_feeds(engine: Engine) -> None:
    """A bank of one's own has no flood limit (a storm of re-uploads of a known video is real and
    must open cases); a bank an exchange feeds gets one, unless its leads set their own."""
    with engine.begin() as connection:
        own = banks.create_bank(connection, "own", actor="t", now=utcnow())
        banks.create_bank(connection, "custom", actor="t", now=utcnow(), flood_items=5)
    assert own.flood_items == 0
    exchange_bank(engine, "shared", STATEMENT)
    with engine.begin() as connection:
        subscribe(connection, "other", "custom")
        limits = {
            name: (items, minutes)
            for name, items, minutes in connection.execute(
                select(Bank.name, Bank.flood_items, Bank.flood_minutes)
            )
        }
    assert limits == {
        "own": (0, 60),
        "shared": (run.SHARED_FLOOD_ITEMS, run.SHARED_FLOOD_MINUTES),
        "custom": (5, 60),
    }
