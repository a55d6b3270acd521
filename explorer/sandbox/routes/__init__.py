"""Every route module's ``Router``; ``app.py`` mounts them in this order."""

from explorer.sandbox.routes import (
    v1_account,
    v1_deals,
    v1_leads,
    v1_notes,
    v1_related,
    v2_activities,
    v2_core,
    v2_meta,
    v2_related,
    v2_search,
)
from explorer.sandbox.routing import Router

ROUTERS: list[Router] = [
    v2_core.router,
    v2_activities.router,
    v2_meta.router,
    v2_related.router,
    v2_search.router,
    v1_leads.router,
    v1_notes.router,
    v1_account.router,
    v1_deals.router,
    v1_related.router,
]
