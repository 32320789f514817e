"""A review desk for the review and console tests: a small ingested source with cases, and users
of each role (registered in tests/conftest.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select, update

from redline.config import Settings
from redline.ingest.run import ingest
from redline.model import Case, Decision, Item, User
from redline.model.base import utcnow
from redline.pipeline.route import CaseReason, open_item_cases
from redline.review.accounts import Reviewer, add_user, get_user

PASSWORD = "correct horse battery staple"
# Who the review state machines act as (tests/review/test_four_eyes.py, test_confirmed_overturn.py).
PEOPLE = ("rev1", "rev2", "rev3", "lead1")


def usual_roles(connection: Connection) -> None:
    """Everyone of ``PEOPLE`` back in their usual role (a state machine changes roles)."""
    for name in PEOPLE:
        role = "lead" if name == "lead1" else "reviewer"
        connection.execute(update(User).where(User.username == name).values(role=role))


def reviewer_named(engine: Engine, name: str) -> Reviewer:
    """The user ``name`` as a reviewer, with the role they have now."""
    with engine.connect() as connection:
        row = get_user(connection, name)
    return Reviewer(row["id"], row["username"], row["role"])


def standing_voters(engine: Engine, case_id: int, verdict: str) -> set[int]:
    """Who stands by ``verdict`` on the case, read straight from the decisions (not through the
    review code under test)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Decision.user_id).where(
                Decision.case_id == case_id,
                Decision.verdict == verdict,
                Decision.undone_at.is_(None),
            )
        )
        return {int(r.user_id) for r in rows}


# Short, generic posts: two accounts re-post the same text (a near-duplicate cluster), one
# account posts twice, and one text carries markup that must render inert.
POSTS = [
    {
        "id": "p1",
        "text": "Generic re-posted statement text, number one.",
        "account": "acct_a",
        "account_name": "Account A",
        "time": "2026-11-20T10:00:00Z",
    },
    {
        "id": "p2",
        "text": "Generic re-posted statement text, number one.",
        "account": "acct_b",
        "account_name": "Account B",
        "time": "2026-11-20T11:00:00Z",
    },
    {
        "id": "p3",
        "text": "Another generic post from account A https://example.org/x",
        "account": "acct_a",
        "account_name": "Account A",
        "time": "2026-11-20T12:00:00Z",
    },
    {
        "id": "p4",
        "text": "بيان عام قصير للاختبار",
        "account": "acct_c",
        "account_name": "حساب",
        "time": "2026-11-20T13:00:00Z",
    },
    {
        "id": "p5",
        "text": "<script>alert(1)</script><img src=x onerror=alert(2)> hello",
        "account": "acct_d",
        "account_name": "<b>bold</b><script>alert(3)</script>",
        "time": "2026-11-20T14:00:00Z",
    },
]


@dataclass(frozen=True)
class Desk:
    """A review desk: the database, its cases by post id, and one user per role."""

    engine: Engine
    settings: Settings
    cases: dict[str, int]
    users: dict[str, Reviewer]
    opened: datetime


@pytest.fixture
def desk(engine: Engine, settings: Settings, tmp_path: Path) -> Desk:
    """Five posts ingested from JSONL, a case on each, and reviewers rev1/rev2, lead, admin,
    auditor."""
    export = tmp_path / "posts.jsonl"
    export.write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in POSTS) + "\n")
    ingest(export, "channel-export", engine=engine, settings=settings, actor="test")
    opened = utcnow() - timedelta(minutes=5)
    with engine.begin() as connection:
        items = dict(connection.execute(select(Item.external_id, Item.id)).all())
        # p1: confirmed bank match (100); p4: high classifier score; the rest lower.
        priorities = {"p1": 100, "p2": 60, "p3": 45, "p4": 68, "p5": 50}
        reasons = {
            items[p]: CaseReason(
                priority,
                f"test reason {p}",
                signal="bank" if priority in (100, 60) else "classifier",
                category="support_glorification" if p == "p4" else None,
                lang="ar" if p == "p4" else "en",
            )
            for p, priority in priorities.items()
        }
        open_item_cases(connection, reasons, opened)
        by_item = dict(connection.execute(select(Case.item_id, Case.id)).all())
        cases = {p: by_item[items[p]] for p in priorities}
        users = {
            name: add_user(connection, name, role, PASSWORD, "test")
            for name, role in [
                ("rev1", "reviewer"),
                ("rev2", "reviewer"),
                ("lead1", "lead"),
                ("admin1", "admin"),
                ("aud1", "auditor"),
            ]
        }
    return Desk(engine, settings, cases, users, opened)
