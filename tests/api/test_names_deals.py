"""Deal names: the deal ids of activities and notes shown as the deals' titles, looked up by
``ids=`` on v2 ``/deals`` (100 a call) and, for the ids it leaves out, ``/deals/archived``;
an id in neither shows as ``#id`` and is not asked again. Leads are not named (v1 ``/leads``
takes no ``ids``). Expected titles are the sandbox store's rows; request counts the sandbox's
own (per operationId)."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from explorer.api import ClientConfig, FieldCatalog, PipedriveClient, RetryPolicy
from explorer.api.errors import ServerError
from explorer.api.fields import Field
from explorer.api.names import NameCache
from explorer.sandbox.app import SandboxApp
from explorer.sandbox.config import FaultRule
from explorer.sandbox.store import Store
from tests.conftest import BASE_URL

NOTE_DEAL = Field("notes", "deal_id", "Deal", "int", False, True)
LEAD_DEAL = Field("leads", "source_deal_id", "Source deal", "int", False, False)


@pytest.fixture
def config(app: SandboxApp) -> ClientConfig:
    # No retries: a fault shows at once (the cache sees what the client raises).
    return ClientConfig(base_url=BASE_URL, transport=httpx.ASGITransport(app=app),
                        retry=RetryPolicy.never())


def counted(app: SandboxApp) -> dict[str, int]:
    return {k: v for k, v in app.state.stats.requests.items() if v}


def titles(store: Store) -> dict[int, str]:
    return {d["id"]: d["title"] for d in store.select("deals", [])}


def archived(store: Store) -> set[int]:
    return {d["id"] for d in store.select("deals", []) if d.get("is_archived")}


async def first(client: PipedriveClient, name: str, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async for record in client.iterate(name):
        out.append(record)
        if len(out) == count:
            break
    return out


def deal_ids(records: list[dict[str, Any]]) -> set[int]:
    return {r["deal_id"] for r in records if r.get("deal_id")}


async def test_activities_show_their_deals_titles(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    catalog = FieldCatalog(client)
    await catalog.load("activities")
    deal_field = catalog["activities"].field("deal_id")
    activities = await first(client, "activities", 150)
    ids = deal_ids(activities)
    assert 0 < len(ids) <= 100 and ids & archived(store)  # one batch, some deals archived
    app.state.stats.reset()
    names = NameCache(client)
    await names.load_records("activities", activities, catalog)
    deals = {k: v for k, v in counted(app).items() if "Deal" in k}
    # One /deals call for the batch; one /deals/archived call for the ids it left out.
    assert deals == {"getDeals": 1, "getArchivedDeals": 1}
    truth = titles(store)
    for activity in activities:
        if activity.get("deal_id"):
            assert names.format_value(deal_field, activity["deal_id"]) == (
                truth[activity["deal_id"]])
    # Asking again costs nothing.
    app.state.stats.reset()
    await names.load_records("activities", activities, catalog)
    assert counted(app) == {}


async def test_150_activities_of_150_deals_cost_two_deal_requests(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    by_deal: dict[int, dict[str, Any]] = {}
    async for activity in client.iterate("activities"):
        if activity.get("deal_id"):
            by_deal.setdefault(activity["deal_id"], activity)
    activities = list(by_deal.values())[:150]
    ids = deal_ids(activities)
    gone = ids & archived(store)
    assert len(ids) == 150 and gone
    app.state.stats.reset()
    names = NameCache(client)
    await names.load_records("activities", activities)
    assert {k: v for k, v in counted(app).items() if "Deal" in k} == {
        "getDeals": 2, "getArchivedDeals": math.ceil(len(gone) / 100)}
    truth = titles(store)
    assert {d: names.resolve("deal", d) for d in ids} == {d: truth[d] for d in ids}


async def test_deal_ids_are_asked_100_at_a_time(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    activities = [a async for a in client.iterate("activities")]
    ids = deal_ids(activities)
    assert len(ids) > 300  # several batches
    app.state.stats.reset()
    names = NameCache(client)
    await names.load_records("activities", activities)
    gone = ids & archived(store)
    assert math.ceil(len(gone) / 100) < math.ceil(len(ids) / 100)  # fewer than the batches
    # 100 ids a call; the ids /deals left out (archived) are asked for together, 100 a call,
    # not once per batch.
    assert {k: v for k, v in counted(app).items() if "Deal" in k} == {
        "getDeals": math.ceil(len(ids) / 100), "getArchivedDeals": math.ceil(len(gone) / 100)}
    for deal, title in (await names.fetch("deal", ids)).items():
        assert title == titles(store)[deal]
    assert all(names.resolve("deal", d) for d in gone)  # every archived deal, by its title


async def test_an_archived_deals_activity_shows_its_title(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    deal = min(archived(store) & {a["deal_id"] for a in store.select("activities", [])})
    activity = await anext(a async for a in client.iterate("activities",
                                                            filters={"deal_id": deal}))
    app.state.stats.reset()
    names = NameCache(client)
    await names.load_records("activities", [activity])
    assert names.resolve("deal", deal) == titles(store)[deal]
    assert {k: v for k, v in counted(app).items() if "Deal" in k} == {
        "getDeals": 1, "getArchivedDeals": 1}


async def test_an_active_deal_costs_no_archived_lookup(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    active = sorted(set(titles(store)) - archived(store))[:100]
    app.state.stats.reset()
    names = NameCache(client)
    assert await names.fetch("deal", active) == {d: titles(store)[d] for d in active}
    assert counted(app) == {"getDeals": 1}


async def test_a_deal_in_neither_list_shows_as_its_id_and_is_asked_once(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    gone = min(set(titles(store)) - archived(store))
    await client.request("DELETE", "v2", f"/deals/{gone}")
    names = NameCache(client)
    app.state.stats.reset()
    assert await names.fetch("deal", [gone, 987654]) == {gone: None, 987654: None}
    assert counted(app) == {"getDeals": 1, "getArchivedDeals": 1}
    assert names.format_value(NOTE_DEAL, gone) == f"#{gone}"
    assert names.known("deal", 987654)
    await names.fetch("deal", [gone, 987654])
    await names.load_records("notes", [{"id": 1, "deal_id": gone}])
    assert counted(app) == {"getDeals": 1, "getArchivedDeals": 1}  # not again


async def test_notes_carry_their_deals_titles(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    notes = await first(client, "notes", 300)
    ids = deal_ids(notes)
    assert ids & archived(store)
    app.state.stats.reset()
    names = NameCache(client)
    await names.load_records("notes", notes)
    # v1 notes carry ``deal`` {title} beside ``deal_id`` (and the person's and organization's
    # names): nothing to ask for them.
    assert not {k for k in counted(app) if k in ("getDeals", "getArchivedDeals", "getPersons",
                                                  "getOrganizations")}
    truth = titles(store)
    for note in notes:
        if note.get("deal_id"):
            assert names.format_value(NOTE_DEAL, note["deal_id"]) == truth[note["deal_id"]]


async def test_a_lead_source_deal_is_named(client: PipedriveClient, store: Store) -> None:
    # The demo's leads come from no deal; a lead converted from one names it.
    deal = min(archived(store))
    lead = {**(await first(client, "leads", 1))[0], "source_deal_id": deal}
    names = NameCache(client)
    await names.load_records("leads", [lead])
    assert names.format_value(LEAD_DEAL, deal) == titles(store)[deal]


async def test_lead_ids_stay_ids(app: SandboxApp, client: PipedriveClient) -> None:
    activity = await anext(a async for a in client.iterate("activities") if a.get("lead_id"))
    lead_field = Field("activities", "lead_id", "Lead", "varchar", False, True)
    names = NameCache(client)
    app.state.stats.reset()
    await names.load_records("activities", [activity])
    assert not {k for k in counted(app) if "Lead" in k}  # /leads takes no ids: not asked
    assert names.format_value(lead_field, activity["lead_id"]) == f"#{activity['lead_id']}"


async def test_a_failing_archived_list_keeps_the_active_titles(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    activities = await first(client, "activities", 150)
    ids = deal_ids(activities)
    app.state.faults.add(FaultRule("error_500", probability=1.0, path="/api/v2/deals/archived"))
    names = NameCache(client)
    await names.load_records("activities", activities)
    assert isinstance(names.failures["deal"], ServerError)
    truth = titles(store)
    for deal in ids - archived(store):
        assert names.resolve("deal", deal) == truth[deal]
    gone = min(ids & archived(store))
    assert names.format_value(NOTE_DEAL, gone) == f"#{gone}"
    # Once the list works, forget("deal") asks again and the archived titles come.
    app.state.faults.clear()
    names.forget("deal")
    await names.load_records("activities", activities)
    assert names.resolve("deal", gone) == truth[gone]
