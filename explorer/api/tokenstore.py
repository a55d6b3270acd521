"""Rotated OAuth tokens are stored in the background: a keychain that takes seconds (or waits
for the user to unlock it) never holds a request.

Every refresh rotates the refresh token: the old one is dead as soon as the answer arrives, so
the new ``TokenSet`` is put to use at once and handed to the app's store (``on_tokens``, the
keychain) afterwards. ``TokenKeeper`` runs that store as its own task, one call at a time and
newest first: tokens that arrive while a store is running wait, and only the newest of them is
stored next (an older set written after a newer one would leave a dead refresh token in the
keychain). Each call gets ``timeout`` seconds; a call that fails or times out is reported as a
``TokenStoreFailed`` (the ``failure`` attribute and the ``on_failure`` callback), never raised
into a request, and the next rotation tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from explorer.api.errors import TokenStoreFailed
from explorer.api.oauth import TokenSet, call_off_loop, is_coroutine_function

OnTokens = Callable[[TokenSet], Awaitable[None] | None]
"""Receives every new ``TokenSet`` (the refresh token rotates): store it in the keychain. A
coroutine function is awaited; a plain function runs in a worker thread (keyring blocks)."""
OnStoreFailed = Callable[[TokenStoreFailed], None]
"""Told (on the event loop) when storing rotated tokens failed or timed out, to show it."""

DEFAULT_STORE_TIMEOUT_S = 10.0
_log = logging.getLogger(__name__)


class TokenKeeper:
    """Hands rotated tokens to ``on_tokens`` in the background, with a timeout per call.

    Attributes:
        failure: the last store's failure, None once the newest tokens were stored.
    """

    def __init__(self, on_tokens: OnTokens, *, timeout: float = DEFAULT_STORE_TIMEOUT_S,
                 on_failure: OnStoreFailed | None = None) -> None:
        if timeout <= 0:
            raise ValueError("the token store timeout must be positive (seconds)")
        self._on_tokens = on_tokens
        self._timeout = timeout
        self._on_failure = on_failure
        self._pending: TokenSet | None = None
        self._task: asyncio.Task[None] | None = None
        self.failure: TokenStoreFailed | None = None

    def submit(self, tokens: TokenSet) -> None:
        """Store ``tokens`` soon (after a store that is running); returns at once."""
        self._pending = tokens
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def settled(self) -> TokenStoreFailed | None:
        """Wait until no store is running or waiting (each bounded by the timeout, unless a
        worker thread that timed out is still stuck); the failure, if the newest failed."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})
        return self.failure

    async def _run(self) -> None:
        while self._pending is not None:
            tokens, self._pending = self._pending, None
            await self._store(tokens)

    async def _store(self, tokens: TokenSet) -> None:
        call = asyncio.ensure_future(call_off_loop(self._on_tokens, tokens))
        done, _ = await asyncio.wait({call}, timeout=self._timeout)
        if not done:
            self._report(TokenStoreFailed(f"the token store did not answer within "
                                          f"{self._timeout:g} s"))
            if is_coroutine_function(self._on_tokens):
                call.cancel()
            # A worker thread cannot be stopped: wait for it before the next store, so two
            # stores never overlap and an older set never lands after a newer one.
            await asyncio.wait({call})
            if call.cancelled() or call.exception() is not None:
                return
        elif call.cancelled():
            return
        elif call.exception() is not None:
            exc = call.exception()
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._report(TokenStoreFailed(reason))
            return
        if self._pending is None:
            self.failure = None  # the newest tokens are stored

    def _report(self, failure: TokenStoreFailed) -> None:
        self.failure = failure
        if self._on_failure is None:
            return
        try:
            self._on_failure(failure)
        except Exception:  # the app's callback must not break the store loop
            _log.exception("the token store failure callback failed")
