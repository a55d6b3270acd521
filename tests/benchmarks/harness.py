"""What the benchmark scripts share: a sandbox server process on a free loopback port."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


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
