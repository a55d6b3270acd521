"""Pipedrive's limits: burst window, search window, daily token budget, headers, 429 and 403.

What is enforced (``../shared/pipedrive-api.md`` §5; numbers in ``config.py``):

- **Burst**: a rolling 2-second window per token (``Principal.key``). Only admitted requests
  occupy it; a slot frees exactly 2 s after the request that took it.
- **Search** (itemSearch and the per-entity ``/search`` endpoints): 10 per 2 s per token, in a
  window of their own instead of the burst window; their ``x-ratelimit-*`` headers describe it.
- **Daily token budget** per company (one company per sandbox, so one budget for every token):
  each admitted request is charged its operation's ``x-token-cost`` from the official specs
  (``specdata``). Requests are admitted while any budget remains (the last one may overdraw
  it; the header then shows 0); once it is spent every request gets a 429 with
  ``x-daily-ratelimit-token-remaining: 0``, which tells it apart from a burst 429.
  The budget resets at midnight of the server's time zone (``server_timezone``, UTC unless set)
  by the sandbox clock's ``now()`` (tests advance the clock past midnight instead of waiting).
- **Legacy** ``x-daily-requests-left``: POST/PUT/PATCH requests left of 10,000 per user per
  UTC day (whatever the server's zone). Pipedrive calls it a fair-use figure and does not
  reject on it; neither does the sandbox.
- **Blocking**: a token that keeps sending after a 429 is blocked. Every request rejected while
  the token's previous 429 is less than one window old is a strike; more than
  ``block_after`` strikes within one window turn into a block of ``block_seconds``, during which
  every request gets a Cloudflare-style 403 HTML page (no JSON, no rate-limit headers: in
  production it comes from Cloudflare, before the API). Admitted requests are never strikes,
  so a client that waits ``x-ratelimit-reset`` after a 429 is never blocked.

Rejected and blocked requests are not charged and do not occupy a window.

Which headers say so, and whether a budget 429 says when the budget resets, is switchable
(``LimitConfig``: ``success_headers``, ``search_headers``, ``daily_headers``,
``daily_message``), because Pipedrive does not document it; the enforcement never changes.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from starlette.responses import JSONResponse, Response

from explorer.sandbox import specdata
from explorer.sandbox.blockpage import block_page
from explorer.sandbox.config import (
    BURST_LIMITS,
    LEGACY_DAILY_WRITES,
    SEARCH_LIMIT,
    WINDOW_SECONDS,
    AuthKind,
    LimitConfig,
)
from explorer.sandbox.http import ApiProblem
from explorer.sandbox.routing import Clock, Operation, Principal
from explorer.sandbox.stats import Stats

_US = 1_000_000  # windows are kept in integer microseconds, so "exactly 2 s" is exact
_ONE_US = timedelta(microseconds=1)
WINDOW_US = round(WINDOW_SECONDS * _US)
SEARCH_OPERATIONS = frozenset({"searchItem", "searchDeals", "searchPersons",
                               "searchOrganization"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


def is_search(op: Operation) -> bool:
    """Whether ``op`` counts against the search window rather than the burst window."""
    return (op.operation_id in SEARCH_OPERATIONS or op.path.endswith("/search")
            or op.path == "/itemSearch" or op.path.startswith("/itemSearch/"))


class _OpInfo:
    """What the limiter needs of an operation, looked up once."""

    __slots__ = ("cost", "op", "search", "write")

    def __init__(self, op: Operation) -> None:
        self.op = op
        cost = specdata.operation(op.version, op.method, op.path).get("token_cost")
        self.cost = int(cost or 0)
        self.search = is_search(op)
        self.write = op.method in WRITE_METHODS


class _Token:
    """Counters of one token: its two windows (admission times, µs) and its 429/403 state."""

    __slots__ = ("blocked_until", "burst", "kind", "last_429", "search", "strikes")

    def __init__(self, kind: AuthKind) -> None:
        self.kind = kind
        self.burst: deque[int] = deque()
        self.search: deque[int] = deque()
        self.last_429: int | None = None
        self.strikes: deque[int] | None = None  # allocated on the first strike only
        self.blocked_until = 0


def _evict(window: deque[int], now: int) -> None:
    horizon = now - WINDOW_US
    while window and window[0] <= horizon:
        window.popleft()


_SMALL = tuple(str(n).encode() for n in range(1024))


def _number(n: int) -> bytes:
    """A header value: ``n`` as ASCII digits, never below 0 (small ones precomputed)."""
    if n < 1024:
        return _SMALL[n] if n > 0 else b"0"
    return str(n).encode()


def _reset_seconds(window: deque[int], now: int) -> int:
    """Whole seconds until the oldest request leaves ``window`` (a slot frees); 0 if empty."""
    if not window:
        return 0
    return max(0, -(-(window[0] + WINDOW_US - now) // _US))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _next_midnight(moment: datetime, zone: tzinfo) -> datetime:
    """The first midnight in ``zone`` after ``moment``, in UTC (a day with a daylight-saving
    change is 23 or 25 hours long)."""
    tomorrow = moment.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(), tzinfo=zone).astimezone(UTC)


def _iso(moment: datetime) -> str:
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


class Limiter:
    """Admits or rejects each authenticated request and stamps the rate-limit headers.

    ``app.py`` calls ``admit`` before the handler (a 429/403 response to send instead, or
    None) and ``stamp`` on the handler's response.

    Attributes:
        config: the limits in force (``reconfigure`` swaps them, keeping what was counted).
        clock: the sandbox clock (``monotonic`` for windows, ``now`` for the budget's day).
        stats: where 429s, 403s and charged tokens are counted.
    """

    def __init__(self, config: LimitConfig, clock: Clock, stats: Stats) -> None:
        self.config = config  # the setter derives the figures the request path reads
        self.clock = clock
        self.stats = stats
        self._ops: dict[int, _OpInfo] = {}
        self._tokens: dict[str, _Token] = {}
        self._writes: dict[int, int] = {}  # user id -> POST/PUT/PATCH today (legacy counter)
        self._used = 0
        self._roll_day()  # sets _day, _day_end, _utc_day_end and _next_roll_mono

    # ------------------------------------------------------------------ the request path

    def admit(self, principal: Principal, op: Operation) -> Response | None:
        """None to let the request through (charged and counted), else the 429/403 to send."""
        if not self._enabled:
            return None
        now = round(self.clock.monotonic() * _US)
        token = self._tokens.get(principal.key) or self._new_token(principal)
        if token.blocked_until:
            if now < token.blocked_until:
                return self._block_page(token, now)
            token.blocked_until, token.strikes, token.last_429 = 0, None, None
        info = self._info(op)
        window, limit = self._window(token, info.search, now)
        if now >= self._next_roll_mono:
            self._check_day(now)
        if len(window) >= limit or self._used >= self._budget:
            return self._reject(principal, token, info, window, limit, now)
        window.append(now)
        if info.cost:
            self._used += info.cost
            self.stats.tokens[op.operation_id] += info.cost
        if info.write:
            self._writes[principal.user_id] = self._writes.get(principal.user_id, 0) + 1
        return None

    def stamp(self, principal: Principal, op: Operation, response: Response) -> None:
        """Add the rate-limit headers to the response of an admitted request."""
        if not self._enabled:
            return
        now = round(self.clock.monotonic() * _US)
        token = self._tokens.get(principal.key) or self._new_token(principal)
        window, limit = self._shown_window(token, self._info(op), now)
        success = 200 <= response.status_code < 300
        response.raw_headers += self._headers(principal, window, limit, now,
                                              window_headers=self._success_headers or not success)

    def _info(self, op: Operation) -> _OpInfo:
        info = self._ops.get(id(op))
        if info is None or info.op is not op:
            info = self._learn(op)
        return info

    def _window(self, token: _Token, search: bool, now: int) -> tuple[deque[int], int]:
        """The search or the burst window of ``token``, pruned to the last 2 s."""
        if search:
            window, limit = token.search, SEARCH_LIMIT
        else:
            window, limit = token.burst, self._burst[token.kind]
        horizon = now - WINDOW_US
        while window and window[0] <= horizon:
            window.popleft()
        return window, limit

    def _shown_window(self, token: _Token, info: _OpInfo,
                      now: int) -> tuple[deque[int], int]:
        """The window the ``x-ratelimit-*`` headers describe: the burst window for a search
        too when ``search_headers`` is "burst"."""
        return self._window(token, info.search and not self._search_burst, now)

    # ------------------------------------------------------------------ admin

    @property
    def config(self) -> LimitConfig:
        return self._config

    @config.setter
    def config(self, config: LimitConfig) -> None:
        self._config = config
        self._enabled = config.enabled
        self._burst: dict[str, int] = {kind: config.burst_limit(kind) for kind in BURST_LIMITS}
        self._budget = config.daily_budget
        self._budget_bytes = _number(self._budget)
        self._success_headers = config.success_headers
        self._search_burst = config.search_headers == "burst"
        self._daily_headers = config.daily_headers
        self._zone = config.zone

    def reconfigure(self, config: LimitConfig) -> None:
        """New limits from now on; windows, budget usage and blocks carry over (a new server
        time zone moves the coming midnight, not what was used today)."""
        zone = self._zone
        self.config = config
        if self._zone != zone:
            self._set_day_end()
            self._set_next_roll(self._now_us())

    def reset(self) -> None:
        """Forget everything counted: windows, blocks, the day's budget and write counters."""
        self._tokens.clear()
        self._writes.clear()
        self._roll_day()

    def snapshot(self) -> dict[str, Any]:
        """What the limiter has counted, for ``GET /_sandbox/stats``."""
        config = self.config
        now = self._now_us()
        self._check_day(now)
        wall = _utc(self.clock.now())
        tokens: dict[str, Any] = {}
        for key, token in self._tokens.items():
            _evict(token.burst, now)
            _evict(token.search, now)
            blocked = token.blocked_until > now
            tokens[key] = {
                "auth_kind": token.kind,
                "burst": self._window_view(token.burst, config.burst_limit(token.kind), now),
                "search": self._window_view(token.search, SEARCH_LIMIT, now),
                "blocked_until": _iso(wall + timedelta(
                    microseconds=token.blocked_until - now)) if blocked else None,
            }
        limit = config.daily_budget
        return {
            "enabled": config.enabled,
            "plan": config.plan,
            "auth_kind": config.auth_kind,
            "window_seconds": WINDOW_SECONDS,
            "daily_budget": {
                "day": self._day.isoformat(),
                "timezone": config.server_timezone,
                "limit": limit,
                "used": self._used,
                "remaining": max(0, limit - self._used),
                "resets_at": _iso(self._day_end),
            },
            "tokens": tokens,
            "daily_requests_left": {str(user): max(0, LEGACY_DAILY_WRITES - n)
                                    for user, n in self._writes.items()},
        }

    # ------------------------------------------------------------------ internals

    def _now_us(self) -> int:
        return round(self.clock.monotonic() * _US)

    def _new_token(self, principal: Principal) -> _Token:
        token = self._tokens[principal.key] = _Token(principal.kind)
        return token

    def _learn(self, op: Operation) -> _OpInfo:
        # Keyed by identity (cheaper than hashing the dataclass); the stored op guards reuse.
        info = self._ops[id(op)] = _OpInfo(op)
        return info

    def _roll_day(self) -> None:
        """Start the budget day the clock is in (by the server's time zone) and the UTC day
        of the legacy write counter."""
        self._set_day_end()
        self._used = 0
        self._writes.clear()
        self._utc_day_end = _next_midnight(_utc(self.clock.now()), UTC)
        self._set_next_roll(self._now_us())

    def _set_day_end(self) -> None:
        """The server's date now and the instant of its next midnight."""
        now = _utc(self.clock.now()).astimezone(self._zone)
        self._day = now.date()
        self._day_end = _next_midnight(now, self._zone)

    def _set_next_roll(self, now: int) -> None:
        """When the request path next looks at the wall clock: the sooner of the budget's
        midnight and the legacy counter's (UTC), on the monotonic clock."""
        wall = _utc(self.clock.now())
        self._next_roll_mono = now + (min(self._day_end, self._utc_day_end) - wall) // _ONE_US

    def _check_day(self, now: int) -> None:
        # The request path only looks at the wall clock once the monotonic estimate of a
        # midnight has passed; ``Clock.advance`` moves both clocks, so in tests it is exact.
        wall = _utc(self.clock.now())
        if wall >= self._day_end:
            self._set_day_end()
            self._used = 0
        if wall >= self._utc_day_end:
            # Pipedrive: 10,000 POST/PUT per user per UTC day, whatever the server's zone.
            self._utc_day_end = _next_midnight(wall, UTC)
            self._writes.clear()
        self._set_next_roll(now)

    def _headers(self, principal: Principal, window: deque[int], limit: int, now: int, *,
                 window_headers: bool = True) -> list[tuple[bytes, bytes]]:
        writes = self._writes.get(principal.user_id, 0)
        headers = []
        if window_headers:
            reset = -(-(window[0] + WINDOW_US - now) // _US) if window else 0
            headers += [
                (b"x-ratelimit-limit", _number(limit)),
                (b"x-ratelimit-remaining", _number(limit - len(window))),
                (b"x-ratelimit-reset", _number(reset)),
            ]
        headers.append((b"x-daily-requests-left", _number(LEGACY_DAILY_WRITES - writes)))
        if self._daily_headers:
            headers += [
                (b"x-daily-ratelimit-token-limit", self._budget_bytes),
                (b"x-daily-ratelimit-token-remaining",
                 _number(max(0, self._budget - self._used))),
            ]
        return headers

    def _reject(self, principal: Principal, token: _Token, info: _OpInfo, window: deque[int],
                limit: int, now: int) -> Response:
        config = self.config
        if token.last_429 is not None and now - token.last_429 < WINDOW_US:
            strikes = token.strikes
            if strikes is None:
                strikes = token.strikes = deque()
            _evict(strikes, now)
            strikes.append(now)
            if len(strikes) > config.block_after:
                token.blocked_until = now + round(config.block_seconds * _US)
                return self._block_page(token, now)
        token.last_429 = now
        self.stats.rate_limited += 1
        if len(window) >= limit:
            wait = max(1, _reset_seconds(window, now))
            what = (f"at most {SEARCH_LIMIT} search requests per {WINDOW_SECONDS:g}-second "
                    "window per token on every plan, counted separately from other requests"
                    if info.search else
                    f"at most {limit} requests per rolling {WINDOW_SECONDS:g}-second window "
                    f"per token ({config.plan} plan, {token.kind} auth)")
            error_info = (f"Rate limit exceeded: {what}. Wait {wait} s (x-ratelimit-reset) "
                          f"before sending more; a token that sends more than "
                          f"{config.block_after} further requests within {WINDOW_SECONDS:g} s "
                          f"of a 429 is blocked for {config.block_seconds:g} s (403).")
        else:
            wall = _utc(self.clock.now())
            wait = max(1, -(-(self._day_end - wall) // timedelta(seconds=1)))
            left = max(0, config.daily_budget - self._used)
            if config.daily_message == "plain":  # nothing about when it resets
                error_info = ("Daily API token budget exhausted: the company's API token "
                              "budget for today is spent.")
            else:
                error_info = (
                    f"Daily API token budget exhausted: this request costs {info.cost} tokens "
                    f"and {left} of the company's {config.daily_budget} remain today. The "
                    f"budget resets at midnight server time ({config.server_timezone}), at "
                    f"{_iso(self._day_end)}, in {wait} s; retrying before then is pointless.")
        body = ApiProblem(429, "Request over limit", error_info).body()
        body["errorCode"] = 429
        response = JSONResponse(body, status_code=429)
        shown_window, shown_limit = self._shown_window(token, info, now)
        response.raw_headers.extend(self._headers(principal, shown_window, shown_limit, now))
        if config.retry_after:
            response.raw_headers.append((b"retry-after", str(wait).encode()))
        return response

    def _block_page(self, token: _Token, now: int) -> Response:
        self.stats.blocked += 1
        left = token.blocked_until - now
        until = _iso(_utc(self.clock.now()) + left * _ONE_US)
        return block_page(max(1, -(-left // _US)), until, self.config.server_timezone)

    @staticmethod
    def _window_view(window: deque[int], limit: int, now: int) -> dict[str, int]:
        return {"limit": limit, "used": len(window), "remaining": max(0, limit - len(window)),
                "reset": _reset_seconds(window, now)}
