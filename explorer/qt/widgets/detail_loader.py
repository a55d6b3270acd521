"""The detail pane's network work: the fresh record, field metadata, names, related tabs and
history, each as a keyed task of the pane's ``TaskRunner`` (interactive lane).

Every coroutine checks, before it shows anything, that its place is still the pane's current
one: a late answer for a record the user has left is dropped (keyed tasks are cancelled as
well, so this is the second line). Client errors are shown in the pane or the tab with a
Retry button; anything else goes to the runner's error sink. A tab keeps one model for its
whole life (new rows replace the old ones): a model per record shown would pile up while the
user arrows through the table. A next page that fails leaves the rows shown and says so
beside "Load more", which tries that page again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from explorer.api.errors import NotFound, PipedriveError
from explorer.api.fields import ResourceFields
from explorer.core import detail_fields as df
from explorer.core import history
from explorer.core.navigation import Place
from explorer.qt.models.history import HistoryModel
from explorer.qt.models.related import Column, RelatedModel, columns_for

if TYPE_CHECKING:
    from explorer.qt.widgets.detail_pane import DetailPane
    from explorer.qt.widgets.related_tab import RelatedTab

RECORD_KEY = "detail:record"
PAGE_SIZE = 100  # rows of a related tab per page ("Load more" for the next)


@dataclass(frozen=True)
class Rows:
    """What a tab shows: its rows, whether more exist, how to go on (``after``), columns."""

    rows: list[Any]
    more: bool
    handle: Any
    columns: list[Column]


def _singular(resource: str) -> str:
    return {"persons": "person", "activities": "activity"}.get(resource, resource.rstrip("s"))


class DetailLoader:
    """Loads what ``DetailPane`` shows (see the module docstring)."""

    def __init__(self, pane: DetailPane) -> None:
        self.pane = pane
        self._ready: Place | None = None
        self._handles: dict[str, Any] = {}
        self._tab_keys: set[str] = set()

    # ------------------------------------------------------------------ the record

    def start(self, place: Place, shown: dict[str, Any] | None) -> None:
        """Fetch ``place``'s record fresh (replacing the load of the previous one)."""
        self._ready = None
        self.pane.runner.start(self._load(place, shown), key=RECORD_KEY,
                               name=f"detail of {_singular(place.resource)} {place.record_id}")

    def record_ready(self, place: Place) -> bool:
        """Whether the fresh record of ``place`` is shown (tabs may load)."""
        return self._ready is place

    async def _load(self, place: Place, shown: dict[str, Any] | None) -> None:
        pane, resource = self.pane, place.resource
        fields_task = asyncio.ensure_future(self.fields(resource))
        waits: list[asyncio.Future[Any]] = [fields_task]
        try:
            if shown is not None:  # names of the cached copy while the GET is under way
                waits.append(asyncio.ensure_future(self._names(resource, shown, fields_task)))
            try:
                record = await self._get(resource, place.record_id)
            except NotFound:
                if pane.history.current is place:
                    pane.show_message(f"This {_singular(resource)} no longer exists in "
                                      "Pipedrive (deleted or merged). Back returns to the "
                                      "record before.")
                return
            except PipedriveError as error:
                if pane.history.current is place:
                    what = (f"Could not refresh this {_singular(resource)} (the list's copy "
                            "is shown)" if pane.record is not None
                            else f"Could not load this {_singular(resource)}")
                    pane.show_message(f"{what}: {error}. Check the connection and retry.",
                                      retry=True)
                return
            fields_ok = await fields_task
            pane.applied(place, record)
            names = asyncio.ensure_future(self._names(resource, record, fields_task))
            waits.append(names)
            await asyncio.gather(*waits[1:])
            if pane.history.current is not place:
                return
            pane.fill(resource, record)  # with the names now known
            failure = pane.session.catalog.failures.get(resource)
            if not fields_ok and failure is not None:  # users have no fields to load
                pane.show_message(f"The {resource} fields could not be loaded ({failure}); "
                                  "custom fields show their keys.", retry=True)
            self._ready = place
            pane.loaded.emit(resource, place.record_id)
            tab = pane.current_tab()
            if tab is not None:
                self.load_tab(place, tab)
        finally:
            for wait in waits:
                wait.cancel()  # only the unfinished: the record's load was given up

    async def _get(self, resource: str, record_id: Any) -> dict[str, Any]:
        counts = df.INCLUDE_COUNTS.get(resource)
        if counts:  # the tabs' counts in the same GET
            record = await self.pane.session.client.get(
                resource, record_id, params={"include_fields": counts})
            return record
        return await self.pane.session.source.get(resource, record_id)

    async def fields(self, resource: str) -> ResourceFields | None:
        """The resource's fields (loaded once per session); None if they cannot be read."""
        try:
            return await self.pane.session.fields(resource)
        except (PipedriveError, KeyError):
            return None

    async def _names(self, resource: str, record: dict[str, Any],
                     fields_task: asyncio.Future[ResourceFields | None]) -> None:
        session = self.pane.session
        if resource not in session.catalog:  # built-in references now, custom ones below
            await session.names.load_records(resource, [record])
            await fields_task
        await session.names.load_records(resource, [record], session.catalog)

    # ------------------------------------------------------------------ tabs

    def load_tab(self, place: Place, tab: RelatedTab) -> None:
        if tab.loaded_for == place.key and tab.state in ("rows", "empty"):
            return
        key = f"detail:tab:{tab.spec.key}"
        self._tab_keys.add(key)
        self.pane.runner.start(self._load_tab(place, tab), key=key,
                               name=f"{tab.spec.title.lower()} of {_singular(place.resource)} "
                                    f"{place.record_id}")

    def cancel_tabs(self) -> None:
        for key in self._tab_keys:
            self.pane.runner.cancel(key)

    def more(self, tab: RelatedTab) -> None:
        place = self.pane.history.current
        handle = self._handles.get(tab.spec.key)
        if place is None or handle is None or tab.loaded_for != place.key:
            return
        tab.more_button.setEnabled(False)
        self.pane.runner.start(self._load_tab(place, tab, handle),
                               key=f"detail:tab:{tab.spec.key}",
                               name=f"more {tab.spec.title.lower()}")

    async def _load_tab(self, place: Place, tab: RelatedTab, after: Any = None) -> None:
        spec, pane = tab.spec, self.pane
        if after is None:
            tab.show_loading()
        try:
            loaded = await self._rows(place, tab, after)
        except PipedriveError as error:
            if pane.history.current is not place:
                return
            what = f"the {spec.title.lower()} of this {_singular(place.resource)}"
            if after is not None:  # the rows shown stay; "Load more" asks for the page again
                tab.show_more_error(f"Could not load more of {what}: {error}.")
            else:
                tab.show_error(f"Could not load {what}: {error}.",
                               retry=lambda: self.load_tab(place, tab))
            return
        finally:
            if after is not None:  # disabled while the page was under way
                tab.more_button.setEnabled(True)
        if pane.history.current is not place:
            return
        if loaded is None:
            tab.loaded_for = place.key
            tab.show_message(f"No {spec.title.lower()} is linked to this "
                             f"{_singular(place.resource)}.")
            return
        rows, more, columns = loaded.rows, loaded.more, loaded.columns
        model = tab.view.model()
        self._handles[spec.key] = loaded.handle
        if isinstance(model, HistoryModel | RelatedModel) and after is not None:
            model.append_rows(rows, more)
        elif spec.kind == "history":
            if not isinstance(model, HistoryModel):
                model = HistoryModel(tab)
            model.set_rows(rows, more)
        else:
            if not isinstance(model, RelatedModel):
                model = RelatedModel(spec, tab)
            model.set_rows(rows, columns, more)
        tab.set_model(model)
        tab.loaded_for = place.key
        count = model.rowCount()
        pane.set_tab_title(tab, count, more)
        if count:
            tab.show_rows(more)
        else:
            tab.show_message("No changes recorded." if spec.kind == "history"
                             else f"No {spec.title.lower()}.")

    async def _rows(self, place: Place, tab: RelatedTab, after: Any) -> Rows | None:
        """The tab's rows (None: a link tab with nothing linked)."""
        spec, session = tab.spec, self.pane.session
        client, names = session.client, session.names
        if spec.kind == "link":
            ident = df.reference_id((self.pane.record or {}).get(spec.filter_key))
            if ident is None:
                return None
            fields_task = asyncio.ensure_future(self.fields(spec.target))
            try:
                record = await session.source.get(spec.target, ident)
                await names.load_records(spec.target, [record], session.catalog)
                fields = await fields_task
            finally:
                fields_task.cancel()
            return Rows([record], False, None, columns_for(spec, fields, names))
        if spec.kind == "list":
            # One handle per list: the active records, and the archived ones (deals, leads).
            lists = (False, True) if spec.archived else (False,)
            handles = after or tuple(None for _ in lists)
            query = None if after else {spec.filter_key: place.record_id}
            pages = await asyncio.gather(*(
                client.fetch_page(spec.target, query, page_size=PAGE_SIZE, after=handle,
                                  archived=archived)
                for archived, handle in zip(lists, handles, strict=True)
                if after is None or handle is not None))
            fields = await self.fields(spec.target)
            records = [r for page in pages for r in page.records]
            await names.load_records(spec.target, records, session.catalog)
            next_handles = tuple(p.handle if p.more else None for p in pages)
            if after is not None:  # lists already at their end were not asked again
                given = iter(next_handles)
                next_handles = tuple(next(given) if h is not None else None for h in handles)
            more = any(h is not None for h in next_handles)
            return Rows(records, more, next_handles if more else None,
                        columns_for(spec, fields, names))
        page, fields = await asyncio.gather(
            client.related_page(place.resource, place.record_id, spec.name,
                                page_size=PAGE_SIZE, after=after),
            self.fields(place.resource))
        handle = page.handle if page.more else None
        if spec.kind == "related":
            if spec.name == "followers":
                await names.prefetch({"user": [r.get("user_id") for r in page.records]})
            else:
                await names.prefetch({"currency": ()})
            return Rows(list(page.records), page.more, handle, columns_for(spec, None, names))
        by_key = {f.key: f for f in fields or ()}
        await names.prefetch(history.references(place.resource, page.records, by_key))
        rows = history.change_rows(
            place.resource, page.records, by_key, names.format_value,
            lambda ident: names.resolve("user", ident))
        return Rows(rows, page.more, handle, [])
