"""The client against the sandbox: v1 and v2 through one interface, errors, secrets, usage."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

from explorer.api import (
    ApiTokenProvider,
    ClientConfig,
    PipedriveClient,
    RateGovernor,
    RateSnapshot,
)
from explorer.api.config import Backoff, RetryPolicy, RetryServerErrors, RetryTransportErrors
from explorer.api.errors import (
    Forbidden,
    InvalidValue,
    NetworkError,
    NotFound,
    OutcomeUnknown,
    PipedriveError,
    ServerError,
    Unauthorized,
    ValidationFailed,
)
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import FaultKind, FaultRule
from explorer.sandbox.store import Store

QUICK = RetryPolicy(rules=(RetryTransportErrors(backoff=Backoff(base=0.001)),
                           RetryServerErrors(backoff=Backoff(base=0.001))))


async def first_id(client: PipedriveClient, name: str) -> int:
    async for record in client.iterate(name):
        return int(record["id"])
    raise AssertionError(f"no {name}")


async def test_v2_deal_crud(client: PipedriveClient) -> None:
    created = await client.create("deals", {"title": "Client test deal", "value": 120})
    deal_id = created["id"]
    assert (await client.get("deals", deal_id))["title"] == "Client test deal"
    updated = await client.update("deals", deal_id, {"title": "Renamed"})
    assert updated["title"] == "Renamed" and updated["value"] == 120
    assert (await client.delete("deals", deal_id))["id"] == deal_id
    with pytest.raises(NotFound):
        await client.get("deals", deal_id)
    assert client.usage.requests["v2 PATCH /deals/{id}"] == 1


async def test_v1_lead_crud_with_uuid_ids(client: PipedriveClient) -> None:
    person_id = await first_id(client, "persons")
    lead = await client.create("leads", {"title": "Client test lead", "person_id": person_id})
    lead_id = lead["id"]
    assert str(uuid.UUID(lead_id)) == lead_id
    assert (await client.get("leads", lead_id))["person_id"] == person_id
    updated = await client.update("leads", lead_id, {"title": "Renamed lead"})
    assert updated["title"] == "Renamed lead"
    assert (await client.delete("leads", lead_id))["id"] == lead_id
    with pytest.raises(NotFound):
        await client.get("leads", lead_id)
    assert client.usage.requests["v1 PATCH /leads/{id}"] == 1


async def test_v1_note_update_uses_put(client: PipedriveClient) -> None:
    deal_id = await first_id(client, "deals")
    note = await client.create("notes", {"content": "First words", "deal_id": deal_id})
    updated = await client.update("notes", note["id"], {"content": "Second words"})
    assert updated["content"] == "Second words"
    assert (await client.get("notes", note["id"]))["content"] == "Second words"
    assert client.usage.requests["v1 PUT /notes/{id}"] == 1
    await client.delete("notes", note["id"])
    with pytest.raises(NotFound):
        await client.get("notes", note["id"])


async def test_unpaged_v1_lists_and_search(client: PipedriveClient, store: Store) -> None:
    users = [u async for u in client.iterate("users")]
    assert len(users) == store.count("users")
    deal = await client.get("deals", await first_id(client, "deals"))
    items = await client.search(deal["title"][:6], item_types=("deal",))
    assert items and all(i["item"]["type"] == "deal" for i in items)
    assert client.usage.requests["v2 GET /itemSearch"] == 1


# ---------------------------------------------------------------------- errors


async def test_not_found_maps_to_the_tree(client: PipedriveClient) -> None:
    with pytest.raises(NotFound) as caught:
        await client.get("deals", 987654)
    error = caught.value
    assert (error.status, error.method, error.path) == (404, "GET", "/api/v2/deals/987654")
    assert "GET /api/v2/deals/987654 → 404" in str(error)


async def test_v2_schema_validation_failure(client: PipedriveClient) -> None:
    deal_id = await first_id(client, "deals")
    with pytest.raises(ValidationFailed) as caught:
        await client.update("deals", deal_id, {"no_such_key": 1})
    assert caught.value.code == "ERR_SCHEMA_VALIDATION_FAILED" and caught.value.schema
    assert "no_such_key" in caught.value.error


async def test_json_403_is_forbidden_not_blocked(client: PipedriveClient) -> None:
    with pytest.raises(Forbidden) as caught:
        await client.update("deals", 1, {"visible_to": 2})
    assert caught.value.status == 403 and client.blocked is None
    assert (await client.get("deals", 1))["id"] == 1  # traffic goes on


async def test_a_json_403_does_not_stop_requests_waiting_behind_it(
    app: SandboxApp, config: ClientConfig
) -> None:
    # Limits are off: no rate-limit headers. The PATCH goes alone as the governor's probe
    # and its answer is delayed, so the GETs queue behind it and hear its 403.
    app.state.faults.add(FaultRule(kind="latency", count=1, method="PATCH", latency_ms=50))
    async with PipedriveClient(config, ApiTokenProvider(DEFAULT_TOKEN),
                               governor=RateGovernor()) as client:
        forbidden = asyncio.ensure_future(client.update("deals", 1, {"visible_to": 2}))
        await asyncio.sleep(0)
        gets = [asyncio.ensure_future(client.get("deals", i)) for i in range(2, 6)]
        outcomes = await asyncio.gather(forbidden, *gets, return_exceptions=True)
        assert isinstance(outcomes[0], Forbidden)
        assert [o["id"] for o in outcomes[1:] if isinstance(o, dict)] == [2, 3, 4, 5]
        assert client.blocked is None


async def test_non_finite_numbers_are_refused_before_sending(client: PipedriveClient) -> None:
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(InvalidValue, match="finite") as caught:
            await client.update("deals", 1, {"custom_fields": {"budget": bad}})
        assert caught.value.field == "custom_fields.budget"
        assert "nothing was sent" in str(caught.value)
    assert client.usage.total_requests == 0 and client.usage.retries == 0


async def test_v1_validation_failure(client: PipedriveClient) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await client.create("leads", {"title": "Nobody's lead"})
    assert caught.value.status == 400 and not caught.value.schema


async def test_wrong_token_is_unauthorized(config: ClientConfig) -> None:
    secret = "wrong-token-5f0c2a9e"
    async with PipedriveClient(config, ApiTokenProvider(secret)) as client:
        with pytest.raises(Unauthorized) as caught:
            await client.get("deals", 1)
    assert caught.value.status == 401
    assert client.usage.total_tokens == 0  # a 401 is not charged


async def test_tokens_never_appear_in_reprs_or_messages(config: ClientConfig) -> None:
    secret = "very-secret-token-8d1e4b"
    provider = ApiTokenProvider(secret)
    async with PipedriveClient(config, provider) as client:
        errors: list[PipedriveError] = []
        for call in (client.get("deals", 1), client.get("leads", str(uuid.uuid4()))):
            try:
                await call
            except PipedriveError as error:
                errors.append(error)
        texts = [repr(client), str(client), repr(config), str(config), repr(provider),
                 str(provider), *(repr(e) for e in errors), *(str(e) for e in errors),
                 *(str(a) for e in errors for a in e.args)]
    assert len(errors) == 2
    assert not [t for t in texts if secret in t]
    with pytest.raises(ValueError) as caught:
        ClientConfig(base_url=f"https://acme.pipedrive.com/v1/deals?api_token={secret}")
    assert secret not in str(caught.value)
    async with PipedriveClient(config, provider) as client:
        with pytest.raises(ValueError, match="token provider"):
            await client.request("GET", "v2", "/deals", params={"api_token": secret})


# ---------------------------------------------------------------------- observability


async def test_every_response_publishes_a_snapshot_and_usage(
    client: PipedriveClient, snapshots: list[RateSnapshot]
) -> None:
    deal_id = await first_id(client, "deals")  # one list page: 10 tokens
    await client.get("deals", deal_id)  # 1
    await client.update("deals", deal_id, {"title": "Counted"})  # 5
    with pytest.raises(NotFound):
        await client.get("deals", 987654)  # 1: Pipedrive charges answered requests
    assert [s.operation for s in snapshots] == [
        "v2 GET /deals", "v2 GET /deals/{id}", "v2 PATCH /deals/{id}", "v2 GET /deals/{id}"]
    assert [s.status for s in snapshots] == [200, 200, 200, 404]
    assert not any(s.has_limits for s in snapshots)  # limits off: no headers
    assert client.usage.total_tokens == 17 and client.usage.total_requests == 4
    assert dict(client.usage.tokens) == {"v2 GET /deals": 10, "v2 GET /deals/{id}": 2,
                                         "v2 PATCH /deals/{id}": 5}


# ---------------------------------------------------------------------- config


def test_base_url_from_company_domain_or_url() -> None:
    assert ClientConfig.for_company("acme").base_url == "https://acme.pipedrive.com"
    assert ClientConfig.for_company("Acme.pipedrive.com").base_url == (
        "https://acme.pipedrive.com")
    assert ClientConfig(base_url="http://127.0.0.1:8765/api/v1/").base_url == (
        "http://127.0.0.1:8765")
    with pytest.raises(ValueError, match="company domain"):
        ClientConfig.for_company("acme corp")
    with pytest.raises(ValueError, match="http"):
        ClientConfig(base_url="acme.pipedrive.com")


def test_default_transport_sets_tcp_nodelay() -> None:
    import socket

    from explorer.api.config import default_transport

    transport = default_transport(4)
    options = transport._pool._socket_options  # httpcore keeps them for every connection
    assert (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) in list(options or ())


def test_default_transports_share_one_ssl_context() -> None:
    from explorer.api.config import default_transport

    # Building an SSL context takes tens of milliseconds (on the event loop): once a process.
    first, second = default_transport(1), default_transport(4)
    assert first._pool._ssl_context is second._pool._ssl_context


async def test_a_closed_client_refuses_requests(config: ClientConfig) -> None:
    client = PipedriveClient(config, ApiTokenProvider(DEFAULT_TOKEN))
    with pytest.raises(RuntimeError, match="open"):
        await client.get("deals", 1)
    await client.open()
    await client.aclose()
    assert not client.is_open


# ---------------------------------------------------------------------- retries


@pytest.mark.parametrize("kind", ["error_500", "error_502", "error_503"])
async def test_get_is_retried_after_a_5xx(
    app: SandboxApp, config: ClientConfig, kind: FaultKind
) -> None:
    app.state.faults.add(FaultRule(kind=kind, count=2, method="GET"))
    retrying = ClientConfig(base_url=config.base_url, transport=config.transport, retry=QUICK)
    async with PipedriveClient(retrying, ApiTokenProvider(DEFAULT_TOKEN)) as client:
        assert (await client.get("deals", 1))["id"] == 1
    assert client.usage.retries == 2


async def test_latency_only_delays_the_answer(app: SandboxApp, client: PipedriveClient) -> None:
    app.state.faults.add(FaultRule(kind="latency", count=1, method="GET", latency_ms=50))
    assert (await client.get("deals", 1))["id"] == 1
    assert app.state.stats.faults["latency"] == 1 and client.usage.retries == 0


async def test_get_gives_up_after_the_policy_attempts(
    app: SandboxApp, config: ClientConfig
) -> None:
    app.state.faults.add(FaultRule(kind="error_500", count=5, method="GET"))
    retrying = ClientConfig(base_url=config.base_url, transport=config.transport, retry=QUICK)
    async with PipedriveClient(retrying, ApiTokenProvider(DEFAULT_TOKEN)) as client:
        with pytest.raises(ServerError) as caught:
            await client.get("deals", 1)
    assert caught.value.status == 500 and client.usage.retries == 2


async def test_get_is_retried_after_a_dropped_connection(
    app: SandboxApp, config: ClientConfig
) -> None:
    app.state.faults.add(FaultRule(kind="drop", count=1, method="GET"))
    retrying = ClientConfig(base_url=config.base_url, transport=config.transport, retry=QUICK)
    async with PipedriveClient(retrying, ApiTokenProvider(DEFAULT_TOKEN)) as client:
        assert (await client.get("deals", 1))["id"] == 1
    assert client.usage.retries == 1


async def test_a_lost_create_is_reported_not_repeated(
    app: SandboxApp, client: PipedriveClient, store: Store
) -> None:
    before = store.count("deals")
    app.state.faults.add(FaultRule(kind="lost", count=1, method="POST"))
    with pytest.raises(OutcomeUnknown) as caught:
        await client.create("deals", {"title": "Maybe created"})
    assert caught.value.method == "POST" and "newest deals" in caught.value.what_to_check
    assert store.count("deals") == before + 1  # applied once, never sent twice
    assert client.usage.requests["v2 POST /deals"] == 1


async def test_a_lost_update_is_retried(
    app: SandboxApp, config: ClientConfig, store: Store
) -> None:
    app.state.faults.add(FaultRule(kind="lost", count=1, method="PATCH"))
    retrying = ClientConfig(base_url=config.base_url, transport=config.transport, retry=QUICK)
    async with PipedriveClient(retrying, ApiTokenProvider(DEFAULT_TOKEN)) as client:
        deal = await client.update("deals", 1, {"title": "Same values twice"})
    assert deal["title"] == "Same values twice" and client.usage.retries == 1


async def test_a_lost_delete_is_reported(app: SandboxApp, client: PipedriveClient) -> None:
    app.state.faults.add(FaultRule(kind="lost", count=1, method="DELETE"))
    with pytest.raises(OutcomeUnknown) as caught:
        await client.delete("deals", 1)
    assert "404" in caught.value.what_to_check
    with pytest.raises(NotFound):
        await client.get("deals", 1)


async def test_transport_errors_are_wrapped() -> None:
    # A real refused connection: a port that was free a moment ago has no listener.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = ClientConfig(base_url=f"http://127.0.0.1:{port}", retry=RetryPolicy.never())
    async with PipedriveClient(config, ApiTokenProvider(DEFAULT_TOKEN)) as client:
        with pytest.raises(NetworkError) as caught:
            await client.create("deals", {"title": "never sent"})
    # The request never left, so a create is not "outcome unknown".
    assert not caught.value.may_have_arrived
    # httpx's exception (its request carries the token header) is not chained; its type
    # and message are kept in the text.
    error = caught.value
    assert error.__cause__ is None and error.__context__ is None
    assert "ConnectError" in error.detail and "ConnectError" in str(error)


def test_a_governor_may_not_let_more_requests_fly_than_the_session() -> None:
    config = ClientConfig(base_url="http://127.0.0.1:8765", max_in_flight=4)
    with pytest.raises(ValueError, match=r"at most ClientConfig\.max_in_flight"):
        PipedriveClient(config, ApiTokenProvider("t"), governor=RateGovernor(max_in_flight=5))
    PipedriveClient(config, ApiTokenProvider("t"), governor=RateGovernor(max_in_flight=4))
