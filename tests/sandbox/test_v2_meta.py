"""v2 pipelines, stages and the *Fields endpoints: shapes, paging, filters and errors.

The ``client`` fixture checks every response against the spec's schema (conftest.py); these
tests add what a schema cannot say: paging, ordering, filters and agreement with the store.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from explorer.sandbox.fields import fields_of
from explorer.sandbox.store import Store

API = "/api/v2"
FIELD_PATHS = {"dealFields": "deal", "personFields": "person",
               "organizationFields": "organization", "productFields": "product",
               "activityFields": "activity"}
# The custom field types the demo data must cover (issue 2).
CUSTOM_TYPES = {"varchar", "text", "double", "monetary", "enum", "set", "date", "user", "org",
                "people", "phone", "address"}


async def _page_all(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"{API}/{path}", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        records += body["data"]
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            return records
        assert len(body["data"]) == int(params.get("limit", 100))


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False and body["error"]
    return body


# ---------------------------------------------------------------------- pipelines and stages


async def test_pipelines_list_and_get(
    client: httpx.AsyncClient, store: Store
) -> None:
    stored = store.select("pipelines")
    assert 2 <= len(stored) <= 3
    listed = await _page_all(client, "pipelines", limit=1)
    assert [p["id"] for p in listed] == [p["id"] for p in stored]
    for pipeline in listed:
        assert {"id", "name", "order_nr", "is_deleted", "is_deal_probability_enabled",
                "add_time", "update_time"} <= set(pipeline)
        one = await client.get(f"{API}/pipelines/{pipeline['id']}")
        assert one.json()["data"] == pipeline
    by_order = await _page_all(client, "pipelines", sort_by="update_time",
                               sort_direction="desc")
    assert sorted(p["id"] for p in by_order) == sorted(p["id"] for p in stored)
    _error(await client.get(f"{API}/pipelines/987654"), 404)
    _error(await client.get(f"{API}/pipelines", params={"sort_by": "name"}), 400)


async def test_stages_list_filter_sort_and_get(
    client: httpx.AsyncClient, store: Store
) -> None:
    stored = store.select("stages")
    listed = await _page_all(client, "stages", limit=2)
    assert sorted(s["id"] for s in listed) == sorted(s["id"] for s in stored)
    assert len({s["id"] for s in listed}) == len(listed)
    for pipeline in store.select("pipelines"):
        stages = await _page_all(client, "stages", pipeline_id=pipeline["id"],
                                 sort_by="order_nr", limit=3)
        expected = sorted((s for s in stored if s["pipeline_id"] == pipeline["id"]),
                          key=lambda s: (s["order_nr"], s["id"]))
        assert [s["id"] for s in stages] == [s["id"] for s in expected]
        assert stages, "every demo pipeline has stages"
        desc = await _page_all(client, "stages", pipeline_id=pipeline["id"],
                               sort_by="order_nr", sort_direction="desc")
        assert [s["id"] for s in desc] == [s["id"] for s in stages][::-1]
    stage = listed[0]
    assert {"id", "order_nr", "name", "is_deleted", "deal_probability", "pipeline_id",
            "is_deal_rot_enabled", "days_to_rotten", "add_time", "update_time"} <= set(stage)
    one = await client.get(f"{API}/stages/{stage['id']}")
    assert one.json()["data"] == stage
    _error(await client.get(f"{API}/stages/987654"), 404)
    assert (await client.get(f"{API}/stages", params={"pipeline_id": 987654})).json()["data"] == []


# ---------------------------------------------------------------------- *Fields


@pytest.mark.parametrize("path", list(FIELD_PATHS))
async def test_fields_list_pages_and_matches_get(
    client: httpx.AsyncClient, store: Store, path: str
) -> None:
    stored = fields_of(store, FIELD_PATHS[path])
    assert stored
    everything = await _page_all(client, path)
    assert [f["field_code"] for f in everything] == [f["key"] for f in stored]
    paged = await _page_all(client, path, limit=7)
    assert paged == everything
    for field in everything:
        assert {"field_name", "field_code", "field_type", "options", "subfields",
                "is_custom_field", "is_optional_response_field"} <= set(field)
        one = await client.get(f"{API}/{path}/{field['field_code']}")
        assert one.json()["data"] == field


@pytest.mark.parametrize("path", list(FIELD_PATHS))
async def test_fields_unknown_code_is_404(
    client: httpx.AsyncClient, path: str
) -> None:
    body = _error(await client.get(f"{API}/{path}/{'f' * 40}"), 404)
    assert "f" * 40 in body["error"]


FIELD_ENTITY = {"dealFields": "deal", "personFields": "person",
                "organizationFields": "organization", "productFields": "product",
                "activityFields": "activity"}
# The properties the v2 spec gives each include_fields namespace of each *Fields endpoint.
UI_VISIBILITY_KEYS = {
    "dealFields": {"add_visible_flag", "details_visible_flag", "projects_detail_visible_flag",
                   "show_in_pipelines"},
    "personFields": {"add_visible_flag", "details_visible_flag", "show_in_add_deal_dialog"},
    "organizationFields": {"add_visible_flag", "deal_detail_visible_flag",
                           "details_visible_flag", "org_detail_visible_flag",
                           "person_detail_visible_flag", "show_in_add_deal_dialog",
                           "show_in_add_person_dialog"},
    "productFields": {"add_visible_flag", "details_visible_flag"},
    "activityFields": {"add_visible_flag", "details_visible_flag"},
}
NAMESPACE_KEYS = {
    "dealFields": {"important_fields": {"enabled", "stage_ids"},
                   "required_fields": {"enabled", "stage_ids", "statuses"}},
    "personFields": {"important_fields": {"enabled", "stage_ids"},
                     "required_fields": {"enabled"}},
    "organizationFields": {"important_fields": {"enabled", "stage_ids"},
                           "required_fields": {"enabled"}},
}


@pytest.mark.parametrize(("path", "namespaces"), [
    ("dealFields", ("ui_visibility", "important_fields", "required_fields")),
    ("personFields", ("ui_visibility", "important_fields", "required_fields")),
    ("organizationFields", ("ui_visibility", "important_fields", "required_fields")),
    ("productFields", ("ui_visibility",)),
    ("activityFields", ("ui_visibility",)),
])
async def test_fields_include_fields(
    client: httpx.AsyncClient, store: Store, path: str, namespaces: tuple[str, ...]
) -> None:
    entity = FIELD_ENTITY[path]
    # Settings written here, then read back: a built-in field hidden from the add dialog, a
    # custom one (activities have none: another built-in one) shown there and required.
    stored = fields_of(store, entity)
    built_in = [f for f in stored if not f.get("is_custom") and f["key"] != "title"]
    hidden = built_in[0]
    shown = next((f for f in stored if f.get("is_custom")), built_in[1])
    store.replace("fields", {**hidden, "add_visible": False})
    store.replace("fields", {**shown, "add_visible": True, "mandatory": True})

    plain = (await client.get(f"{API}/{path}")).json()["data"]
    assert not any(set(namespaces) & set(f) for f in plain)
    wanted = {"include_fields": ",".join(namespaces), "limit": 500}
    rich = {f["field_code"]: f for f in
            (await client.get(f"{API}/{path}", params=wanted)).json()["data"]}
    assert set(rich) == {f["key"] for f in stored}
    for field in rich.values():
        assert set(field) >= set(namespaces)
        assert set(field["ui_visibility"]) == UI_VISIBILITY_KEYS[path]
        for name in set(namespaces) - {"ui_visibility"}:
            assert set(field[name]) == NAMESPACE_KEYS[path][name]
    assert rich[hidden["key"]]["ui_visibility"]["add_visible_flag"] is False
    assert rich[shown["key"]]["ui_visibility"]["add_visible_flag"] is True
    if "required_fields" in namespaces:
        # The demo account requires a deal's title only (demo_fields: mandatory = title).
        required = {code for code, f in rich.items() if f["required_fields"]["enabled"]}
        assert required == {shown["key"]} | ({"title"} if path == "dealFields" else set())
    if "important_fields" in namespaces:  # the demo marks no field important
        assert not any(f["important_fields"]["enabled"] for f in rich.values())
    rich_list = list(rich.values())
    one = (await client.get(f"{API}/{path}/{rich_list[0]['field_code']}",
                            params={"include_fields": "ui_visibility"})).json()["data"]
    assert one["ui_visibility"] == rich_list[0]["ui_visibility"]
    _error(await client.get(f"{API}/{path}", params={"include_fields": "colour"}), 400)
    if len(namespaces) == 1:
        other = {"include_fields": "important_fields"}
        _error(await client.get(f"{API}/{path}", params=other), 400)


async def test_deal_fields_report_every_custom_type(
    client: httpx.AsyncClient
) -> None:
    fields = (await client.get(f"{API}/dealFields", params={"limit": 500})).json()["data"]
    custom = [f for f in fields if f["is_custom_field"]]
    assert {f["field_type"] for f in custom} >= CUSTOM_TYPES
    for field in custom:
        assert len(field["field_code"]) == 40
        assert all(c in "0123456789abcdef" for c in field["field_code"])
        if field["field_type"] in ("enum", "set"):
            assert field["options"], field
            assert all({"id", "label"} <= set(o) for o in field["options"])
        else:
            assert field["options"] is None
        if field["field_type"] == "monetary":
            assert field["subfields"]
    built_in = {f["field_code"] for f in fields if not f["is_custom_field"]}
    assert {"title", "value", "currency", "owner_id", "stage_id", "status"} <= built_in


async def test_fields_paging_limits(client: httpx.AsyncClient) -> None:
    _error(await client.get(f"{API}/dealFields", params={"limit": 501}), 400)
    _error(await client.get(f"{API}/dealFields", params={"limit": 0}), 400)
    _error(await client.get(f"{API}/dealFields", params={"cursor": "garbage!"}), 400)
    first = (await client.get(f"{API}/dealFields", params={"limit": 1})).json()
    assert len(first["data"]) == 1 and first["additional_data"]["next_cursor"]


async def test_custom_field_values_follow_field_definitions(
    client: httpx.AsyncClient, store: Store
) -> None:
    """Every custom value on a deal page is keyed by a dealFields code."""
    codes = {f["field_code"] for f in
             (await client.get(f"{API}/dealFields", params={"limit": 500})).json()["data"]
             if f["is_custom_field"]}
    deals = (await client.get(f"{API}/deals", params={"limit": 500})).json()["data"]
    seen = {k for d in deals for k in d.get("custom_fields", {})}
    assert seen <= codes
