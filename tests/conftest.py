"""Test-wide setup and the sandbox fixtures both the sandbox and the client tests build on.

Qt runs offscreen, so GUI tests need no display. ``store`` is a seeded demo store per test,
cloned from one session template; ``app`` is the sandbox's ASGI app over it, with limits off
unless a test module overrides ``sandbox_config`` (and ``clock``, with a frozen one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from explorer.sandbox.app import SandboxApp, create_app
from explorer.sandbox.config import LimitConfig, SandboxConfig
from explorer.sandbox.demo import generate
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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
    """Limits off by default, so functional tests never meet a 429; limit tests override
    this fixture (and ``clock``, with a frozen one) in their module."""
    return SandboxConfig(limits=LimitConfig(enabled=False))


@pytest.fixture
def app(store: Store, clock: Clock, sandbox_config: SandboxConfig) -> SandboxApp:
    return create_app(store, clock=clock, base_url=BASE_URL, config=sandbox_config)
