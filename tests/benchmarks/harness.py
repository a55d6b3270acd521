"""What the benchmark scripts share: a sandbox server process on a free loopback port, the ids
of the deals a run works on, resetting the sandbox's counters before the timed part, and the
floor the burst limit puts under a run."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient, RateGovernor

WINDOW_S = 2.0  # the burst and the search window: requests per rolling 2 s per token


@contextmanager
def sandbox_process(*args: str) -> Iterator[tuple[str, str]]:
    """``pipedrive-explorer sandbox --port 0 ARGS`` running: its URL and API token."""
    with subprocess.Popen(
        [sys.executable, "-m", "explorer.app", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.match(r"Sandbox listening on (\S+) token (\S+)", line)
            assert match, f"unexpected ready line {line!r}"
            yield match.group(1), match.group(2)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


async def deal_ids(client: PipedriveClient, count: int) -> list[int]:
    """The ids of the first ``count`` deals (by id); exits if the data set has fewer."""
    ids: list[int] = []
    async for deal in client.iterate("deals", params={"sort_by": "id"}):
        ids.append(deal["id"])
        if len(ids) == count:
            break
    if len(ids) < count:
        raise SystemExit(f"only {len(ids)} deals in the data set; use --size medium")
    return ids


async def reset_counters(admin: httpx.AsyncClient) -> None:
    """Empties the limiter's windows and the request stats through the admin endpoint, so
    what was spent before (reading the ids) counts nothing in the timed run."""
    (await admin.post("/_sandbox/limits/reset")).raise_for_status()
    (await admin.post("/_sandbox/stats/reset")).raise_for_status()


@asynccontextmanager
async def admin_and_deals(url: str, token: str,
                          count: int) -> AsyncIterator[tuple[httpx.AsyncClient, list[int]]]:
    """An admin HTTP client on the sandbox and the ids of its first ``count`` deals, read
    with a governed session before the counters are reset (so reading them spends nothing
    of the timed run's window)."""
    async with httpx.AsyncClient(base_url=url, headers={"x-api-token": token},
                                 timeout=30) as admin:
        async with PipedriveClient(ClientConfig(base_url=url), ApiTokenProvider(token),
                                   governor=RateGovernor()) as client:
            ids = await deal_ids(client, count)
        await reset_counters(admin)
        yield admin, ids


def floor_s(requests: int, burst: int) -> float:
    """The earliest the last of ``requests`` can start at ``burst`` per window (the burst or
    the search limit): the first window is free, and each following ``burst`` go as the
    window frees them."""
    return (-(-requests // burst) - 1) * WINDOW_S
