"""Custom field values at the edges Pipedrive documents: text lengths and money's currency.

The limits come from Pipedrive's field types (varchar: at most 255 characters; text: 65,535),
the currencies from ``GET /v1/currencies``; each check is run on both sides of its edge, so a
limit moved either way fails here.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

API = "/api/v2"
V1 = "/api/v1"
VARCHAR_MAX = 255
TEXT_MAX = 65_535
UNKNOWN_CURRENCY = "XQZ"  # no real ISO 4217 code, and not one of the demo's custom currencies

CREATE = {"deals": {"title": "Edge deal"}, "persons": {"name": "Edge person"},
          "organizations": {"name": "Edge org"}, "products": {"name": "Edge product"}}
FIELDS = {"deals": "dealFields", "persons": "personFields",
          "organizations": "organizationFields", "products": "productFields"}


async def _custom_field(client: httpx.AsyncClient, path: str, field_type: str) -> str | None:
    """The key of the first custom field of ``field_type`` on ``path``'s records, if any."""
    response = await client.get(f"{API}/{FIELDS[path]}", params={"limit": 500})
    assert response.status_code == 200, response.text
    for field in response.json()["data"]:
        if field["is_custom_field"] and field["field_type"] == field_type:
            key: str = field["field_code"]
            return key
    return None


async def _post(client: httpx.AsyncClient, path: str, custom: dict[str, Any]) -> httpx.Response:
    return await client.post(f"{API}/{path}", json={**CREATE[path], "custom_fields": custom})


def _refused(response: httpx.Response, *fragments: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False
    for fragment in fragments:
        assert fragment in body["error"] + " " + (body.get("error_info") or ""), fragment


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()["data"]
    return data


# ---------------------------------------------------------------------- text lengths


@pytest.mark.parametrize("path", list(CREATE))
async def test_varchar_takes_255_characters_and_no_more(
    client: httpx.AsyncClient, path: str
) -> None:
    key = await _custom_field(client, path, "varchar")
    assert key is not None, f"the demo data has a varchar custom field on {path}"
    longest = "v" * VARCHAR_MAX
    created = _created(await _post(client, path, {key: longest}))
    assert created["custom_fields"][key] == longest
    _refused(await _post(client, path, {key: longest + "v"}), "255")
    # Far over the limit too (a limit raised to 1,020 would take this).
    _refused(await _post(client, path, {key: "v" * 1_000}), "255")
    patched = await client.patch(f"{API}/{path}/{created['id']}",
                                 json={"custom_fields": {key: "w" * (VARCHAR_MAX + 1)}})
    _refused(patched, "255")


async def test_varchar_limit_on_a_v1_lead(client: httpx.AsyncClient) -> None:
    key = await _custom_field(client, "deals", "varchar")  # leads carry the deal fields
    assert key is not None
    person = (await client.get(f"{API}/persons", params={"limit": 1})).json()["data"][0]
    lead = {"title": "Edge lead", "person_id": person["id"]}
    ok = await client.post(f"{V1}/leads", json={**lead, key: "l" * VARCHAR_MAX})
    assert ok.status_code == 201, ok.text
    assert ok.json()["data"][key] == "l" * VARCHAR_MAX
    _refused(await client.post(f"{V1}/leads", json={**lead, key: "l" * (VARCHAR_MAX + 1)}),
             "255")


@pytest.mark.parametrize("path", ["deals", "organizations"])
async def test_text_takes_65535_characters_and_no_more(
    client: httpx.AsyncClient, path: str
) -> None:
    key = await _custom_field(client, path, "text")
    assert key is not None, f"the demo data has a text custom field on {path}"
    created = _created(await _post(client, path, {key: "t" * TEXT_MAX}))
    assert len(created["custom_fields"][key]) == TEXT_MAX
    _refused(await _post(client, path, {key: "t" * (TEXT_MAX + 1)}), "65535")


# ---------------------------------------------------------------------- money's currency


async def _currencies(client: httpx.AsyncClient) -> tuple[str, str]:
    """A real currency code other than the default, and a custom one, from the account."""
    listed = (await client.get(f"{V1}/currencies")).json()["data"]
    codes = {c["code"]: c for c in listed}
    assert UNKNOWN_CURRENCY not in codes
    custom = next(code for code, c in codes.items() if c["is_custom_flag"])
    return "GBP", custom


@pytest.mark.parametrize("path", ["deals", "organizations"])
async def test_monetary_custom_value_needs_a_known_currency(
    client: httpx.AsyncClient, path: str
) -> None:
    key = await _custom_field(client, path, "monetary")
    assert key is not None, f"the demo data has a monetary custom field on {path}"
    real, custom = await _currencies(client)
    for code in (real, custom):
        created = _created(await _post(client, path, {key: {"value": 1200, "currency": code}}))
        assert created["custom_fields"][key] == {"value": 1200, "currency": code}
    bad = {key: {"value": 1200, "currency": UNKNOWN_CURRENCY}}
    _refused(await _post(client, path, bad), "Unknown currency", UNKNOWN_CURRENCY)
    _refused(await _post(client, path, {key: {"value": 1200, "currency": "gbp"}}),
             "Unknown currency")
    _refused(await _post(client, path, {key: {"value": 1200, "currency": 840}}),
             "Unknown currency")
    first = (await client.get(f"{API}/{path}", params={"limit": 1})).json()["data"][0]
    patched = await client.patch(f"{API}/{path}/{first['id']}", json={"custom_fields": bad})
    _refused(patched, "Unknown currency")


async def test_monetary_currency_on_a_v1_lead(client: httpx.AsyncClient) -> None:
    key = await _custom_field(client, "deals", "monetary")
    assert key is not None
    person = (await client.get(f"{API}/persons", params={"limit": 1})).json()["data"][0]
    lead = {"title": "Money lead", "person_id": person["id"], key: 300}
    ok = await client.post(f"{V1}/leads", json={**lead, f"{key}_currency": "GBP"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["data"][f"{key}_currency"] == "GBP"
    bad = await client.post(f"{V1}/leads", json={**lead, f"{key}_currency": UNKNOWN_CURRENCY})
    _refused(bad, "Unknown currency")
    moved = await client.patch(f"{V1}/leads/{ok.json()['data']['id']}",
                               json={f"{key}_currency": UNKNOWN_CURRENCY})
    _refused(moved, "Unknown currency")


async def test_deal_and_product_price_currency_must_be_known(client: httpx.AsyncClient) -> None:
    real, custom = await _currencies(client)
    for code in (real, custom):
        deal = _created(await client.post(f"{API}/deals",
                                          json={"title": "Priced", "value": 5, "currency": code}))
        assert deal["currency"] == code
    _refused(await client.post(f"{API}/deals", json={"title": "Priced", "value": 5,
                                                     "currency": UNKNOWN_CURRENCY}),
             "Unknown currency")
    _refused(await client.patch(f"{API}/deals/1", json={"currency": UNKNOWN_CURRENCY}),
             "Unknown currency")
    price = {"price": 10, "currency": UNKNOWN_CURRENCY}
    _refused(await client.post(f"{API}/products", json={"name": "Priced", "prices": [price]}),
             "Unknown currency")
    product = _created(await client.post(f"{API}/products", json={
        "name": "Priced", "prices": [{"price": 10, "currency": real}]}))
    assert [p["currency"] for p in product["prices"]] == [real]
