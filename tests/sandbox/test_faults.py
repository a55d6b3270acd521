"""Fault injection: each kind by seeded probability and as "the next N matching requests",
from start-up config and through the admin endpoint; in process and on a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp, create_app
from explorer.sandbox.config import (
    FAULT_KINDS,
    FaultConfig,
    FaultRule,
    LimitConfig,
    SandboxConfig,
    parse_fault,
)
from explorer.sandbox.store import Store
from tests.conftest import BASE_URL
from tests.sandbox.spec import OPT_OUT_HEADER
from tests.sandbox.test_cli import sandbox_process, stop

# Faulted responses are deliberately off-spec (undocumented 5xx, HTML bodies).
OFF_SPEC = {OPT_OUT_HEADER: "fault injection"}
HANG = 0.05  # seconds; in process a hang then fails with httpx.ReadTimeout

# What the client sees when each kind fires on a GET.
SEEN = {
    "latency": "200", "error_500": "500", "error_502": "502", "error_503": "503",
    "drop": "RemoteProtocolError", "lost": "RemoteProtocolError", "hang": "ReadTimeout",
}


def config(*rules: FaultRule | str, seed: int = 0) -> SandboxConfig:
    parsed = tuple(parse_fault(r) if isinstance(r, str) else r for r in rules)
    return SandboxConfig(limits=LimitConfig(enabled=False),
                         faults=FaultConfig(rules=parsed, seed=seed))


def rule(kind: str, **options: Any) -> FaultRule:
    extra = {"hang_seconds": HANG} if kind == "hang" else {}
    if kind == "latency":
        extra = {"latency_ms": 1.0, "jitter_ms": 1.0}
    return FaultRule(kind=kind, **{**extra, **options})  # type: ignore[arg-type]


async def seen(call: Any) -> str:
    """How a request ended, as the client saw it: the status or the exception class."""
    try:
        response: httpx.Response = await call
    except httpx.TransportError as exc:
        return type(exc).__mro__[1].__name__  # the httpx class the sandbox's subclass extends
    return str(response.status_code)


@pytest.fixture
async def raw(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client without the spec hook, for traffic that is off-spec by design."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
        headers={"x-api-token": DEFAULT_TOKEN},
    ) as c:
        yield c


async def first_deal(client: httpx.AsyncClient) -> dict[str, Any]:
    deal: dict[str, Any] = (await client.get("/api/v2/deals?limit=1")).json()["data"][0]
    return deal


# ---------------------------------------------------------------------- selection


async def _sequence(store: Store, kind: str, seed: int, n: int = 16) -> list[tuple[bool, str]]:
    app = create_app(store, base_url=BASE_URL,
                     config=config(rule(kind, probability=0.4, path="/api/v2/deals/*"),
                                   seed=seed))
    out: list[tuple[bool, str]] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                 headers={"x-api-token": DEFAULT_TOKEN}) as c:
        for i in range(n):
            before = app.state.stats.faults[kind]
            outcome = await seen(c.get(f"/api/v2/deals/{i + 1}"))
            out.append((app.state.stats.faults[kind] > before, outcome))
    return out


@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_each_kind_by_seeded_probability_is_reproducible(store: Store, kind: str) -> None:
    first = await _sequence(store, kind, seed=11)
    assert first == await _sequence(store, kind, seed=11)
    assert [f for f, _ in first] != [f for f, _ in await _sequence(store, kind, seed=12)]
    assert 0 < sum(f for f, _ in first) < len(first)
    for faulted, outcome in first:
        assert outcome == (SEEN[kind] if faulted else "200")


@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_each_kind_as_the_next_n_matching_requests(
    app: SandboxApp, raw: httpx.AsyncClient, kind: str
) -> None:
    app.state.faults.add(rule(kind, count=2, method="GET", path="/api/v2/deals/*"))
    assert await seen(raw.get("/api/v2/deals")) == "200"  # path does not match
    assert await seen(raw.get("/api/v2/persons/1")) == "200"
    assert await seen(raw.delete("/api/v2/deals/999999")) == "404"  # method does not match
    assert [await seen(raw.get(f"/api/v2/deals/{i}")) for i in (1, 2, 3)] == [
        SEEN[kind], SEEN[kind], "200"]
    assert app.state.stats.faults[kind] == 2
    assert app.state.faults.rules() == []  # used up


@pytest.mark.parametrize("sandbox_config", [config(
    "error_503:count=1,method=PATCH,path=/api/v2/deals/*",
    "error_500:count=2,path=/api/v1/*",
)])
async def test_rules_from_the_start_up_config(raw: httpx.AsyncClient, app: SandboxApp) -> None:
    assert [r["kind"] for r in app.state.faults.rules()] == ["error_503", "error_500"]
    assert await seen(raw.patch("/api/v2/deals/1", json={"title": "x"})) == "503"
    assert await seen(raw.patch("/api/v2/deals/1", json={"title": "x"})) == "200"
    assert [await seen(raw.get("/api/v1/users/me")) for _ in range(3)] == ["500", "500", "200"]
    assert app.state.stats.faults == {"error_503": 1, "error_500": 2}


async def test_latency_stacks_with_one_failure(app: SandboxApp, raw: httpx.AsyncClient) -> None:
    faults = app.state.faults
    faults.add(rule("latency", probability=1.0))
    faults.add(rule("error_503", count=1))
    faults.add(rule("error_500", count=1))  # not reached while the 503 rule fires first
    assert [await seen(raw.get("/api/v2/deals/1")) for _ in range(3)] == ["503", "500", "200"]
    assert app.state.stats.faults == {"latency": 3, "error_503": 1, "error_500": 1}
    assert [(r["kind"], r["injected"]) for r in faults.rules()] == [("latency", 3)]


async def test_remaining_counts_and_removal(app: SandboxApp, raw: httpx.AsyncClient) -> None:
    faults = app.state.faults
    keep = faults.add(rule("error_500", count=3, method="post"))
    gone = faults.add(rule("error_502", probability=0.0))
    await raw.post("/api/v2/organizations", json={"name": "A"})
    listed = {r["id"]: r for r in faults.rules()}
    assert listed[keep]["remaining"] == 2 and listed[keep]["injected"] == 1
    assert listed[gone]["remaining"] is None and listed[gone]["probability"] == 0.0
    assert faults.remove(gone) and not faults.remove(gone)
    assert faults.clear() == 1 and faults.rules() == []


def test_invalid_rules_are_refused(app: SandboxApp) -> None:
    for bad in (FaultRule("drop"), FaultRule("drop", probability=0.5, count=1),
                FaultRule("drop", probability=1.5), FaultRule("drop", count=0),
                FaultRule("bogus", count=1),  # type: ignore[arg-type]
                FaultRule("latency", count=1, latency_ms=-1)):
        with pytest.raises(ValueError):
            app.state.faults.add(bad)


@pytest.mark.parametrize("sandbox_config", [config(rule("error_500", probability=1.0))])
async def test_admin_is_never_faulted_but_oauth_may_be(
    raw: httpx.AsyncClient, app: SandboxApp
) -> None:
    assert (await raw.get("/_sandbox/stats")).status_code == 200
    assert (await raw.get("/_sandbox/nothing-here")).status_code == 404
    assert (await raw.post("/oauth/token")).status_code == 500
    assert (await raw.get("/api/v2/deals/1")).status_code == 500


@pytest.mark.parametrize("sandbox_config", [config(rule("error_500", probability=1.0))])
async def test_lifespan_passes_through(app: SandboxApp) -> None:
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return next(incoming)

    async def send(message: Any) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert app.state.stats.faults.total() == 0


# ---------------------------------------------------------------------- what each kind does


async def test_5xx_bodies(app: SandboxApp, client: httpx.AsyncClient) -> None:
    app.state.faults.add(rule("error_500", count=1))
    app.state.faults.add(rule("error_502", count=1))
    app.state.faults.add(rule("error_503", count=1))
    error = await client.get("/api/v2/deals/1", headers=OFF_SPEC)
    assert error.status_code == 500
    assert error.headers["content-type"] == "application/json"
    assert error.json() == {"success": False, "error": "Internal server error",
                            "error_info": "Please check developers.pipedrive.com",
                            "data": None, "additional_data": None}
    for status, title in ((502, "502 Bad Gateway"), (503, "503 Service Temporarily Unavailable")):
        page = await client.get("/api/v2/deals/1", headers=OFF_SPEC)
        assert page.status_code == status
        assert page.headers["content-type"].startswith("text/html")
        assert page.text.startswith("<html>") and f"<h1>{title}</h1>" in page.text
        with pytest.raises(ValueError):
            page.json()


@pytest.mark.parametrize("kind", ["error_500", "error_502", "error_503", "hang"])
async def test_failures_do_not_apply_the_request(
    app: SandboxApp, client: httpx.AsyncClient, kind: str
) -> None:
    deal = await first_deal(client)
    app.state.faults.add(rule(kind, count=1, method="PATCH"))
    outcome = await seen(client.patch(f"/api/v2/deals/{deal['id']}", json={"title": "Never"},
                                      headers=OFF_SPEC))
    assert outcome == SEEN[kind]
    again = (await client.get(f"/api/v2/deals/{deal['id']}")).json()["data"]
    assert again["title"] == deal["title"] and again["update_time"] == deal["update_time"]


async def test_applied_then_lost(app: SandboxApp, client: httpx.AsyncClient) -> None:
    deal = await first_deal(client)
    app.state.faults.add(rule("lost", count=1, method="PATCH", path="/api/v2/deals/*"))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.patch(f"/api/v2/deals/{deal['id']}", json={"title": "Applied, then lost"})
    again = (await client.get(f"/api/v2/deals/{deal['id']}")).json()["data"]
    assert again["title"] == "Applied, then lost"
    assert app.state.stats.faults["lost"] == 1
    assert app.state.stats.requests["updateDeal"] == 1


async def test_lost_create_is_committed(app: SandboxApp, client: httpx.AsyncClient) -> None:
    app.state.faults.add(rule("lost", count=1, method="POST"))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/api/v2/organizations", json={"name": "Created, then lost"})
    found = (await client.get("/api/v2/organizations?limit=500&sort_by=id&sort_direction=desc"))
    assert found.json()["data"][0]["name"] == "Created, then lost"


async def test_drop_mid_response_applies_the_request(
    app: SandboxApp, client: httpx.AsyncClient
) -> None:
    deal = await first_deal(client)
    app.state.faults.add(rule("drop", count=1, method="PATCH"))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.patch(f"/api/v2/deals/{deal['id']}", json={"title": "Dropped"})
    assert (await client.get(f"/api/v2/deals/{deal['id']}")).json()["data"]["title"] == "Dropped"


async def test_drop_sends_the_start_and_half_the_body(app: SandboxApp) -> None:
    app.state.faults.add(rule("drop", count=1))
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": "/api/v2/deals/1", "raw_path": b"/api/v2/deals/1",
             "query_string": b"", "root_path": "", "server": ("sandbox.test", 80),
             "client": ("127.0.0.1", 1), "headers": [(b"x-api-token", DEFAULT_TOKEN.encode())]}
    with pytest.raises(httpx.RemoteProtocolError):
        await app(scope, receive, send)
    start, part = sent
    assert start["type"] == "http.response.start" and start["status"] == 200
    length = int(dict(start["headers"])[b"content-length"])
    assert part["more_body"] is True and len(part["body"]) == length // 2


async def test_hang_is_cancelled_with_the_request(
    app: SandboxApp, client: httpx.AsyncClient
) -> None:
    app.state.faults.add(rule("hang", count=1, hang_seconds=60))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await client.get("/api/v2/deals/1")
    assert (await client.get("/api/v2/deals/1")).status_code == 200
    assert app.state.stats.faults["hang"] == 1


async def test_hang_in_process_fails_like_a_client_timeout(
    app: SandboxApp, raw: httpx.AsyncClient
) -> None:
    app.state.faults.add(rule("hang", count=1))
    with pytest.raises(httpx.ReadTimeout):
        await raw.get("/api/v2/deals/1")


# ---------------------------------------------------------------------- on a real connection


def _admin(url: str, token: str, method: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{url}/_sandbox{path}", headers={"x-api-token": token},
                         timeout=10, **kw)


@pytest.mark.e2e
def test_faults_on_a_real_connection() -> None:
    with sandbox_process(
        "--fault", "lost:count=1,method=PATCH,path=/api/v2/deals/*",
        "--fault", "drop:count=1,method=GET,path=/api/v2/deals/*",
        "--fault", "error_503:count=1,path=/api/v2/organizations",
        "--fault-seed", "5",
    ) as (proc, url, token), httpx.Client(base_url=url, headers={"x-api-token": token},
                                          timeout=10) as http:
        deal = http.get("/api/v2/deals?limit=1").json()["data"][0]
        with pytest.raises(httpx.RemoteProtocolError,
                           match="Server disconnected without sending a response"):
            http.patch(f"/api/v2/deals/{deal['id']}", json={"title": "Lost on the wire"})
        with pytest.raises(httpx.RemoteProtocolError,
                           match="peer closed connection without sending complete message body"):
            http.get(f"/api/v2/deals/{deal['id']}")
        assert http.get(f"/api/v2/deals/{deal['id']}").json()["data"]["title"] == (
            "Lost on the wire")
        page = http.get("/api/v2/organizations")
        assert page.status_code == 503 and page.headers["content-type"] == "text/html"

        # Added at run time: a hang the client's timeout ends, then one the sandbox gives up on.
        added = _admin(url, token, "POST", "/faults",
                       json={"kind": "hang", "count": 1, "hang_seconds": 30})
        assert added.status_code == 201
        with pytest.raises(httpx.ReadTimeout):
            http.get("/api/v2/persons/1", timeout=0.3)
        _admin(url, token, "POST", "/faults", json={"kind": "hang", "count": 1,
                                                    "hang_seconds": 0.2})
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/api/v2/persons/1")
        assert http.get("/api/v2/persons/1").status_code == 200

        stats = _admin(url, token, "GET", "/stats").json()["stats"]
        assert stats["faults"] == {"total": 5, "lost": 1, "drop": 1, "error_503": 1, "hang": 2}
        assert stop(proc) == 0  # promptly: the abandoned 30 s hang ended with its client
        _, err = proc.communicate(timeout=10)
    # Deliberate cuts are clean closes: uvicorn logs nothing about them.
    assert [line for line in err.splitlines() if not line.startswith("Sandbox:")] == [], err
