"""Search through the client: whole results (items, related items, cursor), the per-entity
searches, and the spec's rules checked before a token is spent."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from explorer.api import PipedriveClient
from explorer.api import search as searching
from explorer.api.errors import InvalidValue
from explorer.sandbox.app import SandboxApp
from explorer.sandbox.store import Store
from tests.api.test_resources import spec


def parameters(path: str) -> dict[str, dict[str, Any]]:
    params = spec("v2")["paths"][path]["get"]["parameters"]
    return {p["name"]: p for p in params if p.get("in") == "query"}


def enum(params: dict[str, dict[str, Any]], name: str) -> tuple[str, ...]:
    return tuple(params[name]["schema"]["enum"]) if name in params else ()


def maximum(params: dict[str, dict[str, Any]]) -> int:
    found = re.search(r"maximum value of (\d+)", params["limit"]["description"])
    assert found, params["limit"]["description"]
    return int(found.group(1))


def test_rules_are_the_specs() -> None:
    item = parameters("/itemSearch")
    assert enum(item, "item_types") == searching.ITEM_TYPES
    assert enum(item, "fields") == searching.ITEM_FIELDS
    assert enum(item, "include_fields") == searching.ITEM_INCLUDE
    assert searching.ITEM_LIMIT == maximum(item) == 100
    for name, entity in searching.ENTITY_SEARCHES.items():
        params = parameters(entity.path)
        assert entity.fields == enum(params, "fields"), name
        assert entity.include_fields == enum(params, "include_fields"), name
        paging = {"term", "fields", "exact_match", "include_fields", "limit", "cursor"}
        assert set(entity.filters) == set(params) - paging, name
        assert searching.ENTITY_LIMIT == maximum(params) == 500, name
    assert enum(parameters("/deals/search"), "status") == searching.STATUSES


async def common_word(client: PipedriveClient) -> str:
    """The word most deal titles share (at least 3 letters)."""
    counts: Counter[str] = Counter()
    async for deal in client.iterate("deals"):
        counts.update({w.lower() for w in deal["title"].split() if len(w) >= 3})
    return counts.most_common(1)[0][0]


def sent(app: SandboxApp) -> int:
    return sum(app.state.stats.requests.values())


async def test_a_short_term_is_refused_before_a_token_is_spent(
    app: SandboxApp, client: PipedriveClient
) -> None:
    for term in ("a", " a ", "", "   "):
        with pytest.raises(InvalidValue, match="nothing was sent") as caught:
            await client.search(term)
        assert caught.value.field == "term"
    with pytest.raises(InvalidValue, match=r"at least 2 characters.*exact match"):
        await client.search_entity("deals", "x")
    assert sent(app) == 0 and client.usage.total_tokens == 0
    # One character is a valid exact search.
    result = await client.search("a", exact_match=True)
    assert sent(app) == 1 and app.state.stats.statuses[200] == 1
    assert isinstance(result, searching.SearchResult)


@pytest.mark.parametrize(("call", "limit"), [
    ("item", 101), ("item", 0), ("entity", 501), ("item", True), ("entity", 2.0)])
async def test_limits_beyond_the_maximum_are_refused(
    app: SandboxApp, client: PipedriveClient, call: str, limit: Any
) -> None:
    with pytest.raises(InvalidValue, match="items per page") as caught:
        if call == "item":
            await client.search("Deal", limit=limit)
        else:
            await client.search_entity("deals", "Deal", limit=limit)
    assert caught.value.field == "limit"
    assert sent(app) == 0


async def test_wrong_choices_are_refused(app: SandboxApp, client: PipedriveClient) -> None:
    with pytest.raises(InvalidValue, match=r"'dealz'.*deal, person"):
        await client.search("Deal", item_types=("dealz",))
    with pytest.raises(InvalidValue, match=r"'email'.*custom_fields, notes, title"):
        await client.search_entity("deals", "Deal", fields="email")
    with pytest.raises(InvalidValue, match=r"'closed'.*open, won, lost"):
        await client.search_entity("deals", "Deal", status="closed")
    with pytest.raises(InvalidValue, match="cannot be filtered by org_id"):
        await client.search_entity("deals", "Deal", org_id=1)
    with pytest.raises(InvalidValue, match="positive whole number"):
        await client.search_entity("leads", "Lead", person_id="7")
    with pytest.raises(InvalidValue, match="no search of their own"):
        await client.search_entity("activities", "Call")
    assert sent(app) == 0


async def test_item_search_whole_result_with_related_items(client: PipedriveClient,
                                                           store: Store) -> None:
    # An organization with deals, fewer than the 100 newest per organization that related
    # items hold: all of its deals are among them.
    per_org = Counter(d["org_id"] for d in store.select("deals", []) if d.get("org_id"))
    org_id = next(o for o, n in sorted(per_org.items()) if 2 <= n <= 100)
    org = await client.get("organizations", org_id)
    deals = [d async for d in client.iterate("deals", filters={"org_id": org["id"]})]
    assert deals, "the demo organization has deals"
    result = await client.search(org["name"], item_types="organization", exact_match=True,
                                 related=True)
    assert org["id"] in [i["id"] for i in result.records()]
    assert all(i["type"] == "organization" for i in result.records())
    related = {i["id"] for i in result.related("deal")}
    assert {d["id"] for d in deals} <= related
    found_orgs = {i["id"] for i in result.records()}
    for item in result.related("deal"):
        assert (item.get("organization") or {}).get("id") in found_orgs or item.get("person")
    assert result.related_items and all(e["result_score"] == 0 for e in result.related_items)
    plain = await client.search(org["name"], item_types="organization", exact_match=True)
    assert plain.related_items == ()


async def test_pages_follow_the_cursor(client: PipedriveClient) -> None:
    word = await common_word(client)
    first = await client.search(word, item_types="deal", limit=5)
    assert len(first) == 5 and first.more and first.next_cursor
    second = await client.search(word, item_types="deal", limit=5, cursor=first.next_cursor)
    ids = [i["item"]["id"] for i in first] + [i["item"]["id"] for i in second]
    assert len(set(ids)) == len(ids) == 10
    assert first[0] is first.items[0] and first[:2] == first.items[:2]


async def test_deal_search_filters(client: PipedriveClient) -> None:
    won = await client.search_entity("deals", await common_word(client), status="won",
                                     limit=500)
    assert won.records() and all(d["status"] == "won" for d in won.records())
    deal = await anext(d async for d in client.iterate("deals") if d.get("person_id"))
    word = max(deal["title"].split(), key=len)
    mine = await client.search_entity("deals", word, person_id=deal["person_id"],
                                      fields=("title",))
    assert deal["id"] in [d["id"] for d in mine.records()]
    assert all(d["person"]["id"] == deal["person_id"] for d in mine.records())


async def test_products_persons_organizations_and_leads(client: PipedriveClient) -> None:
    product = await anext(aiter(client.iterate("products")))
    found = await client.search_entity("products", product["name"], exact_match=True,
                                       include_fields="product.price")
    assert product["id"] in [p["id"] for p in found.records()]
    lead = await anext(aiter(client.iterate("leads")))
    word = max(lead["title"].split(), key=len)
    leads = await client.search_entity("leads", word, person_id=lead["person_id"])
    assert lead["id"] in [x["id"] for x in leads.records()]
    assert all(x["person"]["id"] == lead["person_id"] for x in leads.records())
    person = await anext(aiter(client.iterate("persons")))
    persons = await client.search_entity("persons", person["name"], exact_match=True)
    assert person["id"] in [p["id"] for p in persons.records()]
    org = await anext(aiter(client.iterate("organizations")))
    orgs = await client.search_entity("organizations", org["name"], exact_match=True)
    assert org["id"] in [o["id"] for o in orgs.records()]
    assert client.usage.requests["v2 GET /leads/search"] == 1
    assert client.usage.tokens["v2 GET /products/search"] == 20
