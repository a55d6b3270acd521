"""What the benchmark scripts share: a sandbox server process on a free loopback port, the ids
of the deals a run works on, and resetting the sandbox's counters before the timed part."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from explorer.api import PipedriveClient


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
