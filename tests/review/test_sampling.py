"""Labelling samples: unflagged texts put in front of reviewers as low-priority `sample` cases,
mostly the highest-scoring ones and partly at random, never twice, and their decisions become
training examples. On SQLite and PostgreSQL, with the tiny synthetic model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from redline.classify.data import decisions
from redline.classify.model import TextModel
from redline.config import Settings
from redline.errors import Conflict
from redline.index.store import IndexStore
from redline.model import AuditEvent, Case, Item, Score
from redline.model.base import utcnow
from redline.pipeline.scan import scan
from redline.review.accounts import add_user
from redline.review.decisions import Verdict, decide
from redline.review.queue import QueueFilter, list_queue
from redline.review.sampling import SAMPLE_PRIORITY, open_labelling_sample
from tests.conftest import CliResult
from tests.helpers import run_ingest

PASSWORD = "correct horse battery staple"
CHATTER = (
    "lunch with friends at the market number {i}",
    "the football match {i} was great",
    "rain again in the city, day {i}",
    "zorblat club news and releases, issue {i}",
)


def ingest_and_score(engine: Engine, settings: Settings, tmp_path: Path, model: TextModel) -> None:
    posts = [
        {
            "id": f"c{i}-{t}",
            "account": f"a{i % 7}",
            "time": f"2015-06-{1 + i:02d}T10:00:00Z",
            "text": template.format(i=i),
        }
        for i in range(12)
        for t, template in enumerate(CHATTER)
    ]
    posts += [
        {
            "id": f"f{i}",
            "account": "b1",
            "time": "2015-06-20T10:00:00Z",
            "text": f"zorblat release {i} is out, spread it far",
        }
        for i in range(4)
    ]
    # A re-post of a chatter text: one text, two items.
    posts.append(
        {
            "id": "again",
            "account": "z9",
            "time": "2015-06-30T10:00:00Z",
            "text": CHATTER[0].format(i=5),
        }
    )
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")
    run_ingest(path, "feed", engine, settings)
    scan(engine, settings, IndexStore(engine, settings.data_dir), actor="test", text_model=model)


def sample_cases(engine: Engine) -> dict[str, tuple[int, str, str, float]]:
    """text -> (case id, reason, item external id, score) for every sample case."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Item.text_sha256, Case.id, Case.reason, Item.external_id, Case.priority)
            .join(Case, Case.item_id == Item.id)
            .where(Case.signal == "sample")
        ).all()
        scores = dict(connection.execute(select(Score.text_sha256, Score.score)).all())
    assert {r.priority for r in rows} <= {SAMPLE_PRIORITY}
    return {r.text_sha256: (r.id, r.reason, r.external_id, scores[r.text_sha256]) for r in rows}


def test_sample_takes_the_top_unflagged_scores_and_some_at_random(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    ingest_and_score(engine, settings, tmp_path, tiny_model)
    with engine.connect() as connection:
        unflagged = dict(
            connection.execute(
                select(Score.text_sha256, Score.score).where(Score.flagged.is_(False))
            ).all()
        )
        flagged_cases = connection.scalar(select(Case.id).where(Case.signal == "classifier"))
    assert len(unflagged) >= 30 and flagged_cases is not None  # the tiny model flags releases

    with engine.begin() as connection:
        first = open_labelling_sample(connection, 8, "test", utcnow(), model=tiny_model.version)

    assert (first.candidates, first.near, first.random, first.opened) == (len(unflagged), 6, 2, 8)
    chosen = sample_cases(engine)
    assert len(chosen) == 8 and set(chosen) <= set(unflagged)  # never a flagged text
    top = sorted(unflagged.values(), reverse=True)[:6]
    near = sorted((s for _, reason, _, s in chosen.values() if "highest" in reason), reverse=True)
    assert near == top
    assert sum("drawn at random" in reason for _, reason, _, _ in chosen.values()) == 2
    assert all(f"score {s:.2f}" in reason for _, reason, _, s in chosen.values())

    # A second sample goes on to other texts, and a text posted twice gets one case at most.
    with engine.begin() as connection:
        second = open_labelling_sample(connection, 100, "test", utcnow(), model=tiny_model.version)
    rest = len(unflagged) - 8
    assert (second.candidates, second.opened) == (rest, rest)
    assert set(sample_cases(engine)) == set(unflagged)
    with engine.connect() as connection:
        cases_per_text = connection.execute(
            select(Item.text_sha256, Case.id)
            .join(Case, Case.item_id == Item.id)
            .where(Case.signal == "sample")
        ).all()
        events = connection.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "model.sample")
        ).all()
    assert len(cases_per_text) == len({sha for sha, _ in cases_per_text})
    assert [e["opened"] for e in events] == [8, rest]
    with engine.begin() as connection, pytest.raises(Conflict, match="no unflagged text"):
        open_labelling_sample(connection, 5, "test", utcnow(), model=tiny_model.version)


def test_sample_cases_are_queued_apart_and_their_decisions_become_examples(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    ingest_and_score(engine, settings, tmp_path, tiny_model)
    now = utcnow()
    with engine.begin() as connection:
        open_labelling_sample(connection, 4, "test", now, model=tiny_model.version)
        reviewer = add_user(connection, "rev1", "reviewer", PASSWORD, "test")
        queued = list_queue(connection, reviewer, QueueFilter(signal="sample"), now)
        flags = list_queue(connection, reviewer, QueueFilter(signal="classifier"), now)
    assert len(queued) == 4 and all(row.priority == SAMPLE_PRIORITY for row in queued)
    assert flags and all(f.priority > SAMPLE_PRIORITY for f in flags)  # flags come first
    case_id, _reason, _external, _score = next(iter(sample_cases(engine).values()))
    with engine.begin() as connection:
        decide(connection, reviewer, case_id, Verdict("not_violating", reason="not_tvec"), now)
    examples = decisions(engine)
    assert len(examples) == 1 and examples[0].label == 0 and examples[0].source == "review"


def test_model_sample_on_the_command_line(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    tiny_model: TextModel,
    tiny_model_path: Path,
    cli: Callable[..., CliResult],
) -> None:
    empty = cli("model", "sample", "--model", str(tiny_model_path))
    assert empty.code == 2 and "run `redline scan` first" in empty.err
    assert len(empty.err.strip().splitlines()) == 1
    ingest_and_score(engine, settings, tmp_path, tiny_model)
    with engine.connect() as connection:
        unflagged = len(connection.scalars(select(Score.id).where(Score.flagged.is_(False))).all())
    done = cli("model", "sample", "--size", "5", "--model", str(tiny_model_path), "--json")
    assert done.code == 0, done.err
    assert json.loads(done.out) == {
        "model": tiny_model.version,
        "candidates": unflagged,
        "near": 4,
        "random": 1,
        "opened": 5,
    }
    assert cli("model", "sample", "--size", "0").code == 2
    text = cli("model", "sample", "--size", "2", "--model", str(tiny_model_path))
    assert text.code == 0 and "Opened 2 sample cases" in text.out


def test_leads_open_samples_in_the_console_and_the_api(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from redline.review.tokens import create_token
    from redline.web.app import create_app
    from tests.web.test_console import sign_in

    # Scores under the shipped model's name, which the console and the API sample from.
    model = TextModel.load(tiny_model_path)
    model.meta["version"] = TextModel.shipped_version()
    with engine.begin() as connection:
        for name, role in (("lead1", "lead"), ("rev1", "reviewer")):
            add_user(connection, name, role, PASSWORD, "test")
    app = create_app(settings)
    lead, reviewer = (TestClient(app, follow_redirects=False) for _ in range(2))
    csrf = sign_in(lead, "lead1", PASSWORD)
    assert 'id="sample-form"' in lead.get("/queue").text
    assert lead.post("/queue/sample", data={"csrf": csrf, "size": "3"}).status_code == 409
    ingest_and_score(engine, settings, tmp_path, model)

    opened = lead.post("/queue/sample", data={"csrf": csrf, "size": "3"})
    assert opened.status_code == 303 and opened.headers["location"] == "/queue?signal=sample"
    assert len(sample_cases(engine)) == 3
    listed = lead.get("/queue?signal=sample").text
    assert '<option value="sample" selected>' in listed  # the filter offers it, and keeps it
    assert listed.count('class="case-link"') == 3 and "labelling sample" in listed
    assert lead.post("/queue/sample", data={"csrf": "forged", "size": "3"}).status_code == 403
    too_big = lead.post("/queue/sample", data={"csrf": csrf, "size": "5000"})
    assert too_big.status_code == 422
    rev_csrf = sign_in(reviewer, "rev1", PASSWORD)
    assert 'id="sample-form"' not in reviewer.get("/queue").text
    assert reviewer.post("/queue/sample", data={"csrf": rev_csrf, "size": "3"}).status_code == 403

    with engine.begin() as connection:
        lead_token = create_token(connection, "lead1", "ci", ["cases:write"], "test")
        rev_token = create_token(connection, "rev1", "ci", ["cases:write"], "test")
    api = TestClient(app)
    made = api.post(
        "/api/v1/samples", json={"size": 4}, headers={"Authorization": f"Bearer {lead_token}"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["opened"] == 4 and made.json()["model"] == TextModel.shipped_version()
    assert len(sample_cases(engine)) == 7
    refused = api.post(
        "/api/v1/samples", json={"size": 4}, headers={"Authorization": f"Bearer {rev_token}"}
    )
    assert refused.status_code == 403
    bad = api.post(
        "/api/v1/samples", json={"size": 0}, headers={"Authorization": f"Bearer {lead_token}"}
    )
    assert bad.status_code == 422
