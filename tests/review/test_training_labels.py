"""Reviewers' decisions become the text classifier's labelled examples."""

from __future__ import annotations

from redline.classify.data import decisions, decisions_fingerprint, split_of
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide, undo
from tests.review_desk import Desk


def test_final_decisions_become_examples_and_undone_ones_do_not(desk: Desk) -> None:
    now = utcnow()
    violating = Verdict("violating", category="recruitment")
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], desk.cases["p3"], violating, now)
        decide(connection, desk.users["rev2"], desk.cases["p3"], violating, now)  # four eyes
        decide(
            connection,
            desk.users["rev1"],
            desk.cases["p4"],
            Verdict("not_violating", reason="news_reporting"),
            now,
        )
        made = decide(
            connection,
            desk.users["rev1"],
            desk.cases["p5"],
            Verdict("not_violating", reason="not_tvec"),
            now,
        )
        undo(connection, desk.users["rev1"], made.decision_id, now)
        # p1 is only half-way (second review): not a label yet.
        decide(connection, desk.users["rev1"], desk.cases["p1"], violating, now)
    examples = {e.text: e for e in decisions(desk.engine)}
    assert set(examples) == {
        "Another generic post from account A https://example.org/x",
        "بيان عام قصير للاختبار",
    }
    flagged = examples["Another generic post from account A https://example.org/x"]
    assert (flagged.label, flagged.category, flagged.source) == (1, "recruitment", "review")
    cleared = examples["بيان عام قصير للاختبار"]
    assert (cleared.label, cleared.kind, cleared.lang) == (0, "news_reporting", "ar")
    assert cleared.split == split_of(cleared.group) and cleared.group.startswith("review:")
    before = decisions_fingerprint(list(examples.values()))
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev2"], desk.cases["p1"], violating, now)
    assert decisions_fingerprint(decisions(desk.engine)) != before
