"""Records related to a deal, person, organization or product, as a detail pane reads them:
deal products, followers, changelogs and file metadata, with the demo data behind each."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store
from tests.sandbox.paged import v2_all

V1, V2 = "/api/v1", "/api/v2"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
V1_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen_at=NOW)


def stamp(seconds: int = 0) -> str:
    return (NOW + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def data(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def deal_with_products(store: Store, at_least: int = 1) -> int:
    counts: dict[int, int] = {}
    for item in store.select("deal_products"):
        counts[item["deal_id"]] = counts.get(item["deal_id"], 0) + 1
    return min(d for d, n in counts.items() if n >= at_least)


# ---------------------------------------------------------------------- deal products


async def test_demo_deal_products_add_up_to_the_deal_value(client: httpx.AsyncClient,
                                                          store: Store) -> None:
    deal_id = deal_with_products(store, at_least=2)
    deal = await data(client, f"{V2}/deals/{deal_id}", include_fields="products_count")
    items = await data(client, f"{V2}/deals/{deal_id}/products")
    assert len(items) == deal["products_count"] >= 2
    for item in items:
        assert item["deal_id"] == deal_id and item["currency"] == deal["currency"]
        assert item["sum"] == pytest.approx(item["quantity"] * item["item_price"])
        product = await data(client, f"{V2}/products/{item['product_id']}")
        assert item["name"] == product["name"]
    assert sum(i["sum"] for i in items) == pytest.approx(deal["value"])
    assert [i["order_nr"] for i in items] == list(range(1, len(items) + 1))


async def test_deal_products_page_with_a_cursor(client: httpx.AsyncClient, store: Store) -> None:
    deal_id = deal_with_products(store, at_least=2)
    whole = await data(client, f"{V2}/deals/{deal_id}/products")
    paged = await v2_all(client, f"{V2}/deals/{deal_id}/products", limit=1,
                         sort_by="order_nr", sort_direction="desc")
    assert [i["id"] for i in paged] == [i["id"] for i in reversed(whole)]


async def test_products_of_several_deals(client: httpx.AsyncClient, store: Store) -> None:
    ids = list(range(1, 101))
    items = await v2_all(client, f"{V2}/deals/products", deal_ids=",".join(map(str, ids)),
                         limit=7, sort_by="deal_id")
    expected = [i["id"] for i in store.select("deal_products") if i["deal_id"] in ids]
    assert sorted(i["id"] for i in items) == sorted(expected) and expected
    assert [i["deal_id"] for i in items] == sorted(i["deal_id"] for i in items)
    gone = items[0]["deal_id"]
    await client.delete(f"{V2}/deals/{gone}")
    left = await v2_all(client, f"{V2}/deals/products", deal_ids=",".join(map(str, ids)))
    assert {i["id"] for i in left} == {i["id"] for i in items if i["deal_id"] != gone}
    over = await client.get(f"{V2}/deals/products",
                            params={"deal_ids": ",".join(map(str, range(1, 102)))})
    assert over.status_code == 400


async def test_attaching_a_product_revalues_the_deal_and_logs_it(
        client: httpx.AsyncClient, clock: Clock) -> None:
    deal = (await client.post(f"{V2}/deals", json={"title": "Bundle", "value": 50})).json()[
        "data"]
    product_id = (await data(client, f"{V2}/products", limit=1))[0]["id"]
    clock.advance(30)
    added = await client.post(f"{V2}/deals/{deal['id']}/products", json={
        "product_id": product_id, "item_price": 120, "quantity": 3, "discount": 10})
    assert added.status_code == 201, added.text
    item = added.json()["data"]
    assert item["sum"] == 324 and item["deal_id"] == deal["id"] and item["add_time"] == stamp(30)
    now = await data(client, f"{V2}/deals/{deal['id']}")
    assert now["value"] == 324 and now["update_time"] == stamp(30)

    clock.advance(30)
    changed = await client.patch(f"{V2}/deals/{deal['id']}/products/{item['id']}",
                                 json={"quantity": 5, "discount": 20, "discount_type": "amount"})
    assert changed.json()["data"]["sum"] == 580
    assert (await data(client, f"{V2}/deals/{deal['id']}"))["value"] == 580

    removed = await client.delete(f"{V2}/deals/{deal['id']}/products/{item['id']}")
    assert removed.json()["data"] == {"id": item["id"]}
    assert await data(client, f"{V2}/deals/{deal['id']}/products") == []
    assert (await data(client, f"{V2}/deals/{deal['id']}"))["value"] == 0
    log = await data(client, f"{V1}/deals/{deal['id']}/changelog")
    values = [(e["old_value"], e["new_value"]) for e in log if e["field_key"] == "value"]
    assert values == [("580", "0"), ("324", "580"), ("50", "324")]


async def test_deal_product_errors(client: httpx.AsyncClient, store: Store) -> None:
    deal_id = deal_with_products(store)
    other = deal_with_products(store, at_least=1) + 1
    item = store.select("deal_products", [("deal_id = ?", (deal_id,))])[0]
    wrong_deal = await client.patch(f"{V2}/deals/{other}/products/{item['id']}",
                                    json={"quantity": 2})
    assert wrong_deal.status_code == 404
    missing = await client.post(f"{V2}/deals/{deal_id}/products",
                                json={"product_id": 999_999, "item_price": 1, "quantity": 1})
    assert missing.status_code == 400 and "Product" in missing.json()["error"]
    weekly = await client.patch(f"{V2}/deals/{deal_id}/products/{item['id']}",
                                json={"billing_frequency": "weekly",
                                      "billing_frequency_cycles": None})
    assert weekly.status_code == 400
    too_much = await client.patch(f"{V2}/deals/{deal_id}/products/{item['id']}",
                                  json={"discount": 120, "discount_type": "percentage"})
    assert too_much.status_code == 400 and "discount" in too_much.json()["error"]


async def test_billing_cycles_are_1_to_208(client: httpx.AsyncClient, store: Store) -> None:
    """The spec: "a positive integer less or equal to 208"."""
    deal_id = deal_with_products(store)
    item = store.select("deal_products", [("deal_id = ?", (deal_id,))])[0]
    url = f"{V2}/deals/{deal_id}/products/{item['id']}"
    for cycles, status in ((0, 400), (209, 400), (208, 200), (1, 200)):
        answer = await client.patch(url, json={"billing_frequency": "weekly",
                                               "billing_frequency_cycles": cycles})
        assert answer.status_code == status, (cycles, answer.text)
        if status == 400:
            assert "billing_frequency_cycles" in answer.json()["error"]


async def test_a_deal_takes_at_most_20_recurring_products(client: httpx.AsyncClient) -> None:
    """The spec: "A deal can have up to 20 products attached with billing_frequency different
    than one-time"; one-time products are not counted."""
    deal = (await client.post(f"{V2}/deals", json={"title": "Subscriptions"})).json()["data"]
    product_id = (await data(client, f"{V2}/products", limit=1))[0]["id"]
    url = f"{V2}/deals/{deal['id']}/products"
    item = {"product_id": product_id, "item_price": 10, "quantity": 1}
    for _ in range(20):
        added = await client.post(url, json={**item, "billing_frequency": "monthly"})
        assert added.status_code == 201, added.text
    refused = await client.post(url, json={**item, "billing_frequency": "annually"})
    assert refused.status_code == 400 and "20" in refused.json()["error"]
    one_time = await client.post(url, json=item)
    assert one_time.status_code == 201, one_time.text
    made_recurring = await client.patch(f"{url}/{one_time.json()['data']['id']}",
                                        json={"billing_frequency": "quarterly"})
    assert made_recurring.status_code == 400
    recurring = [i for i in await data(client, url, limit=100)
                 if i["billing_frequency"] != "one-time"]
    assert len(recurring) == 20
    # Changing one recurring product's terms does not count it twice.
    assert (await client.patch(f"{url}/{recurring[0]['id']}",
                               json={"billing_frequency": "semi-annually"})).status_code == 200
    await client.delete(f"{url}/{recurring[0]['id']}")
    assert (await client.post(url, json={**item, "billing_frequency": "monthly"})
            ).status_code == 201


async def test_a_disabled_product_leaves_the_deal_value(client: httpx.AsyncClient) -> None:
    deal = (await client.post(f"{V2}/deals", json={"title": "Two lines"})).json()["data"]
    product_id = (await data(client, f"{V2}/products", limit=1))[0]["id"]
    url = f"{V2}/deals/{deal['id']}/products"
    first = (await client.post(url, json={"product_id": product_id, "item_price": 100,
                                          "quantity": 2})).json()["data"]
    await client.post(url, json={"product_id": product_id, "item_price": 30, "quantity": 1})
    assert (await data(client, f"{V2}/deals/{deal['id']}"))["value"] == 230
    off = await client.patch(f"{url}/{first['id']}", json={"is_enabled": False})
    assert off.status_code == 200 and off.json()["data"]["is_enabled"] is False
    assert (await data(client, f"{V2}/deals/{deal['id']}"))["value"] == 30
    await client.patch(f"{url}/{first['id']}", json={"is_enabled": True})
    assert (await data(client, f"{V2}/deals/{deal['id']}"))["value"] == 230


# ---------------------------------------------------------------------- followers


@pytest.mark.parametrize("path,collection", [
    ("deals", "deals"), ("persons", "persons"), ("organizations", "organizations"),
    ("products", "products")])
async def test_owners_follow_their_records_and_a_follower_added_shows(
        client: httpx.AsyncClient, store: Store, clock: Clock, path: str,
        collection: str) -> None:
    record = store.select(collection, limit=1)[0]
    followers = await data(client, f"{V2}/{path}/{record['id']}/followers")
    assert record["owner_id"] in {f["user_id"] for f in followers}
    new = next(u["id"] for u in store.select("users")
               if u["id"] not in {f["user_id"] for f in followers})
    clock.advance(5)
    added = await client.post(f"{V2}/{path}/{record['id']}/followers", json={"user_id": new})
    assert added.status_code == 201, added.text
    assert added.json()["data"] == {"user_id": new, "add_time": stamp(5)}
    after = await data(client, f"{V2}/{path}/{record['id']}/followers")
    assert {"user_id": new, "add_time": stamp(5)} in after
    assert len(after) == len(followers) + 1
    again = await client.post(f"{V2}/{path}/{record['id']}/followers", json={"user_id": new})
    assert again.status_code == 400

    clock.advance(5)
    removed = await client.delete(f"{V2}/{path}/{record['id']}/followers/{new}")
    assert removed.json()["data"] == {"user_id": new}
    assert new not in {f["user_id"] for f in
                       await data(client, f"{V2}/{path}/{record['id']}/followers")}
    log = await data(client, f"{V2}/{path}/{record['id']}/followers/changelog")
    assert [(e["action"], e["follower_user_id"], e["time"]) for e in log] == [
        ("added", new, stamp(5)), ("removed", new, stamp(10))]
    assert all(e["actor_user_id"] == 1 for e in log)


@pytest.mark.parametrize("path,body", [
    ("deals", {"title": "Followed"}), ("persons", {"name": "Followed Person"}),
    ("organizations", {"name": "Followed Org"}), ("products", {"name": "Followed product"})])
async def test_a_new_record_is_followed_by_its_owner(
        client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
    made = await client.post(f"{V2}/{path}", json={**body, "owner_id": 2})
    assert made.status_code in (200, 201), made.text
    record = made.json()["data"]
    followers = await data(client, f"{V2}/{path}/{record['id']}/followers")
    assert followers == [{"user_id": 2, "add_time": record["add_time"]}]


async def test_followers_count_and_unknown_user(client: httpx.AsyncClient, store: Store) -> None:
    deal = store.select("deals", limit=1)[0]
    shown = await data(client, f"{V2}/deals/{deal['id']}", include_fields="followers_count")
    listed = await data(client, f"{V2}/deals/{deal['id']}/followers")
    assert shown["followers_count"] == len(listed) >= 1
    unknown = await client.post(f"{V2}/deals/{deal['id']}/followers", json={"user_id": 999})
    assert unknown.status_code == 400 and "User" in unknown.json()["error"]
    gone = await client.delete(f"{V2}/deals/{deal['id']}/followers/999")
    assert gone.status_code == 404


# ---------------------------------------------------------------------- changelogs


@pytest.mark.parametrize("path,body,key,old_key", [
    ("persons", {"name": "Renamed Person"}, "name", "name"),
    ("organizations", {"name": "Renamed Org"}, "name", "name"),
    ("persons", {"job_title": "Chief Buyer"}, "job_title", "job_title"),
])
async def test_a_patch_appears_in_the_changelog_with_old_and_new_values(
        client: httpx.AsyncClient, clock: Clock, path: str, body: dict[str, Any], key: str,
        old_key: str) -> None:
    record = (await data(client, f"{V2}/{path}", limit=1))[0]
    clock.advance(120)
    patched = await client.patch(f"{V2}/{path}/{record['id']}", json=body)
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["update_time"] == stamp(120)
    log = await data(client, f"{V1}/{path}/{record['id']}/changelog")
    entry = next(e for e in log if e["field_key"] == key)
    assert entry["old_value"] == record.get(old_key) and entry["new_value"] == body[key]
    assert entry["time"] == stamp(120).replace("T", " ")[:19]
    assert entry["actor_user_id"] == 1 and entry["change_source"] == "api"


@pytest.mark.parametrize("path,key", [("persons", "name"), ("organizations", "name"),
                                      ("deals", "title")])
async def test_a_patch_that_changes_nothing_records_nothing(
        client: httpx.AsyncClient, clock: Clock, path: str, key: str) -> None:
    """Writing a record's own value back changes no field: the record reads the same (but for
    ``update_time``) and its changelog gains no entry."""
    for record in await data(client, f"{V2}/{path}", limit=20):
        before = await data(client, f"{V1}/{path}/{record['id']}/changelog", limit=500)
        clock.advance(60)
        patched = await client.patch(f"{V2}/{path}/{record['id']}", json={key: record[key]})
        assert patched.status_code == 200, patched.text
        same = {k: v for k, v in patched.json()["data"].items() if k != "update_time"}
        assert same == {k: v for k, v in record.items() if k != "update_time"}, record["id"]
        after = await data(client, f"{V1}/{path}/{record['id']}/changelog", limit=500)
        assert after == before, (record["id"], after[:len(after) - len(before)])


async def test_a_patch_records_exactly_the_fields_it_changed(client: httpx.AsyncClient,
                                                              clock: Clock) -> None:
    person = (await data(client, f"{V2}/persons", limit=1))[0]
    before = await data(client, f"{V1}/persons/{person['id']}/changelog", limit=500)
    clock.advance(60)
    title = "Chief Buyer" if person.get("job_title") != "Chief Buyer" else "Head of Buying"
    await client.patch(f"{V2}/persons/{person['id']}", json={"job_title": title})
    after = await data(client, f"{V1}/persons/{person['id']}/changelog", limit=500)
    added = after[:len(after) - len(before)]
    assert after[len(added):] == before
    assert [(e["field_key"], e["old_value"], e["new_value"]) for e in added] == [
        ("job_title", person.get("job_title"), title)]


async def test_demo_contacts_have_a_history(client: httpx.AsyncClient, store: Store) -> None:
    rows = store.conn.execute(
        "SELECT collection, item_id FROM changelog WHERE collection IN "
        "('persons', 'organizations') GROUP BY 1 ORDER BY 1, MIN(id)").fetchall()
    kinds = {c for c, _ in rows}
    assert kinds == {"persons", "organizations"}
    for collection, item_id in (next(r for r in rows if r[0] == k) for k in kinds):
        record = store.get(collection, int(item_id))
        assert record is not None
        log = await data(client, f"{V1}/{collection}/{item_id}/changelog")
        latest = log[0]
        # The history ends at the record's current value and update time.
        current = record[latest["field_key"]]
        assert latest["new_value"] == str(current)
        assert latest["time"] == record["update_time"].replace("T", " ")[:19]
        assert latest["old_value"] != latest["new_value"]


async def test_changelog_pages_with_its_cursor(client: httpx.AsyncClient) -> None:
    person = (await data(client, f"{V2}/persons", limit=1))[0]
    for name in ("One Name", "Two Name", "Three Name"):
        await client.patch(f"{V2}/persons/{person['id']}", json={"name": name})
    entries: list[Any] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await client.get(f"{V1}/persons/{person['id']}/changelog",
                                 params=params)).json()
        assert len(page["data"]) <= 2
        entries += page["data"]
        cursor = page["additional_data"].get("next_cursor")
        if not cursor:
            break
        params["cursor"] = cursor
    names = [e["new_value"] for e in entries if e["field_key"] == "name"]
    assert names[:3] == ["Three Name", "Two Name", "One Name"]
    whole = await data(client, f"{V1}/persons/{person['id']}/changelog", limit=500)
    assert entries == whole


# ---------------------------------------------------------------------- files


async def test_files_of_a_deal_are_metadata_with_names(client: httpx.AsyncClient,
                                                       store: Store) -> None:
    stored = store.select("files", [("deal_id IS NOT NULL", ())])
    deal_id = stored[0]["deal_id"]
    files = await data(client, f"{V1}/deals/{deal_id}/files")
    expected = [f for f in stored if f["deal_id"] == deal_id]
    assert [f["id"] for f in files] == [f["id"] for f in expected]
    deal = await data(client, f"{V2}/deals/{deal_id}")
    for f in files:
        assert f["deal_id"] == deal_id and f["deal_name"] == deal["title"]
        assert isinstance(f["file_size"], int) and f["file_size"] > 0
        assert f["file_name"] and f["name"] and f["file_type"] in ("pdf", "doc", "xls", "img")
        assert V1_TIME.match(f["add_time"]) and V1_TIME.match(f["update_time"])
        assert f["url"] == f"http://sandbox.test/api/v1/files/{f['id']}/download"
        assert f["active_flag"] is True and f["remote_location"] == "s3"
        assert "product_id" not in f and "lead_id" not in f  # non-nullable: left out
    summary = await data(client, f"{V2}/deals/{deal_id}", include_fields="files_count")
    assert summary["files_count"] == len(files)


async def test_a_deal_file_is_also_on_its_person_and_organization(
        client: httpx.AsyncClient, store: Store) -> None:
    f = store.select("files", [("deal_id IS NOT NULL AND person_id IS NOT NULL "
                                "AND org_id IS NOT NULL", ())])[0]
    person_files = await data(client, f"{V1}/persons/{f['person_id']}/files", limit=100)
    org_files = await data(client, f"{V1}/organizations/{f['org_id']}/files", limit=100)
    assert f["id"] in {x["id"] for x in person_files} & {x["id"] for x in org_files}
    one = await data(client, f"{V1}/files/{f['id']}")
    person = store.get("persons", f["person_id"])
    assert person is not None and one["person_name"] == person["name"]


async def test_files_list_pages_and_sorts(client: httpx.AsyncClient, store: Store) -> None:
    total = store.count("files")
    seen: list[int] = []
    start = 0
    while True:
        response = await client.get(f"{V1}/files", params={"start": start, "limit": 50})
        body = response.json()
        seen += [f["id"] for f in body["data"]]
        if not body["additional_data"]["pagination"]["more_items_in_collection"]:
            break
        start += 50
    assert len(seen) == len(set(seen)) == total
    newest = await data(client, f"{V1}/files", sort="update_time DESC", limit=5)
    times = [f["update_time"] for f in newest]
    assert times == sorted(times, reverse=True)
    assert (await client.get(f"{V1}/files", params={"limit": 101})).status_code == 400
