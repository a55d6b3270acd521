"""The rate governor: paces one session within Pipedrive's burst, search and daily limits."""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

from explorer.api.errors import ApiError, Blocked, PipedriveError, RateLimited, TransportError
from explorer.api.ratelimit import RateSnapshot, Refused, RequestKind, Slot
from explorer.api.responses import daily_resets_at

WINDOW_SECONDS = 2.0
"""Pipedrive's burst and search windows roll over 2 seconds."""
_INITIAL_LIMITS: dict[RequestKind, int] = {"burst": 20, "search": 10}
_PLENTY = 1 << 30


def _sent(exc: BaseException | None) -> bool:
    """Whether a request whose slot closed with ``exc`` may have reached the server."""
    if exc is None:
        return True
    if isinstance(exc, TransportError):
        return exc.may_have_arrived
    # Any other error of the client's inside the slot came before sending: a 403 block met
    # while waiting, credentials that could not be had (or stored) after a refresh.
    return not isinstance(exc, PipedriveError)


class _Bucket:
    """One window (burst or search) as the governor models it.

    A request occupies the window from the moment its slot is granted until ``window +
    margin`` after the earlier of its answer and ``send + max_skew``: the server counted it
    at some instant between sending and answering, so it is certainly gone from the server's
    rolling window by then. ``foreign`` are requests the server counted that this session did
    not send (another app on the same token), learned from ``x-ratelimit-remaining``.
    """

    __slots__ = ("foreign", "foreign_until", "in_flight", "kind", "known", "limit",
                 "paused_until", "probing", "releases", "streak", "timer", "unlimited",
                 "waiters")

    def __init__(self, kind: RequestKind) -> None:
        self.kind = kind
        self.limit = _INITIAL_LIMITS[kind]
        self.known = False  # a response with x-ratelimit-limit was seen
        self.unlimited = False  # answers carry no rate-limit headers (sandbox --no-limits)
        # One request at a time until an answer with headers says how much room there is:
        # at the start, after a 429 and after a daily reset.
        self.probing = True
        self.in_flight = 0
        self.releases: list[float] = []  # heap of times answered requests leave the window
        self.foreign = 0
        self.foreign_until = 0.0
        self.paused_until = 0.0
        self.streak = 0  # 429 pauses in a row without a success, for the backoff
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.timer: asyncio.TimerHandle | None = None

    def occupied(self, now: float) -> int:
        releases = self.releases
        while releases and releases[0] <= now:
            heapq.heappop(releases)
        if self.foreign and self.foreign_until <= now:
            self.foreign = 0
        return self.in_flight + len(releases) + self.foreign

    def free(self, now: float) -> int:
        if now < self.paused_until:
            return 0
        if self.unlimited:
            return _PLENTY
        free = self.limit - self.occupied(now)
        return min(free, 1 - self.in_flight) if self.probing else free

    def next_change(self, now: float) -> float | None:
        """When room may appear without an answer arriving (None: only an answer frees)."""
        if now < self.paused_until:
            return self.paused_until
        self.occupied(now)  # drops what has left the window: every time below is ahead
        times = [t for t in (self.releases[0] if self.releases else None,
                             self.foreign_until if self.foreign else None) if t is not None]
        return min(times) if times else None


class _GovernedSlot:
    __slots__ = ("_bucket", "_governor", "_sent_at")

    def __init__(self, governor: RateGovernor, bucket: _Bucket) -> None:
        self._governor = governor
        self._bucket = bucket
        self._sent_at = 0.0

    async def __aenter__(self) -> None:
        self._sent_at = await self._governor._acquire(self._bucket)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._governor._release(self._bucket, self._sent_at, _sent(exc))


class RateGovernor:
    """Paces one session's requests so that they reach Pipedrive's limits but never exceed
    them; one instance per account session (``PipedriveClient(governor=RateGovernor())``).

    - **Windows**: burst and search requests are paced in separate rolling windows of
      ``window`` seconds. The limit of each comes from ``x-ratelimit-limit``; before the first
      answer with headers (and after a 429 or a daily reset) one request goes alone as a
      probe, so the session learns the plan's limit and what other clients of the token have
      used from that answer instead of guessing (the guess would be the lite plan's 20,
      a 5× underuse on premium). Answers without any rate-limit header (a sandbox run with
      ``--no-limits``) switch pacing off for that window.
    - **Concurrency**: as many requests go at once as the window has room for, up to
      ``max_in_flight`` in all; waiting tasks are served first come, first served (searches
      before other requests). Give it the client's ``ClientConfig.max_in_flight`` (both
      default to 10): a request let go here must not wait for a connection afterwards, or it
      could leave after a 429 pause began. A task waiting for room holds no connection.
    - **Accounting**: a request holds its place in the window until ``window + margin`` after
      its answer arrived (or after ``send + max_skew`` if the answer is slower), because the
      server counts it on ARRIVAL, somewhere between sending and answering. Counting from the
      send time instead lets arrival jitter squeeze two requests closer together on the server
      than they were sent: 1,000 PATCHes at premium over loopback earned 1–45 × 429 with
      margins of 0–20 ms and needed ~100 ms (a burst queues at the server before it is
      counted); counted from the answer they earn none, and the 20 ms margin only covers
      timer and clock rounding. The price is one round trip per window cycle, capped by
      ``max_skew`` (an answer slower than that is taken to be slow work after arrival, not
      a slow arrival). ``x-ratelimit-remaining`` below what the session accounts for means
      another client shares the token: its use is added for a window.
    - **429**: the window pauses for every task of the session at once for ``Retry-After``
      if sent, else ``x-ratelimit-reset``, else exponential backoff with jitter (one pause per
      episode, not one per task); then one probe goes before the rest. So the server never
      sees more than the requests already in flight after a 429, far below its block
      threshold.
    - **Daily budget**: a daily 429 latches the session: that request and every later one is
      refused at once with ``RateLimited(scope="daily")`` without being sent, until the
      error's ``resets_at`` (``explorer.api.responses.daily_resets_at``: ``Retry-After``, else
      the error text's "in N s", else the next midnight UTC). A 200 showing no tokens left
      makes the next request a lone probe.
    - **Block**: Pipedrive's 403 block page (``snapshot.blocked``: a 403 that is not JSON)
      fails every waiting task at once with ``Blocked``; the client refuses further requests
      until ``resume()``. A JSON 403 (not permitted) concerns its own request only.

    ``clock`` (monotonic seconds) and ``now`` (UTC wall time, for the daily reset) can be
    replaced in tests.
    """

    def __init__(
        self,
        *,
        window: float = WINDOW_SECONDS,
        max_in_flight: int = 10,
        margin: float = 0.02,
        max_skew: float = 0.25,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.window = window
        self.max_in_flight = max_in_flight
        self._in_flight = 0
        self.margin = margin
        self.max_skew = max_skew
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._clock = clock
        self._now = now
        self._buckets: dict[RequestKind, _Bucket] = {k: _Bucket(k) for k in ("burst", "search")}
        self._daily: tuple[datetime, RateLimited] | None = None
        self.pauses = 0  # 429 pauses taken (each covers every task waiting on that window)

    # ------------------------------------------------------------------ what it knows

    def limit(self, kind: RequestKind) -> int | None:
        """The window's limit learned from the headers (None before any answer)."""
        bucket = self._buckets[kind]
        return bucket.limit if bucket.known else None

    def paused_until(self, kind: RequestKind) -> float:
        """``clock()`` time until which a 429 pauses that window (in the past: no pause)."""
        return self._buckets[kind].paused_until

    @property
    def daily_resets_at(self) -> datetime | None:
        """When a spent daily budget is expected back (None: not latched)."""
        return None if self._daily is None else self._daily[0]

    def clear_daily(self) -> None:
        """Forget a spent daily budget before its reset time (e.g. after a top-up)."""
        self._daily = None
        for bucket in self._buckets.values():
            bucket.probing = True

    # ------------------------------------------------------------------ the Governor protocol

    def slot(self, kind: RequestKind) -> Slot:
        return _GovernedSlot(self, self._buckets[kind])

    def observe(self, snapshot: RateSnapshot) -> None:
        status = snapshot.status
        if snapshot.blocked:
            # Cloudflare's block page: nothing queued may go out any more.
            self._refuse_all(_blocked)
            for each in self._buckets.values():
                each.probing = True
            return
        bucket = self._buckets[snapshot.scope]
        if not snapshot.has_limits:
            if 200 <= status < 300:
                bucket.unlimited, bucket.probing = True, False
                self._dispatch(bucket)
            return
        bucket.unlimited = False
        if snapshot.limit:
            bucket.limit, bucket.known = snapshot.limit, True
        if status == 429:
            bucket.probing = True  # on_rate_limited decides the pause
            return
        bucket.streak = 0
        if snapshot.daily_token_remaining == 0:
            # The budget is spent: let one request find out when it comes back.
            for each in self._buckets.values():
                each.probing = True
        else:
            bucket.probing = False
        if snapshot.remaining is not None and snapshot.limit:
            now = self._clock()
            used = snapshot.limit - snapshot.remaining
            ours = bucket.occupied(now)
            if used > ours:
                current = bucket.foreign if bucket.foreign_until > now else 0
                bucket.foreign = max(current, used - ours)
                bucket.foreign_until = now + self.window + self.margin
        self._dispatch(bucket)

    async def on_rate_limited(self, error: RateLimited, attempt: int) -> bool:
        if error.scope == "daily":
            self._latch_daily(error)
            return False
        bucket = self._buckets[error.scope]
        now = self._clock()
        bucket.probing = True
        if error.retry_after is not None:
            until = now + max(error.retry_after, 0.1) + self.margin
        elif now < bucket.paused_until:
            until = bucket.paused_until  # this episode's pause already covers it
        else:
            bucket.streak += 1
            ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (bucket.streak - 1))
            until = now + ceiling / 2 + random.uniform(0.0, ceiling / 2)
        if until > bucket.paused_until:
            if bucket.paused_until <= now:
                self.pauses += 1
            bucket.paused_until = until
        self._schedule(bucket, now)
        return True

    # ------------------------------------------------------------------ internals

    async def _acquire(self, bucket: _Bucket) -> float:
        refused = self._refusal()
        if refused is not None:
            raise refused
        now = self._clock()
        if not bucket.waiters and self._room(bucket, now):
            self._take(bucket)
            return now
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        bucket.waiters.append(waiter)
        self._schedule(bucket, now)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._untake(bucket)  # granted, then cancelled before sending: give it back
                self._dispatch_all()
            raise
        return self._clock()

    def _release(self, bucket: _Bucket, sent_at: float, sent: bool) -> None:
        now = self._clock()
        self._untake(bucket)
        if sent:
            answered = min(now, sent_at + self.max_skew)
            heapq.heappush(bucket.releases, answered + self.window + self.margin)
        # Deferred: the client reports the answer (observe, on_rate_limited) right after the
        # slot closes, and a 429 must pause the window before the next waiter goes.
        asyncio.get_running_loop().call_soon(self._dispatch_all)

    def _room(self, bucket: _Bucket, now: float) -> bool:
        return self._in_flight < self.max_in_flight and bucket.free(now) > 0

    def _take(self, bucket: _Bucket) -> None:
        bucket.in_flight += 1
        self._in_flight += 1

    def _untake(self, bucket: _Bucket) -> None:
        bucket.in_flight -= 1
        self._in_flight -= 1

    def _dispatch_all(self) -> None:
        # Searches first: they are what a user waits for while lists page in the background.
        self._dispatch(self._buckets["search"])
        self._dispatch(self._buckets["burst"])

    def _dispatch(self, bucket: _Bucket) -> None:
        """Let waiting tasks go while the window has room; wake up again when it may."""
        now = self._clock()
        waiters = bucket.waiters
        while waiters:
            if waiters[0].done():  # cancelled while waiting
                waiters.popleft()
                continue
            if not self._room(bucket, now):
                break
            waiters.popleft().set_result(None)
            self._take(bucket)
        self._schedule(bucket, now)

    def _schedule(self, bucket: _Bucket, now: float) -> None:
        if bucket.timer is not None:
            bucket.timer.cancel()
            bucket.timer = None
        if not bucket.waiters or self._in_flight >= self.max_in_flight:
            return  # nothing waits, or the next answer to arrive will dispatch
        when = bucket.next_change(now)
        if when is not None:  # else an answer in flight will dispatch
            bucket.timer = asyncio.get_running_loop().call_later(
                max(0.0, when - now), self._dispatch, bucket)

    def _refusal(self) -> Refused | None:
        if self._daily is None:
            return None
        until, error = self._daily
        if self._now() >= until:
            self.clear_daily()
            return None
        return Refused(lambda method, path: self._daily_error(method, path, until, error))

    def _daily_error(self, method: str, path: str, until: datetime,
                     error: RateLimited) -> RateLimited:
        left = max(0.0, (until - self._now()).total_seconds())
        return RateLimited(429, method, path, "not sent: the daily token budget is spent",
                           error.error_info, error.code, scope="daily", retry_after=left,
                           resets_at=until)

    def _latch_daily(self, error: RateLimited) -> None:
        until = error.resets_at
        if until is None:  # an error not made from an answer: the same rule, on our clock
            until = daily_resets_at(error.retry_after, error.error_info, self._now())
        self._daily = (until, error)
        self._refuse_all(lambda method, path: self._daily_error(method, path, until, error))

    def _refuse_all(self, build: Callable[[str, str], ApiError]) -> None:
        for bucket in self._buckets.values():
            while bucket.waiters:
                waiter = bucket.waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(Refused(build))
            self._schedule(bucket, self._clock())


def _blocked(method: str, path: str) -> Blocked:
    return Blocked(403, method, path,
                   "not sent: this session's traffic was stopped by a 403 block",
                   "Wait for the cool-down, then call resume() on the client.")
