"""The sandbox's switches for what Pipedrive does not document: successes without rate-limit
headers, search answers carrying the burst window's counters, no daily headers, and a server
time zone other than UTC for the budget's midnight.

Each switch changes only what the headers (and messages) say; the limits are enforced the same,
which every test here checks too. Clock frozen and moved with ``advance``, as in
``test_limits.py``; the expected numbers are Pipedrive's documented ones, written out here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from explorer.sandbox.app import SandboxApp
from explorer.sandbox.config import LimitConfig
from explorer.sandbox.routing import Clock
from tests.sandbox.limits_sandbox import BLOCK_PAGE, DEAL, START, TICK, is_429, num, search

from tests.sandbox.limits_sandbox import default_limits, frozen_clock, limited_config  # noqa: F401  # isort: skip (fixtures)

WINDOW_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
DAILY_HEADERS = ("x-daily-ratelimit-token-limit", "x-daily-ratelimit-token-remaining")
GROWTH_BURST, SEARCH_LIMIT, GROWTH_BUDGET = 40, 10, 60_000


def window_of(response: httpx.Response) -> tuple[int, int, int]:
    return (num(response, "x-ratelimit-limit"), num(response, "x-ratelimit-remaining"),
            num(response, "x-ratelimit-reset"))


# ---------------------------------------------------------------------- success headers


@pytest.mark.parametrize("limits", [LimitConfig(success_headers=False)], ids=["no-success"])
async def test_successes_without_window_headers_are_still_limited(
        client: httpx.AsyncClient, clock: Clock) -> None:
    for i in range(GROWTH_BURST):
        response = await client.get(DEAL)
        assert response.status_code == 200, i
        assert not set(WINDOW_HEADERS) & set(response.headers), i
        assert num(response, "x-daily-ratelimit-token-remaining") == GROWTH_BUDGET - 1 - i
    searched = await search(client)
    assert searched.status_code == 200 and not set(WINDOW_HEADERS) & set(searched.headers)

    over = await client.get(DEAL)
    assert is_429(over), "the burst window is enforced without the headers"
    assert window_of(over) == (GROWTH_BURST, 0, 2), "a 429 still carries the window headers"
    clock.advance(2)
    again = await client.get(DEAL)
    assert again.status_code == 200 and "x-ratelimit-remaining" not in again.headers


async def test_success_headers_switch_through_the_admin_endpoint(
        client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sandbox/limits")).json()["success_headers"] is True
    assert num(await client.get(DEAL), "x-ratelimit-remaining") == GROWTH_BURST - 1
    changed = await client.patch("/_sandbox/limits", json={"success_headers": False})
    assert changed.json()["success_headers"] is False
    assert (await client.get("/_sandbox/limits")).json()["success_headers"] is False
    assert "x-ratelimit-remaining" not in (await client.get(DEAL)).headers
    await client.patch("/_sandbox/limits", json={"success_headers": True})
    assert num(await client.get(DEAL), "x-ratelimit-remaining") == GROWTH_BURST - 3


# ---------------------------------------------------------------------- search headers


@pytest.mark.parametrize("limits", [LimitConfig(search_headers="burst", retry_after=True)],
                         ids=["burst-counters"])
async def test_search_answers_carry_the_burst_window_and_search_stays_ten(
        client: httpx.AsyncClient, clock: Clock) -> None:
    first = await search(client)
    assert first.status_code == 200
    assert window_of(first) == (GROWTH_BURST, GROWTH_BURST, 0), "no burst request yet"
    for _ in range(5):
        assert (await client.get(DEAL)).status_code == 200           # burst window: 5 used
    clock.advance(0.5)
    for i in range(SEARCH_LIMIT - 1):
        response = await search(client)
        assert response.status_code == 200, i
        assert window_of(response) == (GROWTH_BURST, GROWTH_BURST - 5, 2), i

    over = await search(client)
    assert is_429(over), "the search window is still 10 per 2 s"
    assert window_of(over) == (GROWTH_BURST, GROWTH_BURST - 5, 2)
    assert "search requests" in over.json()["error_info"]
    assert num(over, "retry-after") == 2, "Retry-After is the search window's real wait"
    assert (await client.get(DEAL)).status_code == 200, "the burst window has room"

    clock.advance(1.5 - 1e-6)                      # the first search leaves 2 s after t = 0
    assert is_429(await search(client))
    clock.advance(TICK)
    freed = await search(client)
    assert freed.status_code == 200
    # At t = 2 s the five t = 0 requests have left the burst window; the t = 0.5 one stays.
    assert window_of(freed) == (GROWTH_BURST, GROWTH_BURST - 1, 1)


async def test_search_headers_default_and_admin_switch(client: httpx.AsyncClient) -> None:
    assert window_of(await search(client)) == (SEARCH_LIMIT, SEARCH_LIMIT - 1, 2)
    assert (await client.get("/_sandbox/limits")).json()["search_headers"] == "search"
    changed = await client.patch("/_sandbox/limits", json={"search_headers": "burst"})
    assert changed.json()["search_headers"] == "burst"
    assert window_of(await search(client)) == (GROWTH_BURST, GROWTH_BURST, 0)
    assert window_of(await client.get(DEAL)) == (GROWTH_BURST, GROWTH_BURST - 1, 2)


# ---------------------------------------------------------------------- daily headers


@pytest.mark.parametrize("limits", [LimitConfig(daily_headers=False, budget=12)],
                         ids=["no-daily"])
async def test_no_daily_headers_budget_still_enforced_and_told_by_message(
        client: httpx.AsyncClient, clock: Clock, app: SandboxApp) -> None:
    listed = await client.get("/api/v2/deals")                     # costs 10
    assert listed.status_code == 200
    assert not set(DAILY_HEADERS) & set(listed.headers)
    assert window_of(listed) == (GROWTH_BURST, GROWTH_BURST - 1, 2)
    assert (await client.get("/api/v2/deals")).status_code == 200  # 2 left: may overdraw
    spent = await client.get(DEAL)
    assert is_429(spent)
    assert not set(DAILY_HEADERS) & set(spent.headers)
    assert window_of(spent)[1] == GROWTH_BURST - 2, "the burst window is not what is full"
    assert "Daily API token budget exhausted" in spent.json()["error_info"]
    assert app.state.limiter.snapshot()["daily_budget"]["used"] == 20

    app.state.limiter.reconfigure(LimitConfig(daily_headers=False))   # a burst 429 too
    app.state.limiter.reset()
    for _ in range(GROWTH_BURST):
        assert (await client.get(DEAL)).status_code == 200
    burst = await client.get(DEAL)
    assert is_429(burst) and not set(DAILY_HEADERS) & set(burst.headers)
    assert "Rate limit exceeded" in burst.json()["error_info"]


@pytest.mark.parametrize("limits", [LimitConfig(budget=3, daily_message="plain",
                                                server_timezone="Asia/Tokyo", retry_after=True)],
                         ids=["plain"])
async def test_a_plain_budget_429_says_it_is_spent_not_when_it_resets(
        client: httpx.AsyncClient, clock: Clock) -> None:
    """Pipedrive documents no reset time in a budget 429: the "plain" variant gives none, so
    a client has to estimate and find out. Only Retry-After (its own switch) still tells."""
    await spend_budget_of_three(client)
    spent = await client.get(DEAL)
    assert is_429(spent) and num(spent, "x-daily-ratelimit-token-remaining") == 0
    info = spent.json()["error_info"]
    assert "Daily API token budget exhausted" in info
    for told in ("Asia/Tokyo", "2025-03-14T15:00:00Z", " s;", "midnight", "resets"):
        assert told not in info, (told, info)
    assert not re.search(r"\bin \d+ ?s", info), info
    # START is 19:00 in Tokyo: the budget still comes back at Tokyo's midnight, 5 h on.
    assert num(spent, "retry-after") == 5 * 3600
    clock.advance(timedelta(hours=5))
    assert (await client.get(DEAL)).status_code == 200


async def test_daily_message_admin_switch_and_default(client: httpx.AsyncClient,
                                                      app: SandboxApp) -> None:
    assert (await client.get("/_sandbox/limits")).json()["daily_message"] == "timed"
    changed = await client.patch("/_sandbox/limits", json={"daily_message": "plain"})
    assert changed.status_code == 200 and changed.json()["daily_message"] == "plain"
    assert app.state.limiter.config.daily_message == "plain"
    refused = await client.patch("/_sandbox/limits", json={"daily_message": "vague"})
    assert refused.status_code == 400
    assert "'daily_message' must be one of timed, plain" in refused.json()["error"]


async def test_daily_headers_admin_switch(client: httpx.AsyncClient) -> None:
    assert num(await client.get(DEAL), "x-daily-ratelimit-token-limit") == GROWTH_BUDGET
    changed = await client.patch("/_sandbox/limits", json={"daily_headers": False})
    assert changed.json()["daily_headers"] is False
    assert not set(DAILY_HEADERS) & set((await client.get(DEAL)).headers)


# ---------------------------------------------------------------------- server time zone


async def spend_budget_of_three(client: httpx.AsyncClient) -> None:
    for left in (2, 1, 0):
        response = await client.get(DEAL)
        assert num(response, "x-daily-ratelimit-token-remaining") == left


# START is 06:00 in New York (EDT, UTC-4, since 9 March) and 19:00 in Tokyo (UTC+9): New
# York's next midnight comes after midnight UTC, Tokyo's before it.
@pytest.mark.parametrize(("limits", "reset", "day_after"), [
    (LimitConfig(budget=3, server_timezone="America/New_York"),
     datetime(2025, 3, 15, 4, tzinfo=UTC), "2025-03-15"),
    (LimitConfig(budget=3, server_timezone="Asia/Tokyo"),
     datetime(2025, 3, 14, 15, tzinfo=UTC), "2025-03-15"),
    (LimitConfig(budget=3, server_timezone="UTC"),
     datetime(2025, 3, 15, 0, tzinfo=UTC), "2025-03-15"),
], ids=["new-york", "tokyo", "utc"])
async def test_budget_resets_at_midnight_of_the_server_time_zone(
        client: httpx.AsyncClient, clock: Clock, app: SandboxApp, limits: LimitConfig,
        reset: datetime, day_after: str) -> None:
    zone = limits.server_timezone
    await spend_budget_of_three(client)
    spent = await client.get(DEAL)
    assert is_429(spent)
    info = spent.json()["error_info"]
    stamp = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"midnight server time ({zone})" in info and stamp in info, info
    if zone != "UTC":
        assert "(UTC)" not in info

    midnight_utc = datetime(2025, 3, 15, tzinfo=UTC)
    if midnight_utc < reset:                 # midnight UTC is not the server's midnight
        clock.advance(midnight_utc - START)
        assert is_429(await client.get(DEAL))
    clock.advance(reset - clock.now() - TICK)
    assert is_429(await client.get(DEAL)), "one microsecond before the server's midnight"
    clock.advance(TICK)
    fresh = await client.get(DEAL)
    assert fresh.status_code == 200
    assert num(fresh, "x-daily-ratelimit-token-remaining") == 2
    budget = app.state.limiter.snapshot()["daily_budget"]
    assert budget == {"day": day_after, "timezone": zone, "limit": 3, "used": 1,
                      "remaining": 2,
                      "resets_at": (reset + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}


# Berlin leaves CET (UTC+1) for CEST (UTC+2) at 02:00 on 30 March 2025: that day is 23 hours
# long, from 23:00 UTC on the 29th to 22:00 UTC on the 30th.
@pytest.mark.parametrize("clock", [Clock(frozen_at=datetime(2025, 3, 29, 22, 30, tzinfo=UTC))],
                         ids=["berlin-dst"])
@pytest.mark.parametrize("limits", [LimitConfig(budget=1, server_timezone="Europe/Berlin")],
                         ids=["berlin"])
async def test_a_daylight_saving_day_is_23_hours_long(client: httpx.AsyncClient, clock: Clock,
                                                      app: SandboxApp) -> None:
    assert (await client.get(DEAL)).status_code == 200           # 23:30 CET on the 29th
    assert is_429(await client.get(DEAL))
    clock.advance(timedelta(minutes=30))                          # 00:00 CET on the 30th
    assert (await client.get(DEAL)).status_code == 200
    assert app.state.limiter.snapshot()["daily_budget"]["resets_at"] == "2025-03-30T22:00:00Z"
    clock.advance(timedelta(hours=23) - TICK)
    assert is_429(await client.get(DEAL))
    clock.advance(TICK)                                           # 00:00 CEST on the 31st
    assert (await client.get(DEAL)).status_code == 200
    assert app.state.limiter.snapshot()["daily_budget"]["day"] == "2025-03-31"


@pytest.mark.parametrize("limits", [LimitConfig(budget=3, block_after=2,
                                                server_timezone="America/New_York")],
                         ids=["new-york"])
async def test_the_block_page_names_the_server_time_zone(client: httpx.AsyncClient) -> None:
    await spend_budget_of_three(client)
    statuses = [(await client.get(DEAL, headers=BLOCK_PAGE)).status_code for _ in range(4)]
    assert statuses == [429, 429, 429, 403]
    page = (await client.get(DEAL, headers=BLOCK_PAGE)).text
    assert "midnight server time (America/New_York)" in page
    assert "UTC" not in page


async def test_the_time_zone_changes_through_the_admin_endpoint(
        client: httpx.AsyncClient, app: SandboxApp) -> None:
    assert (await client.get("/_sandbox/limits")).json()["server_timezone"] == "UTC"
    await client.get(DEAL)
    changed = await client.patch("/_sandbox/limits", json={"server_timezone": "Asia/Tokyo"})
    assert changed.status_code == 200 and changed.json()["server_timezone"] == "Asia/Tokyo"
    budget = app.state.limiter.snapshot()["daily_budget"]
    assert (budget["timezone"], budget["day"], budget["resets_at"], budget["used"]) == (
        "Asia/Tokyo", "2025-03-14", "2025-03-14T15:00:00Z", 1), "usage carries over"


# ---------------------------------------------------------------------- bad values


@pytest.mark.parametrize(("body", "needle"), [
    ({"success_headers": "no"}, "'success_headers' must be true or false"),
    ({"daily_headers": 0}, "'daily_headers' must be true or false"),
    ({"search_headers": "both"}, "'search_headers' must be one of search, burst"),
    ({"server_timezone": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
    ({"server_timezone": "../../etc/passwd"}, "unknown time zone"),
    ({"server_timezone": 2}, "'server_timezone' must be a string"),
])
async def test_switches_refuse_bad_values(client: httpx.AsyncClient, app: SandboxApp,
                                          body: dict[str, Any], needle: str) -> None:
    before = app.state.limiter.config
    refused = await client.patch("/_sandbox/limits", json=body)
    assert refused.status_code == 400
    assert needle in f"{refused.json()['error']} {refused.json().get('error_info', '')}"
    assert app.state.limiter.config == before


def test_an_unknown_zone_fails_when_the_config_is_made() -> None:
    with pytest.raises(ValueError, match=r"unknown time zone 'Europe/Atlantis'.*IANA"):
        LimitConfig(server_timezone="Europe/Atlantis")


@pytest.mark.parametrize("limits", [LimitConfig(server_timezone="Asia/Tokyo")], ids=["tokyo"])
async def test_the_legacy_write_counter_keeps_the_utc_day(client: httpx.AsyncClient,
                                                          clock: Clock) -> None:
    """Pipedrive documents ``x-daily-requests-left`` per UTC day; only the token budget
    follows the server's zone."""
    patched = await client.patch(DEAL, json={"value": 1})
    assert num(patched, "x-daily-requests-left") == 9_999
    clock.advance(datetime(2025, 3, 14, 15, tzinfo=UTC) - START)      # midnight in Tokyo
    tokyo = await client.patch(DEAL, json={"value": 2})
    assert num(tokyo, "x-daily-ratelimit-token-remaining") == GROWTH_BUDGET - 5, "a new budget"
    assert num(tokyo, "x-daily-requests-left") == 9_998, "not a new UTC day yet"
    clock.advance(timedelta(hours=9))                                 # midnight UTC
    utc = await client.patch(DEAL, json={"value": 3})
    assert num(utc, "x-daily-requests-left") == 9_999
    assert num(utc, "x-daily-ratelimit-token-remaining") == GROWTH_BUDGET - 10, "same budget day"
