"""The client over a real loopback connection to a sandbox server process (default transport,
TCP_NODELAY, real connection cuts and timeouts)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient
from explorer.api.config import Backoff, RetryPolicy, RetryTransportErrors, Timeouts
from explorer.api.errors import OutcomeUnknown
from explorer.sandbox.demo import generate
from explorer.sandbox.store import Store
from tests.sandbox.test_cli import sandbox_process, stop

pytestmark = pytest.mark.e2e


def _listed_demo_deals() -> list[int]:
    """The ids v2 ``GET /deals`` lists in the server's data: the small demo (its default size,
    1,000 deals) of its default seed, without archived deals (those are on /deals/archived)."""
    store = Store()
    try:
        generate(store, size="small", seed=1)
        deals = store.select("deals")
    finally:
        store.close()
    assert len(deals) == 1_000
    return sorted(d["id"] for d in deals if not d.get("is_archived"))


async def test_crud_paging_and_faults_over_loopback() -> None:
    faults = ("--fault", "lost:count=1,method=POST,path=/api/v2/deals",
              "--fault", "hang:count=1,method=GET,path=/api/v2/deals/2,hang_seconds=30")
    with sandbox_process("--no-limits", *faults) as (proc, url, token):
        config = ClientConfig(
            base_url=url, timeouts=Timeouts(read=1.0),
            retry=RetryPolicy(rules=(RetryTransportErrors(backoff=Backoff(base=0.01)),)))
        async with PipedriveClient(config, ApiTokenProvider(token)) as client:
            deals = [d["id"] async for d in client.iterate("deals")]
            assert sorted(deals) == _listed_demo_deals()  # each once
            leads = [lead["id"] async for lead in client.iterate("leads")]
            windows = [lead["id"] async for lead in client.iterate("leads", concurrent=True)]
            assert windows == leads
            # "applied, then lost": the connection is cut before any byte of the answer.
            with pytest.raises(OutcomeUnknown):
                await client.create("deals", {"title": "Lost over TCP"})
            titles = [d["title"] async for d in client.iterate(
                "deals", params={"sort_by": "add_time", "sort_direction": "desc"})]
            assert titles.count("Lost over TCP") == 1
            # A hang runs into the read timeout; the GET is retried on a new connection.
            assert (await client.get("deals", 2))["id"] == 2
            assert client.usage.retries == 1
        async with PipedriveClient(replace(config, max_in_flight=1),
                                   ApiTokenProvider(token)) as client:
            assert (await client.get("deals", 1))["id"] == 1
        assert stop(proc) == 0
