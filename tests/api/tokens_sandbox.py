"""The OAuth side of the sandbox in process, for the token tests: an app whose OAuth server
is the sandbox on a loopback origin, sign-in without a browser (auto-approve), and a
transport that records what left (and can rewrite token answers the sandbox would never
give)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from explorer.api import ClientConfig, RetryPolicy
from explorer.api.oauth import OAuthApp, TokenSet, token_request
from explorer.sandbox.config import OAuthConfig

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
