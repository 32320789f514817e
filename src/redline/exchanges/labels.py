"""Labels that travel: what an exchange calls an entry, as redline's category and tags.

Every source names its labels its own way: GIFCT's hash-sharing taxonomy by the behaviour the
content shows ("Glorification of Terrorist Acts"), Tech Against Terrorism's hash list by the
ideology of the group that made it ("far-right"), ThreatExchange by free tags (GIFCT's labels
among them: its database began on ThreatExchange). An entry keeps every label its source gave
it, as tags written ``source:label`` (``gifct:glorification_of_terrorist_acts``,
``tat:ideology_far_right``), and gets the redline category the most severe of them maps to;
none when no label maps (an honest blank, not a guess). A label that is already one of
redline's categories (another redline, a source that uses them) is that category.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from redline.review.taxonomy import CATEGORIES

# GIFCT's hash-sharing database taxonomy: the behavioural labels and the content types added
# with its 2021 expansion, each mapped to the nearest redline category.
GIFCT_LABELS: Final[dict[str, str]] = {
    "imminent_credible_threat": "threat_incitement",
    "graphic_violence_against_defenseless_people": "other_tvec",
    "glorification_of_terrorist_acts": "support_glorification",
    "radicalization_recruitment_instruction": "recruitment",
    "recruitment_and_instruction": "recruitment",
    "content_incident": "other_tvec",
    "content_incident_protocol": "other_tvec",
    "attacker_manifesto": "other_tvec",
    "branded_terrorist_publication": "official_media_distribution",
}

# Tech Against Terrorism's ideology groups. TAT's list is of content made by designated
# terrorist entities (collected by its archive, TCAP), so an entry from it is a group's media.
TAT_IDEOLOGIES: Final = frozenset({"islamist", "far_right"})
TAT_CATEGORY: Final = "official_media_distribution"

# When an entry carries labels of several categories, the one it is kept under: the most
# severe first (what a reviewer must not miss).
SEVERITY: Final = (
    "threat_incitement",
    "recruitment",
    "official_media_distribution",
    "support_glorification",
    "other_tvec",
)
MAX_TAGS: Final = 40  # labels kept per entry; a source sending more is trimmed, not refused
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def label_key(label: str) -> str:
    """A label as a key: lower case, words joined by ``_`` ("Far-Right" -> ``far_right``)."""
    return _NOT_WORD.sub("_", label.lower()).strip("_")[:80]


def category_of(label: str) -> str | None:
    """The redline category one label maps to, or None."""
    key = label_key(label.partition(":")[2] if ":" in label else label)
    if key in CATEGORIES:
        return key
    if key in GIFCT_LABELS:
        return GIFCT_LABELS[key]
    if key.removeprefix("ideology_") in TAT_IDEOLOGIES:
        return TAT_CATEGORY
    return None


def travelled(source: str, labels: Iterable[str]) -> tuple[str | None, str | None]:
    """The category and tags (space-separated) of an entry ``source`` labels with ``labels``."""
    tags: list[str] = []
    categories: set[str] = set()
    for label in labels:
        key = label_key(label)
        if not key:
            continue
        tag = f"{label_key(source)}:{key}"
        if tag not in tags and len(tags) < MAX_TAGS:
            tags.append(tag)
        found = category_of(key)
        if found is not None:
            categories.add(found)
    category = next((c for c in SEVERITY if c in categories), None)
    return category, " ".join(tags) or None


def tat_labels(ideology: str) -> list[str]:
    """A TAT entry's ideology as labels (``ideology_far_right``)."""
    key = label_key(ideology)
    return [f"ideology_{key}"] if key else []
