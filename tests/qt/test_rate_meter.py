"""The rate-limit meter against the sandbox with Pipedrive's limits on (growth plan, API
token: 40 requests per 2 s, 60,000 tokens a day): it follows the headers, shows a 429 pause,
a spent daily budget and a 403 block with their ends, coalesces repaints, lists this
session's usage per operation, and stops listening when closed. Expected figures come from
the plan's documented limits and the sandbox's own counters."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from explorer.api.errors import RateLimited
from explorer.api.ratelimit import RateSnapshot, UsageCounter
from explorer.core.session import Session
from explorer.qt.widgets.rate_meter import (
    CRITICAL,
    FINE,
    WARN,
    BudgetBar,
    RateLimitMeter,
    level,
    level_colour,
)
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import LimitConfig, SandboxConfig
from tests.conftest import BASE_URL
from tests.qt.conftest import until

GROWTH_BURST = 40  # pipedrive-api.md §5: growth plan, API token, per 2 s
GROWTH_DAILY = 60_000  # 30,000 × growth multiplier 2 × 1 seat


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(limits=LimitConfig(enabled=True))


@pytest.fixture
async def meter(session: Session, qtbot) -> AsyncIterator[RateLimitMeter]:  # type: ignore[no-untyped-def]
    host = QStatusBar()  # where the window puts it
    widget = RateLimitMeter(session)
    host.addPermanentWidget(widget)
    qtbot.addWidget(host)
    host.show()
    yield widget
    widget.close()


def snapshots_of(session: Session) -> list[RateSnapshot]:
    seen: list[RateSnapshot] = []

    def record(snapshot: RateSnapshot, usage: UsageCounter) -> None:
        seen.append(snapshot)

    session.on_snapshot(record)
    return seen


async def hammer(app: SandboxApp, n: int) -> list[int]:
    """Another app on the same token sends ``n`` requests at once, heedless of limits."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                 headers={"x-api-token": DEFAULT_TOKEN}) as other:
        return [(await other.get("/api/v2/deals/1")).status_code for _ in range(n)]


def shown_time(text: str, after: str) -> datetime:
    """The local HH:MM:SS that follows ``after`` in ``text``, as an aware datetime today."""
    found = re.search(re.escape(after) + r" (?:tomorrow )?(\d\d):(\d\d):(\d\d)", text)
    assert found, text
    now = datetime.now().astimezone()
    moment = now.replace(hour=int(found[1]), minute=int(found[2]), second=int(found[3]),
                         microsecond=0)
    if "tomorrow" in text or moment < now - timedelta(hours=12):
        moment += timedelta(days=1)
    return moment


async def test_before_any_answer_the_budget_is_unknown_and_nothing_is_asked(
    meter: RateLimitMeter, app: SandboxApp
) -> None:
    assert meter.objectName() == "rateLimitMeter"
    await until(lambda: meter.renders > 1)  # the governor's first event arrived
    await asyncio.sleep(0.5)
    assert meter.texts()["daily"] == "Daily budget: unknown until the first answer"
    assert meter.texts()["hold"] == ""
    assert sum(app.state.stats.requests.values()) == 0  # the meter never polls


async def test_answers_without_daily_headers_say_so(
    session: Session, meter: RateLimitMeter, app: SandboxApp
) -> None:
    app.state.limiter.reconfigure(LimitConfig(daily_headers=False))
    await session.client.get("deals", 1)
    await until(lambda: meter.texts()["daily"] == "Daily budget: not reported by Pipedrive")


async def test_the_meter_follows_the_response_headers(
    session: Session, meter: RateLimitMeter, app: SandboxApp
) -> None:
    snapshots = snapshots_of(session)
    for deal in range(1, 6):
        await session.client.get("deals", deal)
    header = snapshots[-1]
    assert (header.limit, header.remaining) == (GROWTH_BURST, GROWTH_BURST - 5)
    await until(lambda: meter.texts()["burst"].startswith(f"Burst {GROWTH_BURST - 5}/"))
    assert meter.texts()["burst"].startswith(f"Burst {header.remaining}/{GROWTH_BURST}")
    # The countdown to the window's reset, from x-ratelimit-reset, ticks while it runs.
    countdown = re.search(r"resets in (\d+) s", meter.texts()["burst"])
    assert countdown and header.reset_seconds is not None
    assert 1 <= int(countdown[1]) <= header.reset_seconds and meter.ticking
    spent = app.state.limiter.snapshot()["daily_budget"]
    assert spent["remaining"] == GROWTH_DAILY - 5  # GET /deals/{id} costs 1 token
    await until(lambda: meter.texts()["daily"]
                == f"Daily {spent['remaining']:,} / {GROWTH_DAILY:,} tokens left")
    assert meter.levels["daily"] == FINE
    # Once the window has rolled over, the whole limit is free and the tick stops.
    await until(lambda: meter.texts()["burst"] == f"Burst {GROWTH_BURST}/{GROWTH_BURST}")
    await until(lambda: not meter.ticking)


async def test_a_spent_daily_budget_says_when_it_resumes_and_what_to_do(
    session: Session, meter: RateLimitMeter, app: SandboxApp
) -> None:
    app.state.limiter.reconfigure(LimitConfig(budget=2))
    await session.client.get("deals", 1)
    await session.client.get("deals", 2)
    with pytest.raises(RateLimited):
        await session.client.get("deals", 3)
    resets = datetime.fromisoformat(app.state.limiter.snapshot()["daily_budget"]["resets_at"])
    local = resets.astimezone()
    await until(lambda: meter.texts()["daily"].startswith("Daily budget spent"))
    text = meter.texts()["daily"]
    assert f"resumes {'tomorrow ' if local.date() > datetime.now().astimezone().date() else ''}" \
           f"{local:%H:%M}" in text
    assert meter.levels["daily"] == CRITICAL
    tip = meter.toolTip()
    assert "Daily API budget spent" in tip and "Wait until then" in tip


async def test_requests_held_back_by_pacing_are_shown(
    session: Session, meter: RateLimitMeter, app: SandboxApp
) -> None:
    # One and a half windows' worth at once: the governor holds the rest back for room.
    work = asyncio.gather(*(session.client.get("deals", 1 + i % 40) for i in range(60)))
    await until(lambda: meter.texts()["hold"].startswith("Pacing: "))
    waiting = re.fullmatch(r"Pacing: (\d+) requests? waiting for room", meter.texts()["hold"])
    assert waiting and 1 <= int(waiting[1]) < 60
    assert len(await work) == 60
    await until(lambda: meter.texts()["hold"] == "")
    assert app.state.stats.rate_limited == 0  # held back, never refused


async def test_many_updates_are_coalesced_into_one_repaint(
    session: Session, meter: RateLimitMeter
) -> None:
    snapshots = snapshots_of(session)
    for deal in range(1, 4):
        await session.client.get("deals", deal)
    # Wait until nothing moves by itself: the window has drained (no countdown, no tick,
    # no governor timer left), so every render below comes from the replayed answers.
    await until(lambda: meter.texts()["burst"] == f"Burst {GROWTH_BURST}/{GROWTH_BURST}")
    await until(lambda: meter.idle and not meter.ticking)
    await asyncio.sleep(0.3)
    paints = PaintCounter(meter.findChild(QLabel, "meterDaily"))
    before = meter.renders
    # 300 answers arrive within one turn of the event loop (replayed through the session's
    # own publication path, newest first): the meter renders once, showing the last one.
    answers = snapshots[::-1]  # (the test's own listener keeps appending to ``snapshots``)
    assert [a.daily_token_remaining for a in answers] == [GROWTH_DAILY - n for n in (3, 2, 1)]
    for _ in range(100):
        for snapshot in answers:
            session._publish(snapshot, session.client.usage)
    await until(lambda: meter.renders > before)
    await asyncio.sleep(0.5)  # longer than two repaint intervals: nothing more comes
    assert meter.renders - before == 1
    # One text change is two paint events of a label in a status bar (its own update and
    # the bar's): 300 answers cost no more than that.
    assert 1 <= paints.count <= 2
    assert meter.texts()["daily"] == f"Daily {GROWTH_DAILY - 1:,} / {GROWTH_DAILY:,} tokens left"


class PaintCounter(QObject):
    """Counts the paint events a widget receives."""

    def __init__(self, widget: QWidget | None) -> None:
        super().__init__(widget)
        assert widget is not None
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


async def test_the_tooltip_lists_requests_and_tokens_per_operation(
    session: Session, meter: RateLimitMeter, app: SandboxApp
) -> None:
    for deal in (1, 2, 3):
        await session.client.get("deals", deal)
    await session.client.get("persons", 1)
    await session.client.search("Beacon", item_types=("deal",))
    await until(lambda: sum(n for _, n, _ in meter.usage_rows()) == 5)
    served = Counter({op: n for op, n in app.state.stats.requests.items()
                      if op != "total" and n})
    assert sorted(n for _, n, _ in meter.usage_rows()) == sorted(served.values())
    tokens = {op: t for op, _, t in meter.usage_rows()}
    assert sum(tokens.values()) == sum(app.state.stats.tokens.values())
    assert tokens["v2 GET /deals/{id}"] == 3
    await until(lambda: "v2 GET /deals/{id}" in meter.toolTip())
    assert re.search(r"v2 GET /deals/\{id\}</td><td align='right'>3</td>", meter.toolTip())
    assert "5 requests" in meter.toolTip()


async def test_closing_the_meter_stops_listening(
    session: Session, meter: RateLimitMeter
) -> None:
    await session.client.get("deals", 1)
    await until(lambda: meter.renders > 1 and meter.idle)
    meter.close()
    before = meter.renders
    await session.client.get("deals", 2)
    await asyncio.sleep(0.4)
    assert meter.renders == before
    assert not session._snapshot_listeners


async def test_a_destroyed_meter_stops_listening(session: Session) -> None:
    meter = RateLimitMeter(session)
    assert session._snapshot_listeners
    meter.deleteLater()
    await until(lambda: not session._snapshot_listeners)
    await session.client.get("deals", 1)  # nothing left to call


@pytest.mark.parametrize("window", ["#ffffff", "#1e1e1e"])
def test_level_colours_are_readable_on_light_and_dark_windows(window: str) -> None:
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(window))
    background = QColor(window)
    for name in (FINE, WARN, CRITICAL):
        assert contrast(level_colour(name, palette), background) >= 3.0, name


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio."""
    def luminance(c: QColor) -> float:
        channels = [x / 255 for x in (c.red(), c.green(), c.blue())]
        lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_thresholds() -> None:
    assert (level(1.0), level(0.5), level(0.49), level(0.2), level(0.19)) == (
        FINE, FINE, WARN, WARN, CRITICAL)


async def test_the_meter_scales_with_its_font(session: Session, qtbot) -> None:  # type: ignore[no-untyped-def]
    meter = RateLimitMeter(session)
    qtbot.addWidget(meter)
    bar = meter.findChild(BudgetBar, "meterDailyBar")
    assert bar is not None
    small = bar.sizeHint()
    font = meter.font()
    font.setPointSizeF(font.pointSizeF() * 2)  # what 200 % scaling does to text
    meter.setFont(font)
    large = bar.sizeHint()
    assert large.width() >= 1.8 * small.width() and large.height() >= 1.5 * small.height()
