"""The main window: assembles the panes, menus and status bar; no logic of its own."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QWidget

from explorer.core.session import Session
from explorer.qt.asyncqt import TaskRunner


class MainWindow(QMainWindow):
    """One account's window: resource tree · record table · detail pane, the rate meter in
    the status bar.

    Signals:
        closed(): the window was closed (the composition root then ends the session).
        first_rows(int): the table shows the first rows of its view (their count).
    """

    closed = Signal()
    first_rows = Signal(int)

    def __init__(self, session: Session, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.session = session
        self.runner = runner
        account = session.account
        self.setWindowTitle(f"{account.name} — Pipedrive Explorer")
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("mainSplitter")
        for name in ("resourceTree", "recordTable", "detailPane"):
            placeholder = QLabel(name)
            placeholder.setObjectName(name)
            splitter.addWidget(placeholder)
        self.setCentralWidget(splitter)
        self.resize(1280, 800)

    def start(self) -> None:
        """Begin loading (the tree, then Deals); returns at once."""
        from explorer.core.views import View

        async def first_page() -> None:
            page = await self.session.source.fetch_page(View("deals", "Deals"), size=50)
            self.first_rows.emit(len(page.records))

        self.runner.start(first_page(), name="first page of deals", key="table")

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.emit()
