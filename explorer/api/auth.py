"""Credentials come from a token provider; the client itself never stores a secret."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class TokenProvider(Protocol):
    """Where the client gets its credentials for each request.

    ``headers()`` is awaited before every request (an OAuth provider refreshes an access
    token that is about to expire here). After a 401 the client awaits ``on_unauthorized()``
    once per request: True means "I obtained fresh credentials, send it again", False means
    the 401 is final and ``Unauthorized`` is raised. Implementations keep the secret out of
    their ``repr``.
    """

    async def headers(self) -> dict[str, str]: ...

    async def on_unauthorized(self) -> bool: ...


class ApiTokenProvider:
    """A personal API token, sent as the ``x-api-token`` header (Pipedrive's apiKey scheme)."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        token = token.strip()
        if not token:
            raise ValueError("the API token is empty; copy it from Pipedrive's "
                             "Personal preferences → API")
        self._token = token

    async def headers(self) -> dict[str, str]:
        return {"x-api-token": self._token}

    async def on_unauthorized(self) -> bool:
        # A personal token cannot be refreshed: a 401 means it is wrong or was revoked.
        return False

    def __repr__(self) -> str:
        return "ApiTokenProvider(token=<hidden>)"

    __str__ = __repr__
