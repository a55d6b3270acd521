"""The app's icons: SVGs from ``resources/icons`` compiled into ``icons_rc`` (a Qt resource).

``resources/icons.qrc`` lists them; after changing an icon, regenerate the module with
``pyside6-rcc --format-version 1 resources/icons.qrc -o explorer/qt/icons_rc.py`` (a test
checks it is current).
"""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from explorer.qt import icons_rc

NAMES = ("accounts", "activities", "app", "archive", "back", "columns", "copy", "deals",
         "error", "export", "filter", "forward", "history", "info", "leads", "notes",
         "open-web", "organizations", "persons", "pipeline", "products", "refresh", "stage",
         "users", "warning")

assert icons_rc  # imported for its side effect: it registers the :/icons resources


@cache
def icon(name: str) -> QIcon:
    """The icon ``name`` (one of ``NAMES``); an unknown name raises ``KeyError``."""
    if name not in NAMES:
        raise KeyError(f"no icon {name!r}; icons: {', '.join(NAMES)}")
    return QIcon(f":/icons/{name}.svg")
