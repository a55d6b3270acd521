"""The resource tree pane: a tree of resources, pipelines, stages and saved filters whose
selection tells the window which View the table lists.

Clicking a node or moving to it with the arrow keys selects it and emits ``view_selected``;
Enter or a double-click on an error node retries the load it stands for. Counts are painted
greyed after the name by ``CountDelegate``. When the selected node goes away (the archived
nodes are hidden, a filter was deleted), its parent is selected instead, so the table never
shows a list the tree no longer has.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from explorer.core import tree
from explorer.core.session import Session
from explorer.core.views import View
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.models.resource_tree import ResourceTreeModel, TreeRole

Index = QModelIndex | QPersistentModelIndex


class CountDelegate(QStyledItemDelegate):
    """Paints a node's count (``TreeRole.COUNT``) greyed after its name: "Qualified  42".
    The name is elided first, so the count stays readable in a narrow pane."""

    GAP = "  "

    def _count_text(self, index: Index) -> str | None:
        count = index.data(TreeRole.COUNT)
        return None if count is None else QLocale().toString(int(count))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        count = self._count_text(index)
        if count is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        fm = opt.fontMetrics
        text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        tail = fm.horizontalAdvance(self.GAP + count)
        room = max(0, text_rect.width() - 2 * margin - tail)
        title = fm.elidedText(opt.text, Qt.TextElideMode.ElideRight, room)
        opt.text = title
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        x = text_rect.left() + margin + fm.horizontalAdvance(title + self.GAP)
        target = QRect(x, text_rect.top(), max(0, text_rect.right() - x), text_rect.height())
        palette = opt.palette
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        colour = (palette.color(QPalette.ColorRole.HighlightedText) if selected
                  else palette.color(QPalette.ColorRole.PlaceholderText))
        if selected:
            colour.setAlphaF(0.7)
        painter.save()
        painter.setPen(colour)
        painter.drawText(target, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         count)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        count = self._count_text(index)
        if count is not None:
            size.setWidth(size.width()
                          + option.fontMetrics.horizontalAdvance(self.GAP + count))
        return size


class ResourceTreePane(QWidget):
    """The resource tree (objectName ``resourceTree``) in its pane (``resourceTreePane``).

    ``load()`` starts loading pipelines, filters and counts through the runner and returns at
    once. ``select_view(view)`` / ``select_resource(name)`` select a node as a click would
    (emitting ``view_selected`` if the selection changes); a view whose node has not arrived
    yet is selected when it does, unless the user selected something else meanwhile.

    Attributes:
        model: the ``ResourceTreeModel``.
        tree: the ``QTreeView``.
        show_archived: whether the "Archived deals" / "Archived leads" nodes are shown.

    Signals:
        view_selected(object): the ``explorer.core.views.View`` of the node the user (or
            ``select_view``) selected.
        show_archived_changed(bool): the archived nodes were shown or hidden.
    """

    view_selected = Signal(object)
    show_archived_changed = Signal(bool)

    def __init__(self, session: Session, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resourceTreePane")
        self.model = ResourceTreeModel(session, runner, self)
        self._emitted: View | None = None
        self._pending: View | None = None
        self._fallback: QPersistentModelIndex | None = None
        self._hold = False  # the view moves the selection while its row goes: not the user
        # Connected before the view gets the model, so these run before the selection
        # model drops a removed row from the selection.
        self.model.rowsAboutToBeRemoved.connect(self._rows_about_to_be_removed)
        self.model.rowsRemoved.connect(self._rows_removed)
        self.model.rebuilt.connect(self._apply_pending)

        self.tree = QTreeView(self)
        self.tree.setObjectName("resourceTree")
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setItemDelegate(CountDelegate(self.tree))
        self.tree.setModel(self.model)
        self.tree.setAccessibleName("Resources")
        self.tree.installEventFilter(self)
        self.tree.selectionModel().selectionChanged.connect(self._selection_changed)
        self.tree.expanded.connect(self.model.load_counts)
        self.tree.doubleClicked.connect(self._activate)
        self.tree.expand(self.model.index_for_resource("deals"))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)

    # ------------------------------------------------------------------ public API

    def load(self) -> None:
        """Start loading (or reloading) the tree's lists; returns at once."""
        self.model.load()

    def select_view(self, view: View) -> bool:
        """Select the node listing ``view``; False (and selected on arrival) if it has
        not arrived yet."""
        index = self.model.index_for_view(view)
        if not index.isValid():
            self._pending = view
            return False
        self._pending = None
        self._select(index)
        return True

    def select_resource(self, resource: str) -> bool:
        """Select a resource's top node (``"deals"``); False for an unknown resource."""
        if resource not in tree.ROOT_BY_RESOURCE:
            return False
        return self.select_view(tree.root_view(resource))

    def selected_view(self) -> View | None:
        rows = self.tree.selectionModel().selectedRows()
        return self.model.view(rows[0]) if rows else None

    @property
    def show_archived(self) -> bool:
        return self.model.show_archived

    def set_show_archived(self, show: bool) -> None:
        if show != self.model.show_archived:
            self.model.set_show_archived(show)
            self.show_archived_changed.emit(show)

    # ------------------------------------------------------------------ Qt overrides

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Enter is handled here rather than through ``activated``: platforms differ on
        # whether Return activates an item (macOS does not) and some activate on one click.
        if (watched is self.tree and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and not event.modifiers()):
            self._activate(self.tree.currentIndex())
            return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ slots

    def _select(self, index: Index) -> None:
        parent = index.parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        self.tree.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.tree.scrollTo(index)

    def _activate(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        if self.model.kind(index) == "error":
            self.model.retry(index)
        elif self.model.view(index) is not None:
            self._select(index)

    def _selection_changed(self, selected: QItemSelection, deselected: Any) -> None:
        if self._hold:
            return
        rows = self.tree.selectionModel().selectedRows()
        if not rows:
            return
        self._pending = None  # the user chose; a view asked for earlier no longer applies
        view = self.model.view(rows[0])
        if view is not None and view != self._emitted:
            self._emitted = view
            self.view_selected.emit(view)

    def _apply_pending(self) -> None:
        if self._pending is not None:
            self.select_view(self._pending)

    def _rows_about_to_be_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        rows = self.tree.selectionModel().selectedRows() if self.tree.model() else []
        index = rows[0] if rows else QModelIndex()
        while index.isValid():
            if index.parent() == parent and first <= index.row() <= last:
                self._fallback = QPersistentModelIndex(parent)
                self._hold = True
                return
            index = index.parent()

    def _rows_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        if self._fallback is None:
            return
        target, self._fallback, self._hold = self._fallback, None, False
        if target.isValid():
            self._select(target)
