"""The Export dialog against the sandbox: a saved filter exported through the runner with
progress, the file picked in a non-blocking file dialog, Cancel and close leave no file, a
failing page is reported in the dialog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
import shiboken6
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QWidget,
)

from explorer.api import Field
from explorer.core.columns import default_columns
from explorer.core.session import Session
from explorer.core.views import View
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.dialogs.export import ExportDialog
from explorer.sandbox.app import SandboxApp
from explorer.sandbox.config import FaultRule
from tests.qt.conftest import until

OPEN_IN_SALES = 1  # demo saved filter "Open deals in Sales pipeline"
VIEW = View("deals", "Open deals in Sales pipeline", (("filter_id", OPEN_IN_SALES),))
ID = Field("deals", "id", "ID", "int", False, False)


async def deal_columns(session: Session) -> list[Field]:
    return [ID, *default_columns("deals", await session.fields("deals"))]


async def filter_ids(session: Session) -> set[int]:
    """What Pipedrive's ``filter_id`` lists for the demo filter (the sandbox's own answer)."""
    return {r["id"] async for r in session.client.iterate(
        "deals", filters={"filter_id": OPEN_IN_SALES})}


def child(dialog: ExportDialog, kind: type[Any], name: str) -> Any:
    found = dialog.findChild(kind, name)
    assert found is not None, name
    return found


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def window(qtbot: Any) -> QWidget:
    """A window behind the dialog, as the main window is: closing the dialog does not
    close the application's last window."""
    w = QWidget()
    qtbot.addWidget(w)
    w.show()
    return w


@pytest.fixture
async def dialog(window: QWidget, session: Session, runner: TaskRunner) -> ExportDialog:
    d = ExportDialog(session, runner, VIEW, await deal_columns(session), window, page_size=50)
    d.open()
    await until(d.isVisible)
    return d


async def test_it_says_what_it_exports_and_writes_every_record_of_the_filter(
        dialog: ExportDialog, session: Session, runner: TaskRunner, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    summary = child(dialog, QLabel, "exportSummary").text()
    assert summary == ("Export: Deals — filter 'Open deals in Sales pipeline', 10 columns, "
                       "all matching records")
    child(dialog, QComboBox, "exportFormat").setCurrentIndex(1)  # Excel
    path = child(dialog, QLineEdit, "exportPath")
    path.setText(str(tmp_path / "open deals"))
    exported: list[Any] = []
    dialog.exported.connect(exported.append)
    QTest.mouseClick(child(dialog, QPushButton, "exportStart"), Qt.MouseButton.LeftButton)
    progress = child(dialog, QProgressBar, "exportProgress")
    assert progress.isVisible() and not path.isEnabled()
    assert child(dialog, QPushButton, "exportCancel").text() == "Cancel"
    await until(lambda: exported, within=20)
    expected = await filter_ids(session)
    target = tmp_path / "open deals.xlsx"  # the format's extension was added
    assert exported[0].path == target and exported[0].rows == len(expected)
    book = openpyxl.load_workbook(target, read_only=True)
    ids = [row[0] for row in book.active.iter_rows(min_row=2, values_only=True)]
    book.close()
    assert sorted(ids) == sorted(expected)
    status = child(dialog, QLabel, "exportStatus").text()
    assert f"{len(expected):,} records" in status and str(target) in status
    assert progress.value() == progress.maximum() == len(expected)
    assert path.isEnabled() and child(dialog, QPushButton, "exportCancel").text() == "Close"
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", opened.append)
    show = child(dialog, QPushButton, "exportShowFolder")
    assert show.isVisible()
    QTest.mouseClick(show, Qt.MouseButton.LeftButton)
    assert [u.toLocalFile() for u in opened] == [str(tmp_path)]
    assert not runner.tasks


async def test_the_file_is_chosen_in_a_file_dialog_that_does_not_block(
        dialog: ExportDialog, tmp_path: Path) -> None:
    fmt = child(dialog, QComboBox, "exportFormat")
    path = child(dialog, QLineEdit, "exportPath")
    assert path.text().endswith("Open deals in Sales pipeline.csv")
    fmt.setCurrentIndex(1)
    assert path.text().endswith("Open deals in Sales pipeline.xlsx")
    QTest.mouseClick(child(dialog, QPushButton, "exportBrowse"), Qt.MouseButton.LeftButton)
    picker = child(dialog, QFileDialog, "exportFileDialog")
    await until(picker.isVisible)  # open(), not exec(): the loop (and this test) goes on
    picker.fileSelected.emit(str(tmp_path / "chosen.xlsx"))
    picker.reject()
    assert path.text() == str(tmp_path / "chosen.xlsx")


async def test_cancel_stops_the_export_and_leaves_no_file(
        dialog: ExportDialog, app: SandboxApp, runner: TaskRunner, tmp_path: Path) -> None:
    # Slow pages, so the export is still running when Cancel is clicked.
    app.state.faults.add(FaultRule(kind="latency", probability=1.0, latency_ms=40.0,
                                   path="/api/v2/deals"))
    child(dialog, QLineEdit, "exportPath").setText(str(tmp_path / "deals.csv"))
    cancelled: list[int] = []
    dialog.cancelled.connect(cancelled.append)
    QTest.mouseClick(child(dialog, QPushButton, "exportStart"), Qt.MouseButton.LeftButton)
    await until(lambda: dialog.job is not None and dialog.job.rows >= 50, within=20)
    assert "records written" in child(dialog, QLabel, "exportStatus").text()
    QTest.mouseClick(child(dialog, QPushButton, "exportCancel"), Qt.MouseButton.LeftButton)
    await until(lambda: cancelled)
    await until(lambda: not runner.tasks)
    status = child(dialog, QLabel, "exportStatus").text()
    assert f"cancelled after {cancelled[0]:,} records" in status
    assert "nothing was saved" in status and 50 <= cancelled[0] < 205
    assert files_in(tmp_path) == []
    assert dialog.isVisible() and child(dialog, QPushButton, "exportStart").isEnabled()


async def test_closing_the_dialog_stops_the_export(
        dialog: ExportDialog, app: SandboxApp, runner: TaskRunner, tmp_path: Path) -> None:
    app.state.faults.add(FaultRule(kind="latency", probability=1.0, latency_ms=40.0,
                                   path="/api/v2/deals"))
    child(dialog, QLineEdit, "exportPath").setText(str(tmp_path / "deals.csv"))
    QTest.mouseClick(child(dialog, QPushButton, "exportStart"), Qt.MouseButton.LeftButton)
    await until(lambda: dialog.job is not None and dialog.job.rows > 0, within=20)
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    await until(lambda: not runner.tasks)
    assert files_in(tmp_path) == []
    # Opened again, it exports and shows it.
    app.state.faults.clear()
    exported: list[Any] = []
    dialog.exported.connect(exported.append)
    dialog.open()
    await until(dialog.isVisible)
    QTest.mouseClick(child(dialog, QPushButton, "exportStart"), Qt.MouseButton.LeftButton)
    await until(lambda: exported, within=20)
    assert files_in(tmp_path) == ["deals.csv"]
    assert "Exported" in child(dialog, QLabel, "exportStatus").text()


async def test_a_failing_page_is_reported_in_the_dialog(
        dialog: ExportDialog, app: SandboxApp, runner: TaskRunner, tmp_path: Path) -> None:
    # More 500s than the client's default retry policy tries (three attempts).
    app.state.faults.add(FaultRule(kind="error_500", count=3, method="GET",
                                   path="/api/v2/deals"))
    sink: list[Any] = []
    runner.failed.connect(lambda *args: sink.append(args))
    failures: list[str] = []
    dialog.failed.connect(failures.append)
    child(dialog, QLineEdit, "exportPath").setText(str(tmp_path / "deals.csv"))
    QTest.mouseClick(child(dialog, QPushButton, "exportStart"), Qt.MouseButton.LeftButton)
    await until(lambda: failures, within=20)
    status = child(dialog, QLabel, "exportStatus").text()
    assert status.startswith("Export failed.") and "500" in status
    assert "0 records written" in status and "nothing was saved as deals.csv" in status
    assert child(dialog, QProgressBar, "exportProgress").value() == 0
    assert not child(dialog, QPushButton, "exportShowFolder").isVisible()
    assert child(dialog, QPushButton, "exportStart").isEnabled()  # try again from here
    await until(lambda: not runner.tasks)
    assert files_in(tmp_path) == [] and sink == []  # shown here, not twice


async def test_a_relative_path_is_refused_with_what_to_do(dialog: ExportDialog) -> None:
    child(dialog, QLineEdit, "exportPath").setText("deals.csv")
    QTest.mouseClick(child(dialog, QPushButton, "exportStart"), Qt.MouseButton.LeftButton)
    assert dialog.job is None
    assert "full path" in child(dialog, QLabel, "exportStatus").text()


async def test_a_typed_extension_chooses_the_format(dialog: ExportDialog, tmp_path: Path) -> None:
    fmt = child(dialog, QComboBox, "exportFormat")
    assert fmt.currentData() == "csv"
    child(dialog, QLineEdit, "exportPath").setText(str(tmp_path / "deals.xlsx"))
    assert fmt.currentData() == "xlsx"


async def test_opened_before_the_columns_are_known_it_says_to_wait(
        window: QWidget, session: Session, runner: TaskRunner, tmp_path: Path) -> None:
    empty = ExportDialog(session, runner, VIEW, [], window)
    empty.open()
    message = "The list is still loading; try again in a moment."
    assert child(empty, QLabel, "exportStatus").text() == message  # at once
    start = child(empty, QPushButton, "exportStart")
    child(empty, QLineEdit, "exportPath").setText(str(tmp_path / "deals.csv"))
    assert not start.isEnabled()
    empty.start()  # Enter, or a caller
    assert empty.job is None and not runner.tasks
    assert child(empty, QLabel, "exportStatus").text() == message
    assert files_in(tmp_path) == []


async def test_an_existing_file_is_replaced_only_when_the_user_says_so(
        dialog: ExportDialog, session: Session, runner: TaskRunner, tmp_path: Path) -> None:
    target = tmp_path / "deals.csv"
    target.write_text("keep me\n", encoding="utf-8")
    path = child(dialog, QLineEdit, "exportPath")
    path.setText(str(target))
    row = child(dialog, QWidget, "exportReplaceRow")
    assert row.isHidden()
    start = child(dialog, QPushButton, "exportStart")
    QTest.mouseClick(start, Qt.MouseButton.LeftButton)
    assert dialog.job is None and not runner.tasks  # nothing started: it asks first
    assert row.isVisible()
    question = child(dialog, QLabel, "exportReplaceLabel").text()
    assert question == f"deals.csv already exists in {tmp_path}. Replace it?"
    assert target.read_text(encoding="utf-8") == "keep me\n"
    path.setText(str(tmp_path / "other.csv"))  # another file: the question goes
    assert row.isHidden()
    path.setText(str(target))
    QTest.mouseClick(start, Qt.MouseButton.LeftButton)
    assert row.isVisible() and dialog.job is None
    exported: list[Any] = []
    dialog.exported.connect(exported.append)
    QTest.mouseClick(child(dialog, QPushButton, "exportReplace"), Qt.MouseButton.LeftButton)
    assert row.isHidden()
    await until(lambda: exported, within=20)
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + len(await filter_ids(session))  # the header, then the deals
    assert "keep me" not in lines
    await until(lambda: not runner.tasks)


async def test_a_file_replaced_in_the_save_dialog_is_not_asked_about_again(
        dialog: ExportDialog, runner: TaskRunner, tmp_path: Path) -> None:
    target = tmp_path / "deals.csv"
    target.write_text("old\n", encoding="utf-8")
    QTest.mouseClick(child(dialog, QPushButton, "exportBrowse"), Qt.MouseButton.LeftButton)
    picker = child(dialog, QFileDialog, "exportFileDialog")
    await until(picker.isVisible)
    picker.fileSelected.emit(str(target))  # its own "Replace?" was answered there
    picker.reject()
    exported: list[Any] = []
    dialog.exported.connect(exported.append)
    QTest.mouseClick(child(dialog, QPushButton, "exportStart"), Qt.MouseButton.LeftButton)
    assert child(dialog, QWidget, "exportReplaceRow").isHidden()
    await until(lambda: exported, within=20)
    assert "old" not in target.read_text(encoding="utf-8-sig").splitlines()
    await until(lambda: not runner.tasks)


async def test_deleting_the_dialog_stops_its_export(
        dialog: ExportDialog, app: SandboxApp, runner: TaskRunner, tmp_path: Path) -> None:
    app.state.faults.add(FaultRule(kind="latency", probability=1.0, latency_ms=40.0,
                                   path="/api/v2/deals"))
    sink: list[Any] = []
    runner.failed.connect(lambda *args: sink.append(args))
    child(dialog, QLineEdit, "exportPath").setText(str(tmp_path / "deals.csv"))
    QTest.mouseClick(child(dialog, QPushButton, "exportStart"), Qt.MouseButton.LeftButton)
    job = dialog.job
    assert job is not None
    await until(lambda: job.rows > 0, within=20)
    shiboken6.delete(dialog)
    await until(lambda: not runner.tasks)
    assert files_in(tmp_path) == [] and sink == []
