"""Pipedrive's limits in the sandbox: burst and search windows, daily token budget, headers,
429s, the 403 block and its cool-down, plan and auth-kind numbers, ``--no-limits``.

The clock is frozen (``Clock(frozen_at=START)``) and moved with ``advance``, so every request
lands at an exact instant; the real app is driven through ``client``. Token costs expected by
these tests are read from the official spec YAML (``spec_validator``), not from the sandbox's
compiled ``specdata``, so the two cross-check.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp, operations
from explorer.sandbox.config import LimitConfig
from explorer.sandbox.routing import Clock, Operation
from tests.sandbox.limits_sandbox import BLOCK_PAGE, DEAL, SEARCH, START, TICK, is_429, num, search

from tests.sandbox.limits_sandbox import default_limits, frozen_clock, limited_config  # noqa: F401  # isort: skip (fixtures)
from tests.sandbox.spec import SpecLog, SpecValidator

MIDNIGHT = datetime(2025, 3, 15, tzinfo=UTC)
SECOND = timedelta(seconds=1)
WINDOW = 2 * SECOND
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
                "x-daily-requests-left", "x-daily-ratelimit-token-limit",
                "x-daily-ratelimit-token-remaining")
# The documented numbers (pipedrive-api.md §5), written out here rather than imported from
# config.py, so a typo there fails these tests.
BURST = {"token": {"lite": 20, "growth": 40, "premium": 100, "ultimate": 120},
         "oauth": {"lite": 80, "growth": 160, "premium": 400, "ultimate": 480}}
MULTIPLIER = {"lite": 1, "growth": 2, "premium": 5, "ultimate": 7}


def daily_left(response: httpx.Response) -> int:
    return num(response, "x-daily-ratelimit-token-remaining")


def spec_cost(validator: SpecValidator, op: Operation) -> int:
    cost: int = validator.spec_operation(op.version, op.method, op.path)["x-token-cost"]
    return cost


# ---------------------------------------------------------------------- headers


async def test_every_authenticated_response_carries_the_headers(client: httpx.AsyncClient,
                                                                app: SandboxApp) -> None:
    first = await client.get(DEAL)
    assert first.status_code == 200
    assert {h: first.headers[h] for h in RATE_HEADERS} == {
        "x-ratelimit-limit": "40", "x-ratelimit-remaining": "39", "x-ratelimit-reset": "2",
        "x-daily-requests-left": "10000", "x-daily-ratelimit-token-limit": "60000",
        "x-daily-ratelimit-token-remaining": "59999"}

    # A 4xx is answered after admission: it carries the headers and is charged.
    missing = await client.get("/api/v2/deals/999999999")
    assert missing.status_code == 404
    assert num(missing, "x-ratelimit-remaining") == 38
    assert daily_left(missing) == 59998

    # The legacy counter counts POST/PUT/PATCH only.
    created = await client.post("/api/v2/deals", json={"title": "Limits"})
    assert created.status_code == 200
    assert num(created, "x-daily-requests-left") == 9999
    patched = await client.patch(f"/api/v2/deals/{created.json()['data']['id']}",
                                 json={"value": 5})
    assert num(patched, "x-daily-requests-left") == 9998
    assert num(await client.get(DEAL), "x-daily-requests-left") == 9998

    # No credential: a 401, before any limit, without rate-limit headers.
    anonymous = await client.get(DEAL, headers={"x-api-token": ""})
    assert anonymous.status_code == 401
    assert not set(RATE_HEADERS) & set(anonymous.headers)
    assert app.state.stats.tokens == {"getDeal": 3, "addDeal": 5, "updateDeal": 5}


async def test_reset_is_the_wait_until_the_oldest_request_leaves(client: httpx.AsyncClient,
                                                                 clock: Clock,
                                                                 app: SandboxApp) -> None:
    assert num(await client.get(DEAL), "x-ratelimit-reset") == 2          # t = 0
    clock.advance(0.5)
    assert num(await client.get(DEAL), "x-ratelimit-reset") == 2          # 1.5 s left
    clock.advance(0.7)
    assert num(await client.get(DEAL), "x-ratelimit-reset") == 1          # 0.8 s left
    clock.advance(0.8)                                                    # t = 2: first left
    response = await client.get(DEAL)
    assert num(response, "x-ratelimit-reset") == 1                        # oldest: t = 0.5
    assert num(response, "x-ratelimit-remaining") == 40 - 3
    clock.advance(10)
    assert app.state.limiter.snapshot()["tokens"].popitem()[1]["burst"] == {
        "limit": 40, "used": 0, "remaining": 40, "reset": 0}
    response = await client.get(DEAL)
    assert (num(response, "x-ratelimit-remaining"), num(response, "x-ratelimit-reset")) == (39, 2)


# ---------------------------------------------------------------------- burst window


async def test_burst_window_rolls_a_slot_frees_exactly_two_seconds_later(
        client: httpx.AsyncClient, clock: Clock, app: SandboxApp) -> None:
    for i in range(20):
        assert (await client.get(DEAL)).status_code == 200, i     # t = 0
    clock.advance(1)
    for i in range(20):
        response = await client.get(DEAL)                         # t = 1
        assert response.status_code == 200, i
        assert num(response, "x-ratelimit-remaining") == 19 - i
    left = daily_left(response)

    clock.advance(0.5)                                            # t = 1.5
    over = await client.get(DEAL)
    assert is_429(over)
    assert over.headers["content-type"] == "application/json"
    assert (num(over, "x-ratelimit-limit"), num(over, "x-ratelimit-remaining"),
            num(over, "x-ratelimit-reset")) == (40, 0, 1)
    assert daily_left(over) == left, "a 429 is not charged"
    assert "40 requests per rolling 2-second window" in over.json()["error_info"]
    assert "retry-after" not in over.headers
    assert app.state.stats.rate_limited == 1

    clock.advance(WINDOW / 4 - TICK)                              # t = 2 s - 1 µs
    assert is_429(await client.get(DEAL))
    clock.advance(TICK)                                           # t = 2 s: 20 slots free
    for i in range(20):
        response = await client.get(DEAL)
        assert response.status_code == 200, i
        assert num(response, "x-ratelimit-remaining") == 19 - i
    assert num(response, "x-ratelimit-reset") == 1                # the t = 1 ones leave at 3
    assert is_429(await client.get(DEAL))
    assert daily_left(response) == left - 20
    assert app.state.stats.rate_limited == 3


@pytest.mark.parametrize("limits", [LimitConfig(block_after=10**9)], ids=["no-block"])
async def test_loop_at_three_times_growth_rate_gets_exactly_40_per_window(
        client: httpx.AsyncClient, clock: Clock, app: SandboxApp) -> None:
    """MUST SHOW: 60 req/s (3 × growth's 40 per 2 s) for four 2-second windows: exactly 40
    get through in each, and every response's headers agree with this test's own count.

    Blocking is turned off here (a client ignoring 429s at this rate would be blocked after
    ``block_after`` strikes; ``test_hammering_after_a_429_gets_a_403_block`` shows that).
    """
    step = timedelta(seconds=1) / 60
    windows = 4
    admitted: list[timedelta] = []          # this test's own count: admission instants
    per_window: Counter[int] = Counter()
    rejected = 0
    for i in range(windows * 120):
        at = step * i
        in_window = [t for t in admitted if t > at - WINDOW]
        should_pass = len(in_window) < 40
        response = await client.get(DEAL)
        assert response.status_code == (200 if should_pass else 429), (i, at)
        if should_pass:
            admitted.append(at)
            in_window.append(at)
            per_window[at // WINDOW] += 1
        else:
            rejected += 1
        assert num(response, "x-ratelimit-limit") == 40
        assert num(response, "x-ratelimit-remaining") == 40 - len(in_window), (i, at)
        oldest_leaves = in_window[0] + WINDOW - at
        assert num(response, "x-ratelimit-reset") == math.ceil(oldest_leaves / SECOND)
        assert daily_left(response) == 60_000 - len(admitted)   # getDeal costs 1
        clock.advance(step)
    assert dict(per_window) == {w: 40 for w in range(windows)}
    assert app.state.stats.rate_limited == rejected == windows * 80
    assert app.state.stats.tokens["getDeal"] == windows * 40


# ---------------------------------------------------------------------- search window


async def test_search_has_its_own_window_of_ten(client: httpx.AsyncClient, clock: Clock,
                                                app: SandboxApp,
                                                spec_validator: SpecValidator) -> None:
    for i in range(10):
        response = await search(client)
        assert response.status_code == 200, response.text
        assert (num(response, "x-ratelimit-limit"), num(response, "x-ratelimit-remaining")) == (
            10, 9 - i)
    over = await search(client)
    assert is_429(over)
    assert (num(over, "x-ratelimit-limit"), num(over, "x-ratelimit-remaining"),
            num(over, "x-ratelimit-reset")) == (10, 0, 2)
    assert "search requests" in over.json()["error_info"]
    item_search = await client.get("/api/v2/itemSearch", params={"term": "Beacon"})
    assert is_429(item_search), "itemSearch shares the search window"

    # The burst window is untouched by searches: all 40 of it is still there.
    for i in range(40):
        response = await client.get(DEAL)
        assert response.status_code == 200, i
        assert num(response, "x-ratelimit-remaining") == 39 - i
    assert is_429(await client.get(DEAL))
    assert is_429(await search(client)), "and a full burst window does not free search slots"

    clock.advance(WINDOW)
    response = await search(client)
    assert response.status_code == 200
    assert (num(response, "x-ratelimit-limit"), num(response, "x-ratelimit-remaining")) == (10, 9)
    assert num(await client.get(DEAL), "x-ratelimit-remaining") == 39
    searched = spec_cost_of(spec_validator, "searchDeals") * 11
    assert app.state.stats.tokens["searchDeals"] == searched


def spec_cost_of(validator: SpecValidator, operation_id: str) -> int:
    op = next(op for op in operations() if op.operation_id == operation_id)
    return spec_cost(validator, op)


# ---------------------------------------------------------------------- daily token budget


async def test_budget_charges_the_spec_cost_of_a_mixed_sequence(
        client: httpx.AsyncClient, clock: Clock, app: SandboxApp, spec_log: SpecLog,
        spec_validator: SpecValidator) -> None:
    note = {"content": "limits", "deal_id": 1}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/v2/deals", {}),
        ("GET", DEAL, {}),
        ("PATCH", DEAL, {"json": {"value": 10}}),
        ("POST", "/api/v2/persons", {"json": {"name": "Budget Person"}}),
        ("GET", "/api/v2/persons/1", {}),
        ("GET", "/api/v1/leads", {}),
        ("GET", "/v1/users/me", {}),
        ("POST", "/api/v1/notes", {"json": note}),
        ("GET", "/api/v1/deals/summary", {}),
        ("GET", "/api/v2/itemSearch", {"params": {"term": "Beacon"}}),
        ("GET", "/api/v2/dealFields", {}),
        ("GET", "/api/v2/deals/999999999", {}),     # a 404 is charged too
        ("DELETE", "/api/v2/persons/2", {}),
    ]
    expected = 0
    per_op: Counter[str] = Counter()
    for method, url, kwargs in calls:
        response = await client.request(method, url, **kwargs)
        assert response.status_code < 500 and response.status_code != 429, response.text
        op = spec_log.check_of(response).operation
        assert op is not None, url
        expected += spec_cost(spec_validator, op)
        per_op[op.operation_id] += spec_cost(spec_validator, op)
        assert daily_left(response) == 60_000 - expected, (method, url)
        clock.advance(0.25)
    assert app.state.stats.tokens == per_op
    budget = app.state.limiter.snapshot()["daily_budget"]
    assert (budget["used"], budget["remaining"], budget["limit"]) == (
        expected, 60_000 - expected, 60_000)


async def test_tokens_charged_for_each_implemented_operation_equal_the_spec_cost(
        client: httpx.AsyncClient, clock: Clock, spec_log: SpecLog,
        spec_validator: SpecValidator) -> None:
    """MUST SHOW: every operation's conformance scenarios (success and error cases, with their
    prerequisite requests) are replayed; each response's drop in the daily remaining equals
    the official spec's ``x-token-cost`` of the operation it answered."""
    from tests.sandbox.scenarios import SCENARIOS

    async def pace(request: httpx.Request) -> None:
        clock.advance(0.25)  # 8 per 2 s: under the burst and search windows

    received: list[httpx.Response] = []

    async def keep(response: httpx.Response) -> None:
        received.append(response)

    client.event_hooks["request"].append(pace)
    client.event_hooks["response"].append(keep)
    checked: Counter[str] = Counter()
    succeeded: set[str] = set()
    previous = 60_000
    for op in operations():
        for scenario in SCENARIOS[op.operation_id]:
            start = len(received)
            await scenario.send(client)
            for response in received[start:]:
                check = spec_log.check_of(response)
                if check.status == 401:
                    continue  # the anonymous scenario: rejected before any limit
                assert check.operation is not None, check.describe()
                remaining = daily_left(response)
                cost = spec_cost(spec_validator, check.operation)
                assert previous - remaining == cost, (
                    f"{check.describe()}: charged {previous - remaining}, spec x-token-cost "
                    f"{cost}")
                previous = remaining
                checked[check.operation.operation_id] += 1
                if check.status < 300:
                    succeeded.add(check.operation.operation_id)
    every = {op.operation_id for op in operations()}
    assert set(checked) == every and succeeded == every, every - succeeded
    assert sum(checked.values()) > 2 * len(every)


async def test_over_budget_is_a_429_told_apart_by_the_daily_headers(
        client: httpx.AsyncClient, app: SandboxApp) -> None:
    app.state.limiter.reconfigure(LimitConfig(budget=12))
    listed = await client.get("/api/v2/deals")                     # costs 10
    assert daily_left(listed) == 2
    last = await client.get("/api/v2/deals")
    assert last.status_code == 200, "admitted while budget remains; it may overdraw"
    assert daily_left(last) == 0
    spent = await client.get(DEAL)
    assert is_429(spent)
    assert (daily_left(spent), num(spent, "x-daily-ratelimit-token-limit")) == (0, 12)
    assert num(spent, "x-ratelimit-remaining") > 0, "the burst window is not what is full"
    info = spent.json()["error_info"]
    assert "budget" in info
    assert "midnight server time (UTC)" in info and "2025-03-15T00:00:00Z" in info, info
    assert app.state.stats.rate_limited == 1

    app.state.limiter.reconfigure(LimitConfig(budget=0))
    empty = await client.get(DEAL)
    assert is_429(empty)
    assert num(empty, "x-ratelimit-reset") == 2, "reset still describes the burst window"


@pytest.mark.parametrize("limits", [LimitConfig(budget=3)], ids=["budget3"])
async def test_budget_resets_at_midnight_server_time(client: httpx.AsyncClient, clock: Clock,
                                                     app: SandboxApp) -> None:
    for left in (2, 1, 0):
        response = await client.get(DEAL)
        assert response.status_code == 200 and daily_left(response) == left
    patched = await client.patch(DEAL, json={"value": 1})
    assert is_429(patched)
    assert num(patched, "x-daily-requests-left") == 10_000, "a rejected write is not counted"

    clock.advance(MIDNIGHT - START - TICK)                          # 23:59:59.999999
    still = await client.get(DEAL)
    assert is_429(still) and daily_left(still) == 0
    assert app.state.limiter.snapshot()["daily_budget"]["day"] == "2025-03-14"
    clock.advance(TICK)                                             # midnight UTC
    fresh = await client.get(DEAL)
    assert fresh.status_code == 200
    assert (daily_left(fresh), num(fresh, "x-daily-ratelimit-token-limit")) == (2, 3)
    budget = app.state.limiter.snapshot()["daily_budget"]
    assert budget == {"day": "2025-03-15", "timezone": "UTC", "limit": 3, "used": 1,
                      "remaining": 2, "resets_at": "2025-03-16T00:00:00Z"}


async def test_legacy_write_counter_resets_at_midnight_utc(client: httpx.AsyncClient,
                                                           clock: Clock) -> None:
    for left in (9999, 9998):
        response = await client.patch(DEAL, json={"value": left})
        assert num(response, "x-daily-requests-left") == left
    clock.advance(MIDNIGHT - START)
    response = await client.patch(DEAL, json={"value": 1})
    assert num(response, "x-daily-requests-left") == 9999


# ---------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize("limits", [LimitConfig(), LimitConfig(retry_after=True)],
                         ids=["default", "retry-after"])
async def test_retry_after_only_with_the_option(client: httpx.AsyncClient, clock: Clock,
                                                app: SandboxApp, limits: LimitConfig) -> None:
    for _ in range(40):
        await client.get(DEAL)
    clock.advance(0.3)
    burst = await client.get(DEAL)
    assert is_429(burst)
    if not limits.retry_after:
        assert "retry-after" not in burst.headers
        return
    assert num(burst, "retry-after") == num(burst, "x-ratelimit-reset") == 2

    app.state.limiter.reconfigure(LimitConfig(retry_after=True, budget=0))
    clock.advance(WINDOW)
    spent = await client.get(DEAL)
    assert is_429(spent)
    until_midnight = (MIDNIGHT - START - timedelta(seconds=0.3) - WINDOW).total_seconds()
    assert num(spent, "retry-after") == math.ceil(until_midnight)


# ---------------------------------------------------------------------- the 403 block


@pytest.mark.parametrize("limits", [LimitConfig(block_after=5, block_seconds=30)],
                         ids=["block5"])
async def test_hammering_after_a_429_gets_a_403_block_until_the_cool_down(
        client: httpx.AsyncClient, clock: Clock, app: SandboxApp) -> None:
    for _ in range(40):
        await client.get(DEAL)
    left = daily_left(await client.get(DEAL, headers=BLOCK_PAGE))  # the first 429
    clock.advance(0.1)
    for strike in range(5):                   # up to block_after more within the window: 429
        assert is_429(await client.get(DEAL, headers=BLOCK_PAGE)), strike
    blocked = await client.get(DEAL, headers=BLOCK_PAGE)
    assert blocked.status_code == 403
    assert blocked.headers["content-type"].startswith("text/html")
    assert "temporarily blocked for rate-limit abuse" in blocked.text
    ray = re.search(r"Ray ID: <strong>([0-9a-f]{16}-[A-Z]{3})</strong>", blocked.text)
    assert ray and blocked.headers["cf-ray"] == ray.group(1)
    assert not set(RATE_HEADERS) & set(blocked.headers), "Cloudflare answers, not the API"

    # The whole cool-down is blocked, even once the window is free again, and not charged.
    clock.advance(5)
    for url in (DEAL, SEARCH, "/api/v1/users/me"):
        assert (await client.get(url, headers=BLOCK_PAGE)).status_code == 403
    snapshot = app.state.limiter.snapshot()["tokens"].popitem()[1]
    assert snapshot["blocked_until"] == "2025-03-14T10:00:30.100Z"
    clock.advance(timedelta(seconds=25) - TICK)
    assert (await client.get(DEAL, headers=BLOCK_PAGE)).status_code == 403
    stats = app.state.stats
    assert (stats.blocked, stats.rate_limited) == (5, 6)

    clock.advance(TICK)                                               # cool-down over
    served = await client.get(DEAL)
    assert served.status_code == 200
    assert daily_left(served) == left - 1, "nothing was charged during the block"
    assert num(served, "x-ratelimit-remaining") == 39
    assert app.state.limiter.snapshot()["tokens"].popitem()[1]["blocked_until"] is None


@pytest.mark.parametrize("limits", [LimitConfig(block_after=2)], ids=["block2"])
async def test_a_client_that_waits_for_reset_is_never_blocked(client: httpx.AsyncClient,
                                                              clock: Clock) -> None:
    admitted = 0
    for _ in range(300):
        response = await client.get(DEAL, headers=BLOCK_PAGE)
        assert response.status_code != 403
        if response.status_code == 429:
            clock.advance(num(response, "x-ratelimit-reset"))
        else:
            admitted += 1
            clock.advance(0.01)
    assert admitted > 250


async def fill_window_then_reject(client: httpx.AsyncClient, rejections: int) -> list[int]:
    """Growth's 40 admitted at this instant, then ``rejections`` more: their statuses."""
    for i in range(40):
        assert (await client.get(DEAL, headers=BLOCK_PAGE)).status_code == 200, i
    return [(await client.get(DEAL, headers=BLOCK_PAGE)).status_code for _ in range(rejections)]


@pytest.mark.parametrize("limits", [LimitConfig(block_after=3)], ids=["block3"])
async def test_strikes_expire_a_window_after_they_were_made(client: httpx.AsyncClient,
                                                            clock: Clock) -> None:
    """Three strikes (the most allowed) now and three more ten seconds later: the first three
    are long gone by then, so nothing is blocked."""
    assert await fill_window_then_reject(client, 4) == [429] * 4    # a 429 and 3 strikes
    clock.advance(10)
    assert await fill_window_then_reject(client, 4) == [429] * 4    # the same again
    clock.advance(WINDOW)
    assert (await client.get(DEAL)).status_code == 200, "and the token was never blocked"


@pytest.mark.parametrize("limits", [LimitConfig(block_after=3)], ids=["block3"])
async def test_only_requests_within_a_window_after_a_429_are_strikes(
        client: httpx.AsyncClient, clock: Clock) -> None:
    """A 429 five seconds ago does not make the next 429 a strike: the first rejection after
    a quiet spell is a fresh 429, then exactly ``block_after`` strikes pass, and one more
    blocks."""
    assert await fill_window_then_reject(client, 1) == [429]
    clock.advance(5)
    assert await fill_window_then_reject(client, 5) == [429, 429, 429, 429, 403]


@pytest.mark.parametrize("limits", [LimitConfig(budget=0, block_after=0)], ids=["block0"])
async def test_a_strike_is_a_request_less_than_one_window_after_the_previous_429(
        client: httpx.AsyncClient, clock: Clock) -> None:
    assert is_429(await client.get(DEAL, headers=BLOCK_PAGE))        # t = 0: budget spent
    clock.advance(WINDOW)                                             # exactly one window on
    assert is_429(await client.get(DEAL, headers=BLOCK_PAGE)), "not a strike"
    clock.advance(WINDOW - TICK)                                      # just within the window
    assert (await client.get(DEAL, headers=BLOCK_PAGE)).status_code == 403


@pytest.mark.parametrize("limits", [LimitConfig(budget=0, block_after=2)], ids=["block2"])
async def test_polling_a_spent_budget_slowly_is_never_blocked(client: httpx.AsyncClient,
                                                              clock: Clock) -> None:
    """Every poll 1.5 s after the previous 429 is a strike, but a 2-second window never
    holds more than two of them (block_after = 2); strikes that piled up forever would
    block the third."""
    for i in range(100):
        assert is_429(await client.get(DEAL, headers=BLOCK_PAGE)), i
        clock.advance(1.5)


# ---------------------------------------------------------------------- plans and auth kinds


@pytest.mark.parametrize("limits", [LimitConfig(plan=plan, auth_kind=kind)
                                    for kind in ("token", "oauth") for plan in MULTIPLIER],
                         ids=[f"{kind}-{plan}" for kind in ("token", "oauth")
                              for plan in MULTIPLIER])
async def test_plan_and_auth_kind_set_the_burst_window_and_budget(
        client: httpx.AsyncClient, limits: LimitConfig) -> None:
    expected = BURST[limits.auth_kind][limits.plan]
    for i in range(expected):
        response = await client.get(DEAL)
        assert response.status_code == 200, i
    assert num(response, "x-ratelimit-limit") == expected
    assert num(response, "x-ratelimit-remaining") == 0
    assert num(response, "x-daily-ratelimit-token-limit") == 30_000 * MULTIPLIER[limits.plan]
    assert is_429(await client.get(DEAL))
    searched = await search(client)
    assert num(searched, "x-ratelimit-limit") == 10, "search: 10 on every plan and auth kind"


@pytest.mark.parametrize("limits, budget", [
    (LimitConfig(plan="premium", seats=3), 450_000),
    (LimitConfig(plan="lite", seats=2, top_up=5_000), 65_000),
    (LimitConfig(plan="ultimate", seats=4, budget=1_234), 1_234),
], ids=["seats", "top-up", "override"])
async def test_budget_scales_with_seats_and_top_up(client: httpx.AsyncClient,
                                                   budget: int) -> None:
    response = await client.get(DEAL)
    assert num(response, "x-daily-ratelimit-token-limit") == budget
    assert daily_left(response) == budget - 1


# ---------------------------------------------------------------------- off, admin, e2e


@pytest.mark.parametrize("limits", [LimitConfig(enabled=False)], ids=["no-limits"])
async def test_no_limits_admits_everything_and_charges_nothing(client: httpx.AsyncClient,
                                                               app: SandboxApp) -> None:
    for _ in range(60):
        response = await client.get(DEAL)
        assert response.status_code == 200
        assert not set(RATE_HEADERS) & set(response.headers)
    for _ in range(15):
        assert (await search(client)).status_code == 200
    stats = app.state.stats
    assert (stats.rate_limited, dict(stats.tokens), stats.requests["getDeal"]) == (0, {}, 60)


async def test_snapshot_reconfigure_and_reset(client: httpx.AsyncClient, app: SandboxApp,
                                              spec_validator: SpecValidator) -> None:
    limiter = app.state.limiter
    for _ in range(3):
        await client.get(DEAL)
    await search(client)
    await client.post("/api/v2/deals", json={"title": "Snapshot"})
    snap = limiter.snapshot()
    (token,) = snap["tokens"].values()
    assert token["burst"] == {"limit": 40, "used": 4, "remaining": 36, "reset": 2}
    assert token["search"] == {"limit": 10, "used": 1, "remaining": 9, "reset": 2}
    assert token["blocked_until"] is None and token["auth_kind"] == "token"
    cost = 3 + spec_cost_of(spec_validator, "searchDeals") + 5
    assert snap["daily_budget"]["used"] == cost
    assert snap["daily_requests_left"] == {str(app.state.tokens[DEFAULT_TOKEN]): 9999}

    limiter.reconfigure(LimitConfig(plan="lite"))       # counts carry over
    response = await client.get(DEAL)
    assert (num(response, "x-ratelimit-limit"), num(response, "x-ratelimit-remaining")) == (20, 15)
    assert daily_left(response) == 30_000 - cost - 1

    limiter.reset()
    response = await client.get(DEAL)
    assert (num(response, "x-ratelimit-remaining"), daily_left(response)) == (19, 29_999)


@pytest.mark.e2e
def test_a_real_server_enforces_the_lite_window() -> None:
    from tests.sandbox.test_cli import sandbox_process, stop

    with sandbox_process("--plan", "lite", "--retry-after") as (proc, url, token), \
            httpx.Client(base_url=url, headers={"x-api-token": token}, timeout=10) as http:
        started = time.monotonic()
        responses = [http.get("/api/v1/users/me") for _ in range(25)]
        if time.monotonic() - started > 1.5:
            pytest.skip("25 requests took over 1.5 s; the 2-second window may have rolled")
        assert [r.status_code for r in responses] == [200] * 20 + [429] * 5
        assert [num(r, "x-ratelimit-remaining") for r in responses[:20]] == list(
            range(19, -1, -1))
        assert all(num(r, "retry-after") >= 1 for r in responses[20:])
        assert stop(proc) == 0
