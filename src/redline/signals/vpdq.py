"""vPDQ: PDQ over a video's frames, matched by the share of frames that find a partner.

Serialised as python-threatexchange does: a JSON array of ``"<pdq hex>,<quality>,<seconds>"``
strings, one per hashed frame. Two videos match when at least 80% of the query's distinct,
good-quality frames are within PDQ distance 31 of some frame of the other (and at least 0% the
other way round), python-threatexchange's VPDQ_QUERY_MATCH_THRESHOLD_PERCENT and
VPDQ_INDEX_MATCH_THRESHOLD_PERCENT, so a clip cut from a banked video still matches it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

    def stored_meta(self) -> dict[str, Any] | None:
        return {"frames": self.frames, "matchable": self.matchable}


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


def serialise(frames: list[Frame]) -> str:
    """The JSON text form of ``frames``."""
    return json.dumps([str(f) for f in frames])


def matchable(frames: list[Frame]) -> list[str]:
    """Distinct PDQ hashes of the frames good enough to match on, in order."""
    return list(dict.fromkeys(f.pdq_hex for f in frames if f.quality >= QUALITY_THRESHOLD))


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


def hash_frames(path: Path) -> list[Frame]:
    """The vPDQ frames of a video, computed in a child process within the settings' CPU-time
    and memory limits (``redline.signals.vpdq_worker``); BadSignal says which limit a hostile
    or broken file hit, or why FFmpeg could not read it."""
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
    return [
        Frame(str(h), int(q), float(t))
        for h, q, t in (json.loads(line) for line in done.stdout.splitlines())
    ]


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
        (computed,) = cls.compute(path)
        meta = computed.meta or {}
        return VpdqQuery(computed.value, computed.quality, meta["frames"], meta["matchable"])

    @classmethod
    def query(
        cls, value: str, quality: int | None = None, meta: Mapping[str, Any] | None = None
    ) -> VpdqQuery:
        meta = meta or {}
        return VpdqQuery(value, quality, meta.get("frames", 0), meta.get("matchable", 0))

    @classmethod
    def index_hashes(cls, value: str) -> list[str]:
        return matchable(parse(value))

    @classmethod
    def match(
        cls, lookup: BankLookup, queries: Sequence[Query], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Matches of each vPDQ hash: >= 80% of its good frames found in a banked video."""
        banks = lookup.banks()
        results: list[list[BankMatch]] = [[] for _ in queries]
        for position, query in enumerate(queries):
            frames = matchable(parse(query.value))
            if not frames:
                continue
            hits = lookup.near(cls.name, frames, DISTANCE_THRESHOLD)
            query_frames: dict[int, set[int]] = defaultdict(set)
            bank_frames: dict[int, set[int]] = defaultdict(set)
            for frame_number, frame_hits in enumerate(hits):
                for hit in frame_hits:
                    query_frames[hit.signal_id].add(frame_number)
                    bank_frames[hit.signal_id].add(hit.part)
            entries = lookup.entries(query_frames)
            for signal_id, matched in query_frames.items():
                entry = entries.get(signal_id)
                if entry is None:
                    continue
                bank = banks.get(entry.bank_id)
                if bank is None or not bank.usable(entry.enabled, include_disabled_banks):
                    continue
                query_percent = 100 * len(matched) / len(frames)
                bank_count = len(matchable(parse(entry.value))) or 1
                compared_percent = 100 * len(bank_frames[signal_id]) / bank_count
                if query_percent < QUERY_MATCH_PERCENT or compared_percent < INDEX_MATCH_PERCENT:
                    continue
                detail = {
                    "query_match_percent": round(query_percent, 2),
                    "compared_match_percent": round(compared_percent, 2),
                }
                results[position].append(
                    BankMatch(
                        bank.name,
                        bank.id,
                        entry.entry_id,
                        cls.name,
                        round(100 - query_percent, 2),
                        entry.category,
                        bank.confirmed,
                        detail,
                    )
                )
        return results

    @classmethod
    def compare(cls, a: str, b: str, threshold: float | None = None) -> Comparison:
        query, other = matchable(parse(a)), matchable(parse(b))
        query_percent, other_percent = match_percents(query, other)
        needed = QUERY_MATCH_PERCENT if threshold is None else threshold
        is_match = query_percent >= needed and other_percent >= INDEX_MATCH_PERCENT and bool(query)
        detail = {"query_match_percent": query_percent, "compared_match_percent": other_percent}
        return Comparison(is_match, 100 - query_percent, detail)
