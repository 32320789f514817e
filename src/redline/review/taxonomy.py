"""The words decisions are made in: verdicts, violation categories, not-violating reasons.

Categories include every one of the text classifier's (a test holds them together), so a
reviewer's "violating, recruitment" is also a training label for it.
"""

from __future__ import annotations

from typing import Final

VIOLATING: Final = "violating"
NOT_VIOLATING: Final = "not_violating"
ESCALATE: Final = "escalate"
SECOND_REVIEW: Final = "second_review"
VERDICTS: Final = (VIOLATING, NOT_VIOLATING, ESCALATE, SECOND_REVIEW)

# What each category means, for the decision form and the keyboard map (1..9 in this order).
CATEGORIES: Final[dict[str, str]] = {
    "support_glorification": "praises or glorifies a terrorist group, attack or attacker",
    "official_media_distribution": "distributes a group's official media or its links",
    "threat_incitement": "threatens or incites violence",
    "recruitment": "recruits, or calls to join or fund, a group",
    "other_tvec": "other terrorist or violent extremist content",
}

REASONS: Final[dict[str, str]] = {
    "news_reporting": "news or reporting about terrorism",
    "counter_speech": "counter-speech, condemnation or satire",
    "research": "research, analysis or documentation",
    "religious_expression": "ordinary religious expression",
    "not_tvec": "unrelated to terrorism or violent extremism",
    "insufficient_context": "cannot tell from what is shown",
}

# What a report or the dashboard prints for each verdict, category and reason: the keys read as
# code (``not_tvec``) and the descriptions above are too long for a table row.
NAMES: Final[dict[str, str]] = {
    VIOLATING: "violating",
    NOT_VIOLATING: "not violating",
    "support_glorification": "support or glorification",
    "official_media_distribution": "official media distribution",
    "threat_incitement": "threat or incitement",
    "recruitment": "recruitment",
    "other_tvec": "other terrorist or violent extremist content",
    "news_reporting": "news reporting",
    "counter_speech": "counter-speech",
    "research": "research",
    "religious_expression": "religious expression",
    "not_tvec": "unrelated to terrorism",
    "insufficient_context": "insufficient context",
}
