"""The client and its rate governor against every variant of what Pipedrive does not document
(the sandbox's switches): successes without ``x-ratelimit-*``, search answers carrying the
general window's counters, no daily-budget headers, a server timezone other than UTC. The
limits are enforced the same in each; the client must be right in each (sandbox in process,
growth plan, API token, real time; counts from the sandbox's statistics)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest

from explorer.api import ClientConfig, RateGovernor
from explorer.api.errors import RateLimited
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import LimitConfig, SandboxConfig
from explorer.sandbox.routing import Clock
from tests.api.governed import session, spend_a_budget_of_two
from tests.conftest import BASE_URL

VARIANTS: dict[str, dict[str, Any]] = {
    "documented": {},
    "no-success-headers": {"success_headers": False},
    "search-carries-burst-counters": {"search_headers": "burst"},
    "no-daily-headers": {"daily_headers": False},
    "server-in-auckland": {"server_timezone": "Pacific/Auckland"},
    # A budget 429 that says only "spent", neither headers nor text telling when it resets.
    "auckland-untimed-no-daily-headers": {"server_timezone": "Pacific/Auckland",
                                          "daily_message": "plain", "daily_headers": False},
}


@pytest.fixture(params=list(VARIANTS), ids=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> dict[str, Any]:
    switches: dict[str, Any] = VARIANTS[request.param]
    return switches


@pytest.fixture
def sandbox_config(variant: dict[str, Any]) -> SandboxConfig:
    return SandboxConfig(limits=LimitConfig(enabled=True, **variant))


def other_app(app: SandboxApp) -> httpx.AsyncClient:
    """Another app on the same token, without a governor."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                             headers={"x-api-token": DEFAULT_TOKEN})


async def test_more_than_a_window_of_gets_and_searches_earns_no_429(
    app: SandboxApp, config: ClientConfig
) -> None:
    governor = RateGovernor()
    async with session(config, governor) as client:
        deals = [client.get("deals", 1 + i % 40) for i in range(60)]  # 1.5 × growth's 40
        searches = [client.search("Deal", item_types=("deal",)) for _ in range(20)]  # 2 × 10
        results = await asyncio.gather(*deals, *searches)
    assert len(results) == 80
    assert app.state.stats.rate_limited == 0 and app.state.stats.blocked == 0
    assert governor.limit("search") == 10


async def test_a_search_429_is_the_search_window_not_the_daily_budget(
    app: SandboxApp, config: ClientConfig
) -> None:
    async with other_app(app) as other:  # fills the search window of the shared token
        for _ in range(10):
            found = await other.get("/api/v2/itemSearch", params={"term": "Deal"})
            assert found.status_code == 200
    governor = RateGovernor()
    async with session(config, governor) as client:
        # The first search meets a 429 (its headers may be the burst window's, with room and
        # tokens to spare): the session pauses the search window and tries again.
        await client.search("Deal", item_types=("deal",))  # answered, not raised
        assert client.usage.rate_limited >= 1 and governor.daily_resets_at is None
        assert (await client.get("deals", 1))["id"] == 1  # sent, not refused
    assert app.state.stats.blocked == 0


async def test_a_spent_budget_is_daily_in_every_variant(
    app: SandboxApp, config: ClientConfig, clock: Clock
) -> None:
    app.state.limiter.reconfigure(LimitConfig(enabled=True, budget=2, **_switches(app)))
    governor = RateGovernor(daily_probe_interval=0.05)
    async with session(config, governor) as client:
        await spend_a_budget_of_two(client)
        assert governor.daily_resets_at is not None
        budget = app.state.limiter.snapshot()["daily_budget"]
        server_reset = datetime.fromisoformat(budget["resets_at"].replace("Z", "+00:00"))
        daily = governor.state().daily
        assert daily is not None
        if app.state.limiter.config.daily_message == "timed":
            # The session waits for the server's own midnight (its timezone's), which it said.
            assert abs((governor.daily_resets_at - server_reset).total_seconds()) < 5
            assert not daily.approximate
        else:  # nothing said when: a guess, shown as one, and the probe must find the reset
            assert daily.approximate
        sent = app.state.stats.requests["getDeal"]
        with pytest.raises(RateLimited, match="not sent"):
            await client.get("deals", 4)
        assert app.state.stats.requests["getDeal"] == sent
        # The server's day turns: a probe notices at once, not at the session's estimate.
        app.state.limiter.reconfigure(LimitConfig(enabled=True, budget=100, **_switches(app)))
        clock.advance((server_reset - clock.now()).total_seconds() + 1)
        for _ in range(100):
            if governor.daily_resets_at is None:
                break
            await asyncio.sleep(0.05)
        assert governor.daily_resets_at is None
        assert (await client.get("deals", 4))["id"] == 4


def _switches(app: SandboxApp) -> dict[str, Any]:
    config: LimitConfig = app.state.limiter.config
    return {"success_headers": config.success_headers, "search_headers": config.search_headers,
            "daily_headers": config.daily_headers, "server_timezone": config.server_timezone,
            "daily_message": config.daily_message}
