"""Sandbox fixtures: a seeded demo store per test (cloned from one template) and a client.

``client`` talks to the sandbox's ASGI app in-process through httpx, authenticated with the
sandbox token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from explorer.sandbox.app import DEFAULT_TOKEN, create_app
from explorer.sandbox.demo import generate
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store

DEMO_SEED = 7


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
def app(store: Store, clock: Clock):  # type: ignore[no-untyped-def]
    return create_app(store, clock=clock)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://sandbox.test",
        headers={"x-api-token": DEFAULT_TOKEN},
    ) as c:
        yield c
