"""The sandbox-only admin endpoints under ``/_sandbox`` (a prefix Pipedrive does not use).

Every route needs the sandbox's API token (``x-api-token`` or ``Authorization: Bearer``).
Successes answer plain JSON objects; errors Pipedrive's error envelope. Fault injection never
applies here, so tests can always reach these routes.
"""

from __future__ import annotations

import dataclasses
import hmac
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from explorer.sandbox.config import (
    DAILY_MESSAGE_MODES,
    FAULT_KINDS,
    PLANS,
    SEARCH_HEADER_MODES,
    AuthKind,
    FaultRule,
    LimitConfig,
    server_zone,
)
from explorer.sandbox.faults import validate_rule
from explorer.sandbox.http import JSON, ApiProblem, bad_request, json_body, shown
from explorer.sandbox.routing import Sandbox

AdminHandler = Callable[[Request, Sandbox], Awaitable[Response]]

AUTH_HINT = ("The /_sandbox admin endpoints need the sandbox's API token, sent as the "
             "x-api-token header or as 'Authorization: Bearer <token>'.")


def _authorized(request: Request, state: Sandbox) -> bool:
    token = request.headers.get("x-api-token")
    if not token:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    return any(hmac.compare_digest(token.encode(), known.encode()) for known in state.tokens)


def _admin(handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state: Sandbox = request.app.state.sandbox
        if not _authorized(request, state):
            return ApiProblem(401, "unauthorized access", AUTH_HINT).response()
        try:
            return await handler(request, state)
        except ApiProblem as problem:
            return problem.response()

    endpoint.__name__ = handler.__name__
    return endpoint


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Upper bounds of the settings: beyond them a value is a typo, and some (a clock moved past
# year 9999, a wait of 1e300 s) would break the sandbox rather than test a client.
MAX_ADVANCE_SECONDS = 10 * 366 * 86_400  # ten years
CLOCK_LIMIT = datetime(9000, 1, 1, tzinfo=UTC)
MAXIMUM: dict[str, tuple[float, str]] = {
    "advance_seconds": (MAX_ADVANCE_SECONDS, " (ten years)"),
    "block_seconds": (86_400, " (a day)"),
    "latency_ms": (600_000, " (ten minutes)"),
    "jitter_ms": (600_000, " (ten minutes)"),
    "hang_seconds": (3_600, " (an hour)"),
    "count": (1_000_000_000, ""),
    "seats": (100_000, ""),
    "budget": (1_000_000_000_000, ""),
    "top_up": (1_000_000_000_000, ""),
    "block_after": (1_000_000, ""),
}


def _number(body: JSON, key: str, *, minimum: float = 0.0) -> float:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_request(f"'{key}' must be a number, got {_shown(value)}")
    if value < minimum:
        raise bad_request(f"'{key}' must be at least {minimum:g}, got {_shown(value)}")
    _at_most(key, value)
    return float(value)


def _integer(body: JSON, key: str, *, minimum: int) -> int:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"'{key}' must be an integer, got {_shown(value)}")
    if value < minimum:
        raise bad_request(f"'{key}' must be at least {minimum}, got {_shown(value)}")
    _at_most(key, value)
    return value


def _at_most(key: str, value: float) -> None:
    maximum, note = MAXIMUM.get(key, (math.inf, ""))
    if value > maximum:
        raise bad_request(f"'{key}' must be at most {maximum:.0f}{note}, got {_shown(value)}")


def _shown(value: Any) -> str:
    return shown(repr(value))


def _unknown_keys(body: JSON, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bad_request(f"Unknown field(s): {', '.join(unknown)}",
                          f"Allowed fields: {', '.join(sorted(allowed))}.")


# ---------------------------------------------------------------------- stats


async def get_stats(request: Request, state: Sandbox) -> Response:
    return JSONResponse({"stats": state.stats.snapshot(), "limits": state.limiter.snapshot()})


async def reset_stats(request: Request, state: Sandbox) -> Response:
    state.stats.reset()
    return JSONResponse({"stats": state.stats.snapshot()})


# ---------------------------------------------------------------------- faults

_RULE_FIELDS = {f.name for f in dataclasses.fields(FaultRule)}


def rule_from_json(body: JSON) -> FaultRule:
    """A fault rule from the admin endpoint's JSON; 400 with what to fix otherwise."""
    _unknown_keys(body, _RULE_FIELDS)
    kind = body.get("kind")
    if kind not in FAULT_KINDS:
        raise bad_request(f"Unknown fault kind {kind!r}",
                          f"'kind' must be one of {', '.join(FAULT_KINDS)}.")
    values: dict[str, Any] = {"kind": kind}
    for key in ("probability", "latency_ms", "jitter_ms", "hang_seconds"):
        if body.get(key) is not None:
            values[key] = _number(body, key)
    if body.get("count") is not None:
        values["count"] = _integer(body, "count", minimum=1)
    for key in ("method", "path"):
        if body.get(key) is not None:
            if not isinstance(body[key], str) or not body[key]:
                raise bad_request(f"'{key}' must be a non-empty string")
            values[key] = body[key].upper() if key == "method" else body[key]
    rule = FaultRule(**values)
    try:
        validate_rule(rule)
    except ValueError as exc:
        raise bad_request(f"Invalid fault rule: {exc}",
                          "See the README's sandbox section, 'Admin endpoint'.") from None
    return rule


async def list_faults(request: Request, state: Sandbox) -> Response:
    return JSONResponse({"rules": state.faults.rules(), "seed": state.faults.config.seed})


async def add_fault(request: Request, state: Sandbox) -> Response:
    rule = rule_from_json(await json_body(request))
    return JSONResponse({"id": state.faults.add(rule)}, status_code=201)


async def clear_faults(request: Request, state: Sandbox) -> Response:
    return JSONResponse({"removed": state.faults.clear()})


async def remove_fault(request: Request, state: Sandbox) -> Response:
    rule_id: int = request.path_params["id"]
    if not state.faults.remove(rule_id):
        raise ApiProblem(404, f"Fault rule {rule_id} not found",
                         "It was removed or used up; GET /_sandbox/faults lists the active rules.")
    return JSONResponse({"removed": 1})


# ---------------------------------------------------------------------- clock


def _clock_json(state: Sandbox) -> JSON:
    return {"now": _rfc3339(state.clock.now()), "frozen": state.clock.frozen,
            "offset_seconds": state.clock.offset.total_seconds()}


async def get_clock(request: Request, state: Sandbox) -> Response:
    return JSONResponse(_clock_json(state))


async def advance_clock(request: Request, state: Sandbox) -> Response:
    body = await json_body(request)
    _unknown_keys(body, {"advance_seconds"})
    if "advance_seconds" not in body:
        raise bad_request("'advance_seconds' is required",
                          "Send {\"advance_seconds\": N} to move the sandbox clock N seconds on.")
    # Rate-limit windows rely on a clock that never goes back.
    seconds = _number(body, "advance_seconds")
    if state.clock.now() + timedelta(seconds=seconds) >= CLOCK_LIMIT:
        raise bad_request(f"'advance_seconds' would move the sandbox clock past "
                          f"{_rfc3339(CLOCK_LIMIT)}",
                          "Restart the sandbox to start its clock afresh.")
    state.clock.advance(seconds)
    return JSONResponse(_clock_json(state))


# ---------------------------------------------------------------------- limits

_LIMIT_FIELDS = {f.name for f in dataclasses.fields(LimitConfig)}


# The limit settings that take one of a few words, and those words.
_LIMIT_CHOICES: dict[str, tuple[str, ...]] = {
    "plan": PLANS, "auth_kind": get_args(AuthKind), "search_headers": SEARCH_HEADER_MODES,
    "daily_message": DAILY_MESSAGE_MODES,
}


def _limit_changes(body: JSON) -> dict[str, Any]:
    _unknown_keys(body, _LIMIT_FIELDS)
    changes: dict[str, Any] = {}
    for key in body:
        value = body[key]
        if key in ("enabled", "retry_after", "success_headers", "daily_headers"):
            if not isinstance(value, bool):
                raise bad_request(f"'{key}' must be true or false, got {value!r}")
            changes[key] = value
        elif key in _LIMIT_CHOICES:
            if value not in _LIMIT_CHOICES[key]:
                raise bad_request(f"'{key}' must be one of {', '.join(_LIMIT_CHOICES[key])}, "
                                  f"got {_shown(value)}")
            changes[key] = value
        elif key == "server_timezone":
            if not isinstance(value, str):
                raise bad_request(f"'server_timezone' must be a string, got {_shown(value)}")
            try:
                server_zone(value)
            except ValueError as exc:
                raise bad_request(f"'server_timezone': {exc}") from None
            changes[key] = value
        elif key == "budget" and value is None:
            changes[key] = None  # back to 30,000 × multiplier × seats
        elif key == "block_seconds":
            changes[key] = _number(body, key)
        else:
            changes[key] = _integer(body, key, minimum=1 if key == "seats" else 0)
    return changes


async def get_limits(request: Request, state: Sandbox) -> Response:
    return JSONResponse(dataclasses.asdict(state.limiter.config))


async def patch_limits(request: Request, state: Sandbox) -> Response:
    # The limiter's config is the one in force (Sandbox.authenticate reads auth_kind there).
    changes = _limit_changes(await json_body(request))
    limits = dataclasses.replace(state.limiter.config, **changes)
    state.limiter.reconfigure(limits)
    return JSONResponse(dataclasses.asdict(limits))


async def reset_limits(request: Request, state: Sandbox) -> Response:
    state.limiter.reset()
    return JSONResponse({"limits": state.limiter.snapshot()})


def admin_routes() -> list[BaseRoute]:
    """The routes, to be mounted at ``/_sandbox``."""
    return [
        Route("/stats", _admin(get_stats), methods=["GET"]),
        Route("/stats/reset", _admin(reset_stats), methods=["POST"]),
        Route("/faults", _admin(list_faults), methods=["GET"]),
        Route("/faults", _admin(add_fault), methods=["POST"]),
        Route("/faults", _admin(clear_faults), methods=["DELETE"]),
        Route("/faults/{id:int}", _admin(remove_fault), methods=["DELETE"]),
        Route("/clock", _admin(get_clock), methods=["GET"]),
        Route("/clock", _admin(advance_clock), methods=["POST"]),
        Route("/limits", _admin(get_limits), methods=["GET"]),
        Route("/limits", _admin(patch_limits), methods=["PATCH"]),
        Route("/limits/reset", _admin(reset_limits), methods=["POST"]),
    ]
