"""A queue that keeps context: the next case under the reviewer's own tab and filters, the undo
offered after a decision, the queue page's tabs, languages and plain reasons, a lead's bulk
changes, and near-identical texts reviewed together."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, func, select

from redline.classify.features import evidence_words
from redline.ingest.run import ingest
from redline.model import AuditEvent, Case, Item
from redline.model.base import utcnow
from redline.pipeline.route import CaseReason, classifier_reason, open_text_cases
from redline.pipeline.text_scan import NEAR_IDENTICAL_VERSION, TEXT_KEY, key_texts, texts_in_scope
from redline.review import Conflict, Forbidden, Invalid, decisions, queue
from redline.review.decisions import Verdict
from tests.helpers import pending_texts_of
from tests.review_desk import Desk


def keyed(desk: Desk, items: Select[Any]) -> int:
    """The text-key stage over the texts of ``items`` not keyed yet, as the scan runs it; the
    number of cases it opened."""
    pending = pending_texts_of(desk.engine, texts_in_scope(items), TEXT_KEY, NEAR_IDENTICAL_VERSION)
    return key_texts(desk.engine, pending)


def test_next_case_keeps_the_language_the_reviewer_works_in(desk: Desk) -> None:
    rev1, now = desk.users["rev1"], utcnow()
    arabic = queue.QueueFilter(lang="ar")
    with desk.engine.begin() as connection:
        first = queue.next_case(connection, rev1, arabic, now)
        # The Arabic queue is then empty for rev2, though four English cases wait.
        second = queue.next_case(connection, desk.users["rev2"], arabic, now)
    assert first == desk.cases["p4"] and second is None


def test_next_case_in_the_second_review_tab_hands_out_only_second_reviews(desk: Desk) -> None:
    now = utcnow()
    tab = queue.QueueFilter(status="second_review")
    with desk.engine.begin() as connection:
        assert queue.next_case(connection, desk.users["rev2"], tab, now) is None  # none yet
        decisions.decide(
            connection,
            desk.users["rev1"],
            desk.cases["p3"],
            Verdict("violating", category="recruitment"),
            now,
        )
        # Not to the first reviewer (four-eyes), and to rev2 that case and not an open one.
        assert queue.next_case(connection, desk.users["rev1"], tab, now) is None
        assert queue.next_case(connection, desk.users["rev2"], tab, now) == desk.cases["p3"]


def test_the_filter_travels_as_its_non_empty_fields() -> None:
    where = queue.QueueFilter(status="escalated", lang="ar", signal="bank")
    assert where.params() == {"status": "escalated", "lang": "ar", "signal": "bank"}
    assert queue.QueueFilter(**where.params()) == where


def test_every_tab_is_counted_under_the_other_filters(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        decisions.decide(
            connection,
            desk.users["rev1"],
            desk.cases["p4"],
            Verdict("not_violating", reason="news_reporting"),
            now,
            four_eyes=False,
        )
        everything = queue.count_tabs(connection, desk.users["rev1"], queue.QueueFilter())
        arabic = queue.count_tabs(connection, desk.users["rev1"], queue.QueueFilter(lang="ar"))
    assert everything == {
        "open": 4,
        "second_review": 0,
        "escalated": 0,
        "violating": 0,
        "not_violating": 1,
    }
    assert arabic == {**dict.fromkeys(everything, 0), "not_violating": 1}


def test_the_language_filter_lists_the_languages_present(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        found = queue.languages(connection, desk.users["rev1"], queue.QueueFilter())
        # The list ignores the language chosen: the reviewer can switch to another.
        chosen = queue.languages(connection, desk.users["rev1"], queue.QueueFilter(lang="ar"))
        bank_only = queue.languages(
            connection, desk.users["rev1"], queue.QueueFilter(signal="bank")
        )
    assert found == chosen == [("en", 4), ("ar", 1)]
    assert bank_only == [("en", 2)]


@pytest.mark.parametrize(
    ("reason", "plain"),
    [
        (
            "matches bank demo-known-media entry 7 (pdq distance 12)",
            "matched bank demo-known-media at distance 12 of 31",
        ),
        (
            "matches bank partner hashes entry 3 (md5 distance 0)",
            "matched bank partner hashes: the very same file",
        ),
        (
            "text matches bank known-texts entry 2 (Jaccard 0.91)",
            "text matched bank known-texts with similarity 0.91 (the bank asks for 0.80)",
        ),
        (
            "text quotes bank statements entry 4 (containment 0.96)",
            "text quotes a text of bank statements (96% of one is in the other)",
        ),
        (
            "classifier tfidf-lr-3+emb: support_glorification (score 0.93)",
            "text scored 0.93 by the classifier (support glorification)",
        ),
        (
            "labelling sample: classifier tfidf-lr-3 score 0.41, drawn at random",
            "labelling sample: text scored 0.41 by the classifier, drawn at random",
        ),
        ("a reason of another kind", "a reason of another kind"),
    ],
)
def test_the_queue_says_why_in_plain_words(reason: str, plain: str) -> None:
    banks = {
        "demo-known-media": queue.BankThresholds(31, 0.8),
        "known-texts": queue.BankThresholds(31, 0.8),
    }
    assert queue.plain_reason(reason, banks) == plain
    assert "zz" not in plain and "tfidf" not in plain


def test_evidence_tags_never_show_the_classifiers_markers() -> None:
    assert evidence_words({"feature": "link", "spans": []}) == "[a link]"
    assert evidence_words({"feature": "join zzlink", "spans": []}) == "join [a link]"
    assert evidence_words({"feature": "zzmention zzretweet", "spans": []}) == (
        "[a mention] [a repost]"
    )
    # A real word of the text (it has a place in it) stays as written.
    assert evidence_words({"feature": "link", "spans": [[4, 8]]}) == "link"


def test_the_undo_is_offered_only_while_undo_would_take_it(desk: Desk) -> None:
    rev1, now = desk.users["rev1"], utcnow()
    with desk.engine.begin() as connection:
        made = decisions.decide(
            connection,
            rev1,
            desk.cases["p3"],
            Verdict("not_violating", reason="news_reporting"),
            now,
            four_eyes=False,
        )
        offer = decisions.undo_offer(connection, rev1, made.decision_id, now)
        others = decisions.undo_offer(connection, desk.users["rev2"], made.decision_id, now)
        late = decisions.undo_offer(
            connection, rev1, made.decision_id, now + decisions.UNDO_WINDOW + timedelta(seconds=1)
        )
        missing = decisions.undo_offer(connection, rev1, 999_999, now)
    assert offer is not None and (offer.case_id, offer.verdict, offer.status_after) == (
        desk.cases["p3"],
        "not_violating",
        "not_violating",
    )
    assert offer.seconds_left == decisions.UNDO_WINDOW.seconds
    assert others is None and late is None and missing is None


def _audited(desk: Desk, action: str) -> list[str]:
    with desk.engine.connect() as connection:
        return list(
            connection.scalars(
                select(AuditEvent.subject_id)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


def test_a_lead_assigns_and_releases_several_cases_each_audited(desk: Desk) -> None:
    lead, now = desk.users["lead1"], utcnow()
    chosen = [desk.cases["p2"], desk.cases["p3"], desk.cases["p5"]]
    with desk.engine.begin() as connection:
        queue.assign_many(connection, lead, chosen, "rev2", now)
        theirs = queue.list_queue(
            connection, desk.users["rev2"], queue.QueueFilter(assignee="me"), now
        )
    assert sorted(r.id for r in theirs) == sorted(chosen)
    assert _audited(desk, "case.assign") == [str(c) for c in sorted(chosen)]
    with desk.engine.begin() as connection:
        queue.release_many(connection, lead, chosen[:2])
        held = dict(connection.execute(select(Case.id, Case.assignee_id)).all())
    assert held[chosen[0]] is None and held[chosen[1]] is None
    assert held[chosen[2]] == desk.users["rev2"].id
    assert _audited(desk, "case.release") == [str(c) for c in sorted(chosen[:2])]


def test_bulk_changes_are_for_leads_and_all_or_nothing(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection, pytest.raises(Forbidden):
        queue.assign_many(connection, desk.users["rev1"], [desk.cases["p2"]], "rev1", now)
    with desk.engine.begin() as connection, pytest.raises(Forbidden):
        queue.release_many(connection, desk.users["rev1"], [desk.cases["p2"]])
    with desk.engine.begin() as connection:
        decisions.decide(
            connection,
            desk.users["rev1"],
            desk.cases["p3"],
            Verdict("not_violating", reason="news_reporting"),
            now,
            four_eyes=False,
        )
    # One decided case refuses the lot: the transaction leaves every case as it was.
    with pytest.raises(Conflict, match="decided already"), desk.engine.begin() as connection:
        queue.assign_many(
            connection, desk.users["lead1"], [desk.cases["p2"], desk.cases["p3"]], "rev2", now
        )
    with desk.engine.connect() as connection:
        assigned = connection.scalar(select(func.count()).where(Case.assignee_id.is_not(None)))
    assert assigned == 0 and _audited(desk, "case.assign") == []
    with desk.engine.begin() as connection:
        for bad in ([], list(range(1, queue.BULK_MAX + 2))):
            with pytest.raises(Invalid):
                queue.assign_many(connection, desk.users["lead1"], bad, "rev2", now)


# Two exports of one post: one tool wrote the ampersand as an HTML entity and re-flowed it.
NEAR_TWINS = [
    ("t1", "acct_x", "Tom &amp; Jerry  meet\nat the square today."),
    ("t2", "acct_y", "Tom & Jerry meet at the square today."),
    ("t3", "acct_z", "Tom and Jerry meet at the square today."),  # other words: not a twin
]


def _ingest_twins(desk: Desk, tmp_path: Path) -> dict[str, int]:
    export = tmp_path / "twins.jsonl"
    export.write_text(
        "".join(
            json.dumps({"id": i, "text": text, "account": a, "time": "2026-11-21T09:00:00Z"}) + "\n"
            for i, a, text in NEAR_TWINS
        )
    )
    ingest(export, "twins-export", engine=desk.engine, settings=desk.settings, actor="test")
    with desk.engine.connect() as connection:
        return {
            external: item
            for external, item in connection.execute(
                select(Item.external_id, Item.id).where(Item.external_id.in_(["t1", "t2", "t3"]))
            )
        }


def test_near_identical_texts_open_one_cluster_and_fold_into_one_row(
    desk: Desk, tmp_path: Path
) -> None:
    items = _ingest_twins(desk, tmp_path)
    keyed(desk, select(Item.id).where(Item.id.in_(items.values())))
    now = utcnow()
    with desk.engine.begin() as connection:
        shas = dict(connection.execute(select(Item.id, Item.text_sha256)).all())
        assert shas[items["t1"]] != shas[items["t2"]]  # stored as written: evidence unchanged
        # Only the first export is flagged; its twin is reviewed with it, for the same reason.
        reason: CaseReason = classifier_reason("model-1", 0.93, "recruitment", "en")
        open_text_cases(connection, {shas[items["t1"]]: reason}, now)
        cases = dict(
            connection.execute(
                select(Case.item_id, Case.id).where(Case.item_id.in_(items.values()))
            ).all()
        )
        assert set(cases) == {items["t1"], items["t2"]}  # t3 says "and": another text
        cluster = decisions.cluster(connection, cases[items["t1"]])
        shown = queue.board(
            connection, desk.users["rev1"], queue.QueueFilter(source="twins-export"), now
        )
    assert cluster == [cases[items["t2"]]]
    (entry,) = shown.entries
    assert entry.row.id == cases[items["t1"]]
    assert entry.near_identical == (cases[items["t2"]],)
    assert entry.why == "text scored 0.93 by the classifier (recruitment)"


def test_identical_texts_fold_in_the_queue_even_before_they_are_keyed(desk: Desk) -> None:
    # The desk's p1 and p2 re-post one text; no text scan ran, so there is no key signal yet.
    with desk.engine.begin() as connection:
        shown = queue.board(connection, desk.users["rev1"], queue.QueueFilter(), utcnow())
    first = {e.row.id: e.near_identical for e in shown.entries}
    assert first[desk.cases["p1"]] == (desk.cases["p2"],)
    assert desk.cases["p2"] not in first
    assert shown.read == 5 and len(shown.entries) == 4


def _flag_first_twin(desk: Desk, tmp_path: Path) -> tuple[int, CaseReason]:
    """Only the first export of the post, ingested, keyed and flagged; its case id."""
    first = tmp_path / "first"
    first.mkdir()
    export = first / "posts.jsonl"
    text, account = NEAR_TWINS[0][2], NEAR_TWINS[0][1]
    export.write_text(json.dumps({"id": "t1", "text": text, "account": account}) + "\n")
    ingest(export, "twins-export", engine=desk.engine, settings=desk.settings, actor="test")
    with desk.engine.begin() as connection:
        t1 = connection.execute(
            select(Item.id, Item.text_sha256).where(Item.external_id == "t1")
        ).one()
    keyed(desk, select(Item.id).where(Item.id == t1.id))
    reason = classifier_reason("model-1", 0.93, "recruitment", "en")
    with desk.engine.begin() as connection:
        open_text_cases(connection, {t1.text_sha256: reason}, utcnow())
        case = connection.scalar(select(Case.id).where(Case.item_id == t1.id))
    assert case is not None
    return case, reason


def _cases_of_twins(desk: Desk) -> list[tuple[str, str, str | None]]:
    with desk.engine.connect() as connection:
        rows = connection.execute(
            select(Item.external_id, Case.reason, Case.category)
            .join(Case, Case.item_id == Item.id)
            .where(Item.external_id.in_(["t1", "t2", "t3"]))
            .order_by(Item.external_id)
        ).all()
    return [(r.external_id, r.reason, r.category) for r in rows]


def test_a_near_identical_re_post_arriving_later_joins_the_flagged_one(
    desk: Desk, tmp_path: Path
) -> None:
    _case, reason = _flag_first_twin(desk, tmp_path)
    # The re-post comes in a later export, its ampersand as a character and on one line.
    items = _ingest_twins(desk, tmp_path)
    later = select(Item.id).where(Item.id.in_([items["t2"], items["t3"]]))
    assert keyed(desk, later) == 1
    assert _cases_of_twins(desk) == [
        ("t1", reason.text, "recruitment"),
        ("t2", reason.text, "recruitment"),
    ]


def test_a_late_twin_of_a_decided_case_is_not_told_the_verdict(desk: Desk, tmp_path: Path) -> None:
    case, reason = _flag_first_twin(desk, tmp_path)
    with desk.engine.begin() as connection:
        decisions.decide(
            connection,
            desk.users["rev1"],
            case,
            Verdict("violating", category="threat_incitement"),
            utcnow(),
            four_eyes=False,
        )
    items = _ingest_twins(desk, tmp_path)
    keyed(desk, select(Item.id).where(Item.id == items["t2"]))
    # The new case is reviewed blind: the reviewer's category stays on the decided case only.
    assert _cases_of_twins(desk) == [
        ("t1", reason.text, "threat_incitement"),
        ("t2", reason.text, None),
    ]
