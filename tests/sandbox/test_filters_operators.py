"""Saved filters, operator by operator: each list with ``filter_id`` returns exactly the records
the condition selects, decided in plain Python (``filters_reference``) over every record the
list returns without the filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from explorer.sandbox.store import Store
from tests.sandbox.filters_reference import FIELDS_ENDPOINT, filter_matches
from tests.sandbox.test_v1_leads import page_all as v1_page_all
from tests.sandbox.test_v2_entities import page_all

ENTITY = {"deals": "deal", "people": "person", "org": "organization", "products": "product",
          "activity": "activity", "leads": "lead"}
Condition = tuple[str, str, Any]  # (field key, operator, value)
PATH = {"deals": "deals", "people": "persons", "org": "organizations", "products": "products",
        "activity": "activities"}


def _save(store: Store, filter_type: str, all_of: Sequence[Condition],
          any_of: Sequence[Condition] = ()) -> int:
    """A saved filter of ``(field key, operator, value)`` conditions, as the v1 API stores it."""
    entity = ENTITY[filter_type]
    ids = {f["key"]: f["id"] for f in store.select("fields", [("entity = ?", (entity,))])}

    def condition(key: str, operator: str, value: Any) -> dict[str, Any]:
        return {"object": ENTITY[filter_type], "field_id": str(ids[key]), "operator": operator,
                "value": value, "extra_value": None}

    saved = store.insert("filters", {
        "name": "Audit", "type": filter_type, "user_id": 1, "active_flag": True,
        "conditions": {"glue": "and", "conditions": [
            {"glue": "and", "conditions": [condition(*c) for c in all_of]},
            {"glue": "or", "conditions": [condition(*c) for c in any_of]}]},
    })
    return int(saved["id"])


async def _expected(client: httpx.AsyncClient, filter_id: int, filter_type: str,
                    records: list[dict[str, Any]]) -> set[Any]:
    one = (await client.get(f"/api/v1/filters/{filter_id}",
                            params={"include_field_code": "true"})).json()["data"]
    endpoint = FIELDS_ENDPOINT.get(filter_type, "dealFields")
    fields = (await client.get(f"/api/v2/{endpoint}", params={"limit": 500})).json()["data"]
    types = {f["field_code"]: f["field_type"] for f in fields}
    return {r["id"] for r in records if filter_matches(r, one["conditions"], types)}


async def _check_v2(client: httpx.AsyncClient, store: Store, filter_type: str,
                    all_of: Sequence[Condition], any_of: Sequence[Condition] = ()) -> set[Any]:
    path = PATH[filter_type]
    filter_id = _save(store, filter_type, all_of, any_of)
    everything = await page_all(client, path, limit=500)
    expected = await _expected(client, filter_id, filter_type, everything)
    got = await page_all(client, path, filter_id=filter_id, limit=37)
    assert [r["id"] for r in got] == sorted(expected)
    return expected


@pytest.mark.parametrize(("filter_type", "key"), [
    ("people", "org_id"), ("deals", "person_id"), ("deals", "org_id"),
    ("activity", "deal_id"), ("activity", "person_id"),
])
async def test_is_empty_and_is_not_empty(
    client: httpx.AsyncClient, store: Store, filter_type: str, key: str
) -> None:
    empty = await _check_v2(client, store, filter_type, [(key, "IS NULL", None)])
    filled = await _check_v2(client, store, filter_type, [(key, "IS NOT NULL", None)])
    assert empty and filled, "the demo data has records with and without the value"
    assert not empty & filled


async def test_leads_without_an_organization(client: httpx.AsyncClient, store: Store) -> None:
    filter_id = _save(store, "leads", [("organization_id", "IS NULL", None)])
    everything = await v1_page_all(client, "/api/v1/leads", 500)
    expected = await _expected(client, filter_id, "leads", everything)
    assert expected
    got = await v1_page_all(client, "/api/v1/leads", 500, filter_id=filter_id)
    assert {r["id"] for r in got} == expected


@pytest.mark.parametrize("operator", ["=", "!=", "<", ">", "<=", ">="])
async def test_number_comparisons(
    client: httpx.AsyncClient, store: Store, operator: str
) -> None:
    picked = await _check_v2(client, store, "deals", [("value", operator, "20000")])
    assert picked


@pytest.mark.parametrize(("operator", "value"), [
    ("LIKE '$%'", "crm"), ("LIKE '%$%'", "SUITE"), ("NOT LIKE '$%'", "CRM"),
])
async def test_text_operators(
    client: httpx.AsyncClient, store: Store, operator: str, value: str
) -> None:
    picked = await _check_v2(client, store, "products", [("name", operator, value)])
    assert picked, "the demo data has products on both sides of the condition"


async def test_or_group_and_and_group_together(client: httpx.AsyncClient,
                                               store: Store) -> None:
    picked = await _check_v2(client, store, "deals", [("status", "=", "open")],
                             [("currency", "=", "GBP"), ("currency", "=", "USD")])
    assert picked
