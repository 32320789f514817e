"""HMA's signal types, each mapped onto redline's: how to check, hash, match and compare it.

HMA (with its vPDQ extension) knows three media signal types: ``pdq`` for photos, and
``video_md5`` and ``vpdq`` for videos. redline's own extra types (md5, sha256, crop hashes) are
used inside redline but never shown to HMA clients, which would not know them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redline.pipeline.match import BankMatch, Matcher
from redline.signals import BadSignal, Query, SignalType
from redline.signals import pdq as pdq_signal
from redline.signals import vpdq as vpdq_signal
from redline.signals.exact import VideoMd5Signal

log = logging.getLogger(__name__)

# HMA's PdqSignal is stricter than redline's: lower-case hex only, nothing around it.
_PDQ_TEXT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class HmaSignalType:
    """One HMA signal type: the redline signal type behind it, and how HMA writes it."""

    name: str
    content_type: str  # photo | video: the upload field name it is computed for
    signal: type[SignalType]  # hashes and matches it
    validate: Callable[[str], str]  # normalised value; BadSignal when invalid
    hash_file: Callable[[Path], Query]  # BadSignal when the file cannot be hashed so
    distance: Callable[[BankMatch], str]  # as HMA's lookups print it
    compare: Callable[[str, str], list[Any]]  # HMA's /m/compare answer: [match, details]

    def match(self, matcher: Matcher, query: Query) -> list[BankMatch]:
        """The query's matches in every bank, enabled or not (HMA's coinflip decides)."""
        return matcher.match(self.signal, [query], include_disabled_banks=True)[0]


# --- pdq ------------------------------------------------------------------------------------------


def _validate_pdq(value: str) -> str:
    if not _PDQ_TEXT.fullmatch(value):
        raise BadSignal("invalid PDQ hash: expected 64 lower-case hex digits")
    return value


def _hash_photo(path: Path) -> Query:
    """PDQ of a photo with its rotations and query-time variants, as a scan computes them but
    decoded at full size and in colour, as python-threatexchange does, so the hash is the one
    HMA gives for the same file, bit for bit. A hash sent as text is looked up as it is."""
    return pdq_signal.hash_image(path, full_size=True)


def _compare_pdq(a: str, b: str) -> list[Any]:
    distance = pdq_signal.distance(a, b)
    return [distance <= pdq_signal.MATCH_THRESHOLD, {"distance": distance}]


# --- video_md5 ------------------------------------------------------------------------------------


def _compare_exact(a: str, b: str) -> list[Any]:
    # HMA answers 500 here (its no-distance result does not serialise); 0 or 1 is the honest
    # distance of an exact hash.
    same = a == b
    return [same, {"distance": 0 if same else 1}]


# --- vpdq -----------------------------------------------------------------------------------------


def _validate_vpdq(value: str) -> str:
    try:
        return vpdq_signal.VpdqSignal.validate(value)
    except RecursionError:  # absurdly deep JSON, which redline's parser does not catch itself
        raise BadSignal("invalid vPDQ hash: not a JSON list of frames") from None


def _vpdq_distance(match: BankMatch) -> str:
    query = float(match.detail.get("query_match_percent", 0))
    compared = float(match.detail.get("compared_match_percent", 0))
    return f"{query:.0f}%[{compared:.0f}%]"


def _compare_vpdq(a: str, b: str) -> list[Any]:
    result = vpdq_signal.VpdqSignal.compare(a, b)
    return [
        result.match,
        {
            "query_match_percent": result.detail["query_match_percent"],
            "compared_match_percent": result.detail["compared_match_percent"],
        },
    ]


SIGNAL_TYPES: dict[str, HmaSignalType] = {
    t.name: t
    for t in (
        HmaSignalType(
            "pdq",
            "photo",
            pdq_signal.PdqSignal,
            _validate_pdq,
            _hash_photo,
            lambda match: str(int(match.distance)),
            _compare_pdq,
        ),
        HmaSignalType(
            "video_md5",
            "video",
            VideoMd5Signal,
            VideoMd5Signal.validate,
            VideoMd5Signal.hash_query,
            lambda _match: "-",  # python-threatexchange's "no distance"
            _compare_exact,
        ),
        HmaSignalType(
            "vpdq",
            "video",
            vpdq_signal.VpdqSignal,
            _validate_vpdq,
            vpdq_signal.VpdqSignal.hash_query,
            _vpdq_distance,
            _compare_vpdq,
        ),
    )
}


def for_content_type(content_type: str, types: str | None = None) -> list[HmaSignalType]:
    """The signal types to compute for an upload, narrowed by HMA's ``types=a,b`` argument."""
    available = [t for t in SIGNAL_TYPES.values() if t.content_type == content_type]
    if types is None:
        return available
    by_name = {t.name: t for t in available}
    chosen: dict[str, HmaSignalType] = {}
    for name in (n.strip() for n in types.split(",")):
        if not name:
            continue
        if name not in by_name:
            raise BadSignal(f"signal type '{name}' doesn't exist or is disabled")
        chosen[name] = by_name[name]
    if not chosen:
        raise BadSignal("empty signal type selection")
    return list(chosen.values())


def hash_upload(path: Path, kinds: list[HmaSignalType]) -> list[tuple[HmaSignalType, Query]]:
    """Each signal type's hash of an uploaded file, skipping types the file cannot give.

    HMA's default install hashes a video upload by MD5 alone, whatever the file holds; so a
    video FFmpeg cannot decode still gets its ``video_md5``, and only the log says why vPDQ is
    missing. BadSignal when no type could hash the file (the first type's reason).
    """
    hashes: list[tuple[HmaSignalType, Query]] = []
    problems: list[BadSignal] = []
    for kind in kinds:
        try:
            hashes.append((kind, kind.hash_file(path)))
        except BadSignal as error:
            problems.append(error)
            log.info("no %s hash for upload %s: %s", kind.name, path.name, error)
    if not hashes:
        raise problems[0] if problems else BadSignal("no signal type selected")
    return hashes
