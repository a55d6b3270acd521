"""The record table pane against the sandbox: selection, header sort, the column chooser,
layout remembered per resource and account, copy as TSV, open in Pipedrive, retry row."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QItemSelectionModel, QObject, QPoint, QSettings, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QKeySequence
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QPushButton

from explorer.api.config import RetryPolicy
from explorer.core.accounts import Account
from explorer.core.session import Session
from explorer.core.views import View
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.models.record_table import FIRST_PAGE, RowState
from explorer.qt.widgets.record_table import RecordTablePane
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import FaultRule
from tests.qt.conftest import until

DEALS = View("deals", "Deals")


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "explorer.ini"), QSettings.Format.IniFormat)


def make_pane(qtbot: Any, session: Session, runner: TaskRunner,
              settings: QSettings) -> RecordTablePane:
    pane = RecordTablePane(session, runner, settings)
    qtbot.addWidget(pane)
    pane.resize(1200, 600)
    pane.show()
    return pane


async def shown(pane: RecordTablePane, view: View = DEALS) -> None:
    pane.set_view(view)
    await until(lambda: pane.model.loaded_rows() > 0
                and pane.model.row_state(pane.model.rowCount() - 1) != RowState.LOADING)


def select_rows(pane: RecordTablePane, rows: list[int]) -> None:
    selection = pane.table.selectionModel()
    flags = (QItemSelectionModel.SelectionFlag.Select
             | QItemSelectionModel.SelectionFlag.Rows)
    selection.clearSelection()
    for row in rows:
        selection.select(pane.model.index(row, 0), flags)


def click_header(qtbot: Any, pane: RecordTablePane, column: int) -> None:
    header = pane.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(x, header.height() // 2))


async def test_rows_selection_and_signals(qtbot: Any, session: Session, runner: TaskRunner,
                                          settings: QSettings) -> None:
    pane = make_pane(qtbot, session, runner, settings)
    assert pane.objectName() == "recordTablePane" and pane.table.objectName() == "recordTable"
    firsts: list[int] = []
    selected: list[tuple[str, Any, Any]] = []
    pane.first_rows.connect(firsts.append)
    pane.record_selected.connect(lambda *args: selected.append(args))
    await shown(pane)
    assert firsts == [FIRST_PAGE]
    page = await session.client.fetch_page("deals", page_size=FIRST_PAGE)
    pane.table.setCurrentIndex(pane.model.index(2, 0))
    resource, record_id, record = selected[-1]
    assert (resource, record_id) == ("deals", page.records[2]["id"])
    assert record == page.records[2]
    select_rows(pane, [4, 1])
    assert pane.selected_ids() == [page.records[1]["id"], page.records[4]["id"]]
    metrics = pane.table.fontMetrics()
    assert pane.table.verticalHeader().defaultSectionSize() >= metrics.height()
    pane.refresh_action.trigger()  # F5
    await until(lambda: firsts == [FIRST_PAGE, FIRST_PAGE])
    assert pane.refresh_action.shortcuts()[-1].toString() == "F5"


async def test_a_header_click_sorts_where_the_api_can(qtbot: Any, session: Session,
                                                      runner: TaskRunner,
                                                      settings: QSettings) -> None:
    pane = make_pane(qtbot, session, runner, settings)
    await shown(pane)
    keys = [f.key for f in pane.visible_columns()]
    before = pane.selected_ids()
    click_header(qtbot, pane, keys.index("title"))  # the API cannot sort deals by title
    assert pane.view is not None and pane.view.sort is None and before == pane.selected_ids()
    for direction in ("asc", "desc"):
        click_header(qtbot, pane, keys.index("update_time"))
        page = await session.client.fetch_page("deals", sort=f"update_time {direction}",
                                               page_size=FIRST_PAGE)
        expected = [d["id"] for d in page.records]
        await until(lambda expected=expected: [  # type: ignore[misc]
            pane.model.record_id(r) for r in range(FIRST_PAGE)] == expected)
        header = pane.table.horizontalHeader()
        assert header.sortIndicatorSection() == keys.index("update_time")
        assert header.sortIndicatorOrder() == (Qt.SortOrder.AscendingOrder if direction == "asc"
                                               else Qt.SortOrder.DescendingOrder)


@pytest.fixture
async def other_session(app: SandboxApp) -> AsyncIterator[Session]:
    other = Account(name="Another account", base_url="http://other.sandbox.test",
                    kind="sandbox", colour="#1f883d")
    s = Session.connect(other, DEFAULT_TOKEN, transport=httpx.ASGITransport(app=app))
    yield s
    await s.close()


async def test_the_layout_is_remembered_per_resource_and_account(
        qtbot: Any, session: Session, other_session: Session, runner: TaskRunner,
        settings: QSettings) -> None:
    pane = make_pane(qtbot, session, runner, settings)
    await shown(pane)
    defaults = [f.key for f in pane.visible_columns()]
    fields = await session.fields("deals")
    custom = next(f for f in fields if f.is_custom)
    chooser = pane.choose_columns()
    assert chooser is not None and chooser.objectName() == "columnChooser"
    assert chooser.isVisible()  # opened with open(): the loop goes on, nothing waits on it
    chooser.set_checked(custom.key, True)
    chooser.set_checked("status", False)
    chooser.list.setCurrentRow(1)  # the second column moves first
    chooser.move_current(-1)
    chooser.accept()
    wanted = [defaults[1], defaults[0], *[k for k in defaults[2:] if k != "status"], custom.key]
    assert [f.key for f in pane.visible_columns()] == wanted
    assert pane.model.headerData(len(wanted) - 1, Qt.Orientation.Horizontal) == custom.name
    pane.table.horizontalHeader().resizeSection(0, 333)
    click_header(qtbot, pane, wanted.index("update_time"))
    await until(lambda: pane.view is not None and pane.view.sort == "update_time asc")

    again = make_pane(qtbot, session, runner, settings)
    await shown(again)
    assert [f.key for f in again.visible_columns()] == wanted
    assert again.table.horizontalHeader().sectionSize(0) == 333
    assert again.view is not None and again.view.sort == "update_time asc"
    await shown(again, View("persons", "Persons"))  # another resource: its own layout
    assert "update_time" in [f.key for f in again.visible_columns()]
    assert again.view is not None and again.view.sort is None

    elsewhere = make_pane(qtbot, other_session, runner, settings)
    await shown(elsewhere)  # the same resource in another account: the defaults
    assert [f.key for f in elsewhere.visible_columns()] == defaults
    assert elsewhere.view is not None and elsewhere.view.sort is None


def connect_as(app: SandboxApp, name: str, base_url: str) -> Session:
    account = Account(name=name, base_url=base_url, kind="sandbox", colour="#1f883d")
    return Session.connect(account, DEFAULT_TOKEN, transport=httpx.ASGITransport(app=app))


async def test_the_layout_follows_the_accounts_url_not_its_name(
        qtbot: Any, app: SandboxApp, runner: TaskRunner, settings: QSettings) -> None:
    first = connect_as(app, "Work", "http://sandbox.test")
    renamed = connect_as(app, "Work (renamed)", "http://sandbox.test")
    namesake = connect_as(app, "Work", "http://other.sandbox.test")
    try:
        pane = make_pane(qtbot, first, runner, settings)
        await shown(pane)
        defaults = [f.key for f in pane.visible_columns()]
        pane.set_column_keys(["title", "id"])
        again = make_pane(qtbot, renamed, runner, settings)
        await shown(again)  # the same account, renamed: its layout
        assert [f.key for f in again.visible_columns()] == ["title", "id"]
        other = make_pane(qtbot, namesake, runner, settings)
        await shown(other)  # another account of the same name: the defaults
        assert [f.key for f in other.visible_columns()] == defaults
    finally:
        for s in (first, renamed, namesake):
            await s.close()


async def test_a_layout_kept_under_the_accounts_name_is_moved_to_its_url(
        qtbot: Any, session: Session, runner: TaskRunner, settings: QSettings) -> None:
    old = f"tableLayout/{session.account.name}/deals"
    settings.setValue(old, json.dumps({"columns": ["title", "value"]}))
    pane = make_pane(qtbot, session, runner, settings)
    await shown(pane)
    assert [f.key for f in pane.visible_columns()] == ["title", "value"]
    assert settings.value(old) is None
    again = make_pane(qtbot, session, runner, settings)
    await shown(again)
    assert [f.key for f in again.visible_columns()] == ["title", "value"]


async def test_copy_selected_rows_as_tsv(qtbot: Any, session: Session, runner: TaskRunner,
                                         settings: QSettings) -> None:
    pane = make_pane(qtbot, session, runner, settings)
    await shown(pane)
    pane.set_column_keys(["id", "title"])
    select_rows(pane, [0, 3])
    pane.copy_action.trigger()
    page = await session.client.fetch_page("deals", page_size=FIRST_PAGE)
    deals = page.records
    expected = (f"ID\tTitle\n{deals[0]['id']}\t{deals[0]['title']}\n"
                f"{deals[3]['id']}\t{deals[3]['title']}\n")
    assert QApplication.clipboard().text() == expected
    assert pane.copy_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Copy)


class _Browser(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


async def test_open_the_selected_records_in_pipedrive(qtbot: Any, session: Session,
                                                      runner: TaskRunner,
                                                      settings: QSettings) -> None:
    pane = make_pane(qtbot, session, runner, settings)
    await shown(pane)
    browser = _Browser()
    QDesktopServices.setUrlHandler("http", browser, "open")
    try:
        select_rows(pane, [0, 1])
        pane.open_action.trigger()
    finally:
        QDesktopServices.unsetUrlHandler("http")
    ids = pane.selected_ids()
    assert browser.opened == [f"http://sandbox.test/deal/{i}" for i in ids]
    assert pane.open_action.shortcut().toString() == "Ctrl+Shift+O"


async def test_clicking_the_error_row_retries(qtbot: Any, app: SandboxApp, account: Account,
                                              runner: TaskRunner, settings: QSettings) -> None:
    session = Session.connect(account, DEFAULT_TOKEN, transport=httpx.ASGITransport(app=app),
                              retry=RetryPolicy.never())
    try:
        pane = make_pane(qtbot, session, runner, settings)
        app.state.faults.add(FaultRule("error_500", count=1, method="GET",
                                       path="/api/v2/deals"))
        pane.set_view(DEALS)
        await until(lambda: pane.model.row_state(0) == RowState.ERROR)
        assert pane.table.columnSpan(0, 0) == pane.model.columnCount()
        rect = pane.table.visualRect(pane.model.index(0, 0))
        qtbot.mouseClick(pane.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        await until(lambda: pane.model.loaded_rows() == FIRST_PAGE)
    finally:
        await session.close()


def test_the_column_chooser_filters_and_keeps_order(qtbot: Any) -> None:
    from explorer.api import Field
    from explorer.qt.dialogs.columns import ColumnChooser

    fields = [Field("deals", k, n, "varchar", False, False)
              for k, n in (("title", "Title"), ("value", "Value"), ("status", "Status"))]
    chooser = ColumnChooser(fields, ["value", "title"])
    qtbot.addWidget(chooser)
    chosen: list[list[str]] = []
    chooser.columns_chosen.connect(chosen.append)
    chooser.filter.setText("stat")
    visible = [chooser.list.item(i).text() for i in range(chooser.list.count())
               if not chooser.list.item(i).isHidden()]
    assert visible == ["Status"]
    chooser.set_checked("status", True)
    chooser.done(QDialog.DialogCode.Accepted)
    assert chosen == [["value", "title", "status"]]


async def test_ok_is_disabled_while_no_column_is_checked(qtbot: Any, session: Session,
                                                         runner: TaskRunner,
                                                         settings: QSettings) -> None:
    pane = make_pane(qtbot, session, runner, settings)
    await shown(pane)
    shown_keys = [f.key for f in pane.visible_columns()]
    chooser = pane.choose_columns()
    assert chooser is not None
    ok = chooser.findChild(QPushButton, "columnOk")
    hint = chooser.findChild(QLabel, "columnNoneHint")
    assert ok is chooser.ok_button and ok.isEnabled() and hint.isHidden()
    for key in shown_keys:
        chooser.set_checked(key, False)
    assert not ok.isEnabled() and hint.isVisible()
    assert "at least one" in hint.text() and ok.toolTip() == hint.text()
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    chooser.accept()  # Enter, or a caller: still nothing happens
    assert chooser.isVisible()
    assert [f.key for f in pane.visible_columns()] == shown_keys
    chooser.set_checked("title", True)
    assert ok.isEnabled() and hint.isHidden()
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert [f.key for f in pane.visible_columns()] == ["title"]
    # Closed and deleted (WA_DeleteOnClose); let the loop do it before the pane goes.
    await until(lambda: pane.chooser is None)
