"""The case page's evidence side by side, in the console: the banked image beside the post,
blurred until the same audited reveal; the false-positive action and who may take it; a lead's
reasoned disable from the bank page."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from redline import banks
from redline.banks import manage
from redline.model import AuditEvent, FalsePositiveReport
from redline.model.base import utcnow
from redline.store.media import FolderStore
from redline.web.app import create_app
from tests.helpers import run_ingest
from tests.media_fixtures import generated, joined, make_video, panned_video
from tests.review.test_evidence import case_of, photo_matches, run_scan
from tests.review_desk import Desk
from tests.web.test_console import sign_in

__all__ = ["photo_matches"]  # the fixture, shared with the domain tests


def signed_in(desk: Desk, username: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    return client, sign_in(client, username)


def reports(desk: Desk) -> int:
    with desk.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(FalsePositiveReport)) or 0)


def test_the_case_page_shows_the_banked_image_beside_the_post_behind_a_reveal(
    desk: Desk, photo_matches: dict[str, object]
) -> None:
    case, banked = photo_matches["repost"], str(photo_matches["banked_sha"])
    client, csrf = signed_in(desk, "rev1")
    page = client.get(f"/cases/{case}")
    assert page.status_code == 200
    assert f"/cases/{case}/media/{banked}/preview" in page.text
    assert f"/media/{banked}/full" not in page.text
    assert re.search(r"PDQ distance \d+ — bank threshold 31", page.text)
    assert "imported from the hash list partner-list.csv" in page.text
    assert "labels: gifct:glorification_of_terrorist_acts" in page.text  # as its source said
    assert "provenance" not in page.text and "{&#34;" not in page.text  # never raw JSON
    assert page.text.count('class="signal evidence"') == 2  # one block per matched entry
    preview = client.get(f"/cases/{case}/media/{banked}/preview")
    assert preview.status_code == 200 and Image.open(io.BytesIO(preview.content)).mode == "L"
    assert client.get(f"/cases/{case}/media/{banked}/full").status_code == 403
    revealed = client.post(f"/cases/{case}/media/{banked}/reveal", data={"csrf": csrf})
    assert revealed.status_code == 303 and f"revealed={banked}" in revealed.headers["location"]
    shown = client.get(revealed.headers["location"].split("#")[0])
    assert f"/cases/{case}/media/{banked}/full" in shown.text
    full = client.get(f"/cases/{case}/media/{banked}/full")
    assert full.status_code == 200 and len(full.content) > 200_000  # the banked photo itself
    # Another case that never matched the entry does not reach its file.
    assert client.get(f"/cases/{desk.cases['p3']}/media/{banked}/preview").status_code == 404


def test_the_exact_copy_is_one_block_listing_every_hash(
    desk: Desk, photo_matches: dict[str, object]
) -> None:
    client, _csrf = signed_in(desk, "rev1")
    page = client.get(f"/cases/{photo_matches['copy']}")
    block = page.text.split(f'id="entry-{photo_matches["exact"]}"')[1].split("</article>")[0]
    assert "SHA-256" in block and "MD5" in block and "PDQ distance 0 — bank threshold 31" in block
    assert page.text.count('class="signal evidence"') == 1
    assert "the same bytes as the post" in block


def test_a_reviewer_reports_a_false_positive_once_and_cannot_disable(
    desk: Desk, photo_matches: dict[str, object]
) -> None:
    case, entry = photo_matches["repost"], photo_matches["from_file"]
    client, csrf = signed_in(desk, "rev1")
    url = f"/cases/{case}/entries/{entry}/false-positive"
    assert f'action="{url}"' in client.get(f"/cases/{case}").text
    assert client.post(url, data={"note": "a different astronaut"}).status_code == 403  # CSRF
    done = client.post(url, data={"csrf": csrf, "note": "a different astronaut"})
    assert done.status_code == 303 and done.headers["location"].endswith(f"#entry-{entry}")
    assert client.post(url, data={"csrf": csrf}).status_code == 409  # one report each
    page = client.get(f"/cases/{case}").text
    assert "1 false-positive report</span>" in page and "You reported this entry" in page
    assert client.get("/banks/known").status_code == 200
    refused = client.post(
        f"/banks/known/entries/{entry}/disable", data={"csrf": csrf, "reason": "misfires"}
    )
    assert refused.status_code == 403
    with desk.engine.connect() as connection:
        assert manage.get_entry(connection, int(str(entry))).enabled
    assert reports(desk) == 1


def test_hostile_false_positive_forms_get_a_4xx_and_store_nothing(
    desk: Desk, photo_matches: dict[str, object]
) -> None:
    case, entry = photo_matches["repost"], photo_matches["from_file"]
    client, csrf = signed_in(desk, "rev2")
    hostile = [
        (f"/cases/{case}/entries/{entry}/false-positive", {"note": "x" * 100_000}),
        (f"/cases/{case}/entries/{entry}/false-positive", {"note": "nul\x00byte"}),
        (f"/cases/{case}/entries/{2**63}/false-positive", {}),
        (f"/cases/{case}/entries/-1/false-positive", {}),
        (f"/cases/{case}/entries/abc/false-positive", {}),
        (f"/cases/{desk.cases['p3']}/entries/{entry}/false-positive", {}),  # never matched
        (f"/cases/424242/entries/{entry}/false-positive", {}),
    ]
    for url, form in hostile:
        answer = client.post(url, data={"csrf": csrf, **form})
        assert 400 <= answer.status_code < 500, (url, answer.status_code)
    assert reports(desk) == 0


def test_an_auditor_sees_the_evidence_and_reports_nothing(
    desk: Desk, photo_matches: dict[str, object]
) -> None:
    case, entry = photo_matches["repost"], photo_matches["from_file"]
    client, csrf = signed_in(desk, "aud1")
    page = client.get(f"/cases/{case}").text
    assert "bank threshold 31" in page and "false-positive-form" not in page
    answer = client.post(f"/cases/{case}/entries/{entry}/false-positive", data={"csrf": csrf})
    assert answer.status_code == 403 and reports(desk) == 0


def test_a_lead_sees_the_count_and_disables_the_entry_with_a_reason(
    desk: Desk, photo_matches: dict[str, object]
) -> None:
    case, entry = photo_matches["repost"], photo_matches["from_file"]
    for name in ("rev1", "rev2"):
        client, csrf = signed_in(desk, name)
        url = f"/cases/{case}/entries/{entry}/false-positive"
        assert client.post(url, data={"csrf": csrf}).status_code == 303
    lead, csrf = signed_in(desk, "lead1")
    bank = lead.get("/banks/known").text
    row = bank.split(f'id="entry-{entry}"')[1].split("</tr>")[0]
    assert '<td class="false-positives">2</td>' in row and 'name="reason"' in row
    url = f"/banks/known/entries/{entry}/disable"
    assert lead.post(url, data={"csrf": csrf, "reason": "  "}).status_code == 422
    assert lead.post(url, data={"csrf": csrf, "reason": "x" * 3000}).status_code == 422
    done = lead.post(url, data={"csrf": csrf, "reason": "two false positives on re-posts"})
    assert done.status_code == 303
    bank = lead.get("/banks/known").text
    assert "disabled: <span" in bank and "two false positives on re-posts" in bank
    assert "Disabled: <span" in lead.get(f"/cases/{case}").text
    with desk.engine.connect() as connection:
        event = connection.execute(
            select(AuditEvent.actor, AuditEvent.after).where(
                AuditEvent.action == "bank.entry.disable"
            )
        ).one()
    assert tuple(event) == (
        "user:lead1",
        {"enabled": False, "reason": "two false positives on re-posts"},
    )


def video_case_page(
    desk: Desk, original: Path, posts: Path, post: str
) -> tuple[banks.HashedMedia, TestClient, httpx.Response]:
    """The posts in ``posts`` ingested, ``original`` banked from its file, a scan; the banked
    media, a reviewer's client and the case page of the ``post`` file as they see it."""
    run_ingest(posts, "videos", desk.engine, desk.settings)
    known = banks.hash_media(FolderStore(desk.settings.data_dir), original)
    with desk.engine.begin() as connection:
        banks.create_bank(connection, "known-video", actor="t", now=utcnow())
        banks.add_media(connection, "known-video", known, actor="t", now=utcnow())
    run_scan(desk.engine, desk.settings)
    client, _csrf = signed_in(desk, "rev1")
    page = client.get(f"/cases/{case_of(desk.engine, post)}")
    assert page.status_code == 200
    return known, client, page


def test_a_video_match_shows_its_matched_segment_as_a_frame_strip(
    desk: Desk, tmp_path: Path
) -> None:
    frames = [generated(i) for i in range(5)]
    original = make_video(tmp_path / "original.mp4", frames)
    posts = tmp_path / "posts"
    posts.mkdir()
    make_video(posts / "clip.mp4", [*frames, generated(40)])
    known, client, page = video_case_page(desk, original, posts, "clip.mp4")
    assert "<strong>83.33%</strong> of the post's 6 usable frames matched" in page.text
    strip = page.text.split('class="frame-strip small"')[1].split("</ol>")[0]
    assert "0:00.0–0:04.0" in strip and "(5 frames:" in strip
    case = case_of(desk.engine, "clip.mp4")
    banked = known.stored.sha256
    assert f"/cases/{case}/media/{banked}/preview" in page.text
    # Each matched frame has a blurred thumbnail, cut from the post's video at its time.
    thumbs = re.findall(r'src="(/cases/\d+/media/[0-9a-f]{64}/preview\?at=[0-9.]+)"', strip)
    assert [t.rsplit("=", 1)[1] for t in thumbs] == ["0.000", "1.000", "2.000", "3.000", "4.000"]
    first, last = (client.get(thumbs[0]), client.get(thumbs[-1]))
    for answer in (first, last):
        shown = Image.open(io.BytesIO(answer.content))
        assert answer.status_code == 200 and shown.mode == "L" and max(shown.size) <= 160
    assert first.content != last.content  # two different frames
    preview = thumbs[0].split("?")[0]
    for hostile in ("-1", "abc", "1e9", "nan"):
        assert client.get(f"{preview}?at={hostile}").status_code == 422, hostile
    assert client.get(f"{preview}?at=3600").status_code == 404  # past the video's end


def test_a_text_match_shows_the_jaccard_and_the_shared_passages(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        banks.create_bank(connection, "statements", actor="t", now=now)
        banks.add_text(
            connection,
            "statements",
            "Generic re-posted statement text, number one.",
            actor="t",
            now=now,
            provenance={"case": desk.cases["p1"]},
        )
    run_scan(desk.engine, desk.settings)
    client, _csrf = signed_in(desk, "rev1")
    page = client.get(f"/cases/{desk.cases['p2']}").text
    assert "Jaccard similarity <strong>1.00</strong> — bank threshold 0.80" in page
    assert f"added from case #{desk.cases['p1']}" in page
    passages = page.split('class="passages"')[1].split("</ul>")[0]
    assert "statement text" in passages


def test_an_excerpt_match_shows_where_the_quote_is_in_the_banked_text(
    desk: Desk, tmp_path: Path
) -> None:
    from tests.review.test_evidence import quoted_statement
    from tests.signals.test_excerpt import middle_half

    case, _plain, _kept = quoted_statement(desk, tmp_path)
    quoted, start, end = middle_half()
    client, _csrf = signed_in(desk, "rev1")
    page = client.get(f"/cases/{case}").text
    assert "Excerpt: <strong>98%</strong> of the post (100 of its 102 words) is banked text" in page
    places = page.split('class="passages excerpt-places"')[1].split("</ol>")[0]
    assert f"words 51–150 of the banked text (characters {start}–{end})" in places
    assert f"at characters 12–{12 + len(quoted)} of the post" in places
    # The banked text kept from a case shows with the quoted passage marked in it.
    assert page.count('class="excerpt-banked"') == 1
    assert "only its signature and shingle hashes" in page


def test_a_banked_video_inside_a_longer_post_shows_both_time_ranges(
    desk: Desk, tmp_path: Path
) -> None:
    made = tmp_path / "made"
    made.mkdir()
    original = panned_video(made / "original.mp4", ["astronaut", "coffee", "chelsea"], 6)
    filler = panned_video(made / "filler.mp4", ["retina", "hubble_deep_field"], 6)
    posts = tmp_path / "posts"
    posts.mkdir()
    joined(filler, original, posts / "longer.mp4")
    _known, _client, page = video_case_page(desk, original, posts, "longer.mp4")
    assert "The banked video was found inside a longer post." in page.text
    assert "the banked video inside the post" in page.text  # the measure line
    strip = page.text.split('class="frame-strip small"')[1].split("</ol>")[0]
    (ranges,) = re.findall(
        r"0:(\d+\.\d)–0:(\d+\.\d) of the post = 0:(\d+\.\d)–0:(\d+\.\d) of the banked video", strip
    )
    # The banked 6 s start 6 s into the post: frames hashed a second apart, within a second.
    for shown, expected in zip(map(float, ranges), (6.0, 11.0, 0.0, 5.0), strict=True):
        assert abs(shown - expected) <= 1.0, ranges
