"""Sessions on the sandbox in process under a ``RateGovernor``, and the steps the governor
tests share (spending a small daily budget)."""

from __future__ import annotations

import pytest

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient, RateGovernor
from explorer.api.errors import RateLimited
from explorer.sandbox.app import DEFAULT_TOKEN


def session(config: ClientConfig, governor: RateGovernor, **options: object) -> PipedriveClient:
    """A client on the sandbox's default API token, paced by ``governor``."""
    return PipedriveClient(config, ApiTokenProvider(DEFAULT_TOKEN), governor=governor,
                           **options)  # type: ignore[arg-type]


async def spend_a_budget_of_two(client: PipedriveClient) -> RateLimited:
    """Two single-record GETs spend a daily budget of 2 tokens; the third is refused with the
    daily budget's 429, which is returned for the test to look at further."""
    await client.get("deals", 1)
    await client.get("deals", 2)
    with pytest.raises(RateLimited) as caught:
        await client.get("deals", 3)
    assert caught.value.scope == "daily"
    return caught.value
