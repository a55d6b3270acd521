"""Names for ids: a per-session cache of users, persons, organizations, deals, pipelines,
stages, lead labels and currencies, filled in batches.

A table of 500 deals names its owners, persons, organizations, pipelines and stages with a
handful of requests, not 500: the small lists (users, pipelines, stages, lead labels,
currencies) are fetched whole, once; persons, organizations and deals by ``ids=`` (v2 list, at
most 100 ids a call). A deal is named by its title; the ids ``/deals`` leaves out (v2 lists
leave archived deals out) are then asked for on ``/deals/archived``, those of all batches
together, so an activity of an archived deal still shows its title; an id in neither (deleted,
or not visible) shows as ``#id`` and is not asked again. v1 notes carry their deal's title
(and their person's and organization's names) beside the id; those are kept and not asked
for. Leads are not named: v1 ``/leads`` takes no ``ids`` (only ``GET /leads/{id}``, one
request per lead), so lead ids show as ids. Concurrent asks for the same ids share one
request. ``resolve`` is a ``display.Resolver`` (synchronous, cache only): ``await
names.load_records(...)`` (or ``fetch``) first, then format. ``format_value`` and
``format_money`` use the account's currencies (symbols and decimals from ``/v1/currencies``).

A kind whose list cannot be read (a 403 for a missing OAuth scope, an outage of one endpoint)
fails alone: it is recorded in ``failures`` with its error, its ids show as ids, and it is not
asked again (not once per row) until ``forget(kind)``; the other kinds get their names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from explorer.api import display, paging
from explorer.api.errors import PipedriveError
from explorer.api.fields import Field, FieldCatalog
from explorer.api.resources import resource

if TYPE_CHECKING:
    from explorer.api.client import PipedriveClient

JSON = dict[str, Any]
Ident = int | str
Kind = Literal["user", "person", "organization", "deal", "pipeline", "stage", "lead_label",
               "currency"]

IDS_PER_CALL = 100  # v2 lists take at most 100 ids
# Kinds looked up by id in batches: kind → the v2 lists that take ``ids``, asked in turn for
# the ids the previous ones left out (``/deals`` leaves archived deals out).
BATCHED: dict[str, tuple[str, ...]] = {"person": ("/persons",),
                                       "organization": ("/organizations",),
                                       "deal": ("/deals", "/deals/archived")}
# Kinds fetched whole, once: kind → (version, path, paging).
WHOLE: dict[str, tuple[Literal["v1", "v2"], str, bool]] = {
    "user": ("v1", "/users", False),
    "pipeline": ("v2", "/pipelines", True),
    "stage": ("v2", "/stages", True),
    "lead_label": ("v1", "/leadLabels", False),
    "currency": ("v1", "/currencies", False),
}
_NAMED = WHOLE.keys() | BATCHED.keys()
# Custom field types that hold ids of a kind this cache names.
_CUSTOM_KINDS = {ftype: kind for ftype, kind in display.REFERENCE_KINDS.items()
                 if kind in _NAMED}
# Built-in keys that hold ids of a kind this cache names.
_ID_KEYS = {key: kind for key, kind in display.ID_KEYS.items() if kind in _NAMED}
# Summaries records carry beside (or instead of) an id: key → (kind, the id key beside it).
# v1 notes: ``deal`` {title} beside ``deal_id``; search items: ``person`` {id, name}.
_SUMMARIES = {"deal": ("deal", "deal_id"), "person": ("person", "person_id"),
              "organization": ("organization", "org_id")}


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _ident(value: Any) -> Ident | None:
    """The id in a reference as records carry it: ``7``, ``7.0``, v1 ``{"value": 7, …}``,
    search ``{"id": 7, …}``, a lead label UUID."""
    if isinstance(value, dict):
        value = value.get("value", value.get("id"))
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value:
        return int(value) if value.isdigit() else value
    return None


class NameCache:
    """Names and symbols for the ids of one session (see the module docstring)."""

    def __init__(self, client: PipedriveClient) -> None:
        self._client = client
        self._names: dict[tuple[str, Ident], str | None] = {}
        self._currencies: dict[str, JSON] = {}  # code → /v1/currencies entry
        self._whole: dict[str, asyncio.Task[None]] = {}
        self._loaded: set[str] = set()
        self._pending: dict[tuple[str, Ident], asyncio.Task[None]] = {}
        self._failures: dict[str, PipedriveError] = {}

    # ------------------------------------------------------------------ reading (cache only)

    def resolve(self, kind: str, ident: int | str) -> str | None:
        """The name of ``ident`` if it is cached (a ``display.Resolver``); None otherwise."""
        key = _ident(ident)
        return None if key is None else self._names.get((kind, key))

    def known(self, kind: str, ident: Ident) -> bool:
        """Whether ``ident`` was looked up (found or not, or its kind failed): a lookup is
        never repeated."""
        key = _ident(ident)
        return key is not None and ((kind, key) in self._names or kind in self._loaded
                                    or kind in self._failures)

    @property
    def failures(self) -> Mapping[str, PipedriveError]:
        """Kind → why its names could not be read. Its ids show as ids and are not asked
        for again until ``forget(kind)`` (after a sign-in with the missing scope, say)."""
        return dict(self._failures)

    @property
    def currencies(self) -> Mapping[str, Mapping[str, Any]]:
        """The account's currencies by code (``symbol``, ``decimal_points``, ``name``…)."""
        return self._currencies

    def symbol(self, code: str) -> str:
        info = self._currencies.get(code) or {}
        return str(info.get("symbol") or display.SYMBOLS.get(code) or code)

    def format_money(self, amount: float, currency: str | None, locale: str = "en_US") -> str:
        return display.format_money(amount, currency, locale, self._currencies)

    def format_value(self, field: Field, value: Any, **options: Any) -> str:
        """``display.format_value`` with this cache as resolver and the account's currencies."""
        return display.format_value(field, value, resolver=self.resolve,
                                    currencies=self._currencies, **options)

    # ------------------------------------------------------------------ filling

    async def fetch(self, kind: str, ids: Iterable[Any] = ()) -> dict[Ident, str | None]:
        """Names of ``ids`` (None: no such record), fetching what is not cached yet."""
        wanted = list(dict.fromkeys(k for k in map(_ident, ids) if k is not None))
        await self.prefetch({kind: wanted})
        return {i: self._names.get((kind, i)) for i in wanted}

    async def prefetch(self, refs: Mapping[str, Iterable[Any]]) -> None:
        """Fill the cache for ``{kind: ids}`` (the small kinds are fetched whole, whatever
        the ids), concurrently; requests already under way for the same ids are shared. A
        kind that fails is recorded in ``failures``, not raised; the others are filled."""
        waits: list[asyncio.Task[None]] = []
        for kind, ids in refs.items():
            if kind in WHOLE:
                waits.append(self._whole_list(kind))
            elif kind in BATCHED:
                waits += self._batches(kind, ids)
            else:
                raise ValueError(f"no names for {kind!r}; kinds: "
                                 f"{', '.join([*WHOLE, *BATCHED])}")
        if waits:
            # Shielded: a caller that gives up does not cancel a request others wait for.
            together = asyncio.gather(*set(waits))
            # Retrieved even when every caller gave up (the session closing under it).
            together.add_done_callback(_retrieve)
            await asyncio.shield(together)

    async def load_records(self, name: str, records: Iterable[Mapping[str, Any]],
                           catalog: FieldCatalog | None = None) -> None:
        """Fill the cache for every id the records refer to (built-in keys, and with a loaded
        ``catalog`` their user/person/organization/deal custom fields) and the currencies.
        Names the records carry already (v1 ``{"value": 7, "name": …}``, search ``{"id",
        "name"}``, a v1 note's ``deal`` {title} beside its ``deal_id``) are kept and not
        asked for."""
        records = list(records)
        for record in records:
            for key, kind in display.ID_KEYS.items():
                self.remember(kind, record.get(key))
            for key, (kind, beside) in _SUMMARIES.items():
                self.remember(kind, record.get(key), record.get(beside))
        await self.prefetch(references(name, records, catalog))

    def remember(self, kind: str, reference: Any, ident: Any = None) -> None:
        """Keep the name a reference carries (``{"id"|"value": 7, "name": "Ann"}``, a deal's
        ``{"title": …}``); ``ident``: the id, for a summary that carries none (v1 notes'
        ``deal`` {title} beside ``deal_id``)."""
        if not isinstance(reference, dict) or kind not in BATCHED:
            return
        key = _ident(reference)
        if key is None and "id" not in reference and "value" not in reference:
            key = _ident(ident)
        name = _name(reference)
        if key is not None and name is not None:
            self._names[(kind, key)] = name

    async def aclose(self) -> None:
        """Cancel the lookups under way and wait for them (before the client closes)."""
        tasks = {*self._pending.values(), *self._whole.values()}
        unfinished = [t for t in tasks if not t.done()]
        for task in unfinished:
            task.cancel()
        if unfinished:
            await asyncio.gather(*unfinished, return_exceptions=True)

    def forget(self, kind: str | None = None) -> None:
        """Drop cached names (of one kind): renamed records show their new names next time."""
        for key in [k for k in self._names if kind is None or k[0] == kind]:
            del self._names[key]
        for dropped in [k for k in self._whole if kind is None or k == kind]:
            del self._whole[dropped]
        for dropped in [k for k in self._failures if kind is None or k == kind]:
            del self._failures[dropped]
        self._loaded -= {kind} if kind else set(self._loaded)
        if kind in (None, "currency"):
            self._currencies.clear()

    def _whole_list(self, kind: str) -> asyncio.Task[None]:
        task = self._whole.get(kind)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._whole[kind] = asyncio.ensure_future(self._load_whole(kind))
        return task

    def _batches(self, kind: str, ids: Iterable[Any]) -> list[asyncio.Task[None]]:
        shared: list[asyncio.Task[None]] = []
        missing: list[Ident] = []
        if kind in self._failures:
            return shared  # its ids show as ids; asking again per row would fail again
        for ident in dict.fromkeys(k for k in map(_ident, ids) if k is not None):
            if (kind, ident) in self._names:
                continue
            pending = self._pending.get((kind, ident))
            if pending is not None:
                shared.append(pending)
            else:
                missing.append(ident)
        if missing:
            task = asyncio.ensure_future(self._load_batches(kind, missing))
            for ident in missing:
                self._pending[(kind, ident)] = task
            shared.append(task)
        return shared

    async def _load_batches(self, kind: str, wanted: list[Ident]) -> None:
        """Name ``wanted``: the kind's lists asked in turn, each for the ids the ones before
        left out (``/deals/archived`` after ``/deals``), 100 ids a call, the calls to one list
        together. The left-out ids of all batches go to the next list together: a table with
        a few archived deals in each batch costs one more call, not one more per batch."""
        try:
            found: dict[Ident, str | None] = {}
            left: list[Ident] = [i for i in wanted if isinstance(i, int)]
            for path in BATCHED[kind]:
                if not left:
                    break
                answers = await asyncio.gather(
                    *(self._ask(path, left[start:start + IDS_PER_CALL])
                      for start in range(0, len(left), IDS_PER_CALL)),
                    return_exceptions=True)
                failed = False
                for answer in answers:
                    if isinstance(answer, PipedriveError):
                        self._failures.setdefault(kind, answer)
                        failed = True
                    elif isinstance(answer, BaseException):
                        raise answer
                    else:
                        found.update(answer)
                if failed:
                    # What was found is kept; the rest stays unnamed, not "no such record"
                    # (and is not asked again until ``forget(kind)``).
                    self._names.update({(kind, i): n for i, n in found.items()})
                    return
                left = [i for i in left if i not in found]
            for ident in wanted:  # in none of the lists: deleted, or not visible to this user
                self._names[(kind, ident)] = found.get(ident)
        finally:
            for ident in wanted:
                self._pending.pop((kind, ident), None)

    async def _ask(self, path: str, ids: list[Ident]) -> dict[Ident, str | None]:
        """``{id: name}`` of the records of v2 ``path`` with ``ids`` (those it returns)."""
        env = await self._client.request("GET", "v2", path,
                                         params={"ids": ids, "limit": IDS_PER_CALL})
        found: dict[Ident, str | None] = {}
        for record in env.data or ():
            ident = _ident(record.get("id")) if isinstance(record, dict) else None
            if ident is not None:
                found[ident] = _name(record)
        return found

    async def _load_whole(self, kind: str) -> None:
        version, path, cursor = WHOLE[kind]
        every = (paging.iter_cursor(self._client, version, path, page_size=500, key=None)
                 if cursor else paging.iter_once(self._client, version, path, {}))
        try:
            records = [r async for r in every if isinstance(r, dict)]
        except PipedriveError as error:
            # Recorded, and the task ends well: ``_whole_list`` does not start it again
            # for every row; ``forget(kind)`` does.
            self._failures[kind] = error
            return
        for record in records:
            ident = _ident(record.get("id"))
            if ident is not None:
                self._names[(kind, ident)] = _name(record)
            if kind == "currency" and isinstance(record.get("code"), str):
                self._currencies[record["code"]] = record
                self._names[(kind, record["code"])] = _name(record)
        self._loaded.add(kind)


def _name(record: Mapping[str, Any]) -> str | None:
    """A record's name, or a deal's title."""
    value = record.get("name", record.get("title"))
    return value if isinstance(value, str) and value else None


def references(name: str, records: Iterable[Mapping[str, Any]],
               catalog: FieldCatalog | None = None) -> dict[str, set[Ident]]:
    """``{kind: ids}`` the records of resource ``name`` refer to, currencies included."""
    res = resource(name)
    custom: dict[str, str] = {}
    if catalog is not None and res.name in catalog:
        custom = {f.key: _CUSTOM_KINDS[f.type] for f in catalog[res.name]
                  if f.is_custom and f.type in _CUSTOM_KINDS}
    out: dict[str, set[Ident]] = {}

    def add(kind: str, value: Any) -> None:
        ident = _ident(value)
        if ident is not None:
            out.setdefault(kind, set()).add(ident)

    for record in records:
        for key, kind in _ID_KEYS.items():
            add(kind, record.get(key))
        if res.name == "leads":
            for label in record.get("label_ids") or ():
                add("lead_label", label)
        values = {**record, **(record.get("custom_fields") or {})}
        for key, kind in custom.items():
            add(kind, values.get(key))
        for value in values.values():
            if isinstance(value, dict) and isinstance(value.get("currency"), str):
                out.setdefault("currency", set())
        if isinstance(record.get("currency"), str):
            out.setdefault("currency", set())
    return out
