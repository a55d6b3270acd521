"""The rate-limit meter when Pipedrive holds requests back: a 429 pause and a 403 block, each
shown with its end. The sandbox's clock stands still (only the test moves it), so another
app filling the window fills it for sure, however slow this machine is."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from explorer.api.errors import Blocked
from explorer.core.session import Session
from explorer.qt.widgets.rate_meter import RateLimitMeter
from explorer.sandbox.app import SandboxApp
from explorer.sandbox.config import LimitConfig, SandboxConfig
from explorer.sandbox.routing import Clock
from tests.qt.conftest import until
from tests.qt.test_rate_meter import GROWTH_BURST, hammer, meter, shown_time, snapshots_of

__all__ = ["meter"]  # the fixture

NOON = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen_at=NOON)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(limits=LimitConfig(enabled=True))


async def test_a_429_shows_the_pause_and_its_end(
    session: Session, meter: RateLimitMeter, app: SandboxApp, clock: Clock
) -> None:
    app.state.limiter.reconfigure(LimitConfig(retry_after=True))
    snapshots = snapshots_of(session)
    assert set(await hammer(app, GROWTH_BURST)) == {200}  # another app fills the window
    pending = asyncio.ensure_future(session.client.get("deals", 2))
    await until(lambda: "Paused by Pipedrive" in meter.texts()["hold"])
    refused = next(s for s in snapshots if s.status == 429)
    assert refused.retry_after is not None
    ends = (refused.at + timedelta(seconds=refused.retry_after)).astimezone()
    shown = shown_time(meter.texts()["hold"], "until")
    assert abs((shown - ends).total_seconds()) <= 1.0
    assert meter.texts()["hold"].endswith("(burst limit)")
    clock.advance(2)  # the sandbox's window rolls over
    assert (await pending)["id"] == 2  # the governor waited, then sent it again
    await until(lambda: meter.texts()["hold"] == "")
    assert app.state.stats.rate_limited >= 1 and app.state.stats.blocked == 0


async def test_a_403_block_says_until_when_and_what_to_do(
    session: Session, meter: RateLimitMeter, app: SandboxApp
) -> None:
    app.state.limiter.reconfigure(LimitConfig(block_after=2))
    assert (await hammer(app, GROWTH_BURST + 4))[-1] == 403  # the token is blocked
    started = datetime.now(UTC)
    with pytest.raises(Blocked):
        await session.client.get("deals", 1)
    await until(lambda: "Blocked by Pipedrive (403)" in meter.texts()["hold"])
    # The block page says no Retry-After: the client assumes its documented 5 minutes.
    shown = shown_time(meter.texts()["hold"], "until")
    assert abs((shown - started).total_seconds() - 300) <= 5
    assert "(assumed)" in meter.texts()["hold"]
    assert "Stop other scripts or apps that use the same token" in meter.toolTip()
