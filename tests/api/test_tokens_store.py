"""Storing rotated OAuth tokens (the keychain) never holds traffic and has a timeout: against the
sandbox in process, with stores that block on events the test controls (ordering, not
wall-clock)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest

from explorer.api import PipedriveClient
from explorer.api.auth import OAuthTokenProvider
from explorer.api.errors import TokenStoreFailed
from explorer.api.oauth import TokenSet
from explorer.api.tokenstore import OnStoreFailed, OnTokens
from tests.api.tokens_sandbox import (
    OAUTH_APP,
    Recorder,
    api_config,
    frozen,
    sign_in_without_browser,
)

from tests.api.tokens_sandbox import auto_approve_config, loopback_app, recorded_http, recorder  # noqa: F401  # isort: skip (fixtures)

KEYCHAIN_S = 3.0  # how long the slow keychain takes at most


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets a blocked keychain thread go; set at the end whatever happens, so no worker
    thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()


class Keychain:
    """A synchronous store (keyring runs in a worker thread) that blocks until ``release``
    is set (at most ``KEYCHAIN_S``), and logs what happened in order."""

    def __init__(self, release: threading.Event, log: list[str]) -> None:
        self.release = release
        self.log = log
        self.stored: list[TokenSet] = []
        self.started = threading.Event()
        self.blocking = True

    def __call__(self, tokens: TokenSet) -> None:
        self.log.append("store started")
        self.started.set()
        if self.blocking:
            self.release.wait(KEYCHAIN_S)
        self.stored.append(tokens)
        self.log.append("store finished")


async def started(keychain: Keychain) -> None:
    await asyncio.to_thread(keychain.started.wait, 10)


def provider_near_expiry(tokens: TokenSet, http: httpx.AsyncClient, on_tokens: OnTokens, *,
                         store_timeout: float = 10.0,
                         on_store_failed: OnStoreFailed | None = None) -> OAuthTokenProvider:
    """A provider made while the token was fresh, whose clock the test then moves to 30 s
    before expiry (inside the refresh margin)."""
    offset = [-3000.0]
    provider = OAuthTokenProvider(OAUTH_APP, tokens, http=http, on_tokens=on_tokens,
                                  store_timeout=store_timeout,
                                  on_store_failed=on_store_failed,
                                  now=frozen(tokens.expires_at, offset))
    offset[0] = -30.0
    return provider


async def test_a_slow_token_store_during_a_refresh_holds_no_request(
    wire: Recorder, http: httpx.AsyncClient, release: threading.Event
) -> None:
    log: list[str] = []
    keychain = Keychain(release, log)
    provider = provider_near_expiry(await sign_in_without_browser(http), http,
                                keychain)
    async with PipedriveClient(api_config(wire), provider) as client:
        first = asyncio.ensure_future(client.get("deals", 1))  # starts the refresh
        await started(keychain)
        # The store is blocked now; the request that refreshed and 20 more go through
        # with the new tokens while it is.
        deals = [await first, *await asyncio.gather(*(client.get("deals", i)
                                                      for i in range(2, 22)))]
        log.append("requests done")
        renewed = provider.current_headers()
        assert provider.refreshes == 1 and provider.store_failure is None
        release.set()
        assert await provider.stored() is None
    assert [deal["id"] for deal in deals] == list(range(1, 22))
    assert log == ["store started", "requests done", "store finished"]
    (stored,) = keychain.stored
    assert renewed == {"authorization": f"Bearer {stored.access_token}"}
    assert wire.count("/api/") == 21


async def test_a_store_that_hangs_times_out_and_is_reported(
    http: httpx.AsyncClient, wire: Recorder
) -> None:
    hang = asyncio.Event()  # never set: the keychain waits for an unlock that never comes
    calls: list[TokenSet] = []
    shown: list[TokenStoreFailed] = []

    async def keychain(tokens: TokenSet) -> None:
        calls.append(tokens)
        if len(calls) == 1:
            await hang.wait()

    provider = provider_near_expiry(await sign_in_without_browser(http), http,
                                keychain, store_timeout=0.2,
                                on_store_failed=shown.append)
    async with PipedriveClient(api_config(wire), provider) as client:
        assert (await client.get("deals", 1))["id"] == 1
        failure = await provider.stored()
        assert isinstance(failure, TokenStoreFailed) and shown == [failure]
        assert "did not answer within 0.2 s" in str(failure)
        assert "keeps working" in str(failure)
        assert (await client.get("deals", 2))["id"] == 2  # unaffected
        # The next rotation stores again, and succeeds: the failure is over.
        await provider.refresh()
        assert await provider.stored() is None and provider.store_failure is None
    assert len(calls) == 2 and shown == [failure]
    assert calls[1].refresh_token != calls[0].refresh_token


async def test_a_stuck_keychain_thread_is_reported_and_the_newest_tokens_land_last(
    http: httpx.AsyncClient, release: threading.Event
) -> None:
    log: list[str] = []
    keychain = Keychain(release, log)
    reported = asyncio.Event()
    provider = provider_near_expiry(await sign_in_without_browser(http), http,
                                keychain, store_timeout=0.2,
                                on_store_failed=lambda failure: reported.set())
    await provider.refresh()
    await reported.wait()  # the first store timed out; its thread is still blocked
    assert isinstance(provider.store_failure, TokenStoreFailed)
    # Two more rotations while it is stuck: neither starts a second store alongside it.
    await provider.refresh()
    await provider.refresh()
    assert log == ["store started"]
    keychain.blocking = False
    release.set()
    assert await provider.stored() is None
    # The stuck store finished, then only the newest tokens were stored (never an older
    # set after a newer one: its refresh token would be dead).
    assert log == ["store started", "store finished", "store started", "store finished"]
    assert len(keychain.stored) == 2 and provider.refreshes == 3
    assert provider.current_headers() == {
        "authorization": f"Bearer {keychain.stored[-1].access_token}"}


async def test_a_failing_store_callback_never_breaks_a_request(
    wire: Recorder, http: httpx.AsyncClient
) -> None:
    def broken_report(failure: TokenStoreFailed) -> None:
        raise RuntimeError("the app's status bar is gone")

    def locked(tokens: TokenSet) -> None:
        raise OSError("keychain locked")

    provider = provider_near_expiry(await sign_in_without_browser(http), http,
                                locked, on_store_failed=broken_report)
    async with PipedriveClient(api_config(wire), provider) as client:
        assert (await client.get("deals", 1))["id"] == 1
        failure = await provider.stored()
        assert failure is not None and "OSError: keychain locked" in str(failure)
        assert (await client.get("deals", 2))["id"] == 2
