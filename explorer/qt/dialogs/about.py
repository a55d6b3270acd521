"""Help → About: the version, what the app is, where its files are."""

from __future__ import annotations

from importlib import metadata

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from explorer.qt import icons


def version() -> str:
    """The installed package's version (pyproject's), or ``unknown`` when run from a tree
    that was never installed."""
    try:
        return metadata.version("pipedrive-explorer")
    except metadata.PackageNotFoundError:
        return "unknown"


class AboutDialog(QDialog):
    """The About box (non-modal; opened with ``open()``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Pipedrive Explorer")
        logo = QLabel(self)
        size = self.fontMetrics().height() * 4
        logo.setPixmap(icons.icon("app").pixmap(size, size))
        logo.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        text = QLabel(
            f"<h3>Pipedrive Explorer {version()}</h3>"
            "<p>Browse, search and safely bulk-edit a Pipedrive account.</p>"
            "<p>API tokens are kept in the system keychain, never in a file.</p>", self)
        text.setObjectName("aboutText")
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(logo)
        layout.addWidget(text)
        layout.addWidget(buttons)
