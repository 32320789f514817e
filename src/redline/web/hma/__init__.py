"""The HMA-compatible API: Meta's Hasher-Matcher-Actioner ("Open Media Match") routes over redline.

Mounted under ``/hma`` by ``create_app``, so a client of HMA 1.1 configured with the base URL
``http://host:port/hma`` works unchanged: the same paths, arguments, JSON shapes, status codes
and ``{"message": ...}`` error bodies. Where redline deliberately differs (it never fetches
URLs; it never answers a bad input with 500) the route's docstring says so.

- ``/m``: look-ups, compare, index status (``matching``)
- ``/h``: hashing uploads (``hashing``)
- ``/c``: banks and bank content (``curation``), exchanges (``exchanges``)
- ``/status``, ``/status/live``, ``/site-map`` (``health``)
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from redline.web.auth import hma_access
from redline.web.hma import curation, exchanges, hashing, health, matching

router = APIRouter()
for part in (matching.router, hashing.router, curation.router, exchanges.router):
    router.include_router(part, dependencies=[Depends(hma_access)])
# Health checks stay open: load balancers and monitors call them without credentials.
router.include_router(health.router)

__all__ = ["router"]
