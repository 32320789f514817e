"""The named review rules: priorities, SLAs and case statuses."""

from __future__ import annotations

from datetime import timedelta

from redline.review import rules
from redline.review.rules import CaseStatus


def test_priorities_rank_the_reasons_and_fall_into_their_sla_bands() -> None:
    confirmed = rules.bank_match_priority(True, text=False)
    assert confirmed == rules.bank_match_priority(True, text=True)
    text, media = (
        rules.bank_match_priority(False, text=True),
        rules.bank_match_priority(False, text=False),
    )
    assert confirmed > rules.classifier_priority(1.0) > text > media > rules.PRIORITY_SAMPLE
    assert rules.classifier_priority(0.0) == 40 and rules.classifier_priority(1.0) == 70
    assert rules.sla(confirmed) == timedelta(hours=1)
    assert rules.sla(text) == rules.sla(rules.classifier_priority(0.7)) == timedelta(hours=4)
    assert rules.sla(media) == rules.sla(rules.classifier_priority(0.5)) == timedelta(hours=24)
    assert rules.sla(rules.PRIORITY_SAMPLE) == rules.sla(-1) == timedelta(hours=24)


def test_case_statuses_are_their_stored_words() -> None:
    assert [str(s) for s in CaseStatus] == [
        "open",
        "second_review",
        "escalated",
        "violating",
        "not_violating",
    ]
    assert set(rules.OPEN_STATUSES) | set(rules.FINAL_STATUSES) == set(CaseStatus)
    assert CaseStatus.OPEN == "open" and f"{CaseStatus.SECOND_REVIEW}" == "second_review"
