"""Async iterators over v2 cursors and v1 offsets, with concurrent v1 windows on request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from explorer.api.resources import Resource, Version
from explorer.api.responses import Envelope

if TYPE_CHECKING:
    from explorer.api.client import PipedriveClient

JSON = dict[str, Any]


def iterate(client: PipedriveClient, res: Resource, params: Mapping[str, Any], *,
            concurrent: bool = False) -> AsyncIterator[JSON]:
    """Every record of ``res``'s list, in the API's order, page size from the config."""
    size = client.config.page_size
    if res.paging == "cursor":
        return iter_cursor(client, res.version, res.path, params, page_size=size)
    if res.paging == "offset":
        if concurrent:
            return iter_windows(client, res.version, res.path, params, page_size=size,
                                windows=client.config.max_in_flight)
        return iter_offset(client, res.version, res.path, params, page_size=size)
    return _iter_once(client, res.version, res.path, params)


async def iter_cursor(client: PipedriveClient, version: Version, path: str,
                      params: Mapping[str, Any] | None = None, *,
                      page_size: int = 500) -> AsyncIterator[JSON]:
    """v2 cursor paging: follow ``additional_data.next_cursor`` until it is null."""
    query: dict[str, Any] = {**(params or {}), "limit": page_size}
    while True:
        env = await client.request("GET", version, path, params=query)
        for record in env.data or ():
            yield record
        cursor = env.additional_data.get("next_cursor")
        if not cursor:
            return
        query["cursor"] = cursor


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


async def iter_offset(client: PipedriveClient, version: Version, path: str,
                      params: Mapping[str, Any] | None = None, *, page_size: int = 500,
                      start: int = 0, seen: set[Any] | None = None) -> AsyncIterator[JSON]:
    """v1 offset paging, one page after the other. A record that moved into a later window
    while paging (offsets shift when records are added) is yielded once only."""
    seen = set() if seen is None else seen
    query = dict(params or {})
    while True:
        env = await client.request("GET", version, path,
                                   params={**query, "start": start, "limit": page_size})
        records, more, next_start = v1_page(env)
        for record in _unseen(records, seen):
            yield record
        if not more or not records:
            return
        start = next_start if next_start is not None else start + len(records)


async def iter_windows(client: PipedriveClient, version: Version, path: str,
                       params: Mapping[str, Any] | None = None, *, page_size: int = 500,
                       windows: int = 4) -> AsyncIterator[JSON]:
    """v1 offset paging with up to ``windows`` pages requested at once.

    Windows ``start = 0, page_size, 2·page_size, …`` are requested ahead of the one being
    yielded; records come out in the same order as ``iter_offset`` would give them. When a
    page says nothing follows, windows requested beyond it are cancelled (at most
    ``windows - 1`` requests are spent past the end). If the server pages by another size
    than asked (a short page while more follow, or a ``next_start`` elsewhere), the rest is
    read one page after the other from its ``next_start``, else from after the records it
    gave.
    """
    query = dict(params or {})
    tasks: dict[int, asyncio.Task[Envelope]] = {}
    seen: set[Any] = set()
    ahead = 0  # next window start to request
    start = 0  # window start to yield next
    resume_at = 0

    def request(offset: int) -> asyncio.Task[Envelope]:
        return asyncio.ensure_future(client.request(
            "GET", version, path, params={**query, "start": offset, "limit": page_size}))

    try:
        while True:
            while len(tasks) < max(1, windows):
                tasks[ahead] = request(ahead)
                ahead += page_size
            records, more, next_start = v1_page(await tasks.pop(start))
            for record in _unseen(records, seen):
                yield record
            if not more or not records:
                return
            follows = next_start if next_start is not None else start + len(records)
            if follows != start + page_size:
                # The server pages by another size than asked (it caps ``limit``): the
                # windows requested ahead start at the wrong offsets.
                resume_at = follows
                break
            start += page_size
    finally:
        await _cancel(tasks)
    async for record in iter_offset(client, version, path, query, page_size=page_size,
                                    start=resume_at, seen=seen):
        yield record


async def _iter_once(client: PipedriveClient, version: Version, path: str,
                     params: Mapping[str, Any]) -> AsyncIterator[JSON]:
    """A list without paging (v1 ``/users``, ``/filters``)."""
    env = await client.request("GET", version, path, params=params)
    for record in env.data or ():
        yield record


def _unseen(records: list[JSON], seen: set[Any]) -> list[JSON]:
    out = []
    for record in records:
        key = record.get("id") if isinstance(record, dict) else None
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
