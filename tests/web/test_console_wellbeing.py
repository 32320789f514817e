"""Leads' tools over HTTP: the queue health page, the daily exposure cap and the break it
enforces on every way of taking a case (console and API), the report download, and the blur of
previews (each user's own and the organisation's default), on both databases."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from redline.model import AuditEvent, Case, OrganisationSettings
from redline.review.protection import BLUR_RADIUS
from redline.review.tokens import create_token
from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_console import sign_in
from tests.web.test_console_protection import case_with_image


def browser(desk: Desk, username: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    return client, sign_in(client, username)


def audited(desk: Desk, action: str) -> list[tuple[str, str | None]]:
    with desk.engine.connect() as connection:
        rows = connection.execute(
            select(AuditEvent.actor, AuditEvent.subject_id)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
        return [(r.actor, r.subject_id) for r in rows]


def test_the_health_page_shows_the_queue_and_each_reviewers_exposure(desk: Desk) -> None:
    lead, _ = browser(desk, "lead1")
    page = lead.get("/health")
    assert page.status_code == 200
    for words in (
        "Backlog by age",
        "SLA breaches",
        "Decisions per hour",
        "Second reviews",
        "Exposure today",
        "rev1",
        "Daily cap",
    ):
        assert words in page.text
    auditor, _ = browser(desk, "aud1")
    read_only = auditor.get("/health")
    # An auditor reads the figures and is offered no form that changes anything.
    assert read_only.status_code == 200 and 'action="/health/cap"' not in read_only.text
    reviewer, _ = browser(desk, "rev1")
    assert reviewer.get("/health").status_code == 403


def test_at_the_cap_every_way_of_taking_a_case_is_refused_until_a_lead_lifts_it(
    desk: Desk,
) -> None:
    lead, lead_csrf = browser(desk, "lead1")
    assert lead.post("/health/cap", data={"csrf": lead_csrf, "daily_cap": "2"}).status_code == 303
    rev1, csrf = browser(desk, "rev1")
    for post in ("p1", "p2"):  # viewing two cases reaches the cap
        assert rev1.get(f"/cases/{desk.cases[post]}").status_code == 200
    with desk.engine.begin() as connection:
        secret = create_token(connection, "rev1", "api", ["cases:read", "cases:write"], "test")
    api = TestClient(create_app(desk.settings), headers={"Authorization": f"Bearer {secret}"})
    free = desk.cases["p4"]
    refused = [
        rev1.post("/queue/next", data={"csrf": csrf}),
        rev1.post(f"/cases/{free}/claim", data={"csrf": csrf}),
        rev1.post(
            f"/cases/{free}/decide",
            data={"csrf": csrf, "verdict": "not_violating", "reason": "news_reporting"},
        ),
        api.post(f"/api/v1/cases/{free}/claim"),
        api.post(
            f"/api/v1/cases/{free}/decisions",
            json={"verdict": "not_violating", "reason": "news_reporting"},
        ),
        lead.post(f"/cases/{free}/assign", data={"csrf": lead_csrf, "user": "rev1"}),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert "exposure cap" in response.text and "lead lifts the break" in response.text
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Case.assignee_id).where(Case.id == free)) is None
    settings = rev1.get("/settings")
    assert "take a break" in settings.text
    # A reviewer cannot lift their own break, nor can an auditor.
    assert rev1.post("/health/breaks/rev1/lift", data={"csrf": csrf}).status_code == 403
    auditor, aud_csrf = browser(desk, "aud1")
    assert auditor.post("/health/breaks/rev1/lift", data={"csrf": aud_csrf}).status_code == 403
    assert rev1.post(f"/cases/{free}/claim", data={"csrf": csrf}).status_code == 403
    page = lead.get("/health")
    assert "on a break" in page.text and 'action="/health/breaks/rev1/lift"' in page.text
    assert lead.post("/health/breaks/rev1/lift", data={"csrf": lead_csrf}).status_code == 303
    assert audited(desk, "user.break_lifted") == [("user:lead1", "rev1")]
    assert rev1.post(f"/cases/{free}/claim", data={"csrf": csrf}).status_code == 303
    assert api.post(f"/api/v1/cases/{desk.cases['p5']}/claim").status_code == 200


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/health/cap", {"daily_cap": "abc"}),
        ("/health/cap", {"daily_cap": "-1"}),
        ("/health/cap", {"daily_cap": "0"}),
        ("/health/cap", {"daily_cap": "99999999999999999999"}),
        ("/health/cap", {"daily_cap": "1e3"}),
        ("/health/cap", {"daily_cap": "x" * 5000}),
        ("/health/breaks/nobody/lift", {}),
        ("/health/breaks/" + "a" * 3000 + "/lift", {}),
        ("/settings/blur", {"blur_radius": "abc"}),
        ("/settings/blur", {"blur_radius": "1"}),
        ("/settings/blur", {"blur_radius": "100000000000000000000"}),
        ("/settings/blur", {"blur_radius": ""}),
        ("/settings/organisation", {"blur_radius": "-18"}),
        ("/settings/organisation", {"blur_radius": "61"}),
    ],
)
def test_hostile_forms_get_a_4xx_and_change_nothing(
    desk: Desk, path: str, form: dict[str, str]
) -> None:
    admin, csrf = browser(desk, "admin1")
    response = admin.post(path, data={"csrf": csrf, **form})
    assert 400 <= response.status_code < 500, (path, form, response.status_code)
    with desk.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(OrganisationSettings)) == 0


@pytest.mark.parametrize(
    "query",
    ["from=yesterday", "from=2026-12-01&to=2026-11-01", "to=" + "9" * 39, "from=2026-13-45"],
)
def test_hostile_periods_get_a_4xx(desk: Desk, query: str) -> None:
    lead, _ = browser(desk, "lead1")
    assert lead.get(f"/health?{query}").status_code == 422
    assert lead.get(f"/dashboard/report?{query}").status_code == 422


def test_the_dashboard_offers_the_report_as_pdf_and_csv_and_audits_the_download(
    desk: Desk,
) -> None:
    lead, _ = browser(desk, "lead1")
    dashboard = lead.get("/dashboard?from=2026-11-01&to=2026-12-01")
    assert "/dashboard/report?from=2026-11-01&amp;to=2026-12-01&amp;format=pdf" in dashboard.text
    pdf = lead.get("/dashboard/report?from=2026-11-01&to=2026-12-01&format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert 'filename="report-2026-11-01-2026-12-01.pdf"' in pdf.headers["content-disposition"]
    table = lead.get("/dashboard/report?from=2026-11-01&to=2026-12-01&format=csv")
    assert table.status_code == 200 and table.text.startswith("section,key,value")
    assert audited(desk, "report.download") == [
        ("user:lead1", "report-2026-11-01-2026-12-01.pdf"),
        ("user:lead1", "report-2026-11-01-2026-12-01.csv"),
    ]
    assert lead.get("/dashboard/report?format=exe").status_code == 422
    assert lead.get("/dashboard/report?format=html").status_code == 422
    auditor, _ = browser(desk, "aud1")
    assert auditor.get("/dashboard/report?format=csv").status_code == 200
    reviewer, _ = browser(desk, "rev1")
    assert reviewer.get("/dashboard/report?format=csv").status_code == 403
    assert len(audited(desk, "report.download")) == 3


def _detail(jpeg: bytes) -> float:
    """How much fine detail a preview carries: the mean difference between neighbouring pixels."""
    pixels = np.asarray(Image.open(io.BytesIO(jpeg)), dtype=np.float64)
    return float(np.abs(np.diff(pixels, axis=0)).mean() + np.abs(np.diff(pixels, axis=1)).mean())


def _likeness(jpeg: bytes, original: bytes) -> float:
    """How closely a preview follows the original, grey and at the preview's size
    (correlation of the pixels)."""
    shown = Image.open(io.BytesIO(jpeg))
    truth = Image.open(io.BytesIO(original)).convert("L").resize(shown.size)
    a = np.asarray(shown, dtype=np.float64).ravel()
    b = np.asarray(truth, dtype=np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])


def test_blur_choices_never_show_more_than_the_default(desk: Desk, tmp_path: Path) -> None:
    case, sha, original = case_with_image(desk, tmp_path)
    # A picture with shapes as well as noise: large forms are what a weak blur would give away.
    picture = Image.open(io.BytesIO(original)).convert("RGB")
    rev1, csrf = browser(desk, "rev1")
    url = f"/cases/{case}/media/{sha}/preview"
    default = rev1.get(url).content
    shown = {BLUR_RADIUS: default}
    for radius in (30, 60):
        saved = rev1.post(
            "/settings/blur", data={"csrf": csrf, "blur_radius": str(radius), "greyscale": "on"}
        )
        assert saved.status_code == 303
        shown[radius] = rev1.get(url).content
    assert picture.size == (320, 240)
    for radius, jpeg in shown.items():
        assert Image.open(io.BytesIO(jpeg)).mode == "L", radius  # always grey, colour or not
        assert _detail(jpeg) <= _detail(default) + 0.01, radius
        assert _likeness(jpeg, original) <= _likeness(default, original) + 0.01, radius
    assert _detail(shown[60]) < _detail(shown[30]) < _detail(default)
    # Turning greyscale off never puts colour in a preview.
    rev1.post("/settings/blur", data={"csrf": csrf, "blur_radius": str(BLUR_RADIUS)})
    assert Image.open(io.BytesIO(rev1.get(url).content)).mode == "L"
    # The organisation's default applies to everyone who has not chosen; only an admin sets it.
    lead, lead_csrf = browser(desk, "lead1")
    refused = lead.post("/settings/organisation", data={"csrf": lead_csrf, "blur_radius": "40"})
    assert refused.status_code == 403
    admin, admin_csrf = browser(desk, "admin1")
    assert (
        admin.post(
            "/settings/organisation",
            data={"csrf": admin_csrf, "blur_radius": "40", "greyscale": "on"},
        ).status_code
        == 303
    )
    rev2, _ = browser(desk, "rev2")
    assert _detail(rev2.get(url).content) < _detail(default)
    assert "strength <strong>40</strong>" in rev2.get("/settings").text
    assert [a for a, _ in audited(desk, "organisation.blur")] == ["user:admin1"]


def test_revealed_media_stay_grey_for_those_who_choose_it(desk: Desk, tmp_path: Path) -> None:
    case, sha, _original = case_with_image(desk, tmp_path)
    rev1, csrf = browser(desk, "rev1")
    rev1.post(f"/cases/{case}/media/{sha}/reveal", data={"csrf": csrf})
    page = rev1.get(f"/cases/{case}?revealed={sha}")
    assert f"/media/{sha}/full" in page.text and "grey-reveals" not in page.text  # as before
    rev1.post("/settings/blur", data={"csrf": csrf, "blur_radius": "18", "greyscale": "on"})
    page = rev1.get(f"/cases/{case}?revealed={sha}")
    assert '<body class="case-page grey-reveals">' in page.text
