"""The review console: server-rendered pages (Jinja2) with htmx for the small updates.

Routes are thin: read the form, call a ``redline.review`` function inside one transaction,
render. Templates only display; they decide nothing.
"""

from __future__ import annotations

from fastapi import APIRouter

from redline.web.ui.admin_pages import router as admin_router
from redline.web.ui.audit_pages import router as audit_router
from redline.web.ui.bank_pages import router as bank_router
from redline.web.ui.case_pages import router as case_router
from redline.web.ui.complaint_pages import router as complaint_router
from redline.web.ui.dashboard_pages import router as dashboard_router
from redline.web.ui.designation_pages import router as designation_router
from redline.web.ui.exchange_pages import router as exchange_router
from redline.web.ui.followup_pages import router as followup_router
from redline.web.ui.order_pages import router as order_router
from redline.web.ui.posting_account_pages import router as posting_account_router
from redline.web.ui.preservation_pages import router as preservation_router
from redline.web.ui.session_pages import router as session_router
from redline.web.ui.webhook_pages import router as webhook_router
from redline.web.ui.wellbeing_pages import router as wellbeing_router

router = APIRouter()
parts = (
    session_router,
    case_router,
    bank_router,
    audit_router,
    admin_router,
    order_router,
    complaint_router,
    dashboard_router,
    followup_router,
    preservation_router,
    webhook_router,
    designation_router,
    exchange_router,
    wellbeing_router,
    posting_account_router,
)
for part in parts:
    router.include_router(part)

__all__ = ["router"]
