"""Query values the spec does not allow are refused, not silently ignored.

``include_fields`` on every v2 operation that documents it, and v1 ``notes?lead_id=``: the
expected allowed values come from the official spec (``resources/openapi/``), read here, not
from the sandbox's own tables.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from explorer.sandbox.app import operations
from tests.sandbox.spec import SpecValidator

V2 = "/api/v2"


def _include_enum(validator: SpecValidator, method: str, path: str) -> list[str] | None:
    """The enum of an operation's ``include_fields`` query parameter, or None without one."""
    op = validator.spec_operation("v2", method, path)
    for param in op.get("parameters", ()):
        param, _ = validator._resolve("v2", param)
        if param.get("name") == "include_fields" and param.get("in") == "query":
            schema, _ = validator._resolve("v2", param.get("schema", {}))
            enum: list[str] = schema["enum"]
            return enum
    return None


def _documenting_include_fields() -> list[Any]:
    """Every implemented v2 GET whose spec has an ``include_fields`` parameter."""
    validator = SpecValidator()
    out = []
    for op in operations():
        if op.version == "v2" and op.method == "GET":
            enum = _include_enum(validator, op.method, op.path)
            if enum is not None:
                out.append(pytest.param(op.path, enum, id=op.operation_id))
    return out


async def _concrete(client: httpx.AsyncClient, template: str) -> str:
    """``template`` with its path parameter filled from the first record of its list."""
    if "{" not in template:
        return f"{V2}{template}"
    base = template.split("/{")[0]
    first = (await client.get(f"{V2}{base}", params={"limit": 1})).json()["data"][0]
    value = first.get("id", first.get("field_code"))
    return f"{V2}{re.sub(r'{[^}]+}', str(value), template)}"


async def _bad(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> dict[str, Any]:
    response = await client.get(url, params=params)
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False and body["error"] and body.get("error_info")
    return body


@pytest.mark.parametrize(("template", "enum"), _documenting_include_fields())
async def test_unknown_include_fields_value_is_400(
    client: httpx.AsyncClient, template: str, enum: list[str]
) -> None:
    url = await _concrete(client, template)
    url_params = {"term": "an"} if template.endswith(("/search", "Search")) else {}
    body = await _bad(client, url, {**url_params, "include_fields": "AAA"})
    assert "AAA" in body["error"] and "include_fields" in body["error"]
    # The message lists what is allowed: every value of the spec's enum (the *Fields endpoints'
    # enums also list combinations, whose parts are the single values).
    singles = {part for value in enum for part in value.split(",")}
    listed = body["error_info"].rsplit(": ", 1)[1].removesuffix(".")
    assert set(listed.removesuffix(" (comma-separated)").split(", ")) == singles
    # One bad value among good ones is still refused, and named.
    mixed = f"{enum[0]},{'B' * 3}"
    body = await _bad(client, url, {**url_params, "include_fields": mixed})
    assert "BBB" in body["error"]
    # Every value the spec offers is accepted.
    ok = await client.get(url, params={**url_params, "include_fields": ",".join(sorted(singles))})
    assert ok.status_code == 200, ok.text


async def test_include_fields_on_an_entity_list_and_get(client: httpx.AsyncClient) -> None:
    body = await _bad(client, f"{V2}/deals", {"include_fields": "AAA"})
    assert body["error"] == "Parameter 'include_fields' has unknown values: AAA"
    assert "products_count" in body["error_info"] and "source_lead_id" in body["error_info"]
    await _bad(client, f"{V2}/deals/1", {"include_fields": "people_count"})  # an org value
    await _bad(client, f"{V2}/activities", {"include_fields": "attendees,AAA"})
    good = await client.get(f"{V2}/deals/1", params={"include_fields": "notes_count"})
    assert good.status_code == 200 and "notes_count" in good.json()["data"]
    # Products document no include_fields: there it is an unknown parameter, ignored.
    products = await client.get(f"{V2}/products", params={"include_fields": "AAA"})
    assert products.status_code == 200


@pytest.mark.parametrize("lead_id", ["not-a-uuid", "42", "adf21080-0e10-11eb-879b",
                                     "adf21080-0e10-11eb-879b-05d71fb426ecX"])
async def test_notes_lead_id_must_be_a_uuid(client: httpx.AsyncClient, lead_id: str) -> None:
    body = await _bad(client, "/api/v1/notes", {"lead_id": lead_id})
    assert "lead_id" in body["error"] and lead_id in body["error"]


async def test_notes_lead_id_that_is_a_uuid_filters(client: httpx.AsyncClient) -> None:
    unknown = await client.get("/api/v1/notes",
                               params={"lead_id": "adf21080-0e10-11eb-879b-05d71fb426ec"})
    assert unknown.status_code == 200 and unknown.json()["data"] == []
