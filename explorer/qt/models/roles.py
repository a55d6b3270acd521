"""The record table's data roles and row states (``TableRole``, ``RowState``)."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import Qt


class TableRole(IntEnum):
    """The model's own data roles."""

    RecordIdRole = Qt.ItemDataRole.UserRole + 1  # the row's record id (None: not a record)
    RecordRole = Qt.ItemDataRole.UserRole + 2  # the full record (dict) of the row
    RowStateRole = Qt.ItemDataRole.UserRole + 3  # a RowState
    RawValueRole = Qt.ItemDataRole.UserRole + 4  # the cell's API value
    FieldRole = Qt.ItemDataRole.UserRole + 5  # the column's Field (also in headerData)
    SortableRole = Qt.ItemDataRole.UserRole + 6  # headerData: the API sorts by this column


# The roles the model answers in data(): any other returns None at once (a paint asks for
# a dozen roles per cell).
DISPLAY = int(Qt.ItemDataRole.DisplayRole)
ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
ROLES = frozenset({DISPLAY, ALIGN, int(Qt.ItemDataRole.ToolTipRole), *map(int, TableRole)})


class RowState(IntEnum):
    """What a row holds: a record, the "Loading…" row, or the error row with its retry."""

    RECORD = 0
    LOADING = 1
    ERROR = 2
