"""The sandbox with its limits on and its clock frozen, for the limit tests (``test_limits.py``,
``test_switches.py``): every request lands at an exact instant, moved with ``advance``.

The fixtures are named by ``name=`` so a test module imports them under their function names
without shadowing the fixture arguments of its tests; a module parametrizes ``limits`` to change
the plan, auth kind or switches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from explorer.sandbox.config import LimitConfig, SandboxConfig
from explorer.sandbox.routing import Clock
from tests.sandbox.spec import OPT_OUT_HEADER

START = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)   # a Friday, 10:00 UTC
TICK = timedelta(microseconds=1)
DEAL = "/api/v2/deals/1"
SEARCH = "/api/v2/deals/search"
BLOCK_PAGE = {OPT_OUT_HEADER: "may be answered by the 403 Cloudflare HTML block page"}


@pytest.fixture(name="clock")
def frozen_clock() -> Clock:
    return Clock(frozen_at=START)


@pytest.fixture(name="limits")
def default_limits() -> LimitConfig:
    """Pipedrive's defaults (growth plan, API token); tests parametrize this to change them."""
    return LimitConfig()


@pytest.fixture(name="sandbox_config")
def limited_config(limits: LimitConfig) -> SandboxConfig:
    return SandboxConfig(limits=limits)


def num(response: httpx.Response, header: str) -> int:
    return int(response.headers[header])


async def search(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(SEARCH, params={"term": "Beacon"})


def is_429(response: httpx.Response) -> bool:
    """Whether this is a rate limit's 429, checking its body is Pipedrive's."""
    if response.status_code != 429:
        return False
    body = response.json()
    assert body["success"] is False and body["error"] == "Request over limit", body
    return True
