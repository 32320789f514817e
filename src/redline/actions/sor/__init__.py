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

The package in three parts: ``vocabulary`` (the codes the database accepts), ``statement`` (a
statement built and checked against its rules) and ``submission`` (the client that sends them).
The codes are reached through the module, ``sor.vocabulary.VOLUNTARY``: one list of them, in
``vocabulary``, instead of a second one here.
"""

from __future__ import annotations

from redline.actions.sor import vocabulary
from redline.actions.sor.statement import (
    DECISIONS,
    END_DATES,
    FIELDS,
    REQUIRED,
    InvalidStatement,
    Problem,
    StatementOfReasons,
    problems,
    terrorist_content_statement,
    validate,
)
from redline.actions.sor.submission import (
    EXISTING_PUID_PATH,
    MAX_BATCH,
    STATEMENTS_PATH,
    Outcome,
    SorClient,
    SorUnavailable,
    Status,
    SubmissionResult,
    batches,
)

__all__ = [
    "DECISIONS",
    "END_DATES",
    "EXISTING_PUID_PATH",
    "FIELDS",
    "MAX_BATCH",
    "REQUIRED",
    "STATEMENTS_PATH",
    "InvalidStatement",
    "Outcome",
    "Problem",
    "SorClient",
    "SorUnavailable",
    "StatementOfReasons",
    "Status",
    "SubmissionResult",
    "batches",
    "problems",
    "terrorist_content_statement",
    "validate",
    "vocabulary",
]
