"""One related tab of the detail pane: a table of rows, or a message (loading, empty, failed
with a Retry button), and a "Load more" button when the list goes on.

The tab only shows what the pane gives it; the pane does the loading (through the task
runner). Activating a row (double-click, Enter) emits ``activated_target``. A next page that
fails leaves the rows and shows why beside "Load more" (``show_more_error``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from explorer.core.detail_fields import TabSpec


class RelatedTab(QWidget):
    """A related tab (objectName ``related_<key>``: ``related_deals``, ``related_history``).

    Children: ``relatedView_<key>`` (the table), ``relatedMessage_<key>`` (the message label),
    ``relatedRetry_<key>`` (Retry, shown after a failure), ``relatedMore_<key>`` ("Load more"),
    ``relatedMoreError_<key>`` (why the next page failed, beside "Load more").

    Attributes:
        spec: the tab's ``TabSpec``.
        loaded_for: the ``(resource, str(id))`` whose rows it shows (None: not loaded).
        state: ``idle``, ``loading``, ``rows``, ``empty`` or ``error``.

    Signals:
        activated_target(object): ``(resource, id, record or None)`` of an activated row.
        more_requested(): the user asked for the next page.
    """

    activated_target = Signal(object)
    more_requested = Signal()

    def __init__(self, spec: TabSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.loaded_for: tuple[str, str] | None = None
        self.state = "idle"
        self._retry: Callable[[], object] | None = None
        self.setObjectName(f"related_{spec.key}")

        self.view = QTableView(self)
        self.view.setObjectName(f"relatedView_{spec.key}")
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Interactive)
        self.view.activated.connect(self._activated)

        self.message = QLabel(self)
        self.message.setObjectName(f"relatedMessage_{spec.key}")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setObjectName(f"relatedRetry_{spec.key}")
        self.retry_button.clicked.connect(self._retry_clicked)
        message_page = QWidget(self)
        message_layout = QVBoxLayout(message_page)
        message_layout.addStretch(1)
        message_layout.addWidget(self.message)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.retry_button)
        row.addStretch(1)
        message_layout.addLayout(row)
        message_layout.addStretch(1)

        self.more_button = QPushButton("Load more", self)
        self.more_button.setObjectName(f"relatedMore_{spec.key}")
        self.more_button.clicked.connect(self.more_requested)
        self.more_button.hide()
        self.more_error = QLabel(self)
        self.more_error.setObjectName(f"relatedMoreError_{spec.key}")
        self.more_error.setWordWrap(True)
        self.more_error.hide()
        table_page = QWidget(self)
        table_layout = QVBoxLayout(table_page)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.view)
        more_row = QHBoxLayout()
        more_row.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignTop)
        more_row.addWidget(self.more_error, 1)
        table_layout.addLayout(more_row)

        self.pages = QStackedWidget(self)
        self.pages.addWidget(message_page)
        self.pages.addWidget(table_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self.reset()

    # ------------------------------------------------------------------ states

    def set_model(self, model: QAbstractItemModel) -> None:
        if self.view.model() is not model:
            self.view.setModel(model)

    def show_loading(self) -> None:
        if self.state == "rows":
            return  # rows shown stay until the fresh ones arrive (going back, retrying)
        self.show_message("Loading…")
        self.state = "loading"

    def show_rows(self, more: bool) -> None:
        self.state = "rows"
        self.more_button.setVisible(more)
        self.more_button.setEnabled(True)
        self.more_button.setText("Load more")
        self.more_error.hide()
        self.pages.setCurrentIndex(1)
        header = self.view.horizontalHeader()
        header.resizeSections(QHeaderView.ResizeMode.ResizeToContents)
        # Sizing to contents gave the last column its text's width; stretch it again to the
        # view's edge (Qt stretches only when the flag is set anew).
        header.setStretchLastSection(False)
        header.setStretchLastSection(True)

    def show_message(self, text: str, state: str = "empty") -> None:
        self.state = state
        self.message.setText(text)
        self.retry_button.hide()
        self._retry = None
        self.pages.setCurrentIndex(0)

    def show_more_error(self, text: str) -> None:
        """The next page failed: the rows stay; the reason shows beside the button, which
        tries that page again."""
        self.more_error.setText(f"{text} Retry loads it again.")
        self.more_error.show()
        self.more_button.setText("Retry")
        self.more_button.setVisible(True)
        self.more_button.setEnabled(True)

    def show_error(self, text: str, retry: Callable[[], object]) -> None:
        self.show_message(text, "error")
        self._retry = retry
        self.retry_button.show()

    def reset(self) -> None:
        self.loaded_for = None
        self.show_message("")
        self.state = "idle"
        self.more_button.hide()
        self.more_error.hide()

    # ------------------------------------------------------------------ slots

    def _retry_clicked(self) -> None:
        retry, self._retry = self._retry, None
        if retry is not None:
            retry()

    def _activated(self, index: QModelIndex) -> None:
        model: Any = self.view.model()
        target = model.target(index.row()) if model is not None else None
        if target is not None:
            self.activated_target.emit(target)
