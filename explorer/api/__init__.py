"""Async Pipedrive client (httpx): auth, v1/v2 routing, paging, rate governor, errors."""

from explorer.api.auth import ApiTokenProvider, OAuthTokenProvider, TokenProvider
from explorer.api.client import PipedriveClient
from explorer.api.config import ClientConfig, RetryPolicy, Timeouts
from explorer.api.fields import Field, FieldCatalog
from explorer.api.governor import RateGovernor
from explorer.api.names import NameCache
from explorer.api.oauth import OAuthApp, TokenSet, sign_in
from explorer.api.pages import Page, PageHandle
from explorer.api.ratelimit import Governor, NullGovernor, RateSnapshot, UsageCounter
from explorer.api.related import RELATED, RelatedList, related_list
from explorer.api.resources import RESOURCES, Resource, resource
from explorer.api.responses import Envelope
from explorer.api.search import SearchResult

__all__ = [
    "RELATED",
    "RESOURCES",
    "ApiTokenProvider",
    "ClientConfig",
    "Envelope",
    "Field",
    "FieldCatalog",
    "Governor",
    "NameCache",
    "NullGovernor",
    "OAuthApp",
    "OAuthTokenProvider",
    "Page",
    "PageHandle",
    "PipedriveClient",
    "RateGovernor",
    "RateSnapshot",
    "RelatedList",
    "Resource",
    "RetryPolicy",
    "SearchResult",
    "Timeouts",
    "TokenProvider",
    "TokenSet",
    "UsageCounter",
    "related_list",
    "resource",
    "sign_in",
]
