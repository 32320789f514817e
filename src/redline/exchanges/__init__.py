"""Exchanges: hash lists shared between organisations, fetched into banks.

One module per exchange behind ``base.Exchange``, registered here by name, as input formats are
in ``ingest.FORMATS``. ``run`` configures them per bank and applies what they fetch.
"""

from __future__ import annotations

from redline.errors import Invalid
from redline.exchanges.base import Exchange
from redline.exchanges.federation import RedlineFeed
from redline.exchanges.signedlist import SignedList
from redline.exchanges.tat import TechAgainstTerrorism
from redline.exchanges.threatexchange import ThreatExchange

EXCHANGES: dict[str, Exchange] = {
    kind.name: kind
    for kind in (RedlineFeed(), ThreatExchange(), TechAgainstTerrorism(), SignedList())
}


def exchange_kind(name: str) -> Exchange:
    """The exchange called ``name``; Invalid naming the known ones."""
    try:
        return EXCHANGES[name]
    except KeyError:
        raise Invalid(f"unknown exchange {name!r} (known: {', '.join(EXCHANGES)})") from None
