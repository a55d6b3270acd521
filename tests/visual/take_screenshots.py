"""Screenshots of the main window on the demo data, for the README and for review.

Run under a real X server (the xcb platform) or offscreen:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tests/visual/take_screenshots.py
    QT_SCALE_FACTOR=2 QT_QPA_PLATFORM=offscreen \
        .venv/bin/python tests/visual/take_screenshots.py --suffix -200

It starts the demo sandbox, opens the window as ``--demo`` does, selects a deal
that has custom values and a contact person, waits for the detail pane and its related tab, and
saves ``resources/screenshots/main-window<suffix>.png`` (the window as drawn, 1280 × 800
logical pixels), then a person's view after following the link, ``person<suffix>.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]


async def until(condition: Callable[[], object]) -> None:
    while not condition():  # noqa: ASYNC110 - polling Qt state, which has no asyncio event
        await asyncio.sleep(0.1)


async def shoot(out: Path, suffix: str) -> int:
    from explorer.app import DEMO_COLOUR, open_account, window_closed
    from explorer.core.accounts import Account
    from explorer.core.demo import DemoSandbox

    sandbox = DemoSandbox.start(size="small")
    demo = await asyncio.to_thread(sandbox.wait_ready, 60)
    try:
        # As --demo opens it.
        account = Account(name="Demo sandbox", base_url=demo.base_url, kind="sandbox",
                          colour=DEMO_COLOUR)
        window = open_account(account, demo.token)
        window.resize(1280, 800)
        window.move(0, 0)
        table = window.table.model
        await until(lambda: table.rowCount() >= 50)
        await asyncio.sleep(1.0)  # names and counts
        row = next(r for r in range(table.rowCount())
                   if (rec := table.record(r)) and rec.get("person_id")
                   and rec.get("org_id") and sum(
                       v is not None for v in (rec.get("custom_fields") or {}).values()) >= 6)
        window.table.table.selectRow(row)
        detail = window.detail
        await until(lambda: detail.fields_model.text_of("Contact person") not in (None, ""))
        detail.select_tab("activities")
        await asyncio.sleep(2.0)
        window.grab().save(str(out / f"main-window{suffix}.png"))
        record = table.record(row) or {}
        detail.follow("persons", record["person_id"])
        await asyncio.sleep(2.5)
        window.grab().save(str(out / f"person{suffix}.png"))
        window.close()
        await asyncio.wait_for(window_closed(window), 20)
    finally:
        await asyncio.to_thread(sandbox.stop)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    parser.add_argument("--suffix", default="")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    from explorer.qt.asyncqt import run

    return run(lambda: shoot(args.out, args.suffix), app)


if __name__ == "__main__":
    raise SystemExit(main())
