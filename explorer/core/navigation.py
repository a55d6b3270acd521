"""Back / forward through the records a detail pane showed, and the breadcrumb trail to the
current one.

A ``Place`` is one record as the pane showed it (its title and the tab that was selected, so
going back returns to the same place). ``NavigationHistory`` is a browser's history: visiting
a record drops everything forward of the current place; visiting the record already shown
changes nothing (the table selecting the record the pane just navigated to must not add a
step). A place shown from outside the pane (a table selection) starts a trail; places reached
by following links inside the pane extend it. The breadcrumbs are the current trail:
``Deals › Big deal › Ann Smith``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_LIMIT = 100  # places kept; the oldest drop out first


@dataclass
class Place:
    """One record in the history.

    Attributes:
        resource: the registry name (``deals``).
        record_id: its id.
        title: what its crumb says (the record's title or name, once known).
        tab: the tab that was selected there (restored on going back), or None.
        root: shown from outside the pane (a table selection): a trail starts here.
    """

    resource: str
    record_id: Any
    title: str = ""
    tab: str | None = None
    root: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.resource, str(self.record_id)


@dataclass(frozen=True)
class Crumb:
    """One crumb of the trail: ``index`` is the place it goes to (None: the resource crumb,
    which names the list the trail started from)."""

    label: str
    resource: str
    index: int | None


class NavigationHistory:
    """The places a pane showed, with a cursor (see the module docstring).

    Attributes:
        places: every place kept, oldest first.
        index: the current place's position in ``places`` (-1: nothing shown yet).
    """

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.places: list[Place] = []
        self.index = -1
        self._limit = max(1, limit)

    @property
    def current(self) -> Place | None:
        return self.places[self.index] if 0 <= self.index < len(self.places) else None

    @property
    def can_back(self) -> bool:
        return self.index > 0

    @property
    def can_forward(self) -> bool:
        return 0 <= self.index < len(self.places) - 1

    def visit(self, resource: str, record_id: Any, *, title: str = "",
              root: bool = False) -> tuple[Place, bool]:
        """Go to a record: ``(its place, whether a step was added)``. The record already
        shown adds no step (its title is updated when given)."""
        here = self.current
        if here is not None and here.key == (resource, str(record_id)):
            if title:
                here.title = title
            return here, False
        place = Place(resource, record_id, title, None, root or here is None)
        del self.places[self.index + 1:]
        self.places.append(place)
        overflow = len(self.places) - self._limit
        if overflow > 0:
            del self.places[:overflow]
            self.places[0].root = True  # its trail's start may have dropped out
        self.index = len(self.places) - 1
        return place, True

    def back(self) -> Place | None:
        return self.go(self.index - 1) if self.can_back else None

    def forward(self) -> Place | None:
        return self.go(self.index + 1) if self.can_forward else None

    def go(self, index: int) -> Place | None:
        """Jump to ``places[index]`` (a crumb); forward places are kept."""
        if not 0 <= index < len(self.places):
            return None
        self.index = index
        return self.places[index]

    def trail_start(self) -> int:
        """Where the current trail starts (the nearest root at or before the cursor)."""
        start = max(self.index, 0)
        while start > 0 and not self.places[start].root:
            start -= 1
        return start

    def crumbs(self, labels: dict[str, str] | None = None) -> list[Crumb]:
        """The current trail: the resource it started from, then each place to the current
        one. ``labels``: resource → what its crumb says (``deals`` → ``Deals``)."""
        if self.current is None:
            return []
        start = self.trail_start()
        first = self.places[start].resource
        out = [Crumb((labels or {}).get(first, first.capitalize()), first, None)]
        for position in range(start, self.index + 1):
            place = self.places[position]
            out.append(Crumb(place.title or f"#{place.record_id}", place.resource, position))
        return out
