"""Client fixtures: the sandbox in process (a seeded demo store per test) behind the client.

``client`` is a ``PipedriveClient`` opened on the sandbox's ASGI app with the sandbox token;
every rate snapshot it publishes is appended to ``snapshots``. Limits are off unless a test
module overrides ``sandbox_config``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient, RateSnapshot
from explorer.api.ratelimit import UsageCounter
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp, create_app
from explorer.sandbox.config import LimitConfig, SandboxConfig
from explorer.sandbox.demo import generate
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store

DEMO_SEED = 7
BASE_URL = "http://sandbox.test"


@pytest.fixture(scope="session")
def template_store() -> Iterator[Store]:
    store = Store()
    generate(store, size="small", seed=DEMO_SEED)
    yield store
    store.close()


@pytest.fixture
def store(template_store: Store) -> Iterator[Store]:
    copy = template_store.clone()
    yield copy
    copy.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(limits=LimitConfig(enabled=False))


@pytest.fixture
def app(store: Store, clock: Clock, sandbox_config: SandboxConfig) -> SandboxApp:
    return create_app(store, clock=clock, base_url=BASE_URL, config=sandbox_config)


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
