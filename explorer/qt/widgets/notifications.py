"""The error sink: non-modal notifications, with a retry where it helps, and banners for
states that last (blocked, daily budget spent, token refused, offline).

``NotificationArea.report(error_or_message, context=..., retry=...)`` explains anything
(``explorer.core.explain``) and shows it as a note with a title, what happened and what to
do, a "Retry" button when retrying helps and a retry is given, and a close button. The same
error again raises the note's count instead of stacking a copy. Info notes hide after a few
seconds; errors stay until closed. Lasting states go to a banner per state, which says
until when and clears itself then, or when ``follow(session)`` hears that the state is over
(the governor lifts a block or a spent budget; an answer arrives after a refused token or a
lost connection). Never a modal dialog.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from explorer.api.errors import Unauthorized
from explorer.api.events import BlockState, DailyState, GovernorEvent
from explorer.api.ratelimit import RateSnapshot, UsageCounter
from explorer.core.explain import Explanation, Lasting, blocked, daily_spent, explain
from explorer.core.session import Session
from explorer.qt.asyncqt import Retry, TaskRunner
from explorer.qt.widgets.rate_meter import CRITICAL, NEUTRAL, WARN, level_colour

log = logging.getLogger(__name__)

INFO_MS = 6000
"""How long an info note stays."""
MAX_NOTES = 6
"""Notes shown at most; the oldest goes first."""
_LEVEL = {"info": NEUTRAL, "warning": WARN, "error": CRITICAL}


class Note(QFrame):
    """One notification (objectName ``notification``) or state banner (``stateBanner``).

    Children: ``notificationTitle``, ``notificationText``, ``notificationCount`` (×N, hidden
    at 1), ``notificationRetry`` (only with a retry that helps), ``notificationClose``.

    Attributes:
        explanation: what it says.
        count: how many times it was reported.
        context: the operation it concerns.
        retry: what "Retry" calls, or None.

    Signals:
        closed(): the note was closed (by the button, Retry, a timer or the area).
        retried(): "Retry" was clicked (before ``closed``).
    """

    closed = Signal()
    retried = Signal()

    def __init__(self, explanation: Explanation, *, context: str = "", banner: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stateBanner" if banner else "notification")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.banner = banner
        self.count = 1
        self.context = context
        self.retry: Retry | None = None
        self.explanation = explanation
        self._title = QLabel(self)
        self._title.setObjectName("notificationTitle")
        font = self._title.font()
        font.setBold(True)
        self._title.setFont(font)
        self._text = QLabel(self)
        self._text.setObjectName("notificationText")
        self._text.setWordWrap(True)
        self._text.setTextFormat(Qt.TextFormat.PlainText)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._count = QLabel(self)
        self._count.setObjectName("notificationCount")
        self._retry = QPushButton("Retry", self)
        self._retry.setObjectName("notificationRetry")
        self._retry.clicked.connect(self._on_retry)
        self._close = QPushButton("Close", self)
        self._close.setObjectName("notificationClose")
        self._close.setToolTip("Close this notification")
        self._close.clicked.connect(self.dismiss)
        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.timeout.connect(self.dismiss)
        self._done = False

        text = QVBoxLayout()
        text.addWidget(self._title)
        text.addWidget(self._text)
        row = QHBoxLayout(self)
        row.addLayout(text, 1)
        row.addWidget(self._count, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self._retry, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self._close, 0, Qt.AlignmentFlag.AlignTop)
        self.show_explanation(explanation)

    def show_explanation(self, explanation: Explanation, retry: Retry | None = None) -> None:
        """Say ``explanation`` (the latest of repeated reports); offer ``retry`` if it helps."""
        self.explanation = explanation
        self.retry = retry if explanation.retry_helps else None
        self._title.setText(explanation.title)
        self._text.setText(explanation.text)
        self._retry.setVisible(self.retry is not None)
        self._count.setText(f"×{self.count}")
        self._count.setVisible(self.count > 1)
        self.setProperty("severity", explanation.severity)
        palette = self._title.palette()
        palette.setColor(self._title.foregroundRole(),
                         level_colour(_LEVEL[explanation.severity], self.palette()))
        self._title.setPalette(palette)
        if explanation.severity == "info" and not self.banner:
            self._hide_timer.start(INFO_MS)
        else:
            self._hide_timer.stop()

    def repeat(self, explanation: Explanation, retry: Retry | None) -> None:
        self.count += 1
        self.show_explanation(explanation, retry)

    def set_expiry(self, until: datetime | None) -> None:
        """Close by itself at ``until`` (a state that passes then)."""
        if until is None:
            return
        seconds = (until - datetime.now(UTC)).total_seconds()
        self._hide_timer.start(max(0, min(round(seconds * 1000), 86_400_000)))

    @property
    def is_closed(self) -> bool:
        return self._done

    def texts(self) -> tuple[str, str]:
        """(title, text) as shown."""
        return self._title.text(), self._text.text()

    def retry_button(self) -> QPushButton | None:
        return self._retry if self.retry is not None else None

    @Slot()
    def dismiss(self) -> None:
        if self._done:
            return
        self._done = True
        self._hide_timer.stop()
        self.hide()
        self.closed.emit()
        self.deleteLater()

    def _on_retry(self) -> None:
        self.retried.emit()
        self.dismiss()


class NotificationArea(QWidget):
    """Where the window's errors and notes appear, above the status bar or atop the central
    area (objectName ``notificationArea``); hidden while empty.

    ``report(...)`` shows anything; ``on_task_failed`` is the slot for
    ``TaskRunner.failed(name, exc, retry)``; ``follow(session)`` keeps the banners of lasting
    states in step with the session. ``runner``: a retry that returns a coroutine is started
    there (under the failed task's name).

    Attributes:
        runner: the task runner for retries that return coroutines (may be None).

    Signals:
        reported(object): the ``Note`` shown or updated by a report.
    """

    reported = Signal(object)
    _governor_event = Signal(object)
    _answered = Signal(int)

    def __init__(self, parent: QWidget | None = None, *,
                 runner: TaskRunner | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notificationArea")
        self.runner = runner
        self._notes: dict[str, Note] = {}
        self._banners: dict[Lasting, Note] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._shown: tuple[BlockState | None, DailyState | None] = (None, None)
        self._governor_event.connect(self._on_governor, Qt.ConnectionType.QueuedConnection)
        self._answered.connect(self._on_answer, Qt.ConnectionType.QueuedConnection)
        self.hide()

    # ------------------------------------------------------------------ reporting

    def report(self, error: BaseException | str, *, context: str = "",
               retry: Retry | None = None) -> Note:
        """Show ``error`` (an exception, or a message for an info note) about ``context``
        (the operation: "load deals"); ``retry`` is offered when retrying helps. Returns
        the note (or banner) shown."""
        explanation = explain(error, context=context)
        if explanation.lasting is not None:
            note = self.show_state(explanation, retry=retry, context=context)
        else:
            note = self._note(explanation, context, retry)
        self.reported.emit(note)
        return note

    @Slot(str, object, object)
    def on_task_failed(self, name: str, error: object, retry: object) -> None:
        """The slot for ``TaskRunner.failed``."""
        if isinstance(error, asyncio.CancelledError):
            return
        exc = error if isinstance(error, BaseException) else RuntimeError(str(error))
        self.report(exc, context=name, retry=retry if callable(retry) else None)

    def show_state(self, explanation: Explanation, *, retry: Retry | None = None,
                   context: str = "") -> Note:
        """The banner of a lasting state (``explanation.lasting``), new or updated; it closes
        by itself at ``explanation.until``."""
        kind = explanation.lasting
        assert kind is not None, "only lasting states have a banner"
        banner = self._banners.get(kind)
        if banner is not None and not banner.is_closed:
            banner.show_explanation(explanation, retry)  # the latest word; no count
        else:
            banner = Note(explanation, context=context, banner=True, parent=self)
            banner.show_explanation(explanation, retry)
            self._banners[kind] = banner
            self._add(banner, 0, lambda: self._forget_banner(kind, banner))
        banner.set_expiry(explanation.until)
        return banner

    def clear_state(self, kind: Lasting) -> None:
        """Close the banner of ``kind`` (the state is over)."""
        banner = self._banners.pop(kind, None)
        if banner is not None:
            banner.dismiss()

    def notes(self) -> list[Note]:
        """Open notes, oldest first (banners not included)."""
        return [n for n in self._notes.values() if not n.is_closed]

    def banners(self) -> dict[Lasting, Note]:
        return {k: b for k, b in self._banners.items() if not b.is_closed}

    def _note(self, explanation: Explanation, context: str, retry: Retry | None) -> Note:
        note = self._notes.get(explanation.key)
        if note is not None and not note.is_closed:
            note.repeat(explanation, retry)
            return note
        note = Note(explanation, context=context, parent=self)
        note.show_explanation(explanation, retry)
        self._notes[explanation.key] = note
        key = explanation.key
        self._add(note, self._layout.count(), lambda: self._forget_note(key, note))
        open_notes = self.notes()
        for old in open_notes[:max(0, len(open_notes) - MAX_NOTES)]:
            old.dismiss()
        return note

    def _add(self, note: Note, index: int, forget: Callable[[], None]) -> None:
        note.closed.connect(forget)
        note.retried.connect(lambda: self._retry(note))
        self._layout.insertWidget(index, note)
        self.show()

    def _forget_note(self, key: str, note: Note) -> None:
        if self._notes.get(key) is note:
            del self._notes[key]
        self._hide_if_empty()

    def _forget_banner(self, kind: Lasting, note: Note) -> None:
        if self._banners.get(kind) is note:
            del self._banners[kind]
        self._hide_if_empty()

    def _hide_if_empty(self) -> None:
        if not self.notes() and not self.banners():
            self.hide()

    def _retry(self, note: Note) -> None:
        retry = note.retry
        if retry is None:
            return
        try:
            result = retry()
        except Exception as exc:  # the retry itself failed at once: say so, do not crash
            self.report(exc, context=note.context)
            return
        if inspect.iscoroutine(result):
            if self.runner is not None:
                self.runner.start(result, name=note.context or "retry", retry=retry)
            else:
                result.close()
                log.warning("a retry returned a coroutine but the notification area has no "
                            "task runner; it was not run")

    # ------------------------------------------------------------------ following a session

    def follow(self, session: Session) -> Callable[[], None]:
        """Keep the banners in step with ``session``: a block or a spent daily budget shows
        (and clears) as the governor reports it; any answer clears "offline" and a success
        clears "unauthorized". Returns the unsubscribe (also called when the area goes)."""
        unsubscribers = [session.governor.subscribe(self._governor_event.emit),
                         session.on_snapshot(self._snapshot)]

        def forget(_: object = None) -> None:
            for unsubscribe in unsubscribers:
                unsubscribe()

        self.destroyed.connect(forget)
        return forget

    def _snapshot(self, snapshot: RateSnapshot, usage: UsageCounter) -> None:
        if snapshot.blocked:
            return
        # A 401 is the session's state, whichever pane's request met it (the table and the
        # tree show their own failures in place and do not report them here).
        if (snapshot.status == 401 or "offline" in self._banners
                or "unauthorized" in self._banners):
            self._answered.emit(snapshot.status)

    def _on_answer(self, status: int) -> None:
        self.clear_state("offline")
        if status < 400:
            self.clear_state("unauthorized")
        elif status == 401 and "unauthorized" not in self._banners:
            self.show_state(explain(Unauthorized(401, "GET", "", "Unauthorized")))

    def _on_governor(self, event: GovernorEvent) -> None:
        state = event.state
        shown_block, shown_daily = self._shown
        if state.block != shown_block:
            if state.block is None:
                self.clear_state("blocked")
            else:
                self.show_state(blocked(state.block.until,
                                        told=state.block.cooldown_source == "retry_after"))
        if state.daily != shown_daily:
            if state.daily is None:
                self.clear_state("daily")
            else:
                self.show_state(daily_spent(state.daily.resets_at,
                                            approximate=state.daily.approximate))
        self._shown = (state.block, state.daily)
