"""The sandbox CLI end to end: a real server on 127.0.0.1, persistence, clean SIGTERM stop."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from explorer.sandbox.app import DEFAULT_TOKEN
from explorer.sandbox.demo import generate
from explorer.sandbox.store import Store

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


# --demo now opens the main window on a sandbox child process: tests/test_cli.py.


# ---------------------------------------------------------------------- start-up output


def test_start_up_prints_the_data_line_on_stderr_and_one_ready_line_on_stdout() -> None:
    with sandbox_process("--seed", "4") as (proc, _url, token):
        assert token == DEFAULT_TOKEN
        assert stop(proc) == 0
        out, err = proc.communicate(timeout=10)
    assert out == "", "stdout holds the ready line only"
    assert re.fullmatch(r"Sandbox: generated small demo data \(seed 4\) in \d+\.\d s\n", err), err


def test_an_existing_database_is_said_to_be_used(tmp_path: Path) -> None:
    db = str(tmp_path / "kept.sqlite")
    for _ in range(2):
        with sandbox_process("--db", db, "--size", "small", "--seed", "5") as (proc, _u, _t):
            assert stop(proc) == 0
            _, err = proc.communicate(timeout=10)
    assert err == f"Sandbox: using existing data in {db} (small, seed 5)\n"


# ---------------------------------------------------------------------- bad input


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI's exit status and output; fails at once if it starts serving instead."""
    command = [sys.executable, "-m", "explorer.app", "sandbox", "--port", "0", *args]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout is not None
        ready = proc.stdout.readline()          # the ready line, or "" once it has exited
        if ready:
            proc.kill()
            proc.communicate(timeout=10)
            pytest.fail(f"the sandbox started with {args}: {ready.strip()}")
        out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


BAD_INPUT: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("--port", "99999"), ("--port", "0 to 65,535", "99999")),
    (("--port", "-1"), ("--port", "0 to 65,535", "-1")),
    (("--port", "http"), ("--port", "whole number", "'http'")),
    (("--db", "/nonexistent/dir/x.sqlite"), ("/nonexistent/dir", "does not exist")),
    (("--db", "/tmp"), ("/tmp is a folder", "file path")),
    (("--fault", "error_503:probability=2"), ("--fault", "probability", "between 0 and 1")),
    (("--fault", "latency:probability=1,latency_ms=1e12"), ("--fault", "latency_ms")),
    (("--fault", "explode"), ("--fault", "unknown fault kind 'explode'")),
    (("--host", "256.1.1.1"), ("256.1.1.1", "--host", "127.0.0.1")),
    (("--budget", "-5"), ("--budget", "-5")),
    (("--seats", "0"), ("--seats", "from 1", "got 0")),
    (("--top-up", "-1"), ("--top-up",)),
    (("--block-after", "-1"), ("--block-after",)),
    (("--block-seconds", "nan"), ("--block-seconds",)),
    (("--oauth-token-ttl", "0"), ("--oauth-token-ttl",)),
    (("--token", ""), ("--token", "non-empty")),
    (("--server-timezone", "Mars/Olympus_Mons"), ("--server-timezone", "unknown time zone",
                                                  "IANA")),
    (("--search-headers", "both"), ("--search-headers", "'both'")),
    (("--daily-message", "vague"), ("--daily-message", "'vague'", "plain")),
    # An empty host would bind every interface, not the loopback the help promises.
    (("--host", ""), ("--host", "127.0.0.1")),
    (("--size", "bogus"), ("--size", "'bogus'", "small")),
    (("--seed", "abc"), ("--seed", "'abc'")),
    (("--plan", "x"), ("--plan", "'x'", "growth")),
    (("--oauth-redirect-uri", "bad"), ("--oauth-redirect-uri", "'bad'", "https://")),
    (("--fault-seed", "abc"), ("--fault-seed", "'abc'")),
    (("--oauth-client-id", ""), ("--oauth-client-id", "non-empty")),
    (("--oauth-client-id", "app:1"), ("--oauth-client-id", "':'")),
    (("--oauth-client-secret", ""), ("--oauth-client-secret", "non-empty")),
    (("--fault", "latency:probability=1,method=FOO"), ("--fault", "method", "'FOO'")),
    (("--fault", "error_500:count=1,path=api/v2/*"), ("--fault", "path", "'api/v2/*'")),
]


@pytest.mark.parametrize(("args", "needles"), BAD_INPUT,
                         ids=[" ".join(args) for args, _ in BAD_INPUT])
def test_bad_input_gets_one_line_and_exit_status_2(args: tuple[str, ...],
                                                   needles: tuple[str, ...]) -> None:
    done = run_cli(*args)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pipedrive-explorer sandbox: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_a_bad_fault_is_refused_before_any_data_is_generated(tmp_path: Path) -> None:
    db = tmp_path / "never.sqlite"
    done = run_cli("--db", str(db), "--fault", "error_503:probability=2")
    assert done.returncode == 2
    assert "generated" not in done.stderr
    assert not db.exists(), "nothing was opened or generated"


def test_a_host_that_is_no_address_is_not_told_to_change_the_port() -> None:
    done = run_cli("--host", "256.1.1.1")
    assert done.returncode == 2
    assert "--port" not in done.stderr and "another port" not in done.stderr


def test_help_shows_every_default() -> None:
    from explorer.sandbox.server import build_parser

    done = subprocess.run([sys.executable, "-m", "explorer.app", "sandbox", "--help"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "100"})
    assert done.returncode == 0
    entries: dict[str, str] = {}
    option = ""
    for line in done.stdout.splitlines():
        if match := re.match(r"^  (--[a-z0-9-]+)", line):
            option = match.group(1)
        if option:
            entries[option] = f"{entries.get(option, '')} {line.strip()}"
    for action in build_parser()._actions:
        if not action.option_strings or action.nargs == 0:   # --help and on/off flags
            continue
        text = " ".join(entries[action.option_strings[0]].split())
        assert "default: " in text, text
    shown = {option: " ".join(text.split()) for option, text in entries.items()}
    for option, default in [("--block-after", "20"), ("--top-up", "0"),
                            ("--oauth-client-id", "sandbox-client-id"),
                            ("--oauth-client-secret", "sandbox-client-secret"),
                            ("--oauth-token-ttl", "3599"), ("--server-timezone", "UTC"),
                            ("--search-headers", "search"), ("--daily-message", "timed"),
                            ("--token", DEFAULT_TOKEN)]:
        assert re.search(rf"default: [^)]*\b{re.escape(default)}\)", shown[option]), option


def test_the_switches_reach_the_running_sandbox() -> None:
    switches = ("--no-success-ratelimit-headers", "--search-headers", "burst",
                "--no-daily-headers", "--server-timezone", "Asia/Tokyo", "--block-after", "7",
                "--daily-message", "plain")
    with sandbox_process(*switches) as (proc, url, token), \
            httpx.Client(base_url=url, headers={"x-api-token": token}, timeout=10) as http:
        limits = http.get("/_sandbox/limits").json()
        assert {key: limits[key] for key in ("success_headers", "search_headers",
                                             "daily_headers", "server_timezone",
                                             "block_after", "daily_message")} == {
            "success_headers": False, "search_headers": "burst", "daily_headers": False,
            "server_timezone": "Asia/Tokyo", "block_after": 7, "daily_message": "plain"}
        deal = http.get("/api/v2/deals/1")
        assert deal.status_code == 200
        assert not {h for h in deal.headers if h.startswith(("x-ratelimit", "x-daily-ratelimit"))}
        assert http.get("/_sandbox/stats").json()["limits"]["daily_budget"]["timezone"] == (
            "Asia/Tokyo")
        assert stop(proc) == 0


def test_a_file_that_is_no_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100)
    done = run_cli("--db", str(notes))
    assert done.returncode == 2
    assert done.stderr.startswith(f"pipedrive-explorer sandbox: error: Cannot use the database "
                                  f"{notes}: file is not a database")
    assert len(done.stderr.splitlines()) == 1
    assert notes.read_text() == "not a database\n" * 100


def test_another_programs_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    """A SQLite file of another program is not a sandbox's: the sandbox must not add its
    tables and demo data to it."""
    other = tmp_path / "inventory.sqlite"
    with contextlib.closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE parts (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO parts (name) VALUES ('bolt')")
        conn.commit()
    before = other.read_bytes()
    done = run_cli("--db", str(other))
    assert done.returncode == 2
    assert done.stderr.startswith(f"pipedrive-explorer sandbox: error: Cannot use the database "
                                  f"{other}: it is another program's SQLite database"), done.stderr
    assert "parts" in done.stderr and "new file path" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.sqlite"]


def test_a_database_whose_generation_was_interrupted_starts_afresh(tmp_path: Path) -> None:
    """A generation cut short leaves demo records but no ``seeded`` mark: the file was never
    served, so the next start generates it again instead of failing on duplicate ids."""
    db = tmp_path / "half.sqlite"
    store = Store(str(db))
    generate(store, size="small", seed=5)
    store.conn.execute("DELETE FROM meta WHERE key = 'seeded'")   # as if cut before the end
    store.conn.commit()
    store.close()
    with sandbox_process("--db", str(db), "--seed", "5") as (proc, url, token):
        deals = httpx.get(f"{url}/api/v2/deals/1", headers={"x-api-token": token}, timeout=10)
        assert deals.status_code == 200
        assert stop(proc) == 0
        _, err = proc.communicate(timeout=10)
    assert re.fullmatch(r"Sandbox: generated small demo data \(seed 5\) in \d+\.\d s; the "
                        rf"earlier generation into {re.escape(str(db))} was interrupted, so it "
                        r"started afresh\n", err), err
    fresh = Store()
    generate(fresh, size="small", seed=5)
    kept = Store(str(db))
    try:
        for name in ("users", "deals", "persons", "deal_products", "files"):
            assert kept.count(name, include_deleted=True) == fresh.count(
                name, include_deleted=True), name
    finally:
        kept.close()
        fresh.close()


def test_ctrl_c_while_generating_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "big.sqlite"
    command = [sys.executable, "-m", "explorer.app", "sandbox", "--port", "0", "--size",
               "large", "--db", str(db)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
                          ) as proc:
        deadline = time.monotonic() + 60
        while not db.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)          # the file appears once the data is being generated
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert out == "" and "Traceback" not in err
    assert err == ("pipedrive-explorer sandbox: interrupted before serving, while the demo "
                   "data was generated\n")
