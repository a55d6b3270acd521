"""v2 deals, persons, organizations and products (``/api/v2``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from explorer.sandbox import derived
from explorer.sandbox.collections import COLLECTIONS
from explorer.sandbox.entities import (
    EntityKind,
    check_refs,
    check_visible_to,
    register,
)
from explorer.sandbox.fields import check_currency
from explorer.sandbox.http import (
    JSON,
    ApiProblem,
    Query,
    bad_request,
    is_date,
    schema_error,
    shown,
    v2_time,
)
from explorer.sandbox.routing import Router, Sandbox
from explorer.sandbox.store import Store, Where
from explorer.sandbox.validation import check_billing

router = Router("v2")

MAX_CONTACTS = 50  # emails and phones per person, as the seed's May 2019 entry says


# ---------------------------------------------------------------------- deals


def _check_deal(sb: Sandbox, body: JSON, old: JSON | None) -> None:
    store = sb.store
    if body.get("currency") is not None:
        check_currency(store, body["currency"])
    stage_id = body.get("stage_id")
    if stage_id is not None and store.get("stages", stage_id) is None:
        raise ApiProblem(400, f"Stage with id {stage_id} not found")
    pipeline_id = body.get("pipeline_id")
    if pipeline_id is not None and store.get("pipelines", pipeline_id) is None:
        raise ApiProblem(400, f"Pipeline with id {pipeline_id} not found")
    status = body.get("status")
    if status is not None and status not in ("open", "won", "lost"):
        raise ApiProblem(400, f"Invalid status '{status}'", "Use open, won or lost.")
    date = body.get("expected_close_date")
    if date is not None and not is_date(date):
        raise bad_request(f"Invalid expected_close_date '{date}'", "Use the format YYYY-MM-DD.")
    if body.get("archive_time") is not None:
        body["archive_time"] = _archive_time(body["archive_time"])


def _archive_time(raw: str) -> str:
    """``archive_time`` as the spec writes it (``YYYY-MM-DD HH:MM:SS``, UTC) or RFC 3339,
    stored and answered as RFC 3339 like every v2 time."""
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return v2_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    except (ValueError, OverflowError):
        raise bad_request(f"Invalid archive_time '{shown(raw)}'",
                          "Use the format YYYY-MM-DD HH:MM:SS (UTC).") from None


def _deal_defaults(sb: Sandbox, user: int) -> JSON:
    pipelines = sb.store.select("pipelines", order_by=(("order_nr", "ASC"), ("seq", "ASC")),
                                limit=1)
    pipeline_id = pipelines[0]["id"] if pipelines else None
    stages = sb.store.select("stages", [("pipeline_id = ?", (pipeline_id,))],
                             order_by=(("order_nr", "ASC"), ("seq", "ASC")), limit=1)
    currency = sb.store.get_meta("default_currency") or "EUR"
    return {
        "title": None, "owner_id": user, "person_id": None, "org_id": None,
        "pipeline_id": pipeline_id, "stage_id": stages[0]["id"] if stages else None,
        "value": 0, "currency": currency, "is_deleted": False, "is_archived": False,
        "archive_time": None,
        "status": "open", "probability": None, "lost_reason": None, "visible_to": 3,
        "close_time": None, "won_time": None, "lost_time": None, "expected_close_date": None,
        "label_ids": [], "origin": "API", "origin_id": None, "channel": None,
        "channel_id": None, "source_lead_id": None, "arr": None, "mrr": None, "acv": None,
    }


def _deal_written(sb: Sandbox, deal: JSON, old: JSON | None) -> None:
    """Keep stage and pipeline consistent and stamp status and stage changes."""
    now = v2_time(sb.clock.now())
    if deal.get("stage_id") is not None:
        stage = sb.store.get("stages", deal["stage_id"])
        if stage is not None:
            if old is not None and deal.get("pipeline_id") != old.get("pipeline_id") and (
                deal["stage_id"] == old.get("stage_id")
            ):
                raise ApiProblem(400, "Stage does not belong to the pipeline",
                                 "Send a stage_id of the new pipeline with pipeline_id.")
            deal["pipeline_id"] = stage["pipeline_id"]
    if old is None or deal.get("stage_id") != old.get("stage_id"):
        deal["stage_change_time"] = now
    status, before = deal.get("status"), (old or {}).get("status")
    if status != before:
        deal["won_time"] = now if status == "won" else None
        deal["lost_time"] = now if status == "lost" else None
        deal["close_time"] = now if status in ("won", "lost") else None
        if status != "lost":
            deal["lost_reason"] = None
    _archive(deal, now)


def _archive(deal: JSON, now: str) -> None:
    """``is_archived`` moves a deal between ``/deals`` and ``/deals/archived``; archiving
    stamps ``archive_time`` (now, unless the request gave one), unarchiving clears it."""
    if not deal.get("is_archived"):
        deal["archive_time"] = None
    elif deal.get("archive_time") is None:
        deal["archive_time"] = now


def _deal_derive(store: Store, rows: list[JSON], include: set[str]) -> None:
    derived.activity_counts(store, rows, include, "deal_id")
    derived.notes_count(store, rows, include, "deal_id")
    derived.products_count(store, rows, include)
    derived.related_counts(store, rows, include, "deal", "deal_id")
    derived.zero_counts(rows, include)
    if "first_won_time" in include:
        for row in rows:
            row["first_won_time"] = row.get("won_time")


DEALS = EntityKind(
    collection="deals",
    followed_as="deal",
    path="deals",
    label="Deal",
    field_entity="deal",
    filters={"owner_id": "owner_id", "person_id": "person_id", "org_id": "org_id",
             "pipeline_id": "pipeline_id", "stage_id": "stage_id"},
    required=("title",),
    rules=(check_visible_to, check_refs, _check_deal),
    defaults=_deal_defaults,
    derive=_deal_derive,
    keep_null=frozenset({"probability", "lost_reason", "close_time", "origin_id", "channel",
                         "channel_id", "source_lead_id", "arr", "mrr", "acv", "archive_time"}),
    status_filter=True,
    on_write=_deal_written,
    archivable=True,
)


# ---------------------------------------------------------------------- persons


def _check_contacts(key: str, items: Any, limit: int | None) -> None:
    """emails / phones / im: a list of ``{value, primary?, label?}`` objects."""
    if items is None:
        return
    if limit is not None and len(items) > limit:
        raise bad_request(
            f"A person can have at most {limit} {key}; the request has {len(items)}",
            f"Remove {key} until there are {limit} or fewer.",
        )
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise bad_request(f"{key}[{i}] must be an object with a string 'value'",
                              'For example {"value": "ann@example.com", "primary": true, '
                              '"label": "work"}.')
        unknown = set(item) - {"value", "primary", "label"}
        if unknown:
            raise bad_request(f"{key}[{i}] has unknown keys: {', '.join(sorted(unknown))}",
                              "Each item takes only value, primary and label.")
        if not isinstance(item.get("primary", False), bool):
            raise bad_request(f"{key}[{i}].primary must be true or false")
        if not isinstance(item.get("label", ""), str):
            raise bad_request(f"{key}[{i}].label must be a string")


def _check_person(sb: Sandbox, body: JSON, old: JSON | None) -> None:
    _check_contacts("emails", body.get("emails"), MAX_CONTACTS)
    _check_contacts("phones", body.get("phones"), MAX_CONTACTS)
    _check_contacts("im", body.get("im"), None)
    birthday = body.get("birthday")
    if birthday is not None and not is_date(birthday):
        raise bad_request(f"Invalid birthday '{birthday}'", "Use the format YYYY-MM-DD.")
    notes = body.get("notes")
    if isinstance(notes, str) and len(notes) > 10_000:
        raise bad_request("Person notes can be at most 10000 characters")


def _contacts(items: list[JSON] | None, default_label: str) -> list[JSON]:
    out = [{"value": i["value"], "primary": bool(i.get("primary", False)),
            "label": i.get("label") or default_label} for i in items or ()]
    if out and not any(i["primary"] for i in out):
        out[0]["primary"] = True
    return out


def _person_written(sb: Sandbox, person: JSON, old: JSON | None) -> None:
    name = str(person.get("name") or "").strip()
    first, _, last = name.partition(" ")
    person["name"] = name
    person["first_name"] = first or None
    person["last_name"] = last.strip() or None
    person["emails"] = _contacts(person.get("emails"), "work")
    person["phones"] = _contacts(person.get("phones"), "work")
    if "im" in person:  # contact sync's key: a person without it (the demo's) stays so
        person["im"] = _contacts(person["im"], "work")


def _person_defaults(sb: Sandbox, user: int) -> JSON:
    return {
        "name": None, "first_name": None, "last_name": None, "owner_id": user, "org_id": None,
        "emails": [], "phones": [], "is_deleted": False, "visible_to": 3, "label_ids": [],
        "picture_id": None, "postal_address": None, "notes": None, "im": [], "birthday": None,
        "job_title": None,
    }


def _person_filters(q: Query) -> Where:
    deal_id = q.int("deal_id")
    if deal_id is None:
        return []
    deals = COLLECTIONS["deals"].table
    return [(f"id IN (SELECT person_id FROM {deals} WHERE id = ? AND deleted = 0)", (deal_id,))]


def _person_derive(store: Store, rows: list[JSON], include: set[str]) -> None:
    derived.activity_counts(store, rows, include, "person_id")
    derived.notes_count(store, rows, include, "person_id")
    derived.deal_counts(store, rows, include, "person_id")
    derived.related_counts(store, rows, include, "person", "person_id")
    derived.zero_counts(rows, include)


PERSONS = EntityKind(
    collection="persons",
    followed_as="person",
    path="persons",
    label="Person",
    field_entity="person",
    filters={"owner_id": "owner_id", "org_id": "org_id"},
    id_filters=_person_filters,
    required=("name",),
    rules=(check_visible_to, check_refs, _check_person),
    defaults=_person_defaults,
    derive=_person_derive,
    on_write=_person_written,
    optional_keys=frozenset({"marketing_status"}),
)


# ---------------------------------------------------------------------- organizations


def _org_defaults(sb: Sandbox, user: int) -> JSON:
    return {
        "name": None, "owner_id": user, "is_deleted": False, "visible_to": 3, "address": None,
        "label_ids": [], "website": None, "linkedin": None, "industry": None,
        "annual_revenue": None, "employee_count": None,
    }


ADDRESS_PARTS = ("value", "country", "admin_area_level_1", "admin_area_level_2", "locality",
                 "sublocality", "route", "street_number", "subpremise", "postal_code")


def _check_address(sb: Sandbox, body: JSON, old: JSON | None) -> None:
    """``address`` is an object of strings (the spec's parts); a null part is left out."""
    address = body.get("address")
    if not isinstance(address, dict):
        return  # null clears it; other types failed the schema check already
    for key, value in address.items():
        if key not in ADDRESS_PARTS:
            raise schema_error(f"address.{key}: Parameter '{key}' is not allowed for this "
                               f"request; address takes {', '.join(ADDRESS_PARTS)}")
        if value is not None and not isinstance(value, str):
            raise schema_error(f"address.{key}: Parameter '{key}' must be of type string")
    body["address"] = {k: v for k, v in address.items() if v is not None}


def _org_derive(store: Store, rows: list[JSON], include: set[str]) -> None:
    derived.activity_counts(store, rows, include, "org_id")
    derived.notes_count(store, rows, include, "org_id")
    derived.deal_counts(store, rows, include, "org_id")
    derived.people_count(store, rows, include)
    derived.related_counts(store, rows, include, "organization", "org_id")
    derived.zero_counts(rows, include)


ORGANIZATIONS = EntityKind(
    collection="organizations",
    followed_as="organization",
    path="organizations",
    label="Organization",
    field_entity="organization",
    filters={"owner_id": "owner_id"},
    required=("name",),
    rules=(check_visible_to, check_refs, _check_address),
    defaults=_org_defaults,
    derive=_org_derive,
    keep_null=frozenset({"website", "linkedin", "industry", "annual_revenue",
                         "employee_count"}),
)


# ---------------------------------------------------------------------- products


def _check_product(sb: Sandbox, body: JSON, old: JSON | None) -> None:
    check_billing(body, old)
    seen: set[str] = set()
    for i, price in enumerate(body.get("prices") or ()):
        if not isinstance(price, dict) or not isinstance(price.get("currency"), str):
            raise bad_request(f"prices[{i}] must be an object with a 'currency'",
                              'For example {"price": 10, "currency": "EUR", "cost": 4}.')
        currency = price["currency"]
        if currency in seen:
            raise bad_request(f"prices has two entries for {currency}",
                              "There can only be one price per product per currency.")
        seen.add(currency)
        check_currency(sb.store, currency)
        for key in ("price", "cost", "direct_cost"):
            value = price.get(key)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int | float)):
                raise bad_request(f"prices[{i}].{key} must be a number")


def _product_defaults(sb: Sandbox, user: int) -> JSON:
    return {
        "name": None, "code": None, "description": None, "unit": None, "tax": 0,
        "is_deleted": False, "is_linkable": True, "visible_to": 3, "owner_id": user,
        "category": None, "billing_frequency": "one-time", "billing_frequency_cycles": None,
        "prices": [],
    }


def _product_written(sb: Sandbox, product: JSON, old: JSON | None) -> None:
    if product.get("id") is None:
        # Prices carry the product id, so take the id the store would assign now.
        product["id"] = sb.store.next_id(COLLECTIONS["products"])
    category = product.get("category")
    if isinstance(category, int | float) and not isinstance(category, bool):
        # The request takes a number; responses carry it as a string.
        product["category"] = str(int(category))
    product["prices"] = [
        {"product_id": product["id"], "price": p.get("price", 0), "currency": p["currency"],
         "cost": p.get("cost", 0), "direct_cost": p.get("direct_cost"),
         **({"notes": p["notes"]} if isinstance(p.get("notes"), str) else {})}
        for p in product.get("prices") or ()
    ]


PRODUCTS = EntityKind(
    collection="products",
    followed_as="product",
    path="products",
    label="Product",
    field_entity="product",
    filters={"owner_id": "owner_id"},
    sort_by=("name", "add_time", "update_time"),
    required=("name",),
    rules=(check_visible_to, check_refs, _check_product),
    defaults=_product_defaults,
    keep_null=frozenset({"category", "billing_frequency_cycles"}),
    on_write=_product_written,
    created_status=201,
)


register(router, DEALS, "Deal", "Deals")
register(router, PERSONS, "Person", "Persons")
register(router, ORGANIZATIONS, "Organization", "Organizations")
register(router, PRODUCTS, "Product", "Products")
