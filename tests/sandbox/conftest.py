"""The sandbox tests' client: httpx over the ASGI app, every response checked against the spec.

The store, clock and app fixtures are in ``tests/conftest.py``. ``client`` talks to the
sandbox's ASGI app in-process through httpx, authenticated with the sandbox token. Every
response it receives is checked against Pipedrive's OpenAPI spec for the operation it answers
(``tests/sandbox/spec.py``); a test whose client received a response that violates the spec
fails at teardown with the list of violations. A request may opt out with the
``x-spec-check-skip: <reason>`` header (``spec.OPT_OUT_HEADER``) — for deliberately off-spec
traffic only, never to hide a sandbox problem.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from explorer.sandbox.app import DEFAULT_TOKEN
from tests.conftest import BASE_URL
from tests.sandbox.spec import SUMMARY_KEY, SpecLog, SpecValidator


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
