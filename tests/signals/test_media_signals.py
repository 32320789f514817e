"""PDQ, crop and border signals, vPDQ and exact hashes, checked against their reference behaviour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from redline.signals import MEDIA_SIGNALS, BadSignal, signal_type
from redline.signals import vpdq as vpdq_signal
from redline.signals.exact import Md5Signal, Sha256Signal, VideoMd5Signal
from redline.signals.pdq import (
    PdqSignal,
    dihedral_hashes,
    distance,
    hash_array,
    load_for_pdq,
    load_rgb,
    mirror_hash,
)
from redline.signals.pdq_crop import CROPS, PdqCropSignal, crop, trim_borders
from tests.media_fixtures import generated, make_video, photo


def test_pdq_agrees_with_python_threatexchange(tmp_path: Path) -> None:
    from threatexchange.signal_type.pdq.signal import PdqSignal as ThreatExchangePdq

    for name, image in (("photo.png", photo("coffee")), ("synthetic.png", generated(3))):
        path = tmp_path / name
        image.save(path)
        (ours,) = PdqSignal.compute(path)
        assert ours.value == ThreatExchangePdq.hash_from_file(path)  # same bits, same hex order
        assert ours.quality == 100
    # Big JPEGs are decoded at a reduced scale (Pillow draft): within a few bits of full decoding.
    big = tmp_path / "big.jpg"
    photo("astronaut").resize((2048, 2048)).save(big, quality=90)
    (drafted,) = PdqSignal.compute(big)
    assert distance(drafted.value, ThreatExchangePdq.hash_from_file(big)) <= 8


def test_pdq_validation_and_distance() -> None:
    valid = "F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22"
    assert PdqSignal.validate(f"  {valid} ") == valid.lower()
    for bad in ("", "f8f8", valid + "0", "g" * 64):
        with pytest.raises(BadSignal, match="expected 64 hex digits"):
            PdqSignal.validate(bad)
    flipped = format(int(valid, 16) ^ 0b1011, "064x")
    result = PdqSignal.compare(valid, flipped)
    assert (result.match, result.distance) == (True, 3)
    far = format(int(valid, 16) ^ (2**32 - 1), "064x")
    assert PdqSignal.compare(valid, far).match is False
    assert PdqSignal.compare(valid, far, threshold=32).match is True


def test_dihedral_hashes_find_flipped_and_rotated_copies() -> None:
    image = photo("chelsea")
    original = hash_array(np.asarray(image)).value
    for transformed in (ImageOps.mirror(image), image.rotate(90, expand=True)):
        plain = hash_array(np.asarray(transformed)).value
        assert distance(plain, original) > 31  # plain PDQ does not see it
        assert min(distance(h, original) for h in dihedral_hashes(np.asarray(transformed))) <= 31


def test_unreadable_images_are_bad_signals(tmp_path: Path) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    with pytest.raises(BadSignal, match="unreadable image"):
        PdqSignal.compute(tmp_path / "broken.jpg")


def test_crop_grid_catches_crops_plain_pdq_misses() -> None:
    original = np.asarray(photo("astronaut"))
    stored = PdqCropSignal.compute_array(original)
    # The grid, then the middle-masked hash (a photograph without borders has no trimmed one).
    assert [h.meta for h in stored] == [{"crop": n} for n, *_ in CROPS] + [
        {"crop": "middle_masked"}
    ]
    grid = [h.value for h in stored]
    for sides in ((0.05, 0.05, 0.05, 0.05), (0.08, 0.0, 0.0, 0.0), (0.0, 0.06, 0.0, 0.06)):
        query = hash_array(crop(original, *sides)).value
        assert distance(query, hash_array(original).value) > 31
        assert min(distance(query, g) for g in grid) <= 31


def test_borders_are_trimmed_back_to_the_picture() -> None:
    picture = photo("coffee")
    boxed = ImageOps.expand(picture, border=(0, 48), fill=(0, 0, 0))
    trimmed = trim_borders(np.asarray(boxed))
    assert trimmed is not None and trimmed.shape[:2] == np.asarray(picture).shape[:2]
    assert distance(hash_array(trimmed).value, hash_array(np.asarray(picture)).value) <= 4
    assert trim_borders(np.asarray(picture)) is None  # no border, no second hash


def test_vpdq_matches_reencoded_and_clipped_copies_not_other_videos(tmp_path: Path) -> None:
    frames = [generated(i) for i in range(6)]
    original = make_video(tmp_path / "original.mp4", frames)
    smaller = make_video(tmp_path / "smaller.mp4", frames, scale="320:240")
    clip = make_video(tmp_path / "clip.mp4", frames[:3])
    other = make_video(tmp_path / "other.mp4", [generated(i) for i in range(20, 26)])
    (bank,) = vpdq_signal.VpdqSignal.compute(original)
    frames_parsed = vpdq_signal.parse(bank.value)
    assert len(frames_parsed) >= 6 and all(f.quality >= 50 for f in frames_parsed)
    assert vpdq_signal.VpdqSignal.validate(bank.value) == bank.value  # round-trips
    for copy in (smaller, clip):
        (query,) = vpdq_signal.VpdqSignal.compute(copy)
        result = vpdq_signal.VpdqSignal.compare(query.value, bank.value)
        assert result.match and result.detail["query_match_percent"] >= 80
    (clip_hash,) = vpdq_signal.VpdqSignal.compute(clip)
    # The banked video is not "contained" in the clip: half of its frames have no partner.
    assert vpdq_signal.VpdqSignal.compare(bank.value, clip_hash.value).match is False
    (other_hash,) = vpdq_signal.VpdqSignal.compute(other)
    assert vpdq_signal.VpdqSignal.compare(other_hash.value, bank.value).match is False


def test_vpdq_rejects_bad_hashes_and_bad_videos(tmp_path: Path) -> None:
    for bad, reason in (
        ("not json", "not a JSON list"),
        ('["abc"]', "expected 'hex,quality,seconds'"),
        ('["' + "a" * 64 + ',101,0.0"]', "out of range"),
        ("[]", "no frames"),
    ):
        with pytest.raises(BadSignal, match=reason):
            vpdq_signal.VpdqSignal.validate(bad)
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    with pytest.raises(BadSignal, match="unreadable video"):
        vpdq_signal.VpdqSignal.compute(tmp_path / "broken.mp4")


def test_exact_hashes(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert Md5Signal.compute(path)[0].value == "900150983cd24fb0d6963f7d28e17f72"
    assert Sha256Signal.compute(path)[0].value.startswith("ba7816bf")
    assert (
        VideoMd5Signal.validate(" 900150983CD24FB0D6963F7D28E17F72 ")
        == "900150983cd24fb0d6963f7d28e17f72"
    )
    with pytest.raises(BadSignal, match="expected 32 hex digits"):
        Md5Signal.validate("zz")
    assert set(MEDIA_SIGNALS) == {
        "pdq",
        "pdq_crop",
        "vpdq",
        "vpdq_crop",
        "md5",
        "video_md5",
        "sha256",
    }
    with pytest.raises(BadSignal, match="unknown signal type 'phash'"):
        signal_type("phash")


def test_load_rgb_handles_every_image_mode(tmp_path: Path) -> None:
    for mode, value in (
        ("CMYK", (0, 255, 0, 0)),
        ("I;16", 40000),
        ("RGBA", (0, 0, 255, 128)),
        ("P", 3),
        ("L", 100),
    ):
        path = (
            tmp_path / f"{mode.replace(';', '')}.png" if mode != "CMYK" else tmp_path / "cmyk.jpg"
        )
        Image.new(mode, (40, 30), value).save(path)
        rgb = load_rgb(path)
        assert rgb.shape == (30, 40, 3) and rgb.dtype == np.uint8


def test_vpdq_segments_pair_the_posts_seconds_with_the_banked_videos() -> None:
    # Seconds 5-9 of the post are banked seconds 0-4; seconds 20-22 are banked 30-32 (another
    # stretch of the banked video: a new offset, a new segment); a still scene leaves a gap of
    # two seconds inside the first run, which stays one segment.
    pairs = [(5.0, 0.0), (6.0, 1.0), (8.0, 3.0), (9.0, 4.0), (20.0, 30.0), (21.0, 31.0)]
    pairs.append((22.0, 32.0))
    found = vpdq_signal.segments(pairs)
    assert [(s["start"], s["end"], s["banked_start"], s["banked_end"]) for s in found] == [
        (5.0, 9.0, 0.0, 4.0),
        (20.0, 22.0, 30.0, 32.0),
    ]
    assert found[0]["frames"] == [5.0, 6.0, 8.0, 9.0]
    # The same post seconds, matched to banked frames far apart: two segments, not one.
    jumped = vpdq_signal.segments([(0.0, 0.0), (1.0, 1.0), (2.0, 20.0), (3.0, 21.0)])
    assert len(jumped) == 2


def test_a_big_jpegs_mirror_hash_is_that_of_its_mirrored_pixels(tmp_path: Path) -> None:
    """A JPEG read as one luminance plane (``load_for_pdq``) gets the mirror hash that its pixels
    copied out to three channels get, and both are near the hash of the mirrored file itself."""
    image = photo("astronaut").resize((1600, 1200))
    original, mirrored = tmp_path / "original.jpg", tmp_path / "mirrored.jpg"
    image.save(original, quality=92)
    ImageOps.mirror(image).save(mirrored, quality=92)
    plane = load_for_pdq(original)
    assert plane.strides[2] == 0  # the one-plane path is the one under test
    assert mirror_hash(plane) == mirror_hash(np.ascontiguousarray(plane))
    assert distance(mirror_hash(plane), hash_array(load_for_pdq(mirrored)).value) <= 12
