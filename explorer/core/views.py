"""Views: what the table shows (a resource, a saved filter or stage, archived or not, a sort)
and the one small interface records are read through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from explorer.api import Page, PageHandle, PipedriveClient


@dataclass(frozen=True)
class View:
    """One list the table can show.

    Attributes:
        resource: the resource name (``deals``, ``leads``, ``persons``, …).
        title: what the tree and the window call it (``Deals``, ``Qualified``, ``Archived deals``).
        filters: list filters passed to the API (``{"filter_id": 3}``, ``{"stage_id": 2}``,
            ``{"pipeline_id": 1}``), as ``PipedriveClient.fetch_page`` takes them.
        archived: the archived list (deals, leads).
        sort: ``"field asc|desc"``, or None for the API's own order.
    """

    resource: str
    title: str = ""
    filters: tuple[tuple[str, Any], ...] = field(default=())
    archived: bool = False
    sort: str | None = None

    @property
    def filter_params(self) -> dict[str, Any]:
        return dict(self.filters)

    @property
    def key(self) -> str:
        """A stable name for settings (column layout is remembered per resource, not view)."""
        parts = [self.resource, "archived" if self.archived else ""]
        parts += [f"{k}={v}" for k, v in self.filters]
        return "/".join(p for p in parts if p)

    def with_sort(self, sort: str | None) -> View:
        return View(self.resource, self.title, self.filters, self.archived, sort)


class RecordSource(Protocol):
    """Where the table reads records from: the API today, a local cache later."""

    async def fetch_page(self, view: View, *, after: PageHandle | None = None,
                         size: int = 50) -> Page: ...

    async def get(self, resource: str, record_id: Any) -> dict[str, Any]: ...


class ClientSource:
    """A ``RecordSource`` over the client (the interactive lane unless the caller's task
    runs in another)."""

    def __init__(self, client: PipedriveClient) -> None:
        self._client = client

    async def fetch_page(self, view: View, *, after: PageHandle | None = None,
                         size: int = 50) -> Page:
        if after is not None:
            return await self._client.fetch_page(view.resource, page_size=size, after=after,
                                                 archived=view.archived)
        return await self._client.fetch_page(view.resource, view.filter_params or None,
                                             sort=view.sort, page_size=size,
                                             archived=view.archived)

    async def get(self, resource: str, record_id: Any) -> dict[str, Any]:
        record = await self._client.get(resource, record_id)
        assert isinstance(record, dict)
        return record


# What ``/v1/deals/summary`` filters by, as a deals view's filters name it (the summary calls
# the owner ``user_id``).
SUMMARY_FILTERS = {"filter_id": "filter_id", "stage_id": "stage_id",
                   "pipeline_id": "pipeline_id", "status": "status", "owner_id": "user_id"}


async def deal_count(client: PipedriveClient, view: View) -> int | None:
    """How many deals ``view`` lists, from one ``GET /v1/deals/summary`` (40 tokens; every
    status, as the deals list shows them), or None when the summary cannot count that view
    (not deals, archived, a filter it does not take). A failed request raises."""
    if view.resource != "deals" or view.archived:
        return None
    params: dict[str, Any] = {}
    for key, value in view.filters:
        if value is None:
            continue
        if key not in SUMMARY_FILTERS:
            return None
        params[SUMMARY_FILTERS[key]] = value
    envelope = await client.request("GET", "v1", "/deals/summary", params=params)
    count = envelope.data.get("total_count") if isinstance(envelope.data, dict) else None
    if count is None:
        return 0  # no deals: the summary leaves the count out
    return count if isinstance(count, int) and not isinstance(count, bool) else None
