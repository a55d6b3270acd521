"""Time to first rows: ``pipedrive-explorer --demo --smoke`` as a whole process, offscreen.

Run: ``.venv/bin/python tests/benchmarks/bench_first_rows.py [--runs 7]``.
Each run starts a fresh process (interpreter start, the demo sandbox child generating the
``small`` data set, Qt, the window, the first page of Deals over HTTP) and is timed from the
spawn to the moment the ``first_rows=… time_to_first_rows_s=…`` line arrives on its stdout;
the process must then exit 0 (the sandbox stopped). The app's own figure (from ``main()``)
is shown beside it. The last line is the figure: the median wall time and
``ratio_to_limit`` = median / 2.0 s (≤ 1 meets the goal).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

GOAL_S = 2.0
LINE = re.compile(r"first_rows=(\d+) time_to_first_rows_s=(\d+\.\d+)")


def one_run(env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    with subprocess.Popen([sys.executable, "-m", "explorer", "--demo", "--smoke"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        wall = time.perf_counter() - started
        _, err = proc.communicate(timeout=60)
    match = LINE.search(line)
    if proc.returncode != 0 or not match or int(match.group(1)) <= 0:
        raise SystemExit(f"smoke run failed (exit {proc.returncode}): {line!r} {err}")
    return wall, float(match.group(2))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
               "PIPEDRIVE_EXPLORER_CONFIG_DIR": os.path.join(tmp, "config"),
               "PIPEDRIVE_EXPLORER_LOG_DIR": os.path.join(tmp, "logs")}
        one_run(env)   # warm-up: the OS file cache, .pyc files
        walls, inner = [], []
        for i in range(args.runs):
            wall, own = one_run(env)
            walls.append(wall)
            inner.append(own)
            print(f"run {i + 1}: wall {wall:.3f} s (app's own figure {own:.2f} s)")
    median = statistics.median(walls)
    print(f"min {min(walls):.3f} s, max {max(walls):.3f} s, app's own median "
          f"{statistics.median(inner):.2f} s")
    print(f"time_to_first_rows_median_s={median:.3f} goal_s={GOAL_S} "
          f"ratio_to_limit={median / GOAL_S:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
