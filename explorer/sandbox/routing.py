"""The operation registry: every route is declared with the spec operation it implements.

Routes are written once against the spec's own path template (``/deals/{id}``) and operation
id. The registry is what mounts them, what the conformance test walks, and (later) what the
limiter charges by ``x-token-cost``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
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
    """The sandbox's notion of now, which tests can move forward.

    Attributes:
        offset: added to the wall clock.
    """

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@dataclass
class Sandbox:
    """What every handler reaches through ``sandbox(request)``.

    Attributes:
        store: the data.
        clock: the time source for every timestamp the sandbox writes.
        tokens: API token → user id it authenticates.
        base_url: the URL the sandbox is served at, when known (for ``api_domain`` and links).
    """

    store: Store
    clock: Clock
    tokens: dict[str, int]
    base_url: str = "http://127.0.0.1"

    def me(self, request: Request) -> int:
        user_id: int = request.scope["state"]["user_id"]
        return user_id


def sandbox(request: Request) -> Sandbox:
    state: Sandbox = request.app.state.sandbox
    return state


def record_or_404(
    request: Request, collection: str, label: str, *, include_deleted: bool = False
) -> dict[str, Any]:
    """The record the path's ``{id}`` names; Pipedrive's 404 for an unknown or malformed id."""
    from explorer.sandbox.collections import COLLECTIONS
    from explorer.sandbox.http import not_found

    raw = str(request.path_params["id"])
    item_id: int | str
    try:
        item_id = str(UUID(raw)) if COLLECTIONS[collection].uuid_ids else int(raw)
    except ValueError:
        raise not_found(label) from None
    record = sandbox(request).store.get(collection, item_id, include_deleted=include_deleted)
    if record is None:
        raise not_found(label)
    return record
