"""v1 leads, lead labels, lead sources and lead fields: CRUD, bad input, paging and filters."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from explorer.sandbox.fields import custom_fields_of
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store

V1 = "/api/v1"


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False and body["error"]
    return body


async def page_all(client: httpx.AsyncClient, url: str, limit: int, **params: Any) -> list[Any]:
    """Every record of a v1 list read with start/limit; checks the paging keys on each page."""
    records: list[Any] = []
    start = 0
    while True:
        response = await client.get(url, params={**params, "start": start, "limit": limit})
        assert response.status_code == 200, response.text
        body = response.json()
        extra = body["additional_data"]
        page = extra.get("pagination", extra)
        assert page["start"] == start and page["limit"] == limit
        assert len(body["data"]) <= limit
        records += body["data"]
        if not page["more_items_in_collection"]:
            assert "next_start" not in page
            return records
        assert page["next_start"] == start + limit
        assert len(body["data"]) == limit
        start = page["next_start"]


async def _person_and_org(client: httpx.AsyncClient) -> tuple[int, int]:
    persons = (await client.get("/api/v2/persons", params={"limit": 1})).json()["data"]
    orgs = (await client.get("/api/v2/organizations", params={"limit": 1})).json()["data"]
    return persons[0]["id"], orgs[0]["id"]


async def _new_lead(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    person_id, _ = await _person_and_org(client)
    response = await client.post(f"{V1}/leads", json={"title": "Sandbox lead",
                                                      "person_id": person_id, **body})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


# ---------------------------------------------------------------------- lists and paging


@pytest.mark.parametrize("limit", [500, 37])
async def test_paging_returns_every_lead_exactly_once(
    client: httpx.AsyncClient, store: Store, limit: int
) -> None:
    active = await page_all(client, f"{V1}/leads", limit)
    archived = await page_all(client, f"{V1}/leads/archived", limit)
    active_ids = [lead["id"] for lead in active]
    archived_ids = [lead["id"] for lead in archived]
    assert len(active_ids) == len(set(active_ids)) and len(archived_ids) == len(set(archived_ids))
    assert not set(active_ids) & set(archived_ids)
    assert len(active_ids) + len(archived_ids) == store.count("leads")
    assert archived and all(lead["is_archived"] for lead in archived)
    assert not any(lead["is_archived"] for lead in active)


async def test_list_is_oldest_first_by_default_and_sorts(client: httpx.AsyncClient) -> None:
    leads = await page_all(client, f"{V1}/leads", 500)
    assert [x["add_time"] for x in leads] == sorted(x["add_time"] for x in leads)
    by_title = await page_all(client, f"{V1}/leads", 500, sort="title DESC")
    assert [x["title"] for x in by_title] == sorted((x["title"] for x in leads), reverse=True)
    response = await client.get(f"{V1}/leads", params={"sort": "add_time ASC, title DESC"})
    times = [x["add_time"] for x in response.json()["data"]]
    assert times == sorted(times)
    _error(await client.get(f"{V1}/leads", params={"sort": "colour ASC"}), 400)
    _error(await client.get(f"{V1}/leads", params={"limit": 501}), 400)
    _error(await client.get(f"{V1}/leads", params={"start": -1}), 400)


async def test_owner_person_and_organization_filters(client: httpx.AsyncClient) -> None:
    leads = await page_all(client, f"{V1}/leads", 500)
    sample = next(x for x in leads if x["person_id"] and x["organization_id"])
    for key in ("owner_id", "person_id", "organization_id"):
        got = await page_all(client, f"{V1}/leads", 500, **{key: sample[key]})
        assert {x["id"] for x in got} == {x["id"] for x in leads if x[key] == sample[key]}


async def test_filter_id_applies_the_saved_filter(client: httpx.AsyncClient) -> None:
    filters = (await client.get(f"{V1}/filters", params={"type": "leads"})).json()["data"]
    checked = 0
    for saved in filters:
        detail = (await client.get(f"{V1}/filters/{saved['id']}",
                                   params={"include_field_code": 1})).json()["data"]
        conditions = [c for g in detail["conditions"]["conditions"] for c in g["conditions"]]
        if len(conditions) != 1 or conditions[0]["operator"] != "=":
            continue
        cond = conditions[0]
        if cond["field_code"] != "owner_id":
            continue
        owner = int(cond["value"])
        got = await page_all(client, f"{V1}/leads", 50, filter_id=saved["id"], owner_id=-1)
        expected = await page_all(client, f"{V1}/leads", 500, owner_id=owner)
        assert got and [x["id"] for x in got] == [x["id"] for x in expected]
        checked += 1
    assert checked, "the demo data has an owner filter on leads"
    deal_filter = (await client.get(f"{V1}/filters", params={"type": "deals"})).json()["data"][0]
    _error(await client.get(f"{V1}/leads", params={"filter_id": deal_filter["id"]}), 400)
    _error(await client.get(f"{V1}/leads", params={"filter_id": 999_999}), 404)


async def test_updated_since(client: httpx.AsyncClient, clock: Clock) -> None:
    clock.advance(timedelta(days=3650))
    lead = await _new_lead(client)
    since = lead["update_time"][:19] + "Z"
    got = await page_all(client, f"{V1}/leads", 500, updated_since=since)
    assert [x["id"] for x in got] == [lead["id"]]
    _error(await client.get(f"{V1}/leads", params={"updated_since": "yesterday"}), 400)


async def test_both_prefixes_serve_v1(client: httpx.AsyncClient) -> None:
    a = await client.get("/v1/leads", params={"limit": 5})
    b = await client.get("/api/v1/leads", params={"limit": 5})
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()


# ---------------------------------------------------------------------- one lead


async def test_create_get_update_delete(
    client: httpx.AsyncClient, store: Store, clock: Clock
) -> None:
    person_id, org_id = await _person_and_org(client)
    label = (await client.get(f"{V1}/leadLabels")).json()["data"][0]
    created = await _new_lead(client, organization_id=org_id, label_ids=[label["id"]],
                              value={"amount": 1200, "currency": "USD"},
                              expected_close_date="2027-03-01", visible_to="3")
    assert created["source_name"] == "API" and created["origin"] == "API"
    assert created["creator_id"] == created["owner_id"] == 1
    assert created["label_ids"] == [label["id"]]
    assert created["value"] == {"amount": 1200, "currency": "USD"}
    assert created["add_time"].endswith("Z") and len(created["add_time"]) == 24  # ISO with ms
    uuid.UUID(created["id"])
    lead_url = f"{V1}/leads/{created['id']}"
    assert (await client.get(lead_url)).json()["data"] == created

    clock.advance(timedelta(minutes=5))
    response = await client.patch(lead_url, json={"title": "Renamed", "value": None})
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["title"] == "Renamed" and updated["value"] is None
    assert updated["label_ids"] == [label["id"]] and updated["person_id"] == person_id
    assert updated["expected_close_date"] == "2027-03-01"
    assert updated["update_time"] > created["update_time"]
    assert {c["field_key"] for c in store.changelog("leads", created["id"])} >= {"title", "value"}

    response = await client.patch(lead_url, json={"person_id": None})
    assert response.json()["data"]["person_id"] is None
    body = _error(await client.patch(lead_url, json={"organization_id": None}), 400)
    assert "person" in body["error"]

    response = await client.delete(lead_url)
    assert response.status_code == 200
    assert response.json()["data"] == {"id": created["id"]}
    _error(await client.get(lead_url), 404)
    _error(await client.patch(lead_url, json={"title": "x"}), 404)
    _error(await client.delete(lead_url), 404)


async def test_archiving_moves_a_lead_between_lists(client: httpx.AsyncClient) -> None:
    lead = await _new_lead(client)
    response = await client.patch(f"{V1}/leads/{lead['id']}", json={"is_archived": True})
    assert response.json()["data"]["is_archived"] is True
    archived = await page_all(client, f"{V1}/leads/archived", 500)
    active = await page_all(client, f"{V1}/leads", 500)
    assert lead["id"] in {x["id"] for x in archived}
    assert lead["id"] not in {x["id"] for x in active}
    await client.patch(f"{V1}/leads/{lead['id']}", json={"is_archived": False})
    assert lead["id"] in {x["id"] for x in await page_all(client, f"{V1}/leads", 500)}


async def test_unknown_or_malformed_ids_are_404(client: httpx.AsyncClient) -> None:
    for lead_id in ("not-a-uuid", "12", str(uuid.uuid4())):
        body = _error(await client.get(f"{V1}/leads/{lead_id}"), 404)
        assert body["error_info"]


async def test_lead_needs_title_and_a_contact(client: httpx.AsyncClient) -> None:
    person_id, org_id = await _person_and_org(client)
    body = _error(await client.post(f"{V1}/leads", json={"person_id": person_id}), 400)
    assert "Title" in body["error"]
    _error(await client.post(f"{V1}/leads", json={"title": " ", "person_id": person_id}), 400)
    body = _error(await client.post(f"{V1}/leads", json={"title": "No contact"}), 400)
    assert "person" in body["error"] and "organization" in body["error"]
    _error(await client.post(f"{V1}/leads", json={"title": "x", "person_id": 10**9}), 400)
    _error(await client.post(f"{V1}/leads", json={"title": "x", "organization_id": 10**9}), 400)
    ok = await client.post(f"{V1}/leads", json={"title": "Org only", "organization_id": org_id})
    assert ok.status_code == 201


@pytest.mark.parametrize("body", [
    {"value": {"amount": 10}},
    {"value": {"currency": "EUR"}},
    {"value": {"amount": "ten", "currency": "EUR"}},
    {"value": {"amount": 10, "currency": "XXX"}},
    {"label_ids": [str(uuid.uuid4())]},
    {"label_ids": "hot"},
    {"owner_id": 10**6},
    {"expected_close_date": "next week"},
    {"visible_to": "2"},
    {"title": 5},
])
async def test_bad_lead_values_are_400(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    person_id, _ = await _person_and_org(client)
    _error(await client.post(f"{V1}/leads", json={"title": "t", "person_id": person_id, **body}),
           400)


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{V1}/leads", content=b"{oops",
                                 headers={"content-type": "application/json"})
    _error(response, 400)


async def test_custom_fields_at_the_root(client: httpx.AsyncClient, store: Store) -> None:
    fields = custom_fields_of(store, "deal")
    enum = next(f for f in fields.values() if f["field_type"] == "enum")
    money = next(f for f in fields.values() if f["field_type"] == "monetary")
    option = enum["options"][0]["id"]
    lead = await _new_lead(client, **{enum["key"]: option, money["key"]: 250,
                                      f"{money['key']}_currency": "GBP"})
    assert lead[enum["key"]] == option
    assert lead[money["key"]] == 250 and lead[f"{money['key']}_currency"] == "GBP"
    unset = [k for k in fields if k not in (enum["key"], money["key"])]
    assert not any(k in lead for k in unset)  # unset custom fields are omitted
    url = f"{V1}/leads/{lead['id']}"
    response = await client.patch(url, json={enum["key"]: None})
    assert enum["key"] not in response.json()["data"]
    assert response.json()["data"][money["key"]] == 250
    body = _error(await client.patch(url, json={enum["key"]: 10**7}), 400)
    assert enum["name"] in body["error"]
    _error(await client.patch(url, json={"0" * 40: "x"}), 400)


async def test_listed_leads_show_their_custom_values(
    client: httpx.AsyncClient, store: Store
) -> None:
    keys = set(custom_fields_of(store, "deal"))
    leads = await page_all(client, f"{V1}/leads", 500)
    with_values = [x for x in leads if keys & set(x)]
    assert with_values
    for lead in with_values:
        assert all(lead[k] is not None for k in keys & set(lead))


# ---------------------------------------------------------------------- labels, sources, fields


async def test_lead_labels(client: httpx.AsyncClient) -> None:
    before = (await client.get(f"{V1}/leadLabels")).json()["data"]
    response = await client.post(f"{V1}/leadLabels", json={"name": "Partner", "color": "purple"})
    assert response.status_code == 200, response.text
    label = response.json()["data"]
    assert label["name"] == "Partner" and label["color"] == "purple"
    after = (await client.get(f"{V1}/leadLabels")).json()["data"]
    assert after == [*before, label]
    lead = await _new_lead(client, label_ids=[label["id"]])
    assert lead["label_ids"] == [label["id"]]
    _error(await client.post(f"{V1}/leadLabels", json={"name": "X", "color": "teal"}), 400)
    _error(await client.post(f"{V1}/leadLabels", json={"color": "red"}), 400)
    _error(await client.post(f"{V1}/leadLabels", json={"name": "No colour"}), 400)


async def test_lead_sources(client: httpx.AsyncClient) -> None:
    names = [s["name"] for s in (await client.get(f"{V1}/leadSources")).json()["data"]]
    assert "Manually created" in names and "API" in names
    assert len(names) == len(set(names))


async def test_lead_fields(client: httpx.AsyncClient, store: Store) -> None:
    fields = await page_all(client, f"{V1}/leadFields", 500)
    keys = [f["key"] for f in fields]
    assert "title" in keys and len(keys) == len(set(keys))
    assert set(custom_fields_of(store, "deal")) <= set(keys)
    paged = await page_all(client, f"{V1}/leadFields", 7)
    assert paged == fields
