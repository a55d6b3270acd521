"""An account session: the client, its rate governor, field metadata and names, as one object
the window is built on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from explorer.api import (
    ApiTokenProvider,
    ClientConfig,
    FieldCatalog,
    NameCache,
    PipedriveClient,
    RateGovernor,
    RateSnapshot,
    TokenProvider,
    UsageCounter,
)
from explorer.api.errors import PipedriveError
from explorer.api.events import Publisher
from explorer.api.fields import DEFAULT_RESOURCES, ResourceFields
from explorer.api.resources import resource as api_resource
from explorer.core.accounts import Account
from explorer.core.views import ClientSource, RecordSource

SnapshotListener = Callable[[RateSnapshot, UsageCounter], None]


class Session:
    """One open account.

    Built synchronously (``Session.connect``): nothing goes over the network until a pane asks,
    so the window shows at once. ``close()`` ends it.

    Attributes:
        account: which account this is.
        client: the open ``PipedriveClient``.
        governor: its ``RateGovernor`` (``governor.subscribe`` feeds the rate meter).
        catalog: field metadata (``await session.fields("deals")`` loads one resource once).
        names: the name cache for ids (people, organizations, users, pipelines, stages, …).
        source: where tables read records (``RecordSource``).
    """

    def __init__(self, account: Account, client: PipedriveClient, governor: RateGovernor,
                 source: RecordSource | None = None) -> None:
        self.account = account
        self.client = client
        self.governor = governor
        self.catalog = FieldCatalog(client)
        self.names = NameCache(client)
        self.source: RecordSource = source or ClientSource(client)
        self._snapshot_listeners: Publisher[tuple[RateSnapshot, UsageCounter]] = Publisher(
            "a rate-limit snapshot listener")
        self._field_loads: dict[str, asyncio.Task[ResourceFields]] = {}

    @classmethod
    def connect(cls, account: Account, auth: TokenProvider | str, *,
                transport: httpx.AsyncBaseTransport | None = None,
                governor: RateGovernor | None = None, **config: Any) -> Session:
        """Open a session on ``account`` with ``auth`` (a provider, or an API token)."""
        provider = ApiTokenProvider(auth) if isinstance(auth, str) else auth
        governor = governor or RateGovernor(auth_kind=(
            "oauth" if not isinstance(provider, ApiTokenProvider) else "token"))
        client_config = ClientConfig(base_url=account.base_url, transport=transport, **config)
        holder: list[Session] = []

        def on_snapshot(snapshot: RateSnapshot, usage: UsageCounter) -> None:
            if holder:
                holder[0]._publish(snapshot, usage)

        client = PipedriveClient(client_config, provider, governor=governor,
                                 on_snapshot=on_snapshot)
        client.connect()
        session = cls(account, client, governor)
        holder.append(session)
        return session

    def on_snapshot(self, listener: SnapshotListener) -> Callable[[], None]:
        """Call ``listener(snapshot, usage)`` after every response; returns an unsubscribe.
        A listener that raises is logged and skipped, like a governor subscriber."""
        return self._snapshot_listeners.subscribe(lambda pair: listener(*pair))

    def _publish(self, snapshot: RateSnapshot, usage: UsageCounter) -> None:
        self._snapshot_listeners.publish((snapshot, usage))

    async def fields(self, resource: str) -> ResourceFields:
        """The fields of ``resource``, loaded once for the session (concurrent callers share
        one request); a resource without custom fields has its built-in ones. A failure
        raises the client's error and is forgotten, so the next call tries again."""
        res = api_resource(resource)
        if res.name not in DEFAULT_RESOURCES and res.name not in self.catalog:
            # No custom fields (notes, users): the built-in ones the catalog knows, if any.
            try:
                return self.catalog[res.name]
            except KeyError:
                return ResourceFields(res, [])
        if res.name in self.catalog:
            return self.catalog[res.name]
        task = self._field_loads.get(resource)
        if task is None:
            task = asyncio.ensure_future(self._load_fields(resource))
            self._field_loads[resource] = task
        try:
            return await asyncio.shield(task)
        finally:
            if task.done():
                self._field_loads.pop(resource, None)

    async def _load_fields(self, resource: str) -> ResourceFields:
        failures: dict[str, PipedriveError] = await self.catalog.load(resource)
        if resource in failures:
            raise failures[resource]
        return self.catalog[resource]

    async def close(self) -> None:
        """Stop what is under way (field and name lookups), then close the client."""
        for task in self._field_loads.values():
            task.cancel()
        await self.names.aclose()
        await self.client.aclose()
