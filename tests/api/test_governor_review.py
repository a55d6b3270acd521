"""Review of the rate governor and the client's request path: races and leaks found by
review, each pinned by a test that failed before its fix (sandbox in process with limits on,
growth plan, API token)."""

from __future__ import annotations

import asyncio

import pytest

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient, RateGovernor
from explorer.api.errors import RateLimited
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import LimitConfig, SandboxConfig


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(limits=LimitConfig(enabled=True))


def session(config: ClientConfig, governor: RateGovernor) -> PipedriveClient:
    return PipedriveClient(config, ApiTokenProvider(DEFAULT_TOKEN), governor=governor)


async def until_true(predicate: object, turns: int = 200) -> bool:
    for _ in range(turns):
        if predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.02)
    return False


async def test_the_daily_probe_outlives_a_block_met_while_the_budget_is_spent(
    app: SandboxApp, config: ClientConfig
) -> None:
    # Budget of 2 tokens; any request within 2 s of a 429 blocks the token.
    app.state.limiter.reconfigure(LimitConfig(budget=2, block_after=0))
    governor = RateGovernor(daily_probe_interval=0.02)
    async with session(config, governor) as client:
        await client.get("deals", 1)
        await client.get("deals", 2)
        with pytest.raises(RateLimited) as caught:
            await client.get("deals", 3)
        assert caught.value.scope == "daily"
        # The first probe meets the block page; the next ones are held back by the block.
        assert await until_true(lambda: governor.blocked_until is not None)
        await asyncio.sleep(0.1)  # a few probe intervals inside the block
        # The server's day turns and the user lifts the block: the probe, still running,
        # finds the budget back without any request of the user's being refused first.
        app.state.limiter.reconfigure(LimitConfig(budget=100))
        app.state.limiter.reset()
        client.resume()
        assert await until_true(lambda: governor.daily_resets_at is None)
        assert (await client.get("deals", 3))["id"] == 3
    assert app.state.stats.blocked == 1
