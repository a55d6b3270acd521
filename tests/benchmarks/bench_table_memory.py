"""Table memory: peak RSS of the app process with 100,000 deals loaded in the record table.

Run: ``.venv/bin/python tests/benchmarks/bench_table_memory.py [--size large] [--db PATH]``.

The same set-up as ``bench_ui_stall.py``: a sandbox server process on 127.0.0.1
(``--no-limits``) with the ``large`` data set in a temporary database file, and in this
process a ``QApplication`` on the qasync loop, a ``Session`` over real HTTP, a ``TaskRunner``
and a shown ``RecordTablePane`` (offscreen, 1280 × 800). The deals view is loaded page by page
(``fetchMore`` until the model has no more, each page's names fetched as in the app) until
every deal is in the table; then the names settle and the peak resident set size of this
process (``getrusage``: the high-water mark, so the transient peaks of parsing pages count)
is read. The RSS before the view was set is printed beside it, with the bytes per row that
the loaded rows added.

The ``large`` data set lists 83,082 deals that are not archived (the rest of its 100,000 are
archived), so the RSS that 100,000 rows would take at the measured bytes per row is printed
too (``projected_100k_mb``). The last line is the figure: ``peak_rss_mb`` (goal ≤ 300 MB)
and ``ratio_to_limit`` = the larger of the peak and the projection ÷ 300 MB.
"""

from __future__ import annotations

import asyncio
import resource
import time

from bench_ui_stall import View, loading, open_pane, run_on_sandbox, sandbox_parser

GOAL_MB = 300.0
TARGET_ROWS = 100_000


def rss_mb() -> float:
    """The current resident set size (``/proc/self/statm``), in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux


async def run(url: str, token: str) -> str:
    session, runner, pane = open_pane(url, token)
    model = pane.model
    try:
        await asyncio.sleep(0.2)
        before = rss_mb()
        started = time.perf_counter()
        pane.set_view(View("deals", "Deals"))
        while loading(pane) or model.canFetchMore():
            if not loading(pane):
                model.fetchMore()
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(1.0)  # the last pages' names
        rows = model.loaded_rows()
        now = rss_mb()
        peak = peak_rss_mb()
        per_row = (now - before) * 1e6 / max(rows, 1)
        # The large data set lists fewer than 100,000 deals that are not archived: what
        # 100,000 rows would take at the measured bytes per row is printed beside the peak,
        # and the ratio is taken on the larger of the two.
        projected = max(peak, before + per_row * TARGET_ROWS / 1e6)
        print(f"loaded {rows} deals in {elapsed:.1f} s; RSS before {before:.0f} MB, after "
              f"{now:.0f} MB ({per_row:.0f} bytes per row), peak {peak:.0f} MB; at "
              f"{TARGET_ROWS:,} rows {projected:.0f} MB")
        return (f"peak_rss_mb={peak:.0f} rows={rows} projected_100k_mb={projected:.0f} "
                f"ratio_to_limit={max(peak, projected) / GOAL_MB:.2f}")
    finally:
        await runner.shutdown()
        await session.close()


def main() -> None:
    run_on_sandbox(sandbox_parser(__doc__.splitlines()[0]).parse_args(), run)


if __name__ == "__main__":
    main()
