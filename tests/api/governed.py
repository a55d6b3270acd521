"""Sessions on the sandbox in process under a ``RateGovernor``, and the steps the governor
tests share (spending a small daily budget, a clock the test moves, a burst 429, an answer's
rate-limit snapshot)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient, RateGovernor
from explorer.api.errors import RateLimited
from explorer.api.ratelimit import RateSnapshot, RequestKind
from explorer.sandbox.app import DEFAULT_TOKEN

WALL = datetime(2025, 3, 14, 18, 30, tzinfo=UTC)
"""The wall-clock time of ``answer``'s snapshots."""


def session(config: ClientConfig, governor: RateGovernor, **options: object) -> PipedriveClient:
    """A client on the sandbox's default API token, paced by ``governor``."""
    return PipedriveClient(config, ApiTokenProvider(DEFAULT_TOKEN), governor=governor,
                           **options)  # type: ignore[arg-type]


async def spend_a_budget_of_two(client: PipedriveClient) -> RateLimited:
    """Two single-record GETs spend a daily budget of 2 tokens; the third is refused with the
    daily budget's 429, which is returned for the test to look at further."""
    await client.get("deals", 1)
    await client.get("deals", 2)
    with pytest.raises(RateLimited) as caught:
        await client.get("deals", 3)
    assert caught.value.scope == "daily"
    return caught.value


class FakeClock:
    """A monotonic clock standing at ``now`` seconds: only the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def burst_429(retry_after: float | None = None) -> RateLimited:
    """A burst-window 429 as the client raises it (``retry_after``: its Retry-After)."""
    return RateLimited(429, "GET", "/api/v2/deals", "Request over limit", scope="burst",
                       retry_after=retry_after)


def answer(scope: RequestKind = "burst", status: int = 200, *, limit: int | None = None,
           remaining: int | None = None, daily: int | None = None, blocked: bool = False,
           retry_after: float | None = None) -> RateSnapshot:
    """The rate-limit headers of one answer, as the client hands them to the governor."""
    return RateSnapshot(scope=scope, limit=limit, remaining=remaining, reset_seconds=None,
                        daily_token_limit=None if daily is None else 60_000,
                        daily_token_remaining=daily, daily_requests_left=None, status=status,
                        operation="v2 GET /deals/{id}", taken_at=0.0, at=WALL,
                        blocked=blocked, retry_after=retry_after)
