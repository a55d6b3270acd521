"""The app's icons: SVGs from ``resources/icons`` compiled into ``icons_rc`` (a Qt resource).

``resources/icons.qrc`` lists them; after changing an icon, regenerate the module with
``pyside6-rcc --format-version 1 resources/icons.qrc -o explorer/qt/icons_rc.py`` (a test
checks it is current).
"""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QGuiApplication, QIcon, QPainter, QPalette

from explorer.qt import icons_rc

NAMES = ("accounts", "activities", "app", "archive", "back", "columns", "copy", "deals",
         "error", "export", "filter", "forward", "history", "info", "leads", "notes",
         "open-web", "organizations", "persons", "pipeline", "products", "refresh", "stage",
         "users", "warning")

assert icons_rc  # imported for its side effect: it registers the :/icons resources


# Sizes drawn for the selected state: a tree row at 100-200 %, a toolbar at 100-200 %.
_SELECTED_SIZES = (16, 20, 24, 32, 40, 48)


@cache
def icon(name: str) -> QIcon:
    """The icon ``name`` (one of ``NAMES``); an unknown name raises ``KeyError``. Selected
    rows draw it in the highlighted-text colour, so it stays visible on the highlight."""
    if name not in NAMES:
        raise KeyError(f"no icon {name!r}; icons: {', '.join(NAMES)}")
    source = QIcon(f":/icons/{name}.svg")
    if name == "app":
        return source
    result = QIcon(source)
    colour = QGuiApplication.palette().color(QPalette.ColorRole.HighlightedText)
    for size in _SELECTED_SIZES:
        pixmap = source.pixmap(size, size)
        painter = QPainter(pixmap)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.fillRect(pixmap.rect(), colour)
        painter.end()
        result.addPixmap(pixmap, QIcon.Mode.Selected)
    return result
