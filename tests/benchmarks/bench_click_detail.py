"""Click to detail: from a table selection to the detail pane filled, on a sandbox with a
100 ms round trip.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_click_detail.py
[--clicks 20] [--latency-ms 100]``.

A sandbox server process on 127.0.0.1 serves the ``small`` demo data at Pipedrive's default
limits; a ``latency`` fault rule (``latency_ms`` on every API request, as ``--fault
latency:probability=1,latency_ms=100``) holds each answer back as a round trip to Pipedrive
would. One ``Session`` (real HTTP, the app's client and governor) first does what the table
has done by the time a user selects a row: the deal fields and the first page of 50 deals with
their names. A ``DetailPane`` (offscreen, on the qasync loop) is then asked
``show_record("deals", id, record)`` with the table's cached record, and the time is taken
until its ``loaded`` signal: the fields shown, the fresh GET applied and the names resolved.
The limiter's windows are reset (admin endpoint, untimed) before each click, and each click
waits for the visible related tab to settle first, so clicks do not queue behind each other.

- **round trip**: the median of plain ``client.get("deals", id)`` calls on the same session.
- **warm**: names of the page already cached (the table loaded them): the GET alone.
- **cold names**: the person and organization names of the deal forgotten before the click:
  the pane asks for them while the GET is under way (in parallel, not after it).
- **first click**: a fresh session with no fields and no names (the worst case: the fields
  and the names of custom references in series after them); printed, not the figure.

The last line is the figure: ``click_to_detail_ms`` is the median of the cold-names clicks
(the stricter of the two), ``ratio_to_limit`` = measured / (round trip + 50 ms); goal ≤ 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import httpx
from harness import sandbox_process
from PySide6.QtWidgets import QApplication

from explorer.core.accounts import Account
from explorer.core.session import Session
from explorer.core.views import View
from explorer.qt.asyncqt import TaskRunner, new_loop
from explorer.qt.widgets.detail_pane import DetailPane

SLACK_MS = 50


class Bench:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.admin = httpx.AsyncClient(base_url=url, headers={"x-api-token": token},
                                       timeout=30)

    def session(self) -> Session:
        return Session.connect(Account("bench", self.url, "sandbox"), self.token)

    async def latency(self, latency_ms: int) -> None:
        added = await self.admin.post("/_sandbox/faults", json={
            "kind": "latency", "probability": 1, "latency_ms": latency_ms})
        added.raise_for_status()

    async def fresh_windows(self) -> None:
        (await self.admin.post("/_sandbox/limits/reset")).raise_for_status()

    async def as_the_table(self, session: Session) -> list[dict[str, Any]]:
        """Fields and the first page of deals with their names, as the table loads them."""
        await session.fields("deals")
        page = await session.source.fetch_page(View("deals", "Deals"), size=50)
        await session.names.load_records("deals", page.records, session.catalog)
        return [dict(r) for r in page.records]

    async def round_trip(self, session: Session, ids: list[int]) -> float:
        times = []
        for deal_id in ids[:10]:
            await self.fresh_windows()
            started = time.perf_counter()
            await session.client.get("deals", deal_id)
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    async def click(self, pane: DetailPane, record: dict[str, Any]) -> float:
        await self.fresh_windows()
        done: asyncio.Future[float] = asyncio.get_event_loop().create_future()

        def loaded(resource: str, record_id: Any) -> None:
            if record_id == record["id"] and not done.done():
                done.set_result(time.perf_counter())

        pane.loaded.connect(loaded)
        started = time.perf_counter()
        pane.show_record("deals", record["id"], record)
        try:
            finished = await asyncio.wait_for(done, 30)
        finally:
            pane.loaded.disconnect(loaded)
        await self.settle(pane)
        return (finished - started) * 1000

    async def settle(self, pane: DetailPane) -> None:
        """Wait for the visible related tab's load, so the next click starts alone."""
        tab = pane.current_tab()
        for _ in range(300):
            if tab is None or tab.state in ("rows", "empty", "error"):
                break
            await asyncio.sleep(0.01)


def ms(values: list[float]) -> str:
    return (f"median {statistics.median(values):.0f} ms (min {min(values):.0f}, "
            f"max {max(values):.0f}, n={len(values)})")


async def run(url: str, token: str, clicks: int, latency_ms: int) -> str:
    bench = Bench(url, token)
    runner = TaskRunner()
    try:
        await bench.latency(latency_ms)
        session = bench.session()
        records = await bench.as_the_table(session)
        rtt = await bench.round_trip(session, [r["id"] for r in records])
        pane = DetailPane(session, runner)
        pane.resize(900, 900)
        pane.show()
        await bench.click(pane, records[-1])  # warm up: imports, first paint
        warm = [await bench.click(pane, r) for r in records[:clicks]]
        cold = []
        for record in records[clicks:2 * clicks]:
            session.names.forget("person")
            session.names.forget("organization")
            cold.append(await bench.click(pane, record))
        await runner.shutdown()
        await session.close()

        runner = TaskRunner()
        first_session = bench.session()  # nothing loaded: fields and names in the click
        first_pane = DetailPane(first_session, runner)
        first = await bench.click(first_pane, records[0])
        await runner.shutdown()
        await first_session.close()
        stats = (await bench.admin.get("/_sandbox/stats")).json()["stats"]
    finally:
        await runner.shutdown()
        await bench.admin.aclose()

    limit = rtt + SLACK_MS
    figure = statistics.median(cold)
    print(f"round trip (plain client.get of a deal, latency_ms={latency_ms}): {rtt:.0f} ms; "
          f"limit = round trip + {SLACK_MS} ms = {limit:.0f} ms")
    print(f"  warm (names cached by the table):        {ms(warm)}")
    print(f"  cold names (person, org forgotten):      {ms(cold)}")
    print(f"  first click of a fresh session (no fields, no names): {first:.0f} ms "
          f"({first / rtt:.1f} round trips)")
    print(f"  sandbox: 429s {stats['rate_limited']}")
    if figure > limit:
        print(f"FAILED: click to detail {figure:.0f} ms > {limit:.0f} ms", file=sys.stderr)
    return (f"click_to_detail_ms={figure:.0f} warm_ms={statistics.median(warm):.0f} "
            f"first_click_ms={first:.0f} round_trip_ms={rtt:.0f} "
            f"ratio_to_limit={figure / limit:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--size", default="small")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    with sandbox_process("--size", args.size) as (url, token):
        print(f"sandbox --size {args.size} at {url} (growth plan, API token limits)")
        loop = new_loop(app)  # type: ignore[arg-type]
        try:
            figure = loop.run_until_complete(run(url, token, args.clicks, args.latency_ms))
        finally:
            loop.close()
    print(figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
