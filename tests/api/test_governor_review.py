"""Review of the rate governor and the client's request path: races and leaks found by
review, each pinned by a test that failed before its fix (sandbox in process with limits on,
growth plan, API token)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from explorer.api import ClientConfig, RateGovernor
from explorer.api.errors import Blocked, RateLimited
from explorer.api.events import GovernorEvent
from explorer.api.ratelimit import MAX_WAIT_S, RateSnapshot
from explorer.api.responses import api_error
from explorer.sandbox.app import SandboxApp
from explorer.sandbox.config import LimitConfig, SandboxConfig
from tests.api.governed import FakeClock, answer, session, spend_a_budget_of_two


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(limits=LimitConfig(enabled=True))


async def until_true(predicate: object, turns: int = 200) -> bool:
    for _ in range(turns):
        if predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.02)
    return False


async def test_the_daily_probe_outlives_a_block_met_while_the_budget_is_spent(
    app: SandboxApp, config: ClientConfig
) -> None:
    # Budget of 2 tokens; any request within 2 s of a 429 blocks the token.
    app.state.limiter.reconfigure(LimitConfig(budget=2, block_after=0))
    governor = RateGovernor(daily_probe_interval=0.02)
    async with session(config, governor) as client:
        await spend_a_budget_of_two(client)
        # The first probe meets the block page; the next ones are held back by the block.
        assert await until_true(lambda: governor.blocked_until is not None)
        await asyncio.sleep(0.1)  # a few probe intervals inside the block
        # The server's day turns and the user lifts the block: the probe, still running,
        # finds the budget back without any request of the user's being refused first.
        app.state.limiter.reconfigure(LimitConfig(budget=100))
        app.state.limiter.reset()
        client.resume()
        assert await until_true(lambda: governor.daily_resets_at is None)
        assert (await client.get("deals", 3))["id"] == 3
    assert app.state.stats.blocked == 1


# ---------------------------------------------------------------------- events as time passes
# A meter hears events, it does not poll: what changes only because time passed (the window
# drains, a pause ends) must be published too, or the meter shows a full window forever.


async def heard(events: list[GovernorEvent], test: Callable[[GovernorEvent], bool]) -> bool:
    return await until_true(lambda: bool(events) and test(events[-1]), turns=100)


async def test_the_meter_hears_the_window_drain_after_the_last_answer() -> None:
    governor = RateGovernor(window=0.5, plan="growth")  # a short window: real time, no waits
    events: list[GovernorEvent] = []
    governor.subscribe(events.append)
    for _ in range(3):
        slot = governor.slot("burst")
        async with slot:
            slot.sending()
    assert await heard(events, lambda e: e.state.windows["burst"].occupied == 3)
    # Nothing else happens: the answers leave the window by themselves, and the meter hears it.
    assert await heard(events, lambda e: e.state.windows["burst"].occupied == 0)


async def test_the_meter_hears_a_pause_end_with_nothing_queued() -> None:
    governor = RateGovernor()
    events: list[GovernorEvent] = []
    governor.subscribe(events.append)
    error = RateLimited(429, "GET", "/api/v2/deals", "Request over limit", scope="burst",
                        retry_after=0.5)
    assert await governor.on_rate_limited(error, 1)
    assert await heard(events, lambda e: e.state.windows["burst"].paused_until is not None)
    assert await heard(events, lambda e: "pause" in e.changes
                       and e.state.windows["burst"].paused_until is None)


async def test_the_meter_hears_a_block_end_without_a_request() -> None:
    governor = RateGovernor()
    events: list[GovernorEvent] = []
    governor.subscribe(events.append)
    governor.observe(answer(status=403, blocked=True, retry_after=0.5))
    assert await heard(events, lambda e: e.state.block is not None)
    assert await heard(events, lambda e: "block" in e.changes and e.state.block is None)


# ---------------------------------------------------------------------- absurd waits in headers
# A proxy or a bug may send any number; none may escape the error tree (an OverflowError from
# the reset time) or pause the session for centuries or not at all (nan).

ABSURD = ["1e999", "inf", "-inf", "nan", "99999999999", "1e300"]


@pytest.mark.parametrize("value", ABSURD)
def test_an_absurd_retry_after_or_reset_is_a_bounded_wait(value: str) -> None:
    raw = [(b"retry-after", value.encode()), (b"x-ratelimit-reset", value.encode()),
           (b"x-ratelimit-limit", b"40"), (b"x-ratelimit-remaining", b"0")]
    snapshot = RateSnapshot.from_headers(raw, scope="burst", status=429,
                                         operation="v2 GET /deals/{id}")
    for seconds in (snapshot.retry_after, snapshot.reset_seconds):
        assert seconds is None or 0 <= seconds <= MAX_WAIT_S
    for headers in (raw[:1] + raw[2:], raw[1:]):  # Retry-After alone, the reset alone
        response = httpx.Response(429, headers=headers, json={
            "success": False, "error": "Request over limit"})
        error = api_error(response, RateSnapshot.from_headers(
            response.headers.raw, scope="burst", status=429, operation="v2 GET /deals/{id}"),
            "GET", "/api/v2/deals/1", "burst")
        assert isinstance(error, RateLimited) and error.scope == "burst"
        assert error.retry_after is None or 0 <= error.retry_after <= MAX_WAIT_S


@pytest.mark.parametrize("value", ABSURD)
def test_an_absurd_retry_after_on_a_block_page_is_a_bounded_cool_down(value: str) -> None:
    response = httpx.Response(403, headers={"retry-after": value, "cf-ray": "1-TLL",
                                            "content-type": "text/html"},
                              text="<title>Attention Required! | Cloudflare</title>")
    snapshot = RateSnapshot.from_headers(response.headers.raw, scope="burst", status=403,
                                         operation="v2 GET /deals/{id}", blocked=True)
    error = api_error(response, snapshot, "GET", "/api/v2/deals/1", "burst")
    assert isinstance(error, Blocked) and error.cooldown_until is not None
    assert error.cooldown_until <= datetime.now(UTC) + timedelta(seconds=MAX_WAIT_S + 60)


# ---------------------------------------------------------------------- closing the session


async def test_requests_still_queued_when_the_session_closes_are_not_sent(
    app: SandboxApp, config: ClientConfig
) -> None:
    app.state.limiter.reconfigure(LimitConfig(plan="lite"))  # 20 per 2 s
    governor = RateGovernor(plan="lite")
    client = await session(config, governor).open()
    pending = [asyncio.ensure_future(client.get("deals", 1 + i % 40)) for i in range(30)]
    assert await until_true(lambda: sum(t.done() for t in pending) >= 20)
    await client.aclose()  # ten still wait for the next window
    results = await asyncio.gather(*pending, return_exceptions=True)
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 10 and len(results) - len(refused) == 20
    for error in refused:
        assert isinstance(error, RuntimeError) and "was not sent" in str(error)
        assert "closed" in str(error)
    assert sum(app.state.stats.requests.values()) == 20 == client.usage.total_requests


# ---------------------------------------------------------------------- learning down, bounded


@pytest.mark.parametrize(("auth_kind", "lowest"), [("token", 20), ("oauth", 80)])
async def test_a_429_met_in_a_window_another_app_filled_does_not_throttle_for_good(
    auth_kind: str, lowest: int
) -> None:
    # The session's first request meets a window another app on the token filled, and the
    # 429 carries no headers: a limit of 1 would slow the session 40-fold for the rest of
    # its life. No plan of Pipedrive's allows fewer than the lite plan's requests.
    governor = RateGovernor(plan="growth", auth_kind=auth_kind,  # type: ignore[arg-type]
                            clock=FakeClock())
    slot = governor.slot("burst")
    async with slot:
        slot.sending()
    governor.observe(answer(status=429))  # no headers
    error = RateLimited(429, "GET", "/api/v2/deals/1", "Request over limit", scope="burst")
    assert await governor.on_rate_limited(error, 1)
    assert governor.limit("burst") == lowest
    assert governor.limit_source("burst") == "rate_limited"


# ---------------------------------------------------------------------- daily, by its message


def test_a_daily_message_is_daily_even_with_tokens_left_in_the_headers() -> None:
    # A server that refuses a request costing more than the budget still holds: the headers
    # show 4 tokens left, the text says the budget is spent for this request. (The sandbox
    # lets the last request overdraw instead, so it cannot send this answer.)
    response = httpx.Response(429, headers={
        "x-ratelimit-limit": "40", "x-ratelimit-remaining": "39", "x-ratelimit-reset": "2",
        "x-daily-ratelimit-token-limit": "60000", "x-daily-ratelimit-token-remaining": "4",
    }, json={"success": False, "error": "Request over limit", "error_info": (
        "Daily API token budget exhausted: this request costs 10 tokens and 4 of the "
        "company's 60000 remain today. The budget resets in 3600 s.")})
    snapshot = RateSnapshot.from_headers(response.headers.raw, scope="burst", status=429,
                                         operation="v2 GET /deals")
    error = api_error(response, snapshot, "GET", "/api/v2/deals", "burst")
    assert isinstance(error, RateLimited) and error.scope == "daily"
    assert error.resets_at is not None and not error.approximate
    expected = datetime.now(UTC) + timedelta(seconds=3600)
    assert abs((error.resets_at - expected).total_seconds()) < 60
