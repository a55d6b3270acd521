"""The rate governor's bookkeeping on a controlled clock: what occupies a window and for how
long, the limits it paces to with and without headers, lanes and their reserve, the daily
latch, the block and the events a meter hears. No server: the snapshots are what the client
would hand over, so every figure here is exact and no test depends on timing."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from explorer.api import lanes
from explorer.api.errors import Blocked, RateLimited
from explorer.api.events import GovernorEvent
from explorer.api.governor import RateGovernor
from explorer.api.ratelimit import Refused, RequestKind
from tests.api.governed import WALL, FakeClock, answer, burst_429


class FakeWall:
    def __init__(self) -> None:
        self.now = WALL

    def __call__(self) -> datetime:
        return self.now


async def send(governor: RateGovernor, kind: RequestKind = "burst", *,
               clock: FakeClock | None = None, takes: float = 0.0) -> None:
    """One request through a slot: granted, sent, answered ``takes`` seconds later."""
    slot = governor.slot(kind)
    async with slot:
        slot.sending()
        if clock is not None:
            clock.now += takes


async def ticks() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def granted_at_once(governor: RateGovernor, kind: RequestKind = "burst") -> bool:
    """Whether a request of the running task's lane would be let go without waiting (it is
    sent and answered at once if so; given up otherwise)."""
    slot = governor.slot(kind)
    entering = asyncio.ensure_future(slot.__aenter__())
    await ticks()
    if entering.done():
        entering.result()
        slot.sending()
        await slot.__aexit__(None, None, None)
        return True
    entering.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await entering
    return False


# ---------------------------------------------------------------------- what occupies a window


async def test_another_clients_use_of_the_window_is_kept_for_a_whole_window() -> None:
    clock = FakeClock()
    governor = RateGovernor(clock=clock)
    governor.observe(answer(limit=40, remaining=10))  # 30 of 40 used, none of them ours
    assert governor.occupied("burst") == 30
    clock.now += governor.window  # the other app's requests may still be in the window
    assert governor.occupied("burst") == 30
    for _ in range(10):
        await send(governor)
    assert not await granted_at_once(governor)  # 30 theirs + 10 ours: full
    clock.now += governor.margin + 0.001
    assert governor.occupied("burst") == 10  # theirs are gone, ours stay a window longer


async def test_a_request_counts_until_a_window_after_its_answer_not_its_grant() -> None:
    clock = FakeClock()
    governor = RateGovernor(clock=clock)
    governor.observe(answer(limit=40, remaining=40))  # the limit is known: no probing
    slot = governor.slot("burst")
    async with slot:
        clock.now += 0.5  # granted, then the connection takes a while
        slot.sending()
        clock.now += 1.0  # the answer a second later: it may have arrived only just now
    answered = clock.now
    clock.now = answered + governor.window + governor.margin - 0.001
    assert governor.occupied("burst") == 1
    clock.now = answered + governor.window + governor.margin + 0.001
    assert governor.occupied("burst") == 0


async def test_a_slot_given_back_before_sending_is_not_counted() -> None:
    clock = FakeClock()
    governor = RateGovernor(clock=clock)
    governor.observe(answer(limit=40, remaining=40))
    async with governor.slot("burst"):
        pass  # credentials went stale while it waited: never sent
    assert governor.occupied("burst") == 0


async def test_a_request_cancelled_after_it_left_is_counted() -> None:
    clock = FakeClock()
    governor = RateGovernor(clock=clock)
    governor.observe(answer(limit=40, remaining=40))
    slot = governor.slot("burst")
    with pytest.raises(asyncio.CancelledError):
        async with slot:
            slot.sending()
            raise asyncio.CancelledError
    assert governor.occupied("burst") == 1


# ---------------------------------------------------------------------- limits


@pytest.mark.parametrize(("plan", "auth_kind", "limit"), [
    (None, "token", 20), ("growth", "token", 40), ("premium", "oauth", 400), (None, "oauth", 80)])
async def test_answers_without_headers_are_paced_to_the_plans_documented_limit(
    plan: str | None, auth_kind: str, limit: int
) -> None:
    clock = FakeClock()
    governor = RateGovernor(plan=plan, auth_kind=auth_kind, clock=clock)  # type: ignore[arg-type]
    for _ in range(limit):
        await send(governor)
        governor.observe(answer())  # a success without any rate-limit header
    assert governor.limit("burst") == limit and governor.limit_source("burst") == "plan"
    assert not await granted_at_once(governor)


async def test_unpaced_is_a_choice_not_what_missing_headers_mean() -> None:
    governor = RateGovernor(paced=False, clock=FakeClock())
    for _ in range(200):
        await send(governor)
        governor.observe(answer())
    assert await granted_at_once(governor) and governor.limit_source("burst") == "unpaced"


async def test_a_429_without_headers_lowers_the_limit() -> None:
    clock = FakeClock()
    governor = RateGovernor(plan="growth", clock=clock)
    for _ in range(25):
        await send(governor)
        governor.observe(answer())
    governor.observe(answer(status=429))  # the 25th was refused: the server allows 24 at most
    assert await governor.on_rate_limited(burst_429(), 1)
    assert (governor.limit("burst"), governor.limit_source("burst")) == (24, "rate_limited")


async def test_the_search_window_is_the_documented_one_whatever_search_answers_carry() -> None:
    clock = FakeClock()
    governor = RateGovernor(clock=clock)
    # A search answer carrying the general window's counters (40, 5 used) …
    governor.observe(answer("search", limit=40, remaining=35))
    assert (governor.limit("search"), governor.limit_source("search")) == (10, "documented")
    assert governor.occupied("search") == 0  # … says nothing about the search window
    for _ in range(10):
        await send(governor, "search")
        governor.observe(answer("search", limit=40, remaining=35))
    assert not await granted_at_once(governor, "search")
    # Search counters (limit 10) do tell of another app's searches.
    clock.now += 10
    governor.observe(answer("search", limit=10, remaining=6))
    assert governor.occupied("search") == 4


# ---------------------------------------------------------------------- lanes


async def test_the_background_lane_leaves_a_reserve_to_the_interactive_one() -> None:
    clock = FakeClock()
    governor = RateGovernor(clock=clock)
    governor.observe(answer(limit=40, remaining=40))
    reserve = 4  # a tenth of 40
    with lanes.background():
        for _ in range(40 - reserve):
            await send(governor)
        assert not await granted_at_once(governor)
    for _ in range(reserve):
        assert await granted_at_once(governor)  # a click goes at once
    assert not await granted_at_once(governor)  # the window is full now
    assert governor.occupied("burst") == 40


async def test_interactive_requests_in_the_window_count_against_the_reserve() -> None:
    clock = FakeClock()
    governor = RateGovernor(clock=clock)
    governor.observe(answer(limit=40, remaining=40))
    for _ in range(6):  # clicks already hold more than the reserve (4)
        await send(governor)
    with lanes.background():  # the job takes all but one place: the next click's
        for _ in range(33):
            assert await granted_at_once(governor)
        assert not await granted_at_once(governor)
    assert await granted_at_once(governor)


async def test_queued_interactive_requests_go_before_queued_background_ones() -> None:
    clock = FakeClock()
    governor = RateGovernor(clock=clock)
    governor.observe(answer(limit=10, remaining=10))
    await send(governor)  # leaves the window first
    clock.now += 1
    for _ in range(9):
        await send(governor)
    order: list[str] = []

    async def request(lane: lanes.Lane) -> None:
        with lanes.lane(lane):
            slot = governor.slot("burst")
        async with slot:
            order.append(lane)
            slot.sending()

    waiting = [asyncio.ensure_future(request("background"))]
    await ticks()
    waiting.append(asyncio.ensure_future(request("interactive")))
    await ticks()
    assert order == []  # full
    clock.now += 1.03  # one place frees up
    governor.observe(answer(limit=10))  # any answer makes the governor look again
    await ticks()
    assert order == ["interactive"]
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)


async def test_the_background_lane_leaves_one_place_in_flight() -> None:
    governor = RateGovernor(clock=FakeClock(), max_in_flight=10)
    governor.observe(answer(limit=100, remaining=100))
    held = [governor.slot("burst") for _ in range(9)]
    with lanes.background():
        for slot in held:
            await slot.__aenter__()
        assert not await granted_at_once(governor)
    assert await granted_at_once(governor)
    for slot in held:
        await slot.__aexit__(None, None, None)


def test_an_unknown_lane_is_refused() -> None:
    with pytest.raises(ValueError, match="interactive, background"), lanes.lane("bulk"):  # type: ignore[arg-type]
        pass


# ---------------------------------------------------------------------- daily, block, events


async def test_a_daily_latch_with_a_guessed_reset_is_marked_approximate() -> None:
    wall = FakeWall()
    governor = RateGovernor(now=wall, clock=FakeClock(), daily_probe_interval=120)
    events: list[GovernorEvent] = []
    governor.subscribe(events.append)
    daily = RateLimited(429, "GET", "/api/v2/deals/1", "Request over limit", scope="daily",
                        resets_at=datetime(2025, 3, 15, tzinfo=UTC), approximate=True)
    assert await governor.on_rate_limited(daily, 1) is False
    await ticks()
    state = events[-1].state.daily
    assert "daily" in events[-1].changes and state is not None
    assert (state.resets_at, state.approximate, state.probe_every) == (
        datetime(2025, 3, 15, tzinfo=UTC), True, 120)
    with pytest.raises(Refused) as caught:
        await governor.slot("burst").__aenter__()
    refused = caught.value.error("GET", "/api/v2/deals/2")
    assert isinstance(refused, RateLimited) and refused.approximate
    assert "about 2025-03-15 00:00 UTC" in str(refused)
    probe = governor.slot("burst", probe=True)  # the reset probe goes through the latch
    async with probe:
        probe.sending()
    governor.clear_daily()  # the probe succeeded
    await ticks()
    assert events[-1].state.daily is None


async def test_a_block_refuses_everything_until_its_cool_down_ends() -> None:
    wall, clock = FakeWall(), FakeClock()
    governor = RateGovernor(now=wall, clock=clock)
    events: list[GovernorEvent] = []
    governor.subscribe(events.append)
    governor.observe(answer(limit=40, remaining=40))
    governor.observe(answer(status=403, blocked=True, retry_after=120))
    await ticks()
    block = events[-1].state.block
    assert block is not None and "block" in events[-1].changes
    assert (block.until, block.cooldown_source) == (WALL + timedelta(seconds=120), "retry_after")
    with pytest.raises(Refused) as caught:
        await governor.slot("burst").__aenter__()
    error = caught.value.error("GET", "/api/v2/deals/1")
    assert isinstance(error, Blocked) and error.cooldown_until == WALL + timedelta(seconds=120)
    wall.now += timedelta(seconds=121)
    assert await granted_at_once(governor)  # the cool-down is over: one probe goes
    assert governor.blocked_until is None


async def test_a_block_without_retry_after_gets_the_default_cool_down() -> None:
    wall = FakeWall()
    governor = RateGovernor(now=wall, clock=FakeClock())
    governor.observe(answer(status=403, blocked=True))
    assert governor.blocked_until == WALL + timedelta(seconds=300)
    assert governor.state().block is not None
    assert governor.state().block.cooldown_source == "default"  # type: ignore[union-attr]


async def test_events_tell_the_meter_about_queues_pauses_and_limits() -> None:
    clock, wall = FakeClock(), FakeWall()
    governor = RateGovernor(clock=clock, now=wall)
    events: list[GovernorEvent] = []
    governor.subscribe(events.append)
    governor.observe(answer(limit=40, remaining=40))
    await ticks()
    assert events[-1].state.windows["burst"].limit == 40
    assert events[-1].state.windows["burst"].limit_source == "headers"
    slot = governor.slot("burst")
    with lanes.background():
        queued = governor.slot("burst")
    await slot.__aenter__()
    await ticks()
    assert events[-1].state.windows["burst"].in_flight == {"interactive": 1, "background": 0}
    await governor.on_rate_limited(burst_429(retry_after=2), 1)
    waiter = asyncio.ensure_future(queued.__aenter__())
    await ticks()
    burst = events[-1].state.windows["burst"]
    assert burst.queued == {"interactive": 0, "background": 1}
    assert burst.paused_until == WALL + timedelta(seconds=2 + governor.margin)
    assert events[-1].state.pauses == 1
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    await slot.__aexit__(None, None, None)


async def test_a_failing_subscriber_never_breaks_a_request(
    caplog: pytest.LogCaptureFixture
) -> None:
    governor = RateGovernor(clock=FakeClock())
    heard: list[GovernorEvent] = []

    def broken(event: GovernorEvent) -> None:
        raise RuntimeError("meter bug")

    governor.subscribe(broken)
    unsubscribe = governor.subscribe(heard.append)
    await send(governor)
    governor.observe(answer(limit=40, remaining=39))
    await ticks()
    assert heard and "meter bug" in caplog.text
    unsubscribe()
    count = len(heard)
    await send(governor)
    await ticks()
    assert len(heard) == count


async def test_a_request_behind_a_cancelled_one_goes_as_soon_as_there_is_room() -> None:
    clock = FakeClock()
    governor = RateGovernor(clock=clock)
    governor.observe(answer(limit=1, remaining=1))
    await send(governor)
    assert not await granted_at_once(governor)  # queued, then given up (cancelled)
    clock.now += 3  # the window is empty again; no answer is on its way to say so
    assert await granted_at_once(governor)
