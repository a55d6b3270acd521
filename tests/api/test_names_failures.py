"""The names cache degrades per kind: a kind whose list fails (a 403 for a missing OAuth scope,
a server error on one endpoint) is recorded in ``failures``, its ids show as ids and it is not
asked again for every row; the other kinds still get their names."""

from __future__ import annotations

import asyncio
import gc
import math
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient, RetryPolicy
from explorer.api.errors import Forbidden, ServerError
from explorer.api.fields import Field
from explorer.api.names import NameCache
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import FaultRule
from explorer.sandbox.routing import ScopeMismatch, require_scope
from explorer.sandbox.store import Store
from tests.api.tokens_sandbox import LOOPBACK, signed_in

from tests.api.tokens_sandbox import callback_config, loopback_app, loopback_web  # noqa: F401  # isort: skip (fixtures)

# Deals, users and the pipelines, but no contacts: /persons and /organizations answer 403.
WITHOUT_CONTACTS = "base,deals:read,users:read"
CONTACTS = ("contacts:read", "contacts:full")  # the spec's security of both v2 lists
PERSON = Field("deals", "person_id", "Contact person", "people", False, True)
ORG = Field("deals", "org_id", "Organization", "org", False, True)
OWNER = Field("deals", "owner_id", "Owner", "user", False, True)


class ContactsScoped:
    """The sandbox app, also checking the spec's OAuth scopes of the v2 persons and
    organizations lists, with the sandbox's own check and 403 (``require_scope``, as its
    *Fields endpoints do): the sandbox does not check them on these lists."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ("/api/v2/persons",
                                                         "/api/v2/organizations"):
            try:
                require_scope(Request({**scope, "app": self.app.starlette}, receive), *CONTACTS)
            except ScopeMismatch as problem:
                await problem.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


@pytest.fixture
def config(app: SandboxApp) -> ClientConfig:
    # No retries: a server error shows at once (the cache sees what the client raises).
    return ClientConfig(base_url=LOOPBACK, transport=httpx.ASGITransport(app=ContactsScoped(app)),
                        retry=RetryPolicy.never())


def asked(client: PipedriveClient, operation: str) -> int:
    return client.usage.requests.get(operation, 0)


async def truth(store: Store, table: str, ids: set[Any]) -> dict[Any, str]:
    return {r["id"]: r["name"] for r in store.select(table, []) if r["id"] in ids}


async def test_a_missing_scope_fails_those_kinds_only(
    web: httpx.AsyncClient, config: ClientConfig, store: Store
) -> None:
    async with await signed_in(web, config, WITHOUT_CONTACTS) as client:
        deals = [d async for d in client.iterate("deals")][:200]
        persons = {d["person_id"] for d in deals if d.get("person_id")}
        orgs = {d["org_id"] for d in deals if d.get("org_id")}
        assert persons and orgs
        names = NameCache(client)
        await names.load_records("deals", deals)  # raised the 403 before
        assert set(names.failures) == {"person", "organization"}
        for error in names.failures.values():
            assert isinstance(error, Forbidden) and error.status == 403
        # The other kinds have their names (the sandbox's own rows).
        users = await truth(store, "users", {d["owner_id"] for d in deals})
        for deal in deals:
            assert names.format_value(OWNER, deal["owner_id"]) == users[deal["owner_id"]]
        # The failed kinds' ids show as ids.
        person = next(iter(persons))
        assert names.resolve("person", person) is None
        assert names.format_value(PERSON, person) == f"#{person}"
        assert names.known("person", person)
        # Asked once per batch of 100 ids (the batches go out together), and not again
        # for the next rows or the next table.
        before = (asked(client, "v2 GET /persons"), asked(client, "v2 GET /organizations"))
        assert before == (math.ceil(len(persons) / 100), math.ceil(len(orgs) / 100))
        await names.load_records("deals", deals)
        assert await names.fetch("organization", orgs) == dict.fromkeys(orgs)
        after = (asked(client, "v2 GET /persons"), asked(client, "v2 GET /organizations"))
        assert after == before


@pytest.mark.parametrize(("kind", "path", "operation", "field"), [
    ("person", "/api/v2/persons", "v2 GET /persons", PERSON),  # looked up in batches
    ("user", "/api/v1/users", "v1 GET /users", OWNER),  # fetched whole
])
async def test_a_failing_endpoint_fails_its_kind_only(
    app: SandboxApp, config: ClientConfig, store: Store,
    kind: str, path: str, operation: str, field: Field
) -> None:
    async with PipedriveClient(config, ApiTokenProvider(DEFAULT_TOKEN)) as client:
        deals = [d async for d in client.iterate("deals")][:300]
        app.state.faults.add(FaultRule("error_500", probability=1.0, path=path))
        names = NameCache(client)
        await names.load_records("deals", deals)
        assert list(names.failures) == [kind]
        assert isinstance(names.failures[kind], ServerError)
        ident = next(d[field.key] for d in deals if d.get(field.key))
        assert names.format_value(field, ident) == f"#{ident}"
        # Every other kind is named.
        orgs = await truth(store, "organizations", {d.get("org_id") for d in deals})
        pipelines = {r["id"]: r["name"] for r in store.select("pipelines", [])}
        for deal in deals:
            if deal.get("org_id"):
                assert names.format_value(ORG, deal["org_id"]) == orgs[deal["org_id"]]
            assert names.resolve("pipeline", deal["pipeline_id"]) == (
                pipelines[deal["pipeline_id"]])
        if kind == "person":
            persons = {d["person_id"] for d in deals if d.get("person_id")}
            assert len(persons) > 100  # more than one batch, each asked once
            assert asked(client, operation) == math.ceil(len(persons) / 100)
        else:
            assert asked(client, operation) == 1
        failed_asks = asked(client, operation)
        await names.load_records("deals", deals)
        await names.fetch(kind, [ident])
        assert asked(client, operation) == failed_asks  # not again, per row or per table
        # Once the endpoint works, forget(kind) asks again and the names come.
        app.state.faults.clear()
        names.forget(kind)
        assert names.failures == {}
        table = "persons" if kind == "person" else "users"
        name = (await truth(store, table, {ident}))[ident]
        assert await names.fetch(kind, [ident]) == {ident: name}



async def test_aclose_cancels_lookups_nobody_waits_for_any_more(
        app: SandboxApp, client: PipedriveClient) -> None:
    # A window closing while a page's names load: the pane's task is cancelled, the shielded
    # lookup goes on; closing the cache must end it before the client closes, quietly.
    app.state.faults.add(FaultRule(kind="latency", probability=1.0, method="GET",
                                   path="/api/v2/persons", latency_ms=2000))
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        names = NameCache(client)
        caller = asyncio.ensure_future(names.fetch("person", [1, 2, 3]))
        await asyncio.sleep(0.1)
        caller.cancel()
        started = loop.time()
        await names.aclose()
        assert loop.time() - started < 1.0  # cancelled, not waited out
        await client.aclose()
        await asyncio.sleep(0)
        gc.collect()
        await asyncio.sleep(0)
        assert reported == []
    finally:
        loop.set_exception_handler(None)
