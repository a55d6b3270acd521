"""The detail pane: every field of one record, grouped; its related records and history as
tabs; back / forward with breadcrumbs.

``show_record(resource, id, record)`` shows the record the table has cached at once and
fetches it fresh (one GET, with the counts the tabs show) through the task runner's
interactive lane, keyed, so selecting another row cancels the load of the last. Field
metadata and names go in parallel with the GET, never after it: the cached record's names are
asked for while the GET is under way, and the fresh record's are the same ids, so the pane is
filled one round trip after a click.

Related tabs load lazily: only the tab the user sees, once the fresh record is there (a link
tab needs the record's person or organization, and a user arrowing through the table would
otherwise spend several requests per row on tabs never looked at). A tab shows its count when
known: from the record's ``include_fields`` counts before it is loaded, then from its rows.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTabWidget,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from explorer.core import detail_fields as df
from explorer.core.navigation import NavigationHistory, Place
from explorer.core.session import Session
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.models.detail import LINK_ROLE, FieldsModel
from explorer.qt.widgets.breadcrumbs import BreadcrumbBar
from explorer.qt.widgets.detail_loader import DetailLoader
from explorer.qt.widgets.related_tab import RelatedTab

CACHED_RECORDS = 50  # records kept for going back and forward without waiting


class DetailPane(QWidget):
    """The detail pane (objectName ``detailPane``).

    Children: ``breadcrumbs`` (crumbs ``crumb0``, ``crumb1``, …), ``detailTitle``,
    ``detailMessage`` with ``detailRetry``, ``hideEmptyToggle``, ``detailFields`` (the
    fields tree), ``relatedTabs`` (one ``RelatedTab`` per related list, ``related_history``
    last).

    Attributes:
        back_action, forward_action: Alt+Left / Alt+Right (the window adds them to its
            toolbar; they work from anywhere in the window as they are).
        fields_model: the ``FieldsModel`` shown.
        record: the record shown (the fresh one once it arrived), or None.
        history: the ``NavigationHistory``.

    Signals:
        navigated(str, object): the user went to another record from inside the pane (a
            link, a related row, back, forward, a crumb): ``(resource, id)``. Calling
            ``show_record`` with the record shown adds no history step, so the window may
            select it in the table.
        resource_requested(str): the resource crumb (``Deals``) was clicked.
        loaded(str, object): the fresh record is shown with its names resolved.
    """

    navigated = Signal(str, object)
    resource_requested = Signal(str)
    loaded = Signal(str, object)

    def __init__(self, session: Session, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPane")
        self.session = session
        self.runner = runner
        self.history = NavigationHistory()
        self.record: dict[str, Any] | None = None
        self._cache: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._tabs: list[RelatedTab] = []
        self._tabs_resource = ""
        self._loader = DetailLoader(self)

        self.back_action = QAction("Back", self)
        self.back_action.setObjectName("detailBack")
        self.back_action.setShortcut(QKeySequence(Qt.Modifier.ALT | Qt.Key.Key_Left))
        self.back_action.setToolTip("Back to the previous record (Alt+Left)")
        self.back_action.triggered.connect(self.back)
        self.forward_action = QAction("Forward", self)
        self.forward_action.setObjectName("detailForward")
        self.forward_action.setShortcut(QKeySequence(Qt.Modifier.ALT | Qt.Key.Key_Right))
        self.forward_action.setToolTip("Forward to the next record (Alt+Right)")
        self.forward_action.triggered.connect(self.forward)
        for action in (self.back_action, self.forward_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)  # active while the pane is shown, toolbar or not

        self.breadcrumbs = BreadcrumbBar(self)
        self.breadcrumbs.place_requested.connect(self._go)
        self.breadcrumbs.resource_requested.connect(self.resource_requested)
        self.title = QLabel(self)
        self.title.setObjectName("detailTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)  # relative: readable at any scaling
        font.setBold(True)
        self.title.setFont(font)

        self.message = QWidget(self)
        self.message.setObjectName("detailMessage")
        self.message_text = QLabel(self.message)
        self.message_text.setObjectName("detailMessageText")
        self.message_text.setWordWrap(True)
        self.retry_button = QPushButton("Retry", self.message)
        self.retry_button.setObjectName("detailRetry")
        self.retry_button.clicked.connect(self._retry)
        message_layout = QHBoxLayout(self.message)
        message_layout.setContentsMargins(0, 0, 0, 0)
        message_layout.addWidget(self.message_text, 1)
        message_layout.addWidget(self.retry_button)
        self.message.hide()

        self.hide_empty = QCheckBox("Hide empty fields", self)
        self.hide_empty.setObjectName("hideEmptyToggle")
        self.fields_model = FieldsModel(self)
        self.fields_view = QTreeView(self)
        self.fields_view.setObjectName("detailFields")
        self.fields_view.setModel(self.fields_model)
        self.fields_view.setAlternatingRowColors(True)
        self.fields_view.setUniformRowHeights(True)
        self.fields_view.setMouseTracking(True)
        self.fields_model.modelReset.connect(self._fields_reset)
        self.fields_view.clicked.connect(self._field_clicked)
        self.fields_view.activated.connect(self._field_activated)
        self.hide_empty.toggled.connect(self.fields_model.set_hide_empty)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("relatedTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.currentChanged.connect(self._tab_changed)
        # Eight tabs for a deal never fit a side pane: the bar scrolls, and this button
        # lists every tab with its count, so none is hidden behind the scroll arrows.
        self.tabs_button = QToolButton(self.tabs)
        self.tabs_button.setObjectName("relatedTabsMenu")
        self.tabs_button.setAccessibleName("All related tabs")
        self.tabs_button.setToolTip("Show a list of the related tabs")
        self.tabs_button.setArrowType(Qt.ArrowType.DownArrow)
        self.tabs_button.setAutoRaise(True)
        self.tabs_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.tabs_menu = QMenu(self.tabs_button)
        self.tabs_menu.setObjectName("relatedTabsList")
        self.tabs_menu.aboutToShow.connect(self._fill_tabs_menu)
        self.tabs_button.setMenu(self.tabs_menu)
        self.tabs.setCornerWidget(self.tabs_button, Qt.Corner.TopRightCorner)

        fields_box = QWidget(self)
        fields_layout = QVBoxLayout(fields_box)
        fields_layout.setContentsMargins(0, 0, 0, 0)
        fields_layout.addWidget(self.hide_empty)
        fields_layout.addWidget(self.fields_view)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("detailSplitter")
        self.splitter.addWidget(fields_box)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        # Room for a dozen related rows from the start, in lines (readable at any scaling).
        self.tabs.setMinimumHeight(self.fontMetrics().lineSpacing() * 14)

        content = QWidget(self)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.breadcrumbs)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)
        self.placeholder = QLabel("Select a record to see its fields, related records and "
                                  "history.", self)
        self.placeholder.setObjectName("detailPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.placeholder)
        self.pages.addWidget(content)
        # Greyed like any placeholder: it is a hint, not content (the palette's colour, so it
        # reads in dark themes too).
        hint = self.placeholder.palette()
        hint.setColor(QPalette.ColorRole.WindowText,
                      hint.color(QPalette.ColorRole.PlaceholderText))
        self.placeholder.setPalette(hint)
        outer = QVBoxLayout(self)
        # Flush with the table's top and bottom edges; a gap from the splitter handle only.
        outer.setContentsMargins(self.style().pixelMetric(
            QStyle.PixelMetric.PM_LayoutLeftMargin, None, self), 0, 0, 0)
        outer.addWidget(self.pages)
        self._update_actions()

    # ------------------------------------------------------------------ public API

    def current(self) -> tuple[str, Any] | None:
        place = self.history.current
        return None if place is None else (place.resource, place.record_id)

    def show_record(self, resource: str, record_id: Any,
                    record: dict[str, Any] | None = None) -> None:
        """Show a record chosen outside the pane (a table selection): ``record`` (the
        table's copy) at once, then the fresh one. The record shown already adds no step."""
        title = df.record_title(resource, record, record_id) if record else ""
        place, added = self.history.visit(resource, record_id, title=title, root=True)
        if not added:
            # The record shown (the window selecting where the pane went, or the same row
            # clicked again): its load is under way or done; only a failed one is retried.
            if record is not None and self.record is None:
                self._remember(resource, record_id, record)
                self.record = dict(record)
                self.fill(resource, record)
            elif not self.retry_button.isHidden():
                self._retry()
            return
        self._open(place, record)

    def back(self) -> None:
        place = self.history.back()
        if place is not None:
            self._open(place, None, user=True)

    def forward(self) -> None:
        place = self.history.forward()
        if place is not None:
            self._open(place, None, user=True)

    def follow(self, resource: str, record_id: Any,
               record: dict[str, Any] | None = None) -> None:
        """Go to a record from inside the pane (a link, a related row)."""
        title = df.record_title(resource, record, record_id) if record else ""
        place, added = self.history.visit(resource, record_id, title=title)
        if added:
            self._open(place, record, user=True)

    def tab(self, key: str) -> RelatedTab | None:
        """The related tab ``key`` of the record shown (``deals``, ``person``, ``history``)."""
        return next((t for t in self._tabs if t.spec.key == key), None)

    def select_tab(self, key: str) -> None:
        found = self.tab(key)
        if found is not None:
            self.tabs.setCurrentWidget(found)

    # ------------------------------------------------------------------ showing

    def _open(self, place: Place, record: dict[str, Any] | None, user: bool = False) -> None:
        key = place.key
        if record is not None:
            self._remember(place.resource, place.record_id, record)
        shown = record or self._cache.get(key)
        self._loader.cancel_tabs()
        self.pages.setCurrentIndex(1)
        self.show_message("")
        self._build_tabs(place.resource)
        self.record = dict(shown) if shown else None
        if shown:
            self.fill(place.resource, shown)
        else:
            self.fields_model.clear()
            self.title.setText(place.title or "Loading…")
        self._restore_tab(place)
        self._update_actions()
        self._loader.start(place, shown)
        if user:
            self.navigated.emit(place.resource, place.record_id)

    def fill(self, resource: str, record: dict[str, Any]) -> None:
        """Show ``record``'s fields with what is known now (field metadata, names)."""
        try:
            fields: Any = self.session.catalog[resource]
        except KeyError:
            fields = ()  # not loaded (yet), or none: the record's own keys
        groups = df.group_fields(resource, record, fields)
        self.fields_model.set_record(resource, record, groups, self.session.names)
        title = df.record_title(resource, record)
        place = self.history.current
        if place is not None and place.key == (resource, str(record.get("id", place.record_id))):
            place.title = title
        self.title.setText(title)
        self._update_counts(record)
        self._update_crumbs()

    def _remember(self, resource: str, record_id: Any, record: dict[str, Any]) -> None:
        self._cache[(resource, str(record_id))] = dict(record)
        self._cache.move_to_end((resource, str(record_id)))
        while len(self._cache) > CACHED_RECORDS:
            self._cache.popitem(last=False)

    def applied(self, place: Place, record: dict[str, Any]) -> None:
        """The fresh record of ``place`` arrived (the loader calls this)."""
        self._remember(place.resource, place.record_id, record)
        if self.history.current is not place:
            return
        self.record = dict(record)
        self.fill(place.resource, record)

    def show_message(self, text: str, retry: bool = False) -> None:
        self.message_text.setText(text)
        self.retry_button.setVisible(retry)
        self.message.setVisible(bool(text))

    def _retry(self) -> None:
        place = self.history.current
        if place is not None:
            self.show_message("")
            self._loader.start(place, self.record)

    def _fields_reset(self) -> None:
        self.fields_view.expandAll()
        self.fields_view.resizeColumnToContents(0)

    def _field_clicked(self, index: QModelIndex) -> None:
        """A click on a link (the value, drawn as a link) follows it."""
        if index.column() == 1:
            self._follow_link(index)

    def _field_activated(self, index: QModelIndex) -> None:
        """Enter on a row with a link follows it (a double-click is left to the click, or
        its second press would follow a link of the record it led to)."""
        if QGuiApplication.mouseButtons() != Qt.MouseButton.NoButton:
            return
        self._follow_link(index)

    def _follow_link(self, index: QModelIndex) -> None:
        link = index.siblingAtColumn(1).data(LINK_ROLE)
        if link is not None:
            self.follow(link[0], link[1])

    # ------------------------------------------------------------------ tabs

    def _build_tabs(self, resource: str) -> None:
        if resource == self._tabs_resource:
            for tab in self._tabs:
                tab.reset()
            return
        self.tabs.blockSignals(True)
        while self.tabs.count():
            widget = self.tabs.widget(0)
            self.tabs.removeTab(0)
            if widget is not None:
                widget.deleteLater()
        self._tabs = []
        for spec in df.tabs_for(resource):
            tab = RelatedTab(spec, self.tabs)
            tab.activated_target.connect(self._row_activated)
            tab.more_requested.connect(lambda t=tab: self._loader.more(t))
            self._tabs.append(tab)
            self.tabs.addTab(tab, spec.title)
        self.tabs.blockSignals(False)
        self._tabs_resource = resource
        self.tabs.setVisible(bool(self._tabs))

    def _restore_tab(self, place: Place) -> None:
        """Select the tab the place had (going back keeps the place)."""
        wanted = self.tab(place.tab) if place.tab else None
        self.tabs.blockSignals(True)
        if wanted is not None:
            self.tabs.setCurrentWidget(wanted)
        elif self._tabs:
            self.tabs.setCurrentIndex(0)
        self.tabs.blockSignals(False)
        current = self.tabs.currentWidget()
        if isinstance(current, RelatedTab):
            place.tab = current.spec.key

    def _tab_changed(self, number: int) -> None:
        tab = self.tabs.widget(number)
        place = self.history.current
        if isinstance(tab, RelatedTab) and place is not None:
            place.tab = tab.spec.key
            if self._loader.record_ready(place):
                self._loader.load_tab(place, tab)

    def _fill_tabs_menu(self) -> None:
        self.tabs_menu.clear()
        for number in range(self.tabs.count()):
            action = self.tabs_menu.addAction(self.tabs.tabText(number))
            action.setCheckable(True)
            action.setChecked(number == self.tabs.currentIndex())
            action.setEnabled(self.tabs.isTabEnabled(number))
            action.triggered.connect(lambda _=False, n=number: self.tabs.setCurrentIndex(n))

    def current_tab(self) -> RelatedTab | None:
        tab = self.tabs.currentWidget()
        return tab if isinstance(tab, RelatedTab) else None

    def set_tab_title(self, tab: RelatedTab, count: int | None, more: bool = False) -> None:
        number = self.tabs.indexOf(tab)
        if number < 0:
            return
        title = tab.spec.title
        if count is not None and tab.spec.kind in ("list", "related", "history"):
            title = f"{title} ({count}{'+' if more else ''})"
        self.tabs.setTabText(number, title)

    def _update_counts(self, record: dict[str, Any]) -> None:
        for tab in self._tabs:
            if tab.loaded_for is not None:
                continue
            count = record.get(tab.spec.count_key) if tab.spec.count_key else None
            known = isinstance(count, int) and not isinstance(count, bool)
            self.set_tab_title(tab, count if known else None)
            if tab.spec.kind == "link":
                linked = df.reference_id(record.get(tab.spec.filter_key)) is not None
                self.tabs.setTabEnabled(self.tabs.indexOf(tab), linked)

    def _row_activated(self, target: tuple[str, Any, dict[str, Any] | None]) -> None:
        resource, record_id, record = target
        self.follow(resource, record_id, record)

    # ------------------------------------------------------------------ navigation bar

    def _update_actions(self) -> None:
        self.back_action.setEnabled(self.history.can_back)
        self.forward_action.setEnabled(self.history.can_forward)
        self._update_crumbs()

    def _update_crumbs(self) -> None:
        self.breadcrumbs.set_crumbs(self.history.crumbs(df.LABELS))

    def _go(self, index: int) -> None:
        place = self.history.go(index)
        if place is not None:
            self._open(place, None, user=True)
