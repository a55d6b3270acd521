"""Paging exactness: v2 cursors, v1 offsets, concurrent v1 windows, unpaged lists."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient
from explorer.api.paging import iter_offset, iter_windows, v1_page
from explorer.sandbox.app import DEFAULT_TOKEN
from explorer.sandbox.store import Store


async def ids(client: PipedriveClient, name: str, **options: object) -> list[object]:
    return [r["id"] async for r in client.iterate(name, **options)]  # type: ignore[arg-type]


def requests_of(client: PipedriveClient, operation: str) -> int:
    return client.usage.requests.get(operation, 0)


async def test_v2_cursor_paging_is_exact(client: PipedriveClient, config: ClientConfig,
                                         store: Store) -> None:
    big = await ids(client, "deals")
    assert len(big) == len(set(big)) == store.count("deals", [("is_archived = 0", ())])
    assert requests_of(client, "v2 GET /deals") == -(-len(big) // 500)
    async with PipedriveClient(replace(config, page_size=37),
                               ApiTokenProvider(DEFAULT_TOKEN)) as small:
        assert await ids(small, "deals") == big
        assert requests_of(small, "v2 GET /deals") == -(-len(big) // 37)


async def test_v2_paging_passes_filters(client: PipedriveClient) -> None:
    deals = [d async for d in client.iterate("deals", filters={"status": "won"},
                                             params={"sort_by": "update_time"})]
    assert deals and all(d["status"] == "won" for d in deals)
    times = [d["update_time"] for d in deals]
    assert times == sorted(times)
    with pytest.raises(ValueError, match="cannot be filtered by title"):
        client.iterate("deals", filters={"title": "x"})


async def test_v1_offset_paging_is_exact(client: PipedriveClient, config: ClientConfig,
                                         store: Store) -> None:
    leads = await ids(client, "leads")
    expected = store.count("leads", [("COALESCE(is_archived, 0) = 0", ())])
    assert len(leads) == len(set(leads)) == expected
    async with PipedriveClient(replace(config, page_size=7),
                               ApiTokenProvider(DEFAULT_TOKEN)) as small:
        assert await ids(small, "leads") == leads


@pytest.mark.parametrize(("page_size", "windows"), [(500, 4), (7, 4), (50, 10), (100, 1)])
async def test_concurrent_windows_equal_sequential(
    client: PipedriveClient, config: ClientConfig, page_size: int, windows: int
) -> None:
    for name in ("leads", "notes"):
        sequential = [r["id"] async for r in iter_offset(client, "v1", f"/{name}",
                                                         page_size=page_size)]
        concurrent = [r["id"] async for r in iter_windows(client, "v1", f"/{name}",
                                                          page_size=page_size, windows=windows)]
        assert concurrent == sequential and len(set(concurrent)) == len(concurrent)


async def test_concurrent_windows_overlap_and_stop_near_the_end(
    config: ClientConfig, store: Store
) -> None:
    in_flight = peak = 0
    original = PipedriveClient.request

    async def counting(self: PipedriveClient, *args: object, **kwargs: object) -> object:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.002)  # let the other windows start
            return await original(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            in_flight -= 1

    setting = replace(config, page_size=50, max_in_flight=6)
    async with PipedriveClient(setting, ApiTokenProvider(DEFAULT_TOKEN)) as client:
        client.request = counting.__get__(client)  # type: ignore[method-assign]
        notes = await ids(client, "notes", concurrent=True)
    assert len(notes) == store.count("notes")
    assert peak == 6
    pages = -(-len(notes) // 50)
    # Windows beyond the end are cancelled or cost at most max_in_flight - 1 requests.
    assert pages <= client.usage.requests["v1 GET /notes"] <= pages + 5


async def test_breaking_out_of_concurrent_windows_cancels_the_rest(
    client: PipedriveClient,
) -> None:
    seen = []
    async with asyncio.timeout(5):
        iterator = iter_windows(client, "v1", "/notes", page_size=10, windows=5)
        async for note in iterator:
            seen.append(note["id"])
            if len(seen) == 15:
                break
        await iterator.aclose()  # type: ignore[attr-defined]
    assert len(seen) == 15


async def test_lead_pagination_flat_or_wrapped(client: PipedriveClient) -> None:
    env = await client.request("GET", "v1", "/leads", params={"limit": 5})
    records, more, next_start = v1_page(env)
    assert len(records) == 5 and more and next_start == 5
    flat = replace(env, additional_data={k: v for k, v in env.additional_data.items()
                                         if k != "pagination"})
    wrapped = replace(env, additional_data={"pagination": env.additional_data["pagination"]})
    assert v1_page(flat) == v1_page(wrapped) == (records, True, 5)


def capped_server(total: int, cap: int) -> Starlette:
    """A v1 list server that answers at most ``cap`` records whatever ``limit`` asks, and
    says only whether more follow (no ``next_start``), as some Pipedrive lists do."""

    async def leads(request: Request) -> JSONResponse:
        start = int(request.query_params["start"])
        limit = min(int(request.query_params["limit"]), cap)
        records = [{"id": i} for i in range(start, min(start + limit, total))]
        return JSONResponse({"success": True, "data": records, "additional_data": {
            "start": start, "limit": limit, "more_items_in_collection": start + limit < total}})

    return Starlette(routes=[Route("/api/v1/leads", leads)])


@pytest.mark.parametrize(("page_size", "windows"), [(100, 4), (41, 3), (40, 4), (100, 1)])
async def test_short_pages_without_next_start_lose_nothing(page_size: int, windows: int) -> None:
    config = ClientConfig(base_url="http://capped.test",
                          transport=httpx.ASGITransport(app=capped_server(230, 40)))
    async with PipedriveClient(config, ApiTokenProvider("t")) as client:
        sequential = [r["id"] async for r in iter_offset(client, "v1", "/leads",
                                                         page_size=page_size)]
        concurrent = [r["id"] async for r in iter_windows(client, "v1", "/leads",
                                                          page_size=page_size, windows=windows)]
    assert sequential == concurrent == list(range(230))
