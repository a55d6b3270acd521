"""Async iterators over v2 cursors and v1 offsets, with concurrent v1 windows on request.

No iterator gives a record twice: a record that moves while a list is paged (an edit moves a
deal sorted by ``update_time`` to the end; an insert shifts v1 offsets) is given the first
time only. Code that writes while it lists should still work from a snapshot of ids
(``PipedriveClient.snapshot_ids``): what it writes moves records between pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from explorer.api.resources import Listing, Version
from explorer.api.responses import Envelope

if TYPE_CHECKING:
    from explorer.api.client import PipedriveClient

JSON = dict[str, Any]


def iterate(client: PipedriveClient, listing: Listing, params: Mapping[str, Any], *,
            concurrent: bool = False) -> AsyncIterator[JSON]:
    """Every record of ``listing``, in the API's order, page size from the config (at most
    the list's own cap)."""
    size = min(client.config.page_size, listing.max_page)
    version, path, key = listing.version, listing.path, listing.key
    if listing.paging == "cursor":
        return iter_cursor(client, version, path, params, page_size=size, key=key)
    if listing.paging == "offset":
        if concurrent:
            return iter_windows(client, version, path, params, page_size=size,
                                windows=client.config.max_in_flight, key=key)
        return iter_offset(client, version, path, params, page_size=size, key=key)
    return iter_once(client, version, path, params)


async def nothing() -> AsyncIterator[JSON]:
    """No records, without a request (an empty ``ids`` filter)."""
    return
    yield  # an async generator that yields nothing


async def iter_chunks(client: PipedriveClient, listing: Listing, params: Mapping[str, Any],
                      ids: list[Any], *, chunk: int = 100) -> AsyncIterator[JSON]:
    """The records of ``ids`` (more than one request's cap of ``chunk``), chunk by chunk;
    within a chunk in the API's order."""
    seen: set[Any] = set()
    for at in range(0, len(ids), chunk):
        query = {**params, "ids": ids[at:at + chunk]}
        async for record in iterate(client, listing, query):
            for fresh in unseen([record], seen, listing.key):
                yield fresh


async def iter_cursor(client: PipedriveClient, version: Version, path: str,
                      params: Mapping[str, Any] | None = None, *,
                      page_size: int = 500, key: str | None = "id") -> AsyncIterator[JSON]:
    """Cursor paging (v2, v1 changelogs): follow ``additional_data.next_cursor`` until it is
    null; a record whose ``key`` was given already is not given again."""
    query: dict[str, Any] = {**(params or {}), "limit": page_size}
    seen: set[Any] = set()
    while True:
        records, cursor = cursor_page(await client.request("GET", version, path, params=query))
        for record in unseen(records, seen, key):
            yield record
        if not cursor:
            return
        query["cursor"] = cursor


def cursor_page(env: Envelope) -> tuple[list[JSON], str | None]:
    """Records and ``next_cursor`` (None at the end) of a cursor page."""
    cursor = env.additional_data.get("next_cursor")
    return (env.data if isinstance(env.data, list) else []), (str(cursor) if cursor else None)


def v1_page(env: Envelope) -> tuple[list[JSON], bool, int | None]:
    """Records, whether more follow, and ``next_start`` of a v1 page. Leads put the fields
    straight into ``additional_data`` instead of ``additional_data.pagination``: both work."""
    extra = env.additional_data
    page = extra.get("pagination")
    if not isinstance(page, Mapping):
        page = extra
    next_start = page.get("next_start")
    records = env.data if isinstance(env.data, list) else []
    return (records, bool(page.get("more_items_in_collection")),
            next_start if isinstance(next_start, int) else None)


def offset_page(env: Envelope, start: int) -> tuple[list[JSON], bool, int]:
    """Records of the v1 page asked for at ``start``, whether more follow (never after an
    empty page) and where the next page starts (``next_start``, else after these records)."""
    records, more, next_start = v1_page(env)
    follows = next_start if next_start is not None else start + len(records)
    return records, more and bool(records), follows


async def iter_offset(client: PipedriveClient, version: Version, path: str,
                      params: Mapping[str, Any] | None = None, *, page_size: int = 500,
                      start: int = 0, seen: set[Any] | None = None,
                      key: str | None = "id") -> AsyncIterator[JSON]:
    """v1 offset paging, one page after the other. A record that moved into a later window
    while paging (offsets shift when records are added) is yielded once only."""
    seen = set() if seen is None else seen
    query = dict(params or {})
    while True:
        env = await client.request("GET", version, path,
                                   params={**query, "start": start, "limit": page_size})
        records, more, start = offset_page(env, start)
        for record in unseen(records, seen, key):
            yield record
        if not more:
            return


async def iter_windows(client: PipedriveClient, version: Version, path: str,
                       params: Mapping[str, Any] | None = None, *, page_size: int = 500,
                       windows: int = 4, spare: int = 1, total: int | None = None,
                       key: str | None = "id") -> AsyncIterator[JSON]:
    """v1 offset paging with pages requested ahead, never more than needed plus ``spare``.

    A v1 list does not say how long it is, and every page costs its tokens even past the end.
    So the first window is asked for alone (a list that fits in it costs one request); then
    a page known to exist (the one before said more follow) is requested together with at
    most ``spare`` pages that may not exist, up to ``windows`` at once: concurrency costs at
    most ``spare`` requests more than paging one after the other. With ``total`` known (from
    elsewhere), every window below it is needed and up to ``windows`` go at once.

    Records come out in the same order as ``iter_offset`` would give them. When a page says
    nothing follows, windows requested beyond it are cancelled. If the server pages by
    another size than asked (a short page while more follow, or a ``next_start``
    elsewhere), the rest is read one page after the other from its ``next_start``, else from
    after the records it gave.
    """
    query = dict(params or {})
    tasks: dict[int, asyncio.Task[Envelope]] = {}
    seen: set[Any] = set()
    ahead = 0  # next window start to request
    start = 0  # window start to yield next
    resume_at = 0
    needed = page_size if total is None else max(total, page_size)  # windows below exist
    extra = 0  # no spare windows until the first page came back full

    def request(offset: int) -> asyncio.Task[Envelope]:
        return asyncio.ensure_future(client.request(
            "GET", version, path, params={**query, "start": offset, "limit": page_size}))

    try:
        while True:
            while len(tasks) < max(1, windows) and ahead < needed + extra * page_size:
                tasks[ahead] = request(ahead)
                ahead += page_size
            records, more, follows = offset_page(await tasks.pop(start), start)
            for record in unseen(records, seen, key):
                yield record
            if not more:
                return
            if follows != start + page_size:
                # The server pages by another size than asked (it caps ``limit``): the
                # windows requested ahead start at the wrong offsets.
                resume_at = follows
                break
            start += page_size
            # More follow: the next window holds at least one record.
            needed = max(needed, start + page_size)
            extra = max(0, spare)
    finally:
        await _cancel(tasks)
    async for record in iter_offset(client, version, path, query, page_size=page_size,
                                    start=resume_at, seen=seen, key=key):
        yield record


async def iter_once(client: PipedriveClient, version: Version, path: str,
                     params: Mapping[str, Any]) -> AsyncIterator[JSON]:
    """A list without paging (v1 ``/users``, ``/filters``)."""
    env = await client.request("GET", version, path, params=params)
    for record in env.data or ():
        yield record


def unseen(records: list[JSON], seen: set[Any], field: str | None = "id") -> list[JSON]:
    """The records whose ``field`` is not in ``seen`` yet (all of them when ``field`` is
    None, or a record has none); ``seen`` gains theirs."""
    if field is None:
        return records
    out = []
    for record in records:
        key = record.get(field) if isinstance(record, dict) else None
        if key is None:
            out.append(record)
        elif key not in seen:
            seen.add(key)
            out.append(record)
    return out


async def _cancel(tasks: dict[int, asyncio.Task[Envelope]]) -> None:
    for task in tasks.values():
        task.cancel()
    # Collect the outcomes so no "exception was never retrieved" is left behind.
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    tasks.clear()
