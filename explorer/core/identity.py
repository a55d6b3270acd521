"""Whose a token is: the company and user ``GET /api/v1/users/me`` names, asked before an
account is saved, and what to tell the user when the check fails.

``parse_company`` turns what the user typed (a company domain, a Pipedrive address or the URL
of a compatible server) into the API origin; ``check_token`` asks the server (with an API
token or a provider); ``sign_in_and_check`` runs the OAuth sign-in first; ``Identity`` is the
answer; ``describe_check_failure`` the message for a failure (never the token).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import httpx

from explorer.api import (
    ApiTokenProvider,
    ClientConfig,
    OAuthApp,
    OAuthTokenProvider,
    PipedriveClient,
    TokenProvider,
    TokenSet,
    sign_in,
)
from explorer.api.errors import (
    ApiError,
    AuthorizationFailed,
    Blocked,
    InvalidValue,
    PipedriveError,
    RateLimited,
    TransportError,
    Unauthorized,
)
from explorer.api.loopback import LOOPBACK_HOSTS
from explorer.api.oauth import OpenUrl
from explorer.core.accounts import Account

TOKEN_HELP = "Find it in Pipedrive under Settings → Personal preferences → API."
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def parse_company(text: str) -> tuple[str, str | None]:
    """The API origin and company domain for what the user typed: ``acme``,
    ``acme.pipedrive.com``, ``https://acme.pipedrive.com/…``, or the URL of a
    Pipedrive-compatible server (``http://127.0.0.1:8765``; no company domain). Raises
    ``ValueError`` with a message saying what to type."""
    text = text.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("The server address must start with https:// (or http://) and "
                             "name a host, e.g. https://acme.pipedrive.com.")
        host = parts.hostname.lower()
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
            # The token travels in every request's header: over plain http anyone on the
            # way could read it. Loopback (a sandbox on this machine) never leaves it.
            raise ValueError(f"{origin} is not encrypted: the API token would be readable on "
                             "the network. Use https:// (plain http:// only for a server on "
                             "this machine, such as the sandbox at http://127.0.0.1:8765).")
        if host.endswith(".pipedrive.com") and host.count(".") == 2:
            return origin, host.split(".")[0]
        return origin, None
    domain = text.lower().removesuffix(".pipedrive.com")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError("Type the company domain: the part before .pipedrive.com in your "
                         "Pipedrive address (acme for acme.pipedrive.com).")
    return f"https://{domain}.pipedrive.com", domain


@dataclass(frozen=True)
class Identity:
    """Whose a token is, from ``/users/me``.

    Attributes:
        company_name, company_domain: the company the token opens.
        user_name, user_email: the user it belongs to.
    """

    company_name: str
    company_domain: str | None
    user_name: str
    user_email: str | None

    @property
    def user(self) -> str:
        return f"{self.user_name} <{self.user_email}>" if self.user_email else self.user_name

    def describe(self) -> str:
        return f"{self.company_name} — {self.user}"


async def check_token(base_url: str, token: str | TokenProvider, *,
                      transport: httpx.AsyncBaseTransport | None = None) -> Identity:
    """Ask ``GET /api/v1/users/me`` whose ``token`` (an API token or a provider) is. Raises
    the client's errors (``Unauthorized`` for a refused token, ``InvalidValue`` for a
    malformed one, ``TransportError`` when the server cannot be reached)."""
    provider = ApiTokenProvider(token) if isinstance(token, str) else token
    client = PipedriveClient(ClientConfig(base_url=base_url, transport=transport), provider)
    client.connect()
    try:
        envelope = await client.request("GET", "v1", "/users/me")
    finally:
        await client.aclose()
    data = envelope.data if isinstance(envelope.data, dict) else {}
    return Identity(company_name=str(data.get("company_name") or "?"),
                    company_domain=data.get("company_domain"),
                    user_name=str(data.get("name") or "?"),
                    user_email=data.get("email"))


async def sign_in_and_check(app: OAuthApp, open_url: OpenUrl, *,
                            transport: httpx.AsyncBaseTransport | None = None,
                            ) -> tuple[TokenSet, Identity]:
    """Sign in with Pipedrive in the browser (OAuth), then ask whose account it opened. The
    tokens are the newest: a refresh during the check rotates them."""
    tokens = await sign_in(app, open_url)
    kept = [tokens]

    async def rotated(new: TokenSet) -> None:
        kept[0] = new

    provider = OAuthTokenProvider(app, tokens, on_tokens=rotated)
    identity = await check_token(tokens.api_domain, provider, transport=transport)
    return kept[0], identity


def with_identity(account: Account, identity: Identity) -> Account:
    """``account`` with the company domain the check reported, when it had none and its
    server is Pipedrive's (a compatible server's records do not open on pipedrive.com)."""
    host = urlsplit(account.base_url).hostname or ""
    if account.company_domain or not identity.company_domain or \
            not host.endswith(".pipedrive.com"):
        return account
    return replace(account, company_domain=identity.company_domain)


def describe_check_failure(exc: BaseException, base_url: str) -> str:
    """What to tell the user when a token check failed (never the token)."""
    if isinstance(exc, AuthorizationFailed):
        return f"The sign-in did not complete: {exc}"
    if isinstance(exc, Unauthorized):
        return f"Pipedrive refused this API token. Copy it again: {TOKEN_HELP}"
    if isinstance(exc, InvalidValue):
        return f"{exc} {TOKEN_HELP}"
    if isinstance(exc, TransportError):
        return (f"Cannot reach {base_url}. Check the company domain and your internet "
                "connection, then try again.")
    if isinstance(exc, Blocked | RateLimited):
        return f"Pipedrive is holding requests back: {exc}"
    if isinstance(exc, ApiError):
        return (f"{base_url} answered with an error ({exc}). Is this the right company "
                "domain?")
    if isinstance(exc, PipedriveError):
        return str(exc)
    return f"The check failed: {type(exc).__name__}"
