"""itemSearch and the per-entity searches: term rules, matching, fields, related items, paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from explorer.sandbox.search import build_search_index
from explorer.sandbox.store import Store
from tests.sandbox.paged import v2_all

JSON = dict[str, Any]
ITEMS = "/api/v2/itemSearch"


@pytest.fixture(autouse=True)
def _indexed(store: Store) -> None:
    # Demo generation builds the index; this only covers a store generated without it.
    if not store.conn.execute("SELECT COUNT(*) FROM search_text").fetchone()[0]:
        build_search_index(store)


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> JSON:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    body: JSON = r.json()
    assert body["success"] is True
    return body


async def _all(client: httpx.AsyncClient, path: str, **params: Any) -> list[JSON]:
    """Every item of a search, page by page."""
    items: list[JSON] = []
    cursor = None
    while True:
        extra = {"cursor": cursor} if cursor else {}
        body = await _get(client, path, **params, **extra)
        items += body["data"]["items"]
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            return items


async def _error(client: httpx.AsyncClient, path: str, **params: Any) -> JSON:
    r = await client.get(path, params=params)
    assert r.status_code == 400, r.text
    body: JSON = r.json()
    assert body["success"] is False and body["data"] is None
    assert body["error"] and body["error_info"]
    return body


async def _persons(client: httpx.AsyncClient) -> list[JSON]:
    persons: list[JSON] = (await _get(client, "/api/v2/persons", limit=200))["data"]
    return persons


def _keys(items: list[JSON]) -> list[tuple[str, Any]]:
    return [(i["item"]["type"], i["item"]["id"]) for i in items]


# ---------------------------------------------------------------------- term rules


async def test_term_needs_two_characters_or_exact_match(client: httpx.AsyncClient) -> None:
    # One record of each kind named by a single letter; no demo value is exactly "Q".
    created = {}
    for kind, path, body in (("person", "persons", {"name": "Q"}),
                             ("organization", "organizations", {"name": "Q"}),
                             ("deal", "deals", {"title": "Q"})):
        response = await client.post(f"/api/v2/{path}", json=body)
        assert response.status_code == 200, response.text
        created[kind] = response.json()["data"]["id"]
    for path, kinds in ((ITEMS, ("person", "organization", "deal")),
                        ("/api/v2/deals/search", ("deal",)),
                        ("/api/v2/persons/search", ("person",)),
                        ("/api/v2/organizations/search", ("organization",))):
        body = await _error(client, path, term="a")
        assert "2 characters" in body["error"]
        assert "exact_match" in body["error_info"]
        body = await _error(client, path)
        assert "term" in body["error"]
        await _error(client, path, term="  ")
        one = await _all(client, path, term="q", exact_match="true")
        assert sorted(_keys(one)) == sorted((kind, created[kind]) for kind in kinds)
    two = await _get(client, ITEMS, term="an")
    assert two["data"]["items"]


# ---------------------------------------------------------------------- matching


async def test_partial_and_exact_match(client: httpx.AsyncClient) -> None:
    person = next(p for p in await _persons(client) if len(p["name"]) >= 8)
    name = person["name"]
    inner = name[1:-1]
    partial = await _all(client, "/api/v2/persons/search", term=inner.lower(), limit=500)
    assert person["id"] in [i["item"]["id"] for i in partial]

    exact = await _all(client, "/api/v2/persons/search", term=name.upper(), exact_match="true")
    assert person["id"] in [i["item"]["id"] for i in exact]
    not_whole = await _all(client, "/api/v2/persons/search", term=inner, exact_match="true")
    assert person["id"] not in [i["item"]["id"] for i in not_whole]


async def test_exact_title_ranks_first(client: httpx.AsyncClient) -> None:
    person = (await _persons(client))[0]
    items = (await _get(client, ITEMS, term=person["name"]))["data"]["items"]
    scores = [i["result_score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    top = items[0]["item"]
    assert (top.get("name") or top.get("title")).lower() == person["name"].lower()
    assert ("person", person["id"]) in _keys(items)


async def test_item_shapes(client: httpx.AsyncClient) -> None:
    deal = (await _get(client, "/api/v2/deals", limit=1))["data"][0]
    title = deal["title"]
    # A custom text value and a note that contain the title: the item lists exactly these
    # as its matched custom field values and notes (no demo value or note holds a title).
    fields = (await _get(client, "/api/v2/dealFields", limit=500))["data"]
    key = next(f["field_code"] for f in fields
               if f["is_custom_field"] and f["field_type"] == "varchar")
    patched = await client.patch(f"/api/v2/deals/{deal['id']}",
                                 json={"custom_fields": {key: f"Re: {title}"}})
    assert patched.status_code == 200, patched.text
    note = await client.post("/api/v1/notes", json={"content": f"Call about {title} went well",
                                                    "deal_id": deal["id"]})
    assert note.status_code == 200, note.text
    items = (await _get(client, ITEMS, term=title, item_types="deal",
                         include_fields="deal.cc_email"))["data"]["items"]
    item = next(i["item"] for i in items if i["item"]["id"] == deal["id"])
    assert item["type"] == "deal" and item["title"] == title
    assert item["owner"] == {"id": deal["owner_id"]}
    stage = (await _get(client, f"/api/v2/stages/{deal['stage_id']}"))["data"]
    assert item["stage"] == {"id": stage["id"], "name": stage["name"]}
    assert item["status"] == deal["status"] and item["currency"] == deal["currency"]
    assert item["cc_email"].endswith("@pipedrivemail.com")
    assert item["custom_fields"] == [f"Re: {title}"]
    assert item["notes"] == [f"Call about {title} went well"]


# ---------------------------------------------------------------------- item_types and fields


async def test_item_types_restrict_results(client: httpx.AsyncClient) -> None:
    items = await _all(client, ITEMS, term="an", item_types="person,organization")
    assert items and {i["item"]["type"] for i in items} <= {"person", "organization"}
    empty = await _get(client, ITEMS, term="an", item_types="file,mail_attachment,project")
    assert empty["data"]["items"] == []
    body = await _error(client, ITEMS, term="an", item_types="deal,spaceship")
    assert "spaceship" in body["error"]


async def test_fields_restrict_matching(client: httpx.AsyncClient) -> None:
    person = next(p for p in await _persons(client) if p.get("emails"))
    local = person["emails"][0]["value"].split("@")[0]
    found = await _all(client, "/api/v2/persons/search", term=local, fields="email")
    assert person["id"] in [i["item"]["id"] for i in found]
    for i in found:
        assert any(local.lower() in e.lower() for e in i["item"]["emails"])
    by_name = await _all(client, "/api/v2/persons/search", term=local, fields="name")
    assert all(local.lower() in i["item"]["name"].lower() for i in by_name)

    word = person["name"].split()[0]
    deals = await _all(client, ITEMS, term=word, item_types="deal", fields="title")
    assert all(word.lower() in i["item"]["title"].lower() for i in deals)

    body = await _error(client, ITEMS, term="an", item_types="deal", fields="email")
    assert "email" in body["error"] and "deal" in body["error"]
    await _error(client, ITEMS, term="an", fields="colour")
    await _error(client, "/api/v2/deals/search", term="an", fields="email")
    await _error(client, "/api/v2/organizations/search", term="an", fields="phone")


async def test_lead_email_and_phone_match_only_unlinked_leads(client: httpx.AsyncClient) -> None:
    # Pipedrive matches a lead's own email/phone only for leads without a linked contact;
    # every lead has one (title plus person or organization is required), so none match,
    # while the linked person is found by the same email.
    person = next(p for p in await _persons(client) if p.get("emails"))
    email = person["emails"][0]["value"]
    leads = await _all(client, ITEMS, term=email, item_types="lead", fields="email,phone")
    assert leads == []
    both = await _all(client, ITEMS, term=email, item_types="lead,person", fields="email")
    everyone = await v2_all(client, "/api/v2/persons", limit=500)
    having = {("person", p["id"]) for p in everyone
              if any(email.lower() in e["value"].lower() for e in p.get("emails") or ())}
    assert ("person", person["id"]) in having
    assert sorted(_keys(both)) == sorted(having)


async def test_custom_fields_are_searched_by_value(client: httpx.AsyncClient) -> None:
    fields = (await _get(client, "/api/v2/dealFields", limit=500))["data"]
    texts = {f["field_code"] for f in fields
             if f["is_custom_field"] and f["field_type"] in ("varchar", "text")}
    deals = (await _get(client, "/api/v2/deals", limit=500))["data"]
    deal, value = next(
        (d, v) for d in deals for k, v in (d.get("custom_fields") or {}).items()
        if k in texts and isinstance(v, str) and len(v) >= 3
    )
    found = await _all(client, "/api/v2/deals/search", term=value, fields="custom_fields",
                       limit=500)
    item = next(i["item"] for i in found if i["item"]["id"] == deal["id"])
    assert value in item["custom_fields"]
    assert all(i["item"]["custom_fields"] for i in found)


# ---------------------------------------------------------------------- related items


async def test_related_items_of_a_found_person(client: httpx.AsyncClient) -> None:
    leads = (await _get(client, "/api/v1/leads", limit=500))["data"]
    lead = next(lead for lead in leads if lead.get("person_id"))
    person = (await _get(client, f"/api/v2/persons/{lead['person_id']}"))["data"]
    body = await _get(client, ITEMS, term=person["name"], item_types="person",
                      exact_match="true", search_for_related_items="true")
    assert ("person", person["id"]) in _keys(body["data"]["items"])
    related = _keys(body["data"]["related_items"])
    assert ("lead", lead["id"]) in related
    deals = (await _get(client, "/api/v2/deals", person_id=person["id"]))["data"]
    assert {("deal", d["id"]) for d in deals[:100]} <= set(related)
    assert all(r["result_score"] == 0 for r in body["data"]["related_items"])

    plain = await _get(client, ITEMS, term=person["name"], item_types="person",
                       exact_match="true")
    assert plain["data"]["related_items"] == []


async def test_related_items_of_a_found_organization(client: httpx.AsyncClient) -> None:
    leads = (await _get(client, "/api/v1/leads", limit=500))["data"]
    lead = next(lead for lead in leads if lead.get("organization_id"))
    org = (await _get(client, f"/api/v2/organizations/{lead['organization_id']}"))["data"]
    body = await _get(client, ITEMS, term=org["name"], item_types="organization",
                      exact_match="true", search_for_related_items="true")
    assert ("organization", org["id"]) in _keys(body["data"]["items"])
    related = set(_keys(body["data"]["related_items"]))
    assert ("lead", lead["id"]) in related
    persons = (await _get(client, "/api/v2/persons", org_id=org["id"]))["data"]
    deals = (await _get(client, "/api/v2/deals", org_id=org["id"]))["data"]
    assert {("person", p["id"]) for p in persons[:100]} <= related
    assert {("deal", d["id"]) for d in deals[:100]} <= related


# ---------------------------------------------------------------------- paging


async def test_paging_returns_each_item_once(client: httpx.AsyncClient) -> None:
    paged = await _all(client, ITEMS, term="an", limit=7)
    keys = _keys(paged)
    assert len(keys) == len(set(keys)) > 7
    whole = await _all(client, ITEMS, term="an", limit=100)
    assert set(keys) == set(_keys(whole))
    scores = [i["result_score"] for i in paged]
    assert scores == sorted(scores, reverse=True)

    deals = await _all(client, "/api/v2/deals/search", term="an", limit=3)
    assert len(_keys(deals)) == len(set(_keys(deals)))


async def test_limits_and_cursor_errors(client: httpx.AsyncClient) -> None:
    await _error(client, ITEMS, term="an", limit=101)
    await _get(client, "/api/v2/deals/search", term="an", limit=500)
    await _error(client, "/api/v2/deals/search", term="an", limit=501)
    await _error(client, ITEMS, term="an", cursor="not-a-cursor")
    await _error(client, ITEMS, term="an", include_fields="deal.secret")


# ---------------------------------------------------------------------- per-entity filters


async def test_deal_search_filters(client: httpx.AsyncClient) -> None:
    deals = (await _get(client, "/api/v2/deals", limit=200))["data"]
    deal = next(d for d in deals if d.get("person_id") and d.get("org_id"))
    term = deal["title"][:4]
    by_person = await _all(client, "/api/v2/deals/search", term=term,
                           person_id=deal["person_id"])
    assert deal["id"] in [i["item"]["id"] for i in by_person]
    assert all(i["item"]["person"]["id"] == deal["person_id"] for i in by_person)
    by_org = await _all(client, "/api/v2/deals/search", term=term,
                        organization_id=deal["org_id"])
    assert all(i["item"]["organization"]["id"] == deal["org_id"] for i in by_org)
    by_status = await _all(client, "/api/v2/deals/search", term=term, status=deal["status"])
    assert deal["id"] in [i["item"]["id"] for i in by_status]
    assert all(i["item"]["status"] == deal["status"] for i in by_status)
    await _error(client, "/api/v2/deals/search", term=term, status="deleted")


async def test_person_search_by_organization(client: httpx.AsyncClient) -> None:
    person = next(p for p in await _persons(client) if p.get("org_id"))
    term = person["name"].split()[-1]
    found = await _all(client, "/api/v2/persons/search", term=term,
                       organization_id=person["org_id"])
    assert person["id"] in [i["item"]["id"] for i in found]
    assert all(i["item"]["organization"]["id"] == person["org_id"] for i in found)


async def test_organization_search(client: httpx.AsyncClient) -> None:
    orgs = (await _get(client, "/api/v2/organizations", limit=50))["data"]
    org = next(o for o in orgs if (o.get("address") or {}).get("value"))
    found = await _all(client, "/api/v2/organizations/search", term=org["name"])
    assert found[0]["item"]["name"].lower() == org["name"].lower()
    address = org["address"]["value"]
    by_address = await _all(client, "/api/v2/organizations/search", term=address,
                            fields="address", exact_match="true")
    item = next(i["item"] for i in by_address if i["item"]["id"] == org["id"])
    assert item["address"] == address


# ---------------------------------------------------------------------- freshness


async def test_created_renamed_and_deleted_records_are_found(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v2/deals", json={"title": "Zyxwvut quarterly renewal"})
    assert r.status_code == 200, r.text
    deal_id = r.json()["data"]["id"]
    found = await _get(client, "/api/v2/deals/search", term="zyxwvut")
    assert [i["item"]["id"] for i in found["data"]["items"]] == [deal_id]

    r = await client.patch(f"/api/v2/deals/{deal_id}", json={"title": "Qwertzu expansion"})
    assert r.status_code == 200, r.text
    assert (await _get(client, "/api/v2/deals/search", term="zyxwvut"))["data"]["items"] == []
    found = await _get(client, ITEMS, term="qwertzu")
    assert _keys(found["data"]["items"]) == [("deal", deal_id)]

    r = await client.post("/api/v1/notes", json={"deal_id": deal_id,
                                                 "content": "<p>Talked about <b>Plumbus</b></p>"})
    assert r.status_code in (200, 201), r.text
    found = await _get(client, ITEMS, term="plumbus", fields="notes")
    item = found["data"]["items"][0]["item"]
    assert item["id"] == deal_id and item["notes"] == ["Talked about Plumbus"]

    r = await client.delete(f"/api/v2/deals/{deal_id}")
    assert r.status_code == 200, r.text
    assert (await _get(client, ITEMS, term="qwertzu"))["data"]["items"] == []


async def test_new_person_is_found_by_email(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v2/persons", json={
        "name": "Ottoline Quibble",
        "emails": [{"value": "oquibble@example.org", "primary": True, "label": "work"}],
    })
    assert r.status_code == 200, r.text
    person_id = r.json()["data"]["id"]
    found = await _get(client, "/api/v2/persons/search", term="oquibble@example.org",
                       exact_match="true", fields="email")
    assert [i["item"]["id"] for i in found["data"]["items"]] == [person_id]
    assert found["data"]["items"][0]["item"]["emails"] == ["oquibble@example.org"]


async def test_product_search_by_name_and_code(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v2/products", json={"name": "Zyxwq widget", "code": "4242"})
    assert r.status_code == 201, r.text
    product_id = r.json()["data"]["id"]
    for term, fields in (("zyxwq", "name"), ("4242", "code")):
        found = await _get(client, "/api/v2/products/search", term=term, fields=fields,
                           include_fields="product.price")
        items = [i["item"] for i in found["data"]["items"]]
        assert [i["id"] for i in items] == [product_id]
        assert items[0]["type"] == "product" and items[0]["name"] == "Zyxwq widget"
        assert items[0]["code"] == 4242  # this operation's schema: an integer
    found = await _get(client, "/api/v2/products/search", term="zyxwq", fields="code")
    assert found["data"]["items"] == []
    r = await client.get("/api/v2/products/search", params={"term": "zyxwq", "fields": "notes"})
    assert r.status_code == 400


async def test_lead_search_filters_by_person_and_organization(
    client: httpx.AsyncClient,
) -> None:
    persons = (await client.get("/api/v2/persons", params={"limit": 2})).json()["data"]
    orgs = (await client.get("/api/v2/organizations", params={"limit": 1})).json()["data"]
    made = []
    for person, org in ((persons[0], None), (persons[1], orgs[0])):
        body = {"title": "Quuxbarn lead", "person_id": person["id"]}
        if org is not None:
            body["organization_id"] = org["id"]
        r = await client.post("/v1/leads", json=body)
        assert r.status_code in (200, 201), r.text
        made.append(r.json()["data"]["id"])
    found = await _get(client, "/api/v2/leads/search", term="quuxbarn")
    assert sorted(i["item"]["id"] for i in found["data"]["items"]) == sorted(made)
    by_person = await _get(client, "/api/v2/leads/search", term="quuxbarn",
                           person_id=persons[0]["id"], include_fields="lead.was_seen")
    items = [i["item"] for i in by_person["data"]["items"]]
    assert [i["id"] for i in items] == [made[0]]
    assert items[0]["type"] == "lead" and items[0]["was_seen"] is False
    by_org = await _get(client, "/api/v2/leads/search", term="quuxbarn",
                        organization_id=orgs[0]["id"])
    assert [i["item"]["id"] for i in by_org["data"]["items"]] == [made[1]]
