"""Composition root: the ``pipedrive-explorer`` entry point, windows and the demo sandbox.

``main(argv)`` parses the command line (``explorer.cli``), starts the demo sandbox child
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

import asyncio
import gc
import logging
import signal
import sys
import time
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from explorer.cli import (
    PROG,
    SMOKE_TIMEOUT_S,
    build_parser,
    check_args,
    check_display,
    cli_account,
    kind_of,
)
from explorer.cli import version as version

if TYPE_CHECKING:  # Qt is imported after the demo sandbox has been launched
    from explorer.api import TokenProvider, TokenSet
    from explorer.core.accounts import Account, AccountStore, SavedAccount
    from explorer.core.demo import DemoSandbox
    from explorer.qt.main_window import MainWindow

DEMO_COLOUR = "#8250df"
log = logging.getLogger("explorer.app")


def main(argv: Sequence[str] | None = None) -> int:
    """The ``pipedrive-explorer`` command; returns the exit status (usage errors exit 2
    through ``SystemExit``)."""
    started = time.perf_counter()
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "sandbox":
        from explorer.sandbox.server import run

        return run(args[1:])
    parser = build_parser()
    ns = parser.parse_args(args)
    token = check_args(ns)
    check_display(ns.smoke)
    account = None
    if ns.company or ns.url:
        account = cli_account(ns.company, ns.url)
    demo = None
    if ns.demo:
        from explorer.core.demo import DemoSandbox

        # First, before Qt's imports: the child generates its data meanwhile.
        demo = DemoSandbox.start(size=ns.demo_size, db=ns.demo_db)
    from explorer.core.logs import log_uncaught_exceptions, setup_logging

    setup_logging()
    log_uncaught_exceptions()
    log.info("pipedrive-explorer %s starting", version())
    try:
        return _run_gui(_GuiPlan(account, token, demo, ns.smoke, started))
    finally:
        if demo is not None:
            demo.stop()   # already stopped after the window closed, unless it crashed


# ---------------------------------------------------------------------- windows


class _GuiPlan:
    """What ``main`` decided, for the GUI part (a plain class, not a dataclass: no repr that
    would show the token)."""

    def __init__(self, account: Account | None, token: str | None, demo: DemoSandbox | None,
                 smoke: bool, started: float) -> None:
        self.account, self.token, self.demo = account, token, demo
        self.smoke, self.started = smoke, started


_open_windows: dict[Any, asyncio.Future[None]] = {}
_background: set[asyncio.Future[Any]] = set()
_demos: list[DemoSandbox] = []
"""Demo sandboxes started in this process; stopped once the last window has closed."""
_stores: list[AccountStore] = []
"""The process's account store (session-only accounts live in it)."""
_main_task: list[asyncio.Task[int]] = []
"""The running ``_gui_main`` (a signal cancels it when no window is open yet)."""
_stop_signals: list[int] = []
"""Signals (SIGINT, SIGTERM) that asked the app to stop; the exit status is 128 + the first."""


def _spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
    """Run ``coro`` on the loop, referenced until it ends (the composition root's own work:
    shutting a window's session down after its runner is gone)."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background work failed", exc_info=task.exception())


def open_account(account: Account, token: str | TokenProvider) -> MainWindow:
    """Show a main window on ``account`` with ``token`` (an API token or a provider), called
    on the qasync loop with a ``QApplication``. Returns at once; Deals start loading."""
    from explorer.api.config import ClientConfig, default_transport
    from explorer.core.logs import LoggingTransport, log_folder
    from explorer.core.session import Session
    from explorer.qt.asyncqt import TaskRunner
    from explorer.qt.main_window import MainWindow

    transport = LoggingTransport(default_transport(ClientConfig(account.base_url).max_in_flight))
    session = Session.connect(account, token, transport=transport)
    runner = TaskRunner()
    freeze_startup_objects()   # before the window: its objects go when it closes
    window = MainWindow(session, runner, log_folder=log_folder)
    closed: asyncio.Future[None] = asyncio.get_event_loop().create_future()
    _open_windows[window] = closed

    async def shut_down() -> None:
        try:
            await runner.shutdown()
            await session.close()
        finally:
            _open_windows.pop(window, None)
            # A closed window is gone for good (switching accounts opens a new one); its
            # runner stays usable as ``window.runner`` (shut down) for whoever holds it.
            window.deleteLater()
            if not closed.done():
                closed.set_result(None)
            log.info("window on %s closed", account.name)

    def on_closed() -> None:
        if window in _open_windows and not getattr(window, "_shutting_down", False):
            window._shutting_down = True  # type: ignore[attr-defined]
            _spawn(shut_down())

    window.closed.connect(on_closed)
    # File → Accounts… once the window offers it (a Signal() named accounts_requested).
    requested = getattr(window, "accounts_requested", None)
    if requested is not None:
        requested.connect(lambda *_: _spawn(switch_account(window)))
    log.info("opening %s (%s)", account.name, account.kind)
    window.show()
    window.start()
    return window


def freeze_startup_objects() -> None:
    """Move what exists now (modules, classes, what start-up built) out of the cycle
    collector's generations, once, before the first window: its full passes then walk only
    what was made since, which keeps scrolling a large table free of 30-70 ms pauses
    (``tests/benchmarks/bench_ui_stall.py``). Those objects live as long as the app."""
    if not gc.get_freeze_count():
        gc.freeze()


def open_window(base_url: str, token: str) -> MainWindow:
    """The automation seam: a main window on the server at ``base_url`` with the API token
    ``token``: no keychain, no account file. Call it on the qasync loop with a
    ``QApplication``; it returns at once (Deals load in the background). Closing the window
    shuts its tasks and session down (``await window_closed(window)``)."""
    from explorer.core.accounts import Account

    host = urlsplit(base_url).netloc or base_url
    return open_account(Account(name=host, base_url=base_url.rstrip("/"),
                                kind=kind_of(base_url)), token)


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

    from explorer.qt.asyncqt import new_loop, route_qt_messages

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else PROG])
    assert isinstance(app, QApplication)
    app.setApplicationName("Pipedrive Explorer")
    app.setOrganizationName("pipedrive-explorer")
    app.setApplicationVersion(version())
    app.setQuitOnLastWindowClosed(False)   # the loop ends once sessions are closed
    route_qt_messages()
    loop = new_loop(app)
    previous = {sig: signal.signal(sig, lambda signum, _frame: loop.call_soon_threadsafe(
        _interrupt, signum)) for sig in (signal.SIGINT, signal.SIGTERM)}
    main_task = loop.create_task(_gui_main(plan))
    _main_task[:] = [main_task]
    try:
        return loop.run_until_complete(main_task)
    except asyncio.CancelledError:
        if _stop_signals:
            return 128 + _stop_signals[0]
        raise
    finally:
        _main_task.clear()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        loop.close()


def _interrupt(signum: int) -> None:
    """Ctrl-C or SIGTERM: close every window (sessions end, the sandbox stops), then exit."""
    from explorer.qt.asyncqt import reject_open_dialogs

    log.info("stopping on signal %d", signum)
    _stop_signals.append(signum)
    reject_open_dialogs()   # the account manager at start-up, File → Accounts…
    for window in list(_open_windows):
        window.close()
    if not _open_windows and _main_task:
        _main_task[0].cancel()   # e.g. still waiting for the demo sandbox: stop waiting


def _heartbeat(loop: asyncio.AbstractEventLoop, ticks: list[asyncio.TimerHandle]) -> None:
    # Python signal handlers run only when the interpreter runs: while Qt idles in C++ a
    # Ctrl-C would wait for the next event. A tick a quarter second keeps it prompt.
    ticks[:] = [loop.call_later(0.25, _heartbeat, loop, ticks)]


async def _gui_main(plan: _GuiPlan) -> int:
    if plan.demo is not None:
        _demos.append(plan.demo)
    ticks: list[asyncio.TimerHandle] = []
    _heartbeat(asyncio.get_event_loop(), ticks)
    try:
        if plan.demo is not None:
            window = await _open_demo(plan.demo)
        elif plan.account is not None and plan.token is not None:
            window = open_account(plan.account, plan.token)
        else:
            window = await open_start_window()
        if _stop_signals:
            if window is not None:
                window.close()
            await _all_closed()
            return 128 + _stop_signals[0]
        if window is None:
            return 2 if _demos else 0
        code = await _smoke(window, plan.started) if plan.smoke else 0
        await _all_closed()
        return 128 + _stop_signals[0] if _stop_signals else code
    finally:
        for tick in ticks:
            tick.cancel()
        for demo in list(_demos):
            await asyncio.to_thread(demo.stop)   # off the UI thread: it waits for the child
            _demos.remove(demo)


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
    window = open_account(account, endpoint.token)
    _spawn(_stop_with(window, demo))
    return window


async def _stop_with(window: MainWindow, demo: DemoSandbox) -> None:
    """Stop the demo sandbox once its window has closed and its session ended (switching to
    another account leaves no sandbox behind)."""
    await window_closed(window)
    if demo in _demos:
        _demos.remove(demo)
        await asyncio.to_thread(demo.stop)   # off the UI thread: it waits for the child


def account_store() -> AccountStore:
    """The process's account store (one, so session-only accounts are seen everywhere)."""
    from explorer.core.accounts import AccountStore

    if not _stores:
        _stores.append(AccountStore())
    return _stores[0]


async def open_start_window() -> MainWindow | None:
    """``pipedrive-explorer`` without options: the last account, or the account manager
    when there is none (or its token is gone). None when the manager was closed, or the
    demo it asked for did not start."""
    from explorer.core.settings import load_settings

    settings = await asyncio.to_thread(load_settings)
    store = account_store()
    last = (await asyncio.to_thread(store.get, settings.last_account_id)
            if settings.last_account_id else None)
    notice = None
    if last is not None:
        secret = await asyncio.to_thread(store.token, last.id)
        if secret:
            try:
                return open_saved(last, secret)
            except ValueError as exc:
                log.warning("cannot open the last account (%s); asking", exc)
                notice = f"{last.account.name} could not be opened: {exc}"
        else:
            log.warning("no token for the last account in the keychain; asking")
            notice = (f"The keychain no longer holds the API token of {last.account.name}. "
                      "Add the account again with its token, or choose another.")
    return await _choose_and_open(None, notice)


async def switch_account(window: MainWindow) -> MainWindow | None:
    """File → Accounts…: the account manager over ``window``; the account (or demo) chosen
    opens in a new window, and ``window`` closes once it shows. None: nothing was chosen."""
    opened = await _choose_and_open(window)
    if opened is not None and opened is not window:
        window.close()
    return opened


async def _choose_and_open(parent: MainWindow | None,
                           notice: str | None = None) -> MainWindow | None:
    from dataclasses import replace

    from explorer.core.settings import load_settings, save_settings

    choice = await choose_account(account_store(), parent, notice)
    if choice is None:
        return None
    settings = await asyncio.to_thread(load_settings)
    if choice == "demo":
        from explorer.core.demo import DemoSandbox

        demo = await asyncio.to_thread(DemoSandbox.start, size=settings.demo_size)
        _demos.append(demo)
        return await _open_demo(demo)
    entry, secret = choice
    if not entry.session_only:
        await asyncio.to_thread(save_settings, replace(settings, last_account_id=entry.id))
    try:
        return open_saved(entry, secret)
    except ValueError as exc:   # OAuth tokens the keychain no longer holds in a usable form
        _say(f"error: cannot open {entry.account.name}: {exc}")
        return None


def open_saved(entry: SavedAccount, secret: str) -> MainWindow:
    """A window on a saved account: its API token, or its OAuth tokens (kept fresh; each
    rotation goes back to the keychain). ``ValueError`` for an OAuth account when no OAuth
    app is configured or its tokens are unreadable."""
    if entry.auth != "oauth":
        return open_account(entry.account, secret)
    from explorer.api import OAuthTokenProvider
    from explorer.core.accounts import oauth_secret, tokens_from_secret
    from explorer.core.settings import oauth_app_from_env

    app = oauth_app_from_env()
    if app is None:
        raise ValueError(f"{entry.account.name} signs in with OAuth, and no OAuth app is "
                         "configured")
    store = account_store()

    def keep(tokens: TokenSet) -> None:   # keyring blocks: the provider runs it in a thread
        store.store_secret(entry.id, oauth_secret(tokens))

    provider = OAuthTokenProvider(app, tokens_from_secret(secret), on_tokens=keep)
    return open_account(entry.account, provider)


async def choose_account(store: AccountStore, parent: Any = None,
                         notice: str | None = None) -> Any:
    """Show the account manager (with ``notice`` in its message line: why it opened);
    ``(SavedAccount, token)`` for the chosen account, ``"demo"`` for "Try the demo", None
    when closed."""
    from explorer.core.settings import oauth_app_from_env
    from explorer.qt.asyncqt import ask
    from explorer.qt.dialogs.accounts import AccountsDialog

    # keyring picks its backend on first use (a D-Bus probe on Linux): not on the UI thread.
    await asyncio.to_thread(store.keychain_available)
    dialog = AccountsDialog(store, parent, oauth_app=oauth_app_from_env())
    if notice:
        dialog.say(notice)
    await ask(dialog)
    dialog.deleteLater()
    if dialog.demo_chosen:
        return "demo"
    if dialog.chosen is None or dialog.chosen_token is None:
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

    def closed() -> None:
        if not rows.done():
            rows.set_exception(RuntimeError("the window was closed"))

    window.first_rows.connect(got)
    window.runner.failed.connect(failed)
    window.load_failed.connect(lambda message: failed("the first page", message, None))
    window.closed.connect(closed)
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
    """One line on stderr (and in the log) for whoever started the app from a terminal."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)  # noqa: T201
    log.error("%s", message)


if __name__ == "__main__":
    raise SystemExit(main())
