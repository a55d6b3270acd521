"""The operation registry: every route is declared with the spec operation it implements.

Routes are written once against the spec's own path template (``/deals/{id}``) and operation
id. The registry is what mounts them, what the conformance test walks, and (later) what the
limiter charges by ``x-token-cost``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from explorer.sandbox.config import AuthKind, SandboxConfig
from explorer.sandbox.http import ApiProblem
from explorer.sandbox.stats import Stats

if TYPE_CHECKING:
    from explorer.sandbox.faults import FaultInjector
    from explorer.sandbox.limits import Limiter
    from explorer.sandbox.oauth import OAuthServer
    from explorer.sandbox.store import Store

Handler = Callable[[Request], Awaitable[Response]]
Version = Literal["v1", "v2"]


@dataclass(frozen=True)
class Operation:
    """One implemented API operation.

    Attributes:
        version: ``v1`` (served under ``/api/v1`` and ``/v1``) or ``v2`` (``/api/v2``).
        method: HTTP method.
        path: the spec's path template, relative to the version prefix.
        operation_id: the spec's ``operationId``.
        handler: the coroutine answering it.
    """

    version: Version
    method: str
    path: str
    operation_id: str
    handler: Handler


@dataclass
class Router:
    """Collects a module's operations; ``route`` is the decorator that declares one."""

    version: Version
    operations: list[Operation] = field(default_factory=list)

    def route(self, method: str, path: str, operation_id: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.operations.append(Operation(self.version, method, path, operation_id, handler))
            return handler

        return register


class Clock:
    """The sandbox's notion of time, which tests can move forward.

    ``now()`` stamps records and decides the daily-budget day; ``monotonic()`` times the
    rolling rate-limit windows. A clock made with ``frozen_at`` stands still until
    ``advance()`` moves it, so tests can place requests at exact instants.

    Attributes:
        offset: how far the clock has been advanced.
    """

    def __init__(self, *, frozen_at: datetime | None = None) -> None:
        self.offset = timedelta()
        self._frozen_at = frozen_at

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> datetime:
        return (self._frozen_at or datetime.now(UTC)) + self.offset

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (frozen clocks: only ``advance`` moves it)."""
        base = 0.0 if self._frozen_at is not None else time.monotonic()
        return base + self.offset.total_seconds()

    def advance(self, delta: timedelta | float) -> None:
        self.offset += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)


@dataclass(frozen=True)
class Principal:
    """Who a request authenticated as.

    Attributes:
        user_id: the Pipedrive user.
        kind: ``token`` (API token) or ``oauth`` (Bearer access token).
        key: a stable, non-secret key of the credential, for per-token counters.
    """

    user_id: int
    kind: AuthKind
    key: str


@dataclass
class Sandbox:
    """What every handler reaches through ``sandbox(request)``.

    Attributes:
        store: the data.
        clock: the time source for every timestamp the sandbox writes.
        tokens: API token → user id it authenticates.
        config: limits, OAuth and fault settings it was started with.
        stats: what it has counted.
        limiter: enforces Pipedrive's limits (``limits.py``).
        oauth: the OAuth emulation (``oauth.py``).
        faults: the fault injector (``faults.py``).
        base_url: the URL the sandbox is served at, when known (for ``api_domain`` and links).
    """

    store: Store
    clock: Clock
    tokens: dict[str, int]
    config: SandboxConfig
    stats: Stats
    limiter: Limiter
    oauth: OAuthServer
    faults: FaultInjector
    base_url: str = "http://127.0.0.1"

    def authenticate(self, token: str | None, *, bearer: bool) -> Principal | None:
        """The principal a credential authenticates, or None (answered with a 401)."""
        if not token:
            return None
        key = hashlib.sha256(token.encode()).hexdigest()[:16]
        user_id = self.tokens.get(token)
        if user_id is not None:
            return Principal(user_id, self.limiter.config.auth_kind, key)
        if bearer:
            user_id = self.oauth.user_for_access_token(token)
            if user_id is not None:
                return Principal(user_id, "oauth", key)
        return None

    def me(self, request: Request) -> int:
        user_id: int = request.scope["state"]["user_id"]
        return user_id


def sandbox(request: Request) -> Sandbox:
    state: Sandbox = request.app.state.sandbox
    return state


class ScopeMismatch(ApiProblem):
    """Pipedrive's answer to an OAuth token without the operation's scope: 403, JSON,
    ``{"success": false, "error": "Scope and URL mismatch", "errorCode": 403, …}``."""

    def body(self) -> dict[str, Any]:
        return {**super().body(), "errorCode": 403}


def granted_scopes(request: Request) -> frozenset[str] | None:
    """The scopes of the OAuth access token a request carries; None for an API token, which
    has full access (Pipedrive's API tokens carry every permission of their user)."""
    if request.headers.get("x-api-token") or request.query_params.get("api_token"):
        return None
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    sb = sandbox(request)
    if not token or token in sb.tokens:
        return None
    from explorer.sandbox.oauth import _digest

    # The grant behind the token (OAuthServer keeps them by digest; a read-only look-up).
    grant = sb.oauth._access.get(_digest(token))
    if grant is None:
        return frozenset()
    return frozenset(s.strip() for s in grant.scope.split(",") if s.strip())


def require_scope(request: Request, *any_of: str) -> None:
    """Pipedrive's 403 for an OAuth token whose scope has none of ``any_of`` (the spec's
    ``security`` scopes of the operation); API tokens always pass."""
    scopes = granted_scopes(request)
    if scopes is None or scopes & set(any_of):
        return
    raise ScopeMismatch(403, "Scope and URL mismatch",
                        f"This operation needs the OAuth scope {' or '.join(any_of)}; "
                        "add it to the app's scopes and authorize again.")


def record_or_404(
    request: Request, collection: str, label: str, *, include_deleted: bool = False
) -> dict[str, Any]:
    """The record the path's ``{id}`` names; Pipedrive's 404 for an unknown or malformed id."""
    from explorer.sandbox.collections import COLLECTIONS
    from explorer.sandbox.http import is_int64, not_found

    raw = str(request.path_params["id"])
    item_id: int | str
    try:
        item_id = str(UUID(raw)) if COLLECTIONS[collection].uuid_ids else int(raw)
    except ValueError:
        raise not_found(label) from None
    if isinstance(item_id, int) and not is_int64(item_id):
        raise not_found(label)
    record = sandbox(request).store.get(collection, item_id, include_deleted=include_deleted)
    if record is None:
        raise not_found(label)
    return record
