"""The sandbox-only admin endpoints under ``/_sandbox`` (a prefix Pipedrive does not use).

PLACEHOLDER interface — being implemented (see the task brief).
"""

from __future__ import annotations

from starlette.routing import BaseRoute


def admin_routes() -> list[BaseRoute]:
    return []
