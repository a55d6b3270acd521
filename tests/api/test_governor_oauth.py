"""A slow OAuth refresh, and a slow keychain store after it, in the middle of a run at the
OAuth limit (sandbox in process, lite plan: 80 OAuth requests per 2 s): getting credentials
never holds a window slot, so the window is counted from when requests really leave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from explorer.api import ClientConfig, PipedriveClient, RateGovernor
from explorer.api.auth import OAuthTokenProvider
from explorer.api.oauth import TokenSet
from explorer.api.ratelimit import RateSnapshot, UsageCounter
from explorer.sandbox.app import SandboxApp, create_app
from explorer.sandbox.config import FaultRule, LimitConfig, OAuthConfig, SandboxConfig
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store
from tests.api.tokens_sandbox import LOOPBACK, OAUTH_APP, sign_in_without_browser

STORE_S = 2.0  # a keychain that takes its time (the issue measured 3 s)
REFRESH_MS = 2000  # and a token endpoint that does


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(limits=LimitConfig(enabled=True, plan="lite"),
                         oauth=OAuthConfig(auto_approve=True))


@pytest.fixture
def app(store: Store, clock: Clock, sandbox_config: SandboxConfig) -> SandboxApp:
    return create_app(store, clock=clock, base_url=LOOPBACK, config=sandbox_config)


@pytest.fixture
async def http(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        yield client


async def test_a_slow_token_store_mid_run_earns_no_429(
    app: SandboxApp, http: httpx.AsyncClient
) -> None:
    first = await sign_in_without_browser(http)
    app.state.faults.add(FaultRule(kind="latency", count=1, path="/oauth/token",
                                   latency_ms=REFRESH_MS))
    wall = [datetime.now(UTC)]
    stored: list[TokenSet] = []

    async def keychain(tokens: TokenSet) -> None:
        await asyncio.sleep(STORE_S)
        stored.append(tokens)

    provider = OAuthTokenProvider(OAUTH_APP, first, on_tokens=keychain, http=http,
                                  now=lambda: wall[0])
    answers = 0

    def age_the_token(snapshot: RateSnapshot, usage: UsageCounter) -> None:
        nonlocal answers
        answers += 1
        if answers == 30:  # the access token is due for its refresh from now on
            wall[0] = first.expires_at - timedelta(seconds=30)

    governor = RateGovernor(auth_kind="oauth")
    config = ClientConfig(base_url=LOOPBACK, transport=httpx.ASGITransport(app=app))
    async with PipedriveClient(config, provider, governor=governor,
                               on_snapshot=age_the_token) as client:
        deals = await asyncio.gather(*(client.get("deals", 1 + i % 40) for i in range(200)))
    assert len(deals) == 200 and provider.refreshes == 1
    assert app.state.stats.rate_limited == 0 and client.usage.rate_limited == 0
    assert governor.limit("burst") == 80  # the OAuth limit of the lite plan, from the headers
