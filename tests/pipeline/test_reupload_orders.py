"""Whatever the order in which items sharing content arrive and are processed (``redline scan``,
or single stages on some of them, as workers take them), every item whose content is matched
or flagged ends with exactly one case, at the priority of its strongest reason, told to the
platform once; and running everything again changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select

from redline import banks
from redline.classify.model import TextModel
from redline.config import Settings
from redline.model import (
    Bank,
    BankEntry,
    BankSignal,
    Case,
    Item,
    ItemMedia,
    Match,
    Media,
    Quarantine,
    Score,
    Signal,
    Source,
    TextBody,
    TextScan,
    WebhookDelivery,
    WebhookSubscription,
)
from redline.model.base import utcnow
from redline.pipeline import work
from redline.review.rules import (
    PRIORITY_CONFIRMED_MATCH,
    PRIORITY_MEDIA_MATCH,
    PRIORITY_TEXT_MATCH,
    classifier_priority,
)
from redline.tasks.work import submit
from tests.helpers import run_ingest
from tests.pipeline.test_reupload import CHATTER, FLAGGED, process, site, state, subscribe
from tests.pipeline.test_text_scan import STATEMENT

# Content of the items: media known to the platform by their MD5 (a confirmed bank's, another
# bank's, none), and texts (flagged by the classifier, in a text bank, neither).
MEDIA = ("confirmed", "suspect", "unknown")
TEXTS = (None, FLAGGED, STATEMENT, CHATTER)
EMPTIED = (  # children first
    WebhookDelivery,
    WebhookSubscription,
    Case,
    Match,
    Score,
    TextScan,
    Signal,
    ItemMedia,
    Item,
    Media,
    TextBody,
    Quarantine,
    Source,
    BankSignal,
    BankEntry,
    Bank,
)

posts = st.lists(
    st.tuples(st.sampled_from(TEXTS), st.frozensets(st.sampled_from(MEDIA), max_size=2)).map(
        lambda post: post if post[0] or post[1] else (CHATTER, post[1])  # a post says something
    ),
    min_size=2,
    max_size=5,
)
steps = st.lists(
    st.one_of(
        st.just(("arrive",)),  # the next post is stored
        st.just(("scan",)),
        # A worker runs one stage on some of the stored items.
        st.tuples(st.just("stage"), st.sampled_from(work.STAGES), st.sets(st.integers(0, 4))),
    ),
    max_size=8,
)


def md5_of(name: str) -> str:
    return hashlib.md5(name.encode()).hexdigest()


def reset(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in EMPTIED:
            connection.execute(delete(table))
        banks.create_bank(connection, "confirmed", actor="t", now=utcnow())
        banks.create_bank(connection, "suspect", actor="t", confirmed=False, now=utcnow())
        banks.create_bank(
            connection, "statements", actor="t", confirmed=False, text_threshold=0.6, now=utcnow()
        )
        for name in ("confirmed", "suspect"):
            banks.add_entry(connection, name, {"md5": md5_of(name)}, actor="t", now=utcnow())
        banks.add_text(connection, "statements", STATEMENT, actor="t", now=utcnow())
    subscribe(engine)


def arrive(engine: Engine, settings: Settings, folder: Path, number: int, post: Any) -> int:
    text, media = post
    record: dict[str, Any] = {"id": f"post{number}", "media": [{"md5": md5_of(m)} for m in media]}
    if text:
        record["text"] = text
    (folder / "post.jsonl").write_text(json.dumps(record) + "\n")
    assert run_ingest(folder / "post.jsonl", "feed", engine, settings).stored == 1
    with engine.connect() as connection:
        return int(connection.scalar(select(func.max(Item.id))) or 0)


@settings(
    max_examples=12,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(posted=posts, script=steps, finish=st.sampled_from(["scan", "items"]))
def test_every_item_with_matched_content_ends_with_one_case(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    tiny_model: TextModel,
    posted: list[Any],
    script: list[Any],
    finish: str,
) -> None:
    flag, chatter = tiny_model.predict([FLAGGED, CHATTER])
    assert flag.flagged and not chatter.flagged
    strength: dict[str | None, int] = {
        "confirmed": PRIORITY_CONFIRMED_MATCH,
        "suspect": PRIORITY_MEDIA_MATCH,
        STATEMENT: PRIORITY_TEXT_MATCH,
        FLAGGED: classifier_priority(flag.score),
    }
    reset(engine)
    here = site(engine, settings, tiny_model)
    stored: list[int] = []
    for step in script:
        if step[0] == "arrive" and len(stored) < len(posted):
            stored.append(arrive(engine, settings, tmp_path, len(stored), posted[len(stored)]))
        elif step[0] == "scan":
            process("scan", engine, settings, tiny_model)
        elif step[0] == "stage":
            picked = [stored[i] for i in sorted(step[2]) if i < len(stored)]
            work.run_stage(here, step[1], picked)
    while len(stored) < len(posted):
        stored.append(arrive(engine, settings, tmp_path, len(stored), posted[len(stored)]))
    if finish == "scan":
        process("scan", engine, settings, tiny_model)
    else:
        submit(settings, stored, site=here)

    with engine.connect() as connection:
        found = dict(connection.execute(select(Case.item_id, Case.priority)).all())
        deliveries = connection.execute(
            select(WebhookDelivery.item_id, WebhookDelivery.event, WebhookDelivery.body)
        ).all()
    expected = {}
    for item_id, (text, media) in zip(stored, posted, strict=True):
        reasons = [strength[c] for c in (text, *media) if c in strength]
        if reasons:
            expected[item_id] = max(reasons)
    assert found == expected  # one case per item (the key is unique), at its strongest reason
    opened = [item_id for item_id, event, _ in deliveries if event == "case.opened"]
    assert sorted(opened) == sorted(expected)  # each case told once
    matched = [
        (item_id, json.loads(body)["data"]["match_id"])
        for item_id, event, body in deliveries
        if event == "match.found"
    ]
    assert len(matched) == len(set(matched))  # no match told twice to one item
    for item_id, (text, media) in zip(stored, posted, strict=True):
        if {"confirmed", "suspect", STATEMENT} & {text, *media}:
            assert item_id in {told for told, _ in matched}  # the platform hears it matched

    settled = state(engine)
    process("scan", engine, settings, tiny_model)
    submit(settings, stored, site=here)
    assert state(engine) == settled
