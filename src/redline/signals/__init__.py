"""Signal types: one module each, registered in ``MEDIA_SIGNALS`` and ``TEXT_SIGNALS`` (and
``url``/``outlinks`` for links in text).

A new signal type is one module with a ``SignalType`` subclass and one line here: the signal
type itself says how it is hashed, indexed and matched (``redline.signals.base``), and the
scan, the matcher, the index store, bank uploads and the HMA API ask it.
"""

from __future__ import annotations

from redline.signals.base import (
    BadSignal,
    BankLookup,
    BankMatch,
    Comparison,
    Hash,
    Hit,
    Indexed,
    Query,
    SignalType,
)
from redline.signals.exact import Md5Signal, Sha256Signal, VideoMd5Signal
from redline.signals.minhash import TextMinHashSignal
from redline.signals.pdq import PdqSignal
from redline.signals.pdq_crop import PdqCropSignal
from redline.signals.vpdq import VpdqSignal
from redline.signals.vpdq_crop import VpdqCropSignal

MEDIA_SIGNALS: dict[str, type[SignalType]] = {
    cls.name: cls
    for cls in (
        PdqSignal,
        PdqCropSignal,
        VpdqSignal,
        VpdqCropSignal,
        Md5Signal,
        VideoMd5Signal,
        Sha256Signal,
    )
}


# Signals of texts, banked like media hashes (text banks).
TEXT_SIGNALS: dict[str, type[SignalType]] = {TextMinHashSignal.name: TextMinHashSignal}
BANKABLE = {**MEDIA_SIGNALS, **TEXT_SIGNALS}

# What a scan computes for each kind of media file (beside MD5 and SHA-256, known from ingest).
SCANNED: dict[str, type[SignalType]] = {"image": PdqSignal, "video": VpdqSignal}
# The signals of scanned media that a scan looks up in the banks.
MATCHED: tuple[type[SignalType], ...] = (PdqSignal, VpdqSignal, Md5Signal, Sha256Signal)


def signal_type(name: str) -> type[SignalType]:
    """The bankable signal type called ``name``; BadSignal for an unknown name."""
    try:
        return BANKABLE[name]
    except KeyError:
        known = ", ".join(BANKABLE)
        raise BadSignal(f"unknown signal type {name!r} (known: {known})") from None


__all__ = [
    "BANKABLE",
    "MATCHED",
    "MEDIA_SIGNALS",
    "SCANNED",
    "TEXT_SIGNALS",
    "BadSignal",
    "BankLookup",
    "BankMatch",
    "Comparison",
    "Hash",
    "Hit",
    "Indexed",
    "Query",
    "SignalType",
    "signal_type",
]
