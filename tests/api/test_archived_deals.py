"""Archived deals: v2 /deals/archived through the same paging, archiving by is_archived."""

from __future__ import annotations

from explorer.api import PipedriveClient
from explorer.sandbox.store import Store


async def test_archived_deals_are_listed_apart_and_archiving_moves_them(
    client: PipedriveClient, store: Store
) -> None:
    deal = (await client.fetch_page("deals", {"status": "open"}, page_size=1)).records[0]
    before = {r["id"] async for r in client.iterate("deals", archived=True)}
    assert deal["id"] not in before
    archived = await client.archive("deals", deal["id"])
    assert archived["is_archived"] is True
    page = await client.fetch_page("deals", {"status": "open"}, page_size=500, archived=True)
    assert deal["id"] in {r["id"] for r in page.records}
    assert all(r["is_archived"] for r in page.records)
    assert deal["id"] not in {r["id"] async for r in client.iterate("deals")}
    assert {r["id"] async for r in client.iterate("deals", archived=True)} == before | {
        deal["id"]}
    await client.archive("deals", deal["id"], archived=False)
    assert deal["id"] in {r["id"] async for r in client.iterate("deals",
                                                               filters={"status": "open"})}
    assert client.usage.requests["v2 GET /deals/archived"] >= 3
    assert client.usage.requests["v2 PATCH /deals/{id}"] == 2
