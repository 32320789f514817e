"""Statements of reasons (DSA Articles 17 and 24(5)) in the DSA Transparency Database's format,
checked before they leave, and submitted in batches of at most 100.

Where the definitions come from: the database's own source, github.com/digital-services-act/
transparency-database at commit 69e80a0b (2026-06-24; the files below last changed 2026-06-09):

- field names, required and conditional fields, length limits, date formats and the ``puid``
  pattern: ``app/Http/Requests/StatementStoreRequest.php`` (single endpoint) and
  ``app/Services/GroupedSubmissionsService.php`` (``multi_rules``, the batch endpoint);
- enumerations: the constants of ``app/Models/Statement.php``; countries:
  ``EuropeanCountriesService::EUROPEAN_COUNTRY_CODES``; languages:
  ``EuropeanLanguagesService::ALL_LANGUAGES``;
- endpoints, authentication, answers and error shapes: ``resources/markdown/api-documentation.md``,
  served as https://transparency.dsa.ec.europa.eu/page/api-documentation (schema of 1 July 2025,
  still under ``/api/v1``), and ``app/Http/Controllers/Api/v1/StatementMultipleAPIController.php``.

Two places where redline is stricter than the server, on purpose: the documentation calls
``territorial_scope`` required and end dates "after or equal to the application date", while the
server's rules accept a missing scope and any end date; redline follows the documentation. And a
field the database would silently drop (``illegal_content_*`` under a terms-and-conditions
ground, ``source_identity`` for ``SOURCE_VOLUNTARY``, an ``*_other`` text without its OTHER value)
is reported, because whoever wrote it expects it to be published.

The batch endpoint is all-or-nothing: one bad statement and none of the request is created. The
client therefore sends the rest of a refused batch again, so one statement the server rejects
costs neither its batch-mates nor the other batches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Final, Literal, NamedTuple, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from redline.review.errors import Invalid


def _words(text: str) -> tuple[str, ...]:
    """Codes written as words: a few lines to compare with the source, not one per code."""
    return tuple(text.split())


# --- The database's vocabulary (app/Models/Statement.php) ---------------------------------------

DECISION_VISIBILITIES: Final = (
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
)
DECISION_MONETARIES: Final = (
    "DECISION_MONETARY_SUSPENSION",
    "DECISION_MONETARY_TERMINATION",
    "DECISION_MONETARY_OTHER",
)
DECISION_PROVISIONS: Final = (
    "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION",
    "DECISION_PROVISION_TOTAL_TERMINATION",
)
DECISION_ACCOUNTS: Final = ("DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED")
ACCOUNT_TYPES: Final = ("ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE")
ILLEGAL_CONTENT: Final = "DECISION_GROUND_ILLEGAL_CONTENT"
INCOMPATIBLE_CONTENT: Final = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
DECISION_GROUNDS: Final = (ILLEGAL_CONTENT, INCOMPATIBLE_CONTENT)
CONTENT_TYPES: Final = (
    "CONTENT_TYPE_APP",
    "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_IMAGE",
    "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_SYNTHETIC_MEDIA",
    "CONTENT_TYPE_TEXT",
    "CONTENT_TYPE_VIDEO",
    "CONTENT_TYPE_OTHER",
)
PUBLIC_SECURITY: Final = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
CATEGORIES: Final = (
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    PUBLIC_SECURITY,
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
)
# The documentation files "Terrorist content" under "Risk for public security".
TERRORIST_CONTENT: Final = "KEYWORD_TERRORIST_CONTENT"
KEYWORDS: Final = (
    "KEYWORD_ADULT_SEXUAL_MATERIAL",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
    "KEYWORD_ANIMAL_HARM",
    "KEYWORD_BIOMETRIC_DATA_BREACH",
    "KEYWORD_BULLYING_AGAINST_GIRLS",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
    "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
    "KEYWORD_COORDINATED_HARM",
    "KEYWORD_COPYRIGHT_INFRINGEMENT",
    "KEYWORD_CYBER_BULLYING_INTIMIDATION",
    "KEYWORD_CYBER_HARASSMENT",
    "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
    "KEYWORD_CYBER_INCITEMENT",
    "KEYWORD_CYBER_STALKING",
    "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
    "KEYWORD_DATA_FALSIFICATION",
    "KEYWORD_DEFAMATION",
    "KEYWORD_DESIGN_INFRINGEMENT",
    "KEYWORD_DISCRIMINATION",
    "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
    "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
    "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
    "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
    "KEYWORD_HATE_SPEECH",
    "KEYWORD_HIDDEN_ADVERTISEMENT",
    "KEYWORD_HUMAN_EXPLOITATION",
    "KEYWORD_HUMAN_TRAFFICKING",
    "KEYWORD_ILLEGAL_ORGANIZATIONS",
    "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
    "KEYWORD_INAUTHENTIC_ACCOUNTS",
    "KEYWORD_INAUTHENTIC_LISTINGS",
    "KEYWORD_INAUTHENTIC_USER_REVIEWS",
    "KEYWORD_INCITEMENT_AGAINST_WOMEN",
    "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
    "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
    "KEYWORD_LANGUAGE_REQUIREMENTS",
    "KEYWORD_MISINFORMATION_DISINFORMATION",
    "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
    "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
    "KEYWORD_MISSING_PROCESSING_GROUND",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
    "KEYWORD_NONCOMPLIANCE_PRICING",
    "KEYWORD_NUDITY",
    "KEYWORD_PATENT_INFRINGEMENT",
    "KEYWORD_PHISHING",
    "KEYWORD_PROHIBITED_PRODUCTS",
    "KEYWORD_PYRAMID_SCHEMES",
    "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
    "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
    "KEYWORD_RISK_PUBLIC_HEALTH",
    "KEYWORD_SELF_MUTILATION",
    "KEYWORD_STALKING",
    "KEYWORD_SUICIDE",
    TERRORIST_CONTENT,
    "KEYWORD_TRADE_SECRET_INFRINGEMENT",
    "KEYWORD_TRADEMARK_INFRINGEMENT",
    "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
    "KEYWORD_UNLAWFUL_SALE_ANIMALS",
    "KEYWORD_UNSAFE_CHALLENGES",
    "KEYWORD_UNSAFE_PRODUCTS",
    "KEYWORD_VIOLATION_EU_LAW",
    "KEYWORD_VIOLATION_NATIONAL_LAW",
    "KEYWORD_OTHER",
)
VOLUNTARY: Final = "SOURCE_VOLUNTARY"
SOURCE_TYPES: Final = (
    "SOURCE_ARTICLE_16",
    "SOURCE_TRUSTED_FLAGGER",
    "SOURCE_TYPE_OTHER_NOTIFICATION",
    VOLUNTARY,
)
NOT_AUTOMATED: Final = "AUTOMATED_DECISION_NOT_AUTOMATED"
AUTOMATED_DECISIONS: Final = (
    "AUTOMATED_DECISION_FULLY",
    "AUTOMATED_DECISION_PARTIALLY",
    NOT_AUTOMATED,
)
# EU and EEA member states; the database accepts no other territory.
COUNTRIES: Final = _words(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK"
)
# Upper-case ISO 639-1, as EuropeanLanguagesService::ALL_LANGUAGES lists them.
LANGUAGES: Final = frozenset(
    _words(
        "AA AB AE AF AK AM AN AR AS AV AY AZ BA BE BG BH BI BM BN BO BR BS CA CE CH CO CR CS CU "
        "CV CY DA DE DV DZ EE EL EN EO ES ET EU FA FF FI FJ FO FR FY GA GD GL GN GU GV HA HE HI "
        "HO HR HT HU HY HZ IA ID IE IG II IK IO IS IT IU JA JV KA KG KI KJ KK KL KM KN KO KR KS "
        "KU KV KW KY LA LB LG LI LN LO LT LU LV MG MH MI MK ML MN MR MS MT MY NA NB ND NE NG NL "
        "NN NO NR NV NY OC OJ OM OR OS PA PI PL PS PT QU RM RN RO RU RW SA SC SD SE SG SI SK SL "
        "SM SN SO SQ SR SS ST SU SV SW TA TE TG TH TI TK TL TN TO TR TS TT TW TY UG UK UR UZ VE "
        "VI VO WA WO XH YI YO ZA ZH ZU"
    )
)

MAX_BATCH: Final = 100  # "The multiple endpoint is capable of making 100 statements per call."
STATEMENTS_PATH: Final = "/api/v1/statements"
EXISTING_PUID_PATH: Final = "/api/v1/statement/existing-puid/"

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


# --- Batches and the client ---------------------------------------------------------------------

T = TypeVar("T")


def batches(statements: Iterable[T], size: int = MAX_BATCH) -> Iterator[list[T]]:
    """``statements`` in order, in lists of at most ``size`` (at most 100, the API's limit)."""
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch size must be 1..{MAX_BATCH}, not {size}")
    batch: list[T] = []
    for statement in statements:
        batch.append(statement)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


Status = Literal["created", "rejected", "failed"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one statement.

    ``created``: in the database, with its ``uuid`` and ``permalink``. ``rejected``: the API (or
    redline before sending) refused this statement; ``errors`` has the messages by field; fix and
    resend. ``failed``: not created for a reason outside the statement (network, token, rate
    limit, server error); ``message`` says why and whether it may exist anyway.
    """

    puid: str
    status: Status
    uuid: str | None = None
    id: int | None = None
    permalink: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    """One outcome per submitted statement, in the order given; ``requests`` POSTs were made."""

    outcomes: tuple[Outcome, ...]
    requests: int

    @property
    def created(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "created"]

    @property
    def rejected(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "rejected"]

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def ok(self) -> bool:
        return len(self.created) == len(self.outcomes)


class SorUnavailable(Exception):
    """The database could not be asked (network error, refused token, unexpected answer)."""


class SorClient:
    """Submits statements to a DSA Transparency Database (production, sandbox, or a stand-in).

    ``base_url`` is the site root, e.g. ``https://transparency.dsa.ec.europa.eu``; ``token`` is
    the platform's API token, sent as ``Authorization: Bearer``. ``transport`` is for tests.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            # Inserting 100 statements can take the server a while; connecting should not.
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
            follow_redirects=False,  # existing-puid answers 302 Found, which is the answer
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SorClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def exists(self, puid: str) -> bool:
        """Whether the database already has a statement with this ``puid`` from this platform:
        the check to make before resending statements whose submission timed out."""
        try:
            response = self._http.get(EXISTING_PUID_PATH + quote(puid, safe=""))
        except httpx.HTTPError as error:
            raise SorUnavailable(f"network error: {_describe(error)}") from None
        if response.status_code == httpx.codes.FOUND:
            return True
        if response.status_code == httpx.codes.NOT_FOUND:
            return False
        raise SorUnavailable(f"HTTP {response.status_code}: {_message(response)}")

    def submit(self, statements: Sequence[StatementOfReasons]) -> SubmissionResult:
        """POST the statements in batches of 100; never raises for what the server or the
        network does, every statement gets an ``Outcome`` instead."""
        run = _Run(self._http, statements)
        first: dict[str, int] = {}
        pending = []
        for index, statement in enumerate(statements):
            if statement.puid in first:  # the API would refuse the whole batch for it
                again = f"used by statement {first[statement.puid]} of this submission already"
                run.outcomes[index] = Outcome(statement.puid, "rejected", errors={"puid": [again]})
            else:
                first[statement.puid] = index
                pending.append(index)
        stop: str | None = None
        for batch in batches(pending):
            if stop is not None:
                run.fail(batch, f"not sent: {stop}")
            else:
                stop = run.send(batch)
        return SubmissionResult(
            tuple(run.outcomes[i] for i in range(len(statements))), run.requests
        )


class _Run:
    """One ``submit``: the outcomes so far and the request count."""

    def __init__(self, http: httpx.Client, statements: Sequence[StatementOfReasons]) -> None:
        self.http = http
        self.statements = statements
        self.outcomes: dict[int, Outcome] = {}
        self.requests = 0

    def fail(self, indices: Iterable[int], message: str) -> None:
        for index in indices:
            self.outcomes[index] = Outcome(self.statements[index].puid, "failed", message=message)

    def send(self, batch: list[int]) -> str | None:
        """Send one batch until every statement in it has an outcome; the reason to stop
        sending further batches (a refused token, a rate limit), if there is one."""
        todo = batch
        while todo:
            body = {"statements": [self.statements[index].payload() for index in todo]}
            try:
                response = self.http.post(STATEMENTS_PATH, json=body)
            except httpx.TimeoutException as error:
                # The server may have created them before the answer was lost.
                self.fail(
                    todo,
                    f"no answer in time ({_describe(error)}); they may have been "
                    "created: check with exists() before resending",
                )
                return None
            except httpx.HTTPError as error:
                self.fail(todo, f"network error: {_describe(error)}")
                return None
            self.requests += 1
            status = response.status_code
            if status == httpx.codes.CREATED:
                self._created(todo, response)
                return None
            if status == httpx.codes.UNPROCESSABLE_ENTITY:
                refused = self._refused(todo, response)
                if not refused:
                    self.fail(todo, f"HTTP 422: {_message(response)}")
                    return None
                todo = [index for index in todo if index not in refused]
                continue  # none of the batch was created: send the statements not at fault again
            reason = f"HTTP {status}: {_message(response)}"
            if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
                reason = f"the API refused the token (HTTP {status})"
            elif status == httpx.codes.TOO_MANY_REQUESTS:
                wait = response.headers.get("Retry-After")
                reason = "rate limited (HTTP 429" + (f", retry after {wait} s)" if wait else ")")
            elif status >= httpx.codes.INTERNAL_SERVER_ERROR:
                reason += "; nothing was created, resend later"
            self.fail(todo, reason)
            stop = status in (
                httpx.codes.UNAUTHORIZED,
                httpx.codes.FORBIDDEN,
                httpx.codes.TOO_MANY_REQUESTS,
            )
            return reason if stop else None
        return None

    def _created(self, todo: list[int], response: httpx.Response) -> None:
        body = _json(response)
        items = body.get("statements") if isinstance(body, dict) else None
        created = {item.get("puid"): item for item in items or [] if isinstance(item, dict)}
        for index in todo:
            puid = self.statements[index].puid
            item = created.get(puid)
            if item is None or not item.get("uuid"):
                self.outcomes[index] = Outcome(
                    puid,
                    "failed",
                    message=(
                        "HTTP 201 but the answer does not list this statement; check with exists()"
                    ),
                )
                continue
            self.outcomes[index] = Outcome(
                puid,
                "created",
                uuid=str(item["uuid"]),
                id=item["id"] if isinstance(item.get("id"), int) else None,
                permalink=item.get("permalink"),
            )

    def _refused(self, todo: list[int], response: httpx.Response) -> set[int]:
        """Record as rejected the statements a 422 names (``statement_N``, N counting in the
        request just sent, or a PUID already used) and return their indices."""
        body = _json(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if not isinstance(errors, dict):
            return set()
        refused: dict[int, dict[str, list[str]]] = {}
        for key, fields in errors.items():
            position = key.removeprefix("statement_")
            named = key.startswith("statement_") and position.isdigit()
            if named and int(position) < len(todo) and isinstance(fields, dict):
                refused[todo[int(position)]] = {
                    str(name): _strings(messages) for name, messages in fields.items()
                }
        used = errors.get("existing_puids")
        if isinstance(used, list):
            messages = _strings(errors.get("puid")) or ["already used by this platform"]
            for index in todo:
                if self.statements[index].puid in used:
                    refused[index] = {"puid": messages}
        for index, fields in refused.items():
            summary = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in fields.items())
            puid = self.statements[index].puid
            self.outcomes[index] = Outcome(puid, "rejected", errors=fields, message=summary)
        return set(refused)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _message(response: httpx.Response) -> str:
    """The API's one-line ``message``, or the start of whatever it sent."""
    body = _json(response)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    if isinstance(body, dict) and isinstance(body.get("errors"), dict):
        return "; ".join(
            f"{name}: {' '.join(_strings(texts))}" for name, texts in body["errors"].items()
        )
    return response.text[:200] or response.reason_phrase


def _strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    return [] if value is None else [str(value)]


def _describe(error: httpx.HTTPError) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
