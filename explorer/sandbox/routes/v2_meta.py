"""v2 pipelines, stages and the *Fields endpoints (/api/v2)."""

from __future__ import annotations

from explorer.sandbox.routing import Router

router = Router("v2")
