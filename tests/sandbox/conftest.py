"""Sandbox fixtures: a seeded demo store per test (cloned from one template) and a client.

``client`` talks to the sandbox's ASGI app in-process through httpx, authenticated with the
sandbox token. Every response it receives is checked against Pipedrive's OpenAPI spec for the
operation it answers (``tests/sandbox/spec.py``); a test whose client received a response that
violates the spec fails at teardown with the list of violations. A request may opt out with the
``x-spec-check-skip: <reason>`` header (``spec.OPT_OUT_HEADER``) — for deliberately off-spec
traffic only, never to hide a sandbox problem.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp, create_app
from explorer.sandbox.config import LimitConfig, SandboxConfig
from explorer.sandbox.demo import generate
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store
from tests.sandbox.spec import SUMMARY_KEY, SpecLog, SpecValidator

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


@pytest.fixture(scope="session")
def spec_validator() -> SpecValidator:
    """One validator per session: the specs are parsed once, on first use."""
    return SpecValidator()


@pytest.fixture
def spec_log(spec_validator: SpecValidator) -> Iterator[SpecLog]:
    """The spec checks of every response ``client`` receives; violations fail the test."""
    log = SpecLog(spec_validator)
    yield log
    if log.violations:
        pytest.fail(log.report(), pytrace=False)


@pytest.fixture
async def client(  # type: ignore[no-untyped-def]
    app, spec_log: SpecLog
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url=BASE_URL,
        headers={"x-api-token": DEFAULT_TOKEN},
        event_hooks={"response": [spec_log.hook]},
    ) as c:
        yield c


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    summary = config.stash.get(SUMMARY_KEY, None)
    if summary is not None:
        terminalreporter.write_line(summary)
