"""v2 records related to a deal, person, organization or product: the products attached to
deals (``/deals/{id}/products``, ``/deals/products``) and followers (``/…/{id}/followers``).

Attaching, changing or removing a deal's product recomputes the deal's ``value`` from its
enabled products (as Pipedrive does for a deal with products), moves the deal's
``update_time`` and records the change in its changelog; so does a follower change.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from explorer.sandbox.collections import COLLECTIONS
from explorer.sandbox.derived import deal_product_sum
from explorer.sandbox.entities import load_record, page_limit, page_params, path_int
from explorer.sandbox.fields import check_currency
from explorer.sandbox.http import (
    JSON,
    ApiProblem,
    Query,
    bad_request,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
    is_date,
    is_int64,
    not_found,
    ok,
    shown,
    v2_time,
)
from explorer.sandbox.paging import keyset_page
from explorer.sandbox.routing import Router, Sandbox, sandbox
from explorer.sandbox.store import Where
from explorer.sandbox.validation import check_billing, require, validated_body

router = Router("v2")

# Keys a deal product answers with; the nullable ones are sent as null.
_NULLABLE = frozenset({"product_variation_id", "order_nr", "billing_frequency_cycles",
                       "billing_start_date"})
_SORT = ("add_time", "update_time", "order_nr")


# ---------------------------------------------------------------------- deal products


def render_deal_product(item: JSON) -> JSON:
    return {k: v for k, v in item.items() if v is not None or k in _NULLABLE}


def _products_page(sb: Sandbox, q: Query, where: Where, sort: tuple[str, ...]) -> Response:
    limit, sort_by, direction = page_params(q, sort)
    rows, next_cursor = keyset_page(sb.store, "deal_products", where, q, limit=limit,
                                    sort_by=sort_by, direction=direction)
    return ok([render_deal_product(r) for r in rows], {"next_cursor": next_cursor})


@router.route("GET", "/deals/{id}/products", "getDealProducts")
async def get_deal_products(request: Request) -> Response:
    sb = sandbox(request)
    deal = load_record(sb, "deals", path_int(request, "id", "Deal"), "Deal")
    return _products_page(sb, Query(request.query_params), [("deal_id = ?", (deal["id"],))],
                          _SORT)


@router.route("GET", "/deals/products", "getDealsProducts")
async def get_deals_products(request: Request) -> Response:
    sb = sandbox(request)
    q = Query(request.query_params)
    deal_ids = q.int_csv("deal_ids", maximum=100)
    if not deal_ids:
        raise bad_request("Parameter 'deal_ids' is required",
                          "Send deal_ids as up to 100 comma-separated deal ids.")
    live = COLLECTIONS["deals"].table
    where: Where = [(f"deal_id IN (SELECT id FROM {live} WHERE deleted = 0 AND id IN "
                     f"({','.join('?' * len(deal_ids))}))", deal_ids)]
    return _products_page(sb, q, where, ("deal_id", *_SORT))


MAX_RECURRING = 20  # products per deal whose billing_frequency is not one-time (the spec)


def _check_recurring_room(sb: Sandbox, deal_id: int) -> None:
    """400 when the deal already has the most recurring products the spec allows."""
    items = sb.store.select("deal_products", [("deal_id = ?", (deal_id,))])
    recurring = sum(1 for i in items if i.get("billing_frequency", "one-time") != "one-time")
    if recurring >= MAX_RECURRING:
        raise bad_request(
            f"A deal can have at most {MAX_RECURRING} products with a billing_frequency other "
            f"than one-time; this deal has {recurring}",
            "Bill this product one-time, or remove a recurring product from the deal first.")


def _check_item(sb: Sandbox, deal_id: int, body: JSON, old: JSON | None) -> None:
    """The deal-product rules the spec states: quantities and prices are numbers, a one-time
    product has no billing cycles, a weekly one needs them (1–208), and a deal has at most 20
    recurring products."""
    product_id = body.get("product_id")
    if product_id is not None:
        product = sb.store.get("products", product_id)
        if product is None:
            raise ApiProblem(400, f"Product with id {product_id} not found",
                             "'product_id' must be the id of an existing product.")
    before = old or {}
    frequency = check_billing(body, old)
    if frequency != "one-time" and (old is None or old.get("billing_frequency") == "one-time"):
        _check_recurring_room(sb, deal_id)
    start = body.get("billing_start_date")
    if start is not None and not is_date(start):
        raise bad_request(f"Invalid billing_start_date '{shown(start)}'",
                          "Use the format YYYY-MM-DD.")
    if body.get("quantity") is not None and body["quantity"] < 0:
        raise bad_request("quantity must not be negative")
    discount = body.get("discount", before.get("discount", 0)) or 0
    kind = body.get("discount_type", before.get("discount_type", "percentage"))
    if discount < 0 or (kind == "percentage" and discount > 100):
        raise bad_request(f"Invalid discount {discount}",
                          "A percentage discount is 0 to 100; an amount is 0 or more.")


def _revalue(sb: Sandbox, deal: JSON, actor: int, now: str) -> None:
    """The deal's value becomes the sum of its enabled products; the deal moves on."""
    items = sb.store.select("deal_products", [("deal_id = ?", (deal["id"],))])
    value = round(sum(i["sum"] for i in items if i.get("is_enabled", True)), 2)
    old = dict(deal)
    deal["value"] = int(value) if float(value).is_integer() else value
    deal["update_time"] = now
    changes = [("value", old.get("value"), deal["value"])] if old.get("value") != deal[
        "value"] else []
    sb.store.replace("deals", deal)
    sb.store.log_changes("deals", deal["id"], changes, actor_user_id=actor, time=now)


@router.route("POST", "/deals/{id}/products", "addDealProduct")
async def add_deal_product(request: Request) -> Response:
    sb = sandbox(request)
    deal = load_record(sb, "deals", path_int(request, "id", "Deal"), "Deal")
    body = await validated_body(request, strict=True)
    require(body, "product_id", "item_price", "quantity")
    _check_item(sb, deal["id"], body, None)
    product = load_record(sb, "products", body["product_id"], "Product")
    now = v2_time(sb.clock.now())
    orders = [i.get("order_nr") or 0 for i in
              sb.store.select("deal_products", [("deal_id = ?", (deal["id"],))])]
    item: JSON = {
        "id": None, "deal_id": deal["id"], "product_id": product["id"],
        "name": product.get("name"), "product_variation_id": None,
        "order_nr": max(orders, default=0) + 1, "add_time": now, "update_time": now,
        "comments": "", "currency": deal.get("currency"), "discount": 0,
        "discount_type": "percentage", "quantity": 1, "item_price": 0,
        "tax": product.get("tax") or 0, "tax_method": "inclusive", "is_enabled": True,
        "billing_frequency": "one-time", "billing_frequency_cycles": None,
        "billing_start_date": None, **body,
    }
    check_currency(sb.store, item["currency"])
    item["sum"] = deal_product_sum(item)
    with sb.store.transaction():
        sb.store.insert("deal_products", item, commit=False)
        _revalue(sb, deal, sb.me(request), now)
    return ok(render_deal_product(item), status=201)


def _attachment(request: Request, sb: Sandbox) -> tuple[JSON, JSON]:
    deal = load_record(sb, "deals", path_int(request, "id", "Deal"), "Deal")
    item_id = path_int(request, "product_attachment_id", "Deal product")
    item = sb.store.get("deal_products", item_id)
    if item is None or item["deal_id"] != deal["id"]:
        raise not_found("Deal product")
    return deal, item


@router.route("PATCH", "/deals/{id}/products/{product_attachment_id}", "updateDealProduct")
async def update_deal_product(request: Request) -> Response:
    sb = sandbox(request)
    deal, old = _attachment(request, sb)
    body = await validated_body(request, strict=True)
    _check_item(sb, deal["id"], body, old)
    now = v2_time(sb.clock.now())
    item = {**old, **body, "update_time": now}
    if "product_id" in body:
        item["name"] = load_record(sb, "products", body["product_id"], "Product").get("name")
    item["sum"] = deal_product_sum(item)
    with sb.store.transaction():
        sb.store.replace("deal_products", item)
        _revalue(sb, deal, sb.me(request), now)
    return ok(render_deal_product(item))


@router.route("DELETE", "/deals/{id}/products/{product_attachment_id}", "deleteDealProduct")
async def delete_deal_product(request: Request) -> Response:
    sb = sandbox(request)
    deal, item = _attachment(request, sb)
    now = v2_time(sb.clock.now())
    with sb.store.transaction():
        sb.store.hard_delete("deal_products", item["id"])
        _revalue(sb, deal, sb.me(request), now)
    return ok({"id": item["id"]})


# ---------------------------------------------------------------------- followers

# Collection (and URL segment) → (followers' entity, label in messages and operation names)
FOLLOWED = {
    "deals": ("deal", "Deal"),
    "persons": ("person", "Person"),
    "organizations": ("organization", "Organization"),
    "products": ("product", "Product"),
}


def _follower_view(row: JSON) -> JSON:
    return {"user_id": row["user_id"], "add_time": row["add_time"]}


def _follower_routes(collection: str) -> None:
    entity, label = FOLLOWED[collection]

    def followed(request: Request) -> tuple[Sandbox, JSON]:
        sb = sandbox(request)
        return sb, load_record(sb, collection, path_int(request, "id", label), label)

    def where(item_id: int) -> Where:
        return [("entity = ? AND item_id = ?", (entity, item_id))]

    def log(sb: Sandbox, record: JSON, action: str, user_id: int, actor: int, now: str) -> None:
        sb.store.log_changes(f"{entity}_followers", record["id"],
                             [(action, None, user_id)], actor_user_id=actor, time=now)

    async def list_followers(request: Request) -> Response:
        sb, record = followed(request)
        q = Query(request.query_params)
        limit = page_limit(q)
        rows, next_cursor = keyset_page(sb.store, "followers", where(record["id"]), q,
                                        limit=limit, sort_by="id", direction="ASC")
        return ok([_follower_view(r) for r in rows], {"next_cursor": next_cursor})

    async def add_follower(request: Request) -> Response:
        sb, record = followed(request)
        body = await validated_body(request, strict=True)
        require(body, "user_id")
        user_id = body["user_id"]
        if sb.store.get("users", user_id) is None:
            raise ApiProblem(400, f"User with id {user_id} not found",
                             "'user_id' must be the id of a user of the company.")
        existing = sb.store.select("followers", [*where(record["id"]),
                                                 ("user_id = ?", (user_id,))], limit=1)
        if existing:
            raise ApiProblem(400, f"User {user_id} already follows this {label.lower()}",
                             "List the followers first, or remove the follower to re-add.")
        now = v2_time(sb.clock.now())
        row: JSON = {"id": None, "entity": entity, "item_id": record["id"],
                     "user_id": user_id, "add_time": now}
        with sb.store.transaction():
            sb.store.insert("followers", row, commit=False)
            log(sb, record, "added", user_id, sb.me(request), now)
        return ok(_follower_view(row), status=201)

    async def delete_follower(request: Request) -> Response:
        sb, record = followed(request)
        user_id = path_int(request, "follower_id", "Follower")
        rows = sb.store.select("followers", [*where(record["id"]),
                                             ("user_id = ?", (user_id,))], limit=1)
        if not rows:
            raise not_found("Follower")
        now = v2_time(sb.clock.now())
        with sb.store.transaction():
            sb.store.hard_delete("followers", rows[0]["id"])
            log(sb, record, "removed", user_id, sb.me(request), now)
        return ok({"user_id": user_id})

    async def followers_changelog(request: Request) -> Response:
        sb, record = followed(request)
        q = Query(request.query_params)
        limit = page_limit(q)
        after = _changelog_cursor(q.str("cursor"))
        entries = sb.store.changelog(f"{entity}_followers", record["id"], after=after,
                                     limit=limit + 1)
        data = [{"action": e["field_key"], "actor_user_id": e["actor_user_id"],
                 "follower_user_id": e["new_value"], "time": e["time"]}
                for e in entries[:limit]]
        more = len(entries) > limit
        return ok(data, {"next_cursor": encode_cursor({"c": entries[limit - 1]["id"]})
                         if more else None})

    base = f"/{collection}/{{id}}/followers"
    router.route("GET", base, f"get{label}Followers")(list_followers)
    router.route("POST", base, f"add{label}Follower")(add_follower)
    router.route("DELETE", f"{base}/{{follower_id}}", f"delete{label}Follower")(delete_follower)
    router.route("GET", f"{base}/changelog", f"get{label}FollowersChangelog")(
        followers_changelog)


def _changelog_cursor(raw: str | None) -> int:
    if raw is None:
        return 0
    value: Any = decode_cursor(raw).get("c")
    if not is_int64(value) or value < 0:
        raise invalid_cursor()
    return value


for _collection in FOLLOWED:
    _follower_routes(_collection)
