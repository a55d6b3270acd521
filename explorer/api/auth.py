"""Credentials come from a token provider (API token or OAuth); the client never stores a secret."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import httpx

from explorer.api import oauth
from explorer.api.config import ClientConfig
from explorer.api.errors import (
    AuthExpired,
    NetworkError,
    OAuthRejected,
    TokenStoreFailed,
    TransportError,
)
from explorer.api.oauth import OAuthApp, TokenSet


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
    """A personal API token, sent as the ``x-api-token`` header (Pipedrive's apiKey scheme)."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        token = token.strip()
        if not token:
            raise ValueError("the API token is empty; copy it from Pipedrive's "
                             "Personal preferences → API")
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


OnTokens = Callable[[TokenSet], Awaitable[None] | None]
"""Receives every new ``TokenSet`` (the refresh token rotates): store it in the keychain. A
coroutine function is awaited; a plain function runs in a worker thread (keyring blocks)."""


_SEND_MARGIN_S = 1.0
"""An access token with less life left than this is renewed before it goes out."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OAuthTokenProvider:
    """OAuth 2 access for a client session: ``Authorization: Bearer``, kept fresh.

    The access token is refreshed shortly before it expires (``refresh_margin`` seconds, at
    most a quarter of its lifetime) and once after a 401. Concurrent requests share one
    refresh: at most one refresh task runs, every request that needs fresh tokens awaits it,
    and each request remembers which token it sent, so a 401 for a token that has since been
    replaced is just sent again. The refresh runs as its own task because its answer rotates
    the refresh token: a request cancelled while waiting (a paging window no longer needed)
    must not throw the new tokens away. Every new ``TokenSet`` is in use at once (the old
    refresh token is dead already) and goes to ``on_tokens``; the requests that waited for
    the refresh go on once it is stored. If storing fails they raise ``TokenStoreFailed``,
    and later requests go on with the new tokens. The provider keeps tokens in memory only.
    A refused refresh token (``invalid_grant``) raises ``AuthExpired`` now and for every
    later request, without asking the server again.

    Args:
        app: the OAuth app (client credentials, OAuth server URL).
        tokens: from ``sign_in`` or the keychain.
        on_tokens: awaited with each new ``TokenSet`` (a plain function runs in a worker
            thread).
        http: an httpx client for token requests (tests: one on an ASGI transport); None
            opens a short-lived one per refresh.
        now: the clock expiry is measured on (UTC).
    """

    def __init__(self, app: OAuthApp, tokens: TokenSet, *, on_tokens: OnTokens | None = None,
                 http: httpx.AsyncClient | None = None, refresh_margin: float = 60.0,
                 now: Callable[[], datetime] = _utcnow) -> None:
        self._app = app
        self._tokens = tokens
        self._on_tokens = on_tokens
        self._http = http
        self._refresh_margin = refresh_margin
        self._now = now
        self._lifetime = max(0.0, tokens.expires_in(now()))
        self._refreshing: asyncio.Task[None] | None = None
        self._generation = 0
        # The generation of the token this task sent last: lets a 401 tell "my token is stale,
        # someone refreshed already" from "the current token was refused".
        self._sent: ContextVar[int] = ContextVar(f"oauth-sent-{id(self)}")
        self._expired: AuthExpired | None = None
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

    def client_config(self, base: ClientConfig) -> ClientConfig:
        """``base`` pointed at this account's ``api_domain``."""
        return base.with_base_url(self._tokens.api_domain)

    async def headers(self) -> dict[str, str]:
        if self._expired is not None:
            raise self._still_expired()
        tokens, generation = self._tokens, self._generation
        left = tokens.expires_in(self._now())
        if left <= min(self._refresh_margin, self._lifetime / 4):
            await self._refresh(generation, still_valid=left > 0)
            tokens, generation = self._tokens, self._generation
        self._sent.set(generation)
        return {"authorization": f"{tokens.token_type.capitalize()} {tokens.access_token}"}

    def current_headers(self) -> dict[str, str] | None:
        if self._expired is not None:
            return None
        tokens, generation = self._tokens, self._generation
        # Past the refresh margin but unexpired is still good to send: ``headers()`` tried
        # the refresh already (a failed one lets the token serve while it lasts).
        if tokens.expires_in(self._now()) <= _SEND_MARGIN_S:
            return None
        self._sent.set(generation)
        return {"authorization": f"{tokens.token_type.capitalize()} {tokens.access_token}"}

    async def on_unauthorized(self) -> bool:
        if self._expired is not None:
            raise self._still_expired()
        await self._refresh(self._sent.get(self._generation), still_valid=False)
        return True

    async def refresh(self) -> None:
        """Refresh now, whatever the expiry says."""
        await self._refresh(self._generation, still_valid=False)

    async def _refresh(self, seen: int, *, still_valid: bool) -> None:
        """Make sure tokens newer than generation ``seen`` exist (sharing a running refresh).
        With ``still_valid`` a refresh that got no answer is let go: the current token works
        for a little longer and the next request tries again."""
        if self._expired is not None:
            raise self._still_expired()
        if self._generation != seen:
            return  # another request refreshed since this one read the token
        task = self._refreshing
        if task is None:
            task = self._refreshing = asyncio.ensure_future(self._run_refresh())
            task.add_done_callback(self._refresh_done)
        try:
            await asyncio.shield(task)
        except (TransportError, OAuthRejected) as error:
            if isinstance(error, OAuthRejected) and error.status < 500:
                raise
            if not still_valid:
                raise _unavailable(error) from error

    async def _run_refresh(self) -> None:
        try:
            tokens = await oauth.refresh(self._app, self._tokens.refresh_token,
                                         http=self._http, now=self._now)
        except AuthExpired as error:
            self._expired = error
            raise
        self._lifetime = max(0.0, tokens.expires_in(self._now()))
        self._tokens = tokens
        self._generation += 1
        self.refreshes += 1
        if self._on_tokens is not None:
            try:
                # The keychain (keyring) is synchronous and may prompt: off the event loop.
                await oauth.call_off_loop(self._on_tokens, tokens)
            except Exception as exc:  # the caller's store: any failure means "not stored"
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                raise TokenStoreFailed(reason) from exc

    def _refresh_done(self, task: asyncio.Task[None]) -> None:
        self._refreshing = None
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every waiter was cancelled

    def _still_expired(self) -> AuthExpired:
        error = self._expired
        assert error is not None
        return AuthExpired(error.status, error.method, error.path, error.error,
                           error.error_info, error.code)

    def __repr__(self) -> str:
        state = "expired" if self._expired is not None else f"expires {self.expires_at:%H:%M:%S}"
        return (f"OAuthTokenProvider(client_id={self._app.client_id}, "
                f"api_domain={self.api_domain}, {state}, tokens=<hidden>)")

    __str__ = __repr__


def _unavailable(error: TransportError | OAuthRejected) -> NetworkError:
    """A refresh that got no usable answer, as the API request sees it: never sent, so the
    client may retry it whatever its method."""
    detail = error.detail if isinstance(error, TransportError) else f"HTTP {error.status}"
    return NetworkError(error.method, error.path,
                        f"could not refresh the OAuth access token ({detail})",
                        may_have_arrived=False)
