"""The embedded demo sandbox, run as a child process so its CPU never holds the UI thread.

``DemoSandbox.start(size=, db=)`` launches ``python -m explorer sandbox --port 0 …`` (the
frozen app runs its own executable with ``sandbox …``) and returns at once, so the sandbox
generates its data while the window's imports run. ``wait_ready()`` blocks until the child
prints ``Sandbox listening on URL token TOKEN`` (call it in a worker thread from an event
loop) or raises ``DemoFailed`` with what the child said on stderr. ``stop()`` ends it: SIGTERM
(the sandbox closes its database and exits 0), a wait, then a kill; it blocks too, so the UI
runs it in a thread. The child is also stopped at interpreter exit (``atexit``) and, on Linux,
dies with its parent even when the parent is killed (``PR_SET_PDEATHSIG``), so a crash leaves
no orphan.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

READY = re.compile(r"^Sandbox listening on (\S+) token (\S+)$")
SIZES = ("small", "medium", "large")
DEFAULT_READY_TIMEOUT_S = 120.0


class DemoFailed(Exception):
    """The sandbox did not start; the message says why (the child's last stderr lines)."""


@dataclass(frozen=True)
class DemoEndpoint:
    """Where the started sandbox listens.

    Attributes:
        base_url: its origin (``http://127.0.0.1:PORT``).
        token: the API token it accepts (the demo token; not a secret).
    """

    base_url: str
    token: str


def sandbox_command(args: Sequence[str]) -> list[str]:
    """The command line that runs ``pipedrive-explorer sandbox ARGS`` in a child process."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "sandbox", *args]
    return [sys.executable, "-m", "explorer", "sandbox", *args]


def _death_signal() -> Callable[[], None] | None:
    """Linux: a function for the child (between fork and exec) asking the kernel to send it
    SIGTERM when the parent dies, even by SIGKILL. libc is loaded here, in the parent: the
    child of a threaded process must not load libraries between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):   # best effort: atexit still covers normal exits
        return None

    def set_death_signal() -> None:  # pragma: no cover - runs in the child
        prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG

    return set_death_signal


class DemoSandbox:
    """One demo sandbox child process.

    Attributes:
        process: the child.
        endpoint: where it listens, once ready (else None).
    """

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.endpoint: DemoEndpoint | None = None
        self._stderr: deque[str] = deque(maxlen=20)
        self._ready = threading.Event()
        self._stopped = False
        self._stdout_ended = False
        self._lock = threading.Lock()
        self._readers = [
            threading.Thread(target=self._read_stdout, name="demo-stdout", daemon=True),
            threading.Thread(target=self._read_stderr, name="demo-stderr", daemon=True)]
        for reader in self._readers:
            reader.start()
        atexit.register(self.stop)

    @classmethod
    def start(cls, *, size: str = "small", db: str | None = None,
              extra: Sequence[str] = ()) -> DemoSandbox:
        """Launch the sandbox on a free loopback port; returns at once."""
        args = ["--host", "127.0.0.1", "--port", "0", "--size", size]
        if db:
            args += ["--db", db]
        command = sandbox_command([*args, *extra])
        log.info("starting the demo sandbox: size %s%s", size, f", database {db}" if db else "")
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1,
            preexec_fn=_death_signal())
        return cls(process)

    def _read_stdout(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        for line in stream:
            match = READY.match(line.strip())
            if match and self.endpoint is None:
                self.endpoint = DemoEndpoint(match.group(1), match.group(2))
                self._ready.set()
        self._stdout_ended = True
        self._ready.set()   # the child ended (or closed stdout): wake the waiter

    def _read_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        for line in stream:
            self._stderr.append(line.rstrip())
            log.info("sandbox: %s", line.rstrip())

    def wait_ready(self, timeout: float = DEFAULT_READY_TIMEOUT_S) -> DemoEndpoint:
        """Block until the sandbox accepts connections; ``DemoFailed`` if it exits first or
        does not answer within ``timeout`` seconds (it is stopped then)."""
        started = time.monotonic()
        self._ready.wait(timeout)
        if self.endpoint is not None:
            log.info("demo sandbox ready at %s after %.2f s", self.endpoint.base_url,
                     time.monotonic() - started)
            return self.endpoint
        if self._stdout_ended:   # the child closed its stdout: it is exiting
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        if self.process.poll() is None:
            self.stop()
            raise DemoFailed(f"The demo sandbox did not start within {timeout:g} s.")
        self.stop()        # reaps the child and reads its last stderr lines
        said = " ".join(self._stderr).strip() or f"exit status {self.process.returncode}"
        raise DemoFailed(f"The demo sandbox did not start: {said}")

    def stop(self, timeout: float = 10.0) -> int | None:
        """End the child: SIGTERM, wait up to ``timeout`` s, then kill. Blocks; safe to call
        twice and from any thread. Returns its exit status."""
        with self._lock:
            if self._stopped:
                return self.process.returncode
            self._stopped = True
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning("the demo sandbox did not stop within %g s; killing it", timeout)
                self.process.kill()
                self.process.wait()
        for reader in self._readers:      # they end at EOF, now the child is gone
            reader.join(timeout=2)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        log.info("demo sandbox stopped (exit status %s)", self.process.returncode)
        return self.process.returncode
