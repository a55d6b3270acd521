"""The fields of one record, grouped, as a tree model for the detail pane.

Top-level rows are the groups (Summary, Custom fields, Details, System); their children are
the fields, with two columns: the field's name and its value as text. Texts are computed when
a record is set (through ``columns.cell_text``: option labels, money, names from the name
cache), never in ``data()``; ``refresh`` recomputes them after more names arrived, keeping the
rows (and the view's expansion and selection) when their set is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QGuiApplication, QPalette

from explorer.api import Field, NameCache
from explorer.core.columns import cell_text, raw_value
from explorer.core.detail_fields import link_target, plain_text

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invalid index: a default argument
LINK_ROLE = Qt.ItemDataRole.UserRole + 1  # (resource, id) a value links to, or None
KEY_ROLE = Qt.ItemDataRole.UserRole + 2  # the field's API key


@dataclass(frozen=True)
class FieldRow:
    field: Field
    text: str
    link: tuple[str, Any] | None


class FieldsModel(QAbstractItemModel):
    """A record's fields in groups (see the module docstring).

    Attributes:
        hide_empty: whether fields without a value are left out (and groups left empty).
        resource: the resource of the record shown ("" when none).
    """

    HEADERS = ("Field", "Value")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.resource = ""
        self.hide_empty = False
        self._record: dict[str, Any] = {}
        self._groups: list[tuple[str, list[Field]]] = []
        self._all: list[tuple[str, list[FieldRow]]] = []
        self._shown: list[tuple[str, list[FieldRow]]] = []

    # ------------------------------------------------------------------ filling

    def set_record(self, resource: str, record: dict[str, Any],
                   groups: Sequence[tuple[str, Sequence[Field]]], names: NameCache) -> None:
        """Show ``record`` with its fields in ``groups`` (``detail_fields.group_fields``)."""
        self.resource = resource
        self._record = record
        self._groups = [(title, list(fields)) for title, fields in groups]
        self.refresh(names)

    def refresh(self, names: NameCache) -> None:
        """Recompute the texts (names loaded since); rows stay where their set is unchanged."""
        self._all = [(title, [self._row(f, names) for f in fields])
                     for title, fields in self._groups]
        self._apply()

    def clear(self) -> None:
        self.beginResetModel()
        self.resource, self._record, self._groups, self._all, self._shown = "", {}, [], [], []
        self.endResetModel()

    def set_hide_empty(self, hide: bool) -> None:
        if hide != self.hide_empty:
            self.hide_empty = hide
            self._apply()

    def _row(self, field: Field, names: NameCache) -> FieldRow:
        text = cell_text(names, field, self._record)
        if field.type in ("text", "html") or (field.resource == "notes"
                                              and field.key == "content"):
            text = plain_text(text)
        return FieldRow(field, text, link_target(field, raw_value(self._record, field)))

    def _apply(self) -> None:
        shown = [(title, [r for r in rows if r.text or not self.hide_empty])
                 for title, rows in self._all]
        shown = [(title, rows) for title, rows in shown if rows]
        same = ([(t, [r.field.key for r in rows]) for t, rows in shown]
                == [(t, [r.field.key for r in rows]) for t, rows in self._shown])
        if same:
            self._shown = shown
            for number, (_, rows) in enumerate(shown):
                if rows:
                    parent = self.index(number, 0)
                    self.dataChanged.emit(self.index(0, 0, parent),
                                          self.index(len(rows) - 1, 1, parent))
            return
        self.beginResetModel()
        self._shown = shown
        self.endResetModel()

    # ------------------------------------------------------------------ reading

    def groups(self) -> list[str]:
        return [title for title, _ in self._shown]

    def rows(self, group: str | None = None) -> list[FieldRow]:
        """The rows shown (of one group), for callers and tests."""
        return [r for title, rows in self._shown if group in (None, title) for r in rows]

    def text_of(self, name: str) -> str | None:
        """The shown value of the field named ``name`` (None: not shown)."""
        for row in self.rows():
            if row.field.name == name:
                return row.text
        return None

    def row_at(self, index: Index) -> FieldRow | None:
        if not index.isValid() or index.internalId() == 0:
            return None
        rows = self._shown[index.internalId() - 1][1]
        return rows[index.row()] if index.row() < len(rows) else None

    # ------------------------------------------------------------------ Qt model

    def index(self, row: int, column: int, parent: Index = _ROOT) -> QModelIndex:
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0)
        return self.createIndex(row, column, parent.row() + 1)

    def parent(self, child: Index = _ROOT) -> QModelIndex:  # type: ignore[override]
        if not child.isValid() or child.internalId() == 0:
            return QModelIndex()
        return self.createIndex(child.internalId() - 1, 0, 0)

    def rowCount(self, parent: Index = _ROOT) -> int:
        if not parent.isValid():
            return len(self._shown)
        if parent.internalId() != 0 or parent.column() != 0:
            return 0
        return len(self._shown[parent.row()][1])

    def columnCount(self, parent: Index = _ROOT) -> int:
        return len(self.HEADERS)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.HEADERS)):
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if index.internalId() == 0:
            if role == Qt.ItemDataRole.DisplayRole and index.column() == 0:
                return self._shown[index.row()][0]
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                return font
            return None
        row = self.row_at(index)
        if row is None:
            return None
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column == 0:
                return row.field.name if role == Qt.ItemDataRole.DisplayRole else (
                    f"{row.field.name} ({row.field.key})")
            return row.text
        if role == LINK_ROLE:
            return row.link
        if role == KEY_ROLE:
            return row.field.key
        if column == 1 and row.link is not None and row.text:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QGuiApplication.palette().brush(QPalette.ColorRole.Link)
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setUnderline(True)
                return font
        return None
