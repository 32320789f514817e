"""Hostile videos are hashed in a child process with CPU-time and memory limits (issue 14, 6).

A video whose frames are huge, or that takes far longer to decode than it should, is quarantined
with the limit it hit; the scan goes on and hashes the rest.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from redline.config import Settings, get_settings
from tests.helpers import quarantined, run_ingest
from tests.media_fixtures import generated, make_video
from tests.pipeline.test_scan import run_scan


def ffmpeg(*arguments: str) -> None:
    """Run FFmpeg (installed with the test dependencies, as make_video needs)."""
    binary = shutil.which("ffmpeg")
    assert binary is not None, "ffmpeg is needed to make test videos"
    subprocess.run([binary, "-v", "error", "-y", *arguments], check=True, timeout=120)


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings read from the environment again, in this process and its hashing workers."""
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_huge_frames_are_quarantined_over_the_memory_limit(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    limits: None,
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    good = make_video(folder / "good.mp4", [generated(1), generated(2), generated(3)])
    # One 8192x8192 frame: 200 kB of file, 200 MB per decoded RGB frame.
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:size=8192x8192:rate=1:duration=1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(folder / "huge.mp4"),
    )
    (folder / "truncated.mp4").write_bytes(good.read_bytes()[:3000])
    monkeypatch.setenv("REDLINE_VIDEO_HASH_MEMORY_BYTES", "900000000")
    get_settings.cache_clear()
    run_ingest(folder, "videos", engine, settings)
    summary = run_scan(engine, settings)
    assert (summary.hashed, summary.hash_errors) == (1, 2)
    reasons = {q.file: q.reason for q in quarantined(engine)}
    assert reasons["huge.mp4"].startswith("video hashing needed more than 900,000,000 bytes")
    assert "REDLINE_VIDEO_HASH_MEMORY_BYTES" in reasons["huge.mp4"]
    assert reasons["truncated.mp4"].startswith("unreadable video")


def test_a_video_past_the_cpu_limit_is_quarantined_and_the_scan_goes_on(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    limits: None,
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "good.mp4", [generated(4), generated(5)])
    # Ten minutes of 640x360 at 25 fps (a two-second clip repeated without re-encoding): far
    # more decoding than a one-second CPU limit allows.
    clip = tmp_path / "clip.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=duration=2:size=640x360:rate=25",
        "-pix_fmt",
        "yuv420p",
        "-preset",
        "ultrafast",
        str(clip),
    )
    ffmpeg("-stream_loop", "300", "-i", str(clip), "-c", "copy", str(folder / "endless.mp4"))
    monkeypatch.setenv("REDLINE_VIDEO_HASH_CPU_SECONDS", "1")
    get_settings.cache_clear()
    run_ingest(folder, "videos", engine, settings)
    summary = run_scan(engine, settings)
    assert (summary.hashed, summary.hash_errors) == (1, 1)
    (bad,) = quarantined(engine)
    assert bad.file == "endless.mp4"
    assert bad.reason == (
        "video hashing took over 1 CPU seconds (REDLINE_VIDEO_HASH_CPU_SECONDS): refused"
    )
