"""Why a review action was refused: the project's one error vocabulary (``redline.errors``),
re-exported here because most of review/, actions/ and web/ import it from this name."""

from __future__ import annotations

from redline.errors import Conflict, Forbidden, Invalid, NotFound
from redline.errors import Refused as ReviewError

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "ReviewError"]
