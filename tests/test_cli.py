"""The ``pipedrive-explorer`` command line: usage errors on stderr with exit status 2, the
version, the help, and (end to end) ``--demo --smoke`` and ``--url … --token-env … --smoke``
as whole processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from explorer.app import main
from explorer.core.demo import DemoEndpoint, DemoSandbox

SMOKE = re.compile(r"^first_rows=(\d+) time_to_first_rows_s=(\d+\.\d+)$", re.MULTILINE)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_an_unknown_option_is_named_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--bogus")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "pipedrive-explorer: error: unrecognized arguments: --bogus (see --help)"]


def test_a_missing_value_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--company", "acme", "--token-env")
    assert code == 2 and out == ""
    assert "--token-env" in err and "expected one argument" in err
    assert len(err.splitlines()) == 1


def test_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--version")
    assert (code, out, err) == (0, "pipedrive-explorer 0.1.0\n", "")


def test_the_help_lists_the_subcommands_and_what_demo_passes_on(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "--help")
    assert code == 0
    assert re.search(r"^  sandbox\s+run the local Pipedrive-compatible sandbox", out, re.M)
    for option in ("--demo", "--demo-size", "--demo-db", "--company", "--url", "--token-env",
                   "--smoke", "--version"):
        assert option in out
    assert "--demo passes --demo-size (as --size) and --demo-db (as --db)" in " ".join(
        out.split())


@pytest.mark.parametrize(("args", "needle"), [
    (("--company", "acme"), "--company needs --token-env VAR"),
    (("--url", "http://127.0.0.1:1"), "--url needs --token-env VAR"),
    (("--token-env", "X"), "--token-env needs --company DOMAIN or --url URL"),
    (("--company", "a", "--url", "http://b"), "not allowed with argument"),
    (("--demo", "--company", "acme"), "leave out --company"),
    (("--demo-size", "large"), "only apply with --demo"),
    (("--demo", "--demo-size", "huge"), "invalid choice: 'huge'"),
    (("--company", "acme corp", "--token-env", "HOME"), "--company: Type the company domain"),
    (("--url", "example.com", "--token-env", "HOME"), "--url"),
])
def test_contradictions_are_refused(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                    needle: str) -> None:
    code, out, err = run_main(capsys, *args)
    assert code == 2 and out == ""
    assert needle in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(("value", "state"), [(None, "is not set"), ("  ", "is empty")])
def test_a_missing_or_empty_token_variable_is_named(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        value: str | None, state: str) -> None:
    if value is None:
        monkeypatch.delenv("PE_TEST_TOKEN", raising=False)
    else:
        monkeypatch.setenv("PE_TEST_TOKEN", value)
    code, out, err = run_main(capsys, "--company", "acme", "--token-env", "PE_TEST_TOKEN")
    assert code == 2 and out == ""
    assert f"the environment variable PE_TEST_TOKEN (--token-env) {state}" in err


# ---------------------------------------------------------------------- whole processes


def app_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen",
            "PIPEDRIVE_EXPLORER_CONFIG_DIR": str(tmp_path / "config"),
            "PIPEDRIVE_EXPLORER_LOG_DIR": str(tmp_path / "logs"), **extra}


def run_app(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True,
                          text=True, timeout=120, env=app_env(tmp_path, **env))


@pytest.mark.e2e
def test_demo_smoke_prints_the_time_to_first_rows(tmp_path: Path) -> None:
    done = run_app(tmp_path, "--demo", "--smoke")
    assert done.returncode == 0, done.stderr
    match = SMOKE.search(done.stdout)
    assert match, done.stdout
    assert int(match.group(1)) == 50            # the first page of the demo's deals
    assert float(match.group(2)) > 0
    log = (tmp_path / "logs" / "pipedrive-explorer.log").read_text()
    assert "GET /api/v2/deals -> 200" in log
    assert "demo sandbox stopped (exit status 0)" in log   # stopped cleanly by SIGTERM
    url = re.search(r"demo sandbox ready at (http://127\.0\.0\.1:\d+)", log)
    assert url
    with pytest.raises(httpx.TransportError):             # nothing left listening
        httpx.get(f"{url.group(1)}/api/v2/deals", timeout=5)
    assert not (tmp_path / "config").exists()      # --demo stores nothing


@pytest.mark.e2e
def test_a_demo_database_keeps_its_data(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    for _ in range(2):
        done = run_app(tmp_path, "--demo", "--demo-db", str(db), "--smoke")
        assert done.returncode == 0, done.stderr
    log = (tmp_path / "logs" / "pipedrive-explorer.log").read_text()
    assert f"Sandbox: using existing data in {db}" in log


@pytest.mark.e2e
def test_a_demo_that_cannot_start_says_why_and_exits_2(tmp_path: Path) -> None:
    db = tmp_path / "missing" / "demo.sqlite"
    done = run_app(tmp_path, "--demo", "--demo-db", str(db), "--smoke")
    assert done.returncode == 2
    assert "pipedrive-explorer: error: The demo sandbox did not start" in done.stderr
    assert str(db.parent) in done.stderr


@pytest.fixture(scope="module")
def server() -> Iterator[DemoEndpoint]:
    sandbox = DemoSandbox.start()
    try:
        yield sandbox.wait_ready(timeout=60)
    finally:
        sandbox.stop()


@pytest.mark.e2e
def test_url_and_token_env_open_that_account_storing_nothing(
        tmp_path: Path, server: DemoEndpoint) -> None:
    done = run_app(tmp_path, "--url", server.base_url, "--token-env", "PE_TOKEN", "--smoke",
                   PE_TOKEN=server.token)
    assert done.returncode == 0, done.stderr
    assert SMOKE.search(done.stdout)
    assert not (tmp_path / "config").exists()
    assert server.token not in (tmp_path / "logs" / "pipedrive-explorer.log").read_text()


@pytest.mark.e2e
def test_a_refused_token_fails_the_smoke_check(tmp_path: Path, server: DemoEndpoint) -> None:
    done = run_app(tmp_path, "--url", server.base_url, "--token-env", "PE_TOKEN", "--smoke",
                   PE_TOKEN="wrong-token")
    assert done.returncode == 1
    assert "the first page failed" in done.stderr
    assert "wrong-token" not in done.stderr


def test_smoke_without_an_account_says_what_it_needs(
        capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEDRIVE_EXPLORER_CONFIG_DIR", str(tmp_path / "config"))
    code, _, err = run_main(capsys, "--smoke")
    assert code == 2
    assert "--smoke needs an account to load: --demo" in err


@pytest.mark.e2e
def test_sigterm_closes_the_window_and_stops_the_sandbox(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "pipedrive-explorer.log"
    with subprocess.Popen([sys.executable, "-m", "explorer", "--demo"], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=app_env(tmp_path)) as proc:
        deadline = time.monotonic() + 60
        while "GET /api/v2/deals -> 200" not in (log.read_text() if log.exists() else ""):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    text = log.read_text()
    assert "window on Demo sandbox closed" in text
    assert "demo sandbox stopped (exit status 0)" in text


@pytest.mark.e2e
def test_sigterm_while_the_account_manager_is_open_stops_the_app(tmp_path: Path) -> None:
    # No account yet: the account manager opens at start-up, before any window. keyring's
    # null backend: nothing here may touch a real keychain.
    log = tmp_path / "logs" / "pipedrive-explorer.log"
    env = app_env(tmp_path, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    with subprocess.Popen([sys.executable, "-m", "explorer"], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        deadline = time.monotonic() + 60
        while "starting" not in (log.read_text() if log.exists() else ""):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.05)
        time.sleep(1.0)  # the dialog is up
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM


def headless(tmp_path: Path) -> dict[str, str]:
    env = app_env(tmp_path)
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    return env


def test_without_a_display_the_window_is_refused_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "explorer", "--demo"], capture_output=True,
                          text=True, timeout=60, env=headless(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("pipedrive-explorer: error: no display to open the window")
    assert "QT_QPA_PLATFORM=offscreen" in done.stderr
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.e2e
def test_smoke_runs_offscreen_without_a_display(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "explorer", "--demo", "--smoke"],
                          capture_output=True, text=True, timeout=120, env=headless(tmp_path))
    assert done.returncode == 0, done.stderr
    assert SMOKE.search(done.stdout)
