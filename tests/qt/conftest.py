"""Qt test fixtures: a qasync loop under every async test, and a session on the in-process
sandbox.

``session`` is an ``explorer.core.session.Session`` over the sandbox's ASGI app (limits off
unless the module overrides ``sandbox_config``); ``runner`` is a ``TaskRunner`` shut down
after the test. Async tests run on a qasync loop, so Qt widgets and coroutines share it;
drive widgets with single synthetic events and ``await asyncio.sleep(...)`` between them,
never ``qtbot.wait`` inside a coroutine.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

# isort: split
import qasync  # after PySide6, so qasync binds to it

from explorer.core.accounts import Account
from explorer.core.demo import DemoEndpoint, DemoSandbox
from explorer.core.session import Session
from explorer.qt.asyncqt import TaskRunner
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from tests.conftest import BASE_URL


def _qt_loop() -> asyncio.AbstractEventLoop:
    app = QApplication.instance() or QApplication([])
    return qasync.QEventLoop(app)


def pytest_asyncio_loop_factories(config: pytest.Config,
                                  item: pytest.Item) -> dict[str, Callable[[], object]]:
    """Every async test under tests/qt runs on a qasync loop."""
    return {"qt": _qt_loop}


@pytest.fixture(autouse=True)
def _collect_what_the_test_left(qapp: QApplication) -> Iterator[None]:
    """After each Qt test: collect its garbage and deliver its pending deletions now, while
    the test's widgets are still the only ones involved, so that a wrapper freed late can
    never be deleted by a collection running inside a later test's event processing."""
    yield
    gc.collect()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    qapp.processEvents()


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoEndpoint]:
    """The demo sandbox as ``--demo`` runs it (a child process on a free loopback port), one
    per module; it must stop cleanly (SIGTERM, exit status 0)."""
    sandbox = DemoSandbox.start(size="small")
    try:
        yield sandbox.wait_ready(timeout=60)
    finally:
        assert sandbox.stop() == 0


@pytest.fixture
def keep_app_running(qapp: QApplication) -> Iterator[None]:
    """Windows opened with ``open_window`` close without quitting the test's application."""
    before = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    yield
    qapp.setQuitOnLastWindowClosed(before)


@pytest.fixture
def account() -> Account:
    return Account(name="Sandbox test", base_url=BASE_URL, kind="sandbox", colour="#8250df")


@pytest.fixture
async def session(app: SandboxApp, account: Account) -> AsyncIterator[Session]:
    s = Session.connect(account, DEFAULT_TOKEN, transport=httpx.ASGITransport(app=app))
    yield s
    await s.close()


@pytest.fixture
async def runner() -> AsyncIterator[TaskRunner]:
    r = TaskRunner()
    yield r
    await r.shutdown()


async def until(condition: Callable[[], object], within: float = 5.0,
                step: float = 0.01) -> None:
    """Let the loop run until ``condition()`` is true; fail after ``within`` seconds."""
    loop = asyncio.get_event_loop()
    end = loop.time() + within
    while not condition():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(step)
