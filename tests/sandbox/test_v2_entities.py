"""v2 deals, persons, organizations, products and activities: CRUD, bad input and paging."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from explorer.sandbox.fields import custom_fields_of
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store
from tests.sandbox.filters_reference import FIELDS_ENDPOINT, filter_matches

API = "/api/v2"

# path → (a minimal create body, a PATCH body changing one key, the changelog field it logs)
ENTITIES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "deals": ({"title": "Round trip deal"}, {"title": "Renamed deal"}, "title"),
    "persons": ({"name": "Ada Lovelace"}, {"name": "Ada King"}, "name"),
    "organizations": ({"name": "Analytical Engines"}, {"name": "Difference Engines"}, "name"),
    "products": ({"name": "Loom card"}, {"name": "Punch card"}, "name"),
    "activities": ({"subject": "Kick-off call"}, {"subject": "Follow-up"}, "subject"),
}
COLLECTION = {"deals": "deals", "persons": "persons", "organizations": "organizations",
              "products": "products", "activities": "activities"}
FIELD_ENTITY = {"deals": "deal", "persons": "person", "organizations": "organization",
                "products": "product"}
WITH_CUSTOM_FIELDS = tuple(FIELD_ENTITY)


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["error"]
    return body


async def _create(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"{API}/{path}", json=body)
    assert response.status_code == (201 if path == "products" else 200), response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def page_all(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every record of a v2 list, read page by page; the last page has next_cursor null."""
    records: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(10_000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"{API}/{path}", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= int(params.get("limit", 100))
        records += body["data"]
        cursor = body["additional_data"].get("next_cursor")
        if cursor is None:
            assert "next_cursor" in body["additional_data"]
            return records
        assert body["data"], "a page with a next_cursor must not be empty"
    raise AssertionError("paging did not end")


async def _pages(client: httpx.AsyncClient, path: str, sizes: list[int],
                 **params: Any) -> list[list[dict[str, Any]]]:
    """A v2 list page by page: the first pages with ``sizes``, the rest with 500."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        limit = sizes[len(pages)] if len(pages) < len(sizes) else 500
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"{API}/{path}", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) == limit or body["additional_data"]["next_cursor"] is None
        pages.append(body["data"])
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            return pages


def _ids(records: list[dict[str, Any]]) -> list[int]:
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "a record was returned twice"
    return ids


# ---------------------------------------------------------------------- CRUD


@pytest.mark.parametrize("path", list(ENTITIES))
async def test_create_get_patch_delete_round_trip(
    client: httpx.AsyncClient, clock: Clock, path: str
) -> None:
    create, patch, _ = ENTITIES[path]
    created = await _create(client, path, create)
    for key, value in create.items():
        assert created[key] == value
    assert created["add_time"] == created["update_time"]

    got = (await client.get(f"{API}/{path}/{created['id']}")).json()["data"]
    assert got["id"] == created["id"]
    assert {k: got[k] for k in create} == create

    clock.advance(timedelta(seconds=5))
    response = await client.patch(f"{API}/{path}/{created['id']}", json=patch)
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert {k: updated[k] for k in patch} == patch
    assert updated["update_time"] > created["update_time"]
    assert updated["add_time"] == created["add_time"]
    got = (await client.get(f"{API}/{path}/{created['id']}")).json()["data"]
    assert got == updated

    deleted = await client.delete(f"{API}/{path}/{created['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True, "data": {"id": created["id"]}}
    _error(await client.get(f"{API}/{path}/{created['id']}"), 404)


@pytest.mark.parametrize("path", list(ENTITIES))
async def test_patch_moves_update_time_and_writes_changelog(
    client: httpx.AsyncClient, clock: Clock, store: Store, path: str
) -> None:
    create, patch, field = ENTITIES[path]
    created = await _create(client, path, create)
    clock.advance(timedelta(seconds=5))
    updated = (await client.patch(f"{API}/{path}/{created['id']}", json=patch)).json()["data"]
    assert updated["update_time"] > created["update_time"]

    log = store.changelog(COLLECTION[path], created["id"])
    change = [c for c in log if c["field_key"] == field]
    assert len(change) == 1
    assert change[0]["old_value"] == create[field]
    assert change[0]["new_value"] == patch[field]
    assert change[0]["time"] == updated["update_time"]
    assert all(c["field_key"] != "update_time" for c in log)


async def test_unchanged_patch_still_moves_update_time(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    person = await _create(client, "persons", {"name": "Same Name"})
    clock.advance(timedelta(seconds=5))
    again = (await client.patch(f"{API}/persons/{person['id']}",
                                json={"name": "Same Name"})).json()["data"]
    assert again["update_time"] > person["update_time"]


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("path", list(ENTITIES))
async def test_unknown_body_key_fails_schema_validation(
    client: httpx.AsyncClient, path: str
) -> None:
    create = ENTITIES[path][0]
    body = _error(await client.post(f"{API}/{path}", json={**create, "colour": "red"}), 400)
    assert body["code"] == "ERR_SCHEMA_VALIDATION_FAILED"
    assert "colour" in body["error"]
    created = await _create(client, path, create)
    body = _error(await client.patch(f"{API}/{path}/{created['id']}", json={"colour": "red"}),
                  400)
    assert body["code"] == "ERR_SCHEMA_VALIDATION_FAILED"


def _custom_field(store: Store, path: str, field_type: str) -> dict[str, Any]:
    fields = [f for f in custom_fields_of(store, FIELD_ENTITY[path]).values()
              if f["field_type"] == field_type]
    assert fields, f"the demo data has no {field_type} custom field on {path}"
    return fields[0]


@pytest.mark.parametrize("path", WITH_CUSTOM_FIELDS)
async def test_custom_fields_nested_accepted_root_level_rejected(
    client: httpx.AsyncClient, store: Store, path: str
) -> None:
    create = ENTITIES[path][0]
    key = _custom_field(store, path, "varchar")["key"]
    body = _error(await client.post(f"{API}/{path}", json={**create, key: "x"}), 400)
    assert body["code"] == "ERR_SCHEMA_VALIDATION_FAILED"
    assert key in body["error"]

    created = await _create(client, path, {**create, "custom_fields": {key: "nested"}})
    assert created["custom_fields"][key] == "nested"
    got = (await client.get(f"{API}/{path}/{created['id']}")).json()["data"]
    assert got["custom_fields"][key] == "nested"
    body = _error(await client.post(f"{API}/{path}",
                                    json={**create, "custom_fields": {"0" * 40: 1}}), 400)
    assert body["code"] == "ERR_SCHEMA_VALIDATION_FAILED"


@pytest.mark.parametrize("path", WITH_CUSTOM_FIELDS)
@pytest.mark.parametrize("field_type", ["enum", "set"])
async def test_option_id_not_among_options_is_rejected(
    client: httpx.AsyncClient, store: Store, path: str, field_type: str
) -> None:
    fields = [f for f in custom_fields_of(store, FIELD_ENTITY[path]).values()
              if f["field_type"] == field_type]
    if not fields:
        pytest.skip(f"no {field_type} custom field on {path} in the demo data")
    field = fields[0]
    valid = field["options"][0]["id"]
    missing = max(o["id"] for o in field["options"]) + 1000
    bad = [valid, missing] if field_type == "set" else missing
    create = ENTITIES[path][0]
    body = _error(await client.post(f"{API}/{path}",
                                    json={**create, "custom_fields": {field["key"]: bad}}), 400)
    assert str(missing) in body["error"]
    good = [valid] if field_type == "set" else valid
    created = await _create(client, path, {**create, "custom_fields": {field["key"]: good}})
    assert created["custom_fields"][field["key"]] == good
    _error(await client.patch(f"{API}/{path}/{created['id']}",
                              json={"custom_fields": {field["key"]: bad}}), 400)


@pytest.mark.parametrize("key", ["emails", "phones"])
async def test_more_than_50_emails_or_phones_is_rejected(
    client: httpx.AsyncClient, key: str
) -> None:
    items = [{"value": f"{i}@example.com" if key == "emails" else f"+372 555 {i:04d}"}
             for i in range(51)]
    body = _error(await client.post(f"{API}/persons", json={"name": "Many", key: items}), 400)
    assert "50" in body["error"] and key in body["error"]

    person = await _create(client, "persons", {"name": "Many", key: items[:50]})
    assert len(person[key]) == 50
    assert [i["primary"] for i in person[key]].count(True) == 1
    _error(await client.patch(f"{API}/persons/{person['id']}", json={key: items}), 400)


async def test_contact_items_must_be_value_objects(client: httpx.AsyncClient) -> None:
    for emails in (["ann@example.com"], [{"primary": True}], [{"value": "a@b.c", "x": 1}]):
        _error(await client.post(f"{API}/persons", json={"name": "Ann", "emails": emails}), 400)
    person = await _create(client, "persons", {"name": "Ann Lee", "emails": [
        {"value": "ann@example.com", "label": "home"},
        {"value": "ann@work.example", "primary": True}]})
    assert person["emails"] == [
        {"value": "ann@example.com", "primary": False, "label": "home"},
        {"value": "ann@work.example", "primary": True, "label": "work"},
    ]
    assert (person["first_name"], person["last_name"]) == ("Ann", "Lee")


@pytest.mark.parametrize("path", ["deals", "persons", "organizations"])
async def test_visible_to_not_allowed_is_forbidden(client: httpx.AsyncClient, path: str) -> None:
    create = ENTITIES[path][0]
    _error(await client.post(f"{API}/{path}", json={**create, "visible_to": 9}), 403)
    created = await _create(client, path, {**create, "visible_to": 7})
    assert created["visible_to"] == 7
    _error(await client.patch(f"{API}/{path}/{created['id']}", json={"visible_to": 9}), 403)


async def test_product_visible_to_outside_the_spec_enum_fails_validation(
    client: httpx.AsyncClient,
) -> None:
    # The products spec declares visible_to as enum [1, 3, 5, 7], so schema validation answers.
    body = _error(await client.post(f"{API}/products", json={"name": "P", "visible_to": 9}), 400)
    assert body["code"] == "ERR_SCHEMA_VALIDATION_FAILED"


@pytest.mark.parametrize("path", list(ENTITIES))
async def test_unknown_id_is_404(client: httpx.AsyncClient, path: str) -> None:
    patch = ENTITIES[path][1]
    _error(await client.get(f"{API}/{path}/987654321"), 404)
    _error(await client.patch(f"{API}/{path}/987654321", json=patch), 404)
    _error(await client.delete(f"{API}/{path}/987654321"), 404)
    _error(await client.get(f"{API}/{path}/abc"), 400)


@pytest.mark.parametrize("path", list(ENTITIES))
async def test_malformed_json_and_wrong_content_type_are_400(
    client: httpx.AsyncClient, path: str
) -> None:
    json_header = {"content-type": "application/json"}
    _error(await client.post(f"{API}/{path}", content=b'{"name": ', headers=json_header), 400)
    _error(await client.post(f"{API}/{path}", content=b"[1, 2]", headers=json_header), 400)
    _error(await client.post(f"{API}/{path}", content=b"name=x",
                             headers={"content-type": "text/plain"}), 400)
    created = await _create(client, path, ENTITIES[path][0])
    _error(await client.patch(f"{API}/{path}/{created['id']}", content=b"{oops",
                              headers=json_header), 400)


@pytest.mark.parametrize("path", ["deals", "persons", "organizations", "products"])
async def test_required_name_or_title(client: httpx.AsyncClient, path: str) -> None:
    key = next(iter(ENTITIES[path][0]))
    _error(await client.post(f"{API}/{path}", json={}), 400)
    _error(await client.post(f"{API}/{path}", json={key: "  "}), 400)
    created = await _create(client, path, ENTITIES[path][0])
    _error(await client.patch(f"{API}/{path}/{created['id']}", json={key: ""}), 400)


async def test_referenced_ids_must_exist(client: httpx.AsyncClient) -> None:
    _error(await client.post(f"{API}/persons", json={"name": "A", "org_id": 987654}), 400)
    _error(await client.post(f"{API}/persons", json={"name": "A", "owner_id": 987654}), 400)
    _error(await client.post(f"{API}/deals", json={"title": "A", "person_id": 987654}), 400)
    _error(await client.post(f"{API}/activities", json={"deal_id": 987654}), 400)
    _error(await client.post(f"{API}/activities", json={"participants": [{"person_id": 987654}]}),
           400)


@pytest.mark.parametrize("entity", ["persons", "organizations"])
async def test_a_backdated_add_time_is_stored_in_utc(client: httpx.AsyncClient,
                                                     entity: str) -> None:
    created = await _create(client, entity, {"name": "Backdated",
                                             "add_time": "2024-01-31T10:00:00+02:00"})
    assert created["add_time"] == "2024-01-31T08:00:00Z"
    again = (await client.get(f"{API}/{entity}/{created['id']}")).json()["data"]
    assert again["add_time"] == "2024-01-31T08:00:00Z"


# ---------------------------------------------------------------------- activities


async def test_activity_done_sets_and_clears_marked_as_done_time(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    activity = await _create(client, "activities", {"subject": "Call Ann"})
    assert activity["done"] is False
    assert "marked_as_done_time" not in activity
    clock.advance(timedelta(seconds=5))
    done = (await client.patch(f"{API}/activities/{activity['id']}",
                               json={"done": True})).json()["data"]
    assert done["done"] is True
    assert done["marked_as_done_time"] == done["update_time"]
    undone = (await client.patch(f"{API}/activities/{activity['id']}",
                                 json={"done": False})).json()["data"]
    assert "marked_as_done_time" not in undone
    created_done = await _create(client, "activities", {"done": True})
    assert created_done["marked_as_done_time"] == created_done["add_time"]


async def test_activity_type_due_date_and_lead_are_checked(
    client: httpx.AsyncClient, store: Store
) -> None:
    body = _error(await client.post(f"{API}/activities", json={"type": "no_such_type"}), 400)
    assert "no_such_type" in body["error"]
    kind = store.select("activity_types", limit=1)[0]
    created = await _create(client, "activities", {"type": kind["key_string"]})
    assert created["type"] == kind["key_string"]
    assert created["subject"] == kind["name"]  # a missing subject takes the type's name

    for due in ("2024-13-01", "01.02.2024", "2024-1-1"):
        _error(await client.post(f"{API}/activities", json={"due_date": due}), 400)
    _error(await client.post(f"{API}/activities", json={"due_time": "25:00"}), 400)
    dated = await _create(client, "activities",
                          {"due_date": "2024-02-29", "due_time": "09:30", "duration": "01:00"})
    assert (dated["due_date"], dated["due_time"], dated["duration"]) == (
        "2024-02-29", "09:30", "01:00")

    _error(await client.post(f"{API}/activities",
                             json={"lead_id": "00000000-0000-0000-0000-000000000000"}), 400)
    leads = store.select("leads", limit=1)
    if leads:
        linked = await _create(client, "activities", {"lead_id": leads[0]["id"]})
        listed = await page_all(client, "activities", lead_id=leads[0]["id"], limit=500)
        assert linked["id"] in _ids(listed)
        assert all(a["lead_id"] == leads[0]["id"] for a in listed)


async def test_activity_person_is_the_primary_participant(client: httpx.AsyncClient) -> None:
    ann = await _create(client, "persons", {"name": "Ann"})
    bob = await _create(client, "persons", {"name": "Bob"})
    act = await _create(client, "activities", {"person_id": ann["id"]})
    assert act["participants"] == [{"person_id": ann["id"], "primary": True}]
    moved = (await client.patch(f"{API}/activities/{act['id']}", json={"participants": [
        {"person_id": ann["id"], "primary": False},
        {"person_id": bob["id"], "primary": True}]})).json()["data"]
    assert moved["person_id"] == bob["id"]


async def test_activity_list_filters_done_and_hides_attendees_unless_asked(
    client: httpx.AsyncClient, store: Store
) -> None:
    await _create(client, "activities", {"subject": "With guest", "attendees": [
        {"email": "guest@example.com", "name": "Guest"}]})
    everything = await page_all(client, "activities", limit=500)
    done = await page_all(client, "activities", done="true", limit=500)
    undone = await page_all(client, "activities", done="false", limit=500)
    assert all(a["done"] for a in done) and not any(a["done"] for a in undone)
    assert sorted(_ids(done) + _ids(undone)) == sorted(_ids(everything))
    assert all("attendees" not in a for a in everything)
    with_attendees = await page_all(client, "activities", include_fields="attendees", limit=500)
    assert any(a.get("attendees") for a in with_attendees)
    _error(await client.get(f"{API}/activities", params={"done": "maybe"}), 400)


# ---------------------------------------------------------------------- derived counts


async def test_person_and_org_include_fields_counts(client: httpx.AsyncClient) -> None:
    org = await _create(client, "organizations", {"name": "Counted Inc"})
    person = await _create(client, "persons", {"name": "Counted Person", "org_id": org["id"]})
    won = await _create(client, "deals", {"title": "W", "person_id": person["id"],
                                          "status": "won"})
    await _create(client, "deals", {"title": "O", "org_id": org["id"]})
    await _create(client, "activities", {"person_id": person["id"], "org_id": org["id"],
                                         "deal_id": won["id"], "done": True})
    nxt = await _create(client, "activities", {"person_id": person["id"],
                                               "due_date": "2030-01-01"})
    include = ("activities_count,done_activities_count,undone_activities_count,"
               "next_activity_id,open_deals_count,won_deals_count,closed_deals_count,"
               "notes_count,files_count")
    p = (await client.get(f"{API}/persons/{person['id']}",
                          params={"include_fields": include})).json()["data"]
    assert (p["activities_count"], p["done_activities_count"], p["undone_activities_count"]) == (
        2, 1, 1)
    assert p["next_activity_id"] == nxt["id"]
    assert (p["open_deals_count"], p["won_deals_count"], p["closed_deals_count"]) == (0, 1, 1)
    assert (p["notes_count"], p["files_count"]) == (0, 0)
    plain = (await client.get(f"{API}/persons/{person['id']}")).json()["data"]
    assert "activities_count" not in plain

    o = (await client.get(f"{API}/organizations", params={
        "ids": str(org["id"]),
        "include_fields": "people_count,open_deals_count,related_won_deals_count,"
                          "activities_count"})).json()["data"][0]
    assert (o["people_count"], o["open_deals_count"], o["related_won_deals_count"]) == (1, 1, 1)
    assert o["activities_count"] == 1
    d = (await client.get(f"{API}/deals/{won['id']}",
                          params={"include_fields": "activities_count"})).json()["data"]
    assert d["activities_count"] == 1


# ---------------------------------------------------------------------- paging


def _stored(store: Store, collection: str) -> list[dict[str, Any]]:
    """What the v2 list serves: archived deals are only on ``/deals/archived``."""
    return [r for r in store.select(collection) if not r.get("is_archived")]


@pytest.mark.parametrize("path", ["persons", "activities", "organizations", "deals"])
async def test_paging_returns_every_record_once(
    client: httpx.AsyncClient, store: Store, path: str
) -> None:
    expected = {r["id"] for r in _stored(store, COLLECTION[path])}
    assert len(expected) > 100, "the demo data should need several pages"
    for limit in (100, 500):
        records = await page_all(client, path, limit=limit)
        assert set(_ids(records)) == expected
        assert _ids(records) == sorted(expected)


@pytest.mark.parametrize(("path", "sort_by"), [
    ("persons", "update_time"), ("persons", "add_time"), ("activities", "update_time"),
    ("activities", "due_date"), ("products", "name"), ("organizations", "update_time"),
    ("deals", "update_time"),
])
@pytest.mark.parametrize("direction", ["desc", "asc"])
async def test_paging_sorted_with_a_tie_across_a_page_boundary(
    client: httpx.AsyncClient, store: Store, path: str, sort_by: str, direction: str
) -> None:
    """Two records with one sort value, and a page size that ends a page between them: the
    cursor's tie-break must neither skip the second nor return the first again."""
    create = ENTITIES[path][0]
    pair = [(await _create(client, path, create))["id"] for _ in range(2)]
    listed = await page_all(client, path, limit=500, sort_by=sort_by, sort_direction=direction)
    tie = next(r[sort_by] for r in listed[len(listed) // 2:] if r.get(sort_by) is not None)
    for item_id in pair:
        record = store.get(COLLECTION[path], item_id)
        assert record is not None
        store.replace(COLLECTION[path], {**record, sort_by: tie})
    expected = {r["id"] for r in _stored(store, COLLECTION[path])}
    listed = await page_all(client, path, limit=500, sort_by=sort_by, sort_direction=direction)
    first = min(i for i, r in enumerate(listed) if r["id"] in pair)
    assert listed[first + 1]["id"] in pair, "the two newest records of one value are adjacent"

    # Page sizes (at most 500) that make a page end with one of the pair.
    sizes = [500] * (first // 500) + [first % 500 + 1]
    pages = await _pages(client, path, sizes, sort_by=sort_by, sort_direction=direction)
    records = [r for page in pages for r in page]
    assert {pages[len(sizes) - 1][-1]["id"], pages[len(sizes)][0]["id"]} == set(pair)
    assert set(_ids(records)) == expected
    # In order; records lacking the value (undated activities) come last descending, first
    # ascending.
    keys = [(r.get(sort_by) is not None, r.get(sort_by) or "") for r in records]
    assert keys == sorted(keys, reverse=direction == "desc")
    assert _ids(records) == _ids(listed)


async def test_sort_by_not_offered_is_400(client: httpx.AsyncClient) -> None:
    _error(await client.get(f"{API}/persons", params={"sort_by": "name"}), 400)
    _error(await client.get(f"{API}/persons", params={"sort_direction": "up"}), 400)
    _error(await client.get(f"{API}/persons", params={"limit": 501}), 400)
    first = (await client.get(f"{API}/persons", params={"limit": 1})).json()
    cursor = first["additional_data"]["next_cursor"]
    _error(await client.get(f"{API}/persons", params={"cursor": cursor, "sort_by": "add_time"}),
           400)
    _error(await client.get(f"{API}/persons", params={"cursor": "not-a-cursor"}), 400)


def _most_common(records: list[dict[str, Any]], key: str) -> Any:
    counts: dict[Any, int] = {}
    for r in records:
        if r.get(key) is not None:
            counts[r[key]] = counts.get(r[key], 0) + 1
    return max(counts, key=lambda k: counts[k])


@pytest.mark.parametrize(("path", "param"), [
    ("persons", "org_id"), ("persons", "owner_id"), ("activities", "owner_id"),
    ("activities", "person_id"), ("activities", "deal_id"), ("organizations", "owner_id"),
    ("products", "owner_id"),
])
async def test_paging_with_a_filter_param(
    client: httpx.AsyncClient, store: Store, path: str, param: str
) -> None:
    stored = _stored(store, COLLECTION[path])
    value = _most_common(stored, param)
    expected = {r["id"] for r in stored if r.get(param) == value}
    records = await page_all(client, path, limit=3, sort_by="update_time", **{param: value})
    assert set(_ids(records)) == expected
    big = await page_all(client, path, limit=500, **{param: value})
    assert set(_ids(big)) == expected


async def test_persons_filtered_by_deal(client: httpx.AsyncClient) -> None:
    person = await _create(client, "persons", {"name": "Deal Contact"})
    deal = await _create(client, "deals", {"title": "Linked", "person_id": person["id"]})
    records = await page_all(client, "persons", deal_id=deal["id"])
    assert _ids(records) == [person["id"]]


@pytest.mark.parametrize(("path", "filter_type"), [
    ("persons", "people"), ("activities", "activity"), ("deals", "deals"),
    ("organizations", "org"), ("products", "products"),
])
async def test_paging_with_a_saved_filter(
    client: httpx.AsyncClient, store: Store, path: str, filter_type: str
) -> None:
    """A filter on the owner, saved here, matches exactly the records counted independently."""
    entity = {"persons": "person", "activities": "activity", "deals": "deal",
              "organizations": "organization", "products": "product"}[path]
    stored = _stored(store, COLLECTION[path])
    owner = _most_common(stored, "owner_id")
    expected = {r["id"] for r in stored if r["owner_id"] == owner}
    field = next((f for f in store.select("fields", [("entity = ?", (entity,))])
                  if f["key"] == "owner_id"), None)
    if field is None:
        field = store.insert("fields", {"entity": entity, "key": "owner_id", "name": "Owner",
                                        "field_type": "user", "is_custom": False,
                                        "order_nr": 999})
    saved = store.insert("filters", {
        "name": "Mine", "type": filter_type, "user_id": owner, "active_flag": True,
        "conditions": {"glue": "and", "conditions": [
            {"glue": "and", "conditions": [{"object": entity, "field_id": str(field["id"]),
                                            "operator": "=", "value": str(owner),
                                            "extra_value": None}]},
            {"glue": "or", "conditions": []}]},
    })
    records = await page_all(client, path, filter_id=saved["id"], limit=500)
    assert set(_ids(records)) == expected
    # filter_id wins over the id filters, as the spec says.
    other = await page_all(client, path, filter_id=saved["id"], owner_id=owner + 1000, limit=17)
    assert set(_ids(other)) == expected


@pytest.mark.parametrize(("path", "filter_type"), [
    ("persons", "people"), ("activities", "activity"), ("deals", "deals"),
    ("organizations", "org"), ("products", "products"),
])
async def test_paging_with_the_demo_filters(
    client: httpx.AsyncClient, path: str, filter_type: str
) -> None:
    """Each demo filter returns exactly the records its conditions select, decided in plain
    Python over every record of the list (``filters_reference``), not by the sandbox's SQL."""
    listed = await client.get("/api/v1/filters", params={"type": filter_type})
    saved = listed.json()["data"]
    assert saved, f"the demo data has {filter_type} filters"
    everything = await page_all(client, path, limit=500)
    fields = (await client.get(f"{API}/{FIELDS_ENDPOINT[filter_type]}",
                               params={"limit": 500})).json()["data"]
    types = {f["field_code"]: f["field_type"] for f in fields}
    for f in saved:
        one = (await client.get(f"/api/v1/filters/{f['id']}",
                                params={"include_field_code": "true"})).json()["data"]
        expected = {r["id"] for r in everything if filter_matches(r, one["conditions"], types)}
        assert 0 < len(expected) < len(everything), f"filter {f['name']!r} selects some records"
        records = await page_all(client, path, filter_id=f["id"], limit=50,
                                 sort_by="update_time", sort_direction="desc")
        assert set(_ids(records)) == expected, f["name"]


async def test_filter_of_another_type_is_400(client: httpx.AsyncClient, store: Store) -> None:
    deal_filters = store.select("filters", [("type = ?", ("deals",))])
    if not deal_filters:
        pytest.skip("no deal filter in the demo data")
    _error(await client.get(f"{API}/persons", params={"filter_id": deal_filters[0]["id"]}), 400)
    _error(await client.get(f"{API}/persons", params={"filter_id": 987654}), 404)


async def test_updated_since_and_ids(client: httpx.AsyncClient, clock: Clock) -> None:
    clock.advance(timedelta(days=3650))
    fresh = await _create(client, "persons", {"name": "Fresh"})
    since = await page_all(client, "persons", updated_since=fresh["update_time"])
    assert _ids(since) == [fresh["id"]]
    until = await page_all(client, "persons", updated_until=fresh["update_time"], limit=500)
    assert fresh["id"] not in _ids(until)
    picked = await page_all(client, "persons", ids=f"{fresh['id']},987654")
    assert _ids(picked) == [fresh["id"]]
    _error(await client.get(f"{API}/persons", params={"updated_since": "yesterday"}), 400)


async def test_deleted_records_leave_lists(client: httpx.AsyncClient) -> None:
    person = await _create(client, "persons", {"name": "Gone Soon"})
    await client.delete(f"{API}/persons/{person['id']}")
    assert person["id"] not in _ids(await page_all(client, "persons", limit=500))


# ---------------------------------------------------------------------- labels


@pytest.mark.parametrize("entity", ["deals", "persons", "organizations"])
async def test_include_labels_names_each_label_id(client: httpx.AsyncClient, store: Store,
                                                  entity: str) -> None:
    singular = {"deals": "deal", "persons": "person", "organizations": "organization"}[entity]
    field = store.select("fields", [("entity = ? AND key = ?", (singular, "label_ids"))])[0]
    options = {o["id"]: o["label"] for o in field["options"]}
    page = (await client.get(f"{API}/{entity}",
                             params={"limit": 500, "include_labels": "true"})).json()["data"]
    labelled = [r for r in page if r.get("label_ids")]
    assert labelled, "the demo data labels some records"
    for record in page:
        assert record["labels"] == [{"id": i, "label": options[i]}
                                    for i in record.get("label_ids") or ()]
    one = labelled[0]
    got = (await client.get(f"{API}/{entity}/{one['id']}",
                            params={"include_labels": "true"})).json()["data"]
    assert got["labels"] == one["labels"]
    plain = (await client.get(f"{API}/{entity}/{one['id']}")).json()["data"]
    assert "labels" not in plain
