"""Labelling samples: texts the classifier did not flag, put in front of reviewers so that their
decisions become training data (``redline model train --reviews``).

A flagged text reaches a reviewer anyway; a text the classifier misses never would, so without
samples the reviewers' decisions could teach the model about its false positives only. A sample
is mostly the unflagged texts that scored highest (just below the operating threshold, where a
decision teaches the model most) and partly texts drawn at random from the rest (where the misses
that a confident model does not suspect are found). Sample cases have the lowest priority and a
signal of their own, ``sample``, so the queue can show them apart and they never delay a flag.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, func, select

from redline.errors import Conflict
from redline.model import Case, Item, Score
from redline.pipeline.route import CaseReason, open_item_cases
from redline.review.rules import PRIORITY_SAMPLE
from redline.store.audit import record_event

SAMPLE_PRIORITY: Final = PRIORITY_SAMPLE
# Share of a sample taken from the top of the unflagged scores; the rest is drawn at random.
NEAR_SHARE: Final = 0.75


@dataclass(frozen=True, slots=True)
class Sample:
    """What a labelling sample opened."""

    model: str
    candidates: int  # unflagged texts of the model with no case yet
    near: int  # highest-scoring of them
    random: int  # drawn at random from the others
    opened: int  # cases opened (one item per text)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json and the audit trail."""
        return asdict(self)


def open_labelling_sample(
    connection: Connection,
    size: int,
    actor: str,
    now: datetime,
    seed: int = 0,
    model: str | None = None,
) -> Sample:
    """Open up to ``size`` sample cases for texts ``model`` (a scoring version; by default the
    shipped model's, as a default scan stores it) scored and did not flag, none of whose items
    has a case; audited. Texts with a case are never sampled again, so repeated samples go on
    to new texts; Conflict when there is none left (or none scored yet)."""
    if size < 1:
        raise ValueError("a sample needs a size of at least 1")
    if model is None:
        # Imported here, not at the top: the console and the API import this module, and the
        # classifier's (SciPy, numba) has no business in their start-up.
        from redline.classify.model import TextModel

        model = TextModel.shipped_scoring_version()
    has_case = select(Item.text_sha256).join(Case, Case.item_id == Item.id)
    scored = connection.execute(
        select(Score.text_sha256, Score.score, Score.lang)
        .where(Score.model == model, Score.flagged.is_(False))
        .where(Score.text_sha256.not_in(has_case.where(Item.text_sha256.is_not(None))))
        .order_by(Score.score.desc(), Score.text_sha256)
    ).all()
    if not scored:
        raise Conflict(
            f"no unflagged text without a case was scored by {model}: run `redline scan` first"
        )
    near_count = min(len(scored), round(size * NEAR_SHARE))
    near, rest = scored[:near_count], scored[near_count:]
    drawn = random.Random(seed).sample(rest, min(size - near_count, len(rest)))  # noqa: S311 - a sample, not a secret
    chosen = [(row, "among the highest unflagged scores") for row in near]
    chosen += [(row, "drawn at random") for row in drawn]
    # One item per text: the first stored. A decision labels the text, whoever posted it.
    first_item = dict(
        connection.execute(
            select(Item.text_sha256, func.min(Item.id))
            .where(Item.text_sha256.in_([row.text_sha256 for row, _ in chosen]))
            .group_by(Item.text_sha256)
        ).all()
    )
    reasons = {
        first_item[row.text_sha256]: CaseReason(
            SAMPLE_PRIORITY,
            f"labelling sample: classifier {model} score {row.score:.2f}, {why}",
            signal="sample",
            lang=row.lang,
        )
        for row, why in chosen
        if row.text_sha256 in first_item
    }
    opened, _updated = open_item_cases(connection, reasons, now)
    sample = Sample(model, len(scored), len(near), len(drawn), opened)
    record_event(connection, actor, "model.sample", detail=sample.as_dict())
    return sample
