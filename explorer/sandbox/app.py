"""The sandbox's ASGI application: every registered operation behind auth and the limiter,
the OAuth emulation, the ``/_sandbox`` admin endpoints, and fault injection around it all."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from explorer.sandbox.admin import admin_routes
from explorer.sandbox.config import SandboxConfig
from explorer.sandbox.faults import FaultInjector
from explorer.sandbox.http import ApiProblem, unauthorized
from explorer.sandbox.limits import Limiter
from explorer.sandbox.oauth import OAuthServer
from explorer.sandbox.routes import ROUTERS
from explorer.sandbox.routing import Clock, Handler, Operation, Sandbox
from explorer.sandbox.search import keep_fresh
from explorer.sandbox.stats import Stats
from explorer.sandbox.store import Store

DEFAULT_TOKEN = "sandbox-token-0123456789abcdef"


def operations() -> list[Operation]:
    """Every implemented operation, in registration order."""
    return [op for router in ROUTERS for op in router.operations]


def credential_of(request: Request) -> tuple[str | None, bool]:
    """A request's credential (``x-api-token``, ``api_token`` query, or Bearer) and whether
    it came as a Bearer token."""
    token = request.headers.get("x-api-token") or request.query_params.get("api_token")
    if token:
        return token, False
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None, True
    return None, False


def _endpoint(op: Operation) -> Handler:
    async def endpoint(request: Request) -> Response:
        state: Sandbox = request.app.state.sandbox
        token, bearer = credential_of(request)
        principal = state.authenticate(token, bearer=bearer)
        if principal is None:
            state.stats.statuses[401] += 1
            return unauthorized()
        request.scope.setdefault("state", {})["user_id"] = principal.user_id
        request.scope["state"]["operation"] = op
        state.stats.requests[op.operation_id] += 1
        response = state.limiter.admit(principal, op)
        if response is None:
            try:
                response = await op.handler(request)
            except ApiProblem as problem:
                response = problem.response()
            state.limiter.stamp(principal, op, response)
        state.stats.statuses[response.status_code] += 1
        return response

    endpoint.__name__ = op.operation_id
    return endpoint


def _static_first(op: Operation) -> tuple[int, str]:
    # "/deals/search" must be tried before "/deals/{id}".
    return (op.path.count("{"), op.path)


def build_routes(ops: list[Operation]) -> list[BaseRoute]:
    by_version: dict[str, list[BaseRoute]] = {"v1": [], "v2": []}
    for op in sorted(ops, key=_static_first):
        by_version[op.version].append(Route(op.path, _endpoint(op), methods=[op.method]))
    return [
        Mount("/api/v2", routes=by_version["v2"]),
        Mount("/api/v1", routes=by_version["v1"]),
        Mount("/v1", routes=by_version["v1"]),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return ApiProblem(405, "Method not allowed",
                          f"{request.method} is not supported on {request.url.path}.").response()
    if exc.status_code == 404:
        return ApiProblem(404, "Unknown method .",
                          f"No API operation at {request.url.path}.").response()
    return ApiProblem(exc.status_code, str(exc.detail)).response()


async def _server_error(request: Request, exc: Exception) -> Response:
    # A bug in the sandbox still answers in Pipedrive's envelope, so clients see a clean 500.
    body: dict[str, Any] = {"success": False, "error": "Internal server error",
                            "error_info": f"{type(exc).__name__} in the sandbox",
                            "data": None, "additional_data": None}
    return Response(json.dumps(body), status_code=500, media_type="application/json")


class SandboxApp:
    """The sandbox as one ASGI callable: fault injection wrapped around the Starlette app.

    Attributes:
        state: the ``Sandbox`` every handler sees (store, clock, limiter, stats, …).
        starlette: the routed application inside the fault injector.
    """

    def __init__(self, state: Sandbox, starlette: Starlette) -> None:
        self.state = state
        self.starlette = starlette
        self._asgi = state.faults.wrap(starlette)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)


def create_app(
    store: Store,
    *,
    token: str = DEFAULT_TOKEN,
    clock: Clock | None = None,
    base_url: str = "http://127.0.0.1",
    config: SandboxConfig | None = None,
) -> SandboxApp:
    """The ASGI app serving ``store``; usable in-process (httpx ``ASGITransport``) or by uvicorn.

    ``token`` authenticates as the account's admin user, the one ``/users/me`` returns.
    ``config`` sets limits, OAuth and faults (default: Pipedrive's growth plan, no faults).
    """
    keep_fresh(store)
    config = config or SandboxConfig()
    clock = clock or Clock()
    stats = Stats()
    me = int(store.get_meta("me_user_id") or 1)
    state = Sandbox(
        store=store,
        clock=clock,
        tokens={token: me},
        config=config,
        stats=stats,
        limiter=Limiter(config.limits, clock, stats),
        oauth=OAuthServer(config.oauth, clock, user_id=me, base_url=base_url),
        faults=FaultInjector(config.faults, clock, stats),
        base_url=base_url,
    )
    starlette = Starlette(
        routes=[
            *build_routes(operations()),
            Mount("/oauth", routes=state.oauth.routes()),
            Mount("/_sandbox", routes=admin_routes()),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    starlette.state.sandbox = state
    return SandboxApp(state, starlette)
