"""The sandbox CLI end to end: a real server on 127.0.0.1, persistence, clean SIGTERM stop."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

READY = re.compile(r"^Sandbox listening on (http://127\.0\.0\.1:(\d+)) token (\S+)$")


@contextmanager
def sandbox_process(
    *args: str, command: str = "sandbox"
) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    with subprocess.Popen(
        [sys.executable, "-m", "explorer.app", command, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            match = READY.match(line)
            if not match:
                proc.kill()
                _, err = proc.communicate(timeout=10)
                pytest.fail(f"unexpected ready line {line!r}; stderr: {err}")
            assert int(match.group(2)) > 0
            yield proc, match.group(1), match.group(3)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=20)


def test_serves_on_a_free_port_and_stops_cleanly_on_sigterm() -> None:
    with sandbox_process("--token", "cli-test-token") as (proc, url, token):
        assert token == "cli-test-token"
        me = httpx.get(f"{url}/api/v1/users/me", headers={"x-api-token": token}, timeout=10)
        assert me.status_code == 200
        assert me.json()["data"]["is_admin"] in (True, 1)
        denied = httpx.get(f"{url}/api/v2/deals", headers={"x-api-token": "wrong"}, timeout=10)
        assert denied.status_code == 401
        assert stop(proc) == 0


def test_data_persists_across_a_restart_with_db(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.sqlite3")
    with sandbox_process("--db", db, "--seed", "3") as (proc, url, token):
        headers = {"x-api-token": token}
        deal = httpx.get(f"{url}/api/v2/deals?limit=1", headers=headers, timeout=10).json()
        deal_id = deal["data"][0]["id"]
        patched = httpx.patch(f"{url}/api/v2/deals/{deal_id}", json={"title": "Renamed in test"},
                              headers=headers, timeout=10)
        assert patched.status_code == 200
        created = httpx.post(f"{url}/api/v2/organizations", json={"name": "Persisted Org"},
                             headers=headers, timeout=10)
        assert created.status_code == 200
        org_id = created.json()["data"]["id"]
        assert stop(proc) == 0
    with sandbox_process("--db", db) as (proc, url, token):
        headers = {"x-api-token": token}
        deal = httpx.get(f"{url}/api/v2/deals/{deal_id}", headers=headers, timeout=10).json()
        assert deal["data"]["title"] == "Renamed in test"
        org = httpx.get(f"{url}/api/v2/organizations/{org_id}", headers=headers, timeout=10)
        assert org.json()["data"]["name"] == "Persisted Org"
        assert stop(proc) == 0


def test_a_busy_port_gets_a_clear_message() -> None:
    with sandbox_process() as (proc, url, _token):
        port = url.rsplit(":", 1)[1]
        busy = subprocess.run(
            [sys.executable, "-m", "explorer.app", "sandbox", "--port", port],
            capture_output=True, text=True, timeout=60,
        )
        assert busy.returncode != 0
        assert f"Cannot listen on 127.0.0.1:{port}" in busy.stderr
        assert "--port" in busy.stderr
        assert stop(proc) == 0


def test_demo_mode_serves_the_demo_sandbox() -> None:
    # Until the main window lands, --demo serves the sandbox and says where it listens.
    with sandbox_process(command="--demo") as (proc, url, token):
        deals = httpx.get(f"{url}/api/v2/deals?limit=5", headers={"x-api-token": token},
                          timeout=10)
        assert deals.status_code == 200
        assert len(deals.json()["data"]) == 5
        assert stop(proc) == 0
