"""v2 itemSearch and the per-entity search endpoints (/api/v2)."""

from __future__ import annotations

from explorer.sandbox.routing import Router

router = Router("v2")
