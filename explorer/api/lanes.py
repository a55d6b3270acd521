"""Priority lanes: what a click asks for goes ahead of bulk work in the rate governor.

A task says its lane once, when it is started, not per request: the lane is a context
variable, so every request the task sends (and every task it starts) is in that lane::

    with lanes.background():                 # or ``with client.lane("background"):``
        job = asyncio.create_task(bulk_update(client, changes))

    deal = await client.get("deals", 7)      # interactive: the default

``interactive`` is what a user waits for (a click, a detail pane, a search box);
``background`` is bulk jobs, exports and prefetching. The governor serves queued interactive
requests first and keeps a reserve of each window out of the background lane's reach, so a
click during a bulk job is answered at once while the job still runs near the limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Literal, get_args

Lane = Literal["interactive", "background"]
LANES: tuple[Lane, ...] = get_args(Lane)

_LANE: ContextVar[Lane] = ContextVar("explorer.api.lane", default="interactive")


def current() -> Lane:
    """The lane of the running task (``interactive`` unless it was started in another)."""
    return _LANE.get()


@contextmanager
def lane(name: Lane) -> Iterator[None]:
    """Requests sent (and tasks started) inside the block are in lane ``name``."""
    if name not in LANES:
        raise ValueError(f"unknown lane {name!r}; use one of {', '.join(LANES)}")
    token = _LANE.set(name)
    try:
        yield
    finally:
        _LANE.reset(token)


def background() -> AbstractContextManager[None]:
    """``lane("background")``: bulk jobs, exports, prefetching."""
    return lane("background")


def interactive() -> AbstractContextManager[None]:
    """``lane("interactive")``: what a user waits for (the default)."""
    return lane("interactive")
