"""The JSON API under /api/v1: the same review functions as the console, behind scoped tokens."""

from redline.web.api.v1 import router

__all__ = ["router"]
