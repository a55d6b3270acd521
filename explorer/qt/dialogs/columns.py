"""The column chooser: which fields the record table shows, and in which order.

A non-modal dialog (open it with ``open()`` or ``show()``): every field of the resource as a
checkable row, the shown ones first in their order, then the others by name; a filter box
(an account may have dozens of custom fields); Move up / Move down. ``chosen_keys()`` is the
result; the table listens to ``columns_chosen``. While no field is checked OK is disabled and
a line under the list says why (a table needs at least one column).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.api import Field

_KEY = Qt.ItemDataRole.UserRole
_NONE_CHECKED = "Check at least one field: the table needs a column to show."


class ColumnChooser(QDialog):
    """Checkboxes and order for the table's columns.

    Attributes:
        fields: every field a column can show.
        ok_button: OK (objectName ``columnOk``); disabled while no field is checked.
        none_hint: the line saying why (objectName ``columnNoneHint``), shown only then.

    Signals:
        columns_chosen(list): the keys of the columns to show, in order (on OK).
    """

    columns_chosen = Signal(list)

    def __init__(self, fields: Sequence[Field], shown: Sequence[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("columnChooser")
        self.setWindowTitle("Columns")
        self.fields = list(fields)
        self.filter = QLineEdit(self)
        self.filter.setObjectName("columnFilter")
        self.filter.setPlaceholderText("Filter fields")
        self.filter.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setObjectName("columnList")
        by_key = {f.key: f for f in self.fields}
        first = [by_key[k] for k in shown if k in by_key]
        rest = sorted((f for f in self.fields if f.key not in set(shown)),
                      key=lambda f: f.name.casefold())
        for field in [*first, *rest]:
            item = QListWidgetItem(field.name if not field.is_custom
                                   else f"{field.name} (custom)")
            item.setData(_KEY, field.key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if field.key in shown
                               else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.up = QPushButton("Move &up", self)
        self.up.setObjectName("columnUp")
        self.down = QPushButton("Move &down", self)
        self.down.setObjectName("columnDown")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setObjectName("columnOk")
        self.none_hint = QLabel(_NONE_CHECKED, self)
        self.none_hint.setObjectName("columnNoneHint")
        self.none_hint.setWordWrap(True)
        moves = QVBoxLayout()
        moves.addWidget(self.up)
        moves.addWidget(self.down)
        moves.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.list, 1)
        middle.addLayout(moves)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addLayout(middle, 1)
        layout.addWidget(self.none_hint)
        layout.addWidget(buttons)
        self.filter.textChanged.connect(self._apply_filter)
        self.up.clicked.connect(lambda: self.move_current(-1))
        self.down.clicked.connect(lambda: self.move_current(1))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.accepted.connect(lambda: self.columns_chosen.emit(self.chosen_keys()))
        # Room for about 20 fields (a deal has 50 and more) and a long custom field's name;
        # from the font, so it holds at any scaling. Qt's default showed about ten.
        metrics = self.list.fontMetrics()
        rows = max(self.list.sizeHintForRow(0), metrics.height()) if self.list.count() \
            else metrics.height()
        self.list.setMinimumHeight(rows * 20)
        self.list.setMinimumWidth(metrics.horizontalAdvance("x") * 40)
        self.list.itemChanged.connect(self._update_ok)
        self._update_ok()
        if self.list.count():
            self.list.setCurrentRow(0)

    def chosen_keys(self) -> list[str]:
        """The checked fields' keys, in the list's order."""
        items = (self.list.item(i) for i in range(self.list.count()))
        return [str(item.data(_KEY)) for item in items
                if item.checkState() == Qt.CheckState.Checked]

    def set_checked(self, key: str, checked: bool) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(_KEY) == key:
                item.setCheckState(Qt.CheckState.Checked if checked
                                   else Qt.CheckState.Unchecked)

    def accept(self) -> None:
        """OK: only with at least one field checked (Enter bypasses a disabled button)."""
        if self.chosen_keys():
            super().accept()

    def move_current(self, step: int) -> None:
        """Move the current field up (-1) or down (+1)."""
        row = self.list.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)

    def _update_ok(self) -> None:
        any_checked = bool(self.chosen_keys())
        self.ok_button.setEnabled(any_checked)
        self.ok_button.setToolTip("" if any_checked else _NONE_CHECKED)
        self.none_hint.setVisible(not any_checked)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().casefold())
