"""The main window: assembles the panes, menus and status bar; no logic of its own."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from PySide6.QtCore import QByteArray, QLocale, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QColor, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from explorer.core import settings as user_settings
from explorer.core.session import Session
from explorer.core.views import View
from explorer.qt import icons
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.dialogs.export import ExportDialog
from explorer.qt.models.record_table import RowState
from explorer.qt.models.resource_tree import TreeRole
from explorer.qt.widgets.detail_pane import DetailPane
from explorer.qt.widgets.notifications import NotificationArea
from explorer.qt.widgets.rate_meter import RateLimitMeter
from explorer.qt.widgets.record_table import RecordTablePane
from explorer.qt.widgets.resource_tree import ResourceTreePane

APP_NAME = "Pipedrive Explorer"
# First-start pane widths, in average characters (the user's splitter state wins): the tree
# fits its node names, the detail pane a field name and a value side by side, the table
# takes the rest.
TREE_CHARS = 36
DETAIL_CHARS = 64


class AccountTag(QLabel):
    """The account's name and live/sandbox tag in its colour, for the status bar."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountTag")
        account = session.account
        kind = "SANDBOX" if account.kind == "sandbox" else "LIVE"
        self.setText(f" {account.name} · {kind} ")
        self.setToolTip(f"{account.name}: {account.base_url}\n"
                        + ("Demo data, safe to change." if account.kind == "sandbox"
                           else "A live Pipedrive company: changes are real."))
        self.setStyleSheet(f"QLabel#accountTag {{ background: {account.colour};"
                           f" color: {text_on(account.colour)}; border-radius: 3px;"
                           " padding: 1px 6px; font-weight: 600; }")


def text_on(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (a ``#rrggbb`` colour): the
    tag keeps its account colour in light and dark palettes alike, so its text must fit the
    colour, not the palette."""
    colour = QColor(background)
    if not colour.isValid():
        return "white"
    # Relative luminance (WCAG), compared where black and white have equal contrast.
    lum = (0.2126 * _channel(colour.redF()) + 0.7152 * _channel(colour.greenF())
           + 0.0722 * _channel(colour.blueF()))
    return "black" if lum > 0.179 else "white"


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


class MainWindow(QMainWindow):
    """One account's window: resource tree · record table · detail pane, notifications above,
    the account tag and the rate meter in the status bar.

    Attributes:
        session: the open account session.
        runner: owns every coroutine the window starts.
        tree, table, detail, meter, notifications: the panes.

    Signals:
        closed(): the window was closed (the composition root then ends the session).
        first_rows(int): the table shows the first rows of its view (their count).
        load_failed(str): a page of the table could not be loaded (the message it shows).
        accounts_requested(): File → Accounts… (the composition root opens the manager).
    """

    closed = Signal()
    first_rows = Signal(int)
    load_failed = Signal(str)
    accounts_requested = Signal()

    def __init__(self, session: Session, runner: TaskRunner, *,
                 settings: QSettings | None = None, log_folder: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.session = session
        self.runner = runner
        self._settings = settings if settings is not None else QSettings()
        self._log_folder = log_folder
        self._started = False
        self._shown_view: View | None = None
        self._loading_preferences = False
        account = session.account
        kind = "sandbox" if account.kind == "sandbox" else "live"
        self.setWindowTitle(f"{account.name} ({kind}) — {APP_NAME}")
        self.setWindowIcon(icons.icon("app"))

        self.tree = ResourceTreePane(session, runner, self)
        self.table = RecordTablePane(session, runner, self._settings, self)
        self.detail = DetailPane(session, runner, self)
        self.notifications = NotificationArea(self, runner=runner)
        self._unfollow = self.notifications.follow(session)
        self.meter = RateLimitMeter(session, self)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        for pane in (self.tree, self.table, self.detail):
            self.splitter.addWidget(pane)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notifications)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self._set_tab_order()
        self.resize(1280, 800)
        self._default_sizes()
        self._restore_state()

    # ------------------------------------------------------------------ assembly

    def _action(self, text: str, slot: Any,
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                *, name: str, tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        # A checkable action passes its state on: ``triggered`` reaches a one-argument slot
        # with none from PySide (``triggered(bool checked = false)``).
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.accounts_action = self._action(
            "&Accounts…", self.accounts_requested.emit, "Ctrl+Shift+A", name="accountsAction",
            tip="Add, remove or switch Pipedrive accounts")
        self.export_action = self._action(
            "&Export view…", self.open_export, "Ctrl+E", name="exportAction",
            tip="Export every record of the current view to CSV or XLSX")
        self.export_action.setIcon(icons.icon("export"))
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit,
                                        name="quitAction")
        self.focus_tree_action = self._action(
            "Resource &tree", lambda: self._focus(self.tree), "Ctrl+1", name="focusTreeAction")
        self.focus_table_action = self._action(
            "&Records", lambda: self._focus(self.table), "Ctrl+2", name="focusTableAction")
        self.focus_detail_action = self._action(
            "&Detail", lambda: self._focus(self.detail), "Ctrl+3", name="focusDetailAction")
        self.archived_action = self._action(
            "Show &archived", self.tree.set_show_archived, None, name="archivedAction",
            tip="Show the Archived deals and Archived leads lists in the tree",
            checkable=True)
        self.archived_action.setChecked(self.tree.show_archived)
        self.tree.show_archived_changed.connect(self.archived_action.setChecked)
        self.tree.show_archived_changed.connect(
            lambda show: self._remember(show_archived=bool(show)))
        self.hide_empty_action = self._action(
            "&Hide empty fields", self.detail.hide_empty.setChecked, "Ctrl+H",
            name="hideEmptyAction", tip="Hide the detail pane's empty fields", checkable=True)
        self.detail.hide_empty.toggled.connect(self.hide_empty_action.setChecked)
        self.detail.hide_empty.toggled.connect(
            lambda hide: self._remember(hide_empty_fields=bool(hide)))
        self.detail.back_action.setIcon(icons.icon("back"))
        self.detail.forward_action.setIcon(icons.icon("forward"))
        self.table.refresh_action.setIcon(icons.icon("refresh"))
        self.table.columns_action.setIcon(icons.icon("columns"))
        self.table.open_action.setIcon(icons.icon("open-web"))
        self.table.copy_action.setIcon(icons.icon("copy"))
        self.about_action = self._action("&About Pipedrive Explorer", self.show_about,
                                         name="aboutAction")
        self.log_action = self._action("Open &log folder", self.open_log_folder,
                                       name="logFolderAction")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.accounts_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        view_menu = bar.addMenu("&View")
        panes = view_menu.addMenu("&Panes")
        for pane, title, key in ((self.tree, "Resource tree", "Ctrl+Shift+1"),
                                 (self.detail, "Detail pane", "Ctrl+Shift+3")):
            toggle = QAction(title, self, checkable=True, checked=True)
            toggle.setShortcut(QKeySequence(key))
            toggle.toggled.connect(pane.setVisible)
            self.addAction(toggle)
            panes.addAction(toggle)
        view_menu.addSeparator()
        view_menu.addAction(self.focus_tree_action)
        view_menu.addAction(self.focus_table_action)
        view_menu.addAction(self.focus_detail_action)
        view_menu.addSeparator()
        view_menu.addAction(self.table.columns_action)
        view_menu.addAction(self.archived_action)
        view_menu.addAction(self.hide_empty_action)
        view_menu.addSeparator()
        view_menu.addAction(self.table.refresh_action)

        record_menu = bar.addMenu("&Record")
        record_menu.addAction(self.table.copy_action)
        record_menu.addAction(self.table.open_action)

        go_menu = bar.addMenu("&Go")
        go_menu.addAction(self.detail.back_action)
        go_menu.addAction(self.detail.forward_action)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)
        help_menu.addAction(self.log_action)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Navigation", self)
        bar.setObjectName("mainToolBar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addAction(self.detail.back_action)
        bar.addAction(self.detail.forward_action)
        bar.addSeparator()
        bar.addAction(self.table.refresh_action)
        bar.addAction(self.table.columns_action)
        bar.addAction(self.table.open_action)
        bar.addAction(self.export_action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        status.setObjectName("statusBar")
        status.addWidget(AccountTag(self.session, self))
        self.view_label = QLabel(self)
        self.view_label.setObjectName("viewStatus")
        self.view_label.setTextFormat(Qt.TextFormat.PlainText)
        status.addWidget(self.view_label, 1)
        status.addPermanentWidget(self.meter)

    def _connect(self) -> None:
        self.tree.view_selected.connect(self.show_view)
        self.table.record_selected.connect(self.detail.show_record)
        self.table.first_rows.connect(self.first_rows)
        self.table.model.load_failed.connect(self.load_failed)
        self.detail.resource_requested.connect(self._resource_requested)
        self.runner.failed.connect(self.notifications.on_task_failed)
        model = self.table.model
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved,
                       model.tail_changed, self.tree.model.dataChanged,
                       self.tree.model.modelReset):
            signal.connect(self._update_view_status)

    def _set_tab_order(self) -> None:
        """Tab walks the panes left to right: tree → table → detail fields → related rows."""
        self.tree.setFocusProxy(self.tree.tree)
        self.table.setFocusProxy(self.table.table)
        self.detail.setFocusProxy(self.detail.fields_view)
        chain = [self.tree.tree, self.table.table, self.detail.hide_empty,
                 self.detail.fields_view, self.detail.tabs]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _default_sizes(self) -> None:
        """First-start splitter proportions from the font (a saved state replaces them)."""
        char = self.fontMetrics().horizontalAdvance("x")
        tree, detail = char * TREE_CHARS, char * DETAIL_CHARS
        table = max(self.width() - tree - detail, char * 60)
        self.splitter.setSizes([tree, table, detail])

    # ------------------------------------------------------------------ behaviour

    def start(self) -> None:
        """Begin loading: the tree, and the Deals list; returns at once."""
        if self._started:
            return
        self._started = True
        self.runner.start(self._load_preferences(), name="load settings", report=False)
        self.tree.load()
        # Field metadata first: the table's columns and the detail pane's custom fields need
        # it, and one shared request per resource beats one per pane.
        for resource in ("deals", "persons", "organizations"):
            self.runner.start(self._prefetch_fields(resource), name=f"fields of {resource}",
                              report=False)
        if not self.tree.select_resource("deals"):
            self.show_view(View("deals", "Deals"))

    async def _prefetch_fields(self, resource: str) -> None:
        await self.session.fields(resource)

    async def _load_preferences(self) -> None:
        """Apply the saved View menu choices (read in a thread: the file is on disk)."""
        saved = await asyncio.to_thread(user_settings.load_settings)
        self._loading_preferences = True
        try:
            self.tree.set_show_archived(saved.show_archived)
            self.detail.hide_empty.setChecked(saved.hide_empty_fields)
        finally:
            self._loading_preferences = False

    def _remember(self, **changes: Any) -> None:
        """Save a View menu choice for the next run (written in a thread)."""
        if self._loading_preferences:
            return
        self.runner.start(asyncio.to_thread(user_settings.update_settings, **changes),
                          name="save settings")

    def show_view(self, view: View) -> None:
        self._shown_view = view
        self.table.set_view(view)
        self._update_view_status()

    def view_status(self) -> str:
        """The status bar's view text: the list's name, and how many of its records are
        loaded when known ("Deals · 50 of 824 loaded", "Won deals · 12 records")."""
        view = self._shown_view
        if view is None:
            return ""
        title = view.title or view.resource.capitalize()
        model = self.table.model
        loaded = model.loaded_rows()
        pending = model.rowCount() > loaded  # the loading or error row
        if model.view is None or (loaded == 0 and pending):
            if model.view is not None and model.row_state(loaded) == RowState.ERROR:
                return f"{title} · could not be loaded (the list says why)"
            return title  # its first page is not in yet
        locale = QLocale()
        if not pending and not model.canFetchMore():
            noun = "record" if loaded == 1 else "records"
            return f"{title} · {locale.toString(loaded)} {noun}"
        total = self.tree.model.index_for_view(view).data(TreeRole.COUNT)
        if isinstance(total, int) and total >= loaded:
            return f"{title} · {locale.toString(loaded)} of {locale.toString(total)} loaded"
        return f"{title} · {locale.toString(loaded)} loaded"

    def _update_view_status(self, *_args: object) -> None:
        self.view_label.setText(self.view_status())

    def _resource_requested(self, resource: str) -> None:
        self.tree.select_resource(resource)

    def _focus(self, pane: QWidget) -> None:
        pane.setVisible(True)
        target = pane.focusProxy() or pane
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def open_export(self) -> None:
        view = self.table.view
        if view is None:
            self.notifications.report("Choose a list in the resource tree first, then export it.",
                                      context="Export")
            return
        dialog = ExportDialog(self.session, self.runner, view, self.table.visible_columns(),
                              self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_about(self) -> None:
        from explorer.qt.dialogs.about import AboutDialog

        dialog = AboutDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def open_log_folder(self) -> None:
        if self._log_folder is None:
            self.notifications.report("Logging to a file is off in this session.",
                                      context="Log folder")
            return
        folder = self._log_folder() if callable(self._log_folder) else self._log_folder
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # ------------------------------------------------------------------ state

    def _restore_state(self) -> None:
        geometry = self._settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = self._settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        splitter = self._settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)

    def _save_state(self) -> None:
        self._settings.setValue("window/geometry", self.saveGeometry())
        self._settings.setValue("window/state", self.saveState())
        self._settings.setValue("window/splitter", self.splitter.saveState())

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_state()
        self._unfollow()
        self.meter.detach()
        super().closeEvent(event)
        self.closed.emit()
