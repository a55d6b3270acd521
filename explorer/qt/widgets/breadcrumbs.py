"""The detail pane's breadcrumb bar: ``Deals › Big deal › Ann Smith``, each crumb a button."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from explorer.core.navigation import Crumb


class BreadcrumbBar(QWidget):
    """The trail to the record shown (objectName ``breadcrumbs``; crumbs ``crumb0``, …).

    The last crumb (the record shown) is disabled; the others go to their place, the first
    (the resource) asks for its list.

    Signals:
        place_requested(int): a record's crumb was clicked (its index in the history).
        resource_requested(str): the resource crumb was clicked.
    """

    place_requested = Signal(int)
    resource_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("breadcrumbs")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)

    def set_crumbs(self, crumbs: Sequence[Crumb]) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setParent(None)  # gone from findChildren now, not at the next loop
                widget.deleteLater()
        for number, crumb in enumerate(crumbs):
            if number:
                separator = QLabel("›", self)
                separator.setContentsMargins(4, 0, 4, 0)
                self._layout.addWidget(separator)
            button = QToolButton(self)
            button.setObjectName(f"crumb{number}")
            button.setAutoRaise(True)
            button.setText(crumb.label)
            button.setToolTip(crumb.label)
            button.setEnabled(number < len(crumbs) - 1)
            if crumb.index is None:
                button.clicked.connect(lambda _=False, r=crumb.resource:
                                       self.resource_requested.emit(r))
            else:
                button.clicked.connect(lambda _=False, i=crumb.index:
                                       self.place_requested.emit(i))
            self._layout.addWidget(button)
        self._layout.addStretch(1)

    def labels(self) -> list[str]:
        """The crumbs' texts, in order."""
        found = [w for w in self.findChildren(QToolButton) if w.objectName().startswith("crumb")]
        return [w.text() for w in sorted(found, key=lambda w: int(w.objectName()[5:]))]
