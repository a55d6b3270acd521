"""The qasync seam: tasks in lanes, keyed cancellation, failures reported, shutdown."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QDialog

from explorer.api import lanes
from explorer.core.session import Session
from explorer.qt.asyncqt import TaskRunner, ask
from tests.qt.conftest import until


async def test_tasks_run_in_their_lane_and_failures_are_reported(runner: TaskRunner) -> None:
    seen: list[str] = []
    failures: list[tuple[str, object, object]] = []
    runner.failed.connect(lambda name, exc, retry: failures.append((name, exc, retry)))

    async def note() -> None:
        seen.append(lanes.current())

    async def boom() -> None:
        raise ValueError("broken")

    await runner.start(note(), name="a")
    await runner.start(note(), name="b", lane="background")
    assert seen == ["interactive", "background"]
    retry = object()
    task = runner.start(boom(), name="boom", retry=retry)  # type: ignore[arg-type]
    await asyncio.gather(task, return_exceptions=True)
    await until(lambda: failures)
    assert failures[0][0] == "boom" and isinstance(failures[0][1], ValueError)
    assert failures[0][2] is retry


async def test_a_keyed_task_replaces_the_previous_one(runner: TaskRunner) -> None:
    first = runner.start(asyncio.sleep(10), name="load 1", key="detail")
    second = runner.start(asyncio.sleep(0), name="load 2", key="detail")
    await second
    await until(first.done)
    assert first.cancelled()


async def test_shutdown_cancels_everything() -> None:
    runner = TaskRunner()
    task = runner.start(asyncio.sleep(10), name="long")
    await runner.shutdown()
    assert task.cancelled() and not runner.tasks


async def test_ask_awaits_a_dialog_without_a_nested_loop(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = QDialog()
    qtbot.addWidget(dialog)
    answer = asyncio.ensure_future(ask(dialog))
    await until(dialog.isVisible)
    dialog.accept()
    assert await answer == QDialog.DialogCode.Accepted


async def test_the_session_loads_fields_once(session: Session) -> None:
    first, second = await asyncio.gather(session.fields("deals"), session.fields("deals"))
    assert first is second and first is not None
    assert any(f.is_custom for f in first)
    for resource in ("notes", "users", "leads"):
        assert await session.fields(resource) is not None


async def test_ask_ends_as_rejected_when_the_dialog_is_destroyed(qtbot) -> None:  # type: ignore[no-untyped-def]
    parent = QDialog()
    dialog = QDialog(parent)
    answer = asyncio.ensure_future(ask(dialog))
    await until(dialog.isVisible)
    parent.deleteLater()  # the window closed under the dialog: no finished() is emitted
    assert await asyncio.wait_for(answer, 5) == QDialog.DialogCode.Rejected.value
