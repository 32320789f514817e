"""The demo data set: built from code alone, the same every time, and fully ingested."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from redline.demo import build_demo
from tests.conftest import CliResult


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_demo_files_are_deterministic_and_complete(tmp_path: Path) -> None:
    first = build_demo(tmp_path / "a")
    build_demo(tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert set(first.sources) == {"demo-media", "demo-csv", "demo-telegram", "demo-urls"}
    media = first.sources["demo-media"][0]
    originals = sorted(media.glob("demo-?.png"))
    assert len(originals) == 6
    with (
        Image.open(media / "demo-1-cropped.jpg") as cropped,
        Image.open(media / "demo-1.png") as original,
    ):
        assert cropped.size[0] < original.size[0]  # altered copies really are altered
    export = json.loads(
        (first.sources["demo-telegram"][0] / "result.json").read_text(encoding="utf-8")
    )
    assert any(isinstance(m.get("text"), list) for m in export["messages"])  # entity-formatted text
    posts = first.sources["demo-csv"][0].read_text(encoding="utf-8")
    assert (
        "Road works" in posts
        and "\u0627\u0644\u0645\u0643\u062a\u0628\u0629" in posts
        and "boulangerie" in posts
    )


def test_redline_demo_ingests_everything(
    cli: Callable[..., CliResult], settings: object, tmp_path: Path
) -> None:
    result = cli("demo", "--output", str(tmp_path / "demo"))
    assert result.code == 0, result.err
    status = json.loads(cli("status", "--json").out)
    per_source = status["per_source"]
    assert set(per_source) == {"demo-media", "demo-csv", "demo-telegram", "demo-urls"}
    assert per_source["demo-media"]["items"] == 28 and per_source["demo-media"]["media"] == 28
    assert per_source["demo-csv"]["revisions"] == 1  # the edited post
    assert per_source["demo-telegram"]["media"] == 8
    assert status["reposted_texts"] >= 1  # the same notice posted by three accounts
    # One deliberate problem per file shows the quarantine: a broken JPEG, a cut-off row, a bad
    # URL, a malformed hash in the partner's list.
    assert status["quarantined"] == 4
    again = cli("demo", "--output", str(tmp_path / "demo"))
    assert again.code == 0 and json.loads(cli("status", "--json").out)["items"] == status["items"]
    banks = {b["name"]: b for b in json.loads(cli("bank", "list", "--json").out)}
    assert banks["demo-known-media"]["entries"] == 4 and banks["demo-partner-list"]["entries"] == 2
    assert banks["demo-known-texts"]["entries"] == 1
    assert "Classifier" in result.out and "Researchers published" in result.out  # scores shown
    # The scan `make run` does shows every kind of match the demo was built for.
    assert cli("scan").code == 0
    after = json.loads(cli("status", "--json").out)
    assert (after["banks"], after["bank_entries"]) == (3, 7)
    assert after["matches"] >= 30 and after["cases_open"] >= 25
    matches = json.loads(cli("matches", "--json").out)
    kinds = {(m["bank"], m["signal_type"]) for m in matches}
    assert {
        ("demo-known-media", "pdq"),
        ("demo-known-media", "pdq_crop"),
        ("demo-known-media", "vpdq"),
        ("demo-known-media", "sha256"),
        ("demo-partner-list", "pdq"),
        ("demo-known-texts", "text_minhash"),
    } <= kinds
    altered = {m["item"]["file_name"] for m in matches if m["bank"] == "demo-known-media"}
    assert {"demo-1-cropped.jpg", "demo-1-letterboxed.jpg", "demo-clip-small.mp4"} <= altered

    # The text stages: the re-typed statement matched, the links listed, no demo post flagged
    # (they are notices, reporting, research, counter-speech and religious greetings).
    (statement,) = [m for m in matches if m["bank"] == "demo-known-texts"]
    assert 0.7 <= statement["detail"]["jaccard"] < 1.0
    links = {r["url"]: r for r in json.loads(cli("outlinks", "--json").out)}
    assert links["https://pastebin.com/DEMOnotes"]["host_class"] == "paste"
    assert links["https://t.me/joinchat/DEMOinvite"]["host_class"] == "messaging_invite"
    assert links["https://example.org/notices/road-works"]["count"] == 2  # two spellings, one URL
    assert after["scores"] >= 30 and after["flagged"] == 0
