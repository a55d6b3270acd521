"""The resource tree's model: resources, pipelines and stages, archived lists, saved filters.

What nodes exist and what each lists comes from ``explorer.core.tree``; this model holds one
build of it and, when something arrives, diffs the next build against it by node key (rows
are inserted and removed, never reset), so the selection and the expanded nodes survive.
Pipelines and filters load through the task runner; until they arrive their place holds a
"Loading…" child, and a failure holds an error child that ``retry(index)`` reloads. Counts come
from ``/v1/deals/summary`` in the background lane: all deals at ``load()``, the stages of a
pipeline when ``load_counts(index)`` is called for it (the pane does on expanding it).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QIcon

from explorer.api import PipedriveClient
from explorer.core import tree
from explorer.core.session import Session
from explorer.core.tree import TreeNode, TreeState
from explorer.core.views import View, deal_count
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.icons import icon

log = logging.getLogger(__name__)

# The tree's two loads, by the TreeState attribute they fill (and its ``_error`` twin).
_LOADERS: dict[str, Callable[[PipedriveClient], Awaitable[object]]] = {
    "pipelines": tree.load_pipelines, "filters": tree.load_filters}

Index = QModelIndex | QPersistentModelIndex
_TOP = QModelIndex()  # the invisible root, as a default argument

# Icons from resources/icons, by node kind (resource nodes use their resource's own icon).
_KIND_ICONS = {"pipeline": "pipeline", "stage": "stage", "archived": "archive",
               "filter": "filter", "loading": "refresh", "error": "warning"}


class TreeRole(IntEnum):
    """Data roles beyond Qt's own."""

    VIEW = Qt.ItemDataRole.UserRole + 1  # the View the node lists (None for placeholders)
    KIND = Qt.ItemDataRole.UserRole + 2  # "resource", "pipeline", "stage", … (core.tree)
    COUNT = Qt.ItemDataRole.UserRole + 3  # records the view lists, or None when not known
    KEY = Qt.ItemDataRole.UserRole + 4  # the node's key, unique among its siblings


class _Item:
    """One node as the model holds it (``TreeNode`` is immutable; rows need a parent)."""

    __slots__ = ("children", "count", "error", "id", "key", "kind", "parent", "section",
                 "title", "view")

    def __init__(self, item_id: int, node: TreeNode | None, parent: _Item | None) -> None:
        self.id = item_id
        self.parent = parent
        self.children: list[_Item] = []
        self.key = ""
        self.kind = "root"
        self.title = ""
        self.view: View | None = None
        self.count: int | None = None
        self.section: str | None = None
        self.error: str | None = None
        if node is not None:
            self.update(node)

    def update(self, node: TreeNode) -> bool:
        """Take ``node``'s fields; whether anything shown changed."""
        new = (node.key, node.kind, node.title, node.view, node.count, node.section, node.error)
        old = (self.key, self.kind, self.title, self.view, self.count, self.section, self.error)
        (self.key, self.kind, self.title, self.view, self.count, self.section,
         self.error) = new
        return new != old

    def row(self) -> int:
        return 0 if self.parent is None else self.parent.children.index(self)


class ResourceTreeModel(QAbstractItemModel):
    """Resources and their sub-lists, each node a ``View`` for the table.

    Attributes:
        show_archived: whether the "Archived deals" / "Archived leads" nodes are shown.

    Signals:
        rebuilt(): after a change of nodes or counts has been applied (the pane selects a
            view that was asked for before its node existed).
    """

    rebuilt = Signal()

    def __init__(self, session: Session, runner: TaskRunner, parent: QObject | None = None,
                 *, counts: bool = True) -> None:
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self._counts = counts
        self._state = TreeState()
        self._ids = itertools.count(1)
        self._root = _Item(0, None, None)
        self._items: dict[int, _Item] = {}
        self._counting: set[str] = set()  # view keys whose count is being asked for
        self._task_key = f"resource-tree-{id(self)}"
        self._rebuild()

    # ------------------------------------------------------------------ public API

    def load(self) -> None:
        """Start loading pipelines, saved filters and the deal count; returns at once.
        Called again, it reloads; what is shown stays until the new answers replace it."""
        self._start("pipelines")
        self._start("filters")
        if self._counts:
            self._count([tree.root_view("deals")], reload=True)

    def retry(self, index: Index) -> bool:
        """Reload the section an error node stands for; False if ``index`` is no error."""
        item = self._item(index)
        if item is None or item.kind != "error" or item.section is None:
            return False
        self._start(item.section)
        return True

    def load_counts(self, index: Index) -> None:
        """Ask for the counts beneath a pipeline (one summary per stage not yet counted, in
        the background lane); anything else is ignored."""
        item = self._item(index)
        if not self._counts or item is None or item.kind != "pipeline":
            return
        self._count([c.view for c in item.children if c.view is not None])

    @property
    def show_archived(self) -> bool:
        return self._state.show_archived

    def set_show_archived(self, show: bool) -> None:
        if show != self._state.show_archived:
            self._state.show_archived = show
            self._rebuild()

    def view(self, index: Index) -> View | None:
        item = self._item(index)
        return None if item is None else item.view

    def kind(self, index: Index) -> str | None:
        item = self._item(index)
        return None if item is None else item.kind

    def index_for_view(self, view: View) -> QModelIndex:
        """The node listing ``view`` (same resource, filters and archived; title and sort
        aside), or an invalid index while there is none."""
        return self._find(self._root, view.key)

    def index_for_resource(self, resource: str) -> QModelIndex:
        for row, item in enumerate(self._root.children):
            if item.key == resource:
                return self.createIndex(row, 0, item.id)
        return QModelIndex()

    # ------------------------------------------------------------------ Qt overrides

    def index(self, row: int, column: int, parent: Index = _TOP) -> QModelIndex:
        owner = self._item(parent) if parent.isValid() else self._root
        if owner is None or column != 0 or not 0 <= row < len(owner.children):
            return QModelIndex()
        return self.createIndex(row, 0, owner.children[row].id)

    def parent(self, index: Index = _TOP) -> QModelIndex:  # type: ignore[override]
        item = self._item(index)
        if item is None or item.parent is None or item.parent is self._root:
            return QModelIndex()
        return self.createIndex(item.parent.row(), 0, item.parent.id)

    def rowCount(self, parent: Index = _TOP) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        owner = self._item(parent) if parent.isValid() else self._root
        return 0 if owner is None else len(owner.children)

    def columnCount(self, parent: Index = _TOP) -> int:
        return 1

    def hasChildren(self, parent: Index = _TOP) -> bool:
        return self.rowCount(parent) > 0

    def flags(self, index: Index) -> Qt.ItemFlag:
        item = self._item(index)
        if item is None or item.kind == "loading":
            return Qt.ItemFlag.NoItemFlags  # shown greyed, never current
        if item.kind == "error":
            return Qt.ItemFlag.ItemIsEnabled  # can be current, to retry with Enter
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (section == 0 and orientation == Qt.Orientation.Horizontal
                and role == Qt.ItemDataRole.DisplayRole):
            return "Resources"
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self._item(index)
        if item is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return item.title
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(item)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return item.title if item.count is None else f"{item.title}, {item.count}"
        if role == TreeRole.VIEW:
            return item.view
        if role == TreeRole.KIND:
            return item.kind
        if role == TreeRole.COUNT:
            return item.count
        if role == TreeRole.KEY:
            return item.key
        return None

    # ------------------------------------------------------------------ presentation

    @staticmethod
    def _icon(item: _Item) -> QIcon:
        if item.kind == "resource":
            return icon(item.key)
        return icon(_KIND_ICONS[item.kind])

    @staticmethod
    def _tooltip(item: _Item) -> str:
        if item.kind == "error":
            return (f"{item.error}\nDouble-click or press Enter to try again. If it keeps "
                    "failing, check the connection and the account's access in Pipedrive.")
        if item.kind == "loading":
            return "Asking Pipedrive…"
        view = item.view
        assert view is not None
        noun = tree.ROOT_BY_RESOURCE[view.resource].title.lower()
        text = {
            "resource": f"All {noun}" + (" that are not archived"
                                         if view.resource in ("deals", "leads") else ""),
            "pipeline": f"Deals in the pipeline {item.title}",
            "stage": f"Deals in the stage {item.title}",
            "archived": f"Archived {noun}",
            "filter": f"{noun.capitalize()} matching the saved filter {item.title}",
        }[item.kind]
        return text if item.count is None else f"{text}: {item.count}"

    # ------------------------------------------------------------------ loading

    def _start(self, section: str) -> None:
        """Load ``section`` (``pipelines`` or ``filters``) in the background."""
        if getattr(self._state, section) is None:
            setattr(self._state, f"{section}_error", None)  # "Loading…" again, not the error
        self._rebuild()
        self._runner.start(self._load(section), name=f"resource tree: {section}",
                           key=f"{self._task_key}-{section}", report=False)

    async def _load(self, section: str) -> None:
        loader = _LOADERS[section]
        try:
            loaded = await loader(self._session.client)
        except Exception as exc:  # any failure becomes the error child
            log.warning("resource tree: %s failed: %s", section, exc)
            if getattr(self._state, section) is None:  # what was loaded before stays
                setattr(self._state, f"{section}_error", str(exc) or type(exc).__name__)
                self._rebuild()
            return
        setattr(self._state, section, loaded)
        setattr(self._state, f"{section}_error", None)
        self._rebuild()

    def _count(self, views: Sequence[View], *, reload: bool = False) -> None:
        wanted = [v for v in views if v.key not in self._counting
                  and (reload or v.key not in self._state.counts)]
        if not wanted:
            return
        self._counting.update(v.key for v in wanted)
        name = "resource tree: counts of " + ", ".join(v.title for v in wanted)
        self._runner.start(self._load_counts(wanted), name=name, lane="background",
                           report=False)

    async def _load_counts(self, views: Sequence[View]) -> None:
        client = self._session.client
        try:
            results = await asyncio.gather(*(deal_count(client, v) for v in views),
                                           return_exceptions=True)
        finally:
            self._counting.difference_update(v.key for v in views)
        for view, result in zip(views, results, strict=True):
            if isinstance(result, BaseException):
                # A count is decoration: without it the node simply shows none.
                log.info("resource tree: no count for %s: %s", view.key, result)
            elif result is not None:
                self._state.counts[view.key] = result
        self._rebuild()

    # ------------------------------------------------------------------ the diff

    def _item(self, index: Index) -> _Item | None:
        if not index.isValid() or index.model() is not self:
            return None
        return self._items.get(index.internalId())

    def _find(self, owner: _Item, key: str) -> QModelIndex:
        for row, item in enumerate(owner.children):
            if item.view is not None and item.view.key == key:
                return self.createIndex(row, 0, item.id)
            found = self._find(item, key)
            if found.isValid():
                return found
        return QModelIndex()

    def _rebuild(self) -> None:
        self._sync(self._root, QModelIndex(), tree.build_tree(self._state))
        self.rebuilt.emit()

    def _new(self, node: TreeNode, parent: _Item) -> _Item:
        item = _Item(next(self._ids), node, parent)
        self._items[item.id] = item
        item.children = [self._new(child, item) for child in node.children]
        return item

    def _forget(self, item: _Item) -> None:
        self._items.pop(item.id, None)
        for child in item.children:
            self._forget(child)

    def _remove(self, owner: _Item, parent: QModelIndex, first: int, last: int) -> None:
        self.beginRemoveRows(parent, first, last)
        for item in owner.children[first:last + 1]:
            self._forget(item)
        del owner.children[first:last + 1]
        self.endRemoveRows()

    def _sync(self, owner: _Item, parent: QModelIndex, nodes: Sequence[TreeNode]) -> None:
        """Make ``owner``'s children ``nodes``: rows whose key went are removed, new ones
        inserted, kept ones updated in place (so persistent indexes and selection stay)."""
        keys = [n.key for n in nodes]
        wanted = set(keys)
        row = len(owner.children) - 1
        while row >= 0:
            if owner.children[row].key in wanted:
                row -= 1
                continue
            last = row
            while row > 0 and owner.children[row - 1].key not in wanted:
                row -= 1
            self._remove(owner, parent, row, last)
            row -= 1
        kept = [c.key for c in owner.children]
        if kept != [k for k in keys if k in set(kept)]:  # reordered: rebuild these rows
            self._remove(owner, parent, 0, len(owner.children) - 1)
        row = 0
        while row < len(nodes):
            if row < len(owner.children) and owner.children[row].key == nodes[row].key:
                item = owner.children[row]
                index = self.createIndex(row, 0, item.id)
                if item.update(nodes[row]):
                    self.dataChanged.emit(index, index)
                self._sync(item, index, nodes[row].children)
                row += 1
                continue
            end = row  # a run of new nodes goes in with one insert
            present = {c.key for c in owner.children}
            while end + 1 < len(nodes) and nodes[end + 1].key not in present:
                end += 1
            self.beginInsertRows(parent, row, end)
            owner.children[row:row] = [self._new(n, owner) for n in nodes[row:end + 1]]
            self.endInsertRows()
            row = end + 1
