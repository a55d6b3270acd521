"""Archived records: listed through their own endpoints, archived and restored by is_archived."""

from __future__ import annotations

import pytest

from explorer.api import PipedriveClient
from explorer.sandbox.app import SandboxApp
from explorer.sandbox.store import Store


async def test_archived_leads_are_listed_apart(client: PipedriveClient, store: Store) -> None:
    archived = {r["id"] for r in store.select("leads", [("is_archived = 1", ())])}
    listed = [r async for r in client.iterate("leads", archived=True)]
    assert archived and {r["id"] for r in listed} == archived
    assert all(r["is_archived"] for r in listed)
    regular = {r["id"] async for r in client.iterate("leads")}
    assert not regular & archived
    assert client.usage.requests["v1 GET /leads/archived"] == 1


async def test_archiving_a_lead_moves_it_between_the_lists(client: PipedriveClient,
                                                           store: Store) -> None:
    lead = (await client.fetch_page("leads", page_size=1)).records[0]
    updated = await client.archive("leads", lead["id"])
    assert updated["is_archived"] is True
    assert lead["id"] in {r["id"] async for r in client.iterate("leads", archived=True)}
    assert lead["id"] not in {r["id"] async for r in client.iterate("leads")}
    await client.archive("leads", lead["id"], archived=False)
    assert lead["id"] in {r["id"] async for r in client.iterate("leads")}


async def test_archived_lists_take_their_own_filters(client: PipedriveClient,
                                                     app: SandboxApp) -> None:
    with pytest.raises(ValueError, match="archived leads lists cannot be filtered by "
                                         "updated_since"):
        client.iterate("leads", filters={"updated_since": "2026-01-01T00:00:00Z"},
                       archived=True)
    with pytest.raises(ValueError, match="persons have no archived list"):
        await client.archive("persons", 1)
