"""v1 users, filters, currencies, activity types, deal summary, changelog and participants."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import httpx
import pytest

from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store
from explorer.sandbox.v1render import related_objects
from tests.sandbox.test_v1_leads import _error, page_all

V1 = "/api/v1"


async def _data(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _v2_deals(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    deals: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/api/v2/deals", params=query)).json()
        deals += body["data"]
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            return deals


# ---------------------------------------------------------------------- users


async def test_users_and_me(client: httpx.AsyncClient) -> None:
    users = await _data(client, f"{V1}/users")
    assert len(users) >= 8
    assert [u["is_you"] for u in users].count(True) == 1
    me = await _data(client, f"{V1}/users/me")
    assert me["is_you"] is True and me["id"] == next(u["id"] for u in users if u["is_you"])
    assert all(a["admin"] for a in me["access"])
    for key in ("company_id", "company_name", "company_domain", "default_currency",
                "timezone_name", "locale"):
        assert me[key], key
    assert me == await _data(client, "/v1/users/me")
    one = await _data(client, f"{V1}/users/{users[-1]['id']}")
    assert one == users[-1]
    _error(await client.get(f"{V1}/users/999999"), 404)


# ---------------------------------------------------------------------- filters


async def test_filters_by_type_and_one_filter(client: httpx.AsyncClient) -> None:
    everything = await _data(client, f"{V1}/filters")
    kinds = Counter(f["type"] for f in everything)
    assert {"deals", "leads", "org", "people", "products", "activity"} <= set(kinds)
    for kind, count in kinds.items():
        listed = await _data(client, f"{V1}/filters", type=kind)
        assert len(listed) == count and all(f["type"] == kind for f in listed)
        assert not any("conditions" in f for f in listed)
    one = await _data(client, f"{V1}/filters/{everything[0]['id']}", include_field_code="true")
    assert one["id"] == everything[0]["id"] and one["conditions"]["glue"] == "and"
    assert all(c["field_code"] for g in one["conditions"]["conditions"]
               for c in g["conditions"])
    _error(await client.get(f"{V1}/filters", params={"type": "tickets"}), 400)
    _error(await client.get(f"{V1}/filters/999999"), 404)


# ---------------------------------------------------------------------- currencies, types


async def test_currencies_and_term(client: httpx.AsyncClient) -> None:
    currencies = await _data(client, f"{V1}/currencies")
    assert any(c["is_custom_flag"] for c in currencies)
    assert {"EUR", "USD"} <= {c["code"] for c in currencies}
    for term in ("us", "EUR", "points"):
        got = await _data(client, f"{V1}/currencies", term=term)
        expected = [c for c in currencies
                    if term.lower() in c["code"].lower() or term.lower() in c["name"].lower()]
        assert got == expected and got


async def test_activity_types(client: httpx.AsyncClient) -> None:
    types = await _data(client, f"{V1}/activityTypes")
    assert {"call", "meeting"} <= {t["key_string"] for t in types}
    assert [t["order_nr"] for t in types] == sorted(t["order_nr"] for t in types)


# ---------------------------------------------------------------------- deals summary


def _expected_summary(deals: list[dict[str, Any]]) -> dict[str, tuple[int, float]]:
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for deal in deals:
        totals[deal["currency"]][0] += 1
        totals[deal["currency"]][1] += deal["value"]
    return {code: (int(n), round(v, 2)) for code, (n, v) in totals.items()}


def _expected_weighted(deals: list[dict[str, Any]],
                       stages: dict[int, dict[str, Any]]) -> dict[str, float]:
    """Weighted value per currency as Pipedrive's help centre defines it: each deal's value
    times its probability, where "the deal probability is always prioritized over the stage
    probability" (a stage's default is 100%)."""
    weighted: dict[str, float] = defaultdict(float)
    for deal in deals:
        probability = deal.get("probability")
        if probability is None:
            probability = stages[deal["stage_id"]].get("deal_probability", 100)
        weighted[deal["currency"]] += deal["value"] * probability / 100
    return dict(weighted)


@pytest.mark.parametrize("params", [{}, {"status": "open"}, {"status": "won"},
                                    {"pipeline_id": 2}, {"user_id": 1}])
async def test_summary_matches_the_deals_list(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    v2 = {"owner_id" if k == "user_id" else k: v for k, v in params.items()}
    deals = [d for d in await _v2_deals(client, **v2) if not d.get("is_archived")]
    stages = {s["id"]: s for s in
              (await client.get("/api/v2/stages", params={"limit": 500})).json()["data"]}
    summary = await _data(client, f"{V1}/deals/summary", **params)
    expected = _expected_summary(deals)
    assert summary["total_count"] == len(deals)
    assert {c: (e["count"], e["value"]) for c, e in summary["values_total"].items()} == expected
    weighted = _expected_weighted(deals, stages)
    assert {c: e["count"] for c, e in summary["weighted_values_total"].items()} == {
        c: n for c, (n, _) in expected.items()}
    for code, entry in summary["weighted_values_total"].items():
        assert entry["value"] == pytest.approx(weighted[code], abs=0.01), code


async def test_deal_probability_counts_over_the_stage_probability(
    client: httpx.AsyncClient,
) -> None:
    stage = next(s for s in (await client.get("/api/v2/stages")).json()["data"]
                 if s["deal_probability"] not in (None, 100, 50))
    before = (await _data(client, f"{V1}/deals/summary",
                          stage_id=stage["id"]))["weighted_values_total"].get("CHF")
    body = {"title": "Weighted", "value": 1000, "currency": "CHF", "stage_id": stage["id"]}
    plain = await client.post("/api/v2/deals", json=body)
    own = await client.post("/api/v2/deals", json={**body, "probability": 50})
    assert plain.status_code == own.status_code == 200, own.text
    after = (await _data(client, f"{V1}/deals/summary",
                          stage_id=stage["id"]))["weighted_values_total"]["CHF"]
    added = 1000 * stage["deal_probability"] / 100 + 1000 * 50 / 100
    assert after["value"] == pytest.approx((before or {"value": 0})["value"] + added, abs=0.01)


def _amount(formatted: str, symbol: str) -> float:
    """The number in a formatted amount (``€1,250``, ``1,250 CHF``), its symbol checked."""
    assert formatted.startswith(symbol) or formatted.endswith(symbol), (formatted, symbol)
    number = formatted.removeprefix(symbol).removesuffix(symbol).strip().replace(",", "")
    return float(number)


async def test_summary_custom_currency(client: httpx.AsyncClient) -> None:
    currencies = {c["code"]: c for c in await _data(client, f"{V1}/currencies")}
    custom = {code for code, c in currencies.items() if c["is_custom_flag"]}
    summary = await _data(client, f"{V1}/deals/summary")
    values = summary["values_total"]
    weighted = summary["weighted_values_total"]
    assert custom & set(values), "the demo has deals in the custom currency"
    me = await _data(client, f"{V1}/users/me")
    target = currencies[me["default_currency"]]["symbol"]
    for code, entry in values.items():
        assert entry["is_custom_currency"] is (code in custom)
        # "The total value of deals formatted with deal currency. E.g. €50" (the spec).
        symbol = currencies[code]["symbol"]
        assert _amount(entry["value_formatted"], symbol) == pytest.approx(entry["value"],
                                                                          abs=0.005)
        assert _amount(weighted[code]["value_formatted"], symbol) == pytest.approx(
            weighted[code]["value"], abs=0.005)
        assert _amount(entry["value_converted_formatted"], target) == pytest.approx(
            entry["value_converted"], abs=0.005)
    assert summary["total_custom_currency_count"] == len(custom & set(values))
    converted = sum(e["value_converted"] for c, e in values.items() if c not in custom)
    assert summary["total_currency_converted_value"] == pytest.approx(converted, abs=0.05)
    # Each currency converts its weighted total at the rate of its plain total.
    weighted_converted = sum(weighted[c]["value"] * e["value_converted"] / e["value"]
                             for c, e in values.items() if c not in custom and e["value"])
    assert summary["total_weighted_currency_converted_value"] == pytest.approx(
        weighted_converted, abs=0.05)
    for key in ("total_currency_converted_value", "total_weighted_currency_converted_value"):
        assert _amount(summary[f"{key}_formatted"], target) == pytest.approx(summary[key],
                                                                             abs=0.005)
    assert all(values[c]["value_converted"] == 0 for c in custom & set(values))
    assert values["EUR"]["value_converted"] == values["EUR"]["value"]  # the admin's currency


async def test_summary_with_filter_and_stage(client: httpx.AsyncClient) -> None:
    checked = 0
    for saved in await _data(client, f"{V1}/filters", type="deals"):
        detail = await _data(client, f"{V1}/filters/{saved['id']}", include_field_code=1)
        conds = [c for g in detail["conditions"]["conditions"] for c in g["conditions"]]
        if [(c["field_code"], c["operator"]) for c in conds] != [("status", "=")]:
            continue
        by_filter = await _data(client, f"{V1}/deals/summary", filter_id=saved["id"],
                                user_id=-1)
        by_status = await _data(client, f"{V1}/deals/summary", status=conds[0]["value"])
        assert by_filter["values_total"] == by_status["values_total"]
        checked += 1
    assert checked, "the demo data has a deals filter on status"
    deal = (await client.get("/api/v2/deals", params={"limit": 1})).json()["data"][0]
    stage = await _data(client, f"{V1}/deals/summary", stage_id=deal["stage_id"])
    in_stage = [d for d in await _v2_deals(client, stage_id=deal["stage_id"])]
    assert stage["total_count"] == len(in_stage)
    _error(await client.get(f"{V1}/deals/summary", params={"status": "deleted"}), 400)
    _error(await client.get(f"{V1}/deals/summary", params={"filter_id": 999_999}), 404)


# ---------------------------------------------------------------------- deal changelog


async def test_changelog_shows_v2_patches(client: httpx.AsyncClient, clock: Clock) -> None:
    deal = (await client.get("/api/v2/deals", params={"limit": 1})).json()["data"][0]
    clock.advance(timedelta(hours=1))
    response = await client.patch(f"/api/v2/deals/{deal['id']}",
                                  json={"title": "Changelog check", "value": 4321})
    assert response.status_code == 200, response.text
    clock.advance(timedelta(hours=1))
    await client.patch(f"/api/v2/deals/{deal['id']}", json={"title": "Changelog check 2"})

    changes = await _data(client, f"{V1}/deals/{deal['id']}/changelog")
    assert changes[0]["field_key"] == "title"  # newest first
    assert changes[0]["old_value"] == "Changelog check"
    assert changes[0]["new_value"] == "Changelog check 2"
    by_key = {c["field_key"]: c for c in changes[1:]}
    assert by_key["title"]["old_value"] == deal["title"]
    assert by_key["value"]["new_value"] == "4321"
    assert by_key["value"]["actor_user_id"] == 1
    assert len(changes[0]["time"]) == 19 and changes[0]["time"] > by_key["value"]["time"]
    assert all(c["is_bulk_update_flag"] is False for c in changes)

    paged, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        body = (await client.get(f"{V1}/deals/{deal['id']}/changelog", params=params)).json()
        paged += body["data"]
        cursor = body["additional_data"].get("next_cursor")
        if cursor is None:
            break
    assert paged == changes


async def test_changelog_errors(client: httpx.AsyncClient) -> None:
    _error(await client.get(f"{V1}/deals/999999/changelog"), 404)
    deal = (await client.get("/api/v2/deals", params={"limit": 1})).json()["data"][0]
    _error(await client.get(f"{V1}/deals/{deal['id']}/changelog",
                            params={"cursor": "not a cursor"}), 400)
    _error(await client.get(f"{V1}/deals/{deal['id']}/changelog", params={"limit": 0}), 400)


# ---------------------------------------------------------------------- deal participants


async def _deal_with_person(client: httpx.AsyncClient) -> dict[str, Any]:
    deals = (await client.get("/api/v2/deals", params={"limit": 50})).json()["data"]
    deal: dict[str, Any] = next(d for d in deals if d.get("person_id"))
    return deal


async def _new_person(client: httpx.AsyncClient, name: str, owner_id: int) -> int:
    response = await client.post("/api/v2/persons", json={"name": name, "owner_id": owner_id})
    assert response.status_code == 200, response.text
    person_id: int = response.json()["data"]["id"]
    return person_id


async def _activity(client: httpx.AsyncClient, deal_id: int, *person_ids: int) -> None:
    parts = [{"person_id": p, "primary": i == 0} for i, p in enumerate(person_ids)]
    response = await client.post("/api/v2/activities", json={
        "subject": "Participants check", "deal_id": deal_id, "participants": parts})
    assert response.status_code == 200, response.text


async def test_participants_include_the_deals_person(client: httpx.AsyncClient) -> None:
    deal = await _deal_with_person(client)
    body = (await client.get(f"{V1}/deals/{deal['id']}/participants")).json()
    assert body["success"] is True
    first = body["data"][0]
    assert first["person_id"]["value"] == deal["person_id"] == first["person"]["id"]
    assert first["related_item_type"] == "deal" and first["related_item_id"] == deal["id"]
    assert first["related_item_data"] == {"deal_id": deal["id"], "title": deal["title"]}
    assert len(first["add_time"]) == 19 and first["active_flag"] is True
    person = (await client.get(f"/api/v2/persons/{deal['person_id']}")).json()["data"]
    assert first["person"]["name"] == person["name"]
    assert first["person"]["owner_id"]["value"] == person["owner_id"]
    assert [e["value"] for e in first["person_id"]["email"]] == [
        e["value"] for e in person["emails"]]
    assert str(person["owner_id"]) in body["related_objects"]["user"]


async def test_related_persons_carry_their_owner_id(client: httpx.AsyncClient) -> None:
    deal = await _deal_with_person(client)
    extra = await _new_person(client, "Participant Owned", owner_id=3)
    await _activity(client, deal["id"], extra)
    body = (await client.get(f"{V1}/deals/{deal['id']}/participants")).json()
    related = body["related_objects"]["person"]
    assert set(related) == {str(p["person_id"]["value"]) for p in body["data"]}
    assert str(extra) in related
    for key, person in related.items():
        v2 = (await client.get(f"/api/v2/persons/{key}")).json()["data"]
        assert type(person["owner_id"]) is int and person["owner_id"] == v2["owner_id"]
    assert related[str(extra)]["owner_id"] == 3
    orgs = body["related_objects"].get("organization", {})
    for item in body["data"]:
        org = item["person"].get("org_id")
        if org is not None:
            assert orgs[str(org["value"])]["people_count"] >= 1


async def test_participants_from_activities_once_each_in_order(
    client: httpx.AsyncClient, store: Store
) -> None:
    deal = await _deal_with_person(client)
    url = f"{V1}/deals/{deal['id']}/participants"
    before = [p["person_id"]["value"] for p in (await client.get(url)).json()["data"]]
    added = [await _new_person(client, f"Participant {i}", owner_id=1) for i in range(5)]
    await _activity(client, deal["id"], added[0], added[1], deal["person_id"])
    await _activity(client, deal["id"], added[2], added[1], added[3], added[4])
    data = (await client.get(url)).json()["data"]
    ids = [p["person_id"]["value"] for p in data]
    assert ids == before + [a for a in added if a not in before]
    assert len({p["id"] for p in data}) == len(data)
    assert data[-1]["added_by_user_id"]["id"] == 1  # the token's user created the activity

    # Paging: every participant exactly once, whatever the page size.
    for limit in (1, 2, 3, len(ids), 500):
        assert await page_all(client, url, limit) == data
    tail = (await client.get(url, params={"start": len(ids) - 1, "limit": 1})).json()
    assert tail["additional_data"]["more_items_in_collection"] is False
    assert [p["person_id"]["value"] for p in tail["data"]] == ids[-1:]
    past = (await client.get(url, params={"start": len(ids) + 5})).json()
    assert past["data"] == [] and past["additional_data"]["pagination"]["start"] == len(ids) + 5

    # A deleted person is no longer a participant.
    assert (await client.delete(f"/api/v2/persons/{added[2]}")).status_code == 200
    again = [p["person_id"]["value"] for p in (await client.get(url)).json()["data"]]
    assert again == [i for i in ids if i != added[2]]

    # Reads are a fixed number of queries, however many participants there are.
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        await client.get(url)
        many = len(statements)
        statements.clear()
        await client.get(url, params={"limit": 1})
        assert len(statements) == many, statements
    finally:
        store.conn.set_trace_callback(None)


async def test_participants_prefixes_and_errors(client: httpx.AsyncClient) -> None:
    deal = await _deal_with_person(client)
    path = f"/deals/{deal['id']}/participants"
    assert (await client.get(f"/v1{path}")).json() == (await client.get(f"/api/v1{path}")).json()
    _error(await client.get(f"{V1}/deals/999999/participants"), 404)
    _error(await client.get("/v1/deals/999999/participants"), 404)
    _error(await client.get(f"{V1}/deals/abc/participants"), 404)
    _error(await client.get(f"{V1}{path}", params={"limit": 0}), 400)
    _error(await client.get(f"{V1}{path}", params={"start": -1}), 400)
    assert (await client.delete(f"/api/v2/deals/{deal['id']}")).status_code == 200
    _error(await client.get(f"{V1}{path}"), 404)


# ---------------------------------------------------------------------- related_objects helper


def test_related_objects_carry_owner_ids(store: Store) -> None:
    person = store.select("persons", limit=1)[0]
    org = store.select("organizations", limit=1)[0]
    user = store.get("users", 1)
    assert user is not None
    related = related_objects(users=[user], persons=[person], organizations=[org])
    p = related["person"][str(person["id"])]
    assert p["owner_id"] == person["owner_id"] and p["name"] == person["name"]
    assert [e["value"] for e in p["email"]] == [e["value"] for e in person["emails"]]
    assert related["organization"][str(org["id"])]["owner_id"] == org["owner_id"]
    assert related["user"]["1"]["has_pic"] in (0, 1)
    assert related_objects() == {}
