"""Related lists of one record, and the small account-wide lists, read from the sandbox."""

from __future__ import annotations

from dataclasses import replace

import pytest

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient
from explorer.api.related import RELATED
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.routes.v1_deals import participant_sources
from explorer.sandbox.store import Store

# Records the regular lists show (archived ones have their own).
LISTED = ("COALESCE(is_archived, 0) = 0", ())


async def deal_with_participants(client: PipedriveClient, store: Store) -> tuple[int, set[int]]:
    """A deal with three participants (its person, and two more through activities), and
    their person ids as the store derives them."""
    deal = store.select("deals", [("person_id IS NOT NULL", ()), LISTED], limit=1)[0]
    others = [p["id"] for p in store.select("persons", [("id != ?", (deal["person_id"],))],
                                            limit=2)]
    for person_id in others:
        await client.create("activities", {
            "subject": "Call", "type": "call", "deal_id": deal["id"],
            "participants": [{"person_id": person_id, "primary": True}]})
    persons = set(participant_sources(store, deal))
    assert persons == {deal["person_id"], *others}
    return deal["id"], persons


async def test_deal_participants_in_pages(config: ClientConfig, store: Store,
                                          app: SandboxApp) -> None:
    async with PipedriveClient(replace(config, page_size=2),
                               ApiTokenProvider(DEFAULT_TOKEN)) as client:
        deal_id, persons = await deal_with_participants(client, store)
        items = [p async for p in client.related("deals", deal_id, "participants")]
        assert {p["person_id"]["value"] for p in items} == persons
        assert len(items) == len({p["id"] for p in items})
        assert client.usage.requests["v1 GET /deals/{id}/participants"] == 2  # 2 + 1
        page = await client.related_page("deals", deal_id, "participants", page_size=1)
        assert len(page.records) == 1 and page.more
        rest = await client.related_page("deals", deal_id, "participants", page_size=100,
                                         after=page.handle)
        assert not rest.more
        assert len(page.records) + len(rest.records) == len(persons)


async def test_deal_changelog_newest_first_in_cursor_pages(client: PipedriveClient,
                                                           store: Store) -> None:
    deal_id = store.select("deals", [("status = ?", ("open",)), LISTED], limit=1)[0]["id"]
    titles = [f"Renamed {n}" for n in range(5)]
    for title in titles:
        await client.update("deals", deal_id, {"title": title})
    first = await client.related_page("deals", deal_id, "changelog", page_size=2)
    assert len(first.records) == 2 and first.more
    entries = list(first.records)
    page = first
    while page.more:
        page = await client.related_page("deals", deal_id, "changelog", page_size=2,
                                         after=page.handle)
        entries += page.records
    renames = [e["new_value"] for e in entries if e["field_key"] == "title"]
    assert renames[:5] == titles[::-1]
    # Changelog entries have no id: none is dropped as "seen" although two may look alike.
    listed = [e async for e in client.related("deals", deal_id, "changelog")]
    assert len(listed) == len(entries)


async def test_related_refuses_unknown_lists_and_bad_ids(client: PipedriveClient) -> None:
    with pytest.raises(KeyError, match="leads have no related list 'products'"):
        client.related("leads", "8b967fe2-01c4-4cbc-8345-995d0c987715", "products")
    with pytest.raises(ValueError, match="positive integers"):
        client.related("deals", "1/../2", "files")
    with pytest.raises(ValueError, match="page_size must be 1 to 100"):
        await client.related_page("deals", 1, "files", page_size=101)
    assert set(RELATED["deals"]) >= {"products", "followers", "participants", "changelog"}


async def test_lead_labels_sources_and_activity_types_come_whole(
    client: PipedriveClient, store: Store
) -> None:
    labels = [r async for r in client.iterate("lead_labels")]
    assert {"Hot", "Warm", "Cold"} <= {r["name"] for r in labels}
    sources = [r async for r in client.iterate("lead_sources")]
    # Pipedrive's fixed list of lead sources (fact sheet, section 7).
    assert {"Manually created", "Deal", "Web forms", "Prospector", "Leadbooster", "Live chat",
            "Import", "Website visitors", "Workflow automation", "API"} == {
                r["name"] for r in sources}
    types = [r async for r in client.iterate("activity_types")]
    assert {"call", "meeting"} <= {r["key_string"] for r in types}
    assert client.usage.requests == {"v1 GET /leadLabels": 1, "v1 GET /leadSources": 1,
                                     "v1 GET /activityTypes": 1}
    with pytest.raises(ValueError, match="no get operation for lead_sources"):
        await client.get("lead_sources", 1)
