"""Every related list of the registry, paged through the client, against the sandbox's data.

The expected items come from the sandbox's store (its tables of deal products, followers,
files and changes), never from the client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient
from explorer.api.related import RELATED, RelatedList
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.store import Store

SINGULAR = {"deals": "deal", "persons": "person", "organizations": "organization",
            "products": "product"}
FILE_COLUMN = {"deals": "deal_id", "persons": "person_id", "organizations": "org_id",
               "products": "product_id"}


def expected_items(store: Store, entry: RelatedList) -> Callable[[int], list[Any]]:
    """What the store holds for a parent id, as the list's identifying values."""
    if entry.name == "products":
        return lambda i: [r["id"] for r in store.select("deal_products",
                                                          [("deal_id = ?", (i,))])]
    if entry.name == "followers":
        return lambda i: [r["user_id"] for r in store.select(
            "followers", [("entity = ? AND item_id = ?", (SINGULAR[entry.parent], i))])]
    if entry.name == "files":
        column = FILE_COLUMN[entry.parent]
        return lambda i: [r["id"] for r in store.select("files", [(f"{column} = ?", (i,))])]
    if entry.name == "changelog":
        return lambda i: list(range(len(store.changelog(entry.parent, i, limit=1_000_000))))
    raise AssertionError(entry)


ENTRIES = [e for lists in RELATED.values() for e in lists.values()
           if e.name != "participants"]  # participants: tests/api/test_related.py


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.parent}-{e.name}")
async def test_each_related_list_pages_whole(entry: RelatedList, app: SandboxApp,
                                             config: ClientConfig, store: Store) -> None:
    expected = expected_items(store, entry)
    if entry.name == "changelog":
        # Demo records have a short history: write one that spans several pages.
        parent = store.select(entry.parent, [], limit=1)[0]["id"]
        async with PipedriveClient(config, ApiTokenProvider(DEFAULT_TOKEN)) as writer:
            key = "title" if entry.parent == "deals" else "name"
            for n in range(5):
                await writer.update(entry.parent, parent, {key: f"Renamed {n}"})
    else:
        parents = [r["id"] for r in store.select(entry.parent, [])]
        parent = max(parents, key=lambda i: len(expected(i)))
    want = expected(parent)
    # Page by 1 so that two items already take two pages (products have no files in the
    # demo data: their list is read as empty).
    assert len(want) >= (0 if (entry.parent, entry.name) == ("products", "files") else 2)
    async with PipedriveClient(replace(config, page_size=1),
                               ApiTokenProvider(DEFAULT_TOKEN)) as client:
        items = [r async for r in client.related(entry.parent, parent, entry.name)]
        pages = client.usage.requests[entry.operation]
    if entry.name == "changelog":
        assert len(items) == len(want)
    else:
        assert sorted(r[entry.key or "id"] for r in items) == sorted(want)
        assert len(items) == len({r[entry.key or "id"] for r in items})
    assert max(1, len(want)) <= pages <= len(want) + 1
