"""Pipedrive's limits: burst window, search window, daily token budget, headers, 429 and 403.

PLACEHOLDER interface — being implemented (see the task brief); admits everything for now.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from explorer.sandbox.config import LimitConfig
from explorer.sandbox.routing import Clock, Operation, Principal
from explorer.sandbox.stats import Stats


class Limiter:
    def __init__(self, config: LimitConfig, clock: Clock, stats: Stats) -> None:
        self.config = config
        self.clock = clock
        self.stats = stats

    def admit(self, principal: Principal, op: Operation) -> Response | None:
        return None

    def stamp(self, principal: Principal, op: Operation, response: Response) -> None:
        return None

    def reconfigure(self, config: LimitConfig) -> None:
        self.config = config

    def reset(self) -> None:
        return None

    def snapshot(self) -> dict[str, Any]:
        return {}
