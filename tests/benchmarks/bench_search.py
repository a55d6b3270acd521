"""Search pacing: 30 itemSearch requests fired at once through one governed client session.

Run: ``.venv/bin/python tests/benchmarks/bench_search.py [--count 30] [--size small]``.

A sandbox server process on 127.0.0.1 with Pipedrive's default limits (growth plan, API token)
serves the demo data. One ``PipedriveClient`` session with a ``RateGovernor`` launches all the
searches at once (``asyncio.gather``, each ``GET /api/v2/itemSearch`` with another term); the
governor paces them in the search window, 10 requests per rolling 2 s on every plan, counted
apart from the burst window.

The floor is what the limit allows: the first ten go at once into an empty window and each
following ten as the window frees them, so the last ten start no earlier than
``(count / 10 - 1) × 2 s`` (4 s for 30) and the run cannot end before that. (The issue first
divided by 6 s, the sustained rate of 5 per second; against that a correct run scored 0.69,
which is 1.03 against the true floor.) Goal: ratio close to 1 (the rest is the round trip of
each window cycle) with 0 × 429. The last line is the figure: elapsed, floor, their ratio
and the 429s the sandbox sent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import httpx
from harness import WINDOW_S, floor_s, sandbox_process

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient
from explorer.api.governor import RateGovernor

SEARCH_LIMIT = 10  # per rolling WINDOW_S, like the burst window
TERMS = ("Renewal", "Atlas", "Cobalt", "Data migration", "Training", "Wavecrest", "Energy",
         "Architects", "Retail", "Proof of concept", "Seat expansion", "Pinecrest", "Nordic",
         "Holding", "Group")


async def run(url: str, token: str, count: int) -> str:
    config = ClientConfig(base_url=url)
    async with httpx.AsyncClient(base_url=url, headers={"x-api-token": token},
                                 timeout=30) as admin:
        (await admin.post("/_sandbox/stats/reset")).raise_for_status()
        governor = RateGovernor(max_in_flight=config.max_in_flight)
        async with PipedriveClient(config, ApiTokenProvider(token), governor=governor) as client:
            started = time.perf_counter()
            found = await asyncio.gather(*(client.search(TERMS[n % len(TERMS)])
                                           for n in range(count)))
            elapsed = time.perf_counter() - started
        stats = (await admin.get("/_sandbox/stats")).json()["stats"]

    floor = floor_s(count, SEARCH_LIMIT)  # the last batch's earliest start
    limited = stats["rate_limited"]
    print(f"{count} GET /api/v2/itemSearch at once ({SEARCH_LIMIT} per {WINDOW_S:g} s), "
          f"{sum(len(items) for items in found)} items found")
    print(f"  sandbox: {stats['requests']['total']} requests, statuses {stats['statuses']}, "
          f"{stats['blocked']} blocked; client: {client.usage!r}")
    print(f"  floor: the last {SEARCH_LIMIT} can start no earlier than {floor:g} s; against "
          f"the sustained rate ({count / (SEARCH_LIMIT / WINDOW_S):g} s) the ratio would be "
          f"{elapsed / (count / (SEARCH_LIMIT / WINDOW_S)):.3f}")
    if limited:
        print("FAILED: the governor earned 429s", file=sys.stderr)
    return (f"elapsed_s={elapsed:.2f} floor_s={floor:g} ratio_to_limit={elapsed / floor:.3f} "
            f"rate_limited={limited}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--size", default="small", help="demo data: small or medium")
    args = parser.parse_args()
    if args.count <= SEARCH_LIMIT:
        parser.error(f"--count must exceed one window ({SEARCH_LIMIT}) for a floor above 0")
    with sandbox_process("--size", args.size) as (url, token):
        print(f"sandbox --size {args.size} at {url} (growth plan; search: 10 per 2 s)")
        figure = asyncio.run(run(url, token, args.count))
    print(figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
