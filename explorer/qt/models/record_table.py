"""The record table's model: a view's rows loaded page by page, never waiting.

The model holds the ids and a compact row cache (``row_store.RowStore``) and reads records
only through ``session.source`` (a ``RecordSource``: the API today, a local cache later).
``set_view`` shows a "Loading…" row at once and loads the fields and a first page of 50 in a
task; later pages of 500 come through ``canFetchMore`` / ``fetchMore`` as the view scrolls,
each behind a "Loading…" row. Every load carries the generation of the view it was started
for: a result that arrives after the view, its sort or a refresh changed is dropped. A page
that fails becomes an error row ("Could not load … — reason. Click to retry"); ``retry()``
loads it again. When the field metadata cannot be read the rows still show, with columns
from the records' raw keys, and the tail row says so (click to retry); a refresh, a new view
or that retry loads the fields again. Names for ids come once per page from the session's name cache
(``names.load_records``); until they arrive cells show ``#id``, then ``dataChanged``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from explorer.api import Field, Page, PageHandle
from explorer.api.display import ID_KEYS
from explorer.api.errors import PipedriveError
from explorer.core.columns import (
    NUMERIC_TYPES,
    cell_text,
    default_columns,
    ordered,
    raw_value,
    sortable,
    with_record_keys,
)
from explorer.core.session import Session
from explorer.core.views import View
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.models.roles import ALIGN, DISPLAY, ROLES, RowState, TableRole

__all__ = ["FIRST_PAGE", "PAGE", "RecordTableModel", "RowState", "TableRole"]
from explorer.qt.models.row_store import PackedRecord, RowStore

log = logging.getLogger(__name__)

FIRST_PAGE = 50  # the first screen: small, so rows show fast
PAGE = 500  # later pages: Pipedrive's maximum
CHUNK = 100  # rows added to the table at a time
Index = QModelIndex | QPersistentModelIndex
_NO_INDEX = QModelIndex()
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
TEXT_CACHE = 20_000  # cell texts kept (a few screens); cleared whenever names or rows change


class RecordTableModel(QAbstractTableModel):
    """Rows of one ``View`` (see the module docstring).

    Attributes:
        view: the view shown (with the sort in force), or None before ``set_view``.
        fields: every field a column can show (metadata, the id, derived keys).
        columns: the fields shown, in order.

    Signals:
        first_page(int): the first page of a view (or of a reload) is shown; its row count.
        columns_changed(): ``columns`` were replaced (fields loaded, chooser, new view).
        tail_changed(): the loading / error row appeared, changed or went.
        load_failed(str): a page or the fields could not be loaded (the row's message).
    """

    first_page = Signal(int)
    columns_changed = Signal()
    tail_changed = Signal()
    load_failed = Signal(str)

    def __init__(self, session: Session, runner: TaskRunner,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self._key = f"recordTable:{id(self)}"
        self._generation = 0
        self._view: View | None = None
        self._store = RowStore()
        self.fields: list[Field] = []
        self.columns: list[Field] = []
        self._wanted_keys: list[str] | None = None
        self._handle: PageHandle | None = None  # where the next page starts
        self._pending: PageHandle | None = None  # the page under way (or failed)
        self._more = False
        self._started = False  # the first page arrived (else retry reloads from the start)
        self._fields_ok = False  # ``fields`` came from the metadata (not only record keys)
        self._tail: RowState | None = None
        self._tail_text = ""
        self._texts: dict[tuple[int, int], str] = {}  # (row, column) → cell text
        self._align: list[Any] = []  # per column: the text alignment (None: the default)

    # ------------------------------------------------------------------ public API

    @property
    def view(self) -> View | None:
        return self._view

    def set_view(self, view: View, column_keys: Sequence[str] | None = None) -> None:
        """Show ``view`` from its first page; ``column_keys``: the columns to show once the
        fields are known (a remembered layout), else the resource's defaults."""
        same_resource = self._view is not None and self._view.resource == view.resource
        self.beginResetModel()
        self._generation += 1
        self._view = view
        self._store = RowStore()
        self._handle, self._more, self._started = None, False, False
        if column_keys is not None:
            self._wanted_keys = list(column_keys)
        elif not same_resource:
            self._wanted_keys = None
        if not same_resource or not self._fields_ok:
            # Fields that failed to load are asked for again (the fault may have cleared).
            self.fields = []
            self.columns = [self._status_column(view)]
        elif column_keys is not None and self.fields:
            self.columns = ordered(self.fields, column_keys) or self.columns
        self._tail, self._tail_text = RowState.LOADING, "Loading…"
        self._reset_caches()
        self.endResetModel()
        self.columns_changed.emit()
        self.tail_changed.emit()
        self._start(self._load_first(self._generation), "first page")

    def refresh(self) -> None:
        """Load the view again from its first page (names stay cached)."""
        if self._view is not None:
            self.set_view(self._view)

    def set_columns(self, fields: Sequence[Field]) -> None:
        """Show ``fields`` (from ``self.fields``), in this order."""
        if not fields:
            return
        self.beginResetModel()
        self.columns = list(fields)
        self._wanted_keys = [f.key for f in fields]
        self._reset_caches()
        self.endResetModel()
        self.columns_changed.emit()
        self.tail_changed.emit()

    def retry(self) -> None:
        """Load the page that failed again (the first page: the view from its start)."""
        if self._tail != RowState.ERROR or self._view is None:
            return
        if not self._started or not self._fields_ok:
            self.set_view(self._view)
            return
        self._set_tail(RowState.LOADING, "Loading…")
        self._start(self._load_more(self._generation, self._pending), "next page")

    def loaded_rows(self) -> int:
        """Rows holding records (without the loading / error row)."""
        return len(self._store)

    def row_state(self, row: int) -> RowState:
        return RowState.RECORD if row < len(self._store) else (self._tail or RowState.RECORD)

    def record_id(self, row: int) -> Any:
        return self._store.ids[row] if 0 <= row < len(self._store) else None

    def record(self, row: int) -> dict[str, Any] | None:
        """The full record of ``row`` (a new dict), None for the loading / error row."""
        return self._store.record(row) if 0 <= row < len(self._store) else None

    def text(self, row: int, column: int) -> str:
        """What the cell shows."""
        value = self.data(self.index(row, column))
        return value if isinstance(value, str) else ""

    def is_sortable(self, column: int) -> bool:
        return (self._view is not None and 0 <= column < len(self.columns)
                and sortable(self._view.resource, self.columns[column]))

    # ------------------------------------------------------------------ Qt model

    def rowCount(self, parent: Index = _NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self._store) + (self._tail is not None)

    def columnCount(self, parent: Index = _NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every role of every visible cell on each paint: the roles this model
        # does not answer leave first, and cell texts come from a cache.
        if role not in ROLES:
            return None
        row, column = index.row(), index.column()
        if row < 0:
            return None  # an invalid index
        if row >= len(self._store):
            return self._tail_data(column, role)
        if role == DISPLAY:
            key = (row, column)
            text = self._texts.get(key)
            if text is None:
                if len(self._texts) > TEXT_CACHE:
                    self._texts.clear()
                text = self._texts[key] = self._cell_text(row, self.columns[column])
            return text
        if role == ALIGN:
            return self._align[column]
        field = self.columns[column]
        if role == TableRole.RecordIdRole:
            return self._store.ids[row]
        if role == TableRole.RecordRole:
            return self._store.record(row)
        if role == TableRole.RowStateRole:
            return RowState.RECORD
        if role == TableRole.RawValueRole:
            value = raw_value(self._store.view(row), field)
            return value.as_dict() if isinstance(value, PackedRecord) else value
        if role == TableRole.FieldRole:
            return field
        return None

    def _cell_text(self, row: int, field: Field) -> str:
        record = self._store.view(row)
        if field.key == "id":
            value = record.get("id")
            return "" if value is None else str(value)
        return cell_text(self._session.names, field, record)

    def _tail_data(self, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._tail_text if column == 0 else ""
        if role == Qt.ItemDataRole.ToolTipRole and self._tail == RowState.ERROR:
            return self._tail_text
        if role == TableRole.RowStateRole:
            return self._tail
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return str(section + 1)
            return None
        if not 0 <= section < len(self.columns):
            return None
        field = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return field.name
        if role == Qt.ItemDataRole.TextAlignmentRole and section < len(self._align) \
                and self._align[section] is not None:
            return self._align[section]  # a money column's header sits over its figures
        if role == Qt.ItemDataRole.ToolTipRole:
            if not field.key:
                return None
            if self.is_sortable(section):
                return f"{field.name}: click to sort"
            what = self._view.resource if self._view else "records"
            return f"{field.name}: Pipedrive's API cannot sort {what} by this column"
        if role == TableRole.FieldRole:
            return field
        if role == TableRole.SortableRole:
            return self.is_sortable(section)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if index.row() >= len(self._store):
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def canFetchMore(self, parent: Index = _NO_INDEX) -> bool:
        return (not parent.isValid() and self._started and self._more
                and self._handle is not None and self._tail is None)

    def fetchMore(self, parent: Index = _NO_INDEX) -> None:
        if not self.canFetchMore(parent):
            return
        row = len(self._store)
        # Nothing more to fetch until this page is in: views call fetchMore from inside
        # the row signals below.
        self._pending, self._more = self._handle, False
        self.beginInsertRows(_NO_INDEX, row, row)
        self._tail, self._tail_text = RowState.LOADING, "Loading…"
        self.endInsertRows()
        self.tail_changed.emit()
        self._start(self._load_more(self._generation, self._pending), "next page")

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort on the server by ``column`` if the API can (else nothing happens)."""
        if self._view is None or not self.is_sortable(column):
            return
        direction = "asc" if order == Qt.SortOrder.AscendingOrder else "desc"
        self.set_view(self._view.with_sort(f"{self.columns[column].key} {direction}"))

    # ------------------------------------------------------------------ loading

    def _start(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        title = (self._view.title or self._view.resource) if self._view else "records"
        # Keyed: a new view cancels the old one's page load; report=False: a failure is
        # shown in the table itself, as an error row with its retry.
        self._runner.start(coro, name=f"{what} of {title}", key=self._key, report=False)

    def _status_column(self, view: View) -> Field:
        """The one column shown before the fields are known (it carries "Loading…")."""
        return Field(view.resource, "", view.title or view.resource.capitalize(), "varchar",
                     False, False)

    async def _load_first(self, generation: int) -> None:
        view = self._view
        assert view is not None
        try:
            (fields, fields_error), page = await asyncio.gather(
                self._fields(view.resource),
                self._session.source.fetch_page(view, size=FIRST_PAGE))
        except Exception as error:  # any failure becomes the error row, with its retry
            self._failed(generation, view, error)
            return
        if generation != self._generation:
            return  # the view changed while this page was under way
        self.beginResetModel()
        if not self.fields:
            self.fields = with_record_keys(view.resource, fields, page.records)
            keys = self._wanted_keys
            chosen = ordered(self.fields, keys) if keys else []
            self.columns = chosen or default_columns(view.resource, self.fields)
            self._fields_ok = fields_error is None
        self._store.extend(page.records)
        self._accept(page)
        self._started = True
        if not self._fields_ok:
            # Rows without names for their columns: say so, and let a click load them again
            # (no later page until then: it would come with the same raw columns).
            title = view.title or view.resource.capitalize()
            self._tail = RowState.ERROR
            self._tail_text = (f"Could not load the field names of {title} — {fields_error}; "
                               "the columns show raw keys. Click to retry")
        self._reset_caches()
        self.endResetModel()
        self.columns_changed.emit()
        self.tail_changed.emit()
        self.first_page.emit(len(page.records))
        if not self._fields_ok:
            self.load_failed.emit(self._tail_text)
        self._names(generation, 0, page)

    async def _fields(self, resource: str) -> tuple[list[Field], str | None]:
        """The resource's fields, and None; or no fields and why they could not be read."""
        try:
            return list(await self._session.fields(resource)), None
        except Exception as error:  # the rows still show, with columns from their keys
            log.warning("fields of %s could not be loaded: %s", resource, error)
            return [], str(error) or type(error).__name__

    async def _load_more(self, generation: int, handle: PageHandle | None) -> None:
        view = self._view
        assert view is not None
        try:
            page = await self._session.source.fetch_page(view, after=handle, size=PAGE)
        except Exception as error:
            self._failed(generation, view, error)
            return
        if generation != self._generation:
            return
        first = len(self._store)
        records = page.records
        for start in range(0, len(records), CHUNK):
            if start:
                # Between chunks the loop runs: a repaint or a tick need not wait for the
                # whole page to be packed.
                await asyncio.sleep(0)
                if generation != self._generation:
                    return
            chunk = records[start:start + CHUNK]
            at = len(self._store)  # before the "Loading…" row, which stays until the end
            self.beginInsertRows(_NO_INDEX, at, at + len(chunk) - 1)
            self._store.extend(chunk)
            self.endInsertRows()
        tail = len(self._store)
        self.beginRemoveRows(_NO_INDEX, tail, tail)
        self._tail = None
        self.endRemoveRows()
        self._accept(page)  # only now may a view fetch more
        self.tail_changed.emit()
        self._names(generation, first, page)

    def _accept(self, page: Page) -> None:
        self._handle = page.handle
        self._more = page.more and page.handle is not None
        self._tail = None

    def _failed(self, generation: int, view: View, error: Exception) -> None:
        if generation != self._generation:
            return
        title = view.title or view.resource.capitalize()
        what = f"more {title}" if self._started else title
        reason = str(error) or type(error).__name__
        # A client error is expected (offline, 5xx): one line; anything else is a bug.
        log.warning("could not load %s: %s", what, reason,
                    exc_info=not isinstance(error, PipedriveError | ValueError))
        self._set_tail(RowState.ERROR, f"Could not load {what} — {reason}. Click to retry")
        self.load_failed.emit(self._tail_text)

    def _reset_caches(self) -> None:
        self._texts.clear()
        self._align = [_RIGHT if f.type in NUMERIC_TYPES and f.key not in ID_KEYS else None
                       for f in self.columns]

    def _set_tail(self, state: RowState, text: str) -> None:
        row = len(self._store)
        self._tail, self._tail_text = state, text
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))
        self.tail_changed.emit()

    def _names(self, generation: int, first: int, page: Page) -> None:
        """Fetch the names the page's records refer to (one batch per kind, not per row),
        then repaint those rows."""
        if not page.records:
            return
        view = self._view
        assert view is not None
        records = page.records
        last = first + len(records) - 1

        async def load() -> None:
            try:
                await self._session.names.load_records(view.resource, records,
                                                       self._session.catalog)
            except Exception as error:  # the cells keep their #ids
                log.warning("names for %s could not be loaded: %s", view.resource, error)
                return
            if generation == self._generation and last < len(self._store):
                for key in [k for k in self._texts if first <= k[0] <= last]:
                    del self._texts[key]  # names replace #ids
                self.dataChanged.emit(self.index(first, 0),
                                      self.index(last, len(self.columns) - 1),
                                      [Qt.ItemDataRole.DisplayRole])

        self._runner.start(load(), name=f"names in {view.title or view.resource}",
                           report=False)
