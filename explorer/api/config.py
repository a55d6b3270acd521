"""The client's frozen settings: base URL, timeouts, retry policy, concurrency cap, transport."""

from __future__ import annotations

import functools
import random
import re
import socket
import ssl
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from explorer.api.errors import PipedriveError, ServerError, TransportError

DEFAULT_USER_AGENT = "pipedrive-explorer/0.1 (+httpx)"
_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.I)
# Trailing API prefixes a user may paste with the URL; the client adds its own.
_API_SUFFIXES = ("/api/v1", "/api/v2", "/v1")


# ---------------------------------------------------------------------- retry policy


@dataclass(frozen=True)
class Attempt:
    """One failed try, as retry rules see it.

    Attributes:
        method, path: the request (path without query string).
        number: 1 for the first try, 2 for the first retry, …
        error: what went wrong.
        idempotent: whether repeating the request cannot do the work twice (GET, a PATCH/PUT
            of the same values, or any request that certainly never reached the server).
    """

    method: str
    path: str
    number: int
    error: PipedriveError
    idempotent: bool


@dataclass(frozen=True)
class RetryDecision:
    """Retry (after ``delay`` seconds) or give up."""

    retry: bool
    delay: float = 0.0


GIVE_UP = RetryDecision(False)


class RetryRule(Protocol):
    """A small decision: an answer for the attempts it knows about, None for the rest."""

    def __call__(self, attempt: Attempt) -> RetryDecision | None: ...


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, so tasks that failed together spread out."""

    base: float = 0.25
    factor: float = 2.0
    cap: float = 8.0
    jitter: bool = True

    def delay(self, number: int) -> float:
        ceiling = min(self.cap, self.base * self.factor ** max(0, number - 1))
        return random.uniform(0.0, ceiling) if self.jitter else ceiling


@dataclass(frozen=True)
class RetryTransportErrors:
    """Retry idempotent requests that got no response (timeouts, dropped connections)."""

    attempts: int = 3
    backoff: Backoff = field(default_factory=Backoff)

    def __call__(self, attempt: Attempt) -> RetryDecision | None:
        if not isinstance(attempt.error, TransportError):
            return None
        if attempt.idempotent and attempt.number < self.attempts:
            return RetryDecision(True, self.backoff.delay(attempt.number))
        return GIVE_UP


@dataclass(frozen=True)
class RetryServerErrors:
    """Retry idempotent requests answered with a transient 5xx."""

    attempts: int = 3
    statuses: frozenset[int] = frozenset({500, 502, 503, 504})
    backoff: Backoff = field(default_factory=Backoff)

    def __call__(self, attempt: Attempt) -> RetryDecision | None:
        error = attempt.error
        if not isinstance(error, ServerError):
            return None
        if attempt.idempotent and error.status in self.statuses and (
            attempt.number < self.attempts
        ):
            return RetryDecision(True, self.backoff.delay(attempt.number))
        return GIVE_UP


@dataclass(frozen=True)
class RetryPolicy:
    """Rules asked in order; the first that answers decides, none answering means give up.

    Combine with ``|``: ``RetryPolicy.never() | RetryServerErrors(attempts=5)``. Rate limits
    are the governor's business, not the policy's; non-idempotent writes are never retried
    whatever a rule says (the client reports ``OutcomeUnknown`` instead).
    """

    rules: tuple[RetryRule, ...] = (RetryTransportErrors(), RetryServerErrors())

    @classmethod
    def never(cls) -> RetryPolicy:
        return cls(rules=())

    def decide(self, attempt: Attempt) -> RetryDecision:
        for rule in self.rules:
            decision = rule(attempt)
            if decision is not None:
                return decision
        return GIVE_UP

    def __or__(self, other: RetryPolicy | RetryRule) -> RetryPolicy:
        extra = other.rules if isinstance(other, RetryPolicy) else (other,)
        return RetryPolicy(rules=(*self.rules, *extra))


# ---------------------------------------------------------------------- the config


@dataclass(frozen=True)
class Timeouts:
    """Seconds for connecting, reading, writing and waiting for a pooled connection."""

    connect: float = 10.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 60.0

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write,
                             pool=self.pool)


def _normalise_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("base_url must be an http(s) URL such as https://acme.pipedrive.com")
    if parts.query or parts.fragment or parts.username or parts.password:
        # Never echo the URL: a pasted query string may hold an api_token.
        raise ValueError("base_url must not carry a query string, fragment or credentials; "
                         "pass the token through the token provider")
    path = parts.path.rstrip("/")
    for suffix in _API_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return f"{parts.scheme}://{parts.netloc}{path}"


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The one SSL context of the process, built on first use: building one loads the CA
    bundle (20–40 ms, on the event loop), which every session and every OAuth refresh
    without its own http client would pay again. An ``SSLContext`` may be shared."""
    return httpx.create_ssl_context()


def default_transport(max_connections: int) -> httpx.AsyncHTTPTransport:
    """httpx's transport with TCP_NODELAY: without it a request on a kept-alive connection
    can stall ~40 ms on delayed ACK (measured over loopback against the sandbox). The SSL
    context is shared by every transport of the process."""
    return httpx.AsyncHTTPTransport(
        verify=_ssl_context(),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        limits=httpx.Limits(max_connections=max_connections,
                            max_keepalive_connections=max_connections),
    )


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client session needs except credentials (those come from a provider).

    Attributes:
        base_url: the account's origin, ``https://acme.pipedrive.com`` (OAuth: the token
            response's ``api_domain``) or a sandbox URL; the client appends ``/api/v1`` or
            ``/api/v2``.
        timeouts: per-request timeouts.
        retry: what to retry (transport errors and 5xx on idempotent requests by default).
        max_in_flight: concurrency cap: requests in flight at once in this session.
        page_size: records per page when paging (Pipedrive's maximum is 500).
        max_rate_limited_retries: 429s one request may wait out (when the governor says so)
            before the ``RateLimited`` error is raised.
        transport: an httpx transport (tests: ``httpx.ASGITransport(app)``); None builds the
            default one, with TCP_NODELAY.
        user_agent: the ``User-Agent`` header.
    """

    base_url: str
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_in_flight: int = 10
    page_size: int = 500
    max_rate_limited_retries: int = 5
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False, compare=False)
    user_agent: str = DEFAULT_USER_AGENT

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", _normalise_url(self.base_url))
        if self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if not 1 <= self.page_size <= 500:
            raise ValueError("page_size must be between 1 and 500 (Pipedrive's maximum)")

    @classmethod
    def for_company(cls, domain: str, **options: Any) -> ClientConfig:
        """``for_company("acme")`` → ``https://acme.pipedrive.com`` (``acme.pipedrive.com``
        is accepted too)."""
        name = domain.strip().lower().removesuffix(".pipedrive.com")
        if not _DOMAIN.match(name):
            raise ValueError(
                f"{domain!r} is not a Pipedrive company domain; use the part before "
                ".pipedrive.com in your Pipedrive address (e.g. 'acme')"
            )
        return cls(base_url=f"https://{name}.pipedrive.com", **options)

    def with_base_url(self, base_url: str) -> ClientConfig:
        """The same settings against another origin (OAuth's ``api_domain``)."""
        return replace(self, base_url=base_url)

    def api_root(self, version: str) -> str:
        return f"{self.base_url}/api/{version}"
