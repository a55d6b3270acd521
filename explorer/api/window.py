"""One rolling window (burst or search) as the rate governor models it: what occupies it,
who waits for it, how much of it each lane may use; and the slot a request holds in it."""

from __future__ import annotations

import asyncio
import heapq
import math
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol

from explorer.api.errors import PipedriveError, TransportError
from explorer.api.events import LimitSource, WindowState
from explorer.api.lanes import LANES, Lane
from explorer.api.ratelimit import RequestKind

PLENTY = 1 << 30


class SlotOwner(Protocol):
    """What a slot needs of the governor that granted it."""

    _clock: Callable[[], float]

    async def _acquire(self, window: Window, lane: Lane, probe: bool) -> None: ...

    def _release(self, window: Window, lane: Lane, sent_at: float | None,
                 sent: bool) -> None: ...


def _sent(exc: BaseException | None) -> bool:
    """Whether a request that ``sending()`` marked, and whose slot closed with ``exc``, may
    have reached the server (a cancelled one may have: it is counted)."""
    if isinstance(exc, TransportError):
        return exc.may_have_arrived
    return not isinstance(exc, PipedriveError)


class GovernedSlot:
    __slots__ = ("_governor", "_lane", "_probe", "_sent_at", "_window")

    def __init__(self, governor: SlotOwner, window: Window, lane: Lane,
                 probe: bool) -> None:
        self._governor = governor
        self._window = window
        self._lane = lane
        self._probe = probe
        self._sent_at: float | None = None

    async def __aenter__(self) -> None:
        await self._governor._acquire(self._window, self._lane, self._probe)

    def sending(self) -> None:
        self._sent_at = self._governor._clock()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        sent_at = self._sent_at
        self._governor._release(self._window, self._lane, sent_at,
                                sent_at is not None and _sent(exc))


class Window:
    """A window of ``limit`` requests, shared by the two lanes.

    A request occupies the window from the moment its slot is granted until ``window +
    margin`` after its answer (the governor computes that release time): the server counted
    it at some instant between sending and answering, so it is certainly gone from the
    server's rolling window by then. ``foreign`` are requests the server counted that this
    session did not send (another app on the same token), learned from
    ``x-ratelimit-remaining``; they leave ``foreign_until``.

    The background lane leaves a ``reserve`` of the window to the interactive lane:
    interactive requests already in the window count against it (and beyond it one place
    stays free), so a background job and a user clicking at a steady pace together still
    fill the window, while a click finds room at once instead of queueing behind the job.
    """

    __slots__ = ("foreign", "foreign_until", "in_flight", "kind", "limit", "limit_source",
                 "paused_until", "probing", "releases", "reserve_share", "streak", "timer",
                 "unheaded_429", "waiters")

    def __init__(self, kind: RequestKind, limit: int, source: LimitSource,
                 reserve_share: float) -> None:
        self.kind = kind
        self.limit = limit
        self.limit_source: LimitSource = source
        self.reserve_share = reserve_share
        # One request at a time until an answer says how much room there is: at the start,
        # after a 429, after a daily reset and after a block.
        self.probing = True
        self.in_flight: dict[Lane, int] = dict.fromkeys(LANES, 0)
        self.releases: dict[Lane, list[float]] = {lane: [] for lane in LANES}  # heaps
        self.foreign = 0
        self.foreign_until = 0.0
        self.paused_until = 0.0
        self.streak = 0  # 429 pauses in a row without a success, for the backoff
        self.unheaded_429: int | None = None  # occupancy at a 429 that carried no limit
        self.waiters: dict[Lane, deque[asyncio.Future[None]]] = {
            lane: deque() for lane in LANES}
        self.timer: asyncio.TimerHandle | None = None

    @property
    def reserve(self) -> int:
        """Places of the window the background lane leaves to the interactive one."""
        if self.reserve_share <= 0 or self.limit < 2:
            return 0
        return min(self.limit - 1, max(1, math.ceil(self.limit * self.reserve_share)))

    def _prune(self, now: float) -> None:
        for heap in self.releases.values():
            while heap and heap[0] <= now:
                heapq.heappop(heap)
        if self.foreign and self.foreign_until <= now:
            self.foreign = 0

    def occupied(self, now: float, lane: Lane | None = None) -> int:
        """Requests counted in the window at ``now`` (of one lane, or all and foreign)."""
        self._prune(now)
        if lane is not None:
            return self.in_flight[lane] + len(self.releases[lane])
        return (sum(self.in_flight.values()) + sum(len(h) for h in self.releases.values())
                + self.foreign)

    def flying(self) -> int:
        return sum(self.in_flight.values())

    def free(self, now: float, lane: Lane, paced: bool) -> int:
        """How many more requests of ``lane`` may go at ``now``."""
        if now < self.paused_until:
            return 0
        if not paced:
            return PLENTY
        free = self.limit - self.occupied(now)
        if lane == "background" and self.reserve:
            # Interactive requests in the window use up the reserve; beyond it one place
            # stays free, so the next click still finds room instead of waiting for one.
            free -= max(self.reserve - self.occupied(now, "interactive"), 1)
        return min(free, 1 - self.flying()) if self.probing else free

    def next_change(self, now: float) -> float | None:
        """When room may appear without an answer arriving (None: only an answer frees)."""
        if now < self.paused_until:
            return self.paused_until
        self._prune(now)  # every time below is ahead
        times = [heap[0] for heap in self.releases.values() if heap]
        if self.foreign:
            times.append(self.foreign_until)
        return min(times) if times else None

    def queued(self, lane: Lane) -> int:
        return sum(1 for waiter in self.waiters[lane] if not waiter.done())

    def waiting(self) -> bool:
        return any(self.waiters[lane] for lane in LANES)

    def state(self, now: float, wall: datetime) -> WindowState:
        """What a meter shows of the window (``wall``: the UTC time at ``now``)."""
        paused = None
        if self.paused_until > now:
            paused = wall + timedelta(seconds=self.paused_until - now)
        return WindowState(
            kind=self.kind, limit=self.limit, limit_source=self.limit_source,
            occupied=self.occupied(now), in_flight=dict(self.in_flight),
            queued={lane: self.queued(lane) for lane in LANES}, paused_until=paused)
