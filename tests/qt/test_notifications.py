"""The error sink against the sandbox: a failed task becomes a non-modal note with what to do;
the same error again collapses into one with a count; Retry calls the retry and closes the
note; info notes hide by themselves, errors stay; lasting states (token refused, offline,
daily budget spent, 403 block) are banners that clear when the state is over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from explorer.api.config import RetryPolicy
from explorer.api.errors import Blocked, RateLimited
from explorer.core.accounts import Account
from explorer.core.session import Session
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.widgets import notifications
from explorer.qt.widgets.notifications import Note, NotificationArea
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import FaultRule, LimitConfig, SandboxConfig
from tests.conftest import BASE_URL
from tests.qt.conftest import until


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(limits=LimitConfig(enabled=True))


@pytest.fixture
async def plain(app: SandboxApp, account: Account) -> AsyncIterator[Session]:
    """A session whose client gives up at once (no automatic retries), so faults surface."""
    s = Session.connect(account, DEFAULT_TOKEN, transport=httpx.ASGITransport(app=app),
                        retry=RetryPolicy.never())
    yield s
    await s.close()


@pytest.fixture
def area(runner: TaskRunner, qtbot) -> Iterator[NotificationArea]:  # type: ignore[no-untyped-def]
    host = QWidget()  # the window's central area
    widget = NotificationArea(host, runner=runner)
    runner.failed.connect(widget.on_task_failed)
    qtbot.addWidget(host)
    host.show()
    yield widget


def opening(session: Session, deal: int,
            found: list[Any]) -> Callable[[], Coroutine[Any, Any, None]]:
    async def load() -> None:
        found.append(await session.client.get("deals", deal))

    return load


async def test_the_same_failure_twice_is_one_note_with_a_count(
    plain: Session, runner: TaskRunner, area: NotificationArea
) -> None:
    found: list[Any] = []
    for _ in range(2):
        task = runner.start(opening(plain, 999_999, found)(), name="open deal 999999")
        await asyncio.gather(task, return_exceptions=True)
    await until(lambda: area.notes() and area.notes()[0].count == 2)
    (note,) = area.notes()
    title, text = note.texts()
    assert (note.objectName(), title) == ("notification", "Not found")
    assert "open deal 999999" in text and "deleted" in text and "Refresh the list" in text
    count = note.findChild(QLabel, "notificationCount")
    assert count is not None and count.text() == "×2" and count.isVisible()
    assert note.retry_button() is None  # retrying a deleted record does not help
    assert area.isVisible() and QApplication.activeModalWidget() is None
    other = area.report(KeyError("x"), context="export deals")
    assert other is not note and len(area.notes()) == 2


async def test_retry_calls_the_retry_and_closes_the_note(
    plain: Session, runner: TaskRunner, area: NotificationArea, app: SandboxApp,
    qtbot: QtBot
) -> None:
    app.state.faults.add(FaultRule(kind="error_503", count=1, path="/api/v2/deals/*"))
    found: list[Any] = []
    retried: list[str] = []
    load = opening(plain, 7, found)

    def retry() -> object:
        retried.append("deal 7")
        return load()  # a coroutine: the area starts it on its runner

    runner.start(load(), name="open deal 7", retry=retry)
    await until(lambda: area.notes())
    (note,) = area.notes()
    assert note.texts()[0] == "Pipedrive had a problem" and "HTTP 503" in note.texts()[1]
    button = note.retry_button()
    assert button is not None and button.objectName() == "notificationRetry"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
    assert retried == ["deal 7"] and note.is_closed and not area.notes()
    await until(lambda: found)
    assert found[0]["id"] == 7
    await until(lambda: not area.isVisible())


async def test_info_notes_hide_by_themselves_and_errors_stay(
    area: NotificationArea, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications, "INFO_MS", 50)
    info = area.report("Exported 120 deals", context="Export")
    error = area.report(ValueError("bad shape"), context="load deals")
    assert info.texts() == ("Export", "Exported 120 deals")
    await until(lambda: info.is_closed)
    await asyncio.sleep(0.2)
    assert not error.is_closed and area.notes() == [error]
    close = error.findChild(QPushButton, "notificationClose")
    assert close is not None
    close.click()
    assert error.is_closed and not area.notes()


async def test_a_refused_token_is_a_banner_saying_to_re_enter_it(
    app: SandboxApp, account: Account, runner: TaskRunner, area: NotificationArea
) -> None:
    wrong = Session.connect(account, "not-the-token", transport=httpx.ASGITransport(app=app))
    try:
        runner.start(wrong.client.get("deals", 1), name="open deal 1")
        await until(lambda: "unauthorized" in area.banners())
    finally:
        await wrong.close()
    banner = area.banners()["unauthorized"]
    assert banner.objectName() == "stateBanner" and not area.notes()
    title, text = banner.texts()
    assert "refused the API token" in title
    assert "Re-enter the API token in File → Accounts" in text and "not-the-token" not in text


async def test_offline_is_a_banner_with_retry_that_clears_on_the_next_answer(
    plain: Session, runner: TaskRunner, area: NotificationArea, app: SandboxApp
) -> None:
    area.follow(plain)
    app.state.faults.add(FaultRule(kind="drop", count=1, path="/api/v2/deals/*"))
    found: list[Any] = []
    load = opening(plain, 3, found)
    runner.start(load(), name="open deal 3", retry=lambda: runner.start(load(), name="again"))
    await until(lambda: "offline" in area.banners())
    banner = area.banners()["offline"]
    assert "Check the network connection" in banner.texts()[1]
    assert "does not cost API tokens" in banner.texts()[1]
    assert banner.retry_button() is not None
    banner.retry_button().click()  # type: ignore[union-attr]
    await until(lambda: found)
    assert found[0]["id"] == 3 and "offline" not in area.banners()


async def test_a_spent_daily_budget_is_one_banner_that_says_when_and_what_to_do(
    session: Session, runner: TaskRunner, area: NotificationArea, app: SandboxApp
) -> None:
    area.follow(session)
    app.state.limiter.reconfigure(LimitConfig(budget=2))
    await session.client.get("deals", 1)
    await session.client.get("deals", 2)
    task = runner.start(session.client.get("deals", 3), name="open deal 3")
    await asyncio.gather(task, return_exceptions=True)
    assert isinstance(task.exception(), RateLimited)
    await until(lambda: "daily" in area.banners())
    await asyncio.sleep(0.1)  # the governor's event and the failed task: one banner
    assert list(area.banners()) == ["daily"] and not area.notes()
    title, text = area.banners()["daily"].texts()
    assert title == "Daily API budget spent"
    resets = datetime.fromisoformat(app.state.limiter.snapshot()["daily_budget"]["resets_at"])
    local = resets.astimezone()
    day = "tomorrow " if local.date() > datetime.now().astimezone().date() else ""
    assert f"until it resets {day}at {local:%H:%M}." in text
    assert "Wait until then" in text
    # The budget comes back (the sandbox's day turns): the governor lifts the latch.
    app.state.limiter.reconfigure(LimitConfig(budget=100))
    app.state.limiter.reset()
    session.governor.clear_daily()
    await until(lambda: "daily" not in area.banners())


async def test_a_block_is_a_banner_until_the_cool_down_ends(
    session: Session, runner: TaskRunner, area: NotificationArea, app: SandboxApp
) -> None:
    area.follow(session)
    app.state.limiter.reconfigure(LimitConfig(block_after=2))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                 headers={"x-api-token": DEFAULT_TOKEN}) as other:
        for _ in range(44):  # another app on the token ignores its 429s and gets blocked
            await other.get("/api/v2/deals/1")
    task = runner.start(session.client.get("deals", 1), name="open deal 1")
    await asyncio.gather(task, return_exceptions=True)
    assert isinstance(task.exception(), Blocked)
    await until(lambda: "blocked" in area.banners())
    title, text = area.banners()["blocked"].texts()
    assert title == "Pipedrive blocked this API token"
    assert "Nothing is sent until" in text and "resume by themselves" in text
    assert area.banners()["blocked"].retry_button() is None
    session.governor.resume()  # the cool-down is over (or the user lifts it)
    await until(lambda: "blocked" not in area.banners())


async def test_a_destroyed_area_stops_following(session: Session) -> None:
    area = NotificationArea()
    area.follow(session)
    assert session._snapshot_listeners
    area.deleteLater()
    await until(lambda: not session._snapshot_listeners)
    await session.client.get("deals", 1)  # nothing left to call


def test_notes_are_frames_with_stable_names(qtbot) -> None:  # type: ignore[no-untyped-def]
    area = NotificationArea()
    qtbot.addWidget(area)
    note = area.report(ValueError("x"), context="load", retry=lambda: None)
    assert isinstance(note, Note)
    names = {w.objectName() for w in note.findChildren(QWidget)}
    assert {"notificationTitle", "notificationText", "notificationRetry",
            "notificationClose", "notificationCount"} <= names
    assert area.objectName() == "notificationArea"
