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
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.store import Store

# Records the regular lists show (archived ones have their own).
LISTED = ("COALESCE(is_archived, 0) = 0", ())


async def ids(client: PipedriveClient, name: str, **options: object) -> list[object]:
    return [r["id"] async for r in client.iterate(name, **options)]  # type: ignore[arg-type]


def requests_of(client: PipedriveClient, operation: str) -> int:
    return client.usage.requests.get(operation, 0)


async def test_v2_cursor_paging_is_exact(client: PipedriveClient, config: ClientConfig,
                                         store: Store) -> None:
    big = await ids(client, "deals")
    assert len(big) == len(set(big)) == store.count("deals", [LISTED])
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
    expected = store.count("leads", [LISTED])
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


def peak_counter(client: PipedriveClient) -> dict[str, int]:
    """Counts the client's requests in flight (``peak``) by wrapping its request method."""
    counts = {"in_flight": 0, "peak": 0}
    original = client.request

    async def counting(*args: object, **kwargs: object) -> object:
        counts["in_flight"] += 1
        counts["peak"] = max(counts["peak"], counts["in_flight"])
        try:
            await asyncio.sleep(0.002)  # let the other windows start
            return await original(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            counts["in_flight"] -= 1

    client.request = counting  # type: ignore[method-assign]
    return counts


def served(app: SandboxApp, operation_id: str) -> int:
    """Requests the sandbox answered for ``operation_id``: what really left the client."""
    return app.state.stats.requests[operation_id]


async def test_concurrent_windows_cost_at_most_one_page_more_than_sequential(
    app: SandboxApp, config: ClientConfig, store: Store
) -> None:
    """A v1 list does not say how long it is: a window beyond the end costs its tokens all
    the same. Concurrency keeps one page it knows exists and one spare in flight."""
    setting = replace(config, page_size=50, max_in_flight=6)
    async with PipedriveClient(setting, ApiTokenProvider(DEFAULT_TOKEN)) as client:
        sequential = await ids(client, "notes")
        one_by_one = served(app, "getNotes")
        assert one_by_one == -(-len(sequential) // 50)
        app.state.stats.reset()
        counts = peak_counter(client)
        notes = await ids(client, "notes", concurrent=True)
    assert notes == sequential and len(notes) == store.count("notes")
    assert counts["peak"] == 2  # the next page, known to exist, and one spare
    assert one_by_one <= served(app, "getNotes") <= one_by_one + 1


async def test_a_list_that_fits_the_first_window_costs_one_request(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    """An 18-lead list cost 10 requests (and 200 tokens) when every window went at once."""
    owner = store.select("leads", [], limit=1)[0]["owner_id"]
    leads = [r["id"] async for r in client.iterate("leads", filters={"owner_id": owner},
                                                   concurrent=True)]
    assert 0 < len(leads) < client.config.page_size
    assert served(app, "getLeads") == 1


async def test_with_a_known_total_every_needed_window_goes_at_once(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    total = store.count("notes")
    counts = peak_counter(client)
    notes = [r["id"] async for r in iter_windows(client, "v1", "/notes", page_size=50,
                                                 windows=6, total=total)]
    assert len(notes) == len(set(notes)) == total
    assert counts["peak"] == 6
    assert served(app, "getNotes") == -(-total // 50)  # not one request past the end


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


async def test_v2_iterator_never_yields_a_record_twice_while_records_move(
    client: PipedriveClient, config: ClientConfig, store: Store
) -> None:
    """Editing deals listed by update_time moves each edited one to the end of the order:
    the iterator gave it again (27 deals came 52 times)."""
    won = store.count("deals", [("status = ?", ("won",)), LISTED])
    async with PipedriveClient(replace(config, page_size=5),
                               ApiTokenProvider(DEFAULT_TOKEN)) as small:
        seen = []
        async for deal in small.iterate("deals", filters={"status": "won"},
                                        params={"sort_by": "update_time"}):
            seen.append(deal["id"])
            if len(seen) <= 12:
                await small.update("deals", deal["id"], {"title": f"{deal['title']} (seen)"})
    assert len(seen) == len(set(seen)) == won
    # The edited deals did come round again: without the check they would be yielded twice.
    assert small.usage.requests["v2 GET /deals"] > -(-won // 5) + 1


async def test_write_loops_work_from_a_snapshot_of_ids(
    client: PipedriveClient, config: ClientConfig, store: Store
) -> None:
    won = {d["id"] for d in store.select("deals", [("status = ?", ("won",)), LISTED])}
    async with PipedriveClient(replace(config, page_size=5),
                               ApiTokenProvider(DEFAULT_TOKEN)) as small:
        snapshot = await small.snapshot_ids("deals", {"status": "won"},
                                            params={"sort_by": "update_time"})
        for deal_id in snapshot:
            await small.update("deals", deal_id, {"title": "edited once"})
    assert sorted(snapshot) == sorted(won)
    assert small.usage.requests["v2 PATCH /deals/{id}"] == len(won)


async def test_more_than_100_ids_are_fetched_100_at_a_time(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    wanted = [d["id"] for d in store.select("deals", [LISTED], limit=250)]
    got = [d["id"] async for d in client.iterate("deals", filters={"ids": wanted})]
    assert sorted(got) == sorted(wanted)
    assert served(app, "getDeals") == 3  # 100 + 100 + 50
