"""Export throughput and memory: all deals of a data set to CSV and XLSX, against listing alone.

Run: ``PYTHONPATH=. .venv/bin/python tests/benchmarks/bench_export.py [--size medium]
[--rounds 3] [--limits]``.

``--limits`` runs the same against the growth plan's limits (40 requests per 2 s, the
governor pacing as it does for a real account) and prints the burst window's floor for the
export's requests: what the export costs a user on Pipedrive, where the name lookups'
requests, not the file, decide the time.

One sandbox server process on 127.0.0.1 serves the data set (``medium``: 10,000 deals) with
limits off (``--no-limits``: this measures the export's own cost, not the burst window's
pacing, which is the same for listing and export). Each measured run is a fresh Python
process (so its peak RSS is its own), which opens a ``Session`` on the sandbox, loads the deal
fields (the table has them before anyone exports) and then, timed:

- ``iterate`` (the floor): ``client.iterate("deals")`` to the end, 500 a page, counting
  records: what any export must at least spend to read every record;
- ``read``: the same pages with their names loaded (``NameCache.load_records``, cold), one
  page after the other: what an export that shows names instead of ids must spend before it
  formats or writes anything (about 95 more requests for the medium deals);
- ``csv`` / ``xlsx``: ``export_view`` of all deals with the default deal columns plus every
  custom field (21 columns), names loaded page by page from a cold name cache, written to a
  temporary folder.

Printed per mode: median seconds over the rounds, records, the file's size, and peak RSS
(``ru_maxrss``) with the process's RSS before the timed part (imports, session, fields).
"Memory stays flat" reads from the growth column: peak minus before, for 10,000 records. The
last line is the figure: each format's median time ÷ the median listing time
(``ratio_to_floor``; 1.0 would be an export that costs nothing over reading the records), and
÷ the median time to read the pages with their names (``ratio_to_read``: what formatting and
writing add; the export reads the next page while it writes, so it can come under 1.0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from harness import floor_s, sandbox_process

MODES = ("iterate", "read", "csv", "xlsx")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


async def child(mode: str, url: str, token: str, out: str,
                limits: bool = False) -> dict[str, Any]:
    from explorer.api import RateGovernor, lanes
    from explorer.core.accounts import Account
    from explorer.core.columns import default_columns
    from explorer.core.export import export_view
    from explorer.core.session import Session
    from explorer.core.views import View

    account = Account(name="bench", base_url=url, kind="sandbox", colour="#000000")
    # Limits off: no pacing either (the governor would otherwise pace to the lite plan's
    # documented window, as it must for a server that sends no rate-limit headers).
    session = Session.connect(account, token, governor=RateGovernor(paced=limits))
    try:
        fields = list(await session.fields("deals"))
        columns = default_columns("deals", fields) + [f for f in fields if f.is_custom]
        before = rss_mb()
        started = time.perf_counter()
        path = Path(out) / f"deals.{mode}"
        if mode == "iterate":
            with lanes.background():
                rows = 0
                async for _ in session.client.iterate("deals"):
                    rows += 1
        elif mode == "read":
            with lanes.background():
                rows = 0
                page = await session.client.fetch_page("deals", page_size=500)
                while True:
                    await session.names.load_records("deals", page.records, session.catalog)
                    rows += len(page.records)
                    if page.handle is None:
                        break
                    page = await session.client.fetch_page("deals", page_size=500,
                                                           after=page.handle)
        else:
            result = await export_view(session, View("deals", "Deals"), columns, path,
                                       mode)  # type: ignore[arg-type]
            rows = result.rows
        seconds = time.perf_counter() - started
        size = path.stat().st_size if mode in ("csv", "xlsx") else 0
        return {"mode": mode, "seconds": seconds, "rows": rows, "bytes": size,
                "columns": len(columns), "before_mb": before, "peak_mb": rss_mb()}
    finally:
        await session.close()


def measure(mode: str, url: str, token: str, limits: bool = False) -> dict[str, Any]:
    """One run in a fresh process, with the requests the sandbox served for it."""
    with httpx.Client(base_url=url, headers={"x-api-token": token}, timeout=30) as admin:
        admin.post("/_sandbox/stats/reset").raise_for_status()
        admin.post("/_sandbox/limits/reset").raise_for_status()
        with tempfile.TemporaryDirectory(prefix="bench-export-") as out:
            done = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--url", url, "--token", token,
                 "--out", out, *(["--limits"] if limits else [])],
                capture_output=True, text=True, check=True)
        stats = admin.get("/_sandbox/stats").json()["stats"]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["requests"] = stats["requests"]
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="medium")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=MODES)
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--out")
    parser.add_argument("--limits", action="store_true",
                        help="the growth plan's limits on, requests paced by the governor")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.url, args.token, args.out,
                                           args.limits))))
        return 0
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    limits = () if args.limits else ("--no-limits",)
    with sandbox_process("--size", args.size, *limits) as (url, token):
        print(f"sandbox --size {args.size} {' '.join(limits) or '(growth plan limits)'} at "
              f"{url}; {args.rounds} rounds, one fresh process per run")
        for _ in range(args.rounds):
            for mode in MODES:
                runs[mode].append(measure(mode, url, token, args.limits))
    median: dict[str, float] = {}
    for mode in MODES:
        done = runs[mode]
        median[mode] = statistics.median(r["seconds"] for r in done)
        peak = max(r["peak_mb"] for r in done)
        growth = max(r["peak_mb"] - r["before_mb"] for r in done)
        first = done[0]
        print(f"{mode:8} {median[mode]:6.2f} s  {first['rows']:>7,} records  "
              f"{first['columns']} columns  {first['bytes'] / 1e6:6.2f} MB file  "
              f"peak RSS {peak:6.1f} MB (before {first['before_mb']:.1f} MB, "
              f"growth {growth:.1f} MB)")
        print(f"{'':8} requests: {first['requests']}")
    if args.limits:
        requests = runs["csv"][0]["requests"]["total"]
        print(f"{'':8} burst floor for the export's {requests} requests at 40 per 2 s: "
              f"{floor_s(requests, 40):.1f} s")
    floor, read = median["iterate"], median["read"]
    print(f"export_csv_s={median['csv']:.2f} export_xlsx_s={median['xlsx']:.2f} "
          f"iterate_s={floor:.2f} read_with_names_s={read:.2f} "
          f"ratio_to_read csv={median['csv'] / read:.2f} xlsx={median['xlsx'] / read:.2f} "
          f"ratio_to_floor csv={median['csv'] / floor:.2f} xlsx={median['xlsx'] / floor:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
