"""Fault injection around the sandbox's ASGI app.

PLACEHOLDER interface — being implemented (see the task brief).
"""

from __future__ import annotations

from starlette.types import ASGIApp

from explorer.sandbox.config import FaultConfig
from explorer.sandbox.routing import Clock
from explorer.sandbox.stats import Stats


class FaultInjector:
    def __init__(self, config: FaultConfig, clock: Clock, stats: Stats) -> None:
        self.config = config
        self.clock = clock
        self.stats = stats

    def wrap(self, app: ASGIApp) -> ASGIApp:
        return app
