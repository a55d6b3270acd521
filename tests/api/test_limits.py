"""With the sandbox's limits on: snapshots carry the headers; 429s and the block map to the
error tree (pacing and recovery belong to the rate governor)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from explorer.api import (
    ApiTokenProvider,
    ClientConfig,
    NullGovernor,
    PipedriveClient,
    RateGovernor,
    RateSnapshot,
)
from explorer.api.errors import Blocked, RateLimited
from explorer.api.ratelimit import RequestKind, Slot
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import LimitConfig, SandboxConfig
from explorer.sandbox.routing import Clock

NOON = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen_at=NOON)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(limits=LimitConfig(enabled=True))  # growth plan, API token


async def test_snapshots_carry_the_rate_limit_headers(
    client: PipedriveClient, snapshots: list[RateSnapshot]
) -> None:
    await client.get("deals", 1)
    await client.search("Beacon", item_types=("deal",))
    burst, search = snapshots
    assert (burst.scope, burst.limit, burst.remaining) == ("burst", 40, 39)
    assert burst.reset_seconds is not None and 0 <= burst.reset_seconds <= 2
    assert burst.daily_token_limit == 60_000  # 30,000 × growth multiplier 2 × 1 seat
    assert burst.daily_token_remaining == 60_000 - 1
    assert burst.daily_requests_left is not None and burst.has_limits
    assert (search.scope, search.limit, search.remaining) == ("search", 10, 9)
    assert search.daily_token_remaining == 60_000 - 1 - 20
    assert client.usage.total_tokens == 21


async def test_burst_429_is_rate_limited_with_retry_after(
    client: PipedriveClient, clock: Clock
) -> None:
    for _ in range(40):
        await client.get("deals", 1)
    with pytest.raises(RateLimited) as caught:
        await client.get("deals", 1)
    error = caught.value
    assert (error.status, error.scope, error.retry_after) == (429, "burst", 2)
    assert client.usage.rate_limited == 1 and client.usage.tokens["v2 GET /deals/{id}"] == 40
    clock.advance(2)
    assert (await client.get("deals", 1))["id"] == 1


async def test_search_429_has_its_own_scope(client: PipedriveClient) -> None:
    for _ in range(10):
        await client.search("Beacon")
    with pytest.raises(RateLimited) as caught:
        await client.search("Beacon")
    assert caught.value.scope == "search"
    await client.get("deals", 1)  # the burst window is untouched


async def test_spent_daily_budget_is_distinct_and_says_when_it_resets(
    app: SandboxApp, client: PipedriveClient
) -> None:
    app.state.limiter.reconfigure(LimitConfig(budget=25))
    await client.get("deals", 1)  # 1 token
    await client.request("GET", "v2", "/deals", params={"limit": 1})  # 10
    await client.request("GET", "v2", "/deals", params={"limit": 1})  # 10: 4 left
    with pytest.raises(RateLimited) as caught:
        # Whether the sandbox lets the last request overdraw or not, the budget runs out.
        for _ in range(2):
            await client.request("GET", "v2", "/deals", params={"limit": 1})
    error = caught.value
    assert error.scope == "daily" and not error.approximate  # the answer said when
    # The sandbox's clock is at noon UTC: its budget resets in 12 h, which its text says.
    assert "in 43200 s" in (error.error_info or "")
    expected = datetime.now(UTC) + timedelta(hours=12)
    assert error.resets_at is not None
    assert abs((error.resets_at - expected).total_seconds()) < 60
    assert "daily API token budget" in str(error) and "resets at" in str(error)


async def test_daily_reset_time_follows_retry_after(
    app: SandboxApp, client: PipedriveClient, clock: Clock
) -> None:
    app.state.limiter.reconfigure(LimitConfig(budget=0, retry_after=True))
    with pytest.raises(RateLimited) as caught:
        await client.get("deals", 1)
    error = caught.value
    assert error.scope == "daily" and error.retry_after == 12 * 3600
    assert error.resets_at is not None
    expected = datetime.now(UTC) + timedelta(hours=12)
    assert abs((error.resets_at - expected).total_seconds()) < 60


async def test_daily_reset_time_follows_the_error_text(
    app: SandboxApp, client: PipedriveClient
) -> None:
    app.state.limiter.reconfigure(LimitConfig(budget=0))  # no Retry-After
    with pytest.raises(RateLimited) as caught:
        await client.get("deals", 1)
    error = caught.value
    assert error.scope == "daily" and error.retry_after is None
    assert "in 43200 s" in (error.error_info or "")  # the sandbox's clock is at noon
    expected = datetime.now(UTC) + timedelta(hours=12)
    assert error.resets_at is not None
    assert abs((error.resets_at - expected).total_seconds()) < 60
    governor = RateGovernor()  # the session waits until that very time
    await governor.on_rate_limited(error, 1)
    assert governor.daily_resets_at == error.resets_at


async def test_a_block_stops_all_traffic_of_the_session(
    app: SandboxApp, client: PipedriveClient
) -> None:
    app.state.limiter.reconfigure(LimitConfig(block_after=2))
    for _ in range(40):
        await client.get("deals", 1)
    limited = 0
    with pytest.raises(Blocked) as caught:
        for _ in range(10):
            try:
                await client.get("deals", 1)
            except RateLimited:
                limited += 1
    # The 41st meets the 429; the frozen clock keeps the next ones in its window: two more
    # are refused (strikes 1 and 2 of block_after=2), the third strike is the block.
    assert limited == 3 and caught.value.status == 403
    assert "HTML" in str(caught.value)
    sent = client.usage.total_requests
    with pytest.raises(Blocked, match="not sent"):
        await client.get("leads", "8b967fe2-01c4-4cbc-8345-995d0c987715")
    assert client.usage.total_requests == sent
    assert client.blocked is not None
    client.resume()
    with pytest.raises(Blocked):  # the cool-down is not over
        await client.get("deals", 1)


class RecordingGovernor:
    """A governor that lets everything through, and after a 429 moves the sandbox's frozen
    clock past the window instead of sleeping."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.kinds: list[str] = []
        self.observed: list[RateSnapshot] = []
        self.limited: list[tuple[str, int]] = []

    def slot(self, kind: RequestKind, *, probe: bool = False) -> Slot:
        self.kinds.append(kind)
        return NullGovernor().slot(kind)

    def observe(self, snapshot: RateSnapshot) -> None:
        self.observed.append(snapshot)

    async def on_rate_limited(self, error: RateLimited, attempt: int) -> bool:
        self.limited.append((error.scope, attempt))
        assert error.retry_after is not None
        self.clock.advance(error.retry_after)
        return True


async def test_the_governor_seam(config: ClientConfig, clock: Clock) -> None:
    governor = RecordingGovernor(clock)
    async with PipedriveClient(config, ApiTokenProvider(DEFAULT_TOKEN),
                               governor=governor) as client:
        for _ in range(41):
            await client.get("deals", 1)
        await client.search("Beacon")
    assert governor.kinds == ["burst"] * 42 + ["search"]
    assert governor.limited == [("burst", 1)]
    assert [s.status for s in governor.observed] == [200] * 40 + [429, 200, 200]
    assert client.usage.rate_limited == 1 and client.usage.retries == 1
