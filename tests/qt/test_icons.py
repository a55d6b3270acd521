"""The icons: every name loads, and the compiled resource module matches resources/icons."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QApplication

from explorer.qt import icons

ROOT = Path(__file__).resolve().parents[2]


def test_every_icon_renders(qapp: QApplication) -> None:
    for name in icons.NAMES:
        pixmap = icons.icon(name).pixmap(32, 32)
        assert not pixmap.isNull(), name
        assert pixmap.toImage().pixelColor(16, 16).isValid()


def test_the_compiled_resources_are_current(tmp_path: Path) -> None:
    listed = {p.stem for p in (ROOT / "resources" / "icons").glob("*.svg")}
    assert listed == set(icons.NAMES)
    rcc = Path(sys.executable).with_name("pyside6-rcc")
    out = tmp_path / "icons_rc.py"
    # Format 1 has no file times, so a fresh checkout compiles to the same bytes.
    subprocess.run([str(rcc), "--format-version", "1", str(ROOT / "resources" / "icons.qrc"),
                    "-o", str(out)],
                   check=True, cwd=ROOT)
    def body(path: Path) -> list[str]:
        return [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert body(out) == body(ROOT / "explorer" / "qt" / "icons_rc.py"), (
        "resources/icons changed: run pyside6-rcc --format-version 1 resources/icons.qrc "
        "-o explorer/qt/icons_rc.py")


def test_a_selected_row_draws_icons_in_the_highlighted_text_colour(qapp: QApplication) -> None:
    wanted = qapp.palette().color(QPalette.ColorRole.HighlightedText).rgb()
    for name in ("deals", "filter", "stage"):
        image = icons.icon(name).pixmap(32, 32, QIcon.Mode.Selected).toImage()
        drawn = {image.pixelColor(x, y).rgb() for x in range(32) for y in range(32)
                 if image.pixelColor(x, y).alpha() == 255}
        assert drawn == {wanted}, name  # every opaque pixel, none left grey
