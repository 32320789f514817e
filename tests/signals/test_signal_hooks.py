"""One way to hash and one way to match: each signal type says how it is hashed, indexed and
matched, and the scan, bank uploads, the HMA API, the index store and the matcher ask it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import Engine

from redline import banks
from redline.banks.manage import hash_file
from redline.config import Settings
from redline.index.store import IndexStore
from redline.model.base import utcnow
from redline.pipeline.hashing import HashJob, hash_one
from redline.pipeline.match import Matcher
from redline.signals import (
    BANKABLE,
    BankLookup,
    BankMatch,
    Hash,
    Indexed,
    Query,
    SignalType,
    signal_type,
)
from redline.signals.pdq import PdqQuery, PdqSignal, hash_image
from redline.signals.vpdq import VpdqSignal
from redline.store.media import FolderStore
from tests.media_fixtures import generated

SRC = Path(__file__).resolve().parents[2] / "src" / "redline"
H1 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


class ReversedHexSignal(SignalType):
    """A test-only signal type: a PDQ hash written backwards, matching within distance 10."""

    name: ClassVar[str] = "test_reversed_hex"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    indexed: ClassVar[Indexed | None] = Indexed.WHOLE

    @classmethod
    def validate(cls, value: str) -> str:
        return PdqSignal.validate(value)

    @classmethod
    def compute(cls, path: Path) -> list[Hash]:
        return [Hash(PdqSignal.compute(path)[0].value[::-1])]

    @classmethod
    def match(
        cls, lookup: BankLookup, queries: Sequence[Query], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        bank_rules = lookup.banks()
        hits = lookup.near(cls.name, [q.value for q in queries], 10)
        entries = lookup.entries(h.signal_id for found in hits for h in found)
        results: list[list[BankMatch]] = []
        for found in hits:
            results.append([])
            for hit in found:
                entry = entries[hit.signal_id]
                bank = bank_rules[entry.bank_id]
                if bank.usable(entry.enabled, include_disabled_banks):
                    results[-1].append(
                        BankMatch(bank.name, bank.id, entry.entry_id, cls.name, hit.distance)
                    )
        return results


def flipped(value: str, bits: int) -> str:
    return format(int(value, 16) ^ ((1 << bits) - 1), "064x")


def test_a_new_signal_type_is_one_class_and_one_registry_entry(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(BANKABLE, ReversedHexSignal.name, ReversedHexSignal)
    assert signal_type(ReversedHexSignal.name) is ReversedHexSignal
    with engine.begin() as connection:
        banks.create_bank(connection, "b", actor="t", now=utcnow())
        entry = banks.add_entry(
            connection, "b", {ReversedHexSignal.name: H1}, actor="t", now=utcnow()
        )
    store = IndexStore(engine, settings.data_dir)
    matcher = Matcher(engine, store)
    near, far = ReversedHexSignal.query(flipped(H1, 4)), ReversedHexSignal.query(flipped(H1, 30))
    found = matcher.match(ReversedHexSignal, [near, far])
    assert [[(m.entry_id, m.signal_type, m.distance) for m in ms] for ms in found] == [
        [(entry.id, ReversedHexSignal.name, 4)],
        [],
    ]
    # Indexed, saved and kept current like the built-in types, with no change to the store.
    assert (settings.data_dir / "index" / ReversedHexSignal.name / "meta.json").exists()
    with engine.begin() as connection:
        banks.set_entry_enabled(connection, entry.id, False, actor="t", now=utcnow())
    assert matcher.match(ReversedHexSignal, [near]) == [[]]


# Comparing with a signal type's name, e.g. ``kind == "pdq"`` or ``name in {"md5", ...}``.
_NAMES = "|".join(re.escape(name) for name in sorted(BANKABLE, key=len, reverse=True))
_BRANCH = re.compile(
    rf"""(==|!=|\bin\b)\s*[(\[{{]?\s*["']({_NAMES})["']|["']({_NAMES})["']\s*(==|!=|\bin\b)"""
)
ALLOWED: set[str] = set()  # modules outside signals/ allowed to branch on a type's name


def test_no_module_outside_signals_branches_on_a_signal_type_name() -> None:
    branching = {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "signals" not in path.relative_to(SRC).parts[:1]
        and "migrations" not in path.parts
        and _BRANCH.search(path.read_text(encoding="utf-8"))
    }
    assert branching <= ALLOWED, "ask the signal type (redline.signals.base) instead"
    assert _BRANCH.search('if kind == "pdq":') and _BRANCH.search('in ("md5", "video_md5")')


def test_scan_bank_upload_and_hma_hash_a_photo_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    generated(5).save(path)
    scanned = hash_one(HashJob("0" * 64, "image", path.name, FolderStore(tmp_path)))
    assert scanned.error is None
    ((kind, query),) = scanned.signals
    assert kind == PdqSignal.name and isinstance(query, PdqQuery)
    assert query == hash_image(path) == hash_image(path, full_size=True)  # PNG: never drafted
    assert len(query.rotations) == 7
    banked = hash_file(path, "image")[PdqSignal.name]
    assert banked == [Hash(query.value, query.quality)]


def test_a_query_survives_the_store() -> None:
    query = PdqQuery(H1, 80, tuple(flipped(H1, n) for n in range(1, 8)), flipped(H1, 9))
    meta = query.stored_meta()
    assert meta == {"dihedral": list(query.rotations), "trimmed": query.trimmed}
    assert PdqSignal.query(query.value, query.quality, meta) == query
    assert PdqSignal.query(H1) == PdqQuery(H1)  # sent as text: nothing beside the hash
    video = VpdqSignal.query("[]", 90, {"frames": 3, "matchable": 2})
    assert VpdqSignal.query(video.value, video.quality, video.stored_meta()) == video
