"""The record table pane: a view's records in a lazy table, with its column layout remembered.

``RecordTablePane`` wraps a ``QTableView`` (objectName ``recordTable``) over a
``RecordTableModel``: rows come page by page as the user scrolls, a failed page is a row to
click for a retry, a header click sorts on the server where the API can (the tooltip says
where it cannot). Actions: copy the selection as TSV (Ctrl+C), open the selected records in
Pipedrive (Ctrl+Shift+O), choose columns, refresh (F5). Visible columns, their order, widths
and the sort are remembered per account and resource in ``QSettings``
(``tableLayout/<account's base URL, percent-encoded>/<resource>``, a JSON object): keyed by
the URL, a renamed account keeps its layouts and two accounts of one name do not share them.
A layout kept under the account's name (before this) is moved to the new key when first read.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from PySide6.QtCore import QEvent, QModelIndex, QObject, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCursor, QDesktopServices, QHelpEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyle,
    QTableView,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from explorer.api import Field
from explorer.core.columns import ordered
from explorer.core.session import Session
from explorer.core.views import View
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.dialogs.columns import ColumnChooser
from explorer.qt.models.record_table import RecordTableModel, RowState

log = logging.getLogger(__name__)

MAX_OPEN = 10  # records opened in the browser at once: more is a slip of the mouse
# Default column widths in characters (a remembered width wins): a record's name first, by
# its key, then by field type; money fits "kr 106,700.00", a date "09/08/2026 14:30".
_BY_KEY = {"title": 34, "name": 30, "subject": 34, "content": 48, "stage_id": 30,
           "email": 30, "emails": 30, "status": 10, "id": 8}
_BY_TYPE = {"varchar": 22, "varchar_auto": 22, "text": 32, "address": 34, "people": 20,
            "org": 26, "user": 18, "monetary": 15, "int": 10, "double": 10, "date": 12,
            "daterange": 24, "time": 8, "phone": 18, "enum": 14, "set": 20}
_DEFAULT_CHARS = 14


class RecordTablePane(QWidget):
    """The table of one view at a time.

    Attributes:
        session: the account session (``source``, ``names``, ``account``).
        model: the ``RecordTableModel``.
        table: the ``QTableView`` (objectName ``recordTable``).
        copy_action, open_action, columns_action, refresh_action: the pane's actions
            (also in the table's context menu).
        chooser: the open column chooser, if any.

    Signals:
        record_selected(str, object, object): resource, record id, the record (a dict) or
            None, when the current row changes to a record.
        first_rows(int): the first page of a view is shown (its row count).
    """

    record_selected = Signal(str, object, object)
    first_rows = Signal(int)

    def __init__(self, session: Session, runner: TaskRunner,
                 settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recordTablePane")
        self.session = session
        self.settings = settings if settings is not None else QSettings()
        self.model = RecordTableModel(session, runner, self)
        self.chooser: ColumnChooser | None = None
        self._layout: dict[str, Any] = {}
        self._applying = False  # set while columns are being laid out (not a user resize)

        self.table = QTableView(self)
        self.table.setObjectName("recordTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setWordWrap(False)
        # Tab leaves the table for the detail pane: rows are selected whole, so stepping
        # cell by cell would only trap the keyboard (arrows move within the table).
        self.table.setTabKeyNavigation(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setAlternatingRowColors(True)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        rows = self.table.verticalHeader()
        rows.setVisible(False)
        # One height for every row, from the font: readable at any scaling, and fast
        # (the view never measures rows).
        metrics = self.table.fontMetrics()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setMinimumSectionSize(metrics.height())
        rows.setDefaultSectionSize(metrics.height() + max(4, metrics.height() // 2))
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)

        self.copy_action = self._action("copyCellsAction", "&Copy", QKeySequence.StandardKey.Copy,
                                        self.copy_selection)
        self.open_action = self._action("openInPipedriveAction", "&Open in Pipedrive",
                                        QKeySequence("Ctrl+Shift+O"), self.open_in_pipedrive)
        self.columns_action = self._action("chooseColumnsAction", "C&olumns…",
                                           QKeySequence("Ctrl+Shift+L"), self.choose_columns)
        self.refresh_action = self._action("refreshAction", "&Refresh",
                                           QKeySequence.StandardKey.Refresh, self.refresh)
        if self.refresh_action.shortcut() != QKeySequence("F5"):
            self.refresh_action.setShortcuts([self.refresh_action.shortcut(), QKeySequence("F5")])

        self.model.first_page.connect(self.first_rows)
        self.model.columns_changed.connect(self._apply_columns)
        self.model.tail_changed.connect(self._update_span)
        header.sectionClicked.connect(self._header_clicked)
        header.sectionResized.connect(self._section_resized)
        self.table.viewport().installEventFilter(self)
        self.table.clicked.connect(self._clicked)
        self.table.activated.connect(self._clicked)
        selection = self.table.selectionModel()
        selection.currentRowChanged.connect(self._current_changed)

    def _action(self, name: str, text: str, keys: QKeySequence | QKeySequence.StandardKey,
                slot: Any) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setShortcut(keys)
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        self.table.addAction(action)
        return action

    # ------------------------------------------------------------------ public API

    @property
    def view(self) -> View | None:
        """The view shown, with the sort in force."""
        return self.model.view

    def set_view(self, view: View) -> None:
        """Show ``view`` with its resource's remembered layout (columns, widths, sort)."""
        self._layout = self._load_layout(view.resource)
        sort = self._layout.get("sort")
        if view.sort is None and isinstance(sort, str) and sort:
            view = view.with_sort(sort)
        keys = self._layout.get("columns")
        self.model.set_view(view, column_keys=keys if isinstance(keys, list) and keys else None)

    def visible_columns(self) -> list[Field]:
        """The fields shown, in order (empty until the fields are loaded)."""
        return [f for f in self.model.columns if f.key] if self.model.fields else []

    def selected_rows(self) -> list[int]:
        """Selected rows that hold records, in order."""
        rows = {i.row() for i in self.table.selectionModel().selectedIndexes()}
        return sorted(r for r in rows if self.model.row_state(r) == RowState.RECORD)

    def selected_ids(self) -> list[Any]:
        return [self.model.record_id(r) for r in self.selected_rows()]

    def set_column_keys(self, keys: list[str]) -> None:
        """Show the fields of ``keys``, in this order (the column chooser's answer)."""
        fields = ordered(self.model.fields, keys)
        if fields:
            self.model.set_columns(fields)
            self._layout["columns"] = [f.key for f in fields]
            self._save_layout()

    def refresh(self) -> None:
        self.model.refresh()

    def copy_selection(self) -> None:
        """The selected cells as tab-separated text; the header row first when whole rows
        are selected."""
        indexes = [i for i in self.table.selectionModel().selectedIndexes()
                   if self.model.row_state(i.row()) == RowState.RECORD]
        if not indexes:
            return
        cells: dict[int, dict[int, str]] = {}
        for index in indexes:
            cells.setdefault(index.row(), {})[index.column()] = self.model.text(
                index.row(), index.column())
        columns = sorted({i.column() for i in indexes})
        whole = all(len(cols) == self.model.columnCount() for cols in cells.values())
        lines = []
        if whole:
            lines.append([f.name for f in self.model.columns])
        for row in sorted(cells):
            lines.append([cells[row].get(c, "") for c in columns])
        text = "\n".join("\t".join(_tsv(v) for v in line) for line in lines) + "\n"
        QApplication.clipboard().setText(text)

    def open_in_pipedrive(self) -> None:
        """Open the selected records (at most ``MAX_OPEN``) in Pipedrive's web app."""
        view = self.model.view
        if view is None:
            return
        for record_id in self.selected_ids()[:MAX_OPEN]:
            QDesktopServices.openUrl(QUrl(self.session.account.record_url(view.resource,
                                                                          record_id)))

    def choose_columns(self) -> ColumnChooser | None:
        """Open the column chooser (non-modal); its OK applies and remembers the choice."""
        if not self.model.fields:
            return None
        if self.chooser is not None:
            self.chooser.close()
        chooser = ColumnChooser(self.model.fields, [f.key for f in self.visible_columns()],
                                self)
        chooser.columns_chosen.connect(self.set_column_keys)
        # A bound slot, not a lambda over self: Qt disconnects it when the pane goes, so the
        # chooser's end never reaches a pane being destroyed.
        chooser.finished.connect(self._chooser_finished)
        self.chooser = chooser
        chooser.open()
        return chooser

    def _chooser_finished(self, _result: int) -> None:
        chooser, self.chooser = self.chooser, None
        if chooser is not None:
            chooser.deleteLater()

    # ------------------------------------------------------------------ layout

    def _settings_key(self, resource: str) -> str:
        # Encoded: a URL's "/" would split the key into groups.
        account = quote(self.session.account.base_url.rstrip("/"), safe="")
        return f"tableLayout/{account}/{resource}"

    def _load_layout(self, resource: str) -> dict[str, Any]:
        key = self._settings_key(resource)
        raw = self.settings.value(key)
        if raw is None:  # kept under the account's name by an earlier version: move it
            name = self.session.account.name.replace("/", "_").replace("\\", "_")
            old = f"tableLayout/{name}/{resource}"
            raw = self.settings.value(old)
            if raw is not None:
                self.settings.setValue(key, raw)
                self.settings.remove(old)
        try:
            layout = json.loads(raw) if isinstance(raw, str) else {}
        except ValueError:
            layout = {}  # a damaged entry: start from the defaults
        return layout if isinstance(layout, dict) else {}

    def _save_layout(self) -> None:
        view = self.model.view
        if view is not None and self.model.fields:
            self.settings.setValue(self._settings_key(view.resource), json.dumps(self._layout))

    def _apply_columns(self) -> None:
        header = self.table.horizontalHeader()
        widths = self._layout.get("widths")
        widths = widths if isinstance(widths, dict) else {}
        metrics = self.table.fontMetrics()
        char = metrics.horizontalAdvance("x")
        self._applying = True
        try:
            for column, field in enumerate(self.model.columns):
                width = widths.get(field.key)
                if not isinstance(width, int) or width <= 0:
                    width = self._default_width(field, char)
                header.resizeSection(column, width)
        finally:
            self._applying = False
        self._show_sort()
        self._update_span()

    def _default_width(self, field: Field, char: int) -> int:
        """A column's first width: its kind of content, never narrower than its header."""
        if not field.key:
            # The status column shown before the fields arrive holds the loading or error
            # row: the table's width, or "Could not load Persons — GET /api/v2/pers…" hides
            # the why.
            return max(char * 40, self.table.viewport().width())
        chars = _BY_KEY.get(field.key) or _BY_TYPE.get(field.type, _DEFAULT_CHARS)
        header = self.table.horizontalHeader()
        # Room for the header's text and its sort arrow, or the column is named "Con…".
        title = header.fontMetrics().horizontalAdvance(field.name) + 4 * char
        return max(char * chars, title)

    def _show_sort(self) -> None:
        view = self.model.view
        header = self.table.horizontalHeader()
        if view is None or not view.sort:
            header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
            return
        key, _, direction = view.sort.partition(" ")
        order = (Qt.SortOrder.DescendingOrder if direction.strip().lower() == "desc"
                 else Qt.SortOrder.AscendingOrder)
        keys = [f.key for f in self.model.columns]
        header.setSortIndicator(keys.index(key) if key in keys else -1, order)

    def _header_clicked(self, column: int) -> None:
        view = self.model.view
        if view is None:
            return
        if not self.model.is_sortable(column):
            self._show_sort()  # undo the indicator Qt moved on the click
            tip = self.model.headerData(column, Qt.Orientation.Horizontal,
                                        Qt.ItemDataRole.ToolTipRole)
            if tip:
                QToolTip.showText(QCursor.pos(), str(tip), self.table)
            return
        key = self.model.columns[column].key
        ascending = view.sort != f"{key} asc"
        order = Qt.SortOrder.AscendingOrder if ascending else Qt.SortOrder.DescendingOrder
        self.model.sort(column, order)
        self._layout["sort"] = f"{key} {'asc' if ascending else 'desc'}"
        self._save_layout()
        self._show_sort()

    def _section_resized(self, column: int, _old: int, new: int) -> None:
        if self._applying or not 0 <= column < len(self.model.columns) or not self.model.fields:
            return
        key = self.model.columns[column].key
        widths = self._layout.setdefault("widths", {})
        if isinstance(widths, dict) and key:
            widths[key] = new
            self._save_layout()

    def _update_span(self) -> None:
        self.table.clearSpans()
        row = self.model.loaded_rows()
        columns = self.model.columnCount()
        if self.model.rowCount() > row and columns > 1:
            self.table.setSpan(row, 0, 1, columns)

    # ------------------------------------------------------------------ interaction

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A cell's full text as its tooltip, only where the cell cuts it ("Wavecrest Re…"):
        # a tooltip on every cell would cover the table for nothing.
        if watched is self.table.viewport() and event.type() == QEvent.Type.ToolTip \
                and isinstance(event, QHelpEvent):
            index = self.table.indexAt(event.pos())
            text = self.elided_text(index)
            if text:
                QToolTip.showText(event.globalPos(), text, self.table,
                                  self.table.visualRect(index))
            else:
                QToolTip.hideText()
            return True
        return super().eventFilter(watched, event)

    def elided_text(self, index: QModelIndex) -> str:
        """The cell's full text if its column is too narrow to show it, else ""."""
        if not index.isValid() or self.model.row_state(index.row()) != RowState.RECORD:
            return ""
        text = self.model.text(index.row(), index.column())
        if not text:
            return ""
        # The cell's margins (the style's focus frame and text padding) on both sides.
        margin = 2 * (self.table.style().pixelMetric(
            QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.table) + 1)
        room = self.table.columnWidth(index.column()) - margin
        return text if self.table.fontMetrics().horizontalAdvance(text) > room else ""

    def _clicked(self, index: QModelIndex) -> None:
        if index.isValid() and self.model.row_state(index.row()) == RowState.ERROR:
            self.model.retry()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        view = self.model.view
        if view is None or not current.isValid():
            return
        row = current.row()
        if self.model.row_state(row) != RowState.RECORD:
            return
        self.record_selected.emit(view.resource, self.model.record_id(row),
                                  self.model.record(row))


def _tsv(value: str) -> str:
    """A cell as one TSV field: tabs and line breaks would split it."""
    return value.replace("\t", " ").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
