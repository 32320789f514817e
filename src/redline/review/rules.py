"""The review desk's named rules: how urgent a case is, how long it may wait, where it stands.

Routing (``pipeline/``) sets a case's priority from why it was opened; the queue orders by it
and the SLA reads it. Both read the numbers here, so the order of the queue and the promise
of the SLA cannot drift apart. Priorities only compare with each other: what matters is which
reason outranks which, and which SLA band a reason falls into.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Final


class CaseStatus(StrEnum):
    """Where a case stands. A StrEnum: it is stored, compared and shown as its value."""

    OPEN = "open"
    SECOND_REVIEW = "second_review"  # a "violating" verdict waits for a second reviewer
    ESCALATED = "escalated"  # reviewers disagreed, or one asked: a lead decides
    VIOLATING = "violating"
    NOT_VIOLATING = "not_violating"


# Statuses that still need someone; the others are decided.
OPEN_STATUSES: Final = (CaseStatus.OPEN, CaseStatus.SECOND_REVIEW, CaseStatus.ESCALATED)
FINAL_STATUSES: Final = (CaseStatus.VIOLATING, CaseStatus.NOT_VIOLATING)
STATUSES: Final = OPEN_STATUSES + FINAL_STATUSES

# --- Priorities, highest first ---
# A match to a bank of confirmed content is known propaganda: it comes first and gets the
# one-hour SLA, the deadline of a removal order (TCO Regulation art. 3).
PRIORITY_CONFIRMED_MATCH: Final = 100
# A text match to an unconfirmed bank entry: a near-copy of text someone banked, which is rarely
# innocent, so above most classifier flags and inside the four-hour band.
PRIORITY_TEXT_MATCH: Final = 60
# A media match to an unconfirmed bank entry: perceptual hashes of images and video collide with
# ordinary pictures (memes, logos) more often than text shingles do, so below a text match and
# in the 24-hour band.
PRIORITY_MEDIA_MATCH: Final = 50
# A classifier flag ranks by the model's probability, from 40 (score 0) to 70 (score 1): never
# above a confirmed match, and only a confident flag (score >= 2/3) reaches the four-hour band.
PRIORITY_CLASSIFIER_BASE: Final = 40
PRIORITY_CLASSIFIER_SPAN: Final = 30
# A labelling sample (texts the classifier did not flag) waits behind every real signal.
PRIORITY_SAMPLE: Final = 5


def bank_match_priority(confirmed: bool, *, text: bool) -> int:
    """The priority of a case opened by a bank match (text shingles, or a media hash)."""
    if confirmed:
        return PRIORITY_CONFIRMED_MATCH
    return PRIORITY_TEXT_MATCH if text else PRIORITY_MEDIA_MATCH


def classifier_priority(score: float) -> int:
    """The priority of a case opened by a classifier flag with probability ``score``."""
    return PRIORITY_CLASSIFIER_BASE + round(PRIORITY_CLASSIFIER_SPAN * score)


# --- SLAs: how long a case may wait for a decision, by the lowest priority of each band ---
SLA_BANDS: Final = (
    (PRIORITY_CONFIRMED_MATCH, timedelta(hours=1)),  # the one-hour world of removal orders
    (PRIORITY_TEXT_MATCH, timedelta(hours=4)),  # likely violating: within a working half-day
    (0, timedelta(hours=24)),  # everything else: within a day
)


def sla(priority: int) -> timedelta:
    """How long a case of this priority may wait for a decision."""
    for lowest, allowed in SLA_BANDS:
        if priority >= lowest:
            return allowed
    return SLA_BANDS[-1][1]
