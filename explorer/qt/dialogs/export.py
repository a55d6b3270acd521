"""The Export dialog: the current view to a CSV or XLSX file, with progress and cancel.

``ExportDialog(session, runner, view, columns, parent)`` says what will be exported (resource,
filter or stage, number of columns, all matching records), lets the user pick a format and a
file (typed, or through a non-blocking ``QFileDialog``), runs ``explorer.core.export`` through
the task runner in the background lane, shows records written (of the total when known),
stops on Cancel (the chosen file is never left half-written) and ends with the path and a
"Show in folder" button, or with what went wrong. Open it with ``open()``; it never blocks.
A typed file that already exists is not replaced until the user says so in the dialog
itself (a "Replace" button beside the question; the save dialog of Browse… has asked
already). Opened before the list's columns are known, it says to try again in a moment.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path

import shiboken6
from PySide6.QtCore import QStandardPaths, Qt, QUrl, Signal, SignalInstance
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.api import Field
from explorer.core.export import (
    PAGE_SIZE,
    ExportError,
    ExportJob,
    ExportResult,
    Format,
    summary,
)
from explorer.core.session import Session
from explorer.core.views import View
from explorer.qt.asyncqt import TaskRunner

NOT_READY = "The list is still loading; try again in a moment."
FORMAT_CHOICES: tuple[tuple[Format, str, str], ...] = (
    ("csv", "CSV (comma-separated, UTF-8)", "CSV files (*.csv)"),
    ("xlsx", "Excel workbook (.xlsx)", "Excel workbooks (*.xlsx)"),
)


class ExportDialog(QDialog):
    """Export a view to a file (see the module docstring).

    Attributes:
        session, runner, view, columns: what it exports and through which task runner.
        job: the running or last ``ExportJob`` (None before the first start).
        export_result: the last successful ``ExportResult`` (None until one succeeds).

    Signals:
        exported(object): an ``ExportResult``, when a file was written completely.
        failed(str): what went wrong, when an export stopped with an error.
        cancelled(int): records written (and discarded) when the user stopped an export.
    """

    exported = Signal(object)
    failed = Signal(str)
    cancelled = Signal(int)

    def __init__(self, session: Session, runner: TaskRunner, view: View,
                 columns: Sequence[Field], parent: QWidget | None = None, *,
                 page_size: int = PAGE_SIZE) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle(f"Export {view.title or view.resource}")
        self.session = session
        self.runner = runner
        self.view = view
        self.columns = list(columns)
        self.job: ExportJob | None = None
        self.export_result: ExportResult | None = None
        self._page_size = page_size
        self._task: asyncio.Task[None] | None = None
        self._replace_ok: Path | None = None  # an existing file the user agreed to replace
        self._build()
        self._path.setText(str(default_path(view, self.fmt)))
        if not self.columns:
            self._say(NOT_READY, error=True)

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        self._summary = QLabel(f"Export: {summary(self.view, self.columns)}", self)
        self._summary.setObjectName("exportSummary")
        self._summary.setWordWrap(True)
        self._format = QComboBox(self)
        self._format.setObjectName("exportFormat")
        for fmt, label, _ in FORMAT_CHOICES:
            self._format.addItem(label, fmt)
        self._format.currentIndexChanged.connect(self._format_changed)
        self._path = QLineEdit(self)
        self._path.setObjectName("exportPath")
        self._path.setClearButtonEnabled(True)
        self._path.textChanged.connect(self._path_changed)
        self._browse = QPushButton("Browse…", self)
        self._browse.setObjectName("exportBrowse")
        self._browse.clicked.connect(self.browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self._path, 1)
        file_row.addWidget(self._browse)

        form = QFormLayout()
        form.addRow(self._label("&Format:", self._format), self._format)
        form.addRow(self._label("F&ile:", self._path), file_row)

        self._progress = QProgressBar(self)
        self._progress.setObjectName("exportProgress")
        self._progress.setTextVisible(False)
        self._progress.setEnabled(False)  # shown from the start: the dialog does not jump
        self._status = QLabel(self)
        self._status.setObjectName("exportStatus")
        self._status.setWordWrap(True)
        self._status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Inline, not a message box: the dialog asks before an existing file is replaced.
        self._confirm = QWidget(self)
        self._confirm.setObjectName("exportReplaceRow")
        self._confirm_text = QLabel(self._confirm)
        self._confirm_text.setObjectName("exportReplaceLabel")
        self._confirm_text.setWordWrap(True)
        self._replace = QPushButton("&Replace", self._confirm)
        self._replace.setObjectName("exportReplace")
        self._replace.clicked.connect(self._replace_clicked)
        confirm_row = QHBoxLayout(self._confirm)
        confirm_row.setContentsMargins(0, 0, 0, 0)
        confirm_row.addWidget(self._confirm_text, 1)
        confirm_row.addWidget(self._replace)
        self._confirm.hide()

        buttons = QDialogButtonBox(self)
        self._start = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self._start.setObjectName("exportStart")
        self._start.setDefault(True)
        self._start.clicked.connect(self.start)
        self._show = buttons.addButton("Show in folder", QDialogButtonBox.ButtonRole.ActionRole)
        self._show.setObjectName("exportShowFolder")
        self._show.clicked.connect(self.show_in_folder)
        self._show.hide()
        self._cancel = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self._cancel.setObjectName("exportCancel")
        self._cancel.clicked.connect(self._cancel_clicked)

        layout = self._layout = QVBoxLayout(self)
        layout.addWidget(self._summary)
        layout.addLayout(form)
        layout.addWidget(self._confirm)
        layout.addWidget(self._progress)
        layout.addWidget(self._status)
        layout.addStretch(1)
        layout.addWidget(buttons)
        # Room for a typical path; in characters, so it scales with the font and the screen.
        self._path.setMinimumWidth(self.fontMetrics().averageCharWidth() * 50)

    def _label(self, text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text, self)
        label.setBuddy(buddy)  # Alt+letter moves there
        return label

    # ------------------------------------------------------------------ state

    @property
    def fmt(self) -> Format:
        fmt: Format = self._format.currentData()
        return fmt

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def path(self) -> Path | None:
        """The chosen file with the format's extension, or None when none is given."""
        text = self._path.text().strip()
        if not text:
            return None
        path = Path(text).expanduser()
        return path if path.suffix.lower() == f".{self.fmt}" else path.with_name(
            f"{path.name}.{self.fmt}")

    def _set_running(self, running: bool) -> None:
        for widget in (self._format, self._path, self._browse, self._start):
            widget.setEnabled(not running)
        self._cancel.setText("Cancel" if running else "Close")
        self._progress.setEnabled(running or self.export_result is not None)
        if running:
            self._show.hide()
            self._confirm.hide()

    def _format_changed(self) -> None:
        # The file keeps its name and takes the new format's extension.
        text = self._path.text().strip()
        stem, dot, ext = text.rpartition(".")
        if dot and ext.lower() in {f for f, _, _ in FORMAT_CHOICES}:
            self._path.setText(f"{stem}.{self.fmt}")

    def _path_changed(self) -> None:
        # A typed extension chooses the format ("deals.xlsx" is an Excel export).
        ext = Path(self._path.text().strip()).suffix.lower().lstrip(".")
        index = self._format.findData(ext)
        if index >= 0 and index != self._format.currentIndex():
            self._format.setCurrentIndex(index)
        self._start.setEnabled(not self.running and bool(self._path.text().strip())
                               and bool(self.columns))
        self._replace_ok = None  # another file: ask again
        self._confirm.hide()

    # ------------------------------------------------------------------ actions

    def browse(self) -> None:
        """Pick the file in a save dialog opened with ``open()`` (no nested loop)."""
        chosen = self.path()
        dialog = QFileDialog(self, "Export to", str(chosen.parent) if chosen else "")
        dialog.setObjectName("exportFileDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setNameFilters([f for _, _, f in FORMAT_CHOICES])
        dialog.selectNameFilter(next(f for v, _, f in FORMAT_CHOICES if v == self.fmt))
        dialog.setDefaultSuffix(self.fmt)
        if chosen is not None:
            dialog.selectFile(chosen.name)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.filterSelected.connect(self._filter_selected)
        dialog.fileSelected.connect(self._file_chosen)
        dialog.open()

    def _file_chosen(self, file: str) -> None:
        self._path.setText(file)
        self._replace_ok = self.path()  # the save dialog asked before replacing it

    def _filter_selected(self, name_filter: str) -> None:
        for i, (_, _, f) in enumerate(FORMAT_CHOICES):
            if f == name_filter:
                self._format.setCurrentIndex(i)

    def start(self) -> None:
        """Start the export of every record of the view to the chosen file."""
        if self.running:
            return
        path = self.path()
        if not self.columns:
            self._say(NOT_READY, error=True)
            return
        if path is None or not path.is_absolute():
            self._say("Give the full path of the file to write (or choose one with Browse…).")
            return
        if path.is_file() and path != self._replace_ok:
            self._confirm_text.setText(f"{path.name} already exists in {path.parent}. "
                                       "Replace it?")
            self._confirm.show()
            self._say("")
            return
        self._path.setText(str(path))
        self.export_result = None
        try:
            self.job = ExportJob(self.session, self.view, self.columns, path, self.fmt,
                                 self._on_progress, page_size=self._page_size)
        except ValueError as exc:  # no columns, a view of a list that cannot be read
            self._say(f"Cannot export: {exc}.", error=True)
            return
        self._set_running(True)
        self._on_progress(0, None)
        self._task = self.runner.start(self._run(self.job), name=f"export {path.name}",
                                       key=f"export {id(self)}", lane="background")
        # A dialog deleted with its window takes its export along (no file is left).
        task = self._task
        self.destroyed.connect(lambda *_: task.cancel())

    def _replace_clicked(self) -> None:
        self._replace_ok = self.path()
        self.start()

    def cancel(self) -> None:
        """Stop the running export; the file is not written (nor left half-written)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def show_in_folder(self) -> None:
        """Open the folder of the written file in the system's file manager."""
        if self.export_result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.export_result.path.parent)))

    def _cancel_clicked(self) -> None:
        if self.running:
            self.cancel()
        else:
            self.reject()

    def reject(self) -> None:
        """Escape or the window's close button: stop a running export, then close (opened
        again, the dialog says it was cancelled)."""
        self.cancel()
        super().reject()

    # ------------------------------------------------------------------ the job

    async def _run(self, job: ExportJob) -> None:
        try:
            result = await job.run()
        except ExportError as exc:
            self._ended(f"Export failed. {exc}", error=True, signal=(self.failed, str(exc)))
            return
        except asyncio.CancelledError:
            self._ended(f"Export cancelled after {records(job.rows)}; nothing was saved as "
                        f"{job.path.name}.", signal=(self.cancelled, job.rows))
            raise
        except Exception as exc:
            # Not an error the export expects: show it here, and let the runner's error sink
            # (and log) have it too.
            self._ended(f"Export failed: {exc}", error=True, signal=(self.failed, str(exc)))
            raise
        if self._gone():
            return
        self.export_result = result
        self._progress.setRange(0, max(1, result.rows))
        self._progress.setValue(max(1, result.rows))
        self._show.show()
        self._ended(f"Exported {records(result.rows)} to {result.path}",
                    signal=(self.exported, result))

    def _gone(self) -> bool:
        """Deleted: the window went while the job wound down (its task outlives it)."""
        return not shiboken6.isValid(self)

    def _on_progress(self, rows: int, total: int | None) -> None:
        if self._gone():
            return
        if total:
            self._progress.setRange(0, total)
            self._progress.setValue(min(rows, total))
            self._say(f"{rows:,} of {records(total)} written…")
        else:
            self._progress.setRange(0, 0)  # busy: how many follow is not known
            self._say(f"{records(rows)} written…")

    def _ended(self, message: str, *, error: bool = False,
               signal: tuple[SignalInstance, object] | None = None) -> None:
        if self._gone():
            return
        if error or self.export_result is None:
            self._progress.setRange(0, 1)
            self._progress.setValue(0)
        self._set_running(False)
        self._say(message, error=error)
        if signal is not None:
            signal[0].emit(signal[1])

    def _say(self, message: str, *, error: bool = False) -> None:
        self._status.setText(message)
        self._status.setProperty("error", error)  # for a style sheet: ``[error="true"]``
        self._fit()

    def _fit(self) -> None:
        """Grow to show a message that wraps onto more lines (never shrink what the user
        made larger). Wrapped labels report their height per width, which a dialog's
        minimum size does not follow by itself."""
        layout = self._layout
        layout.activate()
        need = (layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth()
                else layout.totalSizeHint().height())
        if need > self.height():
            self.resize(self.width(), need)


def records(n: int) -> str:
    return f"{n:,} record{'s' if n != 1 else ''}"


def default_path(view: View, fmt: Format) -> Path:
    """``~/Documents/<view title>.<fmt>``: the title made safe as a file name."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    name = re.sub(r'[<>:"/\\|?*\x00-\x1f]+', " ", view.title or view.resource).strip(" .")
    return Path(folder or Path.home()) / f"{name or 'export'}.{fmt}"
