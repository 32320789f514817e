"""The video cases of ``robustness.py``: how often a banked video is still found after a
re-uploader changed it, by plain vPDQ and by redline's matching, and how often distinct videos
match.

Videos: natural-looking 640x360 H.264 videos made here, never downloaded: each is a few scenes
of real photographs (scikit-image's and scikit-learn's, read from the installed packages'
files), each scene a slow pan and zoom across its photograph (a camera moving over a still, as
documentaries and slideshow uploads do), cut one to the next. No two videos share a
photograph, so any match between two of them is a false match.

Each video is banked as ``redline bank add`` banks a file: vPDQ and the trimmed and cropped
frames (``vpdq_crop``); a 15-second clip of it is banked too, for the clip-inside-a-longer-upload
case. Each transform of ``TRANSFORMS`` is made with ffmpeg from the original and hashed as a
scan hashes it (``VpdqSignal.hash_query``: vPDQ, the frames without borders, mirrored). Two
methods, side by side:
- ``vpdq``: plain vPDQ, as python-threatexchange and redline before it match (>= 80% of the
  query's frames within PDQ distance 31 of the banked video's frames);
- ``redline``: ``VpdqSignal.match`` over every banked video (the mirror case's bank has dihedral
  matching on), a transform found when its own video's entry matches (for the clip inside a
  longer upload: the clip's entry), with the matched segments checked against where the
  transform put them.
False matches: a match of any query to an entry of another video (every query of every video
against every entry), and of each original against every other video's entries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from redline.signals import vpdq, vpdq_crop
from redline.signals.base import BankedSignal, BankMatch, BankRules, EqualValue, Hit, TextSearch

WIDTH, HEIGHT, FPS = 640, 360, 25
SECONDS = 40  # each video's length (``--video-seconds``)


def clip_bounds(seconds: float) -> tuple[float, float]:
    """The banked clip, and the clip transform, in the original's seconds: 10-25 s of 40 s."""
    return seconds / 4, seconds * 5 / 8


GOAL_DETECTION = 0.95

# ffmpeg video filters (or input options) of each transform, applied to the original.
TRANSFORMS: dict[str, dict[str, Any]] = {
    "reencode_crf38": {"codec": ["-crf", "38"]},
    "half_size": {"filter": "scale=iw/2:ih/2"},
    "clip_15s": {"clip": True},
    "brightness_contrast": {"filter": "eq=brightness=0.06:contrast=1.25"},
    "fps_15": {"filter": "fps=15"},
    "letterbox_4_3": {"filter": "pad=iw:iw*3/4:0:(oh-ih)/2:black"},
    "crop_10pct": {"filter": "crop=iw*0.9:ih*0.9"},  # 5% off every side
    "crop_10pct_each_side": {"filter": "crop=iw*0.8:ih*0.8"},
    "mirror": {"filter": "hflip", "dihedral": True},
    "clip_inside_longer_upload": {"longer": True},
}


def photographs(files: dict[str, str]) -> dict[str, np.ndarray]:
    """The real photographs installed with scikit-image (``files``: name -> file in its data
    folder, ``robustness.PHOTOS``) and scikit-learn, as RGB arrays."""
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    out: dict[str, np.ndarray] = {}
    for name, filename in files.items():
        if (folder / filename).is_file():
            with Image.open(folder / filename) as opened:
                grey = opened.mode in ("1", "I;16", "I", "F")
                out[name] = np.asarray((opened.convert("L") if grey else opened).convert("RGB"))
    try:
        from sklearn.datasets import load_sample_images

        for name, image in zip(("china", "flower"), load_sample_images().images, strict=True):
            out[name] = np.asarray(image)
    except ImportError:
        pass
    return out


def scene_frames(photo: np.ndarray, count: int, seed: int) -> Iterable[np.ndarray]:
    """A slow pan and zoom across ``photo``, ``count`` frames long, as 640x360 frames."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(photo)
    width, height = image.size
    # The window keeps the output's 16:9 shape and covers 60-85% of the photograph's width;
    # it drifts by at most a quarter of the free room (a camera moving slowly over a still).
    start_zoom = rng.uniform(0.65, 0.85)
    end_zoom = start_zoom - rng.uniform(0.0, 0.08)
    x0, y0 = rng.uniform(0.2, 0.8, 2)
    x1, y1 = np.clip(np.array([x0, y0]) + rng.uniform(-0.25, 0.25, 2), 0, 1)
    for n in range(count):
        t = n / max(1, count - 1)
        zoom = start_zoom + (end_zoom - start_zoom) * t
        box_w = min(width, zoom * width)
        box_h = box_w * HEIGHT / WIDTH
        if box_h > height:
            box_h, box_w = height, height * WIDTH / HEIGHT
        left = (x0 + (x1 - x0) * t) * (width - box_w)
        top = (y0 + (y1 - y0) * t) * (height - box_h)
        box = (left, top, left + box_w, top + box_h)
        yield np.asarray(image.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR, box))


def write_video(path: Path, scenes: Sequence[tuple[np.ndarray, float, int]]) -> Path:
    """An H.264 video of ``scenes`` ((photograph, seconds, seed) each), piped to ffmpeg."""
    command = [
        "ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "pipe:0",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-threads", "1", str(path),
    ]  # fmt: skip
    with subprocess.Popen(command, stdin=subprocess.PIPE) as ffmpeg:
        assert ffmpeg.stdin is not None
        done = 0.0
        for photo, seconds, seed in scenes:
            # Whole frames per scene adding up to the whole length: the video lasts exactly
            # what was asked (the longer upload's banked part starts on a whole second).
            count = round(done + seconds * FPS) - round(done)
            done += seconds * FPS
            for frame in scene_frames(photo, count, seed):
                ffmpeg.stdin.write(frame.tobytes())
        ffmpeg.stdin.close()
    if ffmpeg.returncode != 0:
        raise RuntimeError(f"ffmpeg failed writing {path}")
    return path


def transform(
    original: Path, name: str, out: Path, seconds: float, longer_with: Path | None = None
) -> Path:
    """The ``name`` transform of ``original`` (``TRANSFORMS``; ``seconds`` long), written to
    ``out``."""
    spec = TRANSFORMS[name]
    if spec.get("clip"):
        return clip_of(original, out, seconds)
    if spec.get("longer"):
        # The upload: 20 s of an unbanked video, then the original (the banked clip inside it).
        assert longer_with is not None
        command = [
            "ffmpeg", "-v", "error", "-y", "-t", "20", "-i", str(longer_with), "-i", str(original),
            "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]",
            "-c:v", "libx264", "-preset", "veryfast", "-threads", "1", str(out),
        ]  # fmt: skip
    else:
        command = ["ffmpeg", "-v", "error", "-y", *spec.get("input", []), "-i", str(original)]
        if "filter" in spec:
            command += ["-vf", spec["filter"]]
        command += ["-c:v", "libx264", "-preset", "veryfast", "-threads", "1"]
        command += [*spec.get("codec", []), str(out)]
    subprocess.run(command, check=True)
    return out


def clip_of(original: Path, out: Path, seconds: float) -> Path:
    """The banked clip: ``clip_bounds`` of the original."""
    start, end = clip_bounds(seconds)
    command = [
        "ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", str(end - start), "-i",
        str(original), "-c:v", "libx264", "-preset", "veryfast", "-threads", "1", str(out),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    return out


# --- an in-memory bank: what redline's matcher answers, over the benchmark's entries ---------


@dataclass
class _Row:
    signal_id: int
    entry_id: int
    bank_id: int
    signal_type: str
    value: str
    hexes: list[str]


class MemoryBanks:
    """A ``BankLookup`` over banked videos held in memory (brute-force Hamming search), so the
    benchmark runs ``VpdqSignal.match`` itself without a database."""

    def __init__(self) -> None:
        self.rows: list[_Row] = []
        self.rules = {
            1: BankRules(1, "videos", True, 1.0, 31, False, True, 0.8),
            2: BankRules(2, "videos-dihedral", True, 1.0, 31, True, True, 0.8),
        }
        self._codes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def add(self, entry_id: int, bank_id: int, signals: dict[str, list[str]]) -> None:
        for signal_type, values in signals.items():
            for value in values:
                hexes = vpdq.matchable(vpdq.parse(value))
                self.rows.append(
                    _Row(len(self.rows) + 1, entry_id, bank_id, signal_type, value, hexes)
                )
        self._codes.clear()

    def banks(self) -> dict[int, BankRules]:
        return self.rules

    def entries(self, signal_ids: Iterable[int]) -> dict[int, BankedSignal]:
        wanted = set(signal_ids)
        return {
            r.signal_id: BankedSignal(r.entry_id, r.bank_id, True, None, r.value, None)
            for r in self.rows
            if r.signal_id in wanted
        }

    def _index(self, signal_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if signal_type not in self._codes:
            codes, ids, parts = [], [], []
            for r in self.rows:
                if r.signal_type == signal_type:
                    for part, h in enumerate(r.hexes):
                        codes.append(np.frombuffer(bytes.fromhex(h), np.uint8))
                        ids.append(r.signal_id)
                        parts.append(part)
            self._codes[signal_type] = (
                np.array(codes, np.uint8).reshape(-1, 32),
                np.array(ids),
                np.array(parts),
            )
        return self._codes[signal_type]

    def near(self, signal_type: str, hashes: Sequence[str], radius: int) -> list[list[Hit]]:
        codes, ids, parts = self._index(signal_type)
        out: list[list[Hit]] = []
        for h in hashes:
            query = np.frombuffer(bytes.fromhex(h), np.uint8)
            distance = np.unpackbits(codes ^ query, axis=1).sum(axis=1) if len(codes) else []
            close = np.flatnonzero(np.asarray(distance) <= radius)
            out.append([Hit(int(ids[i]), int(distance[i]), int(parts[i])) for i in close])
        return out

    def equal(self, signal_types: Sequence[str], values: Sequence[str]) -> list[EqualValue]:
        return []

    def texts(self, signal_type: str) -> TextSearch:
        raise NotImplementedError("no text banks here")


# --- the run ---------------------------------------------------------------------------------


def _segment_right(match: BankMatch, name: str, seconds: float) -> bool:
    """Whether a match's segments are where the transform put the banked content: every one
    at the expected offset between the query's and the banked video's seconds (within a second
    and a half: frames are hashed a second apart), together spanning at least 70% of the
    expected length (frames of low quality, and repeats of a still picture, leave gaps)."""
    found = match.detail.get("segments") or []
    if not found:
        return False
    start, end = clip_bounds(seconds)
    # (banked seconds minus query seconds, the length the segments should span)
    offset, length = {
        "clip_15s": (start, end - start - 1),
        "clip_inside_longer_upload": (-(20.0 + start), end - start - 1),
    }.get(name, (0.0, seconds - 1))
    at_offset = all(abs(s["banked_start"] - s["start"] - offset) <= 1.5 for s in found)
    spanned = sum(s["end"] - s["start"] + 1 for s in found)
    return at_offset and spanned >= 0.7 * length


def run(count: int, quick: bool, files: dict[str, str], length: float = SECONDS) -> dict[str, Any]:
    """The video section of the robustness benchmark (``files``: the photographs to use;
    ``length``: each video's, in seconds)."""
    if shutil.which("ffmpeg") is None:
        return {"skipped": "ffmpeg is not installed"}
    photos = photographs(files)
    names = sorted(photos)
    per_video = max(1, (len(names) - 2) // count)  # two or more left for the filler
    if per_video < 2:
        count, per_video = len(names) // 2, 2
    transforms = list(TRANSFORMS) if not quick else ["letterbox_4_3", "crop_10pct", "mirror"]
    hash_seconds: dict[str, float] = {"plain": 0.0, "query": 0.0, "bank_crop": 0.0}
    hashed_videos = 0
    banks = MemoryBanks()
    queries: dict[tuple[int, str], vpdq.VpdqQuery] = {}
    originals: dict[int, vpdq.VpdqQuery] = {}
    banked_plain: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="redline-videos-") as folder:
        root = Path(folder)
        videos = []
        for number in range(count):
            chosen = names[number * per_video : (number + 1) * per_video]
            seconds = length / len(chosen)
            scenes = [(photos[n], seconds, 1000 * number + k) for k, n in enumerate(chosen)]
            videos.append(write_video(root / f"video{number}.mp4", scenes))
        # Unbanked material for the longer upload: the photographs no banked video shows (or,
        # when every one is used, plain grey), so nothing in it is anyone's banked content.
        spare = names[count * per_video :]
        filler = write_video(
            root / "filler.mp4",
            [(photos[n], 20 / len(spare), 99_000 + k) for k, n in enumerate(spare)]
            if spare
            else [(np.full((HEIGHT, WIDTH, 3), 128, np.uint8), 20, 0)],
        )
        clips_needed = any(name.startswith("clip") for name in transforms)
        for number, original in enumerate(videos):
            # Hash-time cost on the same file: plain vPDQ (what a bank and scans computed
            # before), a scan's query (vPDQ, trimmed, mirrored), a bank's crop frames.
            wall = time.perf_counter()
            plain = vpdq.VpdqSignal.compute(original)[0].value
            hash_seconds["plain"] += time.perf_counter() - wall
            wall = time.perf_counter()
            crops = [h.value for h in vpdq_crop.VpdqCropSignal.compute(original)]
            hash_seconds["bank_crop"] += time.perf_counter() - wall
            wall = time.perf_counter()
            originals[number] = vpdq.VpdqSignal.hash_query(original)
            hash_seconds["query"] += time.perf_counter() - wall
            hashed_videos += 1
            banked_plain[number] = plain
            # Entries: 10*n for the video, 10*n+1 for its clip; bank 2 (dihedral) holds the
            # same videos again as 10*n+5, for the mirror case.
            for bank_id, offset in ((1, 0), (2, 5)):
                banks.add(10 * number + offset, bank_id, {"vpdq": [plain], "vpdq_crop": crops})
            if clips_needed:
                clip = clip_of(original, root / f"clip{number}.mp4", length)
                clip_plain = vpdq.VpdqSignal.compute(clip)[0].value
                clip_crops = [h.value for h in vpdq_crop.VpdqCropSignal.compute(clip)]
                banks.add(10 * number + 1, 1, {"vpdq": [clip_plain], "vpdq_crop": clip_crops})
            for name in transforms:
                made = transform(original, name, root / f"v{number}-{name}.mp4", length, filler)
                queries[(number, name)] = vpdq.VpdqSignal.hash_query(made)
                made.unlink()
    rows = []
    false_matches: list[dict[str, Any]] = []
    for name in transforms:
        plain_found, redline_found, segments_right = 0, 0, 0
        for number in range(count):
            query = queries[(number, name)]
            target = 10 * number + (1 if name == "clip_inside_longer_upload" else 0)
            banked = banked_plain[number]
            if name == "clip_inside_longer_upload":
                banked = next(
                    r.value for r in banks.rows if r.entry_id == target and r.signal_type == "vpdq"
                )
            plain_found += vpdq.VpdqSignal.compare(query.value, banked).match
            (matches,) = vpdq.VpdqSignal.match(banks, [query])
            if TRANSFORMS[name].get("dihedral"):
                target += 5
            own = [m for m in matches if m.entry_id == target]
            redline_found += bool(own)
            segments_right += bool(own) and _segment_right(own[0], name, length)
            for m in matches:
                if m.entry_id // 10 != number:
                    false_matches.append(
                        {"query": f"video{number}:{name}", "entry_video": m.entry_id // 10,
                         "detail": {k: v for k, v in m.detail.items() if k != "segments"}}
                    )  # fmt: skip
        rows.append(
            {
                "transform": name,
                "videos": count,
                "matched": {
                    "vpdq": round(plain_found / count, 3),
                    "redline": round(redline_found / count, 3),
                },
                "segments_right": round(segments_right / count, 3),
                "goal": GOAL_DETECTION,
                "meets_goal": redline_found / count >= GOAL_DETECTION,
            }
        )
    for number, query in originals.items():
        (matches,) = vpdq.VpdqSignal.match(banks, [query])
        for m in matches:
            if m.entry_id // 10 != number:
                false_matches.append(
                    {"query": f"video{number}:original", "entry_video": m.entry_id // 10,
                     "detail": {k: v for k, v in m.detail.items() if k != "segments"}}
                )  # fmt: skip
    plain_false = sum(
        vpdq.VpdqSignal.compare(originals[a].value, banked_plain[b]).match
        for a in range(count)
        for b in range(count)
        if a != b
    )
    return {
        "videos": count,
        "video_seconds": length,
        "size": f"{WIDTH}x{HEIGHT}",
        "photographs_per_video": per_video,
        "crop_grid": [name for name, *_ in vpdq_crop.CROPS],
        "transforms": rows,
        "false_matches": {
            "pairs_of_distinct_videos": count * (count - 1),
            "queries_against_other_videos": len(queries) + len(originals),
            "vpdq": plain_false,
            "redline": len(false_matches),
            "examples": false_matches[:10],
        },
        "hash_seconds_per_video": {
            "vpdq_plain": round(hash_seconds["plain"] / hashed_videos, 3),
            "scan_query": round(hash_seconds["query"] / hashed_videos, 3),
            "query_over_plain": round(hash_seconds["query"] / max(hash_seconds["plain"], 1e-9), 2),
            "bank_crops": round(hash_seconds["bank_crop"] / hashed_videos, 3),
            "bank_crops_over_plain": round(
                hash_seconds["bank_crop"] / max(hash_seconds["plain"], 1e-9), 2
            ),
        },
        "cpu_count": os.cpu_count(),
    }
