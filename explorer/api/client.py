"""One account session: one request path that paces, sends, observes, maps errors, retries."""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import logging
import math
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx

from explorer.api import lanes, pages, paging
from explorer.api import search as searching
from explorer.api.auth import TokenProvider
from explorer.api.config import Attempt, ClientConfig, default_transport
from explorer.api.errors import (
    Blocked,
    InvalidValue,
    NetworkError,
    OutcomeUnknown,
    PipedriveError,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
)
from explorer.api.pages import Page, PageHandle
from explorer.api.query import encode_query
from explorer.api.ratelimit import (
    Governor,
    NullGovernor,
    RateSnapshot,
    Refused,
    RequestKind,
    UsageCounter,
)
from explorer.api.related import related_list
from explorer.api.resources import Resource, Version, operation_key, resource, token_cost
from explorer.api.responses import (
    Envelope,
    api_error,
    envelope,
    is_block_page,
    transport_error,
)

log = logging.getLogger(__name__)

JSON = dict[str, Any]
SnapshotCallback = Callable[[RateSnapshot, UsageCounter], None]
Params = Mapping[str, Any]

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH"})
# Answers Pipedrive does not charge: rate-limited, blocked, not authenticated.
_UNCHARGED = frozenset({401, 429})
# The cheap request that checks whether a spent daily budget is back (a 429 costs nothing).
_DAILY_PROBE = ("v1", "/users/me")
# Times credentials may go stale between ``headers()`` and the slot before a request gives up.
_STALE_TRIES = 5

def is_search_path(path: str) -> bool:
    """Search endpoints count against their own window (itemSearch, ``/<entity>/search``)."""
    return path.endswith("/search") or path == "/itemSearch" or path.startswith("/itemSearch/")


class PipedriveClient:
    """An account session over one ``httpx.AsyncClient``.

    Open it with ``async with PipedriveClient(...) as client`` (or ``await client.open()`` and
    later ``await client.aclose()``). ``governor`` paces requests (default: no pacing, a 429 is
    raised); ``on_snapshot(snapshot, usage)`` is called after every response with its
    rate-limit headers and this session's running usage (an exception it raises is logged,
    never passed on to the request). A task's requests go in its lane
    (``with client.lane("background"):`` around starting a bulk job; interactive by default).
    """

    def __init__(
        self,
        config: ClientConfig,
        auth: TokenProvider,
        *,
        governor: Governor | None = None,
        on_snapshot: SnapshotCallback | None = None,
    ) -> None:
        cap = getattr(governor, "max_in_flight", None)
        if cap is not None and cap > config.max_in_flight:
            # Requests the governor releases would queue for a connection and could go out
            # after a 429 pause began; the caps must agree.
            raise ValueError(
                f"the governor lets {cap} requests fly but the session allows "
                f"{config.max_in_flight}; give RateGovernor(max_in_flight=...) at most "
                "ClientConfig.max_in_flight"
            )
        self._config = config
        self._auth = auth
        self._governor: Governor = governor or NullGovernor()
        self._on_snapshot = on_snapshot
        self._http: httpx.AsyncClient | None = None
        self._in_flight: asyncio.Semaphore | None = None
        self._blocked: Blocked | None = None
        self._daily_watch: asyncio.Task[None] | None = None
        self.usage = UsageCounter()

    # ------------------------------------------------------------------ session

    @property
    def config(self) -> ClientConfig:
        return self._config

    @property
    def is_open(self) -> bool:
        return self._http is not None

    @property
    def blocked(self) -> Blocked | None:
        """The 403 block that stopped this session's traffic, if any (see ``resume``)."""
        return self._blocked

    async def open(self) -> Self:
        return self.connect()

    def connect(self) -> Self:
        """Open the session without awaiting: nothing goes over the network until the first
        request, so a window can be built on a session before any answer arrives."""
        if self._http is not None:
            raise RuntimeError("the client session is already open")
        config = self._config
        self._http = httpx.AsyncClient(
            base_url=config.base_url,
            transport=config.transport or default_transport(config.max_in_flight),
            timeout=config.timeouts.httpx(),
            headers={"user-agent": config.user_agent, "accept": "application/json"},
            follow_redirects=False,
        )
        self._in_flight = asyncio.Semaphore(config.max_in_flight)
        return self

    async def aclose(self) -> None:
        http, self._http = self._http, None
        watch, self._daily_watch = self._daily_watch, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        if http is not None:
            await http.aclose()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def resume(self) -> None:
        """Allow traffic again after a 403 block before its cool-down is over (it resumes by
        itself at the block's ``cooldown_until``)."""
        self._blocked = None
        resume = getattr(self._governor, "resume", None)
        if callable(resume):
            resume()

    @staticmethod
    def lane(name: lanes.Lane) -> AbstractContextManager[None]:
        """Requests sent (and tasks started) inside ``with client.lane(name):`` are in that
        lane: ``background`` for bulk jobs, exports, prefetch; ``interactive`` (the default)
        for what a user waits for. See ``explorer.api.lanes``."""
        return lanes.lane(name)

    def __repr__(self) -> str:
        state = "open" if self._http is not None else "closed"
        return f"PipedriveClient({self._config.base_url}, {state})"

    # ------------------------------------------------------------------ the request path

    async def request(
        self,
        method: str,
        version: Version,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        kind: RequestKind | None = None,
        what_to_check: str | None = None,
    ) -> Envelope:
        """Send ``method /api/{version}{path}`` and return the envelope of a success.

        ``idempotent`` (default: GET/PUT/PATCH yes, POST/DELETE no) decides whether a
        failure without a trustworthy answer may be retried; a non-idempotent request that
        may have been applied raises ``OutcomeUnknown`` carrying ``what_to_check``.
        Raises the ``explorer.api.errors`` tree, never an httpx exception.
        """
        http = self._http
        if http is None:
            raise RuntimeError("open the client session first (async with / await open())")
        method = method.upper()
        if not path.startswith("/") or "?" in path:
            raise ValueError("path must start with '/' and carry no query; use params=")
        operation = operation_key(version, method, path)
        query = encode_query(params, operation)
        kind = kind or ("search" if is_search_path(path) else "burst")
        safe = method in _IDEMPOTENT if idempotent is None else idempotent
        # Errors and retry rules see the full path (``/api/v2/deals/7``), never the query.
        url = f"/api/{version}{path}"
        body = None if json is None else _encode(json, method, url)
        failures = limited = 0
        refreshed = False
        while True:
            self._check_blocked(method, url)
            try:
                return await self._send(http, method, url, query, body, operation, kind)
            except Unauthorized:
                if refreshed or not await self._auth.on_unauthorized():
                    raise
                refreshed = True
            except Refused as refused:  # the governor stopped it unsent (daily budget, block)
                error = refused.error(method, url)
                if isinstance(error, RateLimited) and error.scope == "daily":
                    self._watch_daily()
                raise error from None
            except RateLimited as error:
                self.usage.rate_limited += 1
                limited += 1
                # The governor hears every 429 (a daily one makes it hold back later requests),
                # but a daily 429 is never retried, nor one past the retry limit.
                retry = await self._governor.on_rate_limited(error, limited)
                if error.scope == "daily":
                    self._watch_daily()
                if (not retry or error.scope == "daily"
                        or limited > self._config.max_rate_limited_retries):
                    raise
            except Blocked as error:
                self._blocked = self._blocked or error  # keep the block that started it
                raise
            except (TransportError, ServerError) as error:
                failures += 1
                arrived = not isinstance(error, TransportError) or error.may_have_arrived
                decision = self._config.retry.decide(
                    Attempt(method, url, failures, error, safe or not arrived))
                if not decision.retry:
                    if arrived and not safe:
                        raise OutcomeUnknown(method, url,
                                             what_to_check or _default_check(method, url),
                                             error) from error
                    raise
                await asyncio.sleep(decision.delay)
            self.usage.retries += 1

    async def _send(
        self,
        http: httpx.AsyncClient,
        method: str,
        url: str,
        query: dict[str, str],
        body: bytes | None,
        operation: str,
        kind: RequestKind,
        *,
        probe: bool = False,
    ) -> Envelope:
        assert self._in_flight is not None
        for _ in range(_STALE_TRIES):
            # Credentials before the slot: a refresh (and the keychain store after it) never
            # holds a place in the window while the window's clock runs.
            await self._auth.headers()
            # The governor's slot first: a task waiting for room in a window must not hold one
            # of the in-flight places (a waiting search would block deals otherwise).
            slot = self._governor.slot(kind, probe=probe)
            async with slot, self._in_flight:
                if self._http is not http:  # closed while it waited: it never leaves
                    raise RuntimeError(f"{method} {url} was not sent: the client session was "
                                       "closed while the request waited for its turn")
                self._check_blocked(method, url)  # a block may have come while it waited
                # Taken once the request may go, without waiting: a long wait for the window
                # cannot send an access token that expired meanwhile. None: they went stale
                # while it waited; the slot goes back uncounted and the task renews them.
                credentials = self._auth.current_headers()
                if credentials is None:
                    continue
                headers = dict(credentials)
                if body is not None:
                    headers["content-type"] = "application/json"
                slot.sending()  # the window counts it from here (until its answer + window)
                try:
                    response = await http.request(method, url, params=query or None,
                                                  content=body, headers=headers)
                except httpx.RequestError as exc:
                    failure: TransportError | None = transport_error(exc, method, url)
                except asyncio.CancelledError:
                    # It left: the server may count and charge it (a paging window that was
                    # no longer needed), so the session's usage does too.
                    self.usage.record(operation, token_cost(operation))
                    raise
                else:
                    failure = None
            break
        else:  # renewed credentials kept going stale at once
            raise NetworkError(method, url, "could not get credentials fresh enough to send "
                               "(the access token keeps expiring before its turn)",
                               may_have_arrived=False)
        if failure is not None:
            self.usage.record(operation, 0)
            # Raised outside the except block: httpx's exception must not be chained, not even
            # as __context__, because its request holds the credential headers.
            raise failure
        status = response.status_code
        blocked = is_block_page(response)
        snapshot = RateSnapshot.from_headers(response.headers.raw, scope=kind, status=status,
                                             operation=operation, blocked=blocked)
        charged = 0 if status in _UNCHARGED or blocked else token_cost(operation)
        self.usage.record(operation, charged)
        self._governor.observe(snapshot)
        if self._on_snapshot is not None:
            try:
                self._on_snapshot(snapshot, self.usage)
            except Exception:  # the caller's meter: its bug must not fail the request
                log.exception("the on_snapshot callback failed; the request goes on")
        if 200 <= status < 300:
            return envelope(response, snapshot, method, url)
        raise api_error(response, snapshot, method, url, kind)

    def _check_blocked(self, method: str, url: str) -> None:
        """Refuse a request unsent while a 403 block's cool-down lasts; after it, go on."""
        block = self._blocked
        if block is None:
            return
        until = block.cooldown_until
        if until is not None and datetime.now(UTC) >= until:
            self._blocked = None
            return
        raise _still_blocked(block, method, url)

    def _watch_daily(self) -> None:
        """While the daily budget is spent, probe for its reset (see ``_probe_daily``)."""
        every = getattr(self._governor, "daily_probe_interval", None)
        if (self._daily_watch is None and self._http is not None
                and isinstance(every, int | float)):
            self._daily_watch = asyncio.get_running_loop().create_task(
                self._probe_daily(float(every)))

    async def _probe_daily(self, every: float) -> None:
        """Every ``every`` seconds, one cheap request (``GET /api/v1/users/me``; a 429 costs
        no tokens) until one succeeds, then the governor's daily latch is lifted: Pipedrive
        resets the budget at midnight in its server's timezone, which the reset time the
        session computed (midnight UTC) may miss by hours either way."""
        governor: Any = self._governor
        version, path = _DAILY_PROBE
        url, operation = f"/api/{version}{path}", operation_key(version, "GET", path)
        try:
            while getattr(governor, "daily_resets_at", None) is not None:
                await asyncio.sleep(every)
                http = self._http
                if http is None or governor.daily_resets_at is None:
                    return
                try:
                    with lanes.lane("background"):
                        await self._send(http, "GET", url, {}, None, operation, "burst",
                                         probe=True)
                except (PipedriveError, Refused):  # still spent; or blocked: ask again later
                    continue
                governor.clear_daily()
                return
        finally:
            if self._daily_watch is asyncio.current_task():
                self._daily_watch = None

    # ------------------------------------------------------------------ resources

    @property
    def granted_scopes(self) -> frozenset[str] | None:
        """The OAuth scopes this session was granted, if its token provider knows them (None:
        unknown, or an API token, which has every scope)."""
        scopes = getattr(self._auth, "scopes", None)
        return frozenset(scopes) if scopes else None

    async def get(self, name: str | Resource, record_id: int | str, *,
                  params: Params | None = None) -> JSON:
        """One record (``GET /deals/{id}``, ``GET /v1/leads/{uuid}``)."""
        res = resource(name)
        res.require("get")
        env = await self.request("GET", res.version, res.item_path(record_id), params=params)
        data: JSON = env.data
        return data

    def iterate(self, name: str | Resource, *, filters: Params | None = None,
                params: Params | None = None, concurrent: bool = False,
                archived: bool = False) -> AsyncIterator[JSON]:
        """Every record of a list, page by page (500 per page), never one twice. ``filters``
        must be among the list's filters (a saved ``filter_id`` beside filters it would
        override is refused); more than 100 ``ids`` are fetched 100 at a time, and an empty
        ``ids`` gives no records (nothing is sent). ``params``
        pass through (sorting, include_fields, …). ``archived`` lists the archived records
        (deals, leads). ``concurrent`` fetches v1 offset windows ahead (at most one page
        more than paging one after the other)."""
        listing = resource(name).listing(archived=archived)
        given = pages.check_filters(listing, filters, params)
        query = {**(params or {}), **given}
        ids = pages.check_ids(listing, query)
        if ids == []:
            return paging.nothing()  # no ids, no records (``ids=`` would list them all)
        if ids is not None and len(ids) > pages.MAX_IDS:
            return paging.iter_chunks(self, listing, query, ids, chunk=pages.MAX_IDS)
        return paging.iterate(self, listing, query, concurrent=concurrent)

    async def fetch_page(self, name: str | Resource, filters: Params | None = None,
                         sort: str | None = None, page_size: int = 100, *,
                         after: PageHandle | None = None, archived: bool = False,
                         params: Params | None = None) -> Page:
        """One page of a list (``sort``: ``"update_time desc"``; ``params`` pass through,
        e.g. ``include_fields``); ``page.handle`` goes on (``after=page.handle``, any page
        size), ``page.more`` says whether more exist. Handles are immutable: pages may be
        fetched concurrently (``pages.py``)."""
        listing = resource(name).listing(archived=archived)
        return await pages.fetch_page(self, listing, filters, sort, page_size, after,
                                      params=params)

    def related(self, parent: str | Resource, record_id: int | str, name: str, *,
                params: Params | None = None) -> AsyncIterator[JSON]:
        """Every item of a record's related list (``client.related("deals", 7, "products")``;
        the lists are in ``related.RELATED``), page by page; ``params`` pass through, as in
        ``iterate``."""
        listing = related_list(resource(parent).name, name).listing(record_id)
        return paging.iterate(self, listing, params or {})

    async def related_page(self, parent: str | Resource, record_id: int | str, name: str, *,
                           page_size: int = 100, sort: str | None = None,
                           after: PageHandle | None = None,
                           params: Params | None = None) -> Page:
        """One page of a record's related list, as ``fetch_page`` (``params`` pass through,
        as in ``related``; with ``after`` they must be left out or be the handle's own)."""
        listing = related_list(resource(parent).name, name).listing(record_id)
        return await pages.fetch_page(self, listing, None, sort, page_size, after,
                                      params=params)

    async def snapshot_ids(self, name: str | Resource, filters: Params | None = None, *,
                           params: Params | None = None, archived: bool = False) -> list[Any]:
        """The ids a list holds now, read to the end before anything changes. A loop that
        writes the records it lists moves them between pages; a loop over a snapshot
        writes each one exactly once."""
        key = resource(name).listing(archived=archived).key or "id"
        return [record[key] async for record in self.iterate(
            name, filters=filters, params=params, archived=archived)]

    async def create(self, name: str | Resource, body: JSON) -> JSON:
        """Create a record; a lost answer raises ``OutcomeUnknown`` (it is never re-sent)."""
        res = resource(name)
        res.require("create")
        check = (f"look for the new {res.singular} among the newest {res.name} (sort by "
                 "add_time, newest first) before creating it again")
        env = await self.request("POST", res.version, res.path, json=body, what_to_check=check)
        data: JSON = env.data
        return data

    async def update(self, name: str | Resource, record_id: int | str, body: JSON) -> JSON:
        """Update with the resource's verb (PATCH, or PUT for v1 notes/users/filters); the same
        values sent twice change nothing, so a lost answer is retried."""
        res = resource(name)
        res.require("update")
        env = await self.request(res.update_verb, res.version, res.item_path(record_id),
                                 json=body)
        data: JSON = env.data
        return data

    async def archive(self, name: str | Resource, record_id: int | str, *,
                      archived: bool = True) -> JSON:
        """Archive (or, ``archived=False``, unarchive) a deal or lead: an update of
        ``is_archived``. An archived record leaves the regular list for the archived one."""
        res = resource(name)
        res.listing(archived=True)  # refuses resources without an archive
        return await self.update(res, record_id, {"is_archived": archived})

    async def delete(self, name: str | Resource, record_id: int | str) -> Any:
        res = resource(name)
        res.require("delete")
        path = res.item_path(record_id)
        check = f"GET /api/{res.version}{path}: a 404 means the {res.singular} is deleted"
        env = await self.request("DELETE", res.version, path, what_to_check=check)
        return env.data

    async def search(self, term: str, *, item_types: str | Iterable[str] | None = (),
                     fields: str | Iterable[str] | None = (), exact_match: bool = False,
                     related: bool = False, include_fields: str | Iterable[str] | None = (),
                     limit: int = searching.ITEM_LIMIT,
                     cursor: str | None = None) -> searching.SearchResult:
        """One page of ``/api/v2/itemSearch``: items, related items (``related``: leads and
        deals of the persons and organizations found) and the next cursor. The term, limit
        and choices are checked before a token is spent (``explorer/api/search.py``)."""
        query = searching.item_search_query(
            term, item_types=item_types, fields=fields, exact_match=exact_match,
            related=related, include_fields=include_fields, limit=limit, cursor=cursor)
        env = await self.request("GET", "v2", "/itemSearch", params=query)
        return searching.SearchResult.from_answer(env.data, env.additional_data)

    async def search_entity(self, name: str | Resource, term: str, *,
                            fields: str | Iterable[str] | None = (), exact_match: bool = False,
                            include_fields: str | Iterable[str] | None = (),
                            limit: int = searching.ITEM_LIMIT, cursor: str | None = None,
                            **filters: Any) -> searching.SearchResult:
        """One page of a resource's own v2 search (``/deals/search`` with ``person_id``,
        ``organization_id``, ``status``; persons, organizations, products, leads), checked
        before sending like ``search``."""
        path, query = searching.entity_search_query(
            name, term, fields=fields, exact_match=exact_match, include_fields=include_fields,
            limit=limit, cursor=cursor, filters=filters)
        env = await self.request("GET", "v2", path, params=query)
        return searching.SearchResult.from_answer(env.data, env.additional_data)


# ---------------------------------------------------------------------- helpers


def _encode(body: Any, method: str, path: str) -> bytes:
    """The JSON body, refused before sending when JSON cannot carry a value: NaN and
    ±Infinity would go out as invalid JSON (and an idempotent write be retried for nothing);
    a date, bytes or another object has no JSON form, and ``json`` would raise a bare
    ``TypeError`` outside the error tree."""
    try:
        return jsonlib.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    except (ValueError, TypeError) as exc:
        where = _unsendable(body)
        if where is None:
            raise InvalidValue("body", f"{method} {path}: the body cannot be sent as JSON "
                                       f"({exc}); nothing was sent") from None
        key, value = where
        if isinstance(value, float):
            raise InvalidValue(key, f"{method} {path}: {key!r} is {value!r}, which JSON "
                                    "cannot carry; nothing was sent. Send a finite number (or "
                                    "None to clear the field)") from None
        kind = type(value).__name__
        raise InvalidValue(key, f"{method} {path}: {key!r} holds a {kind} object, which JSON "
                                "cannot carry; nothing was sent. Send text (a date as "
                                "'2025-01-31'), a number, true/false, a list or an object; "
                                "FieldCatalog.write_body gives each field the form the API "
                                "takes") from None


_JSON_SCALARS = (str, int, float, bool, type(None))


def _unsendable(value: Any, at: str = "") -> tuple[str, Any] | None:
    """Where the first value JSON cannot carry is (``custom_fields.budget``): NaN or an
    infinity, or an object of no JSON type."""
    if isinstance(value, float) and not math.isfinite(value):
        return at or "body", value
    items: Any = ()
    if isinstance(value, Mapping):
        items = ((f"{at}.{k}" if at else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{at}[{i}]", v) for i, v in enumerate(value))
    elif not isinstance(value, _JSON_SCALARS):
        return at or "body", value
    for key, item in items:
        found = _unsendable(item, key)
        if found is not None:
            return found
    return None


def _default_check(method: str, path: str) -> str:
    if method == "DELETE":
        return f"GET {path}: a 404 means it was deleted"
    return f"read back what {method} {path} would have changed before sending it again"


def _still_blocked(block: Blocked, method: str, path: str) -> Blocked:
    until = block.cooldown_until
    when = (f"Traffic resumes by itself at {until:%H:%M:%S} UTC (or call resume() to try "
            "sooner)." if until is not None else "Wait for the cool-down, then call resume().")
    return Blocked(403, method, path,
                   f"not sent: this session was stopped by a 403 block on {block.method} "
                   f"{block.path}", when, cooldown_until=until, retry_after=block.retry_after)
