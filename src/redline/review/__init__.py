"""Review: who may decide (accounts, tokens), what waits (queue), what a reviewer sees (case
view), what they decide (decisions), and how they are protected while doing it.

Plain functions over a SQLAlchemy ``Connection``; the console, the API and the CLI call the same
ones. Every refusal is a ``ReviewError`` subclass that says what went wrong in one line.
"""

from redline.review.errors import Conflict, Forbidden, Invalid, NotFound, ReviewError

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "ReviewError"]
