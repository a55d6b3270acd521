"""The field catalog reads the *Fields endpoint the session's OAuth scopes allow.

v2 ``/activityFields`` needs the ``admin`` scope; v1 ``/activityFields`` takes
``activities:read`` (official specs). The sandbox answers Pipedrive's 403 "Scope and URL
mismatch" to an OAuth token without the scope an operation needs.
"""

from __future__ import annotations

import httpx
import pytest

from explorer.api import ClientConfig, FieldCatalog
from explorer.api.errors import Forbidden
from explorer.api.resources import FieldsEndpoint
from explorer.sandbox.app import SandboxApp
from tests.api.tokens_sandbox import LOOPBACK, signed_in

from tests.api.tokens_sandbox import callback_config, loopback_app, loopback_web  # noqa: F401  # isort: skip (fixtures)

WITHOUT_ADMIN = "base,deals:read,activities:read,leads:read,contacts:read,products:read"


@pytest.fixture
def config(app: SandboxApp) -> ClientConfig:
    return ClientConfig(base_url=LOOPBACK, transport=httpx.ASGITransport(app=app))


async def test_without_admin_the_v1_activity_fields_are_read(
    web: httpx.AsyncClient, config: ClientConfig
) -> None:
    async with await signed_in(web, config, WITHOUT_ADMIN) as client:
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
    async with await signed_in(web, config, WITHOUT_ADMIN, say_scope=False) as client:
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
    async with await signed_in(web, config, f"{WITHOUT_ADMIN},admin") as client:
        catalog = FieldCatalog(client)
        assert await catalog.load("activities") == {}
        assert catalog["activities"].source is not None
        assert catalog["activities"].source.version == "v2"
        assert "v1 GET /activityFields" not in client.usage.requests
