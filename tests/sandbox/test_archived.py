"""Archived records: v2 deals and v1 leads are listed apart from the others, and
``is_archived`` on a PATCH moves a record between the two lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store
from tests.sandbox.paged import v2_all

V1, V2 = "/api/v1", "/api/v2"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen_at=NOW)


async def v1_all(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    start = 0
    while True:
        response = await client.get(url, params={"start": start, "limit": 500})
        assert response.status_code == 200, response.text
        out += response.json()["data"]
        if not response.json()["additional_data"]["more_items_in_collection"]:
            return out
        start += 500


async def listed(client: httpx.AsyncClient, url: str, item_id: Any) -> tuple[bool, bool]:
    """Whether ``item_id`` is in the list at ``url`` and in its ``/archived`` list (all pages;
    v1 lists page by offset, v2 lists by cursor)."""
    every = v1_all if url.startswith(V1) else v2_all
    return (item_id in {x["id"] for x in await every(client, url)},
            item_id in {x["id"] for x in await every(client, f"{url}/archived")})


def test_demo_data_has_archived_deals_and_leads(store: Store) -> None:
    deals = store.select("deals")
    archived = [d for d in deals if d["is_archived"]]
    assert 0.03 * len(deals) < len(archived) < 0.3 * len(deals)
    # Archived deals are old closed ones or long-stale open ones, archived after they closed.
    for deal in archived:
        assert deal["archive_time"] >= (deal["close_time"] or deal["add_time"])
        assert deal["update_time"] >= deal["archive_time"]
    assert all(d["archive_time"] is None for d in deals if not d["is_archived"])
    assert any(lead["is_archived"] for lead in store.select("leads"))


async def test_deal_lists_split_archived_from_the_rest(client: httpx.AsyncClient,
                                                      store: Store) -> None:
    active = await v2_all(client, f"{V2}/deals")
    archived = await v2_all(client, f"{V2}/deals/archived")
    stored = store.select("deals")
    assert {d["id"] for d in active} == {d["id"] for d in stored if not d["is_archived"]}
    assert {d["id"] for d in archived} == {d["id"] for d in stored if d["is_archived"]}
    assert all(d["is_archived"] is True and d["archive_time"] for d in archived)
    assert all(d["is_archived"] is False and d["archive_time"] is None for d in active)


async def test_archived_list_takes_the_deal_filters(client: httpx.AsyncClient,
                                                   store: Store) -> None:
    archived = [d for d in store.select("deals") if d["is_archived"]]
    owner = archived[0]["owner_id"]
    expected = {d["id"] for d in archived if d["owner_id"] == owner and d["status"] == "won"}
    got = await v2_all(client, f"{V2}/deals/archived", owner_id=owner, status="won")
    assert {d["id"] for d in got} == expected


async def test_patch_is_archived_moves_a_deal_between_the_lists(
        client: httpx.AsyncClient, clock: Clock) -> None:
    deal = (await client.get(f"{V2}/deals", params={"limit": 1})).json()["data"][0]
    clock.advance(60)
    archived = await client.patch(f"{V2}/deals/{deal['id']}", json={"is_archived": True})
    assert archived.status_code == 200, archived.text
    body = archived.json()["data"]
    stamp = (NOW + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["is_archived"] is True and body["archive_time"] == stamp
    assert body["update_time"] == stamp
    assert await listed(client, f"{V2}/deals", deal["id"]) == (False, True)
    one = (await client.get(f"{V2}/deals/{deal['id']}")).json()["data"]
    assert one["is_archived"] is True  # an archived deal is still there by id

    clock.advance(60)
    back = (await client.patch(f"{V2}/deals/{deal['id']}",
                               json={"is_archived": False})).json()["data"]
    assert back["is_archived"] is False and back["archive_time"] is None
    assert await listed(client, f"{V2}/deals", deal["id"]) == (True, False)

    log = (await client.get(f"{V1}/deals/{deal['id']}/changelog")).json()["data"]
    flips = [(e["old_value"], e["new_value"]) for e in log if e["field_key"] == "is_archived"]
    assert flips[:2] == [("1", "0"), ("0", "1")]  # newest first


async def test_archive_time_given_in_the_request_is_kept(client: httpx.AsyncClient) -> None:
    deal_id = (await client.get(f"{V2}/deals", params={"limit": 1})).json()["data"][0]["id"]
    response = await client.patch(f"{V2}/deals/{deal_id}", json={
        "is_archived": True, "archive_time": "2026-01-02 03:04:05"})
    assert response.json()["data"]["archive_time"] == "2026-01-02T03:04:05Z"
    bad = await client.patch(f"{V2}/deals/{deal_id}", json={"archive_time": "yesterday"})
    assert bad.status_code == 400 and "archive_time" in bad.json()["error"]


async def test_a_new_deal_can_start_archived(client: httpx.AsyncClient) -> None:
    made = await client.post(f"{V2}/deals", json={"title": "Old business", "is_archived": True})
    assert made.status_code == 200, made.text
    deal = made.json()["data"]
    assert deal["is_archived"] is True and deal["archive_time"] == deal["add_time"]
    assert deal["id"] in {d["id"] for d in await v2_all(client, f"{V2}/deals/archived")}


async def test_patch_is_archived_moves_a_lead_between_the_lists(
        client: httpx.AsyncClient, clock: Clock) -> None:
    lead = (await client.get(f"{V1}/leads", params={"limit": 1})).json()["data"][0]
    clock.advance(90)
    response = await client.patch(f"{V1}/leads/{lead['id']}", json={"is_archived": True})
    assert response.status_code == 200, response.text
    moved = response.json()["data"]
    assert moved["is_archived"] is True
    assert moved["update_time"].startswith(
        (NOW + timedelta(seconds=90)).strftime("%Y-%m-%dT%H:%M:%S"))
    assert await listed(client, f"{V1}/leads", lead["id"]) == (False, True)
    await client.patch(f"{V1}/leads/{lead['id']}", json={"is_archived": False})
    assert await listed(client, f"{V1}/leads", lead["id"]) == (True, False)
