"""The rate governor's state as events, for a meter: subscribe once, hear every change.

``RateGovernor.subscribe(callback)`` calls ``callback(event)`` whenever what the governor
knows or does changes: a limit learned, a request queued, granted or answered (per lane), a
pause begun or ended, the daily budget spent or back, a block and its cool-down. Changes made
in one turn of the event loop come as one event, so a burst of 40 grants is one event, not
40. Each event carries the whole state (``GovernorState``), so a meter only ever shows the
latest one. A callback that raises is logged and otherwise ignored: it never breaks a request.
Pure Python: a Qt meter hands the event to its own thread with a queued signal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar

from explorer.api.lanes import Lane
from explorer.api.ratelimit import RequestKind

log = logging.getLogger(__name__)

LimitSource = Literal["headers", "plan", "documented", "rate_limited", "unpaced"]
"""Where a window's limit comes from: ``x-ratelimit-limit``; the plan's documented figure
(no headers seen yet, or answers carry none); Pipedrive's documented search limit; lowered
after a 429 that carried no headers; or no pacing at all (``RateGovernor(paced=False)``)."""

Change = Literal["limit", "queue", "pause", "daily", "block"]


@dataclass(frozen=True)
class WindowState:
    """One window (burst or search) as the governor models it.

    Attributes:
        kind: ``burst`` or ``search``.
        limit: requests per window the governor paces to; ``limit_source`` says why.
        occupied: requests the session counts in the window now (its own and, from
            ``x-ratelimit-remaining``, another app's on the same token).
        in_flight, queued: per lane, requests sent and not answered / waiting for room.
        paused_until: when a 429 pause ends (UTC), None when not paused.
    """

    kind: RequestKind
    limit: int
    limit_source: LimitSource
    occupied: int
    in_flight: Mapping[Lane, int]
    queued: Mapping[Lane, int]
    paused_until: datetime | None


@dataclass(frozen=True)
class DailyState:
    """The daily token budget is spent: requests are refused unsent until ``resets_at``.

    ``approximate``: the reset time is a guess (midnight UTC) because the answer did not say;
    Pipedrive resets at midnight in its server's timezone, which may be hours away from it.
    So, exact or not, the client asks the server with one cheap request every
    ``probe_every`` seconds (a 429 costs no tokens) and the latch lifts as soon as one
    succeeds.
    """

    resets_at: datetime
    approximate: bool
    probe_every: float


@dataclass(frozen=True)
class BlockState:
    """Pipedrive's abuse block (a Cloudflare 403 page): nothing is sent until ``until``.

    ``cooldown_source``: ``retry_after`` (the answer said) or ``default`` (it did not: the
    governor's ``block_cooldown``)."""

    since: datetime
    until: datetime
    cooldown_source: Literal["retry_after", "default"]


@dataclass(frozen=True)
class GovernorState:
    """Everything a meter shows, at ``at`` (UTC)."""

    at: datetime
    windows: Mapping[RequestKind, WindowState]
    daily: DailyState | None
    block: BlockState | None
    pauses: int


@dataclass(frozen=True)
class GovernorEvent:
    """What changed (``changes``) and the state after the change."""

    changes: frozenset[Change]
    state: GovernorState


Subscriber = Callable[[GovernorEvent], None]
E = TypeVar("E")


class Publisher(Generic[E]):
    """Subscribers and safe delivery (a subscriber's exception is logged, never raised);
    ``what`` names the subscribers in that log line."""

    def __init__(self, what: str = "a rate governor subscriber") -> None:
        self._subscribers: list[Callable[[E], None]] = []
        self._what = what

    def __bool__(self) -> bool:
        return bool(self._subscribers)

    def subscribe(self, callback: Callable[[E], None]) -> Callable[[], None]:
        """Call ``callback(event)`` on every change from now on; returns the unsubscribe."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, event: E) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a meter's bug must not break the request path
                log.exception("%s failed; the event was dropped", self._what)
