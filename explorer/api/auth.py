"""Credentials come from a token provider (API token or OAuth); the client never stores a secret."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import httpx

from explorer.api import oauth
from explorer.api.config import ClientConfig
from explorer.api.errors import (
    ApiError,
    AuthExpired,
    InvalidValue,
    NetworkError,
    OAuthRejected,
    TokenStoreFailed,
    TransportError,
)
from explorer.api.oauth import OAuthApp, TokenSet
from explorer.api.tokencheck import credential_problem
from explorer.api.tokenstore import (
    DEFAULT_STORE_TIMEOUT_S,
    OnStoreFailed,
    OnTokens,
    TokenKeeper,
)


@runtime_checkable
class TokenProvider(Protocol):
    """Where the client gets its credentials for each request.

    ``headers()`` is awaited before every request (an OAuth provider refreshes an access
    token that is about to expire here). After a 401 the client awaits ``on_unauthorized()``
    once per request: True means "I obtained fresh credentials, send it again", False means
    the 401 is final and ``Unauthorized`` is raised. Implementations keep the secret out of
    their ``repr``.
    """

    async def headers(self) -> dict[str, str]: ...

    def current_headers(self) -> dict[str, str] | None:
        """The credentials to send right now, without waiting for anything: None when they
        must be renewed first (then ``await headers()``). The client awaits ``headers()``
        before it asks the rate governor for a slot, and takes ``current_headers()`` once the
        slot is granted, so a refresh or a keychain store never holds a window slot and the
        request never carries a token that expired while it waited."""
        ...

    async def on_unauthorized(self) -> bool: ...


class ApiTokenProvider:
    """A personal API token, sent as the ``x-api-token`` header (Pipedrive's apiKey scheme).

    A token that could not go into a header (a line break, a non-ASCII character such as a
    zero-width space, a space inside) is refused here, before anything is sent, with an
    ``InvalidValue`` that names the problem and its position and never the token.
    """

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        token = token.strip()
        problem = "is empty" if not token else credential_problem(token)
        if problem is not None:
            raise InvalidValue("api_token", f"the API token {problem}; copy it again from "
                               "Pipedrive's Personal preferences → API")
        self._token = token

    async def headers(self) -> dict[str, str]:
        return {"x-api-token": self._token}

    def current_headers(self) -> dict[str, str] | None:
        return {"x-api-token": self._token}

    async def on_unauthorized(self) -> bool:
        # A personal token cannot be refreshed: a 401 means it is wrong or was revoked.
        return False

    def __repr__(self) -> str:
        return "ApiTokenProvider(token=<hidden>)"

    __str__ = __repr__


_SEND_MARGIN_S = 1.0
"""An access token with less life left than this is renewed before it goes out."""
_BACKOFF_FIRST_S, _BACKOFF_CAP_S = 1.0, 60.0
"""After a refresh that got no usable answer (a 5xx, a 429, no answer at all), the next try
waits this long, doubling up to the cap: requests do not each hammer the token endpoint."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _is_final(error: ApiError) -> bool:
    """Whether a refused refresh is the client's problem (it cannot succeed by trying again:
    a refused refresh token, wrong client credentials, a malformed request) rather than the
    server's or the network's (worth another try later). ``AuthExpired`` always is: the
    refresh token is refused, or spent on an answer whose tokens cannot be used."""
    if isinstance(error, AuthExpired):
        return True
    return 400 <= error.status < 500 and error.status not in (408, 425, 429)


class OAuthTokenProvider:
    """OAuth 2 access for a client session: ``Authorization: Bearer``, kept fresh.

    The access token is refreshed shortly before it expires (``refresh_margin`` seconds, at
    most a quarter of its lifetime) and once after a 401. Concurrent requests share one
    refresh: at most one refresh task runs, every request that needs fresh tokens awaits it,
    and each request remembers which token it sent, so a 401 for a token that has since been
    replaced is just sent again. The refresh runs as its own task because its answer rotates
    the refresh token: a request cancelled while waiting (a paging window no longer needed)
    must not throw the new tokens away.

    New tokens are in use the moment they arrive; storing them (``on_tokens``, the keychain)
    runs in the background with ``store_timeout`` (``TokenKeeper``), so it never holds a
    request. A store that fails or times out is reported through ``store_failure`` and
    ``on_store_failed`` (a ``TokenStoreFailed`` for the app to show), never by failing a
    request, and the next rotation stores again. ``stored()`` waits for a running store (at
    shutdown). The provider keeps tokens in memory only.

    A refresh refused for the client's reasons (``invalid_grant``: ``AuthExpired``, sign in
    again; ``invalid_client`` or another 4xx: ``OAuthRejected``, check the client
    credentials), or accepted with tokens or an ``api_domain`` that cannot be used
    (``AuthExpired``: the refresh token is spent), is final: it is raised now and for every
    later request without asking the server again. One that got no usable answer (5xx, 429,
    no connection) is tried again after a back-off (1 s, doubling up to 60 s); meanwhile an
    access token that is still valid goes on serving, and a request that needs a new one
    fails at once, unsent.

    Args:
        app: the OAuth app (client credentials, OAuth server URL).
        tokens: from ``sign_in`` or the keychain.
        on_tokens: gets each new ``TokenSet`` (a plain function runs in a worker thread).
        store_timeout: seconds one ``on_tokens`` call may take before it counts as failed.
        on_store_failed: told each ``TokenStoreFailed`` (on the event loop).
        http: an httpx client for token requests (tests: one on an ASGI transport); None
            opens a short-lived one per refresh.
        now: the clock expiry and back-off are measured on (UTC).
    """

    def __init__(self, app: OAuthApp, tokens: TokenSet, *, on_tokens: OnTokens | None = None,
                 store_timeout: float = DEFAULT_STORE_TIMEOUT_S,
                 on_store_failed: OnStoreFailed | None = None,
                 http: httpx.AsyncClient | None = None, refresh_margin: float = 60.0,
                 now: Callable[[], datetime] = _utcnow) -> None:
        problem = oauth.tokens_problem(tokens) or oauth.api_domain_problem(tokens.api_domain,
                                                                            app.oauth_url)
        if problem is not None:
            raise InvalidValue("tokens", f"the stored OAuth sign-in is unusable: {problem}. "
                               "Sign in to Pipedrive again.")
        self._app = app
        self._tokens = tokens
        self._keeper = (TokenKeeper(on_tokens, timeout=store_timeout,
                                    on_failure=on_store_failed)
                        if on_tokens is not None else None)
        self._http = http
        self._refresh_margin = refresh_margin
        self._now = now
        self._lifetime = max(0.0, tokens.expires_in(now()))
        self._refreshing: asyncio.Task[None] | None = None
        self._generation = 0
        # The generation of the token this task sent last: lets a 401 tell "my token is stale,
        # someone refreshed already" from "the current token was refused".
        self._sent: ContextVar[int] = ContextVar(f"oauth-sent-{id(self)}")
        self._refused: ApiError | None = None  # a final refusal (AuthExpired, OAuthRejected)
        self._failures = 0
        self._last_failure: TransportError | ApiError | None = None
        self._retry_at: datetime | None = None
        self.refreshes = 0

    @property
    def api_domain(self) -> str:
        """The account's API origin, from the token response."""
        return self._tokens.api_domain

    @property
    def expires_at(self) -> datetime:
        return self._tokens.expires_at

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes the token response granted (empty: not said)."""
        return frozenset(s for s in self._tokens.scope.replace(" ", ",").split(",") if s)

    @property
    def store_failure(self) -> TokenStoreFailed | None:
        """Why the newest tokens are not stored (failed or timed out), or None."""
        return self._keeper.failure if self._keeper is not None else None

    async def stored(self) -> TokenStoreFailed | None:
        """Wait for a running token store to finish (each call bounded by ``store_timeout``);
        ``store_failure`` then. For the app's shutdown, and for tests."""
        return await self._keeper.settled() if self._keeper is not None else None

    def client_config(self, base: ClientConfig) -> ClientConfig:
        """``base`` pointed at this account's ``api_domain``."""
        return base.with_base_url(self._tokens.api_domain)

    async def headers(self) -> dict[str, str]:
        if self._refused is not None:
            raise self._still_refused()
        tokens, generation = self._tokens, self._generation
        left = tokens.expires_in(self._now())
        # Never later than ``current_headers`` would call the token stale, or a request could
        # be told to renew credentials that ``headers()`` then hands back unrenewed.
        if left <= max(min(self._refresh_margin, self._lifetime / 4), _SEND_MARGIN_S):
            await self._refresh(generation, still_valid=left > _SEND_MARGIN_S)
            tokens, generation = self._tokens, self._generation
        self._sent.set(generation)
        return _authorization(tokens)

    def current_headers(self) -> dict[str, str] | None:
        if self._refused is not None:
            return None
        tokens, generation = self._tokens, self._generation
        # Past the refresh margin but unexpired is still good to send: ``headers()`` tried
        # the refresh already (a failed one lets the token serve while it lasts).
        if tokens.expires_in(self._now()) <= _SEND_MARGIN_S:
            return None
        self._sent.set(generation)
        return _authorization(tokens)

    async def on_unauthorized(self) -> bool:
        if self._refused is not None:
            raise self._still_refused()
        await self._refresh(self._sent.get(self._generation), still_valid=False)
        return True

    async def refresh(self) -> None:
        """Refresh now, whatever the expiry says."""
        await self._refresh(self._generation, still_valid=False)

    async def _refresh(self, seen: int, *, still_valid: bool) -> None:
        """Make sure tokens newer than generation ``seen`` exist (sharing a running refresh).
        With ``still_valid`` a refresh that got no answer is let go: the current token works
        for a little longer and a later request tries again (after the back-off)."""
        if self._refused is not None:
            raise self._still_refused()
        if self._generation != seen:
            return  # another request refreshed since this one read the token
        task = self._refreshing
        if task is None:
            if self._retry_at is not None and self._now() < self._retry_at:
                if still_valid:
                    return
                assert self._last_failure is not None
                raise _unavailable(self._last_failure, self._retry_at - self._now())
            task = self._refreshing = asyncio.ensure_future(self._run_refresh())
            task.add_done_callback(self._refresh_done)
        try:
            await asyncio.shield(task)
        except (TransportError, OAuthRejected) as error:
            if isinstance(error, OAuthRejected) and _is_final(error):
                raise
            if not still_valid:
                raise _unavailable(error) from error

    async def _run_refresh(self) -> None:
        try:
            tokens = await oauth.refresh(self._app, self._tokens.refresh_token,
                                         http=self._http, now=self._now)
        except (TransportError, ApiError) as error:
            self._failed(error)
            raise
        self._lifetime = max(0.0, tokens.expires_in(self._now()))
        self._tokens = tokens
        self._generation += 1
        self.refreshes += 1
        self._failures, self._retry_at, self._last_failure = 0, None, None
        if self._keeper is not None:
            self._keeper.submit(tokens)  # in the background: requests go on at once

    def _failed(self, error: TransportError | ApiError) -> None:
        if isinstance(error, ApiError) and _is_final(error):
            self._refused = error
            return
        self._failures += 1
        self._last_failure = error
        delay = min(_BACKOFF_CAP_S, _BACKOFF_FIRST_S * 2 ** (self._failures - 1))
        self._retry_at = self._now() + timedelta(seconds=delay)

    def _refresh_done(self, task: asyncio.Task[None]) -> None:
        self._refreshing = None
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every waiter was cancelled

    def _still_refused(self) -> ApiError:
        error = self._refused
        assert error is not None
        return type(error)(error.status, error.method, error.path, error.error,
                           error.error_info, error.code)

    def __repr__(self) -> str:
        if isinstance(self._refused, AuthExpired):
            state = "expired"
        elif self._refused is not None:
            state = "refused"
        else:
            state = f"expires {self.expires_at:%H:%M:%S}"
        return (f"OAuthTokenProvider(client_id={self._app.client_id}, "
                f"api_domain={self.api_domain}, {state}, tokens=<hidden>)")

    __str__ = __repr__


def _authorization(tokens: TokenSet) -> dict[str, str]:
    return {"authorization": f"{tokens.token_type.capitalize()} {tokens.access_token}"}


def _unavailable(error: TransportError | ApiError,
                 retry_in: timedelta | None = None) -> NetworkError:
    """A refresh that got no usable answer, as the API request sees it: never sent, so the
    client may retry it whatever its method."""
    detail = error.detail if isinstance(error, TransportError) else f"HTTP {error.status}"
    wait = f"; the next try is in {retry_in.total_seconds():.0f} s" if retry_in else ""
    return NetworkError(error.method, error.path,
                        f"could not refresh the OAuth access token ({detail}){wait}",
                        may_have_arrived=False)
