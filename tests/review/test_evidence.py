"""Evidence side by side: a bank match shows one block per bank entry with every signal that
matched it against the bank's threshold, the banked file behind the same audited reveal, the
matched frames of a video and the passages a text shares; reviewers report false positives and
a lead disables an entry for a stated reason."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from redline import banks
from redline.banks import manage
from redline.config import Settings
from redline.errors import Conflict, Forbidden, Invalid, NotFound
from redline.index.store import IndexStore
from redline.model import AuditEvent, Case, ItemMedia
from redline.model.base import utcnow
from redline.pipeline.match import Matcher
from redline.pipeline.scan import scan
from redline.review import protection
from redline.review.accounts import add_user
from redline.review.casefile import case_file
from redline.review.evidence import report_false_positive
from redline.signals.pdq import PdqSignal
from redline.store.media import FolderStore
from tests.helpers import run_ingest
from tests.media_fixtures import generated, make_video, photo
from tests.pipeline.test_scan import watermarked
from tests.review_desk import Desk


def run_scan(engine: Engine, settings: Settings) -> None:
    scan(
        engine,
        settings,
        IndexStore(engine, settings.data_dir),
        actor="test",
        workers=2,
        score_texts=False,
    )


def case_of(engine: Engine, file_name: str) -> int:
    with engine.connect() as connection:
        case = connection.scalar(
            select(Case.id)
            .join(ItemMedia, ItemMedia.item_id == Case.item_id)
            .where(ItemMedia.original_name == file_name)
        )
    assert case is not None, f"no case for {file_name}"
    return int(case)


@pytest.fixture
def photo_matches(desk: Desk, tmp_path: Path) -> dict[str, object]:
    """Two posted photos (a watermarked re-post and an exact copy), a bank with the original
    photos added from files, and a partner's bank with the original's PDQ hash imported from a
    hash list, scanned."""
    engine, settings = desk.engine, desk.settings
    originals = tmp_path / "originals"
    originals.mkdir()
    photo("astronaut").save(originals / "astronaut.png")  # 512×512, about 500 KB
    photo("coffee").save(originals / "coffee.png")
    posts = tmp_path / "posts"
    posts.mkdir()
    watermarked(photo("astronaut")).save(posts / "repost.jpg", quality=85)
    (posts / "copy.png").write_bytes((originals / "coffee.png").read_bytes())
    run_ingest(posts, "channel", engine, settings)
    store = FolderStore(settings.data_dir)
    astronaut = banks.hash_media(store, originals / "astronaut.png")
    coffee = banks.hash_media(store, originals / "coffee.png")
    pdq = astronaut.hashes["pdq"][0].value
    hash_list = tmp_path / "partner-list.csv"
    hash_list.write_text(
        "signal_type,signal,category,tags,source_org,added_at,note\n"
        f"pdq,{pdq},support_glorification,gifct:glorification_of_terrorist_acts,ngo-x,,poster\n"
    )
    now = utcnow()
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=now)
        from_file = banks.add_media(connection, "known", astronaut, actor="t", now=now)
        exact = banks.add_media(connection, "known", coffee, actor="t", now=now)
        banks.create_bank(connection, "partner", actor="t", now=now, confirmed=False)
        banks.import_file(connection, "partner", hash_list, actor="t", now=now)
    run_scan(engine, settings)
    return {
        "repost": case_of(engine, "repost.jpg"),
        "copy": case_of(engine, "copy.png"),
        "from_file": from_file.id,
        "exact": exact.id,
        "banked_sha": astronaut.stored.sha256,
    }


def test_one_block_per_entry_with_its_signals_threshold_origin_and_banked_file(
    desk: Desk, photo_matches: dict[str, object]
) -> None:
    rev1 = desk.users["rev1"]
    with desk.engine.begin() as connection:
        repost = case_file(connection, rev1, int(str(photo_matches["repost"])), utcnow())
        copy = case_file(connection, rev1, int(str(photo_matches["copy"])), utcnow())
    # The re-post matched the entry added from the file and the imported hash: two blocks.
    by_entry = {block["entry_id"]: block for block in repost.evidence}
    assert len(by_entry) == 2 and photo_matches["from_file"] in by_entry
    filed = by_entry[int(str(photo_matches["from_file"]))]
    assert filed["banked_media"] == photo_matches["banked_sha"] and filed["banked_kind"] == "image"
    assert filed["origin"].startswith("added from the file astronaut.png")
    (measured,) = [s["measure"] for s in filed["signals"] if s["signal_type"] == "pdq"]
    assert measured.startswith("PDQ distance ") and "— bank threshold 31" in measured
    (imported,) = [b for b in repost.evidence if b is not filed]
    assert imported["banked_media"] is None  # a hash-only entry has no file to show
    assert imported["origin"].startswith("imported from the hash list partner-list.csv")
    assert "shared by ngo-x" in imported["origin"] and "{" not in imported["origin"]
    # The exact copy: one block listing SHA-256, MD5 and PDQ together, not three.
    (exact,) = [b for b in copy.evidence if b["entry_id"] == photo_matches["exact"]]
    assert [s["name"] for s in exact["signals"]] == ["SHA-256", "MD5", "PDQ"]
    assert exact["signals"][0]["measure"] == "SHA-256: the same bytes as the banked file"
    assert exact["signals"][2]["measure"] == "PDQ distance 0 — bank threshold 31"


def test_the_banked_file_is_revealed_through_the_case_and_only_there(
    desk: Desk, photo_matches: dict[str, object]
) -> None:
    repost, sha = int(str(photo_matches["repost"])), str(photo_matches["banked_sha"])
    with desk.engine.begin() as connection:
        path, kind = protection.media_of_case(connection, repost, sha)
        protection.reveal(connection, desk.users["rev1"], repost, sha, utcnow())
        with pytest.raises(NotFound):  # a case the entry never matched does not reach it
            protection.media_of_case(connection, desk.cases["p3"], sha)
        revealed = connection.execute(
            select(AuditEvent.subject_id, AuditEvent.detail).where(
                AuditEvent.action == "media.reveal"
            )
        ).one()
    banked = FolderStore(desk.settings.data_dir).read(path)
    assert kind == "image" and hashlib.sha256(banked).hexdigest() == sha
    assert tuple(revealed) == (sha, {"case": repost})


def test_false_positive_reports_are_counted_once_per_reviewer_and_audited(
    desk: Desk, photo_matches: dict[str, object]
) -> None:
    case, entry = int(str(photo_matches["repost"])), int(str(photo_matches["from_file"]))
    now = utcnow()
    with desk.engine.begin() as connection:
        assert report_false_positive(connection, desk.users["rev1"], case, entry, now) == 1
        with pytest.raises(Conflict):
            report_false_positive(connection, desk.users["rev1"], case, entry, now)
        assert (
            report_false_positive(connection, desk.users["rev2"], case, entry, now, note="a cat")
            == 2
        )
        with pytest.raises(Forbidden):
            report_false_positive(connection, desk.users["aud1"], case, entry, now)
        with pytest.raises(NotFound):  # the entry never matched that case
            report_false_positive(connection, desk.users["rev1"], desk.cases["p3"], entry, now)
        with pytest.raises(Invalid):
            report_false_positive(
                connection, desk.users["lead1"], case, entry, now, note="x" * 3000
            )
        seen_by_rev1 = case_file(connection, desk.users["rev1"], case, now)
        seen_by_lead = case_file(connection, desk.users["lead1"], case, now)
        events = connection.execute(
            select(AuditEvent.actor, AuditEvent.subject_id, AuditEvent.detail).where(
                AuditEvent.action == "bank.entry.false_positive"
            )
        ).all()
        _total, rows = manage.search_entries(connection, "known")
    (mine,) = [b for b in seen_by_rev1.evidence if b["entry_id"] == entry]
    (leads,) = [b for b in seen_by_lead.evidence if b["entry_id"] == entry]
    assert mine["reported"] and not leads["reported"]
    # A reviewer's review is blind until they decide: rev2's report on this case is not
    # counted for rev1 yet; a lead, who may read the case's history, sees both.
    assert (mine["false_positives"], leads["false_positives"]) == (1, 2)
    assert [(e.actor, e.subject_id, e.detail["reports"]) for e in events] == [
        ("user:rev1", str(entry), 1),
        ("user:rev2", str(entry), 2),
    ]
    assert {r["id"]: r["false_positives"] for r in rows}[entry] == 2


def test_a_lead_disables_an_entry_for_a_reason_and_it_no_longer_matches(
    desk: Desk, photo_matches: dict[str, object]
) -> None:
    entry = int(str(photo_matches["from_file"]))
    with desk.engine.begin() as connection:
        with pytest.raises(Invalid):
            manage.disable_entry(connection, entry, "   ", actor="user:lead1", now=utcnow())
        info = manage.disable_entry(
            connection, entry, "matches cat photos", actor="user:lead1", now=utcnow()
        )
        event = connection.execute(
            select(AuditEvent.after).where(AuditEvent.action == "bank.entry.disable")
        ).scalar_one()
        pdq = info.signals["pdq"][0]
    assert not info.enabled and event == {"enabled": False, "reason": "matches cat photos"}
    matcher = Matcher(desk.engine, IndexStore(desk.engine, desk.settings.data_dir))
    (found,) = matcher.match(PdqSignal, [PdqSignal.query(pdq)])
    assert entry not in {m.entry_id for m in found}
    assert found  # the imported copy of the same hash still matches: only this entry is off
    with desk.engine.begin() as connection:
        manage.set_entry_enabled(connection, entry, True, actor="user:lead1", now=utcnow())
        _total, rows = manage.search_entries(connection, "known")
    assert {r["id"]: r["disabled_reason"] for r in rows}[entry] is None


def test_a_video_match_shows_the_matched_frames_and_their_share(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    banked_frames = [generated(i) for i in range(5)]
    original = make_video(tmp_path / "original.mp4", banked_frames)
    posts = tmp_path / "posts"
    posts.mkdir()
    make_video(posts / "clip.mp4", [*banked_frames, generated(40)])
    run_ingest(posts, "videos", engine, settings)
    known = banks.hash_media(FolderStore(settings.data_dir), original)
    with engine.begin() as connection:
        banks.create_bank(connection, "known-video", actor="t", now=utcnow())
        banks.add_media(connection, "known-video", known, actor="t", now=utcnow())
        viewer = add_user(connection, "viewer", "reviewer", "correct horse battery staple", "t")
    run_scan(engine, settings)
    with engine.begin() as connection:
        found = case_file(connection, viewer, case_of(engine, "clip.mp4"), utcnow())
    (block,) = found.evidence
    frames = block["frames"]
    assert frames is not None and [s["name"] for s in block["signals"]] == ["vPDQ"]
    assert frames["usable"] == 6 and frames["share"] == pytest.approx(83.33, abs=0.01)
    assert block["signals"][0]["measure"] == (
        "vPDQ: 83.33% of the post's frames matched — a match needs 80%"
    )
    (segment,) = frames["segments"]
    assert (segment["start"], segment["end"], len(segment["frames"])) == (0.0, 4.0, 5)
    assert block["banked_kind"] == "video"


def test_a_text_match_shows_the_jaccard_and_the_shared_passages(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        banks.create_bank(connection, "statements", actor="t", now=now)
        # Banked from case p1 (its post is kept), and the same text by signature alone.
        banks.add_text(
            connection,
            "statements",
            "Generic re-posted statement text, number one.",
            actor="t",
            now=now,
            provenance={"case": desk.cases["p1"]},
        )
        banks.add_text(
            connection,
            "statements",
            "Generic re-posted statement text, number one!",
            actor="t",
            now=now,
        )
    run_scan(desk.engine, desk.settings)
    with desk.engine.begin() as connection:
        found = case_file(connection, desk.users["rev1"], desk.cases["p2"], now)
    from_case, signature_only = found.evidence
    assert from_case["text"] is not None and signature_only["text"] is not None
    assert from_case["text"]["jaccard"] == 1.0 and from_case["text"]["threshold"] == 0.8
    assert from_case["text"]["passages"] and from_case["origin"].startswith(
        f"added from case #{desk.cases['p1']}"
    )
    assert from_case["signals"][0]["measure"] == "Jaccard similarity 1.00 — bank threshold 0.80"
    assert signature_only["text"]["passages"] is None


def quoted_statement(desk: Desk, tmp_path: Path) -> tuple[int, int, int]:
    """A post quoting the middle half of a banked 200-word statement, and the statement posted
    whole; the statement banked by its words alone ("statements") and again from the whole
    post's case, which keeps its text ("from-cases"). The quoting post's case, and the two
    entries."""
    import json

    from redline.model import Item
    from tests.signals.test_excerpt import STATEMENT, middle_half

    quoted = middle_half()[0]
    export = tmp_path / "quotes.jsonl"
    export.write_text(
        "".join(
            json.dumps({"id": key, "account": key, "time": "2015-06-01T10:00:00Z", "text": text})
            + "\n"
            for key, text in (("q1", f"Share this: {quoted}"), ("q2", STATEMENT))
        ),
        encoding="utf-8",
    )
    run_ingest(export, "quotes", desk.engine, desk.settings)
    now = utcnow()
    with desk.engine.begin() as connection:
        banks.create_bank(connection, "statements", actor="t", now=now)
        plain = banks.add_text(connection, "statements", STATEMENT, actor="t", now=now)
    run_scan(desk.engine, desk.settings)

    def case_of_post(post: str) -> int:
        with desk.engine.connect() as connection:
            case = connection.scalar(
                select(Case.id).join(Item, Item.id == Case.item_id).where(Item.external_id == post)
            )
        assert case is not None, post
        return int(case)

    with desk.engine.begin() as connection:
        banks.create_bank(connection, "from-cases", actor="t", now=now)
        kept = banks.add_text(
            connection,
            "from-cases",
            STATEMENT,
            actor="t",
            now=now,
            provenance={"case": case_of_post("q2")},
        )
    run_scan(desk.engine, desk.settings)
    return case_of_post("q1"), plain.id, kept.id


def test_an_excerpt_match_shows_the_containment_and_the_quoted_place(
    desk: Desk, tmp_path: Path
) -> None:
    from tests.signals.test_excerpt import STATEMENT, middle_half

    case, plain, kept = quoted_statement(desk, tmp_path)
    quoted, start, end = middle_half()
    with desk.engine.begin() as connection:
        found = case_file(connection, desk.users["rev1"], case, utcnow())
    blocks = {block["entry_id"]: block for block in found.evidence}
    assert set(blocks) == {plain, kept}
    for block in blocks.values():
        (signal,) = block["signals"]
        assert signal["signal_type"] == "text_excerpt" and signal["name"] == "Text excerpt"
        assert signal["measure"] == (
            "98% of the post is banked text, 50% of the banked text is in the post (100 words)"
            " — bank threshold 80% of either, at least 25 words"
        )
        text = block["text"]
        assert text is not None and text["jaccard"] is None
        shown = text["excerpt"]
        assert shown is not None
        assert (shown["post_containment"], shown["known_containment"]) == (98.0, 50.0)
        (passage,) = shown["passages"]
        assert passage["text"] == quoted
        assert (passage["banked_first_word"], passage["banked_last_word"]) == (51, 150)
        assert (passage["banked_start"], passage["banked_end"]) == (start, end)
        assert shown["post_segments"] == [
            {"text": "Share this: ", "matched": False},
            {"text": quoted, "matched": True},
        ]
    plain_text, kept_text = blocks[plain]["text"], blocks[kept]["text"]
    assert plain_text is not None and plain_text["excerpt"] is not None
    assert kept_text is not None and kept_text["excerpt"] is not None
    assert plain_text["excerpt"]["banked_segments"] is None
    assert kept_text["excerpt"]["banked_segments"] == [
        {"text": STATEMENT[:start], "matched": False},
        {"text": quoted, "matched": True},
        {"text": STATEMENT[end:], "matched": False},
    ]
