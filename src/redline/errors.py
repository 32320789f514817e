"""Why redline refused something, in one vocabulary every package raises and every shell maps
once: the web answers with the class's HTTP status, the CLI with an exit code.

``str(error)`` is the one-line reason shown to the user. ``NotFound`` is also a ``LookupError``
and ``Invalid`` a ``ValueError``, so code that asked "was it missing / was it a bad value" before
this vocabulary existed still gets the same answer.
"""

from __future__ import annotations


class Refused(Exception):
    """A refused request; each kind below says which HTTP status the web shell answers with."""

    status = 400


class NotFound(Refused, LookupError):
    """No such case, user, bank, bank entry, source or token."""

    status = 404


class Forbidden(Refused):
    """The user's role or the four-eyes rule does not allow it."""

    status = 403


class Conflict(Refused):
    """The thing moved on or already exists: claimed by someone else, already decided, undo
    window passed, a bank of that name exists."""

    status = 409


class Invalid(Refused, ValueError):
    """The request itself is wrong: unknown category, missing reason, bad filter value, bad
    bank name or threshold."""

    status = 422
