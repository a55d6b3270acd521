"""UI stall: the longest gap between ticks of a 5 ms timer while the record table is scrolled
to the end of 100,000 deals.

Run: ``.venv/bin/python tests/benchmarks/bench_ui_stall.py [--size large] [--db PATH]``.

A sandbox server process on 127.0.0.1 (``--no-limits``; its own process, so its CPU is not the
UI's) serves the ``large`` data set (100,000 deals), generated once per run into a temporary
``--db`` file (about half a minute; ``--db PATH`` keeps and reuses one). This process runs the
app's real pieces offscreen: a ``QApplication`` on the qasync loop, a ``Session`` over real
HTTP, a ``TaskRunner`` and a shown ``RecordTablePane`` (1280 × 800). A driver scrolls the
table to the bottom every 20 ms, as a user dragging the scroll bar would; the view asks the
model for more (``fetchMore``) each time it reaches the end, 500 deals a page, with the names
of each page's people, organizations and owners fetched in batches. A ``QTimer`` ticking every
5 ms records the wall-clock gap between its ticks from the moment the view is set until every
deal is in the table.

Once the pane is built, the app's ``freeze_startup_objects()`` runs, as ``explorer.app`` does
after opening a window: a full collection of the cycle collector then walks only what was made
since start-up (without it, those passes are the longest pauses: 25-70 ms on this 2-core
machine; ``--no-gc-freeze`` shows them).

The last line is the figure: ``max_gap_ms`` (goal < 50 ms), the row count, the p99 gap, the
time it took, and ``ratio_to_limit`` = max gap ÷ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from harness import sandbox_process
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from explorer.app import freeze_startup_objects
from explorer.core.accounts import Account
from explorer.core.session import Session
from explorer.core.views import View
from explorer.qt.asyncqt import TaskRunner, new_loop
from explorer.qt.models.record_table import RowState
from explorer.qt.widgets.record_table import RecordTablePane

GOAL_MS = 50.0
TICK_MS = 5
SCROLL_EVERY_S = 0.02


@contextmanager
def large_sandbox(size: str, db: str | None) -> Iterator[tuple[str, str]]:
    """A sandbox process with ``size`` data in a database file (a temporary one unless
    ``db`` is given): its URL and token."""
    with tempfile.TemporaryDirectory(prefix="bench-table-") as tmp:
        path = db or str(Path(tmp) / "sandbox.db")
        started = time.perf_counter()
        with sandbox_process("--size", size, "--no-limits", "--db", path) as (url, token):
            print(f"sandbox ready in {time.perf_counter() - started:.1f} s ({size}, {path})",
                  file=sys.stderr)
            yield url, token


def open_pane(url: str, token: str) -> tuple[Session, TaskRunner, RecordTablePane]:
    account = Account(name="Benchmark", base_url=url, kind="sandbox", colour="#8250df")
    session = Session.connect(account, token)
    runner = TaskRunner()
    settings = QSettings(str(Path(tempfile.mkdtemp(prefix="bench-settings-")) / "s.ini"),
                         QSettings.Format.IniFormat)
    pane = RecordTablePane(session, runner, settings)
    pane.resize(1280, 800)
    pane.show()
    return session, runner, pane


def loading(pane: RecordTablePane) -> bool:
    model = pane.model
    return model.rowCount() == 0 or model.row_state(model.rowCount() - 1) == RowState.LOADING


async def scroll_to_the_end(pane: RecordTablePane) -> None:
    model = pane.model
    while loading(pane) or model.canFetchMore():
        if model.row_state(model.rowCount() - 1) == RowState.ERROR:
            raise SystemExit(f"a page failed: {model.text(model.rowCount() - 1, 0)}")
        pane.table.scrollToBottom()
        await asyncio.sleep(SCROLL_EVERY_S)


async def run(url: str, token: str, freeze: bool = False) -> str:
    session, runner, pane = open_pane(url, token)
    if freeze:
        freeze_startup_objects()  # what explorer.app does once a window is open
    gaps: list[float] = []
    last = [0.0]

    def tick() -> None:
        now = time.perf_counter()
        if last[0]:
            gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    try:
        await asyncio.sleep(0.2)  # the window is painted before the clock starts
        timer.start()
        started = time.perf_counter()
        pane.set_view(View("deals", "Deals"))
        await scroll_to_the_end(pane)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.5)  # the last page's names
        timer.stop()
        rows = pane.model.loaded_rows()
        ordered = sorted(gaps)
        worst = ordered[-1] * 1000
        p99 = ordered[int(0.99 * (len(ordered) - 1))] * 1000
        print(f"scrolled to row {rows} in {elapsed:.1f} s; {len(gaps)} ticks of {TICK_MS} ms, "
              f"p99 gap {p99:.1f} ms, longest {worst:.1f} ms")
        return (f"max_gap_ms={worst:.1f} rows={rows} p99_gap_ms={p99:.1f} "
                f"elapsed_s={elapsed:.1f} gc_freeze={'on' if freeze else 'off'} "
                f"ratio_to_limit={worst / GOAL_MS:.2f}")
    finally:
        await runner.shutdown()
        await session.close()


def sandbox_parser(description: str) -> argparse.ArgumentParser:
    """The options every table benchmark takes: the data set's size and a database to keep."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", default="large", choices=("small", "medium", "large"))
    parser.add_argument("--db", help="a sandbox database file to create or reuse")
    return parser


def run_on_sandbox(args: argparse.Namespace,
                   measure: Callable[[str, str], Awaitable[str]]) -> None:
    """Start the sandbox ``args`` ask for, run ``measure(url, token)`` on a qasync loop, and
    print the figure it returns (last, as every benchmark does)."""
    app = QApplication.instance() or QApplication([])
    with large_sandbox(args.size, args.db) as (url, token):
        loop = new_loop(app)  # type: ignore[arg-type]
        try:
            figure = loop.run_until_complete(measure(url, token))
        finally:
            loop.close()
    print(figure)


def main() -> None:
    parser = sandbox_parser(__doc__.splitlines()[0])
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="skip the app's gc.freeze() of start-up objects (to see the "
                             "collector's pauses)")
    args = parser.parse_args()
    run_on_sandbox(args, lambda url, token: run(url, token, args.gc_freeze))


if __name__ == "__main__":
    main()
