"""The rate governor against a sandbox server process on 127.0.0.1 with Pipedrive's limits on:
paced overload, 429 recovery, the daily budget and its reset, the 403 block. Assertions are on
counts (the sandbox's own, from ``/_sandbox/stats``), never on wall-clock times."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient, RateSnapshot
from explorer.api.errors import Blocked, RateLimited
from explorer.api.governor import RateGovernor
from explorer.api.ratelimit import Refused, UsageCounter
from explorer.api.responses import daily_resets_at
from tests.api.governed import FakeClock, burst_429
from tests.sandbox.test_cli import sandbox_process, stop

pytestmark = pytest.mark.e2e

DEFAULT_LIMITS = {"enabled": True, "plan": "growth", "budget": None, "retry_after": False,
                  "block_after": 20, "block_seconds": 60.0}


class Sandbox:
    """The server process and a plain httpx client for its admin endpoint."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.admin = httpx.Client(base_url=url, headers={"x-api-token": token}, timeout=10)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.admin.request(method, f"/_sandbox{path}", json=body)
        assert response.status_code < 300, response.text
        return response.json()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.call("GET", "/stats")
        return stats

    def requests(self) -> int:
        total: int = self.stats()["stats"]["requests"]["total"]
        return total


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with sandbox_process() as (proc, url, token):
        sandbox = Sandbox(url, token)
        try:
            yield sandbox
        finally:
            sandbox.admin.close()
        assert stop(proc) == 0


@pytest.fixture
def sandbox(server: Sandbox) -> Sandbox:
    server.call("PATCH", "/limits", DEFAULT_LIMITS)
    server.call("POST", "/limits/reset")
    server.call("DELETE", "/faults")
    server.call("POST", "/stats/reset")
    return server


def other_app(sandbox: Sandbox) -> httpx.AsyncClient:
    """Another client on the same token, without a governor."""
    return httpx.AsyncClient(base_url=sandbox.url, headers={"x-api-token": sandbox.token})


def governed(sandbox: Sandbox, governor: RateGovernor,
             snapshots: list[RateSnapshot] | None = None) -> PipedriveClient:
    def record(snapshot: RateSnapshot, usage: UsageCounter) -> None:
        if snapshots is not None:
            snapshots.append(snapshot)

    return PipedriveClient(ClientConfig(base_url=sandbox.url), ApiTokenProvider(sandbox.token),
                           governor=governor, on_snapshot=record)


async def test_three_times_the_burst_limit_gets_through_without_a_429(sandbox: Sandbox) -> None:
    governor = RateGovernor()
    snapshots: list[RateSnapshot] = []
    async with governed(sandbox, governor, snapshots) as client:
        deals = [client.get("deals", 1 + i % 50) for i in range(120)]  # 3 × growth's 40
        searches = [client.search("Deal", item_types=("deal",)) for _ in range(30)]  # 3 × 10
        results = await asyncio.gather(*deals, *searches)
    assert len(results) == 150 and all(results[:120])
    stats = sandbox.stats()["stats"]
    assert stats["rate_limited"] == 0 and stats["blocked"] == 0
    assert stats["requests"]["total"] == 150 and client.usage.rate_limited == 0
    assert (governor.limit("burst"), governor.limit("search")) == (40, 10)
    # Concurrent tasks together filled each window to its limit (no artificial serialisation).
    assert any(s.scope == "burst" and s.remaining == 0 for s in snapshots)
    assert any(s.scope == "search" and s.remaining == 0 for s in snapshots)


async def test_a_window_filled_by_another_client_costs_one_429(sandbox: Sandbox) -> None:
    async with other_app(sandbox) as other:
        for _ in range(40):  # another app on the same token fills the window
            assert (await other.get("/api/v2/deals/1")).status_code == 200
    governor = RateGovernor()
    async with governed(sandbox, governor) as client:
        results = await asyncio.gather(*(client.get("deals", 1 + i) for i in range(39)))
    assert [r["id"] for r in results] == list(range(1, 40))
    stats = sandbox.stats()["stats"]
    # The first request goes alone and finds the window full; everyone waits for the reset
    # (a second probe may still find some of the other client's requests in the window).
    assert 1 <= stats["rate_limited"] == client.usage.rate_limited == governor.pauses <= 2
    assert stats["blocked"] == 0


@pytest.mark.parametrize("retry_after", [False, True])
async def test_recovers_when_the_limit_drops_mid_run(sandbox: Sandbox, retry_after: bool) -> None:
    sandbox.call("PATCH", "/limits", {"retry_after": retry_after})
    governor = RateGovernor()
    snapshots: list[RateSnapshot] = []
    changed = False

    def downgrade(snapshot: RateSnapshot, usage: UsageCounter) -> None:
        nonlocal changed
        snapshots.append(snapshot)
        if len(snapshots) == 30 and not changed:  # growth (40) → lite (20), mid-window
            changed = True
            sandbox.call("PATCH", "/limits", {"plan": "lite"})

    async with PipedriveClient(ClientConfig(base_url=sandbox.url),
                               ApiTokenProvider(sandbox.token), governor=governor,
                               on_snapshot=downgrade) as client:
        results = await asyncio.gather(*(client.get("deals", 1 + i) for i in range(50)))
    assert [r["id"] for r in results] == list(range(1, 51)) and changed
    stats = sandbox.stats()["stats"]
    assert stats["blocked"] == 0 and stats["statuses"].get("200") == 50
    # Only requests already on their way when the limit dropped can meet a 429.
    assert 1 <= stats["rate_limited"] <= governor.max_in_flight
    assert governor.limit("burst") == 20 and governor.pauses >= 1


async def test_a_spent_daily_budget_stops_sending_until_the_reset(sandbox: Sandbox) -> None:
    sandbox.call("PATCH", "/limits", {"budget": 30})  # GET /deals/{id} costs 1 token
    server_now = datetime.fromisoformat(sandbox.call("GET", "/clock")["now"])
    shift = [server_now - datetime.now(UTC)]  # the governor's wall clock follows the sandbox's
    governor = RateGovernor(now=lambda: datetime.now(UTC) + shift[0])
    async with governed(sandbox, governor) as client:
        outcomes = await asyncio.gather(*(client.get("deals", 1 + i) for i in range(50)),
                                        return_exceptions=True)
        done = [o for o in outcomes if isinstance(o, dict)]
        refused = [o for o in outcomes if isinstance(o, RateLimited)]
        assert len(done) == 30 and len(refused) == 20
        assert {e.scope for e in refused} == {"daily"}
        sent = sandbox.requests()
        # Only requests already on their way when the budget ran out reached the sandbox.
        assert 30 < sent <= 30 + governor.max_in_flight
        limits = sandbox.stats()["limits"]["daily_budget"]
        resets_at = datetime.fromisoformat(limits["resets_at"].replace("Z", "+00:00"))
        assert governor.daily_resets_at is not None
        assert abs((governor.daily_resets_at - resets_at).total_seconds()) < 5

        with pytest.raises(RateLimited) as caught:
            await client.get("deals", 1)
        error = caught.value
        assert error.scope == "daily" and error.method == "GET"
        assert error.path == "/api/v2/deals/1" and error.resets_at == governor.daily_resets_at
        assert "not sent" in str(error) and "resets at" in str(error)
        assert sandbox.requests() == sent  # nothing was sent

        # Past the sandbox's midnight the budget is back, and so is the session.
        wait = (resets_at - server_now).total_seconds() + 1
        sandbox.call("POST", "/clock", {"advance_seconds": wait})
        shift[0] += timedelta(seconds=wait)
        assert (await client.get("deals", 2))["id"] == 2
        assert governor.daily_resets_at is None and sandbox.requests() == sent + 1


async def test_a_block_stops_every_waiting_request(sandbox: Sandbox) -> None:
    sandbox.call("PATCH", "/limits", {"block_after": 2})
    async with other_app(sandbox) as hammer:  # it ignores its 429s and gets the token blocked
        statuses = [(await hammer.get("/api/v2/deals/1")).status_code for _ in range(44)]
    assert statuses[-1] == 403
    blocked_before = sandbox.stats()["stats"]["blocked"]
    governor = RateGovernor()
    async with governed(sandbox, governor) as client:
        outcomes = await asyncio.gather(*(client.get("deals", 1 + i) for i in range(30)),
                                        return_exceptions=True)
        assert all(isinstance(o, Blocked) for o in outcomes)
        # The first request went alone and met the block page; nothing else was sent.
        assert sandbox.stats()["stats"]["blocked"] == blocked_before + 1
        assert sum("not sent" in str(o) for o in outcomes) == 29
        assert client.blocked is not None
        with pytest.raises(Blocked, match="not sent"):
            await client.get("deals", 1)
        assert sandbox.stats()["stats"]["blocked"] == blocked_before + 1


# ---------------------------------------------------------------------- no server needed


async def test_many_429s_at_once_share_one_pause() -> None:
    clock = FakeClock()
    governor = RateGovernor(clock=clock, backoff_base=1.0)
    # No Retry-After and no x-ratelimit-reset: exponential backoff, one pause per episode.
    answers = await asyncio.gather(*(governor.on_rate_limited(burst_429(), 1) for _ in range(25)))
    assert all(answers) and governor.pauses == 1
    first = governor.paused_until("burst")
    assert clock.now + 0.5 <= first <= clock.now + 1.0
    assert governor.paused_until("search") == 0.0  # the search window is not paused
    clock.now = first + 0.01  # the next episode backs off longer
    await governor.on_rate_limited(burst_429(), 2)
    assert governor.pauses == 2 and governor.paused_until("burst") >= clock.now + 1.0
    # A server-given wait wins over the backoff.
    clock.now += 10
    await governor.on_rate_limited(burst_429(retry_after=2), 1)
    assert governor.paused_until("burst") == pytest.approx(clock.now + 2 + governor.margin)


def test_daily_reset_time_comes_from_the_answer() -> None:
    wall = datetime(2025, 3, 14, 18, 30, tzinfo=UTC)
    text = "The budget resets at midnight server time (UTC), in 900 s."
    assert daily_resets_at(60.0, text, wall) == wall + timedelta(seconds=60)  # Retry-After
    assert daily_resets_at(None, text, wall) == wall + timedelta(seconds=900)
    assert daily_resets_at(None, "Daily budget spent", wall) == datetime(2025, 3, 15, tzinfo=UTC)
    assert daily_resets_at(None, None, wall) == datetime(2025, 3, 15, tzinfo=UTC)


async def test_the_daily_latch_lasts_until_the_errors_reset_time() -> None:
    wall = datetime(2025, 3, 14, 18, 30, tzinfo=UTC)
    governor = RateGovernor(now=lambda: wall)
    # The error's reset time is the one answer: the governor does not work out its own.
    daily = RateLimited(429, "GET", "/api/v2/deals", "Request over limit",
                        "The budget resets at midnight server time (UTC), in 900 s.",
                        scope="daily", resets_at=wall + timedelta(seconds=300))
    assert await governor.on_rate_limited(daily, 1) is False
    assert governor.daily_resets_at == wall + timedelta(seconds=300)
    with pytest.raises(Refused):  # later requests are refused before they are sent
        async with governor.slot("burst"):
            pytest.fail("a request went out with the daily budget spent")
    governor.clear_daily()
    assert governor.daily_resets_at is None
