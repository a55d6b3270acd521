"""Sandbox benchmark on the ``large`` data set: generation time, 500-record page, single GET.

Run: ``.venv/bin/python tests/benchmarks/bench_sandbox.py [--size large] [--pages 60]``.
Latencies are measured over real HTTP against a sandbox server process on 127.0.0.1 (keep-alive
client), as the app would see them. The server runs with ``--no-limits``: this measures serving
speed, not Pipedrive's rate limits (``bench_limiter.py`` measures the limiter's cost). The last
line is the figure: each measurement divided by its goal (60 s, 100 ms, 10 ms);
``ratio_to_limit`` is the worst of the three (≤ 1 meets all).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from harness import sandbox_process

from explorer.sandbox.demo import generate
from explorer.sandbox.store import Store

GOALS = {"generate_s": 60.0, "page500_ms": 100.0, "get_ms": 10.0}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="large")
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--gets", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.sqlite3")
        store = Store(db)
        started = time.perf_counter()
        generate(store, size=args.size, seed=1)
        generate_s = time.perf_counter() - started
        deals = store.count("deals")
        store.close()
        print(f"generated {args.size}: {deals} deals in {generate_s:.1f} s")

        with (
            sandbox_process("--db", db, "--no-limits") as (url, token),
            httpx.Client(base_url=url, headers={"x-api-token": token}, timeout=30) as c,
        ):
            page_ms = []
            for sort in (("id", "asc"), ("update_time", "desc")):
                cursor = None
                for _ in range(args.pages // 2):
                    params = {"limit": 500, "sort_by": sort[0], "sort_direction": sort[1]}
                    if cursor:
                        params["cursor"] = cursor
                    t = time.perf_counter()
                    r = c.get("/api/v2/deals", params=params)
                    page_ms.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200 and len(r.json()["data"]) == 500
                    cursor = r.json()["additional_data"]["next_cursor"]
            rng = random.Random(1)
            get_ms = []
            for _ in range(args.gets):
                t = time.perf_counter()
                r = c.get(f"/api/v2/deals/{rng.randint(1, deals)}")
                get_ms.append((time.perf_counter() - t) * 1000)
                assert r.status_code in (200, 404)

    figures = {
        "generate_s": generate_s,
        "page500_ms": statistics.median(page_ms),
        "get_ms": statistics.median(get_ms),
    }
    ratios = {k: v / GOALS[k] for k, v in figures.items()}
    print("  ".join(f"{k}={v:.2f} (goal {GOALS[k]:g}, ratio {ratios[k]:.2f})"
                    for k, v in figures.items()))
    print(f"size={args.size} generate_s={figures['generate_s']:.1f} "
          f"page500_median_ms={figures['page500_ms']:.1f} get_median_ms={figures['get_ms']:.2f} "
          f"ratio_to_limit={max(ratios.values()):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
