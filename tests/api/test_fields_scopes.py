"""The field catalog reads the *Fields endpoint the session's OAuth scopes allow.

v2 ``/activityFields`` needs the ``admin`` scope; v1 ``/activityFields`` takes
``activities:read`` (official specs). The sandbox answers Pipedrive's 403 "Scope and URL
mismatch" to an OAuth token without the scope an operation needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from explorer.api import ClientConfig, FieldCatalog, PipedriveClient
from explorer.api.auth import OAuthTokenProvider
from explorer.api.errors import Forbidden
from explorer.api.oauth import OAuthApp, TokenSet
from explorer.api.resources import FieldsEndpoint
from explorer.sandbox.app import SandboxApp, create_app
from explorer.sandbox.config import LimitConfig, OAuthConfig, SandboxConfig
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store
from tests.sandbox.test_oauth import CLIENT, REDIRECT, exchange, new_code

# The sandbox at a loopback origin, which the client accepts as an OAuth api_domain.
LOOPBACK = "http://127.0.0.1:8765"
WITHOUT_ADMIN = "base,deals:read,activities:read,leads:read,contacts:read,products:read"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """The OAuth app registered with the callback the sign-in helpers use."""
    return SandboxConfig(limits=LimitConfig(enabled=False),
                         oauth=OAuthConfig(redirect_uri=REDIRECT))


@pytest.fixture
def app(store: Store, clock: Clock, sandbox_config: SandboxConfig) -> SandboxApp:
    return create_app(store, clock=clock, base_url=LOOPBACK, config=sandbox_config)


@pytest.fixture
def config(app: SandboxApp) -> ClientConfig:
    return ClientConfig(base_url=LOOPBACK, transport=httpx.ASGITransport(app=app))


@pytest.fixture
async def web(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=LOOPBACK) as c:
        yield c


async def oauth_client(web: httpx.AsyncClient, config: ClientConfig,
                       scope: str, *, say_scope: bool = True) -> PipedriveClient:
    """A session on an OAuth token granted ``scope``; ``say_scope=False`` drops the scope
    from the token response, so the session does not know it."""
    answer = await exchange(web, await new_code(web, scope=scope))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    tokens = TokenSet(body["access_token"], body["refresh_token"],
                      datetime.now(UTC) + timedelta(seconds=body["expires_in"]),
                      body["api_domain"], body["scope"] if say_scope else "")
    auth = OAuthTokenProvider(OAuthApp(*CLIENT, oauth_url=LOOPBACK), tokens, http=web)
    return PipedriveClient(config, auth)


async def test_without_admin_the_v1_activity_fields_are_read(
    web: httpx.AsyncClient, config: ClientConfig
) -> None:
    async with await oauth_client(web, config, WITHOUT_ADMIN) as client:
        assert client.granted_scopes is not None and "admin" not in client.granted_scopes
        catalog = FieldCatalog(client)
        assert await catalog.load() == {}
        assert catalog["activities"].source == FieldsEndpoint("v1", "/activityFields")
        assert catalog.field("activities", "Subject").key == "subject"
        assert "v2 GET /activityFields" not in client.usage.requests  # never asked: no 403


async def test_a_403_on_v2_activity_fields_falls_back_to_v1(
    web: httpx.AsyncClient, config: ClientConfig
) -> None:
    """When the scopes are unknown (a token response without ``scope``), v2 is tried first
    and its 403 sends the catalog to v1."""
    async with await oauth_client(web, config, WITHOUT_ADMIN, say_scope=False) as client:
        assert client.granted_scopes is None
        with pytest.raises(Forbidden, match="Scope and URL mismatch"):
            await client.request("GET", "v2", "/activityFields")
        catalog = FieldCatalog(client)
        assert await catalog.load("activities", "deals") == {}
        assert catalog["activities"].source == FieldsEndpoint("v1", "/activityFields")
        assert client.usage.requests["v2 GET /activityFields"] == 2
        assert client.usage.requests["v1 GET /activityFields"] == 1


async def test_with_admin_the_v2_activity_fields_are_read(
    web: httpx.AsyncClient, config: ClientConfig
) -> None:
    async with await oauth_client(web, config, f"{WITHOUT_ADMIN},admin") as client:
        catalog = FieldCatalog(client)
        assert await catalog.load("activities") == {}
        assert catalog["activities"].source is not None
        assert catalog["activities"].source.version == "v2"
        assert "v1 GET /activityFields" not in client.usage.requests
