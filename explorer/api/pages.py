"""One page at a time with a resumable handle, and the checks every list query goes through.

``fetch_page`` is what a window calls: a first screen of 50 records comes back fast, later
pages may be 500; each call names its own page size. It returns the records, a ``PageHandle``
to continue from and whether more exist. A handle is an immutable value (the list, its query,
where to go on, the ids already given): pages of several lists, or of one list from two
handles, may be fetched at the same time without disturbing each other, and a handle may be
used again (fetching the same page again). Records already given by the pages before are
never given again, even if a record moved in the order while paging (an edit moves a deal
sorted by ``update_time`` towards the end).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from explorer.api.paging import cursor_page, offset_page, unseen
from explorer.api.query import overridden_by_filter_id
from explorer.api.resources import Listing

if TYPE_CHECKING:
    from explorer.api.client import PipedriveClient

JSON = dict[str, Any]
MAX_IDS = 100  # the spec's cap on a v2 list's ``ids``


@dataclass(frozen=True)
class PageHandle:
    """Where a list goes on. Opaque to callers: pass it back as ``after=``."""

    listing: Listing
    query: tuple[tuple[str, Any], ...]
    cursor: str | None = None
    start: int = 0
    seen: frozenset[Any] = field(default=frozenset(), repr=False)


@dataclass(frozen=True)
class Page:
    """One page: its records, whether more exist, and the handle of the next (None at the
    end)."""

    records: tuple[JSON, ...]
    more: bool
    handle: PageHandle | None


def check_filters(listing: Listing, filters: Mapping[str, Any] | None,
                  params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``filters`` if the list takes them, else a ``ValueError`` saying what to do. A saved
    filter beside what it overrides is refused wherever the two come from (``filters`` or
    the pass-through ``params``)."""
    given = {k: v for k, v in (filters or {}).items() if v is not None}
    unknown = set(given) - listing.filters
    if unknown:
        raise ValueError(f"{listing.what} lists cannot be filtered by "
                         f"{', '.join(sorted(unknown))}; use "
                         f"{', '.join(sorted(listing.filters)) or 'no filters'}")
    query = {k: v for k, v in {**(params or {}), **given}.items() if v is not None}
    if "filter_id" in query:
        # Pipedrive ignores these beside a saved filter without saying so: the list would
        # show more than was asked for.
        ignored = sorted(set(query) & overridden_by_filter_id(listing.operation))
        if ignored:
            raise ValueError(
                f"{listing.what}: a saved filter (filter_id) overrides {', '.join(ignored)}, "
                "which Pipedrive would silently ignore; add those conditions to the saved "
                "filter, or list without filter_id")
    return given


def check_ids(listing: Listing, filters: Mapping[str, Any]) -> list[Any] | None:
    """The ``ids`` filter as a list (None if absent). An empty list asks for no records:
    callers answer it without a request, as ``ids=`` (nothing) is no filter at all to the
    API and would list every record."""
    ids = filters.get("ids")
    if ids is None:
        return None
    if isinstance(ids, str):
        return [i for i in (part.strip() for part in ids.split(",")) if i]
    if isinstance(ids, int) and not isinstance(ids, bool):
        return [ids]  # one id
    if not isinstance(ids, list | tuple | set | frozenset):
        raise ValueError(f"{listing.what}: ids takes a list of ids (or one id), got "
                         f"{type(ids).__name__} {ids!r}")
    return list(ids)


def sort_params(listing: Listing, sort: str | None) -> dict[str, str]:
    """``"update_time"`` or ``"update_time desc"`` as the list's version writes it: v2
    ``sort_by`` and ``sort_direction``, v1 ``sort=update_time DESC``."""
    if not sort:
        return {}
    field_name, _, direction = sort.strip().partition(" ")
    direction = direction.strip().lower() or "asc"
    if direction not in ("asc", "desc") or not field_name:
        raise ValueError(f"sort {sort!r}: give a field name, optionally followed by asc or desc "
                         "(\"update_time desc\")")
    if listing.version == "v2":
        return {"sort_by": field_name, "sort_direction": direction}
    return {"sort": f"{field_name} {direction.upper()}"}


def first_handle(listing: Listing, filters: Mapping[str, Any] | None,
                 sort: str | None, params: Mapping[str, Any] | None = None) -> PageHandle:
    """The handle of a list's first page, its filters and sort checked; ``params`` pass
    through (``include_fields``, ``custom_fields``)."""
    given = check_filters(listing, filters, params)
    ids = check_ids(listing, {**(params or {}), **given})
    if ids is not None and len(ids) > MAX_IDS:
        raise ValueError(f"{listing.what}: ids takes at most {MAX_IDS} ids per request, got "
                         f"{len(ids)}; page through them in groups of {MAX_IDS} (iterate does)")
    paged = {"cursor", "start", "limit"} & set(params or ())
    if paged:
        raise ValueError(f"{', '.join(sorted(paged))}: paging is the handle's; pass page_size "
                         "and after= instead")
    query = {**(params or {}), **given, **sort_params(listing, sort)}
    return PageHandle(listing, tuple(sorted(query.items(), key=lambda item: item[0])))


async def fetch_page(client: PipedriveClient, listing: Listing,
                     filters: Mapping[str, Any] | None = None, sort: str | None = None,
                     page_size: int = 100, after: PageHandle | None = None, *,
                     params: Mapping[str, Any] | None = None) -> Page:
    """One page of ``listing`` (see the module docstring). With ``after``, ``filters``,
    ``sort`` and ``params`` must be left out or be the handle's own: a handle goes on with
    the list it came from."""
    if (isinstance(page_size, bool) or not isinstance(page_size, int)
            or not 1 <= page_size <= listing.max_page):
        raise ValueError(f"{listing.what}: page_size must be 1 to {listing.max_page}, got "
                         f"{page_size!r}")
    handle = first_handle(listing, filters, sort, params)
    if after is not None:
        if after.listing != listing:
            raise ValueError(f"this handle continues {after.listing.what}, not {listing.what}")
        given = filters is not None or sort is not None or params is not None
        if given and handle.query != after.query:
            raise ValueError(f"this handle continues {listing.what} with other filters or "
                             "sort; leave filters and sort out to go on with the handle's")
        handle = after
    if check_ids(listing, dict(handle.query)) == []:
        return Page((), False, None)  # no ids, no records: nothing is sent
    while True:
        page = await _fetch(client, handle, page_size)
        # A page all of whose records were given already (they moved while paging) says
        # nothing new: go on rather than hand back an empty page that claims more.
        if page.records or not page.more or page.handle is None:
            return page
        handle = page.handle


async def _fetch(client: PipedriveClient, handle: PageHandle, size: int) -> Page:
    listing = handle.listing
    query = dict(handle.query)
    if listing.paging == "cursor":
        query["limit"] = size
        if handle.cursor:
            query["cursor"] = handle.cursor
        records, cursor = cursor_page(
            await client.request("GET", listing.version, listing.path, params=query))
        new, seen = _new(records, listing.key, handle.seen)
        following = PageHandle(listing, handle.query, cursor=cursor, seen=seen)
        return Page(tuple(new), cursor is not None, following if cursor else None)
    if listing.paging == "offset":
        query.update(start=handle.start, limit=size)
        env = await client.request("GET", listing.version, listing.path, params=query)
        records, more, start = offset_page(env, handle.start)
        new, seen = _new(records, listing.key, handle.seen)
        following = PageHandle(listing, handle.query, start=start, seen=seen)
        return Page(tuple(new), more, following if more else None)
    env = await client.request("GET", listing.version, listing.path, params=query)
    records = env.data if isinstance(env.data, list) else []
    return Page(tuple(records), False, None)


def _new(records: list[JSON], key: str | None,
         seen: frozenset[Any]) -> tuple[list[JSON], frozenset[Any]]:
    """The records not given before, and the ids given so far (the handle keeps them frozen,
    so an older handle fetched again still knows only what came before it)."""
    given = set(seen)
    return unseen(records, given, key), frozenset(given)
