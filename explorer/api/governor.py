"""The rate governor: paces one session within Pipedrive's burst, search and daily limits."""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from explorer.api import lanes
from explorer.api.errors import ApiError, Blocked, RateLimited
from explorer.api.events import (
    BlockState,
    Change,
    DailyState,
    GovernorEvent,
    GovernorState,
    Publisher,
    Subscriber,
)
from explorer.api.lanes import LANES, Lane
from explorer.api.ratelimit import SEARCH_LIMIT, RateSnapshot, Refused, RequestKind, Slot
from explorer.api.responses import block_cooldown, daily_reset_is_approximate, daily_resets_at
from explorer.api.window import GovernedSlot, Window

WINDOW_SECONDS = 2.0
"""Pipedrive's burst and search windows roll over 2 seconds."""
SETTLE_GAP = 0.1
"""Seconds at least between the events that tell a meter what time alone changed (answers
leaving the window, a pause, a block or a daily latch ending), so a draining window of 480
answers is a few events a second, not 480."""

Plan = Literal["lite", "growth", "premium", "ultimate"]
AuthKind = Literal["token", "oauth"]

BURST_LIMITS: dict[AuthKind, dict[Plan, int]] = {
    "token": {"lite": 20, "growth": 40, "premium": 100, "ultimate": 120},
    "oauth": {"lite": 80, "growth": 160, "premium": 400, "ultimate": 480},
}
"""Pipedrive's documented burst limits per 2-second window, by auth kind and plan."""


@dataclass(frozen=True)
class _Daily:
    until: datetime
    error: RateLimited
    approximate: bool


@dataclass(frozen=True)
class _Block:
    since: datetime
    until: datetime
    told: bool


class RateGovernor:
    """Paces one session's requests so that they reach Pipedrive's limits but never exceed
    them; one instance per account session (``PipedriveClient(governor=RateGovernor())``).

    - **Windows**: burst and search requests are paced in separate rolling windows of
      ``window`` seconds. The burst limit comes from ``x-ratelimit-limit``; before the first
      answer (and after a 429, a daily reset or a block) one request goes alone as a probe,
      so the session learns the plan's limit and what other clients of the token have used
      from that answer instead of guessing. Answers without the headers never switch pacing
      off: the limit is then the documented one of ``plan`` for ``auth_kind`` (the lite
      plan's when the plan is not known, the lowest), lowered after a 429 that did not say
      the limit (not below the lite plan's). The search window is Pipedrive's documented 10
      per 2 s and is never learned from headers: search answers may carry the general
      window's counters. ``paced=False`` switches window pacing off (a sandbox run with
      ``--no-limits``, benchmarks).
    - **Lanes**: a request is in its task's lane (``explorer.api.lanes``: interactive by
      default, background for bulk work). Queued interactive requests go first, and the
      background lane leaves ``reserve`` (a share, at least one place) of each window and
      one in-flight place to the interactive one, so a click during a bulk job is answered
      at once.
    - **Concurrency**: as many requests go at once as the window has room for, up to
      ``max_in_flight`` in all; within a lane first come, first served (searches first).
      Give it the client's ``ClientConfig.max_in_flight``: a request let go here must not
      wait for a connection afterwards, or it could leave after a 429 pause began.
    - **Accounting**: a request holds its place in the window from its grant until ``window
      + margin`` after its answer, because the server counts it on ARRIVAL, somewhere between
      sending and answering: latency jitter of a second (a slow network, a long TLS
      handshake) may bring it to the server long after it was sent. Counting from the send
      (or the grant) instead lets requests crowd closer together on the server than they
      were sent and earns 429s. ``max_skew`` (None: off) caps the wait for a slow answer at
      ``send + max_skew``, for a server known to answer slowly only after arrival. A slot
      given back before ``sending()`` (credentials went stale while it waited) is not
      counted. ``x-ratelimit-remaining`` below what the session accounts for means another
      client shares the token: its use is added for a window.
    - **429**: the window pauses for every task of the session at once for ``Retry-After``
      if sent, else ``x-ratelimit-reset``, else exponential backoff with jitter (one pause per
      episode, not one per task; a search 429 that does not say pauses one window); then
      one probe goes before the rest.
    - **Daily budget**: a daily 429 latches the session: later requests are refused at once
      with ``RateLimited(scope="daily")`` unsent, until the reset (``Retry-After``, else the
      error text's "in N s", else midnight UTC, which is only approximate: Pipedrive resets
      at midnight in its server's timezone). Meanwhile the client sends one cheap probe
      every ``daily_probe_interval`` seconds (a 429 costs no tokens) and the latch lifts as
      soon as one succeeds.
    - **Block**: Pipedrive's 403 block page fails every waiting task at once with
      ``Blocked`` and refuses everything until its cool-down ends (``Retry-After``, else
      ``responses.DEFAULT_BLOCK_COOLDOWN_S``); then one probe goes first.
    - **Events**: ``subscribe(callback)`` publishes the state for a meter (``events``),
      also when time alone changes it (the window drains, a pause or block ends), at most
      every ``SETTLE_GAP`` seconds for those.

    ``clock`` (monotonic seconds) and ``now`` (UTC wall time, for the daily reset and the
    block) can be replaced in tests.
    """

    def __init__(
        self,
        *,
        plan: Plan | None = None,
        auth_kind: AuthKind = "token",
        paced: bool = True,
        window: float = WINDOW_SECONDS,
        max_in_flight: int = 10,
        margin: float = 0.02,
        max_skew: float | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        reserve: float = 0.1,
        daily_probe_interval: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if not 0 <= reserve < 1:
            raise ValueError("reserve is a share of the window: at least 0, below 1")
        if daily_probe_interval <= 0:
            raise ValueError("daily_probe_interval must be positive (seconds)")
        self.plan = plan
        self.auth_kind = auth_kind
        self.paced = paced
        self.window = window
        self.max_in_flight = max_in_flight
        self.margin = margin
        self.max_skew = max_skew
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.daily_probe_interval = daily_probe_interval
        self._clock = clock
        self._now = now
        burst = BURST_LIMITS[auth_kind][plan or "lite"]
        self._windows: dict[RequestKind, Window] = {
            "burst": Window("burst", burst, "plan" if paced else "unpaced", reserve),
            "search": Window("search", SEARCH_LIMIT, "documented" if paced else "unpaced",
                             reserve),
        }
        self._in_flight = 0
        self._daily: _Daily | None = None
        self._block: _Block | None = None
        self._events = Publisher[GovernorEvent]()
        self._changes: set[Change] = set()
        self._publishing = False
        self._settle: asyncio.TimerHandle | None = None
        self._published_at = clock()
        self.pauses = 0  # 429 pauses taken (each covers every task waiting on that window)

    # ------------------------------------------------------------------ what it knows

    def limit(self, kind: RequestKind) -> int:
        """The limit the window is paced to now (see ``limit_source``)."""
        return self._windows[kind].limit

    def limit_source(self, kind: RequestKind) -> str:
        return self._windows[kind].limit_source

    def occupied(self, kind: RequestKind) -> int:
        """Requests the session counts in the window now (its own and another app's)."""
        return self._windows[kind].occupied(self._clock())

    def paused_until(self, kind: RequestKind) -> float:
        """``clock()`` time until which a 429 pauses that window (in the past: no pause)."""
        return self._windows[kind].paused_until

    @property
    def daily_resets_at(self) -> datetime | None:
        """When a spent daily budget is expected back (None: not latched)."""
        return None if self._daily is None else self._daily.until

    @property
    def blocked_until(self) -> datetime | None:
        """When a 403 block's cool-down ends (None: not blocked)."""
        return None if self._block is None else self._block.until

    def clear_daily(self) -> None:
        """Forget a spent daily budget (a probe succeeded, a top-up, the reset time came)."""
        if self._daily is None:
            return
        self._daily = None
        self._probe_all()
        self._changed("daily")

    def resume(self) -> None:
        """Lift a block before its cool-down ends (the user decides to try again)."""
        if self._block is not None:
            self._block = None
            self._probe_all()
            self._changed("block")

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(GovernorEvent)`` after every change of state (coalesced per turn of
        the event loop); returns the function that unsubscribes. A callback that raises is
        logged and ignored."""
        unsubscribe = self._events.subscribe(callback)
        self._changed("limit")  # the first event: the state as it is
        return unsubscribe

    def state(self) -> GovernorState:
        now, wall = self._clock(), self._now()
        windows = {kind: w.state(now, wall) for kind, w in self._windows.items()}
        daily = None if self._daily is None else DailyState(
            self._daily.until, self._daily.approximate, self.daily_probe_interval)
        block = None if self._block is None else BlockState(
            self._block.since, self._block.until,
            "retry_after" if self._block.told else "default")
        return GovernorState(wall, windows, daily, block, self.pauses)

    # ------------------------------------------------------------------ the Governor protocol

    def slot(self, kind: RequestKind, *, probe: bool = False) -> Slot:
        return GovernedSlot(self, self._windows[kind], lanes.current(), probe)

    def observe(self, snapshot: RateSnapshot) -> None:
        if snapshot.blocked:
            self._begin_block(snapshot)
            return
        window = self._windows[snapshot.scope]
        limit, remaining = snapshot.limit, snapshot.remaining
        if window.kind == "search":
            if limit != SEARCH_LIMIT:  # documented; the counters may be the burst window's
                limit = remaining = None
        elif limit and self.paced and (limit, "headers") != (window.limit, window.limit_source):
            window.limit, window.limit_source = limit, "headers"
            self._changed("limit")
        now = self._clock()
        if snapshot.status == 429:
            window.probing = True  # on_rate_limited decides the pause
            window.unheaded_429 = None if limit else window.occupied(now)
            return
        window.streak = 0
        if snapshot.daily_token_remaining == 0:
            self._probe_all()  # the budget is spent: one request finds out what comes next
        else:
            window.probing = False
        if remaining is not None and limit:
            used = limit - remaining
            ours = window.occupied(now) - window.foreign
            if used > ours:
                current = window.foreign if window.foreign_until > now else 0
                window.foreign = max(current, used - ours)
                window.foreign_until = now + self.window + self.margin
        self._dispatch_all()

    async def on_rate_limited(self, error: RateLimited, attempt: int) -> bool:
        if error.scope == "daily":
            self._latch_daily(error)
            return False
        window = self._windows[error.scope]
        now = self._clock()
        window.probing = True
        self._learn_down(window)
        if error.retry_after is not None:
            until = now + max(error.retry_after, 0.1) + self.margin
        elif now < window.paused_until:
            until = window.paused_until  # this episode's pause already covers it
        elif window.kind == "search":
            # The documented window: whatever filled it leaves within one window.
            until = now + self.window + self.margin
        else:
            window.streak += 1
            ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (window.streak - 1))
            until = now + ceiling / 2 + random.uniform(0.0, ceiling / 2)
        if until > window.paused_until:
            if window.paused_until <= now:
                self.pauses += 1
            window.paused_until = until
            self._changed("pause")
        self._schedule(window, now)
        return True

    # ------------------------------------------------------------------ slots

    async def _acquire(self, window: Window, lane: Lane, probe: bool) -> None:
        refused = self._refusal(probe)
        if refused is not None:
            raise refused
        now = self._clock()
        ahead = window.waiters["interactive"] or (lane == "background"
                                                  and window.waiters["background"])
        if not ahead and self._room(window, lane, now):
            self._take(window, lane)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        window.waiters[lane].append(waiter)
        self._changed("queue")
        self._dispatch_all()  # (waiters ahead may have been cancelled meanwhile)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._untake(window, lane)  # granted, then cancelled before sending
                self._dispatch_all()
            else:
                self._changed("queue")
            raise

    def _release(self, window: Window, lane: Lane, sent_at: float | None, sent: bool) -> None:
        now = self._clock()
        self._untake(window, lane)
        if sent and sent_at is not None:
            answered = now if self.max_skew is None else min(now, sent_at + self.max_skew)
            heapq.heappush(window.releases[lane], answered + self.window + self.margin)
        # Deferred: the client reports the answer (observe, on_rate_limited) right after the
        # slot closes, and a 429 must pause the window before the next waiter goes.
        asyncio.get_running_loop().call_soon(self._dispatch_all)

    def _room(self, window: Window, lane: Lane, now: float) -> bool:
        cap = self.max_in_flight
        if lane == "background" and cap > 1:
            cap -= 1  # one place in flight is the interactive lane's
        return self._in_flight < cap and window.free(now, lane, self.paced) > 0

    def _take(self, window: Window, lane: Lane) -> None:
        window.in_flight[lane] += 1
        self._in_flight += 1
        self._changed("queue")

    def _untake(self, window: Window, lane: Lane) -> None:
        window.in_flight[lane] -= 1
        self._in_flight -= 1
        self._changed("queue")

    def _dispatch_all(self) -> None:
        # Interactive first, then background; searches first within a lane (a user waits
        # for them while lists page in).
        for lane in LANES:
            for kind in ("search", "burst"):
                self._dispatch(self._windows[kind], lane)
        for window in self._windows.values():
            self._schedule(window, self._clock())

    def _dispatch(self, window: Window, lane: Lane) -> None:
        """Let waiting tasks of ``lane`` go while the window has room."""
        now = self._clock()
        waiters = window.waiters[lane]
        while waiters:
            if waiters[0].done():  # cancelled while waiting
                waiters.popleft()
                continue
            if not self._room(window, lane, now):
                break
            waiters.popleft().set_result(None)
            self._take(window, lane)

    def _schedule(self, window: Window, now: float) -> None:
        """Wake up when room may appear in ``window`` without an answer arriving."""
        if window.timer is not None:
            window.timer.cancel()
            window.timer = None
        if not window.waiting() or self._in_flight >= self.max_in_flight:
            return  # nothing waits, or the next answer to arrive will dispatch
        when = window.next_change(now)
        if when is not None:  # else an answer in flight will dispatch
            window.timer = asyncio.get_running_loop().call_later(
                max(0.0, when - now), self._dispatch_all)

    def _learn_down(self, window: Window) -> None:
        """A window 429 whose answer did not say the limit: the server's limit is below what
        the session had in the window then, but never below the lowest documented limit (the
        lite plan's): a 429 met with fewer in the window means another app on the token
        filled it (the pause covers that), and a limit learned from it would stay for good."""
        occupied, window.unheaded_429 = window.unheaded_429, None
        if window.kind != "burst" or occupied is None or not self.paced:
            return
        lower = max(min(BURST_LIMITS[self.auth_kind].values()), occupied - 1)
        if lower < window.limit:
            window.limit, window.limit_source = lower, "rate_limited"
            self._changed("limit")

    def _probe_all(self) -> None:
        for window in self._windows.values():
            window.probing = True

    # ------------------------------------------------------------------ daily budget, block

    def _refusal(self, probe: bool) -> Refused | None:
        block = self._block
        if block is not None:
            if self._now() < block.until:
                return Refused(lambda method, path: _blocked(method, path, block.until))
            self.resume()
        daily = self._daily
        if daily is None or probe:
            return None
        if self._now() >= daily.until:
            self.clear_daily()
            return None
        return Refused(lambda method, path: self._daily_error(method, path, daily))

    def _daily_error(self, method: str, path: str, daily: _Daily) -> RateLimited:
        left = max(0.0, (daily.until - self._now()).total_seconds())
        return RateLimited(429, method, path, "not sent: the daily token budget is spent",
                           daily.error.error_info, daily.error.code, scope="daily",
                           retry_after=left, resets_at=daily.until,
                           approximate=daily.approximate)

    def _latch_daily(self, error: RateLimited) -> None:
        until, approximate = error.resets_at, error.approximate
        if until is None:  # an error not made from an answer: the same rule, on our clock
            until = daily_resets_at(error.retry_after, error.error_info, self._now())
            approximate = daily_reset_is_approximate(error.retry_after, error.error_info)
        daily = self._daily = _Daily(until, error, approximate)
        self._refuse_all(lambda method, path: self._daily_error(method, path, daily))
        self._changed("daily")

    def _begin_block(self, snapshot: RateSnapshot) -> None:
        seconds, told = block_cooldown(snapshot.retry_after)
        now = self._now()
        block = self._block = _Block(now, now + timedelta(seconds=seconds), told)
        self._probe_all()
        self._refuse_all(lambda method, path: _blocked(method, path, block.until))
        self._changed("block")

    def _refuse_all(self, build: Callable[[str, str], ApiError]) -> None:
        for window in self._windows.values():
            for lane in LANES:
                waiters = window.waiters[lane]
                while waiters:
                    waiter = waiters.popleft()
                    if not waiter.done():
                        waiter.set_exception(Refused(build))
            self._schedule(window, self._clock())
        self._changed("queue")

    # ------------------------------------------------------------------ events

    def _changed(self, change: Change) -> None:
        if not self._events:
            return
        self._changes.add(change)
        if self._publishing:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): publish now
            self._publish()
            return
        self._publishing = True
        loop.call_soon(self._publish)

    def _publish(self) -> None:
        self._publishing = False
        changes, self._changes = frozenset(self._changes), set()
        if changes:
            self._published_at = self._clock()
            self._events.publish(GovernorEvent(changes, self.state()))
        self._arm_settle()

    def _arm_settle(self) -> None:
        """Publish again when time alone changes the state (answers leave the window, a pause
        ends, a block's cool-down or the daily reset time comes): a meter hears events, it
        does not poll, and would otherwise show the last state forever."""
        if self._settle is not None:
            self._settle.cancel()
            self._settle = None
        if not self._events:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        now, wall = self._clock(), self._now()
        times = [when - now for w in self._windows.values()
                 if (when := w.next_change(now)) is not None]
        for until in (None if self._block is None else self._block.until,
                      None if self._daily is None else self._daily.until):
            if until is not None:
                times.append((until - wall).total_seconds())
        if times:
            self._settle = loop.call_later(max(min(times), SETTLE_GAP), self._settled)

    def _settled(self) -> None:
        self._settle = None
        now, wall = self._clock(), self._now()
        if self._block is not None and wall >= self._block.until:
            self.resume()
        if self._daily is not None and wall >= self._daily.until:
            self.clear_daily()
        if any(self._published_at < w.paused_until <= now for w in self._windows.values()):
            self._changed("pause")
        self._changed("queue")  # what occupies the windows


def _blocked(method: str, path: str, until: datetime) -> Blocked:
    return Blocked(403, method, path,
                   "not sent: this session's traffic was stopped by a 403 block",
                   f"Traffic resumes by itself at {until:%H:%M:%S} UTC (or call resume() on "
                   "the client).", cooldown_until=until)
