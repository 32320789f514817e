"""Signal types: one module each, registered in ``MEDIA_SIGNALS`` (and ``url`` for links in text).

A new media signal type is one module with a ``SignalType`` subclass and one line here.
"""

from __future__ import annotations

from redline.signals.base import BadSignal, Comparison, Hash, SignalType
from redline.signals.exact import Md5Signal, Sha256Signal, VideoMd5Signal
from redline.signals.pdq import PdqSignal
from redline.signals.pdq_crop import PdqCropSignal
from redline.signals.vpdq import VpdqSignal

MEDIA_SIGNALS: dict[str, type[SignalType]] = {
    cls.name: cls
    for cls in (PdqSignal, PdqCropSignal, VpdqSignal, Md5Signal, VideoMd5Signal, Sha256Signal)
}


def signal_type(name: str) -> type[SignalType]:
    """The signal type called ``name``; BadSignal for an unknown name."""
    try:
        return MEDIA_SIGNALS[name]
    except KeyError:
        known = ", ".join(MEDIA_SIGNALS)
        raise BadSignal(f"unknown signal type {name!r} (known: {known})") from None


__all__ = ["MEDIA_SIGNALS", "BadSignal", "Comparison", "Hash", "SignalType", "signal_type"]
