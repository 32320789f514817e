"""Why a review action was refused. Each kind maps to one HTTP status in the web shell."""

from __future__ import annotations


class ReviewError(Exception):
    """A refused review action; ``str(error)`` is the one-line reason shown to the user."""

    status = 400


class NotFound(ReviewError):
    """No such case, user, bank or token."""

    status = 404


class Forbidden(ReviewError):
    """The user's role or the four-eyes rule does not allow it."""

    status = 403


class Conflict(ReviewError):
    """The case moved on: claimed by someone else, already decided, undo window passed."""

    status = 409


class Invalid(ReviewError):
    """The request itself is wrong: unknown category, missing reason, bad filter value."""

    status = 422
