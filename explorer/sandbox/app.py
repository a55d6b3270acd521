"""The sandbox's Starlette application: mounts every registered operation behind auth."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from explorer.sandbox.http import ApiProblem, unauthorized
from explorer.sandbox.routes import ROUTERS
from explorer.sandbox.routing import Clock, Handler, Operation, Sandbox
from explorer.sandbox.search import keep_fresh
from explorer.sandbox.store import Store

DEFAULT_TOKEN = "sandbox-token-0123456789abcdef"


def operations() -> list[Operation]:
    """Every implemented operation, in registration order."""
    return [op for router in ROUTERS for op in router.operations]


def token_of(request: Request) -> str | None:
    """The credential of a request: ``x-api-token``, ``api_token`` query, or a Bearer token."""
    token = request.headers.get("x-api-token") or request.query_params.get("api_token")
    if token:
        return token
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def _endpoint(op: Operation) -> Handler:
    async def endpoint(request: Request) -> Response:
        state: Sandbox = request.app.state.sandbox
        token = token_of(request)
        user_id = state.tokens.get(token) if token else None
        if user_id is None:
            return unauthorized()
        request.scope.setdefault("state", {})["user_id"] = user_id
        request.scope["state"]["operation"] = op
        try:
            return await op.handler(request)
        except ApiProblem as problem:
            return problem.response()

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


def create_app(
    store: Store,
    *,
    token: str = DEFAULT_TOKEN,
    clock: Clock | None = None,
    base_url: str = "http://127.0.0.1",
) -> Starlette:
    """The ASGI app serving ``store``; usable in-process (httpx ``ASGITransport``) or by uvicorn.

    ``token`` authenticates as the account's admin user, the one ``/users/me`` returns.
    """
    keep_fresh(store)
    me = int(store.get_meta("me_user_id") or 1)
    state = Sandbox(store=store, clock=clock or Clock(), tokens={token: me}, base_url=base_url)
    app = Starlette(
        routes=build_routes(operations()),
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.sandbox = state
    return app
