"""The OAuth side of the sandbox in process, for the token tests: an app whose OAuth server
is the sandbox on a loopback origin, sign-in without a browser (auto-approve), and a
transport that records what left (and can rewrite token answers the sandbox would never
give).

The fixtures are named by ``name=`` so a test module imports them under their function names
(``from tests.api.tokens_sandbox import loopback_app, ...``) without shadowing the fixture
arguments of its tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from explorer.api import ClientConfig, PipedriveClient, RetryPolicy
from explorer.api.auth import OAuthTokenProvider
from explorer.api.oauth import OAuthApp, TokenSet, token_request
from explorer.sandbox.app import SandboxApp, create_app
from explorer.sandbox.config import LimitConfig, OAuthConfig, SandboxConfig
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store
from tests.sandbox.test_oauth import CLIENT, REDIRECT, exchange, new_code

# The sandbox as it would be served on loopback (its api_domain is this origin).
LOOPBACK = "http://127.0.0.1:8765"
CLIENT_ID, CLIENT_SECRET = OAuthConfig.client_id, OAuthConfig.client_secret
OAUTH_APP = OAuthApp(CLIENT_ID, CLIENT_SECRET, oauth_url=LOOPBACK)

Rewrite = Callable[[dict[str, Any]], dict[str, Any]]


class Recorder(httpx.AsyncBaseTransport):
    """The sandbox's ASGI transport, recording each request that leaves (method and path);
    ``rewrite`` changes the JSON of successful ``/oauth/token`` answers."""

    def __init__(self, app: Any, rewrite: Rewrite | None = None) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.rewrite = rewrite
        self.sent: list[str] = []

    def count(self, prefix: str) -> int:
        return sum(1 for line in self.sent if line.split(" ", 1)[1].startswith(prefix))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        response = await self.inner.handle_async_request(request)
        if self.rewrite is None or request.url.path != "/oauth/token" \
                or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(200, headers=headers, content=json.dumps(self.rewrite(body)))


def frozen(at: datetime, offset: list[float]) -> Callable[[], datetime]:
    """A clock standing at ``at`` + ``offset[0]`` seconds: only the test moves it."""
    return lambda: at + timedelta(seconds=offset[0])


def skewed(skew: list[float]) -> Callable[[], datetime]:
    """A clock running ``skew[0]`` seconds ahead of the real one."""
    return lambda: datetime.now(UTC) + timedelta(seconds=skew[0])


async def sign_in_without_browser(http: httpx.AsyncClient, app: OAuthApp = OAUTH_APP,
                                  origin: str = LOOPBACK) -> TokenSet:
    """The code flow with an auto-approving sandbox: authorize, then exchange the code."""
    authorized = await http.get(f"{origin}/oauth/authorize", params={
        "client_id": CLIENT_ID, "redirect_uri": app.redirect_uri, "state": "tokens-test"})
    assert authorized.status_code == 302, authorized.text
    code = parse_qs(urlsplit(authorized.headers["location"]).query)["code"][0]
    return await token_request(app, {"grant_type": "authorization_code", "code": code,
                                     "redirect_uri": app.redirect_uri}, http=http)


def api_config(transport: httpx.AsyncBaseTransport) -> ClientConfig:
    """The client on the in-process sandbox; no retries, so each failure shows at once."""
    return ClientConfig(base_url=LOOPBACK, transport=transport, retry=RetryPolicy.never())


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(name="sandbox_config")
def auto_approve_config() -> SandboxConfig:
    """Limits off; the sandbox approves each sign-in itself (no browser)."""
    return SandboxConfig(limits=LimitConfig(enabled=False),
                         oauth=OAuthConfig(auto_approve=True))


@pytest.fixture(name="sandbox_config")
def callback_config() -> SandboxConfig:
    """Limits off; the OAuth app registered with the callback ``signed_in`` uses."""
    return SandboxConfig(limits=LimitConfig(enabled=False),
                         oauth=OAuthConfig(redirect_uri=REDIRECT))


@pytest.fixture(name="app")
def loopback_app(store: Store, clock: Clock, sandbox_config: SandboxConfig) -> SandboxApp:
    """The sandbox served at ``LOOPBACK``, which the client accepts as an OAuth api_domain."""
    return create_app(store, clock=clock, base_url=LOOPBACK, config=sandbox_config)


@pytest.fixture(name="wire")
def recorder(app: SandboxApp) -> Recorder:
    return Recorder(app)


@pytest.fixture(name="http")
async def recorded_http(wire: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the OAuth server, through the recording transport."""
    async with httpx.AsyncClient(transport=wire) as client:
        yield client


@pytest.fixture(name="web")
async def loopback_web(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the sandbox's OAuth pages, at ``LOOPBACK``."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=LOOPBACK) as c:
        yield c


async def signed_in(web: httpx.AsyncClient, config: ClientConfig, scope: str, *,
                    say_scope: bool = True) -> PipedriveClient:
    """A session on an OAuth token granted ``scope`` (the code flow through ``web``);
    ``say_scope=False`` drops the scope from the token response, so the session does not
    know it."""
    answer = await exchange(web, await new_code(web, scope=scope))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    tokens = TokenSet(body["access_token"], body["refresh_token"],
                      datetime.now(UTC) + timedelta(seconds=body["expires_in"]),
                      body["api_domain"], body["scope"] if say_scope else "")
    auth = OAuthTokenProvider(OAuthApp(*CLIENT, oauth_url=LOOPBACK), tokens, http=web)
    return PipedriveClient(config, auth)
