"""A record's changelog as a table model: When, Who, Field, From, To (newest first).

Rows are ``core.history.ChangeRow``s, made readable before they are set; ``data()`` only reads
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from explorer.core.history import ChangeRow

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invalid index: a default argument


class HistoryModel(QAbstractTableModel):
    """Changes of one record.

    Attributes:
        more: whether older changes exist beyond the rows loaded.
    """

    HEADERS = ("When", "Who", "Field", "From", "To")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.more = False
        self._rows: list[ChangeRow] = []

    def set_rows(self, rows: Sequence[ChangeRow], more: bool = False) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.more = more
        self.endResetModel()

    def append_rows(self, rows: Sequence[ChangeRow], more: bool) -> None:
        self.more = more
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows += rows
        self.endInsertRows()

    @property
    def rows(self) -> list[ChangeRow]:
        return list(self._rows)

    def target(self, row: int) -> None:
        return None  # a change leads nowhere

    def _cells(self, row: ChangeRow) -> tuple[str, str, str, str, str]:
        return row.when, row.who, row.field, row.old, row.new

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.HEADERS):
            return self.HEADERS[section]
        if orientation == Qt.Orientation.Vertical:
            return section + 1
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = self._cells(row)[index.column()]
            if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0 and row.source:
                return f"{text} (via {row.source})"
            return text
        return None
