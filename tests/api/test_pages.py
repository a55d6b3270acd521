"""Pages with a handle: per-call page sizes, resuming, overlapping calls, never a record twice."""

from __future__ import annotations

import asyncio
from dataclasses import FrozenInstanceError

import pytest

from explorer.api import PipedriveClient
from explorer.api.pages import Page
from explorer.sandbox.app import SandboxApp
from explorer.sandbox.store import Store

# Records the regular lists show (archived ones have their own).
LISTED = ("COALESCE(is_archived, 0) = 0", ())


async def all_pages(client: PipedriveClient, name: str, sizes: list[int],
                    **options: object) -> list[Page]:
    """Pages of ``name`` until the end, the n-th of ``sizes[n]`` records (the last size
    repeats)."""
    out = [await client.fetch_page(name, page_size=sizes[0], **options)]  # type: ignore[arg-type]
    while out[-1].more:
        size = sizes[min(len(out), len(sizes) - 1)]
        out.append(await client.fetch_page(name, page_size=size, after=out[-1].handle))
    return out


def ids_of(pages: list[Page]) -> list[object]:
    return [r["id"] for page in pages for r in page.records]


async def test_a_first_screen_of_50_then_pages_of_500(client: PipedriveClient,
                                                      store: Store) -> None:
    pages = await all_pages(client, "deals", [50, 500])
    assert len(pages[0].records) == 50 and pages[0].more
    assert all(len(p.records) == 500 for p in pages[1:-1])
    assert not pages[-1].more and pages[-1].handle is None
    listed = ids_of(pages)
    assert listed == [r["id"] async for r in client.iterate("deals")]
    assert len(listed) == store.count("deals", [LISTED])
    assert client.usage.requests["v2 GET /deals"] == len(pages) + -(-len(listed) // 500)


async def test_v1_pages_with_a_handle(client: PipedriveClient, store: Store) -> None:
    pages = await all_pages(client, "leads", [50, 500], sort="add_time desc")
    listed = ids_of(pages)
    assert len(pages[0].records) == 50
    assert len(listed) == len(set(listed)) == store.count(
        "leads", [LISTED])
    times = [r["add_time"] for page in pages for r in page.records]
    assert times == sorted(times, reverse=True)


async def test_overlapping_calls_share_nothing(client: PipedriveClient) -> None:
    first = await client.fetch_page("deals", {"status": "open"}, "update_time", 20)
    other = await client.fetch_page("persons", page_size=30)
    assert first.handle is not None and other.handle is not None
    before = (first.handle.cursor, first.handle.start, first.handle.seen)
    # The same handle twice at once, a second list, and the same list sorted otherwise.
    again, twice, persons, desc = await asyncio.gather(
        client.fetch_page("deals", page_size=20, after=first.handle),
        client.fetch_page("deals", page_size=20, after=first.handle),
        client.fetch_page("persons", page_size=30, after=other.handle),
        client.fetch_page("deals", {"status": "open"}, "update_time desc", 20))
    assert [r["id"] for r in again.records] == [r["id"] for r in twice.records]
    assert not {r["id"] for r in again.records} & {r["id"] for r in first.records}
    assert all(r["status"] == "open" for r in again.records)
    assert not {r["id"] for r in persons.records} & {r["id"] for r in other.records}
    assert desc.records[0]["update_time"] >= desc.records[-1]["update_time"]
    # Using a handle does not change it: it is a value.
    assert (first.handle.cursor, first.handle.start, first.handle.seen) == before
    with pytest.raises(FrozenInstanceError):
        first.handle.cursor = "x"  # type: ignore[misc]


async def test_a_record_edited_while_paging_is_not_given_again(client: PipedriveClient,
                                                             store: Store) -> None:
    open_deals = store.count("deals", [("status = ?", ("open",)), LISTED])
    page = await client.fetch_page("deals", {"status": "open"}, "update_time", 10)
    listed = [r["id"] for r in page.records]
    for deal in page.records[:3]:  # moves them to the end of the update_time order
        await client.update("deals", deal["id"], {"title": "moved"})
    while page.more:
        page = await client.fetch_page("deals", page_size=100, after=page.handle)
        listed += [r["id"] for r in page.records]
    assert len(listed) == len(set(listed)) == open_deals


async def test_handles_belong_to_their_list(client: PipedriveClient) -> None:
    page = await client.fetch_page("deals", {"status": "won"}, page_size=10)
    with pytest.raises(ValueError, match="continues deals, not persons"):
        await client.fetch_page("persons", after=page.handle)
    with pytest.raises(ValueError, match="other filters or sort"):
        await client.fetch_page("deals", {"status": "lost"}, after=page.handle)
    same = await client.fetch_page("deals", {"status": "won"}, after=page.handle)
    assert all(r["status"] == "won" for r in same.records)
    for size in (0, 501, True):
        with pytest.raises(ValueError, match="page_size must be 1 to 500"):
            await client.fetch_page("deals", page_size=size)
    with pytest.raises(ValueError, match="sort 'update_time sideways'"):
        await client.fetch_page("deals", sort="update_time sideways")
    with pytest.raises(ValueError, match="cursor: paging is the handle's"):
        await client.fetch_page("deals", params={"cursor": "abc"})


async def test_params_pass_through_and_stay_with_the_handle(client: PipedriveClient) -> None:
    first = await client.fetch_page("deals", page_size=3, params={"include_fields": "notes_count"})
    second = await client.fetch_page("deals", page_size=3, after=first.handle)
    assert all("notes_count" in r for r in (*first.records, *second.records))


async def test_unpaged_lists_come_whole(app: SandboxApp, client: PipedriveClient) -> None:
    page = await client.fetch_page("lead_sources")
    assert not page.more and page.handle is None
    assert {"API", "Manually created"} <= {r["name"] for r in page.records}
