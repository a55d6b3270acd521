"""``related_page`` takes pass-through ``params`` as ``related`` does (and as ``fetch_page``
does beside ``iterate``): a spec parameter of the list goes out with every page, and a handle
goes on with its own. Expected items come from the sandbox's store."""

from __future__ import annotations

import pytest

from explorer.api import PipedriveClient
from explorer.sandbox.store import Store

# v2 GET /deals/{id}/products takes sort_by (id, add_time, update_time, order_nr) and
# sort_direction (official spec).
NEWEST_FIRST = {"sort_by": "id", "sort_direction": "desc"}


def deal_with_products(store: Store, at_least: int) -> tuple[int, list[int]]:
    """A deal with ``at_least`` products, and their ids, highest first."""
    counts: dict[int, list[int]] = {}
    for row in store.select("deal_products", []):
        counts.setdefault(row["deal_id"], []).append(row["id"])
    deal_id, ids = next((d, i) for d, i in counts.items() if len(i) >= at_least)
    return deal_id, sorted(ids, reverse=True)


async def test_related_page_passes_params_like_related(client: PipedriveClient,
                                                       store: Store) -> None:
    deal_id, expected = deal_with_products(store, 3)
    listed = [p["id"] async for p in client.related("deals", deal_id, "products",
                                                    params=NEWEST_FIRST)]
    assert listed == expected
    first = await client.related_page("deals", deal_id, "products", page_size=2,
                                      params=NEWEST_FIRST)
    assert [p["id"] for p in first.records] == expected[:2] and first.more
    assert first.handle is not None
    assert dict(first.handle.query) == NEWEST_FIRST
    # The handle goes on with its params (given again, or left out).
    rest = await client.related_page("deals", deal_id, "products", page_size=100,
                                     after=first.handle, params=NEWEST_FIRST)
    assert [p["id"] for p in rest.records] == expected[2:] and not rest.more
    same = await client.related_page("deals", deal_id, "products", page_size=100,
                                     after=first.handle)
    assert same.records == rest.records
    with pytest.raises(ValueError, match="other filters or sort"):
        await client.related_page("deals", deal_id, "products", after=first.handle,
                                  params={"sort_by": "id"})
    with pytest.raises(ValueError, match="paging is the handle's"):
        await client.related_page("deals", deal_id, "products", params={"limit": 5})
