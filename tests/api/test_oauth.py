"""OAuth 2 end to end against a sandbox server process: sign-in over the loopback redirect,
refresh before expiry and on a 401, rotation, a refused refresh, and refresh mid-paging."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from explorer.api import ClientConfig, PipedriveClient
from explorer.api.auth import OAuthTokenProvider
from explorer.api.errors import (
    AuthExpired,
    AuthorizationFailed,
    NetworkError,
    OAuthRejected,
    TokenStoreFailed,
    Unauthorized,
)
from explorer.api.oauth import OAuthApp, TokenSet, api_domain_problem, refresh, sign_in
from tests.api.tokens_sandbox import skewed
from tests.sandbox.test_cli import sandbox_process, stop

pytestmark = pytest.mark.e2e

CLIENT_ID, CLIENT_SECRET = "sandbox-client-id", "sandbox-client-secret"
TTL_S = 2
PLACEHOLDER = ClientConfig(base_url="https://placeholder.pipedrive.com")


def free_redirect_uri() -> str:
    """A callback URL on a port that is free now (tests never use the default port, which
    another sign-in on this machine may be using)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/callback"


REDIRECT = free_redirect_uri()


def offline_app(redirect_uri: str = REDIRECT) -> OAuthApp:
    """An app whose OAuth server is not there (the flow never gets that far)."""
    return OAuthApp(CLIENT_ID, CLIENT_SECRET, oauth_url="http://127.0.0.1:9",
                    redirect_uri=redirect_uri)


class Sandbox:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.admin = {"x-api-token": token}
        self.app = OAuthApp(CLIENT_ID, CLIENT_SECRET, oauth_url=url, redirect_uri=REDIRECT)

    async def call(self, method: str, path: str, **options: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
            return await http.request(method, path, **options)

    async def statuses(self) -> dict[str, int]:
        stats = (await self.call("GET", "/_sandbox/stats", headers=self.admin)).json()
        counts: dict[str, int] = stats["stats"]["statuses"]
        return counts


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with sandbox_process("--oauth-auto-approve", "--oauth-token-ttl", str(TTL_S),
                         "--oauth-redirect-uri", REDIRECT) as (
        proc, url, token
    ):
        yield Sandbox(url, token)
        assert stop(proc) == 0


class Browser:
    """Plays the user's browser: opens the authorize URL and follows the redirects to the
    app's loopback receiver; ``tamper`` rewrites the authorize URL first."""

    def __init__(self, tamper: dict[str, str] | None = None) -> None:
        self.tamper = tamper or {}
        self.opened: list[str] = []
        self.page: httpx.Response | None = None

    async def __call__(self, url: str) -> None:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} | self.tamper
        url = parts._replace(query=urlencode(query)).geturl()
        self.opened.append(url)
        async with httpx.AsyncClient(follow_redirects=True, timeout=10) as browser:
            self.page = await browser.get(url)


async def signed_in(sandbox: Sandbox) -> TokenSet:
    return await sign_in(sandbox.app, Browser(), wait_s=10)


async def test_sign_in_checks_state_and_uses_api_domain(sandbox: Sandbox) -> None:
    browser = Browser()
    tokens = await sign_in(sandbox.app, browser, wait_s=10)
    assert browser.page is not None and browser.page.status_code == 200
    assert "You can close this window" in browser.page.text
    (opened,) = browser.opened
    query = parse_qs(urlsplit(opened).query)
    assert len(query["state"][0]) >= 32
    assert query["redirect_uri"] == [REDIRECT]
    assert tokens.api_domain == sandbox.url
    provider = OAuthTokenProvider(sandbox.app, tokens)
    config = provider.client_config(PLACEHOLDER)
    assert config.base_url == sandbox.url
    async with PipedriveClient(config, provider) as client:
        assert (await client.get("deals", 1))["id"] == 1
        me = (await client.request("GET", "v1", "/users/me")).data
        assert me["is_admin"] in (True, 1)
    secrets = (tokens.access_token, tokens.refresh_token, CLIENT_SECRET)
    for shown in (repr(tokens), str(tokens), repr(provider), repr(sandbox.app)):
        assert not any(secret in shown for secret in secrets)


async def test_a_mismatched_state_is_rejected(sandbox: Sandbox) -> None:
    browser = Browser(tamper={"state": "forged-by-someone-else"})
    with pytest.raises(AuthorizationFailed, match="state mismatch"):
        await sign_in(sandbox.app, browser, wait_s=10)
    assert browser.page is not None and browser.page.status_code == 400


async def test_a_cancelled_sign_in_fails_clearly() -> None:
    app = offline_app()

    async def cancel(url: str) -> None:
        query = parse_qs(urlsplit(url).query)
        redirect, state = query["redirect_uri"][0], query["state"][0]
        async with httpx.AsyncClient(timeout=10) as browser:
            # The browser's own requests (favicon) change nothing.
            icon = await browser.get(redirect.replace("/callback", "/favicon.ico"))
            assert icon.status_code == 404
            page = await browser.get(redirect, params={"error": "access_denied",
                                                       "state": state})
            assert page.status_code == 200

    with pytest.raises(AuthorizationFailed, match="not granted"):
        await sign_in(app, cancel, wait_s=10)


async def test_no_answer_from_the_browser_times_out() -> None:
    app = offline_app()
    with pytest.raises(AuthorizationFailed, match="no answer"):
        await sign_in(app, lambda url: None, wait_s=0.2)


async def test_a_blocking_open_url_runs_off_the_event_loop(sandbox: Sandbox) -> None:
    pages: list[int] = []

    def open_and_block(url: str) -> None:
        # webbrowser.open may block; this "browser" blocks until the whole sign-in page
        # round trip, loopback redirect included, is done.
        with httpx.Client(follow_redirects=True, timeout=5) as browser:
            pages.append(browser.get(url).status_code)

    tokens = await sign_in(sandbox.app, open_and_block, wait_s=10)
    assert pages == [200] and tokens.api_domain == sandbox.url


async def test_token_endpoint_failures_do_not_chain_httpx_errors() -> None:
    # The httpx exception's request carries the Basic client credentials.
    app = OAuthApp(CLIENT_ID, CLIENT_SECRET, oauth_url="http://127.0.0.1:9")
    with pytest.raises(NetworkError) as caught:
        await refresh(app, "some-refresh-token")
    error = caught.value
    assert error.__cause__ is None and error.__context__ is None
    assert "ConnectError" in str(error) and not error.may_have_arrived


async def test_wrong_client_secret_is_refused(sandbox: Sandbox) -> None:
    app = OAuthApp(CLIENT_ID, "not-the-secret", oauth_url=sandbox.url,
                   redirect_uri=REDIRECT)
    with pytest.raises(OAuthRejected) as caught:
        await sign_in(app, Browser(), wait_s=10)
    assert caught.value.code == "invalid_client"
    assert "not-the-secret" not in str(caught.value)


async def test_refresh_before_expiry_rotates_and_hands_back_tokens(sandbox: Sandbox) -> None:
    first = await signed_in(sandbox)
    stored: list[TokenSet] = []
    skew = [0.0]
    provider = OAuthTokenProvider(sandbox.app, first, on_tokens=stored.append, now=skewed(skew))
    unauthorized = (await sandbox.statuses()).get("401", 0)
    async with PipedriveClient(provider.client_config(PLACEHOLDER), provider) as client:
        skew[0] = -60.0  # however slow this machine is, the token is fresh now
        await client.get("deals", 1)
        assert provider.refreshes == 0
        # Inside the last quarter of the token's life: refreshed before it is sent, once
        # for all requests waiting on it.
        skew[0] = TTL_S * 0.8
        await asyncio.gather(*(client.get("deals", i) for i in range(1, 9)))
    assert provider.refreshes == 1
    assert await provider.stored() is None
    (second,) = stored
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert (await sandbox.statuses()).get("401", 0) == unauthorized
    # Rotation: the old refresh token is retired.
    with pytest.raises(AuthExpired):
        await refresh(sandbox.app, first.refresh_token)
    stored_again = TokenSet.from_dict(second.as_dict())
    assert stored_again == second


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_tokens_that_cannot_be_stored_say_so_and_keep_working(
    sandbox: Sandbox, kind: str
) -> None:
    calls: list[TokenSet] = []
    shown: list[TokenStoreFailed] = []

    def locked(tokens: TokenSet) -> None:
        calls.append(tokens)
        raise RuntimeError("the keychain is locked")

    async def locked_async(tokens: TokenSet) -> None:
        locked(tokens)

    skew = [0.0]
    provider = OAuthTokenProvider(sandbox.app, await signed_in(sandbox), now=skewed(skew),
                                  on_tokens=locked if kind == "sync" else locked_async,
                                  on_store_failed=shown.append)
    async with PipedriveClient(provider.client_config(PLACEHOLDER), provider) as client:
        skew[0] = TTL_S * 0.8
        # The request that refreshed is not failed for the store's sake.
        assert (await client.get("deals", 1))["id"] == 1
        failure = await provider.stored()
        assert isinstance(failure, TokenStoreFailed) and provider.store_failure is failure
        assert shown == [failure]
        text = str(failure) + repr(failure)
        assert "could not be stored" in text and "keychain is locked" in text
        assert "keeps working" in text
        (stored,) = calls
        assert stored.access_token not in text and stored.refresh_token not in text
        # The new tokens are live: the session goes on without another refresh.
        assert (await client.get("deals", 2))["id"] == 2
    assert provider.refreshes == 1 and len(calls) == 1


async def test_a_blocking_token_store_runs_off_the_event_loop(sandbox: Sandbox) -> None:
    threads: list[int] = []

    def keychain(tokens: TokenSet) -> None:  # keyring is synchronous and may prompt
        threads.append(threading.get_ident())

    skew = [0.0]
    provider = OAuthTokenProvider(sandbox.app, await signed_in(sandbox), now=skewed(skew),
                                  on_tokens=keychain)
    async with PipedriveClient(provider.client_config(PLACEHOLDER), provider) as client:
        skew[0] = TTL_S * 0.8
        await client.get("deals", 1)
    assert await provider.stored() is None
    assert len(threads) == 1 and threads[0] != threading.get_ident()


class SlowAnswer(httpx.AsyncBaseTransport):
    """Token requests whose answer arrives 300 ms after the server acted on them."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        await asyncio.sleep(0.3)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_cancelled_request_keeps_the_refresh_it_started(sandbox: Sandbox) -> None:
    # The server rotates the refresh token as it answers: a refresh abandoned with the
    # request that started it (a paging window no longer needed) would end the sign-in.
    stored: list[TokenSet] = []
    skew = [0.0]
    async with httpx.AsyncClient(transport=SlowAnswer()) as token_http:
        provider = OAuthTokenProvider(sandbox.app, await signed_in(sandbox), http=token_http,
                                      on_tokens=stored.append, now=skewed(skew))
        skew[0] = TTL_S * 0.8
        async with PipedriveClient(provider.client_config(PLACEHOLDER), provider) as client:
            started = asyncio.ensure_future(client.get("deals", 1))
            await asyncio.sleep(0.1)
            started.cancel()
            with pytest.raises(asyncio.CancelledError):
                await started
            assert (await client.get("deals", 2))["id"] == 2
    assert await provider.stored() is None
    assert provider.refreshes == 1 and len(stored) == 1


async def test_a_401_refreshes_once_for_all_requests_in_flight(sandbox: Sandbox) -> None:
    tokens = await signed_in(sandbox)
    stored: list[TokenSet] = []
    # A clock behind the server's: the provider thinks the token is fresh, the server not.
    provider = OAuthTokenProvider(sandbox.app, tokens, on_tokens=stored.append,
                                  now=skewed([-60.0]))
    unauthorized = (await sandbox.statuses()).get("401", 0)
    # Revoking the access token (only it) makes Pipedrive answer 401 before it expires.
    revoked = await sandbox.call("POST", "/oauth/revoke", data={"token": tokens.access_token},
                                 auth=(CLIENT_ID, CLIENT_SECRET))
    assert revoked.status_code == 200
    async with PipedriveClient(provider.client_config(PLACEHOLDER), provider) as client:
        deals = await asyncio.gather(*(client.get("deals", i) for i in range(1, 9)))
    assert [d["id"] for d in deals] == list(range(1, 9))
    assert await provider.stored() is None
    assert provider.refreshes == 1 and len(stored) == 1
    assert (await sandbox.statuses()).get("401", 0) > unauthorized


async def test_a_late_401_for_a_replaced_token_does_not_refresh_again(
    sandbox: Sandbox,
) -> None:
    tokens = await signed_in(sandbox)
    provider = OAuthTokenProvider(sandbox.app, tokens, now=skewed([-60.0]))
    await sandbox.call("POST", "/oauth/revoke", data={"token": tokens.access_token},
                       auth=(CLIENT_ID, CLIENT_SECRET))
    slow = await sandbox.call("POST", "/_sandbox/faults", headers=sandbox.admin,
                              json={"kind": "latency", "count": 1, "latency_ms": 300,
                                    "method": "GET", "path": "/api/v2/deals/1"})
    assert slow.status_code == 201
    async with PipedriveClient(provider.client_config(PLACEHOLDER), provider) as client:
        late = asyncio.ensure_future(client.get("deals", 1))  # its 401 comes in 300 ms
        await asyncio.sleep(0.05)
        assert (await client.get("deals", 2))["id"] == 2  # 401, refresh, sent again
        assert provider.refreshes == 1
        assert (await late)["id"] == 1
    assert provider.refreshes == 1


async def test_a_refused_refresh_token_says_sign_in_again(sandbox: Sandbox) -> None:
    tokens = await signed_in(sandbox)
    past = datetime.now(UTC) - timedelta(seconds=1)
    dead = TokenSet(tokens.access_token, "no-such-refresh-token", past, tokens.api_domain)
    provider = OAuthTokenProvider(sandbox.app, dead)
    async with PipedriveClient(provider.client_config(PLACEHOLDER), provider) as client:
        with pytest.raises(AuthExpired, match="Sign in to Pipedrive again") as caught:
            await client.get("deals", 1)
        assert isinstance(caught.value, Unauthorized)
        with pytest.raises(AuthExpired):  # at once, for every later request
            await client.get("deals", 2)
    assert "no-such-refresh-token" not in str(caught.value) + repr(caught.value)
    assert "expired" in repr(provider)
    # A refused access token whose refresh fails too: the 401 path ends the same way.
    bogus = TokenSet("bogus-access", "bogus-refresh", datetime.now(UTC) + timedelta(hours=1),
                     tokens.api_domain)
    provider = OAuthTokenProvider(sandbox.app, bogus)
    async with PipedriveClient(provider.client_config(PLACEHOLDER), provider) as client:
        with pytest.raises(AuthExpired):
            await client.get("deals", 1)


async def test_refresh_during_a_long_paging_run(sandbox: Sandbox) -> None:
    # 100 ms per page models a real round trip, so 20 pages outlive the 2 s access token.
    added = await sandbox.call("POST", "/_sandbox/faults", headers=sandbox.admin,
                               json={"kind": "latency", "probability": 1, "latency_ms": 100,
                                     "path": "/api/v2/deals"})
    assert added.status_code == 201
    try:
        tokens = await signed_in(sandbox)
        stored: list[TokenSet] = []
        provider = OAuthTokenProvider(sandbox.app, tokens, on_tokens=stored.append)
        # 40 a page: the 800-odd deals that are not archived make over 20 pages.
        config = provider.client_config(ClientConfig(base_url=sandbox.url, page_size=40))
        async with PipedriveClient(config, provider) as client:
            ids = [deal["id"] async for deal in client.iterate("deals")]
            pages = client.usage.requests["v2 GET /deals"]
    finally:
        await sandbox.call("DELETE", "/_sandbox/faults", headers=sandbox.admin)
    archived = (await sandbox.call("GET", "/api/v2/deals/archived", headers=sandbox.admin,
                                   params={"limit": 500})).json()["data"]
    assert len(ids) == len(set(ids)) == 1000 - len(archived)  # archived ones: listed apart
    assert pages >= 20
    assert await provider.stored() is None
    assert provider.refreshes >= 1 and len(stored) == provider.refreshes


@pytest.mark.parametrize(("api_domain", "oauth_url"), [
    ("https://acme.pipedrive.com", "https://oauth.pipedrive.com"),
    ("https://api.pipedrive.com/", "https://oauth.pipedrive.com"),
    ("https://ACME.Pipedrive.com", "https://oauth.pipedrive.com"),
    # A sandbox on loopback: its own origin (the one the app is configured with).
    ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ("http://[::1]:8765", "http://[::1]:8765/"),
    ("http://127.0.0.1:8765", "http://localhost:8765"),
])
def test_api_domain_accepted(api_domain: str, oauth_url: str) -> None:
    assert api_domain_problem(api_domain, oauth_url) is None


@pytest.mark.parametrize(("api_domain", "oauth_url"), [
    ("https://attacker.example", "https://oauth.pipedrive.com"),  # any https host, before
    ("https://acme.pipedrive.com.attacker.example", "https://oauth.pipedrive.com"),
    ("https://attacker.example/.pipedrive.com", "https://oauth.pipedrive.com"),
    ("https://acme.pipedrive.com@attacker.example", "https://oauth.pipedrive.com"),
    ("https://pipedrive.com", "https://oauth.pipedrive.com"),
    ("https://acme.pipedrive.com:8443", "https://oauth.pipedrive.com"),
    ("https://acme.pipedrive.com/api/v1", "https://oauth.pipedrive.com"),
    ("http://acme.pipedrive.com", "https://oauth.pipedrive.com"),
    ("http://127.0.0.1:8765", "https://oauth.pipedrive.com"),  # loopback, before
    ("http://127.0.0.1:8766", "http://127.0.0.1:8765"),
    ("https://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ("https://attacker.example", "http://127.0.0.1:8765"),
    ("http://sandbox.test", "http://sandbox.test"),  # not on loopback
    ("", "https://oauth.pipedrive.com"),
])
def test_api_domain_refused(api_domain: str, oauth_url: str) -> None:
    problem = api_domain_problem(api_domain, oauth_url)
    assert problem is not None and "not sent there" in problem


# ---------------------------------------------------------------------- the redirect URI


def test_the_redirect_uri_is_fixed_and_documented() -> None:
    # README's documented default callback URL, to register in Developer Hub.
    assert OAuthApp(CLIENT_ID, CLIENT_SECRET).redirect_uri == "http://127.0.0.1:18765/callback"
    for unusable, complaint in (("http://127.0.0.1:0/callback", "fixed port"),
                                ("http://127.0.0.1/callback", "fixed port"),
                                ("https://app.example/callback", "loopback"),
                                ("http://127.0.0.1:70000/callback", "not a valid URI"),
                                ("http://127.0.0.1:18765", "path"),
                                ("http://127.0.0.1:18765/cb?x=1", "query")):
        with pytest.raises(ValueError, match=complaint):
            OAuthApp(CLIENT_ID, CLIENT_SECRET, redirect_uri=unusable)


async def test_every_sign_in_listens_on_the_registered_redirect_uri(sandbox: Sandbox) -> None:
    # Three sign-ins once used three random ports (34257, 44493, 33861); the sandbox, like
    # Pipedrive, redirects only to the registered callback URL, so each must use it.
    for _ in range(3):
        browser = Browser()
        tokens = await sign_in(sandbox.app, browser, wait_s=10)
        (opened,) = browser.opened
        assert parse_qs(urlsplit(opened).query)["redirect_uri"] == [REDIRECT]
        assert browser.page is not None and browser.page.status_code == 200
        assert tokens.api_domain == sandbox.url


async def test_an_unregistered_redirect_uri_is_refused_by_the_server(sandbox: Sandbox) -> None:
    app = OAuthApp(CLIENT_ID, CLIENT_SECRET, oauth_url=sandbox.url,
                   redirect_uri=free_redirect_uri())
    browser = Browser()
    with pytest.raises(AuthorizationFailed, match="no answer") as caught:
        await sign_in(app, browser, wait_s=1)
    assert browser.page is not None and browser.page.status_code == 400
    assert "Invalid request: redirect_uri is invalid" in browser.page.text
    # The app's message says which callback URL to register.
    assert app.redirect_uri in str(caught.value) and "Developer Hub" in str(caught.value)


async def test_a_taken_redirect_port_fails_before_the_browser_opens() -> None:
    opened: list[str] = []
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        app = offline_app(f"http://127.0.0.1:{port}/callback")
        with pytest.raises(AuthorizationFailed) as caught:
            await sign_in(app, opened.append, wait_s=5)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "another program" in message and "Developer Hub" in message
    assert opened == []
