"""What the sandbox has counted since it started (served by ``GET /_sandbox/stats``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    """Counters the limiter, the fault injector and the request path add to.

    Attributes:
        requests: requests that reached an operation, by operationId (429s and 403s included).
        tokens: daily-budget tokens charged, by operationId.
        statuses: responses sent, by HTTP status.
        rate_limited: 429s sent (burst, search or daily budget).
        blocked: 403 block pages sent.
        faults: faults injected, by kind.
    """

    requests: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    blocked: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": {"total": sum(self.requests.values()), **dict(self.requests)},
            "tokens": {"total": sum(self.tokens.values()), **dict(self.tokens)},
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "rate_limited": self.rate_limited,
            "blocked": self.blocked,
            "faults": {"total": sum(self.faults.values()), **dict(self.faults)},
        }

    def reset(self) -> None:
        self.requests.clear()
        self.tokens.clear()
        self.statuses.clear()
        self.rate_limited = 0
        self.blocked = 0
        self.faults.clear()
