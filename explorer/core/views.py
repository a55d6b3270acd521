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
