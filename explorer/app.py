"""Composition root and the ``pipedrive-explorer`` command line.

``main(argv)`` parses the command line (``build_parser``), starts the demo sandbox child
first when asked (``--demo``: it generates its data while Qt is imported), sets up the log
file, builds the ``QApplication`` and a qasync loop and opens the window on one account:

- ``--demo``: the embedded sandbox (``explorer.core.demo``), stopped when the window closes;
- ``--company DOMAIN`` / ``--url URL`` with ``--token-env VAR``: that account, nothing stored;
- no options: the last account (``Settings.last_account_id``), or the account manager.

``open_window(base_url, token)`` is the automation seam (tests and scripts on the qasync
loop); ``window_closed(window)`` resolves once a window's tasks and session have ended.
``pipedrive-explorer sandbox …`` runs the sandbox server (``explorer.sandbox.server``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Coroutine, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

if TYPE_CHECKING:  # Qt is imported after the demo sandbox has been launched
    from explorer.core.accounts import Account
    from explorer.core.demo import DemoSandbox
    from explorer.qt.main_window import MainWindow

PROG = "pipedrive-explorer"
SMOKE_TIMEOUT_S = 30.0
DEMO_COLOUR = "#8250df"
log = logging.getLogger("explorer.app")


def version() -> str:
    """The installed package's version (``pyproject.toml``)."""
    try:
        return metadata.version("pipedrive-explorer")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree, not installed
        return "0+unknown"


# ---------------------------------------------------------------------- the command line


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr naming the problem, exit status 2."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see --help)")


def fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)  # noqa: T201
    raise SystemExit(2)


_EPILOG = """\
commands:
  sandbox     run the local Pipedrive-compatible sandbox server with demo data
              (pipedrive-explorer sandbox --help lists its options)

--demo passes --demo-size (as --size) and --demo-db (as --db) on to the sandbox; it
listens on 127.0.0.1 on a free port with the demo token and Pipedrive's default limits.

Without options the last account opens, or the account manager when there is none.
Tokens are kept in the system keychain, never in a file.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG,
        usage=f"{PROG} [options]\n       {PROG} sandbox [sandbox options]",
        description="Browse, search and safely bulk-edit a Pipedrive account.")
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    demo = parser.add_argument_group("demo")
    demo.add_argument("--demo", action="store_true",
                      help="open the built-in sandbox with demo data (no account needed)")
    demo.add_argument("--demo-size", choices=("small", "medium", "large"), default="small",
                      help="demo data size when the database is new (default: small)")
    demo.add_argument("--demo-db", metavar="PATH",
                      help="keep the demo data (and your edits) in this sqlite file between "
                      "runs (default: in memory, fresh each run)")
    account = parser.add_argument_group("an account without storing it")
    where = account.add_mutually_exclusive_group()
    where.add_argument("--company", metavar="DOMAIN",
                       help="the Pipedrive company domain (acme for acme.pipedrive.com)")
    where.add_argument("--url", metavar="URL",
                       help="the API origin of a Pipedrive-compatible server")
    account.add_argument("--token-env", metavar="VAR",
                         help="environment variable holding the API token")
    checks = parser.add_argument_group("checks")
    checks.add_argument("--smoke", action="store_true",
                        help="load the first rows, print the time they took and exit "
                        f"(exit status 1 if none arrive within {SMOKE_TIMEOUT_S:g} s)")
    return parser


def _check(parser: argparse.ArgumentParser, ns: argparse.Namespace) -> str | None:
    """Refuse contradictory options; the token of ``--token-env`` (None without it)."""
    target = ns.company or ns.url
    if ns.demo and (target or ns.token_env):
        fail("--demo opens the built-in sandbox; leave out --company, --url and --token-env")
    if not ns.demo and (ns.demo_db or ns.demo_size != "small"):
        fail("--demo-size and --demo-db only apply with --demo")
    if target and not ns.token_env:
        fail(f"{'--company' if ns.company else '--url'} needs --token-env VAR, the "
             "environment variable holding the API token")
    if ns.token_env and not target:
        fail("--token-env needs --company DOMAIN or --url URL")
    if not ns.token_env:
        return None
    token = os.environ.get(ns.token_env, "").strip()
    if not token:
        state = "is empty" if ns.token_env in os.environ else "is not set"
        fail(f"the environment variable {ns.token_env} (--token-env) {state}; set it to "
             "the API token (Pipedrive: Settings → Personal preferences → API)")
    return token


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "sandbox":
        from explorer.sandbox.server import run

        return run(args[1:])
    parser = build_parser()
    ns = parser.parse_args(args)
    token = _check(parser, ns)
    account = None
    if ns.company or ns.url:
        account = _cli_account(ns.company, ns.url)
    demo = None
    if ns.demo:
        from explorer.core.demo import DemoSandbox

        # First, before Qt's imports: the child generates its data meanwhile.
        demo = DemoSandbox.start(size=ns.demo_size, db=ns.demo_db)
    from explorer.core.logs import setup_logging

    setup_logging()
    log.info("pipedrive-explorer %s starting", version())
    try:
        return _run_gui(_GuiPlan(account, token, demo, ns.smoke, started))
    finally:
        if demo is not None:
            demo.stop()   # already stopped after the window closed, unless it crashed


def _cli_account(company: str | None, url: str | None) -> Account:
    from explorer.core.accounts import Account, parse_company

    try:
        base_url, domain = parse_company(company if company else url or "")
    except ValueError as exc:
        fail(f"{'--company' if company else '--url'}: {exc}")
    if url and "://" not in url:
        fail("--url needs an http:// or https:// address; use --company for a company domain")
    return Account(name=domain or urlsplit(base_url).netloc, base_url=base_url,
                   kind=_kind(base_url), company_domain=domain)


def _kind(base_url: str) -> Any:
    host = urlsplit(base_url).hostname or ""
    return "sandbox" if host in ("127.0.0.1", "localhost", "::1") else "live"


# ---------------------------------------------------------------------- windows


class _GuiPlan:
    """What ``main`` decided, for the GUI part."""

    def __init__(self, account: Account | None, token: str | None, demo: DemoSandbox | None,
                 smoke: bool, started: float) -> None:
        self.account, self.token, self.demo = account, token, demo
        self.smoke, self.started = smoke, started


_open_windows: dict[Any, asyncio.Future[None]] = {}
_background: set[asyncio.Future[Any]] = set()


def _spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
    """Run ``coro`` on the loop, referenced until it ends (the composition root's own work:
    shutting a window's session down after its runner is gone)."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


def open_account(account: Account, token: str) -> MainWindow:
    """Show a main window on ``account`` with ``token`` (called on the qasync loop, with a
    ``QApplication``). Returns at once; Deals start loading."""
    from explorer.api.config import ClientConfig, default_transport
    from explorer.core.logs import LoggingTransport
    from explorer.core.session import Session
    from explorer.qt.asyncqt import TaskRunner
    from explorer.qt.main_window import MainWindow

    transport = LoggingTransport(default_transport(ClientConfig(account.base_url).max_in_flight))
    session = Session.connect(account, token, transport=transport)
    runner = TaskRunner()
    window = MainWindow(session, runner)
    closed: asyncio.Future[None] = asyncio.get_event_loop().create_future()
    _open_windows[window] = closed
    runner.setParent(window)

    async def shut_down() -> None:
        try:
            await runner.shutdown()
            await session.close()
        finally:
            _open_windows.pop(window, None)
            if not closed.done():
                closed.set_result(None)
            log.info("window on %s closed", account.name)

    def on_closed() -> None:
        if window in _open_windows and not getattr(window, "_shutting_down", False):
            window._shutting_down = True  # type: ignore[attr-defined]
            _spawn(shut_down())

    window.closed.connect(on_closed)
    log.info("opening %s (%s)", account.name, account.kind)
    window.show()
    window.start()
    return window


def open_window(base_url: str, token: str) -> MainWindow:
    """The automation seam: a main window on the server at ``base_url`` with the API token
    ``token``: no keychain, no account file. Call it on the qasync loop with a
    ``QApplication``; it returns at once (Deals load in the background). Closing the window
    shuts its tasks and session down (``await window_closed(window)``)."""
    from explorer.core.accounts import Account

    host = urlsplit(base_url).netloc or base_url
    return open_account(Account(name=host, base_url=base_url.rstrip("/"),
                                kind=_kind(base_url)), token)


def window_closed(window: MainWindow) -> asyncio.Future[None]:
    """Resolves once ``window`` was closed and its tasks and session have ended."""
    future = _open_windows.get(window)
    if future is None:
        done: asyncio.Future[None] = asyncio.get_event_loop().create_future()
        done.set_result(None)
        return done
    return future


async def _all_closed() -> None:
    while _open_windows:
        await asyncio.wait(set(_open_windows.values()))


# ---------------------------------------------------------------------- running


def _run_gui(plan: _GuiPlan) -> int:
    from PySide6.QtWidgets import QApplication

    from explorer.qt.asyncqt import new_loop

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else PROG])
    assert isinstance(app, QApplication)
    app.setApplicationName("Pipedrive Explorer")
    app.setOrganizationName("pipedrive-explorer")
    app.setApplicationVersion(version())
    app.setQuitOnLastWindowClosed(False)   # the loop ends once sessions are closed
    loop = new_loop(app)
    try:
        return loop.run_until_complete(_gui_main(plan))
    finally:
        loop.close()


async def _gui_main(plan: _GuiPlan) -> int:
    demos: list[DemoSandbox] = [plan.demo] if plan.demo else []
    try:
        if plan.demo is not None:
            window = await _open_demo(plan.demo)
        elif plan.account is not None and plan.token is not None:
            window = open_account(plan.account, plan.token)
        else:
            window = await _open_last_or_choose(demos)
        if window is None:
            return 2 if plan.demo or demos else 0
        if plan.smoke:
            return await _smoke(window, plan.started)
        await _all_closed()
        return 0
    finally:
        for demo in demos:
            await asyncio.to_thread(demo.stop)   # off the UI thread: it waits for the child


async def _open_demo(demo: DemoSandbox) -> MainWindow | None:
    from explorer.core.accounts import Account
    from explorer.core.demo import DemoFailed

    try:
        endpoint = await asyncio.to_thread(demo.wait_ready)
    except DemoFailed as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)  # noqa: T201
        log.error("%s", exc)
        return None
    account = Account(name="Demo sandbox", base_url=endpoint.base_url, kind="sandbox",
                      colour=DEMO_COLOUR)
    return open_account(account, endpoint.token)


async def _open_last_or_choose(demos: list[DemoSandbox]) -> MainWindow | None:
    from dataclasses import replace

    from explorer.core.accounts import AccountStore
    from explorer.core.settings import load_settings, save_settings

    settings = await asyncio.to_thread(load_settings)
    store = AccountStore()
    last = store.get(settings.last_account_id) if settings.last_account_id else None
    if last is not None:
        token = await asyncio.to_thread(store.token, last.id)
        if token:
            return open_account(last.account, token)
        log.warning("no token for the last account in the keychain; asking")
    choice = await choose_account(store)
    if choice is None:
        return None
    if choice == "demo":
        from explorer.core.demo import DemoSandbox

        demo = DemoSandbox.start(size=settings.demo_size)
        demos.append(demo)
        return await _open_demo(demo)
    entry, token = choice
    await asyncio.to_thread(save_settings, replace(settings, last_account_id=entry.id))
    return open_account(entry.account, token)


async def choose_account(store: Any, parent: Any = None) -> Any:
    """Show the account manager; ``(SavedAccount, token)`` for the chosen account, ``"demo"``
    for "Try the demo", None when closed."""
    from explorer.qt.asyncqt import ask
    from explorer.qt.dialogs.accounts import AccountsDialog

    dialog = AccountsDialog(store, parent)
    await ask(dialog)
    if dialog.demo_chosen:
        return "demo"
    if dialog.chosen is None:
        return None
    return dialog.chosen, dialog.chosen_token


async def _smoke(window: MainWindow, started: float) -> int:
    rows: asyncio.Future[int] = asyncio.get_event_loop().create_future()

    def got(count: int) -> None:
        if not rows.done():
            rows.set_result(count)

    def failed(name: str, exc: object, retry: object) -> None:
        if not rows.done():
            rows.set_exception(RuntimeError(f"{name}: {exc}"))

    window.first_rows.connect(got)
    window.runner.failed.connect(failed)
    code = 0
    try:
        count = await asyncio.wait_for(rows, SMOKE_TIMEOUT_S)
    except TimeoutError:
        _say(f"no rows within {SMOKE_TIMEOUT_S:g} s")
        code = 1
    except RuntimeError as exc:
        _say(f"the first page failed: {exc}")
        code = 1
    else:
        elapsed = time.perf_counter() - started
        if count <= 0:
            _say("the first page of the default view was empty")
            code = 1
        print(f"first_rows={count} time_to_first_rows_s={elapsed:.2f}", flush=True)  # noqa: T201
        log.info("smoke: %d rows after %.2f s", count, elapsed)
    window.close()
    await window_closed(window)
    return code


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)  # noqa: T201
    log.error("smoke: %s", message)


if __name__ == "__main__":
    raise SystemExit(main())
