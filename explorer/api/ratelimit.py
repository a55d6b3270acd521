"""What the client sees of Pipedrive's limits (snapshots, usage) and the governor seam (the
governor itself: ``explorer.api.governor``)."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import MappingProxyType, TracebackType
from typing import Literal, Protocol

from explorer.api.errors import ApiError, RateLimited

RequestKind = Literal["burst", "search"]
"""Which window a request counts against: search endpoints have their own (10 per 2 s)."""
SEARCH_LIMIT = 10
"""Pipedrive's documented search limit per 2-second window, on every plan and auth kind."""
MAX_WAIT_S = 86_400.0
"""The longest wait a header is believed for (a day: the daily budget is back by then): a
proxy's or a bug's ``Retry-After: 1e999`` must neither pause the session for centuries nor
overflow the reset time computed from it; the governor asks the server again after a day."""


def _int(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _float(value: bytes | None) -> float | None:
    """A wait in seconds from a header: None if absent, unreadable or not finite; at most
    ``MAX_WAIT_S``."""
    if value is None:
        return None
    try:
        return _wait(float(value))
    except ValueError:
        return None


def _wait(seconds: float) -> float | None:
    """``seconds`` as a wait to believe: None if not finite, else within 0..``MAX_WAIT_S``."""
    return min(max(0.0, seconds), MAX_WAIT_S) if math.isfinite(seconds) else None


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (it may be a number or an HTTP date); None if absent or
    unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    try:
        return _wait(float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return _wait((when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class RateSnapshot:
    """The rate-limit headers of one response (None where a header was absent).

    Attributes:
        scope: the window the request counted against (its ``x-ratelimit-*`` describe it).
        limit, remaining: ``x-ratelimit-limit`` / ``-remaining``: the 2-second window.
        reset_seconds: ``x-ratelimit-reset``: seconds until the window frees up.
        daily_token_limit, daily_token_remaining: ``x-daily-ratelimit-token-*``: the
            company's daily token budget (Pipedrive sometimes omits them).
        daily_requests_left: ``x-daily-requests-left``, the legacy fair-use counter.
        status: the response's HTTP status.
        operation: ``"v2 GET /deals/{id}"``, the spec operation answered.
        taken_at: ``time.monotonic()`` when the response arrived (for pacing).
        at: the same moment in UTC (for display).
        blocked: the answer is Pipedrive's 403 block page (Cloudflare's HTML), which stops
            every request of the session; a JSON 403 is an ordinary refusal, and so is
            another non-JSON 403 (a proxy's page).
        retry_after: ``Retry-After`` in seconds, if sent (a 429's wait, a block's cool-down).
    """

    scope: RequestKind
    limit: int | None
    remaining: int | None
    reset_seconds: float | None
    daily_token_limit: int | None
    daily_token_remaining: int | None
    daily_requests_left: int | None
    status: int
    operation: str
    taken_at: float
    at: datetime
    blocked: bool = False
    retry_after: float | None = None

    @classmethod
    def from_headers(
        cls, headers: Iterable[tuple[bytes, bytes]], *, scope: RequestKind, status: int,
        operation: str, blocked: bool = False
    ) -> RateSnapshot:
        """From raw response headers (``httpx.Headers.raw``): one pass over them, which is
        several times cheaper than a case-insensitive lookup per header."""
        found: dict[bytes, bytes] = {}
        for key, value in headers:
            if key[:2] in (b"x-", b"X-"):
                found[key.lower()] = value
            elif key[:1] in (b"r", b"R") and key.lower() == b"retry-after":
                found[b"retry-after"] = value
        get = found.get
        at = datetime.now(UTC)
        return cls(
            scope=scope,
            limit=_int(get(b"x-ratelimit-limit")),
            remaining=_int(get(b"x-ratelimit-remaining")),
            reset_seconds=_float(get(b"x-ratelimit-reset")),
            daily_token_limit=_int(get(b"x-daily-ratelimit-token-limit")),
            daily_token_remaining=_int(get(b"x-daily-ratelimit-token-remaining")),
            daily_requests_left=_int(get(b"x-daily-requests-left")),
            status=status,
            operation=operation,
            taken_at=time.monotonic(),
            at=at,
            blocked=blocked,
            retry_after=retry_after_seconds(get(b"retry-after"), at),
        )

    @property
    def has_limits(self) -> bool:
        """Whether the response carried any rate-limit header (a sandbox run with
        ``--no-limits`` sends none)."""
        return any(v is not None for v in (self.limit, self.remaining, self.daily_token_limit,
                                           self.daily_token_remaining))


class UsageCounter:
    """Requests and tokens this session spent, per operation (``"v2 GET /deals"``).

    Tokens are the official spec's ``x-token-cost`` of each request Pipedrive answered,
    except 429s and block pages (not charged). The client updates it; callers only read.
    """

    def __init__(self) -> None:
        self._requests: Counter[str] = Counter()
        self._tokens: Counter[str] = Counter()
        self.rate_limited = 0
        self.retries = 0

    @property
    def requests(self) -> Mapping[str, int]:
        return MappingProxyType(self._requests)

    @property
    def tokens(self) -> Mapping[str, int]:
        return MappingProxyType(self._tokens)

    @property
    def total_requests(self) -> int:
        return sum(self._requests.values())

    @property
    def total_tokens(self) -> int:
        return sum(self._tokens.values())

    def record(self, operation: str, tokens: int) -> None:
        self._requests[operation] += 1
        if tokens:
            self._tokens[operation] += tokens

    def __repr__(self) -> str:
        return (f"UsageCounter(requests={self.total_requests}, tokens={self.total_tokens}, "
                f"rate_limited={self.rate_limited}, retries={self.retries})")


# ---------------------------------------------------------------------- the governor seam


class Slot(Protocol):
    """What ``Governor.slot`` returns: held while one request is in flight.

    The client calls ``sending()`` right before the request leaves (after its credentials
    are in hand); a slot closed without it was never sent, and is given back uncounted.
    """

    async def __aenter__(self) -> None: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def sending(self) -> None: ...


class Refused(Exception):
    """Raised by ``Governor.slot`` instead of letting a request go: nothing was sent. The
    client raises ``error(method, path)``, the error for its own request, in its place."""

    def __init__(self, build: Callable[[str, str], ApiError]) -> None:
        super().__init__("refused by the rate governor before sending")
        self._build = build

    def error(self, method: str, path: str) -> ApiError:
        return self._build(method, path)


class Governor(Protocol):
    """Paces a session's requests within Pipedrive's limits.

    The client calls, for every attempt: ``async with governor.slot(kind)`` around sending
    the request and reading its response (the governor may wait there before letting it go,
    or raise ``Refused`` to stop it unsent; ``slot.sending()`` right before it leaves),
    ``observe(snapshot)`` with every response's
    headers, and after every 429 ``await on_rate_limited(error, attempt)`` (``attempt``
    counts this request's 429s, from 1): the governor waits as long as it sees fit and
    answers True to send the request again or False to raise the error. A ``daily`` 429 is
    never retried whatever the answer (the governor hears it to stop later requests); after
    ``ClientConfig.max_rate_limited_retries`` 429s the error is raised too.

    ``probe=True`` marks the client's own cheap request that checks whether a spent daily
    budget is back: a governor lets it through its daily latch (it still paces it).
    """

    def slot(self, kind: RequestKind, *, probe: bool = False) -> Slot: ...

    def observe(self, snapshot: RateSnapshot) -> None: ...

    async def on_rate_limited(self, error: RateLimited, attempt: int) -> bool: ...


class _NoWait:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def sending(self) -> None:
        return None


_NO_WAIT = _NoWait()


class NullGovernor:
    """No pacing: requests go at once, and a 429 is raised to the caller."""

    def slot(self, kind: RequestKind, *, probe: bool = False) -> Slot:
        return _NO_WAIT

    def observe(self, snapshot: RateSnapshot) -> None:
        return None

    async def on_rate_limited(self, error: RateLimited, attempt: int) -> bool:
        return False
