"""Run-time settings of the sandbox: Pipedrive's limits, OAuth emulation and fault injection.

Plain frozen data, built from the CLI (``server.py``) or by tests, and handed to
``create_app``. Behaviour lives in ``limits.py``, ``oauth.py`` and ``faults.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Plan = Literal["lite", "growth", "premium", "ultimate"]
AuthKind = Literal["token", "oauth"]
FaultKind = Literal["latency", "error_500", "error_502", "error_503", "drop", "hang", "lost"]
SearchHeaders = Literal["search", "burst"]
SEARCH_HEADER_MODES: tuple[SearchHeaders, ...] = ("search", "burst")
DailyMessage = Literal["timed", "plain"]
DAILY_MESSAGE_MODES: tuple[DailyMessage, ...] = ("timed", "plain")

PLANS: tuple[Plan, ...] = ("lite", "growth", "premium", "ultimate")
FAULT_KINDS: tuple[FaultKind, ...] = (
    "latency", "error_500", "error_502", "error_503", "drop", "hang", "lost",
)

# Burst requests per rolling 2-second window, by plan and auth kind (pipedrive-api.md §5).
BURST_LIMITS: dict[AuthKind, dict[Plan, int]] = {
    "token": {"lite": 20, "growth": 40, "premium": 100, "ultimate": 120},
    "oauth": {"lite": 80, "growth": 160, "premium": 400, "ultimate": 480},
}
SEARCH_LIMIT = 10  # search requests per 2-second window, every plan and auth kind
WINDOW_SECONDS = 2.0
BASE_DAILY_TOKENS = 30_000
PLAN_MULTIPLIER: dict[Plan, int] = {"lite": 1, "growth": 2, "premium": 5, "ultimate": 7}
LEGACY_DAILY_WRITES = 10_000  # x-daily-requests-left: POST/PUT per user per UTC day


@dataclass(frozen=True)
class LimitConfig:
    """Pipedrive's rate limits as the sandbox enforces them.

    Attributes:
        enabled: False for ``--no-limits`` (data loading, benchmarks): nothing is counted.
        plan: the company's plan; decides the burst window and the budget multiplier.
        auth_kind: which burst numbers apply to API-token requests (OAuth-authenticated
            requests always get the OAuth numbers).
        seats: paid seats; the daily budget scales with them.
        budget: daily token budget override; None computes 30,000 × multiplier × seats.
        top_up: purchased extra tokens per day.
        retry_after: send ``Retry-After`` on 429s (Pipedrive does not document it today).
        block_after: requests a token may send within one window after a 429 before it is
            blocked with a 403 HTML page.
        block_seconds: how long such a block lasts.

    Switches for what Pipedrive does not document (the limits are enforced either way; only
    what the headers say changes, so a client can be tested against each variant):
        success_headers: False sends 2xx answers without ``x-ratelimit-limit/-remaining/
            -reset`` (429s still carry them).
        search_headers: ``"burst"`` makes search answers (their 429s too) carry the general
            (burst) window's counters instead of the search window's, which is still enforced
            at 10 per 2 s.
        daily_headers: False sends no ``x-daily-ratelimit-token-limit/-remaining`` at all; a
            budget 429 is then told apart only by its message.
        server_timezone: the IANA zone whose midnight resets the daily budget ("at midnight
            at server's timezone", which need not be UTC).
        daily_message: what a budget 429's ``error_info`` says. ``"timed"``: that the budget is
            spent and when it resets (the zone, the instant, "in N s"); ``"plain"``: only that
            it is spent. Pipedrive documents neither the body nor a reset time, so a client
            must not count on being told when: with "plain" it has to estimate and find out.
    """

    enabled: bool = True
    plan: Plan = "growth"
    auth_kind: AuthKind = "token"
    seats: int = 1
    budget: int | None = None
    top_up: int = 0
    retry_after: bool = False
    block_after: int = 20
    block_seconds: float = 60.0
    success_headers: bool = True
    search_headers: SearchHeaders = "search"
    daily_headers: bool = True
    server_timezone: str = "UTC"
    daily_message: DailyMessage = "timed"

    def __post_init__(self) -> None:
        server_zone(self.server_timezone)  # an unknown zone fails here, not at midnight

    @property
    def zone(self) -> ZoneInfo:
        return server_zone(self.server_timezone)

    @property
    def daily_budget(self) -> int:
        if self.budget is not None:
            return self.budget
        return BASE_DAILY_TOKENS * PLAN_MULTIPLIER[self.plan] * self.seats + self.top_up

    def burst_limit(self, kind: AuthKind) -> int:
        return BURST_LIMITS[kind][self.plan]


def server_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (e.g. ``Europe/Berlin``); ``ValueError`` saying what to use
    for anything else."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ValueError(f"unknown time zone {str(name)[:60]!r}; use an IANA name such as UTC, "
                         "Europe/Berlin or America/New_York") from None


@dataclass(frozen=True)
class OAuthConfig:
    """The OAuth app the sandbox's ``/oauth`` emulation knows.

    Attributes:
        client_id, client_secret: the registered app's credentials.
        access_token_ttl: seconds an access token lives (Pipedrive: 3599).
        auto_approve: ``/oauth/authorize`` redirects at once instead of showing the page.
        scope: the scope granted.
        redirect_uri: the app's registered callback URL; like Pipedrive (Developer Hub), the
            sandbox redirects only there and refuses any other ``redirect_uri``. The default
            is the client's default (``explorer.api.oauth.DEFAULT_REDIRECT_URI``).
    """

    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    access_token_ttl: int = 3599
    auto_approve: bool = False
    redirect_uri: str = "http://127.0.0.1:18765/callback"
    scope: str = (
        "base,deals:full,contacts:full,leads:full,activities:full,products:full,"
        "search:read,users:read,recents:read"
    )


@dataclass(frozen=True)
class FaultRule:
    """One kind of failure to inject.

    Either ``probability`` (each matching request, seeded and reproducible) or ``count``
    (the next N matching requests) selects requests; ``method`` and ``path`` (an fnmatch
    pattern on the URL path, e.g. ``/api/v2/deals/*``) narrow them.

    Attributes:
        kind: latency, error_500/502/503, drop (connection cut mid-response), hang (no
            answer until ``hang_seconds``), lost (the request is applied, then the connection
            drops before any response: "applied, then lost").
        latency_ms, jitter_ms: for ``latency``: fixed delay plus uniform jitter.
        hang_seconds: for ``hang``.
    """

    kind: FaultKind
    probability: float | None = None
    count: int | None = None
    method: str | None = None
    path: str | None = None
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    hang_seconds: float = 300.0


@dataclass(frozen=True)
class FaultConfig:
    """Fault rules active at start-up and the seed of their random draws."""

    rules: tuple[FaultRule, ...] = ()
    seed: int = 0


@dataclass(frozen=True)
class SandboxConfig:
    """Everything ``create_app`` needs besides the store."""

    limits: LimitConfig = field(default_factory=LimitConfig)
    oauth: OAuthConfig = field(default_factory=OAuthConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)


def parse_fault(text: str) -> FaultRule:
    """``KIND[:key=value,…]`` (the CLI's ``--fault``) → a rule.

    Examples: ``error_503:probability=0.1``, ``lost:count=1,method=PATCH,path=/api/v2/deals/*``,
    ``latency:probability=1,latency_ms=200,jitter_ms=50``.
    """
    kind, _, rest = text.partition(":")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
    values: dict[str, object] = {}
    floats = {"probability", "latency_ms", "jitter_ms", "hang_seconds"}
    for part in filter(None, rest.split(",")):
        key, sep, raw = part.partition("=")
        if not sep or key not in {*floats, "count", "method", "path"}:
            raise ValueError(
                f"bad fault option {part!r}; use probability=, count=, method=, path=, "
                "latency_ms=, jitter_ms= or hang_seconds="
            )
        try:
            values[key] = float(raw) if key in floats else int(raw) if key == "count" else raw
        except ValueError:
            raise ValueError(f"fault option {key} needs a number, got {raw!r}") from None
    if ("probability" in values) == ("count" in values):
        raise ValueError(f"fault {text!r} needs exactly one of probability= or count=")
    return FaultRule(kind=kind, **values)  # type: ignore[arg-type]
