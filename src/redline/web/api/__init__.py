"""The JSON API under /api/v1: the same review functions as the console, behind scoped tokens."""

from redline.web.api.actions import router as actions_router
from redline.web.api.exchanges import router as exchanges_router
from redline.web.api.feeds import router as feeds_router
from redline.web.api.items import router as items_router
from redline.web.api.v1 import router
from redline.web.api.webhooks import router as webhooks_router

router.include_router(actions_router)
router.include_router(exchanges_router)
router.include_router(feeds_router)
router.include_router(items_router)
router.include_router(webhooks_router)

__all__ = ["router"]
