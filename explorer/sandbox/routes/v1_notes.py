"""v1 notes (/api/v1 and /v1)."""

from __future__ import annotations

from explorer.sandbox.routing import Router

router = Router("v1")
