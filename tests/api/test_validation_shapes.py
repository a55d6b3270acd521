"""Write validation against the v2 (and v1) request schemas, through the client to the sandbox.

Each shape comes from the official specs (resources/openapi/): v2 ``PATCH /deals/{id}`` has
``value: number`` and ``currency: string`` side by side, ``is_archived: boolean``,
``pipeline_id: integer``; ``PATCH /activities/{id}`` has ``done: boolean``; a monetary custom
field (``custom_fields`` is a free object) "has a numeric value and a currency value". A value
that passes validation must be accepted by the sandbox; a refused one sends nothing and says
which field and what to send.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from explorer.api import FieldCatalog, PipedriveClient
from explorer.api.errors import InvalidValue, ValidationFailed
from explorer.api.validation import body_types, schema_types, validate
from explorer.sandbox import specdata
from explorer.sandbox.app import SandboxApp
from tests.api.test_resources import STALE, compiled


@pytest.fixture
async def catalog(client: PipedriveClient) -> FieldCatalog:
    catalog = FieldCatalog(client)
    await catalog.load()
    return catalog


def sent(app: SandboxApp, operation_id: str) -> int:
    return app.state.stats.requests[operation_id]


async def refused(app: SandboxApp, catalog: FieldCatalog, resource: str,
                  values: dict[str, Any], *words: str) -> str:
    """``write_body`` refuses ``values`` before anything is sent; the message it gives."""
    before = sum(app.state.stats.requests.values())
    with pytest.raises(InvalidValue) as caught:
        catalog.write_body(resource, values)
    assert sum(app.state.stats.requests.values()) == before
    message = str(caught.value)
    for word in words:
        assert word in message, message
    return message


def test_shapes_come_from_the_spec() -> None:
    assert body_types() == specdata.body_types(compiled()), STALE
    deal = schema_types("deals")
    assert (deal["value"], deal["currency"], deal["is_archived"], deal["pipeline_id"]) == (
        "number", "string", "boolean", "integer")
    assert schema_types("activities")["done"] == "boolean"
    assert schema_types("leads")["value"] == "object"  # v1: {"amount", "currency"}


async def test_deal_value_is_a_number_with_a_separate_currency(
    app: SandboxApp, client: PipedriveClient, catalog: FieldCatalog
) -> None:
    message = await refused(app, catalog, "deals",
                            {"Value": {"value": 1200, "currency": "USD"}}, "'Value'", "currency")
    assert "number" in message
    # The sandbox, like Pipedrive, refuses that shape: validation must not let it through.
    with pytest.raises(ValidationFailed):
        await client.update("deals", 1, {"value": {"value": 1200, "currency": "USD"}})
    body = catalog.write_body("deals", {"Value": 1200, "Currency": "USD"})
    assert body == {"value": 1200, "currency": "USD"}
    deal = await client.update("deals", 1, body)
    assert (deal["value"], deal["currency"]) == (1200, "USD")


async def test_yes_no_flag_typed_as_a_choice_is_sent_as_a_boolean(
    app: SandboxApp, client: PipedriveClient, catalog: FieldCatalog
) -> None:
    archived = catalog.field("deals", "Archived")
    assert archived.type == "enum"  # the catalog calls it a choice; the body wants a boolean
    for given, expected in (("No", False), ("yes", True), (0, False), (True, True)):
        assert catalog.write_body("deals", {"Archived": given})["is_archived"] is expected
    deal = await client.update("deals", 1, catalog.write_body("deals", {"Archived": "No"}))
    assert deal["id"] == 1
    activity = await anext(aiter(client.iterate("activities", filters={"done": False})))
    body = catalog.write_body("activities", {"Done": "Yes"})
    assert body == {"done": True}
    assert (await client.update("activities", activity["id"], body))["done"] is True
    await refused(app, catalog, "activities", {"Done": "Maybe"}, "'Done'", "true or false")
    await refused(app, catalog, "deals", {"Archived": 2}, "'Archived'", "true or false")
    with pytest.raises(ValidationFailed):  # what the old validation sent
        await client.update("activities", activity["id"], {"done": 1})


async def test_v1_lead_flags_are_booleans_too(
    client: PipedriveClient, catalog: FieldCatalog
) -> None:
    lead_id = await anext(aiter(lead["id"] async for lead in client.iterate("leads")))
    body = catalog.write_body("leads", {"Seen": "Yes"})
    assert body == {"was_seen": True} and body["was_seen"] is True  # not 1
    lead = await client.update("leads", lead_id, body)
    assert lead["was_seen"] is True


async def test_monetary_custom_field_needs_amount_and_currency(
    app: SandboxApp, client: PipedriveClient, catalog: FieldCatalog
) -> None:
    budget = catalog.field("deals", "Annual budget")
    await refused(app, catalog, "deals", {"Annual budget": 5000}, "'Annual budget'",
                  '{"value": 1200, "currency": "EUR"}')
    await refused(app, catalog, "deals", {"Annual budget": {"value": 5000, "currency": "usd"}},
                  "'Annual budget'")
    with pytest.raises(ValidationFailed):  # the sandbox agrees a bare number is wrong
        await client.update("deals", 1, {"custom_fields": {budget.key: 5000}})
    body = catalog.write_body("deals", {"Annual budget": {"value": 5000, "currency": "USD"}})
    assert body == {"custom_fields": {budget.key: {"value": 5000, "currency": "USD"}}}
    deal = await client.update("deals", 1, body)
    assert deal["custom_fields"][budget.key] == {"value": 5000, "currency": "USD"}


async def test_whole_number_fields_refuse_fractions(
    app: SandboxApp, client: PipedriveClient, catalog: FieldCatalog
) -> None:
    pipeline = catalog.field("deals", "Pipeline")
    assert pipeline.type == "double"  # the catalog's type; the spec says integer
    await refused(app, catalog, "deals", {"Pipeline": 1.5}, "'Pipeline'", "whole number")
    deal = await client.get("deals", 1)
    body = catalog.write_body("deals", {"Pipeline": float(deal["pipeline_id"])})
    assert body == {"pipeline_id": deal["pipeline_id"]}
    assert isinstance(body["pipeline_id"], int)
    assert (await client.update("deals", 1, body))["pipeline_id"] == deal["pipeline_id"]
    # A custom field the catalog types "int" takes whole numbers only (v2 field types).
    months = catalog.field("deals", "Contract length (months)")
    as_int = replace(months, type="int")
    with pytest.raises(InvalidValue, match="whole number"):
        validate(as_int, 1.5)
    assert validate(as_int, 12.0) == 12
    assert validate(months, 1.5) == 1.5  # a double keeps its decimals


async def test_the_body_carries_the_spec_type_whatever_the_catalog_says(
    app: SandboxApp, client: PipedriveClient, catalog: FieldCatalog
) -> None:
    category = catalog.field("products", "Category")
    assert category.type == "varchar"  # the catalog; PATCH /products/{id} takes a number
    await refused(app, catalog, "products", {"Category": "Hardware"}, "'Category'", "a number")
    product = await anext(aiter(client.iterate("products")))
    body = catalog.write_body("products", {"Category": 3})
    assert body == {"category": 3}
    assert (await client.update("products", product["id"], body))["id"] == product["id"]
    # A product's prices are a list of {price, currency}.
    await refused(app, catalog, "products", {"Price": 10}, "'Price'", '"price": 10')
    body = catalog.write_body("products", {"Price": {"price": 10, "currency": "EUR"}})
    assert body == {"prices": [{"price": 10, "currency": "EUR"}]}
    updated = await client.update("products", product["id"], body)
    assert [(p["price"], p["currency"]) for p in updated["prices"]] == [(10, "EUR")]
