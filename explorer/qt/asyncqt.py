"""The one qasync seam: the event loop, the task runner that owns background work, ``ask``.

Nothing else in the project imports qasync. PySide6 is imported first, so qasync binds to it.

- ``run(main)`` starts a ``QApplication`` (if none exists) and runs ``main()`` on a qasync
  loop until the application quits; ``main`` builds the window and returns.
- ``TaskRunner`` starts every coroutine the window runs: it keeps them referenced, names them,
  starts each in its API lane, cancels the previous run of a keyed task (a new selection
  replaces the old one's load), reports failures through one signal (the error sink listens)
  and cancels everything on shutdown.
- ``ask(dialog)`` opens a dialog window-modally with ``open()`` and awaits its result, with no
  nested event loop (never ``exec()`` inside a coroutine).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QMessageLogContext, QObject, QtMsgType, Signal, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QDialog

# isort: split
import qasync  # after PySide6, so qasync binds to it
import shiboken6

from explorer.api import lanes

log = logging.getLogger(__name__)

T = TypeVar("T")
Retry = Callable[[], object]


def new_loop(app: QApplication) -> asyncio.AbstractEventLoop:
    """A qasync loop on ``app``, set as the thread's event loop."""
    loop: asyncio.AbstractEventLoop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    return loop


_QT_LEVELS = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}


def route_qt_messages() -> None:
    """Send Qt's own messages (``qWarning`` and the like) to the log file instead of stderr,
    where a platform plugin's chatter would bury the app's one-line messages."""
    qt_log = logging.getLogger("qt")

    def handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        qt_log.log(_QT_LEVELS.get(kind, logging.WARNING), "%s", message)

    qInstallMessageHandler(handler)


def run(main: Callable[[], Awaitable[T]], app: QApplication | None = None) -> int:
    """Run ``main()`` on a qasync loop, then keep the loop (and Qt) running until the last
    window is closed or the application quits. A non-zero int from ``main`` ends at once
    with that exit code."""
    app = app or (QApplication.instance() or QApplication([]))  # type: ignore[assignment]
    assert isinstance(app, QApplication)
    loop = new_loop(app)
    # The loop, not Qt, decides when to stop: Qt quitting on its own would stop the loop
    # with the coroutine still pending.
    app.setQuitOnLastWindowClosed(False)
    done = asyncio.Event()
    app.lastWindowClosed.connect(done.set)
    app.aboutToQuit.connect(done.set)
    code = 0

    async def body() -> None:
        nonlocal code
        result = await main()
        if isinstance(result, int) and not isinstance(result, bool) and result != 0:
            code = result
            return
        await done.wait()

    try:
        loop.run_until_complete(body())
    finally:
        loop.close()
    return code


class TaskRunner(QObject):
    """Owns the window's coroutines.

    ``start(coro, name=...)`` runs a coroutine as a task in its lane (``interactive`` unless
    told), keeps it until it ends, and sends a failure to ``failed``. ``key``: starting another
    task with the same key cancels the previous one first (a new selection replaces the load
    of the old one; search-as-you-type). ``retry``: a callable the error sink offers as a
    "Retry" button when the task fails. ``shutdown()`` cancels every task and waits for them.

    Signals:
        failed(str, object, object): task name, the exception, the retry callable or None.
    """

    failed = Signal(str, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._keyed: dict[str, asyncio.Task[Any]] = {}
        self._closed = False

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        return frozenset(self._tasks)

    def start(self, coro: Coroutine[Any, Any, T], *, name: str, key: str | None = None,
              lane: lanes.Lane = "interactive", retry: Retry | None = None,
              report: bool = True) -> asyncio.Task[T]:
        """Run ``coro`` as a task; see the class docstring. ``report=False``: the caller
        handles failures itself (the task's exception is still retrieved, never logged as
        unhandled)."""
        if self._closed:
            coro.close()
            raise RuntimeError("the task runner is shut down")
        if key is not None:
            previous = self._keyed.get(key)
            if previous is not None and not previous.done():
                previous.cancel()
        with lanes.lane(lane):
            task = asyncio.get_event_loop().create_task(coro, name=name)
        self._tasks.add(task)
        if key is not None:
            self._keyed[key] = task
        task.add_done_callback(lambda t: self._done(t, key, retry, report))
        return task

    def cancel(self, key: str) -> None:
        task = self._keyed.get(key)
        if task is not None:
            task.cancel()

    async def shutdown(self) -> None:
        """Cancel every task and wait until each has ended."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _done(self, task: asyncio.Task[Any], key: str | None, retry: Retry | None,
              report: bool) -> None:
        self._tasks.discard(task)
        if key is not None and self._keyed.get(key) is task:
            del self._keyed[key]
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        if report:
            log.warning("task %s failed: %s", task.get_name(), exc)
            self.failed.emit(task.get_name(), exc, retry)
        else:
            # The caller meant to handle failures itself; one that got out is a bug, and at
            # least the log must show it.
            log.warning("task %s failed unhandled", task.get_name(), exc_info=exc)


async def ask(dialog: QDialog) -> int:
    """Open ``dialog`` window-modally and return its result code once it is finished (accepted
    or rejected), without a nested event loop. A dialog destroyed before it finished (its
    parent window closed) counts as rejected."""
    future: asyncio.Future[int] = asyncio.get_event_loop().create_future()

    def finished(result: int) -> None:
        if not future.done():
            future.set_result(result)

    def destroyed(*_: object) -> None:
        finished(QDialog.DialogCode.Rejected.value)

    dialog.finished.connect(finished)
    dialog.destroyed.connect(destroyed)
    _asking.add(dialog)
    dialog.open()
    try:
        return await future
    finally:
        _asking.discard(dialog)
        if shiboken6.isValid(dialog):
            dialog.finished.disconnect(finished)
            dialog.destroyed.disconnect(destroyed)


_asking: set[QDialog] = set()


def reject_open_dialogs() -> None:
    """Reject every dialog an ``ask`` waits for (the app is stopping on a signal)."""
    for dialog in list(_asking):
        if shiboken6.isValid(dialog):
            dialog.reject()
