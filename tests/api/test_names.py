"""The names cache: ids of a 500-deal table named with a handful of requests, shared lookups,
the account's currencies in money. Request counts are the sandbox's own (per operationId)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from explorer.api import FieldCatalog, PipedriveClient
from explorer.api.display import format_money
from explorer.api.fields import Field
from explorer.api.names import NameCache
from explorer.sandbox.app import SandboxApp


def counted(app: SandboxApp) -> dict[str, int]:
    return {k: v for k, v in app.state.stats.requests.items() if v}


async def every(client: PipedriveClient, name: str) -> dict[Any, dict[str, Any]]:
    return {r["id"]: r async for r in client.iterate(name)}


async def test_a_500_deal_table_costs_a_handful_of_requests(
    app: SandboxApp, client: PipedriveClient
) -> None:
    deals = [d async for d in client.iterate("deals")][:500]
    assert len(deals) == 500
    persons = {d["person_id"] for d in deals if d.get("person_id")}
    orgs = {d["org_id"] for d in deals if d.get("org_id")}
    assert len(persons) > 100  # more than one batch
    app.state.stats.reset()
    names = NameCache(client)
    await names.load_records("deals", deals)
    assert counted(app) == {
        "getPersons": math.ceil(len(persons) / 100),
        "getOrganizations": math.ceil(len(orgs) / 100),
        "getUsers": 1, "getPipelines": 1, "getStages": 1, "getCurrencies": 1}
    assert sum(counted(app).values()) < 15  # not 500
    # The names are the records' names (read independently, from the full lists).
    app.state.stats.reset()
    truth_persons = await every(client, "persons")
    truth_users = await every(client, "users")
    truth_pipelines = await every(client, "pipelines")
    for deal in deals:
        if deal.get("person_id"):
            assert names.resolve("person", deal["person_id"]) == (
                truth_persons[deal["person_id"]]["name"])
        assert names.resolve("user", deal["owner_id"]) == truth_users[deal["owner_id"]]["name"]
        assert names.resolve("pipeline", deal["pipeline_id"]) == (
            truth_pipelines[deal["pipeline_id"]]["name"])
    # Asking again costs nothing.
    app.state.stats.reset()
    await names.load_records("deals", deals)
    assert counted(app) == {}


async def test_display_uses_the_names(client: PipedriveClient) -> None:
    catalog = FieldCatalog(client)
    await catalog.load("deals")
    names = NameCache(client)
    deal = await anext(d async for d in client.iterate("deals") if d.get("person_id"))
    await names.load_records("deals", [deal], catalog)
    users = await every(client, "users")
    pipelines = await every(client, "pipelines")
    assert names.format_value(catalog.field("deals", "Owner"), deal["owner_id"]) == (
        users[deal["owner_id"]]["name"])
    assert names.format_value(catalog.field("deals", "Pipeline"), deal["pipeline_id"]) == (
        pipelines[deal["pipeline_id"]]["name"])
    person = await client.get("persons", deal["person_id"])
    assert names.format_value(catalog.field("deals", "Contact person"),
                              deal["person_id"]) == person["name"]


async def test_concurrent_asks_share_requests(app: SandboxApp, client: PipedriveClient) -> None:
    ids = sorted(await every(client, "persons"))[:150]
    app.state.stats.reset()
    names = NameCache(client)
    first, second, _, _ = await asyncio.gather(
        names.fetch("person", ids), names.fetch("person", ids[50:]),
        names.fetch("user", [1]), names.fetch("user", [2]))
    assert counted(app) == {"getPersons": 2, "getUsers": 1}
    assert set(first) == set(ids) and set(second) == set(ids[50:])
    assert all(first.values())


async def test_missing_ids_are_asked_once(app: SandboxApp, client: PipedriveClient) -> None:
    names = NameCache(client)
    app.state.stats.reset()
    assert await names.fetch("organization", [987654]) == {987654: None}
    assert await names.fetch("organization", [987654]) == {987654: None}
    assert counted(app) == {"getOrganizations": 1}
    org = Field("deals", "org_id", "Organization", "org", False, True)
    assert names.format_value(org, 987654) == "#987654"


async def test_lead_labels_by_uuid(client: PipedriveClient) -> None:
    leads = [lead async for lead in client.iterate("leads")]
    labelled = [lead for lead in leads if lead.get("label_ids")]
    assert labelled
    labels = {x["id"]: x["name"] for x in
              (await client.request("GET", "v1", "/leadLabels")).data}
    names = NameCache(client)
    await names.load_records("leads", labelled)
    for lead in labelled:
        for label in lead["label_ids"]:
            assert names.resolve("lead_label", label) == labels[label]


async def test_money_uses_the_account_currencies(client: PipedriveClient) -> None:
    currencies = {c["code"]: c for c in
                  (await client.request("GET", "v1", "/currencies")).data}
    custom = next(c for c in currencies.values() if c["is_custom_flag"])
    names = NameCache(client)
    await names.prefetch({"currency": ()})
    assert names.currencies[custom["code"]]["symbol"] == custom["symbol"]
    decimals = custom["decimal_points"]
    expected = f"{custom['symbol']} 1,200{'.' + '0' * decimals if decimals else ''}"
    assert names.format_money(1200, custom["code"]) == expected
    # Without the account's list, an unknown code shows as the code with two decimals.
    assert format_money(1200, custom["code"]) == f"{custom['code']} 1,200.00"
    assert names.symbol("CZK") == currencies["CZK"]["symbol"]
    assert names.format_money(-5, "CZK") == f"-{currencies['CZK']['symbol']} 5.00"
    assert names.resolve("currency", "CZK") == currencies["CZK"]["name"]


async def test_unknown_kind_is_refused(client: PipedriveClient) -> None:
    with pytest.raises(ValueError, match="no names for 'lead'"):
        await NameCache(client).fetch("lead", ["adf21080-0e10-11eb-879b-05d71fb426ec"])


async def test_names_in_search_results_are_kept(app: SandboxApp, client: PipedriveClient) -> None:
    deal = await anext(d async for d in client.iterate("deals") if d.get("person_id"))
    word = max(deal["title"].split(), key=len)
    found = await client.search_entity("deals", word, person_id=deal["person_id"])
    names = NameCache(client)
    app.state.stats.reset()
    await names.load_records("deals", found.records())
    assert "getPersons" not in counted(app)  # the items carry their person's name
    person = await client.get("persons", deal["person_id"])
    assert names.resolve("person", deal["person_id"]) == person["name"]


async def test_who_last_changed_a_note_is_named(client: PipedriveClient, store: Any) -> None:
    page = await client.fetch_page("notes", page_size=20)
    note = next(n for n in page.records if n.get("last_update_user_id"))
    names = NameCache(client)
    await names.load_records("notes", page.records)
    user = store.get("users", note["last_update_user_id"])
    field = Field("notes", "last_update_user_id", "Last updated by", "int", False, False)
    assert names.format_value(field, note["last_update_user_id"]) == user["name"]
