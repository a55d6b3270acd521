"""The /_sandbox admin endpoints: auth, stats, fault rules, the clock and the limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from explorer.sandbox import specdata
from explorer.sandbox.app import SandboxApp
from explorer.sandbox.config import LimitConfig, SandboxConfig
from explorer.sandbox.http import v2_time
from explorer.sandbox.routing import Clock
from tests.conftest import BASE_URL
from tests.sandbox.spec import OPT_OUT_HEADER

FROZEN = datetime(2026, 3, 2, 23, 59, 30, tzinfo=UTC)

ROUTES = [
    ("GET", "/stats"), ("POST", "/stats/reset"), ("GET", "/faults"), ("POST", "/faults"),
    ("DELETE", "/faults"), ("DELETE", "/faults/1"), ("GET", "/clock"), ("POST", "/clock"),
    ("GET", "/limits"), ("PATCH", "/limits"), ("POST", "/limits/reset"),
]


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen_at=FROZEN)


@pytest.fixture
async def anonymous(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        yield c


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["data"] is None
    return f"{body['error']} {body.get('error_info', '')}"


# ---------------------------------------------------------------------- auth


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_needs_the_sandbox_token(
    anonymous: httpx.AsyncClient, method: str, path: str
) -> None:
    for headers in ({}, {"x-api-token": "wrong"}, {"authorization": "Bearer wrong"}):
        denied = await anonymous.request(method, f"/_sandbox{path}", headers=headers)
        assert "x-api-token" in error_of(denied, 401)


async def test_token_as_header_or_bearer(app: SandboxApp, anonymous: httpx.AsyncClient) -> None:
    token = next(iter(app.state.tokens))
    for headers in ({"x-api-token": token}, {"authorization": f"Bearer {token}"}):
        assert (await anonymous.get("/_sandbox/stats", headers=headers)).status_code == 200


async def test_unknown_admin_paths_and_methods(client: httpx.AsyncClient) -> None:
    assert "/_sandbox/nope" in error_of(await client.get("/_sandbox/nope"), 404)
    assert "PUT" in error_of(await client.put("/_sandbox/stats"), 405)


# ---------------------------------------------------------------------- stats


async def test_stats_count_requests_statuses_and_faults(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    deal = (await client.get("/api/v2/deals?limit=1")).json()["data"][0]
    await client.get(f"/api/v2/deals/{deal['id']}")
    await client.patch(f"/api/v2/deals/{deal['id']}", json={"title": "Counted"})
    await client.get("/api/v2/deals/99999999")
    await anonymous.get("/api/v2/deals")
    await client.post("/_sandbox/faults", json={"kind": "error_503", "count": 1})
    await client.get("/api/v1/users/me", headers={OPT_OUT_HEADER: "fault injection"})

    body = (await client.get("/_sandbox/stats")).json()
    stats = body["stats"]
    assert stats["requests"] == {"total": 4, "getDeals": 1, "getDeal": 2, "updateDeal": 1}
    assert stats["statuses"] == {"200": 3, "401": 1, "404": 1}
    assert stats["faults"] == {"total": 1, "error_503": 1}
    assert stats["rate_limited"] == 0 and stats["blocked"] == 0
    # Limits are off in these tests: nothing is charged, but the structure is there.
    assert stats["tokens"]["total"] == sum(v for k, v in stats["tokens"].items() if k != "total")
    # Nothing counted with the limiter off; the budget day is the frozen clock's (UTC), and
    # growth's budget is 30,000 x 2 for one seat.
    assert body["limits"] == {
        "enabled": False, "plan": "growth", "auth_kind": "token", "window_seconds": 2.0,
        "daily_budget": {"day": "2026-03-02", "timezone": "UTC", "limit": 60_000, "used": 0,
                         "remaining": 60_000, "resets_at": "2026-03-03T00:00:00Z"},
        "tokens": {}, "daily_requests_left": {}}
    assert set(stats) == {"requests", "tokens", "statuses", "rate_limited", "blocked", "faults"}

    reset = (await client.post("/_sandbox/stats/reset")).json()["stats"]
    assert reset["requests"] == {"total": 0} and reset["faults"] == {"total": 0}
    assert (await client.get("/_sandbox/stats")).json()["stats"] == reset  # admin not counted


# ---------------------------------------------------------------------- faults


async def test_fault_rules_are_added_listed_and_removed(
    app: SandboxApp, client: httpx.AsyncClient
) -> None:
    first = await client.post("/_sandbox/faults", json={
        "kind": "error_503", "count": 2, "method": "patch", "path": "/api/v2/deals/*"})
    assert first.status_code == 201
    second = await client.post("/_sandbox/faults", json={
        "kind": "latency", "probability": 0.25, "latency_ms": 5, "jitter_ms": 2})
    ids = [first.json()["id"], second.json()["id"]]
    listed = (await client.get("/_sandbox/faults")).json()
    assert listed["seed"] == app.state.faults.config.seed
    assert [(r["id"], r["kind"], r["remaining"]) for r in listed["rules"]] == [
        (ids[0], "error_503", 2), (ids[1], "latency", None)]
    assert listed["rules"][0]["method"] == "PATCH"

    assert (await client.delete(f"/_sandbox/faults/{ids[1]}")).json() == {"removed": 1}
    assert "not found" in error_of(await client.delete(f"/_sandbox/faults/{ids[1]}"), 404)
    assert [r["id"] for r in (await client.get("/_sandbox/faults")).json()["rules"]] == ids[:1]
    assert (await client.delete("/_sandbox/faults")).json() == {"removed": 1}
    assert (await client.get("/_sandbox/faults")).json()["rules"] == []


async def test_the_next_n_patches_fail_then_the_rule_is_used_up(
    client: httpx.AsyncClient,
) -> None:
    deal = (await client.get("/api/v2/deals?limit=1")).json()["data"][0]
    await client.post("/_sandbox/faults", json={
        "kind": "error_503", "count": 2, "method": "PATCH", "path": "/api/v2/deals/*"})
    url, skip = f"/api/v2/deals/{deal['id']}", {OPT_OUT_HEADER: "fault injection"}
    statuses = []
    for title in ("one", "two", "three"):
        assert (await client.get(url)).status_code == 200  # GETs do not match
        statuses.append((await client.patch(url, json={"title": title}, headers=skip)).status_code)
    assert statuses == [503, 503, 200]
    assert (await client.get("/_sandbox/faults")).json()["rules"] == []
    assert (await client.get(url)).json()["data"]["title"] == "three"


@pytest.mark.parametrize(("body", "needle"), [
    ({"kind": "explode", "count": 1}, "Unknown fault kind"),
    ({"kind": "drop"}, "exactly one of probability or count"),
    ({"kind": "drop", "count": 1, "probability": 0.5}, "exactly one of probability or count"),
    ({"kind": "drop", "probability": 1.5}, "between 0 and 1"),
    ({"kind": "drop", "probability": "often"}, "'probability' must be a number"),
    ({"kind": "drop", "count": 0}, "'count' must be at least 1"),
    ({"kind": "drop", "count": 1.5}, "'count' must be an integer"),
    ({"kind": "drop", "count": True}, "'count' must be an integer"),
    ({"kind": "drop", "count": 1, "path": 7}, "'path' must be a non-empty string"),
    ({"kind": "hang", "count": 1, "hang_seconds": 0}, "hang_seconds must be positive"),
    ({"kind": "drop", "count": 1, "when": "now"}, "Unknown field(s): when"),
    # Rules that could never match a request would inject nothing, silently.
    ({"kind": "drop", "count": 1, "method": "PACTH"}, "method must be one of GET, POST"),
    ({"kind": "drop", "count": 1, "path": "api/v2/deals/*"}, "starting with /"),
])
async def test_invalid_fault_rules_get_a_clear_400(
    client: httpx.AsyncClient, body: dict[str, Any], needle: str
) -> None:
    assert needle in error_of(await client.post("/_sandbox/faults", json=body), 400)
    assert (await client.get("/_sandbox/faults")).json()["rules"] == []


async def test_malformed_json_is_a_400(client: httpx.AsyncClient) -> None:
    bad = await client.post("/_sandbox/faults", content=b"{kind: drop",
                            headers={"content-type": "application/json"})
    assert "Malformed JSON" in error_of(bad, 400)
    assert "JSON object" in error_of(await client.post("/_sandbox/clock", json=[1]), 400)


# ---------------------------------------------------------------------- clock


async def test_clock_advances_and_writes_use_it(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sandbox/clock")).json() == {
        "now": "2026-03-02T23:59:30Z", "frozen": True, "offset_seconds": 0.0}
    moved = (await client.post("/_sandbox/clock", json={"advance_seconds": 45.5})).json()
    assert moved["now"] == "2026-03-03T00:00:15.500000Z" and moved["offset_seconds"] == 45.5
    deal = (await client.get("/api/v2/deals?limit=1")).json()["data"][0]
    patched = await client.patch(f"/api/v2/deals/{deal['id']}", json={"title": "Later"})
    assert patched.json()["data"]["update_time"] == v2_time(datetime(2026, 3, 3, 0, 0, 15,
                                                                     tzinfo=UTC))


@pytest.mark.parametrize(("body", "needle"), [
    ({}, "'advance_seconds' is required"),
    ({"advance_seconds": -1}, "at least 0"),
    ({"advance_seconds": "1h"}, "must be a number"),
    ({"advance_seconds": 1, "rewind": True}, "Unknown field(s): rewind"),
])
async def test_clock_refuses_bad_input(
    client: httpx.AsyncClient, body: dict[str, Any], needle: str
) -> None:
    assert needle in error_of(await client.post("/_sandbox/clock", json=body), 400)
    assert (await client.get("/_sandbox/clock")).json()["offset_seconds"] == 0.0


# ---------------------------------------------------------------------- limits


async def test_limits_are_read_changed_and_reset(
    app: SandboxApp, client: httpx.AsyncClient
) -> None:
    before = (await client.get("/_sandbox/limits")).json()
    assert before["plan"] == "growth" and before["enabled"] is False
    changed = await client.patch("/_sandbox/limits", json={
        "plan": "premium", "seats": 3, "auth_kind": "oauth", "budget": None, "retry_after": True,
        "block_seconds": 1.5})
    expected = LimitConfig(enabled=False, plan="premium", seats=3, auth_kind="oauth",
                           retry_after=True, block_seconds=1.5)
    assert changed.status_code == 200
    assert app.state.limiter.config == expected
    assert (await client.get("/_sandbox/limits")).json() == changed.json()
    assert changed.json()["plan"] == "premium" and changed.json()["seats"] == 3

    # Counted usage carries over a change; a reset forgets windows and the day's budget use.
    await client.patch("/_sandbox/limits", json={"enabled": True})
    await client.get("/api/v2/deals/1")
    used = (await client.get("/_sandbox/stats")).json()["limits"]
    assert used["daily_budget"]["used"] == 1
    assert [t["burst"]["used"] for t in used["tokens"].values()] == [1]
    reset = await client.post("/_sandbox/limits/reset")
    assert reset.status_code == 200 and "limits" in reset.json()
    after = (await client.get("/_sandbox/stats")).json()["limits"]
    assert after["daily_budget"]["used"] == 0 and after["tokens"] == {}


@pytest.mark.parametrize(("body", "needle"), [
    ({"plan": "gold"}, "'plan' must be one of lite, growth, premium, ultimate"),
    ({"auth_kind": "cookie"}, "'auth_kind' must be one of token, oauth"),
    ({"seats": 0}, "'seats' must be at least 1"),
    ({"budget": -5}, "'budget' must be at least 0"),
    ({"budget": "lots"}, "'budget' must be an integer"),
    ({"enabled": "yes"}, "'enabled' must be true or false"),
    ({"block_seconds": -1}, "'block_seconds' must be at least 0"),
    ({"daily_budget": 10}, "Unknown field(s): daily_budget"),
])
async def test_limits_refuse_bad_values(
    app: SandboxApp, client: httpx.AsyncClient, body: dict[str, Any], needle: str
) -> None:
    before = app.state.config.limits
    assert needle in error_of(await client.patch("/_sandbox/limits", json=body), 400)
    assert app.state.config.limits == before


# ---------------------------------------------------------------------- with limits on


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(limits=LimitConfig())])
async def test_stats_and_limits_with_the_limiter_on(client: httpx.AsyncClient) -> None:
    deal = (await client.get("/api/v2/deals?limit=1")).json()["data"][0]
    await client.get(f"/api/v2/deals/{deal['id']}")
    await client.patch(f"/api/v2/deals/{deal['id']}", json={"title": "Charged"})
    tokens = (await client.get("/_sandbox/stats")).json()["stats"]["tokens"]
    costs = {op: specdata.operation("v2", method, path)["token_cost"]
             for op, method, path in (("getDeals", "GET", "/deals"), ("getDeal", "GET",
                                      "/deals/{id}"), ("updateDeal", "PATCH", "/deals/{id}"))}
    assert tokens == {"total": sum(costs.values()), **costs}

    # Down to lite (20 per 2 s): 3 requests are in the window, so 17 more get through.
    assert (await client.patch("/_sandbox/limits", json={"plan": "lite"})).status_code == 200
    statuses = [(await client.get("/api/v1/users/me")).status_code for _ in range(18)]
    assert statuses == [200] * 17 + [429]
    body = (await client.get("/_sandbox/stats")).json()
    assert body["stats"]["rate_limited"] == 1 and body["stats"]["statuses"]["429"] == 1
    assert body["limits"]["plan"] == "lite"

    await client.post("/_sandbox/clock", json={"advance_seconds": 2})
    me = await client.get("/api/v1/users/me")
    assert me.status_code == 200 and me.headers["x-ratelimit-limit"] == "20"
    reset = (await client.post("/_sandbox/limits/reset")).json()["limits"]
    assert reset["daily_budget"]["used"] == 0
