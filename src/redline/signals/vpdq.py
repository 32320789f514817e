"""vPDQ: PDQ over a video's frames, matched by the share of frames that find a partner.

Serialised as python-threatexchange does: a JSON array of ``"<pdq hex>,<quality>,<seconds>"``
strings, one per hashed frame. Two videos match when at least 80% of the query's distinct,
good-quality frames are within PDQ distance 31 of some frame of the other (and at least 0% the
other way round), python-threatexchange's VPDQ_QUERY_MATCH_THRESHOLD_PERCENT and
VPDQ_INDEX_MATCH_THRESHOLD_PERCENT, so a clip cut from a banked video still matches it.

redline's matching (``VpdqSignal.match``) goes further, for what re-uploaders do to videos:
- a scan's query carries, beside vPDQ's own frames, the frames without uniform borders
  (letterboxing) and mirrored (searched for banks with dihedral matching on), each a vPDQ
  hash of its own (``VpdqQuery``); they are looked up among the banked videos' frames and their
  trimmed and cropped frames (``redline.signals.vpdq_crop``), and the best of them counts;
- a banked video found whole inside a longer upload matches too (containment: at least
  ``CONTAINED_PERCENT`` of the banked video's frames, and ``MIN_CONTAINED_FRAMES`` of them,
  have a partner in the upload), which the share of the upload's frames never reaches;
- every match says which stretches of the upload matched which stretches of the banked video,
  in seconds (``segments`` in its detail), for the case page.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from redline.config import get_settings
from redline.signals import pdq, vpdq_worker
from redline.signals.base import (
    BadSignal,
    BankLookup,
    BankMatch,
    Comparison,
    Hash,
    Indexed,
    Query,
    SignalType,
)

QUALITY_THRESHOLD = 50
DISTANCE_THRESHOLD = 31
QUERY_MATCH_PERCENT = 80.0
INDEX_MATCH_PERCENT = 0.0
SECONDS_PER_HASH = 1.0
# A banked video inside a longer upload: this share of its frames found, and this many at least
# (so a banked video of a few near-uniform frames is not "contained" in everything).
CONTAINED_PERCENT = 80.0
MIN_CONTAINED_FRAMES = 5
# Matched frames this far apart in the upload, keeping their offset into the banked video within
# the same distance, are one matched segment (still scenes leave gaps: one frame per hash).
SEGMENT_GAP = 3 * SECONDS_PER_HASH
MAX_SEGMENTS = 20  # kept in a match's detail; the longest first


@dataclass(frozen=True, slots=True)
class Frame:
    """One hashed frame."""

    pdq_hex: str
    quality: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.pdq_hex},{self.quality},{self.seconds:.3f}"


@dataclass(frozen=True, slots=True)
class VpdqQuery(Query):
    """A vPDQ hash to look up, with its frame counts (kept beside it in the store)."""

    frames: int = 0
    matchable: int = 0
    trimmed: str | None = None  # vPDQ of the frames without uniform borders, when any had some
    mirrored: str | None = None  # vPDQ of the (trimmed) frames mirrored left to right

    def stored_meta(self) -> dict[str, Any] | None:
        meta: dict[str, Any] = {"frames": self.frames, "matchable": self.matchable}
        if self.trimmed:
            meta["trimmed"] = self.trimmed
        if self.mirrored:
            meta["mirrored"] = self.mirrored
        return meta


def parse(value: str) -> list[Frame]:
    """Frames of a serialised vPDQ hash; BadSignal names the first bad frame."""
    try:
        items = json.loads(value) if value.strip() else []
    except json.JSONDecodeError as error:
        raise BadSignal(f"invalid vPDQ hash: not a JSON list ({error.msg})") from None
    except RecursionError:  # "[[[[...": nested past Python's recursion limit
        raise BadSignal("invalid vPDQ hash: nested too deeply") from None
    except ValueError:  # a number of more digits than Python converts to an int
        raise BadSignal("invalid vPDQ hash: not a JSON list (a number too long)") from None
    if not isinstance(items, list):
        raise BadSignal("invalid vPDQ hash: not a JSON list")
    frames = []
    for position, item in enumerate(items):
        parts = item.split(",") if isinstance(item, str) else []
        if len(parts) != 3:
            raise BadSignal(f"invalid vPDQ frame {position}: expected 'hex,quality,seconds'")
        try:
            hex_value = pdq.PdqSignal.validate(parts[0])
            quality, seconds = int(parts[1]), float(parts[2])
        except (BadSignal, ValueError) as error:
            raise BadSignal(f"invalid vPDQ frame {position}: {error}") from None
        if not 0 <= quality <= 100 or seconds < 0:
            raise BadSignal(f"invalid vPDQ frame {position}: quality or time out of range")
        frames.append(Frame(hex_value, quality, seconds))
    return frames


def serialise(frames: Sequence[Frame]) -> str:
    """The JSON text form of ``frames``."""
    return json.dumps([str(f) for f in frames])


def matchable(frames: Sequence[Frame]) -> list[str]:
    """Distinct PDQ hashes of the frames good enough to match on, in order."""
    return list(dict.fromkeys(f.pdq_hex for f in frames if f.quality >= QUALITY_THRESHOLD))


def matchable_seconds(frames: Sequence[Frame]) -> list[float]:
    """When each of ``matchable(frames)`` is first seen, in seconds (the same order)."""
    first: dict[str, float] = {}
    for f in frames:
        if f.quality >= QUALITY_THRESHOLD:
            first.setdefault(f.pdq_hex, f.seconds)
    return list(first.values())


def match_percents(query: list[str], other: list[str]) -> tuple[float, float]:
    """(share of ``query`` frames with a partner in ``other``, and the reverse), in percent."""
    if not query or not other:
        return 0.0, 0.0
    ints_q = [int(h, 16) for h in query]
    ints_o = [int(h, 16) for h in other]
    matched_o: set[int] = set()
    matched_q = 0
    for q in ints_q:
        found = False
        for j, o in enumerate(ints_o):
            if (q ^ o).bit_count() <= DISTANCE_THRESHOLD:
                found = True
                matched_o.add(j)
        matched_q += found
    return matched_q * 100 / len(query), len(matched_o) * 100 / len(other)


@dataclass(frozen=True, slots=True)
class VideoHashes:
    """What hashing a video gave: vPDQ's own frames and the variants asked for, by name."""

    frames: list[Frame]
    variants: dict[str, list[Frame]]


def hash_frames(path: Path) -> list[Frame]:
    """The vPDQ frames of a video (``hash_video`` in its plain mode)."""
    return hash_video(path, vpdq_worker.PLAIN).frames


def hash_video(path: Path, mode: str) -> VideoHashes:
    """The vPDQ frames of a video and the variants of ``mode`` (``vpdq_worker.MODES``), computed
    in a child process within the settings' CPU-time and memory limits
    (``redline.signals.vpdq_worker``); BadSignal says which limit a hostile or broken file hit,
    or why FFmpeg could not read it."""
    settings = get_settings()
    cpu, memory = settings.video_hash_cpu_seconds, settings.video_hash_memory_bytes
    command = [
        sys.executable,
        "-m",
        "redline.signals.vpdq_worker",
        str(cpu),
        str(memory),
        str(path),
        str(SECONDS_PER_HASH),
        mode,
    ]
    try:
        # The wall-clock limit only catches a child that waits instead of computing.
        done = subprocess.run(command, capture_output=True, timeout=2 * cpu + 30, check=False)
    except subprocess.TimeoutExpired:
        raise BadSignal(f"video hashing took over {2 * cpu + 30} seconds: refused") from None
    said = done.stderr.decode(errors="replace")
    # FFmpeg and vpdq report a failed allocation on stderr, and then fail in their usual way.
    out_of_memory = any(sign in said for sign in ("Cannot allocate memory", "bad_alloc"))
    if done.returncode == vpdq_worker.EXIT_MEMORY or (done.returncode != 0 and out_of_memory):
        raise BadSignal(
            f"video hashing needed more than {memory:,} bytes of memory"
            " (REDLINE_VIDEO_HASH_MEMORY_BYTES): refused"
        )
    if done.returncode in {-signal.SIGXCPU, -signal.SIGKILL}:
        raise BadSignal(
            f"video hashing took over {cpu} CPU seconds (REDLINE_VIDEO_HASH_CPU_SECONDS): refused"
        )
    if done.returncode == vpdq_worker.EXIT_UNREADABLE:
        reason = said.strip().splitlines()
        raise BadSignal(f"unreadable video: {reason[-1] if reason else 'FFmpeg failed'}")
    if done.returncode != 0:
        how = f"signal {-done.returncode}" if done.returncode < 0 else f"status {done.returncode}"
        raise BadSignal(f"unreadable video: the decoder failed ({how})")
    frames: list[Frame] = []
    variants: dict[str, list[Frame]] = {}
    for line in done.stdout.splitlines():
        item = json.loads(line)
        if isinstance(item, dict):
            variants[str(item["variant"])] = [
                Frame(str(h), int(q), float(t)) for h, q, t in item["frames"]
            ]
        else:
            h, q, t = item
            frames.append(Frame(str(h), int(q), float(t)))
    return VideoHashes(frames, variants)


class VpdqSignal(SignalType):
    """vPDQ for videos: per-frame PDQ hashes with timestamps."""

    name: ClassVar[str] = "vpdq"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"video"})
    default_threshold: ClassVar[float] = QUERY_MATCH_PERCENT
    indexed: ClassVar[Indexed | None] = Indexed.PARTS  # one indexed hash per good frame

    @classmethod
    def validate(cls, value: str) -> str:
        frames = parse(value)
        if not frames:
            raise BadSignal("invalid vPDQ hash: no frames")
        return serialise(frames)

    @classmethod
    def compute(cls, path: Path) -> list[Hash]:
        frames = hash_frames(path)
        if not frames:
            raise BadSignal("unreadable video: no frames decoded")
        good = matchable(frames)
        quality = round(100 * len(good) / len(frames))
        return [Hash(serialise(frames), quality, {"frames": len(frames), "matchable": len(good)})]

    @classmethod
    def hash_query(cls, path: Path) -> VpdqQuery:
        """vPDQ of the video with its border-trimmed and mirrored frames (``VpdqQuery``)."""
        found = hash_video(path, vpdq_worker.QUERY)
        frames = found.frames
        if not frames:
            raise BadSignal("unreadable video: no frames decoded")
        good = matchable(frames)
        trimmed, mirrored = found.variants.get("trimmed"), found.variants.get("mirror")
        return VpdqQuery(
            serialise(frames),
            round(100 * len(good) / len(frames)),
            len(frames),
            len(good),
            serialise(trimmed) if trimmed else None,
            serialise(mirrored) if mirrored else None,
        )

    @classmethod
    def query(
        cls, value: str, quality: int | None = None, meta: Mapping[str, Any] | None = None
    ) -> VpdqQuery:
        meta = meta or {}
        return VpdqQuery(
            value,
            quality,
            meta.get("frames", 0),
            meta.get("matchable", 0),
            meta.get("trimmed"),
            meta.get("mirrored"),
        )

    @classmethod
    def index_hashes(cls, value: str) -> list[str]:
        return matchable(parse(value))

    @classmethod
    def match(
        cls, lookup: BankLookup, queries: Sequence[Query], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Matches of each vPDQ query, one per bank entry: >= 80% of the query's good frames
        (as they are, without borders, or mirrored for dihedral banks) found among a banked
        video's frames or its trimmed and cropped frames, or the banked video found whole
        inside the query (containment); each with its matched segments."""
        from redline.signals.vpdq_crop import VpdqCropSignal  # builds on this module

        banks = lookup.banks()
        dihedral = any(b.dihedral for b in banks.values() if include_disabled_banks or b.enabled)
        results: list[list[BankMatch]] = [[] for _ in queries]
        for position, query in enumerate(queries):
            probes = _probes(query, dihedral)
            hexes = [h for probe in probes for h in probe.hexes]
            if not hexes:
                continue
            owners = [(n, i) for n, probe in enumerate(probes) for i in range(len(probe.hexes))]
            hits = [
                *zip(owners, lookup.near(cls.name, hexes, DISTANCE_THRESHOLD), strict=True),
                *zip(
                    owners,
                    lookup.near(VpdqCropSignal.name, hexes, DISTANCE_THRESHOLD),
                    strict=True,
                ),
            ]
            entries = lookup.entries({h.signal_id for _o, frame_hits in hits for h in frame_hits})
            tally: dict[int, _Tally] = {}
            banked: dict[int, list[float]] = {}
            for (probe_number, frame_number), frame_hits in hits:
                for hit in frame_hits:
                    entry = entries.get(hit.signal_id)
                    if entry is None:
                        continue  # deleted since the index was built
                    bank = banks.get(entry.bank_id)
                    if bank is None or not bank.usable(entry.enabled, include_disabled_banks):
                        continue
                    if probes[probe_number].variant == MIRROR and not bank.dihedral:
                        continue
                    if hit.signal_id not in banked:
                        banked[hit.signal_id] = _banked_seconds(entry.value)
                    seconds = banked[hit.signal_id]
                    if hit.part >= len(seconds):
                        continue
                    found = tally.setdefault(entry.entry_id, _Tally(entry.bank_id, entry.category))
                    found.add(probe_number, frame_number, hit.distance, seconds[hit.part])
                    found.banked_total = max(found.banked_total, len(seconds))
            for entry_id, found in tally.items():
                bank = banks[found.bank_id]
                made = found.best(probes)
                if made is None:
                    continue
                distance, detail = made
                results[position].append(
                    BankMatch(
                        bank.name,
                        bank.id,
                        entry_id,
                        cls.name,
                        distance,
                        found.category,
                        bank.confirmed,
                        detail,
                    )
                )
            results[position].sort(key=lambda m: m.distance)
        return results

    @classmethod
    def compare(cls, a: str, b: str, threshold: float | None = None) -> Comparison:
        query, other = matchable(parse(a)), matchable(parse(b))
        query_percent, other_percent = match_percents(query, other)
        needed = QUERY_MATCH_PERCENT if threshold is None else threshold
        is_match = query_percent >= needed and other_percent >= INDEX_MATCH_PERCENT and bool(query)
        detail = {"query_match_percent": query_percent, "compared_match_percent": other_percent}
        return Comparison(is_match, 100 - query_percent, detail)


ORIGINAL, TRIMMED, MIRROR = "original", "trimmed", "mirror"


@dataclass(frozen=True, slots=True)
class _Probe:
    """One form of a query's frames: its distinct good hashes and when each is first seen."""

    variant: str
    hexes: list[str]
    seconds: list[float]


def _probes(query: Query, dihedral: bool) -> list[_Probe]:
    """The forms of a query to look up: as hashed, without borders, mirrored (dihedral)."""
    forms = [(ORIGINAL, query.value)]
    if isinstance(query, VpdqQuery):
        if query.trimmed:
            forms.append((TRIMMED, query.trimmed))
        if dihedral and query.mirrored:
            forms.append((MIRROR, query.mirrored))
    probes = []
    for variant, value in forms:
        frames = parse(value)
        probes.append(_Probe(variant, matchable(frames), matchable_seconds(frames)))
    return probes


def _banked_seconds(value: str) -> list[float]:
    """When each indexed frame (hit part) of a banked value is first seen."""
    try:
        return matchable_seconds(parse(value))
    except BadSignal:
        return []


@dataclass(slots=True)
class _Tally:
    """What one bank entry's frames matched, per form of the query."""

    bank_id: int
    category: str | None
    banked_total: int = 0
    # probe number -> query frame number -> (closest distance, banked seconds)
    frames: dict[int, dict[int, tuple[int, float]]] = field(default_factory=dict)

    def add(self, probe: int, frame: int, distance: int, banked_seconds: float) -> None:
        matched = self.frames.setdefault(probe, {})
        if frame not in matched or distance < matched[frame][0]:
            matched[frame] = (distance, banked_seconds)

    def best(self, probes: Sequence[_Probe]) -> tuple[float, dict[str, Any]] | None:
        """(distance, detail) of the form that matched best, or None when none matches."""
        chosen: tuple[float, dict[str, Any]] | None = None
        for number, matched in self.frames.items():
            probe = probes[number]
            query_percent = 100 * len(matched) / len(probe.hexes)
            banked_frames = len({seconds for _d, seconds in matched.values()})
            total = max(self.banked_total, 1)
            banked_percent = min(100.0, 100 * banked_frames / total)
            contained = (
                banked_percent >= CONTAINED_PERCENT and banked_frames >= MIN_CONTAINED_FRAMES
            )
            if query_percent < QUERY_MATCH_PERCENT and not contained:
                continue
            distance = round(100 - max(query_percent, banked_percent if contained else 0.0), 2)
            if chosen is not None and chosen[0] <= distance:
                continue
            detail: dict[str, Any] = {
                "query_match_percent": round(query_percent, 2),
                "compared_match_percent": round(banked_percent, 2),
                "query_frames": len(probe.hexes),
                "segments": segments(
                    [(probe.seconds[f], banked) for f, (_d, banked) in matched.items()]
                ),
            }
            if probe.variant != ORIGINAL:
                detail["transform"] = probe.variant
            if query_percent < QUERY_MATCH_PERCENT:
                detail["contained"] = True
            chosen = (distance, detail)
        return chosen


def segments(pairs: Sequence[tuple[float, float]]) -> list[dict[str, Any]]:
    """Runs of matched frames, as (seconds in the query, seconds in the banked video) pairs
    grouped where both go on together: each run's start and end in the query and in the banked
    video and the query frames' times, longest first (at most ``MAX_SEGMENTS``)."""
    runs: list[list[tuple[float, float]]] = []
    for query_seconds, banked_seconds in sorted(pairs):
        if runs:
            last_query, last_banked = runs[-1][-1]
            offset_moved = abs((banked_seconds - query_seconds) - (last_banked - last_query))
            if query_seconds - last_query <= SEGMENT_GAP and offset_moved <= SEGMENT_GAP:
                runs[-1].append((query_seconds, banked_seconds))
                continue
        runs.append([(query_seconds, banked_seconds)])
    runs.sort(key=lambda run: (-len(run), run[0][0]))
    return [
        {
            "start": run[0][0],
            "end": run[-1][0],
            "banked_start": min(b for _q, b in run),
            "banked_end": max(b for _q, b in run),
            "frames": [q for q, _b in run],
        }
        for run in runs[:MAX_SEGMENTS]
    ]
