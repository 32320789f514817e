"""vpdq_crop: a banked video's frames re-framed, so letterboxed and cropped re-uploads match.

vPDQ hashes whole frames, so black bars added around a video or a few percent cut off its edges
move every frame's PDQ far past the match threshold, as for photos (``pdq_crop``). For each video
added to a bank from its file, redline also keeps its frames without uniform borders and a small
grid of crops of them (``CROPS``), each as a vPDQ hash of its own (one bank signal per variant,
its name in the meta). A scan's query frames, their border-trimmed and (for banks with dihedral
matching) mirrored forms are looked up among them as among the plain frames
(``redline.signals.vpdq.VpdqSignal.match``); a match is still a ``vpdq`` match, the variant named
in its detail.

The grid is smaller than photos' 64 crops because every crop costs one PDQ hash per second of
video at bank time and one indexed hash per second in the frame index: centred crops in fine
steps (the common re-framing), one edge, and two opposite edges. Measured in
benchmarks/robustness.py (the videos section).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from redline.signals import vpdq, vpdq_worker
from redline.signals.base import BadSignal, Comparison, Hash, Indexed, SignalType

# (name, left, top, right, bottom) as fractions of width and height, as pdq_crop.CROPS.
CROPS: tuple[tuple[str, float, float, float, float], ...] = (
    *((f"centre{p}", p / 100, p / 100, p / 100, p / 100) for p in (2, 3, 4, 5, 6, 8, 10)),
    *((f"left{p}", p / 100, 0.0, 0.0, 0.0) for p in (5, 10)),
    *((f"right{p}", 0.0, 0.0, p / 100, 0.0) for p in (5, 10)),
    *((f"top{p}", 0.0, p / 100, 0.0, 0.0) for p in (5, 10)),
    *((f"bottom{p}", 0.0, 0.0, 0.0, p / 100) for p in (5, 10)),
    *((f"sides{p}", p / 100, 0.0, p / 100, 0.0) for p in (5, 10)),
    *((f"topbottom{p}", 0.0, p / 100, 0.0, p / 100) for p in (5, 10)),
)


class VpdqCropSignal(SignalType):
    """vPDQ hashes of a banked video's trimmed and cropped frames (bank side only)."""

    name: ClassVar[str] = "vpdq_crop"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"video"})
    default_threshold: ClassVar[float] = vpdq.QUERY_MATCH_PERCENT
    # Looked up by vPDQ queries (``VpdqSignal.match``), never on its own.
    indexed: ClassVar[Indexed | None] = Indexed.PARTS

    @classmethod
    def validate(cls, value: str) -> str:
        return vpdq.VpdqSignal.validate(value)

    @classmethod
    def compute(cls, path: Path) -> list[Hash]:
        found = vpdq.hash_video(path, vpdq_worker.BANK)
        hashes = []
        for name, frames in found.variants.items():
            if not frames:
                continue
            good = vpdq.matchable(frames)
            quality = round(100 * len(good) / len(frames))
            hashes.append(Hash(vpdq.serialise(frames), quality, {"crop": name}))
        if not hashes and not found.frames:
            raise BadSignal("unreadable video: no frames decoded")
        return hashes

    @classmethod
    def index_hashes(cls, value: str) -> list[str]:
        return vpdq.matchable(vpdq.parse(value))

    @classmethod
    def compare(cls, a: str, b: str, threshold: float | None = None) -> Comparison:
        return vpdq.VpdqSignal.compare(a, b, threshold)
