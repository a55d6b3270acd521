"""The limiter's overhead per request: GET of one deal, limits on vs ``--no-limits``.

Run: ``.venv/bin/python tests/benchmarks/bench_limiter.py [--requests 5000]``.
Both sandboxes serve the same demo store and are called in-process, straight through ASGI (no
HTTP client in between, so the limiter is a visible share of what is timed). Limits on means
Pipedrive's defaults (growth, API token) with a budget that never runs out; each sandbox's
frozen clock is moved 100 ms between requests (outside the timed call), so the burst window
holds a steady 20 entries (half of growth's 40) and never answers 429. Requests alternate
between the two sandboxes in blocks, so drift on the machine affects both alike. The last
line is the figure: the median per-request time with limits on minus the median with them off,
in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp, create_app
from explorer.sandbox.config import LimitConfig, SandboxConfig
from explorer.sandbox.demo import generate
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store

PATH = "/api/v2/deals/1"
STEP_S = 0.1
BLOCK = 100


def scope() -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": PATH, "raw_path": PATH.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("sandbox.test", 80),
        "headers": [(b"host", b"sandbox.test"), (b"x-api-token", DEFAULT_TOKEN.encode())],
    }


async def call(app: SandboxApp) -> tuple[int, dict[bytes, bytes]]:
    """One GET through the ASGI app; its status and headers."""
    sent: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.update(message)

    await app(scope(), receive, send)
    return sent["status"], dict(sent["headers"])


async def measure(apps: dict[str, SandboxApp], requests: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in apps}
    for app in apps.values():  # warm up: caches, first-use imports
        for _ in range(200):
            await call(app)
            app.state.clock.advance(STEP_S)
    gc.collect()
    for _ in range(requests // BLOCK):
        for name, app in apps.items():
            clock = app.state.clock
            for _ in range(BLOCK):
                started = time.perf_counter_ns()
                status, _ = await call(app)
                timings[name].append((time.perf_counter_ns() - started) / 1000)
                assert status == 200, status
                clock.advance(STEP_S)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000, help="GETs per configuration")
    args = parser.parse_args()

    store = Store()
    generate(store, size="small", seed=1)
    configs = {
        "limits_on": LimitConfig(budget=10**12),
        "no_limits": LimitConfig(enabled=False),
    }
    apps = {name: create_app(store, clock=Clock(frozen_at=datetime(2025, 3, 14, tzinfo=UTC)),
                             config=SandboxConfig(limits=limits))
            for name, limits in configs.items()}

    status, headers = asyncio.run(call(apps["limits_on"]))
    assert status == 200 and b"x-ratelimit-remaining" in headers, headers
    status, headers = asyncio.run(call(apps["no_limits"]))
    assert status == 200 and b"x-ratelimit-remaining" not in headers, headers

    timings = asyncio.run(measure(apps, args.requests))
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, values in timings.items():
        q = statistics.quantiles(values, n=20)
        print(f"{name:10s} n={len(values)} median={medians[name]:.1f} us "
              f"p5={q[0]:.1f} p95={q[-1]:.1f} us")
    stats = apps["limits_on"].state.stats
    assert stats.rate_limited == 0, "the benchmark must never meet a 429"
    print(f"limits_on charged {stats.tokens['getDeal']} tokens for {stats.requests['getDeal']} "
          f"requests, 0 rejected")
    store.close()
    print(f"limiter_overhead_median_us={medians['limits_on'] - medians['no_limits']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
