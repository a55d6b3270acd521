"""The rate-limit meter for the status bar: burst window, daily token budget, and why requests
are held back, from response headers and governor events only.

It never sends a request of its own: it listens to ``session.governor.subscribe`` (the
governor's whole state after every change, ``explorer.api.events``) and
``session.on_snapshot`` (the rate-limit headers and usage after every response,
``explorer.api.ratelimit``). Updates are coalesced: listeners only store the latest data and
arm one single-shot timer, so a burst of answers is at most one repaint per ``REPAINT_MS``;
a one-second tick runs only while a countdown (window reset, 429 pause) is on screen.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from explorer.api.events import GovernorEvent, GovernorState
from explorer.api.ratelimit import SEARCH_LIMIT, RateSnapshot, UsageCounter
from explorer.core.explain import Explanation, blocked, clock, daily_spent
from explorer.core.session import Session

REPAINT_MS = 200
"""At most one repaint per this many milliseconds (about 5 a second)."""
FINE, WARN, CRITICAL, NEUTRAL = "fine", "warn", "critical", "neutral"

# Readable on a light window (Primer's "fg" shades) and on a dark one (their dark variants).
_COLOURS = {
    False: {FINE: "#1a7f37", WARN: "#9a6700", CRITICAL: "#cf222e"},
    True: {FINE: "#3fb950", WARN: "#d29922", CRITICAL: "#f85149"},
}


_SOURCES = {
    "headers": "from Pipedrive's headers",
    "plan": "the plan's documented limit: an estimate until Pipedrive says",
    "documented": "Pipedrive's documented limit",
    "rate_limited": "lowered after a 429",
    "unpaced": "not paced",
}


def level(left: float) -> str:
    """The colour level of a share left: ≥ 50 % fine, 20–50 % warn, below 20 % critical."""
    if left >= 0.5:
        return FINE
    return WARN if left >= 0.2 else CRITICAL


def level_colour(name: str, palette: QPalette) -> QColor:
    """``name``'s colour for ``palette`` (light or dark window); the text colour if neutral."""
    if name not in (FINE, WARN, CRITICAL):
        return palette.color(QPalette.ColorRole.WindowText)
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    return QColor(_COLOURS[dark][name])


class BudgetBar(QWidget):
    """A small bar of the share of the daily budget left, sized from the font.

    Attributes:
        left: the share left (0..1), None when unknown (an empty frame).
        level: the colour level of the fill.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left: float | None = None
        self.level = NEUTRAL

    def set_share(self, left: float | None, level_name: str) -> None:
        if (left, level_name) != (self.left, self.level):
            self.left, self.level = left, level_name
            self.update()

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        return QSize(metrics.horizontalAdvance("0") * 8, max(4, round(metrics.height() * 0.6)))

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        hint = self.sizeHint()
        box = QRectF(0.5, (self.height() - hint.height()) / 2 + 0.5,
                     self.width() - 1.0, hint.height() - 1.0)
        painter.setPen(palette.color(QPalette.ColorRole.Mid))
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRect(box)
        if self.left:
            fill = QRectF(box.x(), box.y(), box.width() * min(1.0, self.left), box.height())
            painter.fillRect(fill, level_colour(self.level, palette))
        painter.end()


class RateLimitMeter(QWidget):
    """What is left of Pipedrive's limits for one session, for the status bar.

    ``RateLimitMeter(session)`` subscribes at once; ``close()`` or destruction unsubscribes
    (``detach()`` does it by hand). Child labels: ``meterBurst`` (the burst window and its
    reset countdown), ``meterDailyBar`` and ``meterDaily`` (the daily token budget),
    ``meterHold`` (why requests are held back, and until when; hidden when nothing is).

    Attributes:
        renders: how many times the meter re-rendered (each is one repaint of its labels).
        levels: the colour level of ``burst`` and ``daily`` (``fine``/``warn``/``critical``/
            ``neutral``) after the last render.

    Signals:
        changed(): after each render (tests and the window may listen).
    """

    changed = Signal()
    _poke = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rateLimitMeter")
        self.setAccessibleName("Pipedrive API limits")
        self.renders = 0
        self.levels = {"burst": NEUTRAL, "daily": NEUTRAL}
        self._state: GovernorState | None = None
        self._burst: RateSnapshot | None = None  # the last burst answer with its headers
        self._search: RateSnapshot | None = None
        self._daily: RateSnapshot | None = None  # the last answer with the daily headers
        self._answered = False
        self._usage: UsageCounter = session.client.usage
        self._poked = False
        self._detached = False
        self._hold_level = NEUTRAL

        self._burst_label = self._label("meterBurst")
        self._bar = BudgetBar(self)
        self._bar.setObjectName("meterDailyBar")
        self._daily_label = self._label("meterDaily")
        self._hold_label = self._label("meterHold")
        self._hold_label.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self._burst_label, self._bar, self._daily_label, self._hold_label):
            layout.addWidget(widget)

        self._repaint = QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(self._render)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._render)
        # Listeners may be called from any thread: they store, then poke the widget's thread.
        self._poke.connect(self._schedule, Qt.ConnectionType.QueuedConnection)

        unsubscribers = [session.governor.subscribe(self._on_event),
                         session.on_snapshot(self._on_snapshot)]
        self._unsubscribers: list[Callable[[], None]] = unsubscribers

        def forget(_: object = None) -> None:
            for unsubscribe in unsubscribers:  # not through self: it is being destroyed
                unsubscribe()

        self.destroyed.connect(forget)
        self._render()

    # ------------------------------------------------------------------ listeners

    def _on_event(self, event: GovernorEvent) -> None:
        self._state = event.state
        self._poke_once()

    def _on_snapshot(self, snapshot: RateSnapshot, usage: UsageCounter) -> None:
        self._usage = usage
        self._answered = True
        if snapshot.daily_token_limit is not None:
            self._daily = snapshot
        if snapshot.limit is not None and snapshot.remaining is not None:
            if snapshot.scope == "search":
                if snapshot.limit == SEARCH_LIMIT:  # else the general window's counters
                    self._search = snapshot
            else:
                self._burst = snapshot
        self._poke_once()

    def _poke_once(self) -> None:
        if not self._poked:
            self._poked = True
            self._poke.emit()

    def _schedule(self) -> None:
        self._poked = False
        if not self._detached and not self._repaint.isActive():
            self._repaint.start()

    def detach(self) -> None:
        """Stop listening to the session (the meter keeps showing its last state)."""
        self._detached = True
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._repaint.stop()
        self._tick.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.detach()
        super().closeEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            self._apply_colours()
        super().changeEvent(event)

    # ------------------------------------------------------------------ rendering

    def _label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setTextFormat(Qt.TextFormat.PlainText)
        return label

    def _render(self) -> None:
        self.renders += 1
        now, mono = datetime.now(UTC), time.monotonic()
        burst, counting = self._burst_text(mono)
        daily, share = self._daily_text(now)
        hold, holding = self._hold_text(now)
        self._burst_label.setText(burst)
        self._daily_label.setText(daily)
        self._bar.set_share(share, self.levels["daily"])
        self._bar.setVisible(share is not None)
        self._hold_label.setText(hold)
        self._hold_label.setVisible(bool(hold))
        self._apply_colours(hold_level=CRITICAL if holding == "stop" else
                            WARN if holding == "pause" else NEUTRAL)
        self.setToolTip(self._tooltip())
        self.setAccessibleDescription(". ".join(t for t in (burst, daily, hold) if t))
        if (counting or holding == "pause") and not self._detached:
            if not self._tick.isActive():
                self._tick.start()
        else:
            self._tick.stop()
        self.changed.emit()

    def _apply_colours(self, hold_level: str | None = None) -> None:
        if hold_level is not None:
            self._hold_level = hold_level
        for label, name in ((self._burst_label, self.levels["burst"]),
                            (self._daily_label, self.levels["daily"]),
                            (self._hold_label, self._hold_level)):
            colour = level_colour(name, self.palette())
            palette = label.palette()
            if palette.color(QPalette.ColorRole.WindowText) != colour:  # (else a repaint)
                palette.setColor(QPalette.ColorRole.WindowText, colour)
                label.setPalette(palette)

    def _burst_text(self, mono: float) -> tuple[str, bool]:
        """"Burst 37/40 · resets in 2 s", and whether a countdown is running."""
        window = self._state.windows.get("burst") if self._state else None
        snapshot = self._burst
        if window is not None and window.limit_source == "unpaced" and snapshot is None:
            self.levels["burst"] = NEUTRAL
            return "Burst: not limited", False
        limit = snapshot.limit if snapshot and snapshot.limit else (window.limit if window
                                                                    else None)
        if limit is None:
            self.levels["burst"] = NEUTRAL
            return "Burst: –", False
        candidates = []
        resets_at = None
        if snapshot is not None and snapshot.remaining is not None:
            ends = snapshot.taken_at + (snapshot.reset_seconds or 0.0)
            if mono < ends or snapshot.remaining >= limit:
                candidates.append(snapshot.remaining)
                resets_at = ends if snapshot.remaining < limit and mono < ends else None
        if window is not None:
            candidates.append(window.limit - window.occupied)
        remaining = max(0, min(candidates)) if candidates else limit
        self.levels["burst"] = level(remaining / limit)
        guess = "" if snapshot is not None else "~"
        text = f"Burst {guess}{remaining}/{limit}"
        if resets_at is not None:
            text += f" · resets in {max(1, math.ceil(resets_at - mono))} s"
        return text, resets_at is not None

    def _daily_text(self, now: datetime) -> tuple[str, float | None]:
        """"Daily 12,340 / 30,000 tokens left", and the share left (None: no bar)."""
        daily = self._state.daily if self._state else None
        if daily is not None:
            self.levels["daily"] = CRITICAL
            when = clock(daily.resets_at, now, seconds=False)
            note = " (UTC midnight)" if daily.approximate else ""
            return f"Daily budget spent — resumes {when}{note}", 0.0
        snapshot = self._daily
        if snapshot is None or snapshot.daily_token_limit is None:
            self.levels["daily"] = NEUTRAL
            if self._answered:
                return "Daily budget: not reported by Pipedrive", None
            return "Daily budget: unknown until the first answer", None
        limit = snapshot.daily_token_limit
        left = snapshot.daily_token_remaining
        if left is None or limit <= 0:
            self.levels["daily"] = NEUTRAL
            return f"Daily budget: {limit:,} tokens", None
        share = max(0.0, min(1.0, left / limit))
        self.levels["daily"] = level(share)
        return f"Daily {left:,} / {limit:,} tokens left", share

    def _hold_text(self, now: datetime) -> tuple[str, str]:
        """Why requests are held back: ``stop`` (block, spent budget), ``pause`` (429), ``pace``
        (waiting for room), or ``""``."""
        state = self._state
        if state is None:
            return "", ""
        if state.block is not None and state.block.until > now:
            guess = "" if state.block.cooldown_source == "retry_after" else " (assumed)"
            return (f"Blocked by Pipedrive (403) until {clock(state.block.until, now)}{guess}"
                    " — nothing is sent; it resumes by itself", "stop")
        # (A spent daily budget is said where the budget is shown: "resumes 01:00".)
        for kind, window in state.windows.items():
            if window.paused_until is not None and window.paused_until > now:
                return (f"Paused by Pipedrive until {clock(window.paused_until, now)} "
                        f"({kind} limit)", "pause")
        queued = sum(sum(w.queued.values()) for w in state.windows.values())
        if queued:
            return f"Pacing: {queued} request{'s' * (queued != 1)} waiting for room", "pace"
        return "", ""

    def _tooltip(self) -> str:
        usage = self._usage
        rows = "".join(
            f"<tr><td>{html.escape(op)}</td><td align='right'>{count:,}</td>"
            f"<td align='right'>{usage.tokens.get(op, 0):,}</td></tr>"
            for op, count in sorted(usage.requests.items()))
        lines = [f"<b>{html.escape(e.title)}</b><br>{html.escape(e.text)}<br>"
                 for e in self._lasting()]
        lines.append(f"<b>This session:</b> {usage.total_requests:,} requests, "
                 f"{usage.total_tokens:,} tokens")
        if usage.rate_limited:
            lines.append(f"{usage.rate_limited:,} answered 429 (not charged)")
        if self._state is not None:
            burst = self._state.windows.get("burst")
            if burst is not None:
                lines.append(f"Burst limit {burst.limit} per 2 s "
                             f"({_SOURCES.get(burst.limit_source, burst.limit_source)})")
            if self._state.pauses:
                lines.append(f"429 pauses so far: {self._state.pauses}")
        if self._search is not None:
            lines.append(f"Search {self._search.remaining}/{self._search.limit} per 2 s")
        if self._daily is not None and self._daily.daily_requests_left is not None:
            lines.append(f"Writes left today (fair use): {self._daily.daily_requests_left:,}")
        table = ("<table cellspacing='4'><tr><th align='left'>Operation</th>"
                 f"<th>Requests</th><th>Tokens</th></tr>{rows}</table>") if rows else ""
        return "<br>".join(lines) + table

    def _lasting(self) -> list[Explanation]:
        """The lasting states in the user's words (what to do, until when)."""
        state, now = self._state, datetime.now(UTC)
        found = []
        if state is not None and state.block is not None and state.block.until > now:
            found.append(blocked(state.block.until, now=now,
                                 told=state.block.cooldown_source == "retry_after"))
        if state is not None and state.daily is not None:
            found.append(daily_spent(state.daily.resets_at, approximate=state.daily.approximate,
                                     now=now))
        return found

    # ------------------------------------------------------------------ for tests

    @property
    def idle(self) -> bool:
        """No repaint is pending."""
        return not self._repaint.isActive()

    @property
    def ticking(self) -> bool:
        """The one-second tick runs (a countdown or a pause is on screen)."""
        return self._tick.isActive()

    def texts(self) -> dict[str, str]:
        """What the labels show now: ``burst``, ``daily``, ``hold``."""
        return {"burst": self._burst_label.text(), "daily": self._daily_label.text(),
                "hold": self._hold_label.text() if self._hold_label.isVisibleTo(self) else ""}

    def usage_rows(self) -> list[tuple[str, int, int]]:
        """The tooltip's rows: (operation, requests, tokens)."""
        usage = self._usage
        return [(op, n, usage.tokens.get(op, 0)) for op, n in sorted(usage.requests.items())]
