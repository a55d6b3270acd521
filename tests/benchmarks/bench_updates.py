"""Updates at the limit: 1,000 single-record PATCHes of deals at the premium plan.

Run: ``.venv/bin/python tests/benchmarks/bench_updates.py [--count 1000] [--size medium]``.

A sandbox server process on 127.0.0.1 (``--plan premium``: 100 requests per rolling 2 s per
API token) serves the demo data. The ids of the first ``count`` deals are read first (then
the limiter's windows are reset through the admin endpoint, so the listing spends nothing of
the timed run's window); then one ``PipedriveClient`` session with a ``RateGovernor`` launches
all the PATCHes at once (``asyncio.gather``), each changing one deal's title, and the
governor paces them. The floor is what the limit allows: the first window is free (the
first 100 go at once into an empty window) and each following 100 as the window frees them,
so the last hundred start no earlier than ``(count / 100 - 1) × 2 s`` (18 s for 1,000) and
the run cannot end before that. (Dividing by ``count / 100 × 2 s`` = 20 s instead flattered
the figure by 10 %.)

``--margin`` and ``--max-skew`` set the governor's accounting (see ``RateGovernor``): a
request holds its place until a window after its answer (``max_skew`` unset), because the
server counts it on arrival; ``--max-skew 0`` counts each request from its send time
instead, which is how arrival jitter turns into 429s (measured on loopback: 1 to 45 × 429
per run with margins of 0–20 ms).
The last line is the figure: elapsed, floor, their ratio (goal: close to 1) and the 429s
the sandbox sent (goal 0).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from harness import WINDOW_S, admin_and_deals, floor_s, sandbox_process

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient
from explorer.api.governor import RateGovernor

PREMIUM_BURST = 100


async def run(url: str, token: str, count: int, margin: float,
              max_skew: float | None) -> str:
    config = ClientConfig(base_url=url)
    auth = ApiTokenProvider(token)
    async with admin_and_deals(url, token, count) as (admin, ids):
        governor = RateGovernor(max_in_flight=config.max_in_flight, margin=margin,
                                max_skew=max_skew)
        async with PipedriveClient(config, auth, governor=governor) as client:
            started = time.perf_counter()
            updated = await asyncio.gather(*(
                client.update("deals", deal_id, {"title": f"Bench update {n}"})
                for n, deal_id in enumerate(ids)))
            elapsed = time.perf_counter() - started
        assert [deal["id"] for deal in updated] == ids
        stats = (await admin.get("/_sandbox/stats")).json()["stats"]

    floor = floor_s(count, PREMIUM_BURST)  # the last batch's earliest start
    limited = stats["rate_limited"]
    print(f"{count} PATCH /api/v2/deals/{{id}} at premium ({PREMIUM_BURST} per {WINDOW_S:g} s),"
          f" max_in_flight={config.max_in_flight}, margin={margin:g} s, "
          f"max_skew={max_skew} s")
    print(f"  sandbox: {stats['requests']['total']} requests, statuses {stats['statuses']}, "
          f"{stats['blocked']} blocked; client: {client.usage!r}")
    print(f"  throughput {count / elapsed:.1f} requests/s (limit {PREMIUM_BURST / WINDOW_S:g}/s)")
    if limited:
        print("FAILED: the governor earned 429s", file=sys.stderr)
    return (f"elapsed_s={elapsed:.2f} floor_s={floor:g} ratio_to_limit={elapsed / floor:.3f} "
            f"rate_limited={limited}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", default="medium",
                        help="demo data: small (824 deals not archived) or medium")
    parser.add_argument("--margin", type=float, default=RateGovernor().margin)
    parser.add_argument("--max-skew", type=float, default=RateGovernor().max_skew,
                        help="cap the wait for an answer (default: none)")
    args = parser.parse_args()
    if args.count <= PREMIUM_BURST:
        parser.error(f"--count must exceed one window ({PREMIUM_BURST}) for a floor above 0")
    with sandbox_process("--plan", "premium", "--size", args.size) as (url, token):
        print(f"sandbox --plan premium --size {args.size} at {url}")
        figure = asyncio.run(run(url, token, args.count, args.margin, args.max_skew))
    print(figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
