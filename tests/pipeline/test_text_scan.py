"""The text stages of ``redline scan``: outlinks stored and listed, texts scored once per model,
flagged texts routed to cases, text banks matching edited re-posts; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from redline import banks
from redline.classify.model import TextModel
from redline.config import Settings
from redline.index.store import IndexStore
from redline.model import Case, Item, Score, TextBody
from redline.model.base import utcnow
from redline.pipeline.scan import ScanSummary, scan
from tests.conftest import CliResult
from tests.helpers import only_on, run_ingest
from tests.text_model import EmbeddingTrained

STATEMENT = (
    "This is a long generic statement used as known text in a bank, written for the tests: "
    "the committee met on Tuesday, reviewed the harvest figures for the northern valleys, "
    "thanked the volunteers who repaired the old bridge, and agreed to meet again in spring."
)


def posts() -> list[dict[str, object]]:
    edited = STATEMENT.replace("Tuesday", "Wednesday").replace("old bridge", "old  bridge!")
    return [
        {
            "id": "p1",
            "account": "a1",
            "time": "2015-06-01T10:00:00Z",
            "text": "zorblat release 4 is out, spread it far https://justpaste.it/abc?utm_source=x",
        },
        {
            "id": "p2",
            "account": "a2",
            "time": "2015-06-03T09:00:00Z",
            "text": "zorblat release 4 is out, spread it far https://justpaste.it/abc?utm_source=x",
        },
        {
            "id": "p3",
            "account": "a3",
            "time": "2015-06-02T08:00:00Z",
            "text": "lunch with friends, photos at https://WWW.Example.org/lunch/ and t.me/joinchat/AbC",
        },
        {"id": "p4", "account": "a4", "time": "2015-06-04T08:00:00Z", "text": edited},
        {
            "id": "p5",
            "account": "a5",
            "time": "2015-06-05T08:00:00Z",
            "text": "the football match was great tonight",
        },
    ]


def ingest_posts(engine: Engine, settings: Settings, tmp_path: Path, name: str = "feed") -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in posts()), encoding="utf-8")
    summary = run_ingest(path, name, engine, settings)
    assert summary.stored == 5


def run_scan(engine: Engine, settings: Settings, model: TextModel, **kwargs: object) -> ScanSummary:
    return scan(
        engine,
        settings,
        IndexStore(engine, settings.data_dir),
        actor="test",
        text_model=model,
        **kwargs,
    )  # type: ignore[arg-type]


def cases_by_item(engine: Engine) -> dict[str, tuple[int, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Item.external_id, Case.priority, Case.reason).join(Case, Case.item_id == Item.id)
        )
        return {external: (priority, reason) for external, priority, reason in rows}


def test_scan_scores_texts_once_and_routes_flagged_ones(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    ingest_posts(engine, settings, tmp_path)
    summary = run_scan(engine, settings, tiny_model)
    assert summary.text.texts_in_scope == 4  # p1 and p2 share one text
    assert summary.text.texts_scored == 4
    assert summary.text.texts_flagged == 1
    cases = cases_by_item(engine)
    assert set(cases) == {"p1", "p2"}  # every item posting the flagged text
    priority, reason = cases["p1"]
    assert 40 <= priority < 100  # below any confirmed bank match
    assert "official_media_distribution" in reason
    with engine.connect() as connection:
        stored = connection.execute(select(Score.model, Score.flagged, Score.explanation)).all()
    assert len(stored) == 4 and {m for m, _, _ in stored} == {tiny_model.version}
    assert any(flagged and explanation for _, flagged, explanation in stored)

    again = run_scan(engine, settings, tiny_model)
    assert (
        again.text.texts_scored,
        again.text.outlinks_found,
        again.as_dict()["cases_opened"],
    ) == (0, 0, 0)


def test_a_new_model_rescores_everything_once(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    ingest_posts(engine, settings, tmp_path)
    run_scan(engine, settings, tiny_model)
    version = tiny_model.meta["version"]  # the session's model: put back what was there
    tiny_model.meta["version"] = "tiny-next"
    try:
        second = run_scan(engine, settings, tiny_model)
    finally:
        tiny_model.meta["version"] = version
    assert second.text.texts_scored == 4
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Score)) == 8  # both kept


def test_scan_without_the_classifier(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    ingest_posts(engine, settings, tmp_path)
    summary = scan(
        engine, settings, IndexStore(engine, settings.data_dir), actor="test", score_texts=False
    )
    assert summary.text.texts_scored == 0 and summary.text.outlinks_found == 3
    assert cases_by_item(engine) == {}


def test_text_banks_match_edited_reposts(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    tiny_model: TextModel,
    cli: Callable[..., CliResult],
) -> None:
    ingest_posts(engine, settings, tmp_path)
    run_scan(engine, settings, tiny_model)
    with engine.begin() as connection:
        banks.create_bank(connection, "known-texts", actor="test", text_threshold=0.6, now=utcnow())
    with engine.begin() as connection:
        entry = banks.add_text(
            connection, "known-texts", STATEMENT, actor="test", category="statement", now=utcnow()
        )
    found = run_scan(engine, settings, tiny_model)
    assert found.text.text_matches == 1
    assert found.text.texts_scored == 0  # the model did not change
    priority, reason = cases_by_item(engine)["p4"]
    assert priority == 100 and "known-texts" in reason  # a confirmed bank ranks first

    listed = json.loads(cli("matches", "--json").out)
    (match,) = [m for m in listed if m["signal_type"] == "text_minhash"]
    assert match["item"]["external_id"] == "p4" and match["entry_id"] == entry.id
    assert match["media_sha256"] is None and match["text_sha256"]
    assert 0.6 <= match["detail"]["jaccard"] < 1.0

    # A stricter bank no longer matches the edited copy on the next bank change: its whole
    # text is below the Jaccard threshold, and with a changed word it is not all banked text
    # (containment 1.0; at 0.8 the copy, 96% banked text, would match as containing it).
    with engine.begin() as connection:
        banks.update_bank(
            connection,
            "known-texts",
            {"text_threshold": 0.97, "containment_threshold": 1.0},
            actor="test",
            now=utcnow(),
        )
    assert run_scan(engine, settings, tiny_model).text.text_matches == 0


def test_bank_add_text_on_the_command_line(
    settings: Settings, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    assert cli("bank", "create", "texts", "--text-threshold", "0.7").code == 0
    statement = tmp_path / "statement.txt"
    statement.write_text(STATEMENT, encoding="utf-8")
    added = cli(
        "bank",
        "add",
        "texts",
        "--text-file",
        str(statement),
        "--text",
        "another known text of some length, with enough words to shingle",
        "--json",
    )
    assert added.code == 0, added.err
    entries = json.loads(added.out)["added"]
    assert len(entries) == 2 and all("text_minhash" in e["signals"] for e in entries)
    exported = cli("bank", "export", "texts", "--format", "csv").out
    assert exported.count("text_minhash,mh1:") == 2
    # Round trip: another bank imports the export and holds the same signatures.
    (tmp_path / "export.csv").write_text(exported, encoding="utf-8")
    assert cli("bank", "create", "copy").code == 0
    imported = json.loads(cli("bank", "import", "copy", str(tmp_path / "export.csv"), "--json").out)
    assert imported["added"] == 2
    empty = cli("bank", "add", "texts", "--text", "🙂 🙂")
    assert empty.code == 2 and len(empty.err.strip().splitlines()) == 1
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9")
    assert "not UTF-8" in cli("bank", "add", "texts", "--text-file", str(bad)).err


def test_outlinks_are_listed_with_counts_and_dates(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    tiny_model: TextModel,
    cli: Callable[..., CliResult],
) -> None:
    ingest_posts(engine, settings, tmp_path)
    urls = tmp_path / "urls.txt"
    urls.write_text("https://justpaste.it/abc\nhttps://www.mediafire.com/file/xyz\n")
    run_ingest(urls, "referrals", engine, settings)
    run_scan(engine, settings, tiny_model)
    rows = json.loads(cli("outlinks", "--json").out)
    by_url = {r["url"]: r for r in rows}
    paste = by_url["https://justpaste.it/abc"]
    assert paste["count"] == 3  # two posts (tracking parameter dropped) and the URL list
    assert paste["host_class"] == "paste" and paste["sources"] == ["feed", "referrals"]
    assert paste["first_seen"].startswith("2015-06-01") and paste["first_seen"] < paste["last_seen"]
    assert by_url["https://t.me/joinchat/AbC"]["host_class"] == "messaging_invite"
    assert by_url["https://www.example.org/lunch/"]["count"] == 1
    assert rows[0]["url"] == "https://justpaste.it/abc"  # most posted first

    only = json.loads(cli("outlinks", "--json", "--host-class", "file_sharing").out)
    assert [r["url"] for r in only] == ["https://www.mediafire.com/file/xyz"]
    feed_only = json.loads(cli("outlinks", "--json", "--source", "feed").out)
    assert {r["url"] for r in feed_only} == set(by_url) - {"https://www.mediafire.com/file/xyz"}
    wrong = cli("outlinks", "--host-class", "torrents")
    assert wrong.code == 2 and "file_sharing" in wrong.err


@only_on("sqlite")  # the stage's choice of scores; the database only stores them
def test_scan_runs_the_embedding_stage_as_asked(
    engine: Engine, settings: Settings, tmp_path: Path, embedding_trained: EmbeddingTrained
) -> None:
    model = embedding_trained.load()
    assert model.second is not None
    stage, calibration, threshold = model.second
    # Every text in the band, so that the two runs differ wherever the stage runs at all.
    model.second = (replace(stage, low=-np.inf, high=np.inf), calibration, threshold)
    model.meta["embedding_default"] = True
    ingest_posts(engine, settings, tmp_path)
    texts = sorted({str(p["text"]) for p in posts()})
    with_stage = dict(zip(texts, (p.score for p in model.predict(texts)), strict=True))
    without = dict(
        zip(texts, (p.score for p in model.predict(texts, embeddings=False)), strict=True)
    )
    assert with_stage != without

    def stored(version: str) -> dict[str, float]:
        with engine.connect() as connection:
            rows = connection.execute(
                select(TextBody.body, Score.score)
                .join(Score, Score.text_sha256 == TextBody.sha256)
                .where(Score.model == version)
            )
            return {body: score for body, score in rows}

    # A fast scan without the stage first: its scores say so, and do not count as the
    # default's, so the next (default) scan scores every text again, with the stage.
    run_scan(engine, settings, model, embeddings=False)
    fast = f"{model.version}/first"
    assert stored(fast) == pytest.approx(without)
    assert stored(model.version) == {}
    run_scan(engine, settings, model)
    assert stored(model.version) == pytest.approx(with_stage)
    assert stored(fast) == pytest.approx(without)  # nothing accepted is lost
    with engine.connect() as connection:
        reasons = connection.execute(select(Case.reason)).scalars().all()
    assert any(r.startswith(f"classifier {fast}:") for r in reasons)


def test_text_banks_match_an_excerpt_by_containment(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    from redline.model import Match
    from tests.signals.test_excerpt import STATEMENT as KNOWN
    from tests.signals.test_excerpt import middle_half

    quoted, start, end = middle_half()
    shouted = f"READ THIS: {quoted.upper().replace(',', '')} share it"
    texts = {
        "x1": shouted,  # the middle half of the banked text, shouted, with a comment
        "x2": KNOWN,  # the whole text: a Jaccard match, as before
        "x3": "Lovely evening in the old library, the repair fund had grown after the autumn"
        " fair and the benches look new.",  # a phrase of it in a post of its own
    }
    path = tmp_path / "quotes.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": key, "account": key, "time": "2015-06-01T10:00:00Z", "text": text})
            + "\n"
            for key, text in texts.items()
        ),
        encoding="utf-8",
    )
    run_ingest(path, "quotes", engine, settings)
    with engine.begin() as connection:
        banks.create_bank(connection, "statements", actor="test", now=utcnow())
        entry = banks.add_text(connection, "statements", KNOWN, actor="test", now=utcnow())
    found = run_scan(engine, settings, tiny_model, score_texts=False)
    assert found.text.text_matches == 2
    with engine.connect() as connection:
        rows = connection.execute(
            select(Item.external_id, Match.signal_type, Match.bank_entry_id, Match.detail)
            .join(Match, Match.text_sha256 == Item.text_sha256)
            .order_by(Item.external_id)
        ).all()
    assert [(r.external_id, r.signal_type) for r in rows] == [
        ("x1", "text_excerpt"),
        ("x2", "text_minhash"),  # containment adds nothing to a whole-text match
    ]
    detail = rows[0].detail
    assert rows[0].bank_entry_id == entry.id
    assert detail["post_containment"] == round(100 / 104, 4)  # 4 words of its own
    assert detail["known_containment"] == 0.5 and detail["matched_words"] == 100
    span = detail["span"]
    assert span["banked"] == [start, end]
    assert shouted[span["post"][0] : span["post"][1]] == quoted.upper().replace(",", "")
    priority, reason = cases_by_item(engine)["x1"]
    assert priority == 100  # a confirmed bank's match ranks first
    # The case says a text was quoted, with its containment (not a Jaccard it does not have).
    assert reason == f"text quotes bank statements entry {entry.id} (containment {100 / 104:.2f})"


def test_pending_texts_lists_per_stage_what_is_not_done_at_its_version(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look-up every text call starts with, across its chunks (3 texts a chunk here): a
    stage done at another version is to do again, a stage done at its own is not, a text two
    items share is listed once, a text every stage has done is counted but not read."""
    from redline.pipeline import text_scan
    from redline.pipeline.scan import items_in_scope

    monkeypatch.setattr(text_scan, "BATCH", 3)
    ingest_posts(engine, settings, tmp_path)
    with engine.connect() as connection:
        bodies = dict(connection.execute(select(TextBody.sha256, TextBody.body)).tuples().all())
    shas = sorted(bodies)
    assert len(shas) == 4  # p1 and p2 share one text
    now = utcnow()
    with engine.begin() as connection:
        # Text 0: both stages done at their versions. Text 1: outlinks done, keys at an old
        # version. Text 2: keys done only. Text 3: nothing done.
        for sha, stage, version in [
            (shas[0], text_scan.OUTLINKS, "o-2"),
            (shas[0], text_scan.TEXT_KEY, "k-2"),
            (shas[1], text_scan.OUTLINKS, "o-2"),
            (shas[1], text_scan.TEXT_KEY, "k-1"),
            (shas[2], text_scan.TEXT_KEY, "k-2"),
            (shas[3], text_scan.CLASSIFIER, "k-2"),  # another stage's row, same version text
        ]:
            text_scan._mark(connection, [sha], stage, version, now)
    versions = {text_scan.OUTLINKS: "o-2", text_scan.TEXT_KEY: "k-2"}
    with engine.connect() as connection:
        pending = text_scan.pending_texts(
            connection, text_scan.texts_in_scope(items_in_scope(None, None)), versions
        )
    assert pending.texts == 4
    assert pending.by_stage == {
        text_scan.OUTLINKS: [(shas[2], bodies[shas[2]]), (shas[3], bodies[shas[3]])],
        text_scan.TEXT_KEY: [(shas[1], bodies[shas[1]]), (shas[3], bodies[shas[3]])],
    }
