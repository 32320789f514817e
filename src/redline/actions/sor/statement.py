"""A statement of reasons, built and checked against the database's rules before it leaves:
the schema's fields, what is required and what depends on what, limits, dates and the ``puid``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

from redline.actions.sor.vocabulary import (
    ACCOUNT_TYPES,
    AUTOMATED_DECISIONS,
    CATEGORIES,
    CONTENT_TYPES,
    COUNTRIES,
    DECISION_ACCOUNTS,
    DECISION_GROUNDS,
    DECISION_MONETARIES,
    DECISION_PROVISIONS,
    DECISION_VISIBILITIES,
    ILLEGAL_CONTENT,
    INCOMPATIBLE_CONTENT,
    KEYWORDS,
    LANGUAGES,
    NOT_AUTOMATED,
    PUBLIC_SECURITY,
    SOURCE_TYPES,
    TERRORIST_CONTENT,
    VOLUNTARY,
)
from redline.errors import Invalid

# Every field of the schema, in the documentation's order (problems are reported in it).
FIELDS: Final = (
    "decision_visibility",
    "decision_visibility_other",
    "decision_monetary",
    "decision_monetary_other",
    "decision_provision",
    "decision_account",
    "account_type",
    "decision_facts",
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "content_type",
    "content_type_other",
    "category",
    "category_addition",
    "category_specification",
    "content_id",
    "category_specification_other",
    "territorial_scope",
    "content_language",
    "content_date",
    "application_date",
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "puid",
)
REQUIRED: Final = (
    "decision_facts",
    "decision_ground",
    "content_type",
    "category",
    "territorial_scope",
    "content_date",
    "application_date",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
)
DECISIONS: Final = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
)
_ONE_OF: Final[dict[str, Sequence[str]]] = {
    "decision_monetary": DECISION_MONETARIES,
    "decision_provision": DECISION_PROVISIONS,
    "decision_account": DECISION_ACCOUNTS,
    "account_type": ACCOUNT_TYPES,
    "decision_ground": DECISION_GROUNDS,
    "category": CATEGORIES,
    "content_language": sorted(LANGUAGES),
    "source_type": SOURCE_TYPES,
    "automated_decision": AUTOMATED_DECISIONS,
}
_LIST_OF: Final[dict[str, Sequence[str]]] = {
    "decision_visibility": DECISION_VISIBILITIES,
    "content_type": CONTENT_TYPES,
    "category_addition": CATEGORIES,
    "category_specification": KEYWORDS,
    "territorial_scope": COUNTRIES,
}
# Character limits of the free-text fields ("max:N" in the server's rules).
_TEXT_LIMITS: Final = {
    "decision_visibility_other": 500,
    "decision_monetary_other": 500,
    "decision_facts": 5000,
    "decision_ground_reference_url": 500,
    "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000,
    "content_type_other": 500,
    "category_specification_other": 500,
    "source_identity": 500,
    "puid": 500,
}
_YES_NO: Final = ("incompatible_content_illegal", "automated_detection")
_LAST_DAY: Final = date(2038, 1, 1)  # "before_or_equal:2038-01-01" on every date
_FIRST_DAY: Final[dict[str, date]] = {
    "content_date": date(2000, 1, 1),
    "application_date": date(2020, 1, 1),
}
END_DATES: Final = (
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
)
_DATES: Final = ("content_date", "application_date", *END_DATES)
_PUID: Final = re.compile(r"[A-Za-z0-9_-]+")
_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_EAN13: Final = re.compile(r"\d{13}")

# A text that only applies when another field has a given value; the database drops it otherwise.
# (text field, the field it depends on, the value that field must have or contain)
_DEPENDENT: Final = (
    ("decision_visibility_other", "decision_visibility", "DECISION_VISIBILITY_OTHER"),
    ("decision_monetary_other", "decision_monetary", "DECISION_MONETARY_OTHER"),
    ("content_type_other", "content_type", "CONTENT_TYPE_OTHER"),
    ("illegal_content_legal_ground", "decision_ground", ILLEGAL_CONTENT),
    ("illegal_content_explanation", "decision_ground", ILLEGAL_CONTENT),
    ("incompatible_content_ground", "decision_ground", INCOMPATIBLE_CONTENT),
    ("incompatible_content_explanation", "decision_ground", INCOMPATIBLE_CONTENT),
)
# Optional companions: dropped without their value, but not required with it.
_OPTIONAL_DEPENDENT: Final = (
    ("category_specification_other", "category_specification", "KEYWORD_OTHER"),
    ("incompatible_content_illegal", "decision_ground", INCOMPATIBLE_CONTENT),
)


class Problem(NamedTuple):
    """One thing wrong with a statement: the API field it is about, and what is wrong."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidStatement(Invalid):
    """A statement the database would refuse (or silently cut); ``problems`` lists all of it."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        super().__init__(
            f"statement of reasons has {count} problem{'s' if count != 1 else ''}: "
            + "; ".join(map(str, self.problems))
        )

    def by_field(self) -> dict[str, list[str]]:
        """The messages grouped by field, the shape the API's own 422 answers use."""
        grouped: dict[str, list[str]] = {}
        for problem in self.problems:
            grouped.setdefault(problem.field, []).append(problem.message)
        return grouped


@dataclass(frozen=True, slots=True)
class StatementOfReasons:
    """One statement of reasons, field for field as the database names them; always valid.

    Lists are tuples, dates are ``date``, Yes/No fields are ``bool``; ``payload()`` gives the
    JSON the API takes. Building one that the database would refuse raises ``InvalidStatement``.
    """

    puid: str
    decision_ground: str
    category: str
    content_type: tuple[str, ...]
    territorial_scope: tuple[str, ...]
    content_date: date
    application_date: date
    decision_facts: str
    source_type: str
    automated_detection: bool
    automated_decision: str
    decision_visibility: tuple[str, ...] = ()
    decision_visibility_other: str | None = None
    decision_monetary: str | None = None
    decision_monetary_other: str | None = None
    decision_provision: str | None = None
    decision_account: str | None = None
    account_type: str | None = None
    decision_ground_reference_url: str | None = None
    illegal_content_legal_ground: str | None = None
    illegal_content_explanation: str | None = None
    incompatible_content_ground: str | None = None
    incompatible_content_explanation: str | None = None
    incompatible_content_illegal: bool | None = None
    content_type_other: str | None = None
    category_addition: tuple[str, ...] = ()
    category_specification: tuple[str, ...] = ()
    category_specification_other: str | None = None
    content_id: dict[str, str] | None = None  # {"EAN-13": "0123456789123"}, products only
    content_language: str | None = None
    end_date_account_restriction: date | None = None
    end_date_monetary_restriction: date | None = None
    end_date_service_restriction: date | None = None
    end_date_visibility_restriction: date | None = None
    source_identity: str | None = None

    def __post_init__(self) -> None:
        found = problems(self.payload())
        if found:
            raise InvalidStatement(found)

    def payload(self) -> dict[str, Any]:
        """The JSON object the API takes: empty fields left out, dates as YYYY-MM-DD, Yes/No."""
        out: dict[str, Any] = {}
        for name in FIELDS:
            value = getattr(self, name)
            if value is None or value == () or value == {}:
                continue
            if isinstance(value, bool):
                value = "Yes" if value else "No"
            elif isinstance(value, date):
                value = _day(value).isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, dict):
                value = dict(value)
            out[name] = value
        return out


def validate(data: Mapping[str, Any]) -> StatementOfReasons:
    """The statement in ``data`` (the API's JSON form; ``date`` and ``bool`` values are taken
    too), or ``InvalidStatement`` naming every problem at once, each with its field."""
    found = problems(data)
    if found:
        raise InvalidStatement(found)
    values: dict[str, Any] = {}
    for name in FIELDS:
        value = data.get(name)
        if value is None or _blank(value):
            continue
        if name in _DATES:
            value = _as_date(value)
        elif name in _YES_NO:
            value = value if isinstance(value, bool) else value == "Yes"
        elif name in _LIST_OF:
            value = tuple(value)
        elif name == "content_id":
            value = dict(value)
        values[name] = value
    return StatementOfReasons(**values)


def problems(data: Mapping[str, Any]) -> list[Problem]:
    """Everything the database would refuse in ``data`` (plus what it would silently drop), in
    the documentation's field order; empty when the statement can be submitted."""
    found: list[Problem] = []
    for name in data:
        if name not in FIELDS:
            found.append(Problem(name, "unknown field: the database has no such attribute"))
    given = {name: data[name] for name in FIELDS if not _blank(data.get(name))}
    for name in REQUIRED:
        if name not in given:
            found.append(Problem(name, "required"))
    if not any(name in given for name in DECISIONS):
        found.append(
            Problem(
                "decision_visibility",
                "at least one restriction is required: "
                "decision_visibility, decision_monetary, decision_provision or "
                "decision_account",
            )
        )
    for name, value in given.items():
        found.extend(Problem(name, message) for message in _field_problems(name, value))
    # A field that is wrong itself says nothing about what depends on it: no knock-on problems.
    found.extend(_conditional_problems(given, wrong={problem.field for problem in found}))
    order = {name: index for index, name in enumerate(FIELDS)}
    return sorted(found, key=lambda problem: order.get(problem.field, len(FIELDS)))


def _field_problems(name: str, value: Any) -> list[str]:
    """What is wrong with one present field on its own (type, allowed values, limits)."""
    if name in _ONE_OF:
        if not isinstance(value, str) or value not in _ONE_OF[name]:
            return [_not_allowed(name, value)]
        return []
    if name in _LIST_OF:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            return ["must be a list of strings"]
        return [_not_allowed(name, v) for v in value if v not in _LIST_OF[name]]
    if name in _YES_NO:
        return (
            [] if isinstance(value, bool) or value in ("Yes", "No") else ['must be "Yes" or "No"']
        )
    if name in _DATES:
        return _date_problems(name, value)
    if name == "content_id":
        if not isinstance(value, Mapping) or set(value) - {"EAN-13"}:
            return ['must be an object whose only key is "EAN-13"']
        if not isinstance(value.get("EAN-13"), str) or not _EAN13.fullmatch(value["EAN-13"]):
            return ["EAN-13 must be 13 digits"]
        return []
    if not isinstance(value, str):
        return ["must be a string"]
    found = []
    if len(value) > _TEXT_LIMITS[name]:
        found.append(f"at most {_TEXT_LIMITS[name]} characters (has {len(value)})")
    if name == "puid" and not _PUID.fullmatch(value):
        found.append("only letters a-z A-Z, digits, '-' and '_' (no spaces or other characters)")
    if name == "decision_ground_reference_url":
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            found.append(f"not an http(s) URL: {value!r}")
    return found


def _date_problems(name: str, value: Any) -> list[str]:
    day = _as_date(value)
    if day is None:
        return [f"not a date in the form YYYY-MM-DD: {value!r}"]
    first = _FIRST_DAY.get(name)
    if first is not None and day < first:
        return [f"must be {first.isoformat()} or later"]
    if day > _LAST_DAY:
        return [f"must be {_LAST_DAY.isoformat()} or earlier"]
    return []


def _conditional_problems(given: Mapping[str, Any], wrong: set[str]) -> list[Problem]:
    """Fields required, or dropped by the database, because of another field's value; rules
    involving a field that is ``wrong`` already are skipped."""
    found = []
    for text, on, value in (*_DEPENDENT, *_OPTIONAL_DEPENDENT):
        if on in wrong or text in wrong:
            continue
        chosen = given.get(on)
        applies = value in chosen if isinstance(chosen, list | tuple) else chosen == value
        if applies and text not in given and (text, on, value) in _DEPENDENT:
            found.append(Problem(text, f"required when {on} is {value}"))
        elif not applies and text in given:
            found.append(
                Problem(text, f"only used when {on} is {value}; the database would drop it")
            )
    if given.get("source_type") == VOLUNTARY and "source_identity" in given.keys() - wrong:
        found.append(
            Problem(
                "source_identity",
                f"not used when source_type is {VOLUNTARY}; the database would drop it",
            )
        )
    start = None if "application_date" in wrong else _as_date(given.get("application_date"))
    for name in END_DATES:
        end = None if name in wrong else _as_date(given.get(name))
        if start is not None and end is not None and end < start:
            found.append(Problem(name, f"must not be before application_date ({start})"))
    return found


def _not_allowed(name: str, value: Any) -> str:
    allowed = _ONE_OF.get(name) or _LIST_OF[name]
    if name == "content_language":
        return f"{value!r} is not an upper-case ISO 639-1 code (e.g. EN, AR, FR)"
    if len(allowed) > 8:
        return f"{value!r} is not one of the database's {len(allowed)} values for {name}"
    return f"{value!r} is not one of {', '.join(allowed)}"


def _blank(value: Any) -> bool:
    """Absent the way the server sees it: null, an empty or blank string, an empty list."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple | dict) and not value


def _day(value: date) -> date:
    """A date as is; a time as its UTC day (a time without a zone is taken to be UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    return value


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return _day(value)
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:  # 2025-02-30
            return None
    return None


# --- Building one for terrorist content -----------------------------------------------------------


def terrorist_content_statement(
    *,
    puid: str,
    content_type: str | Sequence[str],
    content_date: date,
    application_date: date,
    decision_facts: str,
    legal_ground: str,
    explanation: str,
    automated_detection: bool,
    automated_decision: str = NOT_AUTOMATED,
    source_type: str = VOLUNTARY,
    source_identity: str | None = None,
    decision_ground: str = ILLEGAL_CONTENT,
    decision_visibility: str = "DECISION_VISIBILITY_CONTENT_REMOVED",
    decision_account: str | None = None,
    territorial_scope: Sequence[str] = COUNTRIES,
    content_language: str | None = None,
    reference_url: str | None = None,
) -> StatementOfReasons:
    """A statement for removing (or disabling access to) terrorist content: category
    ``STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY``, keyword ``KEYWORD_TERRORIST_CONTENT``.

    ``legal_ground`` and ``explanation`` go to ``illegal_content_*`` under the default illegal
    content ground, or to ``incompatible_content_*`` (marked illegal too) when the platform acted
    on its terms and conditions. Removal is everywhere, so the scope defaults to every EU/EEA
    country. Humans decide in redline, so the decision defaults to not automated.
    """
    illegal = decision_ground == ILLEGAL_CONTENT
    data: dict[str, Any] = {
        "puid": puid,
        "decision_visibility": [decision_visibility],
        "decision_account": decision_account,
        "decision_ground": decision_ground,
        "decision_ground_reference_url": reference_url,
        "illegal_content_legal_ground" if illegal else "incompatible_content_ground": legal_ground,
        "illegal_content_explanation" if illegal else "incompatible_content_explanation": (
            explanation
        ),
        "incompatible_content_illegal": None if illegal else True,
        "category": PUBLIC_SECURITY,
        "category_specification": [TERRORIST_CONTENT],
        "content_type": [content_type] if isinstance(content_type, str) else list(content_type),
        "content_language": content_language,
        "content_date": content_date,
        "application_date": application_date,
        "territorial_scope": list(territorial_scope),
        "decision_facts": decision_facts,
        "source_type": source_type,
        "source_identity": source_identity,
        "automated_detection": automated_detection,
        "automated_decision": automated_decision,
    }
    return validate(data)
