"""The main window's own behaviour (polish): the View menu's choices kept between runs, the status
bar's view text, the account tag, first-start pane proportions and keyboard focus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from explorer.core.session import Session
from explorer.core.settings import CONFIG_DIR_ENV, Settings, load_settings, save_settings
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.main_window import MainWindow, text_on
from explorer.sandbox.store import Store
from tests.qt.conftest import until


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv(CONFIG_DIR_ENV, str(folder))
    return folder


@pytest.fixture
async def window(session: Session, runner: TaskRunner, tmp_path: Path,
                 config: Path) -> AsyncIterator[MainWindow]:
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    w = MainWindow(session, runner, settings=settings)
    yield w
    w.close()
    w.deleteLater()


async def test_view_menu_choices_are_restored_from_the_settings_file(
        session: Session, runner: TaskRunner, tmp_path: Path, config: Path) -> None:
    save_settings(Settings(show_archived=False, hide_empty_fields=True), config)
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    w = MainWindow(session, runner, settings=settings)
    try:
        w.start()
        await until(lambda: w.hide_empty_action.isChecked())
        assert not w.archived_action.isChecked()
        assert not w.tree.show_archived
        assert w.detail.hide_empty.isChecked()
        # Applying the saved choices wrote nothing back.
        assert load_settings(config) == Settings(show_archived=False, hide_empty_fields=True)
    finally:
        w.close()


async def test_view_menu_choices_are_saved_for_the_next_run(window: MainWindow,
                                                            config: Path) -> None:
    window.start()
    await until(lambda: window.table.model.loaded_rows() > 0)
    assert load_settings(config) == Settings()       # nothing saved until the user chooses

    window.hide_empty_action.trigger()
    await until(lambda: load_settings(config).hide_empty_fields)
    window.archived_action.trigger()
    await until(lambda: not load_settings(config).show_archived)
    assert load_settings(config).hide_empty_fields     # one choice does not undo the other


async def test_status_bar_names_the_view_and_counts_its_rows(window: MainWindow,
                                                             store: Store) -> None:
    deals = store.count("deals", [("is_archived = ?", [0])])  # the Deals list: not archived
    window.start()
    # The first page of 50, and the total from the tree's count of Deals.
    expected = f"Deals · 50 of {deals:,} loaded"
    await until(lambda: window.view_label.text() == expected, within=10)
    assert window.findChild(type(window.view_label), "viewStatus") is window.view_label

    window.tree.select_view(window.tree.model.view(window.tree.model.index_for_resource("users")))
    users = store.count("users")
    noun = "record" if users == 1 else "records"
    await until(lambda: window.view_label.text() == f"Users · {users} {noun}", within=10)


def test_account_tag_text_contrasts_with_its_colour() -> None:
    assert text_on("#ffffff") == "black"
    assert text_on("#ffd33d") == "black"       # a light yellow account colour
    assert text_on("#1f6feb") == "white"       # the default blue
    assert text_on("#8250df") == "white"       # the demo's purple
    assert text_on("not a colour") == "white"


async def test_first_start_gives_the_table_the_most_room(window: MainWindow) -> None:
    window.show()
    await until(lambda: window.splitter.sizes()[1] > 0)
    tree, table, detail = window.splitter.sizes()
    assert table > detail > tree


async def test_tab_walks_tree_then_table_then_detail(window: MainWindow) -> None:
    window.show()
    window.activateWindow()
    window.focus_tree_action.trigger()
    await until(lambda: QApplication.focusWidget() is window.tree.tree)
    QTest.keyClick(window.tree.tree, Qt.Key.Key_Tab)
    await until(lambda: QApplication.focusWidget() is window.table.table)
    QTest.keyClick(window.table.table, Qt.Key.Key_Tab)   # leaves the table, not a cell step
    await until(lambda: window.detail.isAncestorOf(QApplication.focusWidget()))

    window.focus_table_action.trigger()
    await until(lambda: QApplication.focusWidget() is window.table.table)
    window.focus_detail_action.trigger()
    await until(lambda: QApplication.focusWidget() is window.detail.fields_view)


async def test_related_tabs_menu_lists_every_tab_and_selects_one(window: MainWindow) -> None:
    window.show()
    window.start()
    await until(lambda: window.table.model.loaded_rows() > 0, within=10)
    window.table.table.selectRow(0)
    await until(lambda: window.detail.tabs.count() > 0)
    window.detail.tabs_menu.aboutToShow.emit()
    titles = [a.text() for a in window.detail.tabs_menu.actions()]
    # A deal's tabs (issue 8): its person and organization, related lists, history last.
    assert titles[:2] == ["Person", "Organization"]
    assert titles[-1].startswith("History")
    assert len(titles) == 8
    window.detail.tabs_menu.actions()[-1].trigger()
    assert window.detail.tabs.currentIndex() == 7


async def test_an_elided_cell_offers_its_full_text(window: MainWindow) -> None:
    window.show()
    window.start()
    await until(lambda: window.table.model.loaded_rows() > 0, within=10)
    index = window.table.model.index(0, 0)
    full = window.table.model.text(0, 0)
    assert full
    window.table.table.setColumnWidth(0, window.table.table.fontMetrics().horizontalAdvance("x"))
    assert window.table.elided_text(index) == full
    window.table.table.setColumnWidth(
        0, window.table.table.fontMetrics().horizontalAdvance(full) * 2)
    assert window.table.elided_text(index) == ""


async def test_money_headers_align_with_their_figures(window: MainWindow) -> None:
    window.start()
    model = window.table.model
    await until(lambda: model.loaded_rows() > 0 and any(f.key == "value" for f in model.columns),
                within=10)
    keys = [f.key for f in model.columns]
    value, title = keys.index("value"), keys.index("title")
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    align = Qt.ItemDataRole.TextAlignmentRole
    assert model.headerData(value, Qt.Orientation.Horizontal, align) == right
    assert model.index(0, value).data(align) == right
    assert model.headerData(title, Qt.Orientation.Horizontal, align) is None
