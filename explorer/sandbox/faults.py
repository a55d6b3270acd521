"""Fault injection: ASGI middleware around the whole sandbox that delays, fails or cuts requests.

Rules (``config.FaultRule``) are kept in the order they were added, each with an id. For every
HTTP request outside ``/_sandbox`` the injector walks the rules whose ``method`` and ``path``
(``fnmatch`` on the URL path, so ``*`` also spans ``/``) match: a ``probability`` rule fires on a
draw from one ``random.Random(seed)`` — the same request sequence gives the same faults — and a
``count`` rule fires on the next N matching requests, then is used up. Latency rules add up; of
the other kinds the first that fires decides the request (later rules are then not drawn).

What a client sees, by kind:

- ``latency``: the normal response after ``latency_ms`` + uniform(0, ``jitter_ms``).
- ``error_500``: Pipedrive's JSON error envelope; ``error_502`` / ``error_503``: an HTML page
  as the proxy in front of Pipedrive sends it. The request is not applied.
- ``drop``: the request is applied and the response starts (status, headers, the first half
  of the body), then the connection is cut. httpx raises ``RemoteProtocolError`` ("peer closed
  connection without sending complete message body").
- ``lost``: "applied, then lost" — the request is applied (a write is committed) but no byte
  of the response is sent before the connection is cut. httpx raises ``RemoteProtocolError``
  ("Server disconnected without sending a response."); the next read shows the write.
- ``hang``: nothing is sent and the request is not applied. On a real connection the client's
  own timeout fires (httpx ``ReadTimeout``); the sandbox gives up after ``hang_seconds`` (or
  as soon as the client goes away) and closes the connection.

How a connection is cut. Under uvicorn the injector closes the connection's transport (found
on uvicorn's ``send``) and waits for the disconnect: bytes already sent are flushed, then the
client sees a clean FIN, and uvicorn — which sees a disconnected cycle — neither logs an error
nor sends anything. Raising instead would not do: uvicorn answers an exception raised before
the response started with its own ``500 Internal Server Error`` (wrong for ``lost``) and logs
every exception with a traceback. In process, with httpx's ``ASGITransport``, there is no
connection: the injector raises ``ConnectionCut``, a subclass of httpx's ``RemoteProtocolError``,
so the client sees the same exception class as on a real connection. ``ASGITransport`` enforces
no timeouts, so in process the sandbox plays the client's timer for ``hang``: after
``hang_seconds`` the request fails with ``HangTimeout`` (an httpx ``ReadTimeout``), as it would
on a real connection whose client timeout is shorter than ``hang_seconds``; a cancelled request
(``asyncio.timeout`` around it) stops the hang at once.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from explorer.sandbox.config import FAULT_KINDS, FaultConfig, FaultRule
from explorer.sandbox.http import ApiProblem
from explorer.sandbox.routing import Clock
from explorer.sandbox.stats import Stats

ADMIN_PREFIX = "/_sandbox"
DISCONNECT_WAIT = 5.0  # seconds to wait for uvicorn to notice a connection we closed


class ConnectionCut(httpx.RemoteProtocolError):
    """Raised in process (no real connection) where a fault cuts the connection."""


class HangTimeout(httpx.ReadTimeout):
    """Raised in process when a ``hang`` fault outlasts its ``hang_seconds``."""


FAULT_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")  # what the API answers


def validate_rule(rule: FaultRule) -> None:
    """Raise ``ValueError`` (with what to fix) for a rule that cannot work."""
    if rule.kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {rule.kind!r}; use one of {', '.join(FAULT_KINDS)}")
    if (rule.probability is None) == (rule.count is None):
        raise ValueError("a fault rule needs exactly one of probability or count")
    if rule.probability is not None and not 0.0 <= rule.probability <= 1.0:
        raise ValueError(f"probability must be between 0 and 1, got {rule.probability}")
    if rule.count is not None and rule.count < 1:
        raise ValueError(f"count must be at least 1, got {rule.count}")
    for name in ("latency_ms", "jitter_ms"):
        if getattr(rule, name) < 0:
            raise ValueError(f"{name} must not be negative")
    if rule.hang_seconds <= 0:
        raise ValueError("hang_seconds must be positive")
    # A rule whose method or path can match no request would silently inject nothing.
    if rule.method is not None and rule.method.upper() not in FAULT_METHODS:
        raise ValueError(f"method must be one of {', '.join(FAULT_METHODS)}, "
                         f"got {rule.method[:40]!r}")
    if rule.path is not None and not rule.path.startswith(("/", "*")):
        raise ValueError(f"path is a pattern on the URL path, starting with / (e.g. "
                         f"/api/v2/deals/*), got {rule.path[:80]!r}")


@dataclass
class _Active:
    id: int
    rule: FaultRule
    remaining: int | None
    injected: int = 0

    def matches(self, method: str, path: str) -> bool:
        rule = self.rule
        if rule.method is not None and rule.method.upper() != method.upper():
            return False
        return rule.path is None or fnmatch.fnmatchcase(path, rule.path)


@dataclass
class _Plan:
    delay: float = 0.0
    failure: FaultRule | None = None


class FaultInjector:
    """The active fault rules and the middleware that applies them.

    Attributes:
        config: the rules and seed it started with.
        clock: the sandbox clock (faults use real time: latency and hangs are real waits).
        stats: where injected faults are counted (``stats.faults[kind]``).
    """

    def __init__(self, config: FaultConfig, clock: Clock, stats: Stats) -> None:
        self.config = config
        self.clock = clock
        self.stats = stats
        self._random = random.Random(config.seed)
        self._rules: list[_Active] = []
        self._next_id = 1
        for rule in config.rules:
            self.add(rule)

    # ------------------------------------------------------------------ rules

    def add(self, rule: FaultRule) -> int:
        """Activate ``rule`` after the existing ones; its id (for ``remove``)."""
        validate_rule(rule)
        active = _Active(self._next_id, rule, rule.count)
        self._next_id += 1
        self._rules.append(active)
        return active.id

    def remove(self, rule_id: int) -> bool:
        """Drop a rule; False if no active rule has that id."""
        before = len(self._rules)
        self._rules = [a for a in self._rules if a.id != rule_id]
        return len(self._rules) != before

    def clear(self) -> int:
        """Drop every rule; how many there were."""
        removed = len(self._rules)
        self._rules = []
        return removed

    def rules(self) -> list[dict[str, Any]]:
        """The active rules: id, the rule's fields, ``remaining`` (count rules) and
        ``injected`` (times it fired)."""
        return [
            {"id": a.id, **asdict(a.rule), "remaining": a.remaining, "injected": a.injected}
            for a in self._rules
        ]

    def _plan(self, method: str, path: str) -> _Plan:
        plan = _Plan()
        for active in list(self._rules):
            rule = active.rule
            if rule.kind != "latency" and plan.failure is not None:
                continue
            if not active.matches(method, path):
                continue
            if active.remaining is not None:
                active.remaining -= 1
                if active.remaining <= 0:
                    self._rules.remove(active)
            elif self._random.random() >= (rule.probability or 0.0):
                continue
            active.injected += 1
            self.stats.faults[rule.kind] += 1
            if rule.kind == "latency":
                plan.delay += (rule.latency_ms + self._random.uniform(0, rule.jitter_ms)) / 1000
            else:
                plan.failure = rule
        return plan

    # ------------------------------------------------------------------ middleware

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` with the faults applied to its HTTP requests (other scopes pass through)."""

        async def faulty(scope: Scope, receive: Receive, send: Send) -> None:
            path: str = scope.get("path", "")
            if (scope["type"] != "http" or not self._rules
                    or path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")):
                await app(scope, receive, send)
                return
            plan = self._plan(scope["method"], path)
            if plan.delay > 0:
                await asyncio.sleep(plan.delay)
            rule = plan.failure
            if rule is None:
                await app(scope, receive, send)
            elif rule.kind in ("error_500", "error_502", "error_503"):
                await _send_error(send, int(rule.kind[-3:]))
            elif rule.kind == "drop":
                await _drop(app, scope, receive, send)
            elif rule.kind == "lost":
                await app(scope, receive, _swallow)
                await _cut(receive, send, "the response to an applied request was lost")
            else:
                await _hang(receive, send, rule.hang_seconds)

        return faulty


# ---------------------------------------------------------------------- fault kinds

_GATEWAY_TITLES = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable"}


def _error_body(status: int) -> tuple[bytes, bytes]:
    if status == 500:
        problem = ApiProblem(500, "Internal server error", "Please check developers.pipedrive.com")
        return json.dumps(problem.body()).encode(), b"application/json"
    title = _GATEWAY_TITLES[status]
    page = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
            "</body>\r\n</html>\r\n")
    return page.encode(), b"text/html"


async def _send_error(send: Send, status: int) -> None:
    body, content_type = _error_body(status)
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               # Marks the response as injected, so tests can tell it from the sandbox's own.
               (b"x-sandbox-fault", f"error_{status}".encode())]
    if status != 500:
        headers.append((b"server", b"cloudflare"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _swallow(message: Message) -> None:
    return None


async def _drop(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    # The whole response is collected first so "part of the body" is a known half of it.
    start: Message | None = None
    chunks: list[bytes] = []

    async def collect(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, collect)
    body = b"".join(chunks)
    if start is not None:
        await send(start)
        if body:
            await send({"type": "http.response.body", "body": body[: max(1, len(body) // 2)],
                        "more_body": True})
    await _cut(receive, send, "the connection was dropped mid-response")


def _transport_of(send: Send) -> asyncio.BaseTransport | None:
    # uvicorn's ``send`` is a bound method of its request cycle, which holds the transport.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None and callable(getattr(transport, "close", None)):
        return transport  # type: ignore[no-any-return]
    return None


async def _until_disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _cut(receive: Receive, send: Send, why: str) -> None:
    transport = _transport_of(send)
    if transport is None:
        raise ConnectionCut(f"Sandbox fault: {why}.")
    transport.close()
    # Returning only once uvicorn has seen the disconnect keeps it from answering or logging.
    async with asyncio.timeout(DISCONNECT_WAIT):
        await _until_disconnected(receive)


async def _hang(receive: Receive, send: Send, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await _until_disconnected(receive)
        return  # the client went away first: nothing left to answer
    except TimeoutError:
        pass
    if _transport_of(send) is None:
        raise HangTimeout(f"Sandbox fault: no response within {seconds:g} s (hang).")
    await _cut(receive, send, "hang")
