"""Client fixtures: the sandbox in process (a seeded demo store per test) behind the client.

``client`` is a ``PipedriveClient`` opened on the sandbox's ASGI app with the sandbox token;
every rate snapshot it publishes is appended to ``snapshots``. Limits are off unless a test
module overrides ``sandbox_config``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient, RateSnapshot
from explorer.api.ratelimit import UsageCounter
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from tests.conftest import BASE_URL


@pytest.fixture
def config(app: SandboxApp) -> ClientConfig:
    return ClientConfig(base_url=BASE_URL, transport=httpx.ASGITransport(app=app))


@pytest.fixture
def snapshots() -> list[RateSnapshot]:
    return []


@pytest.fixture
async def client(
    config: ClientConfig, snapshots: list[RateSnapshot]
) -> AsyncIterator[PipedriveClient]:
    def record(snapshot: RateSnapshot, usage: UsageCounter) -> None:
        snapshots.append(snapshot)

    async with PipedriveClient(config, ApiTokenProvider(DEFAULT_TOKEN),
                               on_snapshot=record) as c:
        yield c
