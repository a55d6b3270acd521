"""Demo data: deterministic, sized, consistent, and in the shapes the API serves."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import httpx
import pytest

from explorer.sandbox.collections import COLLECTIONS
from explorer.sandbox.demo import generate
from explorer.sandbox.fields import CUSTOM_KEY, check_value, custom_fields_of
from explorer.sandbox.filtering import FILTER_TYPES, where_for_filter
from explorer.sandbox.store import Store

V2_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
V1_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
LEAD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
REQUIRED_DEAL_TYPES = {"varchar", "text", "double", "monetary", "enum", "set", "date", "user",
                       "org", "people", "phone", "address"}


def _dump(store: Store) -> dict[str, Any]:
    tables = {name: store.select(name) for name in COLLECTIONS}
    meta = dict(store.conn.execute("SELECT key, value FROM meta").fetchall())
    return {"tables": tables, "meta": meta}


def _all(store: Store, name: str) -> list[dict[str, Any]]:
    return store.select(name)


# ---------------------------------------------------------------------- determinism and size


def test_same_seed_and_size_give_identical_data() -> None:
    first, second, other = Store(), Store(), Store()
    generate(first, size="small", seed=3)
    generate(second, size="small", seed=3)
    generate(other, size="small", seed=4)
    assert _dump(first) == _dump(second)
    assert _all(first, "deals") != _all(other, "deals")
    assert [r["id"] for r in _all(first, "leads")] != [r["id"] for r in _all(other, "leads")]


def test_refuses_unknown_size_and_a_seeded_store(template_store: Store) -> None:
    with pytest.raises(ValueError, match="size"):
        generate(Store(), size="huge")
    with pytest.raises(ValueError, match="empty"):
        generate(template_store.clone(), size="small")


def test_small_counts(template_store: Store) -> None:
    counts = {name: template_store.count(name) for name in COLLECTIONS}
    assert counts["deals"] == 1000
    assert 8 <= counts["users"] <= 20
    assert 2 <= counts["pipelines"] <= 3
    assert 500 <= counts["persons"] <= 800
    assert 150 <= counts["organizations"] <= 400
    assert 200 <= counts["leads"] <= 400
    assert 1000 <= counts["activities"] <= 2000
    assert 800 <= counts["notes"] <= 1600
    assert 30 <= counts["products"] <= 100
    assert counts["lead_labels"] >= 3 and counts["activity_types"] >= 5
    assert counts["filters"] >= 12
    for pipeline in _all(template_store, "pipelines"):
        stages = template_store.count("stages", [("pipeline_id = ?", (pipeline["id"],))])
        assert 4 <= stages <= 7


def test_meta_describes_the_account(template_store: Store) -> None:
    assert template_store.get_meta("me_user_id") == "1"
    assert template_store.get_meta("default_currency") == "EUR"
    assert template_store.get_meta("seeded") == "1"
    assert template_store.get_meta("seed") == "7"
    assert template_store.get_meta("size") == "small"
    assert template_store.get_meta("company_name")
    assert template_store.get_meta("company_domain")


# ---------------------------------------------------------------------- account


def test_one_admin_who_is_you(template_store: Store) -> None:
    users = _all(template_store, "users")
    admins = [u for u in users if u["is_admin"]]
    assert [u["id"] for u in admins] == [1]
    assert users[0]["is_you"] is True and not any(u["is_you"] for u in users[1:])
    assert all(a["admin"] for a in users[0]["access"])
    assert len({u["email"] for u in users}) == len(users)
    assert any(not u["active_flag"] for u in users)


def test_currencies_include_a_custom_one_used_by_deals(template_store: Store) -> None:
    currencies = _all(template_store, "currencies")
    custom = [c["code"] for c in currencies if c["is_custom_flag"]]
    assert custom and {"EUR", "USD", "GBP"} <= {c["code"] for c in currencies}
    used = Counter(d["currency"] for d in _all(template_store, "deals"))
    assert any(used[code] for code in custom)
    assert len(used) >= 4
    assert set(used) <= {c["code"] for c in currencies}


# ---------------------------------------------------------------------- fields


def test_fields_have_unique_ids_and_option_ids(template_store: Store) -> None:
    fields = _all(template_store, "fields")
    assert len({f["id"] for f in fields}) == len(fields)
    custom_options = [o["id"] for f in fields if f["is_custom"] for o in f["options"] or ()]
    assert len(custom_options) == len(set(custom_options))
    for entity in ("deal", "person", "organization", "product", "activity", "note", "lead"):
        keys = [f["key"] for f in fields if f["entity"] == entity]
        assert len(keys) == len(set(keys)), entity
        assert {"add_time", "update_time"} <= set(keys), entity


def test_custom_fields_cover_the_required_types(template_store: Store) -> None:
    deal_fields = custom_fields_of(template_store, "deal")
    assert {f["field_type"] for f in deal_fields.values()} >= REQUIRED_DEAL_TYPES
    for entity in ("person", "organization", "product"):
        fields = custom_fields_of(template_store, entity)
        assert len(fields) >= 5, entity
        assert {"enum", "set"} <= {f["field_type"] for f in fields.values()}
    for entity in ("deal", "person", "organization", "product"):
        for key, field in custom_fields_of(template_store, entity).items():
            assert CUSTOM_KEY.match(key)
            if field["field_type"] in ("enum", "set"):
                assert field["options"] and all(
                    set(o) == {"id", "label", "color"} for o in field["options"])


@pytest.mark.parametrize("collection, entity", [
    ("deals", "deal"), ("persons", "person"), ("organizations", "organization"),
    ("products", "product"), ("leads", "deal"),
])
def test_custom_values_are_valid_and_realistically_filled(
    template_store: Store, collection: str, entity: str
) -> None:
    fields = custom_fields_of(template_store, entity)
    filled: Counter[str] = Counter()
    records = _all(template_store, collection)
    for record in records:
        values = record["custom_fields"]
        assert set(values) <= set(fields)
        if collection != "leads":  # v2 records carry every custom key, unset ones as null
            assert set(values) == set(fields)
        for key, value in values.items():
            if value is not None:
                assert check_value(template_store, fields[key], value) == value
                filled[key] += 1
    for key in fields:
        assert 0 < filled[key] < len(records), fields[key]["name"]


# ---------------------------------------------------------------------- consistency


def test_deals_are_consistent(template_store: Store) -> None:
    stages = {s["id"]: s for s in _all(template_store, "stages")}
    users = {u["id"] for u in _all(template_store, "users")}
    deals = _all(template_store, "deals")
    statuses = Counter(d["status"] for d in deals)
    assert set(statuses) == {"open", "won", "lost"} and min(statuses.values()) > 100
    for d in deals:
        assert stages[d["stage_id"]]["pipeline_id"] == d["pipeline_id"]
        assert d["owner_id"] in users
        assert d["add_time"] <= d["stage_change_time"] <= d["update_time"]
        if d["status"] == "open":
            assert d["close_time"] is d["won_time"] is d["lost_time"] is d["lost_reason"] is None
        elif d["status"] == "won":
            assert d["won_time"] == d["close_time"] and d["lost_time"] is None
        else:
            assert d["lost_time"] == d["close_time"] and d["lost_reason"]
        if d["close_time"] is not None:
            assert d["add_time"] <= d["close_time"] <= d["update_time"]
        assert re.match(r"^\d{4}-\d\d-\d\d$", d["expected_close_date"])
    assert sum(1 for d in deals if d["person_id"] and d["org_id"]) > len(deals) * 0.7
    assert any(d["label_ids"] for d in deals)
    assert any(d["probability"] is not None for d in deals)


def test_references_exist(template_store: Store) -> None:
    s = template_store
    persons = {p["id"]: p for p in _all(s, "persons")}
    orgs = {o["id"] for o in _all(s, "organizations")}
    deals = {d["id"]: d for d in _all(s, "deals")}
    leads = {lead["id"]: lead for lead in _all(s, "leads")}
    for p in persons.values():
        assert p["org_id"] is None or p["org_id"] in orgs
    for d in deals.values():
        assert d["person_id"] is None or d["person_id"] in persons
        assert d["org_id"] is None or d["org_id"] in orgs
        if d["person_id"] and persons[d["person_id"]]["org_id"]:
            assert d["org_id"] == persons[d["person_id"]]["org_id"]
    for table in ("notes", "activities"):
        for r in _all(s, table):
            targets = [r["deal_id"], r["person_id"], r["org_id"], r["lead_id"]]
            assert any(t is not None for t in targets)
            assert r["deal_id"] is None or r["deal_id"] in deals
            assert r["person_id"] is None or r["person_id"] in persons
            assert r["org_id"] is None or r["org_id"] in orgs
            assert r["lead_id"] is None or r["lead_id"] in leads
    notes = _all(s, "notes")
    for key in ("deal_id", "person_id", "org_id", "lead_id"):
        assert any(n[key] is not None for n in notes), key
    for flag in ("pinned_to_deal_flag", "pinned_to_person_flag", "pinned_to_organization_flag",
                 "pinned_to_lead_flag"):
        assert any(n[flag] for n in notes), flag
    assert {a["type"] for a in _all(s, "activities")} <= {
        t["key_string"] for t in _all(s, "activity_types")}


def test_leads(template_store: Store) -> None:
    leads = _all(template_store, "leads")
    labels = {label["id"] for label in _all(template_store, "lead_labels")}
    activities = {a["id"]: a for a in _all(template_store, "activities")}
    assert any(lead["is_archived"] for lead in leads)
    assert any(not lead["is_archived"] for lead in leads)
    sources = Counter(lead["source_name"] for lead in leads)
    assert sources["Manually created"] > 0 and len(sources) >= 4
    for lead in leads:
        assert lead["person_id"] is not None or lead["organization_id"] is not None
        assert set(lead["label_ids"]) <= labels
        assert lead["value"] is None or set(lead["value"]) == {"amount", "currency"}
        assert (lead["origin"] == "ManuallyCreated") == (lead["source_name"] == "Manually created")
        nxt = lead["next_activity_id"]
        if nxt is not None:
            assert activities[nxt]["lead_id"] == lead["id"] and not activities[nxt]["done"]
    assert any(lead["value"] is None for lead in leads)
    assert any(lead["next_activity_id"] for lead in leads)


def test_persons_have_several_contacts(template_store: Store) -> None:
    persons = _all(template_store, "persons")
    for p in persons:
        assert 1 <= len(p["emails"]) <= 4 and 1 <= len(p["phones"]) <= 3
        for items, labels in ((p["emails"], {"work", "home", "other"}),
                              (p["phones"], {"work", "home", "mobile"})):
            assert sum(i["primary"] for i in items) == 1
            assert {i["label"] for i in items} <= labels
    assert max(len(p["emails"]) for p in persons) >= 3
    assert max(len(p["phones"]) for p in persons) == 3
    assert sum(1 for p in persons if p["org_id"]) > len(persons) * 0.7


def test_organizations_have_addresses(template_store: Store) -> None:
    orgs = _all(template_store, "organizations")
    with_address = [o for o in orgs if o["address"]]
    assert len(with_address) > len(orgs) * 0.8
    for o in with_address:
        assert {"value", "country", "locality", "postal_code", "route",
                "street_number"} <= set(o["address"])


def test_activities_are_varied(template_store: Store) -> None:
    activities = _all(template_store, "activities")
    assert len({a["type"] for a in activities}) >= 5
    assert any(a["done"] for a in activities) and any(not a["done"] for a in activities)
    for a in activities:
        assert (a["marked_as_done_time"] is not None) == a["done"]
    assert any(a["location"] for a in activities)
    assert any(a["attendees"] for a in activities)


def test_timestamp_formats(template_store: Store) -> None:
    s = template_store
    for name in ("deals", "persons", "organizations", "products", "activities", "pipelines",
                 "stages"):
        for r in _all(s, name):
            assert V2_TIME.match(r["add_time"]) and V2_TIME.match(r["update_time"]), name
            assert r["add_time"] <= r["update_time"], (name, r["id"])
    for r in _all(s, "notes"):
        assert V1_TIME.match(r["add_time"]) and r["add_time"] <= r["update_time"]
    for r in _all(s, "leads") + _all(s, "lead_labels"):
        assert LEAD_TIME.match(r["add_time"]) and LEAD_TIME.match(r["update_time"])
        assert r["add_time"] <= r["update_time"]
    for r in _all(s, "users"):
        assert V1_TIME.match(r["created"])


# ---------------------------------------------------------------------- saved filters


def test_every_filter_selects_a_proper_subset(template_store: Store) -> None:
    by_type = {v: k for k, v in FILTER_TYPES.items()}
    filters = _all(template_store, "filters")
    assert set(by_type) <= {f["type"] for f in filters}
    for f in filters:
        collection = by_type[f["type"]]
        where = where_for_filter(template_store, f["id"], collection)
        selected = template_store.count(collection, where)
        assert 0 < selected < template_store.count(collection), f["name"]


# ---------------------------------------------------------------------- served


async def test_demo_deals_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/deals", params={"limit": 500})
    assert response.status_code == 200
    deals = response.json()["data"]
    assert len(deals) == 500
    assert all(len(d["custom_fields"]) >= 12 for d in deals)
