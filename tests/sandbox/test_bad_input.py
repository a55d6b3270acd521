"""Malformed requests get a clear 4xx in Pipedrive's error envelope, never a 500.

Each case is a request a client can send (out-of-range integers, forged cursors, timestamps at
the edge of the calendar, NaN and deep nesting in JSON, form and multipart bodies, absurd admin
settings); the answer must name what was wrong. ``client`` also checks every answer against the
spec, so these responses stay in the documented shapes.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from explorer.sandbox.http import INT64_MAX
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store

BIG = 10**25
SCHEMA = "ERR_SCHEMA_VALIDATION_FAILED"
JSON_CT = {"content-type": "application/json"}
FORM_CT = {"content-type": "application/x-www-form-urlencoded"}
MULTIPART_CT = {"content-type": "multipart/form-data; boundary=x"}


def cursor(payload: Any) -> str:
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def case(method: str, path: str, status: int, fragment: str, *, code: str | None = None,
         **kwargs: Any) -> Any:
    return pytest.param(method, path, kwargs, status, fragment, code,
                        id=f"{method} {path} {fragment}"[:90])


CASES = [
    # Query integers beyond 64 bits: 400 naming the parameter.
    case("GET", "/api/v2/deals", 400, "'owner_id' is out of range", params={"owner_id": BIG}),
    case("GET", "/api/v2/deals", 400, "'ids' is out of range", params={"ids": f"1,{BIG}"}),
    case("GET", "/api/v2/deals", 400, "'filter_id' is out of range",
         params={"filter_id": BIG}),
    case("GET", "/api/v2/persons", 400, "'org_id' is out of range", params={"org_id": BIG}),
    case("GET", "/api/v2/stages", 400, "'pipeline_id' is out of range",
         params={"pipeline_id": BIG}),
    case("GET", "/api/v2/activities", 400, "'deal_id' is out of range",
         params={"deal_id": BIG}),
    case("GET", "/api/v2/deals/search", 400, "'person_id' is out of range",
         params={"term": "ab", "person_id": BIG}),
    case("GET", "/api/v1/leads", 400, "'start' is out of range", params={"start": BIG}),
    case("GET", "/api/v1/leads", 400, "'owner_id' is out of range", params={"owner_id": BIG}),
    case("GET", "/api/v1/leads", 400, "'filter_id' is out of range",
         params={"filter_id": BIG}),
    case("GET", "/api/v1/notes", 400, "'start' is out of range", params={"start": BIG}),
    case("GET", "/api/v1/notes", 400, "'deal_id' is out of range", params={"deal_id": BIG}),
    case("GET", "/api/v1/deals/summary", 400, "'user_id' is out of range",
         params={"user_id": BIG}),
    # Path ids beyond 64 bits: no such record.
    case("GET", f"/api/v2/deals/{BIG}", 404, "Deal not found"),
    case("PATCH", f"/api/v2/deals/{BIG}", 404, "Deal not found", json={"title": "x"}),
    case("DELETE", f"/api/v2/deals/{BIG}", 404, "Deal not found"),
    case("GET", f"/api/v2/persons/{BIG}", 404, "Person not found"),
    case("GET", f"/api/v2/pipelines/{BIG}", 404, "Pipeline not found"),
    case("GET", f"/api/v2/stages/{BIG}", 404, "Stage not found"),
    case("GET", f"/api/v1/users/{BIG}", 404, "User not found"),
    case("PUT", f"/api/v1/notes/{BIG}", 404, "Note not found", json={"content": "c"}),
    case("DELETE", f"/api/v1/notes/{BIG}", 404, "Note not found"),
    # Body numbers beyond 64 bits: 400 naming the field (v2: schema validation).
    case("PATCH", "/api/v2/deals/1", 400, "owner_id: Parameter 'owner_id' is out of range",
         code=SCHEMA, json={"owner_id": BIG}),
    case("PATCH", "/api/v2/deals/1", 400, "'stage_id' is out of range", code=SCHEMA,
         json={"stage_id": -BIG}),
    case("PATCH", "/api/v2/deals/1", 400, "'label_ids[0]' is out of range", code=SCHEMA,
         json={"label_ids": [BIG]}),
    case("POST", "/api/v2/deals", 400, "'value' is out of range", code=SCHEMA,
         json={"title": "t", "value": 1e300}),
    case("POST", "/api/v2/persons", 400, "'org_id' is out of range", code=SCHEMA,
         json={"name": "p", "org_id": BIG}),
    case("POST", "/api/v2/organizations", 400, "'annual_revenue' is out of range",
         code=SCHEMA, json={"name": "o", "annual_revenue": 1e20}),
    case("POST", "/api/v1/notes", 400, "'deal_id' is out of range",
         json={"content": "c", "deal_id": BIG}),
    case("POST", "/api/v1/notes", 400, "'deal_id' is out of range",
         json={"content": "c", "deal_id": str(BIG)}),
    case("POST", "/api/v1/leads", 400, "'person_id' is out of range",
         json={"title": "l", "person_id": BIG}),
    # Forged cursors.
    case("GET", "/api/v2/deals", 400, "Invalid cursor",
         params={"cursor": cursor({"s": "id", "d": "ASC", "v": [1], "q": {}})}),
    case("GET", "/api/v2/deals", 400, "Invalid cursor",
         params={"cursor": cursor({"s": "id", "d": "ASC", "v": 1, "q": BIG})}),
    case("GET", "/api/v2/deals", 400, "Invalid cursor",
         params={"cursor": cursor({"s": "id", "d": "ASC", "v": 1, "q": "7"})}),
    case("GET", "/api/v2/deals", 400, "Invalid cursor",
         params={"cursor": cursor({"s": "update_time", "d": "ASC", "v": {"a": 1}, "q": 1}),
                 "sort_by": "update_time"}),
    case("GET", "/api/v2/deals", 400, "Invalid cursor",
         params={"cursor": cursor('{"s": "id", "d": "ASC", "v": NaN, "q": 1}')}),
    case("GET", "/api/v2/deals", 400, "Invalid cursor", params={"cursor": cursor("[" * 5000)}),
    case("GET", "/api/v2/dealFields", 400, "Invalid cursor",
         params={"cursor": cursor({"o": BIG})}),
    case("GET", "/api/v2/dealFields", 400, "Invalid cursor",
         params={"cursor": cursor({"o": -1})}),
    case("GET", "/api/v2/itemSearch", 400, "Invalid cursor",
         params={"term": "ab", "cursor": cursor({"s": BIG, "r": 1, "q": 1})}),
    case("GET", "/api/v2/itemSearch", 400, "Invalid cursor",
         params={"term": "ab", "cursor": cursor({"s": 1, "r": [], "q": 1})}),
    # Timestamps that leave datetime's range once moved to UTC.
    case("GET", "/api/v2/deals", 400, "'updated_since' must be an RFC 3339 timestamp",
         params={"updated_since": "0001-01-01T00:00:00+05:00"}),
    case("GET", "/api/v2/deals", 400, "'updated_until' must be an RFC 3339 timestamp",
         params={"updated_until": "9999-12-31T23:59:59-05:00"}),
    case("POST", "/api/v2/organizations", 400, "Invalid add_time",
         json={"name": "o", "add_time": "0001-01-01T00:00:00+05:00"}),
    # JSON that Python parses but sqlite and RFC 8259 do not.
    case("PATCH", "/api/v2/deals/1", 400, "Malformed JSON",
         content=b'{"value": NaN}', headers=JSON_CT),
    case("PATCH", "/api/v2/deals/1", 400, "Malformed JSON",
         content=b'{"value": -Infinity}', headers=JSON_CT),
    case("PATCH", "/api/v2/deals/1", 400, "Malformed JSON",
         content=b'{"value": 1e999}', headers=JSON_CT),
    case("POST", "/api/v1/notes", 400, "Malformed JSON",
         content=b'{"content": "c", "deal_id": NaN}', headers=JSON_CT),
    case("PATCH", "/api/v2/deals/1", 400, "Malformed JSON",
         content=b"[" * 100_000, headers=JSON_CT),
    case("PATCH", "/api/v2/deals/1", 400, "Malformed JSON",
         content=b'{"a":' * 40 + b"1" + b"}" * 40, headers=JSON_CT),
    # Content types.
    case("PATCH", "/api/v2/deals/1", 400, "takes JSON only", content=b"title=x",
         headers=FORM_CT),
    case("POST", "/api/v2/deals", 400, "multipart/form-data bodies are not supported",
         content=b"--x\r\n", headers=MULTIPART_CT),
    case("POST", "/api/v1/notes", 400, "multipart/form-data bodies are not supported",
         content=b"--x\r\n", headers=MULTIPART_CT),
    case("POST", "/api/v1/notes", 400, "Malformed form body", content=b"content=%ff",
         headers=FORM_CT),
    case("PATCH", "/api/v2/deals/1", 400, "Unsupported content type 'text/plain'",
         content=b"{}", headers={"content-type": "text/plain"}),
    # Values v1 cannot make sense of even leniently.
    case("POST", "/api/v1/notes", 400, "'deal_id' must be of type integer",
         content=b"content=c&deal_id=1.5", headers=FORM_CT),
    case("POST", "/api/v1/notes", 400, "'deal_id' must be of type integer",
         json={"content": "c", "deal_id": "nan"}),
    # Sub-objects the spec types.
    case("POST", "/api/v2/organizations", 400, "address.value: Parameter 'value' must be of "
         "type string", code=SCHEMA, json={"name": "o", "address": {"value": 5}}),
    case("POST", "/api/v2/organizations", 400, "address.planet: Parameter 'planet' is not "
         "allowed", code=SCHEMA, json={"name": "o", "address": {"planet": "Mars"}}),
    # The admin endpoints' bounds.
    case("POST", "/_sandbox/clock", 400, "'advance_seconds' must be at most 316224000",
         json={"advance_seconds": 1e300}),
    case("POST", "/_sandbox/clock", 400, "Malformed JSON",
         content=b'{"advance_seconds": Infinity}', headers=JSON_CT),
    case("POST", "/_sandbox/clock", 400, "takes JSON only", content=b"advance_seconds=1",
         headers=FORM_CT),
    case("PATCH", "/_sandbox/limits", 400, "'block_seconds' must be at most 86400",
         json={"block_seconds": 1e308}),
    case("PATCH", "/_sandbox/limits", 400, "'seats' must be at most 100000",
         json={"seats": BIG}),
    case("PATCH", "/_sandbox/limits", 400, "'budget' must be at most", json={"budget": BIG}),
    case("POST", "/_sandbox/faults", 400, "'latency_ms' must be at most 600000",
         json={"kind": "latency", "count": 1, "latency_ms": 1e308}),
    case("POST", "/_sandbox/faults", 400, "'hang_seconds' must be at most 3600",
         json={"kind": "hang", "count": 1, "hang_seconds": 1e9}),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "fragment", "code"), CASES)
async def test_malformed_request_gets_a_clear_4xx(
    client: httpx.AsyncClient, method: str, path: str, kwargs: dict[str, Any], status: int,
    fragment: str, code: str | None,
) -> None:
    response = await client.request(method, path, **kwargs)
    assert response.status_code < 500
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["data"] is None
    assert fragment in body["error"], body
    assert isinstance(body["error_info"], str) and body["error_info"]
    assert body.get("code") == code


async def test_in_range_extremes_are_answered_normally(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/api/v2/deals/{INT64_MAX}")).status_code == 404
    assert (await client.get(f"/api/v2/deals/{INT64_MAX + 1}")).status_code == 404
    listed = await client.get("/api/v2/deals", params={"owner_id": INT64_MAX})
    assert listed.status_code == 200 and listed.json()["data"] == []
    early = await client.get("/api/v2/deals", params={"updated_since": "0001-01-01T05:00:00+05:00",
                                                      "limit": 1})
    assert early.status_code == 200 and len(early.json()["data"]) == 1


async def test_a_real_cursor_still_pages(client: httpx.AsyncClient) -> None:
    params = {"limit": 2, "sort_by": "update_time"}
    first = (await client.get("/api/v2/deals", params=params)).json()
    after = await client.get("/api/v2/deals",
                             params={**params, "cursor": first["additional_data"]["next_cursor"]})
    assert after.status_code == 200
    assert {d["id"] for d in after.json()["data"]}.isdisjoint(d["id"] for d in first["data"])


async def _first(client: httpx.AsyncClient, path: str) -> int:
    return int((await client.get(f"/api/v2/{path}", params={"limit": 1})).json()["data"][0]["id"])


async def test_v1_note_accepts_a_form_body_and_stores_integers(
    client: httpx.AsyncClient, store: Store
) -> None:
    deal_id = await _first(client, "deals")
    created = await client.post("/api/v1/notes", content=f"content=Hi+there&deal_id={deal_id}"
                                f"&pinned_to_deal_flag=1", headers=FORM_CT)
    assert created.status_code == 200, created.text
    note = created.json()["data"]
    assert note["content"] == "Hi there" and note["deal_id"] == deal_id
    assert note["pinned_to_deal_flag"] is True
    assert store.get("notes", note["id"])["deal_id"] == deal_id

    updated = await client.put(f"/api/v1/notes/{note['id']}", content=b"content=Changed",
                               headers=FORM_CT)
    assert updated.status_code == 200 and updated.json()["data"]["content"] == "Changed"


async def test_v1_numeric_strings_are_stored_as_numbers(
    client: httpx.AsyncClient, store: Store
) -> None:
    deal_id = await _first(client, "deals")
    created = await client.post("/api/v1/notes", json={"content": "c", "deal_id": str(deal_id)})
    assert created.status_code == 200, created.text
    stored = store.get("notes", created.json()["data"]["id"])
    assert stored is not None and stored["deal_id"] == deal_id
    assert isinstance(stored["deal_id"], int)


async def test_v1_lead_accepts_a_form_body(client: httpx.AsyncClient, store: Store) -> None:
    person_id = await _first(client, "persons")
    created = await client.post("/api/v1/leads", headers=FORM_CT,
                                content=f"title=Form+lead&person_id={person_id}&was_seen=true")
    assert created.status_code in (200, 201), created.text
    lead = created.json()["data"]
    assert lead["title"] == "Form lead" and lead["person_id"] == person_id
    assert lead["was_seen"] is True
    stored = store.get("leads", lead["id"])
    assert stored is not None and stored["person_id"] == person_id


async def test_organization_address_keeps_its_string_parts(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v2/organizations", json={
        "name": "Addressed", "address": {"value": "1 Main St", "country": None}})
    assert created.status_code == 200, created.text
    assert created.json()["data"]["address"] == {"value": "1 Main St"}


async def test_the_clock_cannot_leave_the_calendar(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    clock.advance(timedelta(days=365 * 6970))
    moved = await client.post("/_sandbox/clock", json={"advance_seconds": 316_224_000})
    assert moved.status_code == 400
    assert "past 9000-01-01" in moved.json()["error"]
    assert (await client.get("/api/v2/deals", params={"limit": 1})).status_code == 200
