"""Async Pipedrive client (httpx): auth, v1/v2 routing, paging, rate governor, errors."""

from explorer.api.auth import ApiTokenProvider, OAuthTokenProvider, TokenProvider
from explorer.api.client import PipedriveClient
from explorer.api.config import ClientConfig, RetryPolicy, Timeouts
from explorer.api.fields import Field, FieldCatalog
from explorer.api.governor import RateGovernor
from explorer.api.oauth import OAuthApp, TokenSet, sign_in
from explorer.api.ratelimit import Governor, NullGovernor, RateSnapshot, UsageCounter
from explorer.api.resources import RESOURCES, Resource, resource
from explorer.api.responses import Envelope

__all__ = [
    "RESOURCES",
    "ApiTokenProvider",
    "ClientConfig",
    "Envelope",
    "Field",
    "FieldCatalog",
    "Governor",
    "NullGovernor",
    "OAuthApp",
    "OAuthTokenProvider",
    "PipedriveClient",
    "RateGovernor",
    "RateSnapshot",
    "Resource",
    "RetryPolicy",
    "Timeouts",
    "TokenProvider",
    "TokenSet",
    "UsageCounter",
    "resource",
    "sign_in",
]
