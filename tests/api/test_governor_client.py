"""The client's request path with the rate governor, against the sandbox in process with its
limits on (growth plan, API token; real time): arrival jitter, lanes, the daily probe, blocks
and proxy pages, callbacks that fail, requests cancelled after they left. Counts come from
the sandbox's own statistics, never from wall-clock times."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient, RateGovernor
from explorer.api.errors import Blocked, Forbidden, NetworkError, RateLimited
from explorer.api.events import GovernorEvent
from explorer.api.ratelimit import RateSnapshot, UsageCounter
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import FaultRule, LimitConfig, SandboxConfig
from tests.api.governed import session, spend_a_budget_of_two
from tests.conftest import BASE_URL


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(limits=LimitConfig(enabled=True))  # growth: 40 per 2 s


async def test_jittery_latency_earns_no_429(app: SandboxApp, config: ClientConfig) -> None:
    # Each request reaches the sandbox's limiter 50 ms + 0–1,000 ms after it was sent, so
    # the server counts it up to a second later than the client sent it.
    app.state.faults.add(FaultRule(kind="latency", probability=1.0, latency_ms=50,
                                   jitter_ms=1000))
    async with session(config, RateGovernor()) as client:
        deals = await asyncio.gather(*(client.get("deals", 1 + i % 40) for i in range(100)))
    assert len(deals) == 100
    assert app.state.stats.rate_limited == 0 and client.usage.rate_limited == 0


async def test_a_click_goes_ahead_of_a_queued_bulk_job(
    app: SandboxApp, config: ClientConfig
) -> None:
    finished: list[str] = []
    started = asyncio.Event()

    async def patch(n: int) -> None:
        await client.update("deals", 1 + n % 40, {"title": f"Bulk {n}"})
        finished.append("job")
        if len(finished) == 10:
            started.set()

    async with session(config, RateGovernor()) as client:
        with client.lane("background"):
            job = [asyncio.ensure_future(patch(n)) for n in range(120)]  # 3 windows of work
        await started.wait()
        deal = await client.get("deals", 7)  # the click, while ~100 PATCHes are queued
        finished.append("click")
        await asyncio.gather(*job)
    assert deal["id"] == 7
    # The click was answered in the job's first window, not after the queue ahead of it.
    assert finished.index("click") < 40
    assert app.state.stats.rate_limited == 0


async def test_the_snapshot_callback_cannot_break_a_request(
    config: ClientConfig, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(snapshot: RateSnapshot, usage: UsageCounter) -> None:
        raise RuntimeError("meter bug")

    with caplog.at_level(logging.ERROR):
        async with session(config, RateGovernor(), on_snapshot=broken) as client:
            assert (await client.get("deals", 1))["id"] == 1
            assert (await client.get("deals", 2))["id"] == 2
    assert "meter bug" in caplog.text


async def test_a_request_cancelled_after_it_left_is_counted(
    app: SandboxApp, config: ClientConfig
) -> None:
    app.state.faults.add(FaultRule(kind="latency", count=1, latency_ms=5_000))
    async with session(config, RateGovernor()) as client:
        pending = asyncio.ensure_future(client.get("deals", 1))
        for _ in range(500):
            if app.state.stats.faults["latency"]:  # it reached the server
                break
            await asyncio.sleep(0.01)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        assert client.usage.total_requests == 1
        assert client.usage.tokens["v2 GET /deals/{id}"] == 1  # it may well be charged


async def test_a_spent_daily_budget_is_noticed_back_by_a_cheap_probe(
    app: SandboxApp, config: ClientConfig
) -> None:
    app.state.limiter.reconfigure(LimitConfig(budget=2))
    events: list[GovernorEvent] = []
    governor = RateGovernor(daily_probe_interval=0.05)
    governor.subscribe(events.append)
    async with session(config, governor) as client:
        await spend_a_budget_of_two(client)
        assert governor.daily_resets_at is not None
        await asyncio.sleep(0)  # events come once per turn of the loop
        assert any(e.state.daily is not None for e in events)
        await asyncio.sleep(0.3)  # probes meet the spent budget (their 429s cost nothing)
        assert governor.daily_resets_at is not None
        probes = app.state.stats.requests["getCurrentUser"]
        assert probes >= 1 and app.state.stats.tokens["getCurrentUser"] == 0
        # The server's day turns, hours before the session's own estimate would say.
        app.state.limiter.reconfigure(LimitConfig(budget=100))
        app.state.limiter.reset()
        for _ in range(100):
            if governor.daily_resets_at is None:
                break
            await asyncio.sleep(0.05)
        assert governor.daily_resets_at is None and events[-1].state.daily is None
        assert (await client.get("deals", 3))["id"] == 3
        assert client.usage.requests["v1 GET /users/me"] == app.state.stats.requests[
            "getCurrentUser"]


async def test_the_block_page_stops_the_session_with_a_cool_down(
    app: SandboxApp, config: ClientConfig
) -> None:
    app.state.limiter.reconfigure(LimitConfig(block_after=2))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                 headers={"x-api-token": DEFAULT_TOKEN}) as hammer:
        statuses = [(await hammer.get("/api/v2/deals/1")).status_code for _ in range(44)]
    assert statuses[-1] == 403
    events: list[GovernorEvent] = []
    governor = RateGovernor()
    governor.subscribe(events.append)
    async with session(config, governor) as client:
        started = datetime.now(UTC)
        with pytest.raises(Blocked) as caught:
            await client.get("deals", 1)
        block = caught.value
        # The sandbox's page carries no Retry-After: the documented default, 5 minutes.
        assert block.cooldown_until is not None and block.retry_after == 300
        assert abs((block.cooldown_until - started).total_seconds() - 300) < 5
        assert "resume by themselves" in str(block)
        with pytest.raises(Blocked, match="not sent") as again:
            await client.get("deals", 2)
        assert again.value.cooldown_until == block.cooldown_until
        await asyncio.sleep(0)
        state = events[-1].state.block
        assert state is not None and state.cooldown_source == "default"
        assert abs((state.until - block.cooldown_until).total_seconds()) < 5


async def test_a_proxys_403_page_is_not_pipedrives_block() -> None:
    def proxy(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/deals/1"):  # a company proxy refuses this one
            return httpx.Response(403, html="<html><body><h1>403 Forbidden</h1>"
                                  "<hr>nginx</body></html>", headers={"server": "nginx"})
        return httpx.Response(404, json={"success": False, "error": "Deal not found"})

    config = ClientConfig(base_url=BASE_URL, transport=httpx.MockTransport(proxy))
    governor = RateGovernor()
    async with session(config, governor) as client:
        with pytest.raises(Forbidden) as caught:
            await client.get("deals", 1)
        assert not isinstance(caught.value, Blocked) and "proxy" in str(caught.value)
        assert client.blocked is None and governor.blocked_until is None
        with pytest.raises(Exception, match="Deal not found"):
            await client.get("deals", 2)  # sent: the session goes on
        assert client.usage.total_requests == 2


def test_a_block_page_is_told_by_cloudflares_marks() -> None:
    from explorer.api.responses import is_block_page

    page = "<html><title>Attention Required! | Cloudflare</title></html>"
    assert is_block_page(httpx.Response(403, html=page))
    assert is_block_page(httpx.Response(403, text="blocked", headers={"cf-ray": "8a-TLL"}))
    assert is_block_page(httpx.Response(403, text="", headers={"server": "cloudflare"}))
    assert not is_block_page(httpx.Response(403, html="<h1>403 Forbidden</h1><hr>nginx"))
    assert not is_block_page(httpx.Response(403, json={"success": False, "error": "no"},
                                            headers={"cf-ray": "8a-TLL"}))
    assert not is_block_page(httpx.Response(502, html=page))


async def test_a_window_429_with_daily_tokens_left_does_not_latch(
    client: PipedriveClient
) -> None:
    for _ in range(10):  # no governor: the search window fills up
        await client.search("Beacon")
    with pytest.raises(RateLimited) as caught:
        await client.search("Beacon")
    assert caught.value.scope == "search"  # the daily budget has tokens left
    governor = RateGovernor()
    assert await governor.on_rate_limited(caught.value, 1)
    assert governor.daily_resets_at is None


def test_resets_at_midnight_is_marked_approximate() -> None:
    from explorer.api.responses import daily_reset_is_approximate, daily_resets_at

    wall = datetime(2025, 3, 14, 18, 30, tzinfo=UTC)
    assert daily_resets_at(None, "Daily budget spent", wall) == wall.replace(
        hour=0, minute=0) + timedelta(days=1)
    assert daily_reset_is_approximate(None, "Daily budget spent")
    assert not daily_reset_is_approximate(None, "resets at midnight, in 900 s")
    assert not daily_reset_is_approximate(60.0, None)


class StaleOnce:
    """Credentials that go stale once while the request waits for its slot."""

    def __init__(self) -> None:
        self.inner = ApiTokenProvider(DEFAULT_TOKEN)
        self.renewed = 0
        self.stale = 1

    async def headers(self) -> dict[str, str]:
        self.renewed += 1
        return await self.inner.headers()

    def current_headers(self) -> dict[str, str] | None:
        if self.stale:
            self.stale -= 1
            return None
        return self.inner.current_headers()

    async def on_unauthorized(self) -> bool:
        return False


async def test_credentials_gone_stale_in_the_queue_give_the_slot_back_uncounted(
    app: SandboxApp, config: ClientConfig
) -> None:
    auth = StaleOnce()
    governor = RateGovernor()
    async with PipedriveClient(config, auth, governor=governor) as client:
        assert (await client.get("deals", 1))["id"] == 1
        assert auth.renewed == 2  # renewed outside the slot, then sent
        assert governor.occupied("burst") == 1  # the given-back slot left no trace
    assert app.state.stats.requests["getDeal"] == 1 and client.usage.total_requests == 1


async def test_credentials_that_never_stay_fresh_fail_the_request_unsent(
    app: SandboxApp, config: ClientConfig
) -> None:
    auth = StaleOnce()
    auth.stale = 1_000
    governor = RateGovernor()
    async with PipedriveClient(config, auth, governor=governor) as client:
        with pytest.raises(NetworkError, match="credentials fresh enough") as caught:
            await client.get("deals", 1)
        assert not caught.value.may_have_arrived
        assert governor.occupied("burst") == 0
    assert app.state.stats.requests["getDeal"] == 0 and client.usage.total_requests == 0


@pytest.mark.parametrize(("text", "daily"), [
    ("Daily API token budget exhausted: this request costs 1 tokens", True),
    ("The daily token limit has been reached for this company", True),
    ("Your company's daily API quota is spent", True),
    ("Rate limit exceeded: at most 40 requests per rolling 2-second window per token", False),
    ("Request over limit", False),
    (None, False),
])
def test_a_daily_message_is_told_from_a_window_one(text: str | None, daily: bool) -> None:
    from explorer.api.responses import says_daily

    assert says_daily(text) is daily
